"""Small tools for tests that run threads against the studio's gates."""

from __future__ import annotations

import threading
import time


def wait_until(condition, what: str = "the condition", timeout_s: float = 10.0, poll_s: float = 0.01) -> None:
    """Poll `condition` every `poll_s` seconds; fail naming `what` after `timeout_s` seconds.

    The timeout bounds a hang; it is not a timing the test asserts.
    """
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


class PeakCounter:
    """Counts how many threads are inside `with counter:` now (`inside`) and at most so far (`peak`)."""

    def __init__(self) -> None:
        self.inside = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> PeakCounter:
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self.inside -= 1
