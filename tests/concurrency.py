"""Small tools for tests that run threads against the studio's gates."""

from __future__ import annotations

import threading
import time


def wait_until(condition, timeout_s: float = 10.0) -> None:
    """Poll `condition` every 10 ms; fail after `timeout_s` seconds (a bound on a hang, not a timing)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


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
