"""One generation at a time, behind a bounded line of waiting requests.

The engine already serialises generations with a lock, but a lock neither bounds how many requests
pile up behind it nor tells a waiting user where they stand. The gate does both: a request is either
admitted (running now, or waiting at a known position) or refused at once with one sentence, so a
full studio answers "queue full (N waiting), try again shortly" instead of hanging.

The same gate with `max_running` > 1 bounds metrics work (quality cards, audits of existing clips):
those never touch the model, so they take turns among themselves and never hold the generation gate.
Unloading the model is a request in the generation line like any other (`unload_model`), so it can
never drop a model that a running generation still holds, and the next load never makes a second copy.

Requests are owned by a session id, so a user's Cancel reaches their own running or waiting request
(through the engine's CancelToken: the run stops at the end of the current step) and nobody else's.
Nothing here knows about the web framework.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from core.engine import CancelToken, Engine, Progress
from core.errors import GenerationCancelled, StudioError

DEFAULT_MAX_WAITING = 4  # one person's variants (up to 4) can wait behind another's clip
MAX_CANCEL_OWNERS = 4096  # owners whose cancel epochs are remembered (least recently cancelling go first)
UNLOAD_LABEL = "unload the model"


class QueueFullError(StudioError):
    """The line of waiting generations is full; the message says how many are waiting."""

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        super().__init__(f"queue full ({waiting} waiting), try again shortly.")


@dataclass(eq=False)  # identity, not field equality: two requests of one owner are different tickets
class Ticket:
    """One admitted request. `progress` is the latest engine report while it runs."""

    owner: str
    label: str
    cancel: CancelToken = field(default_factory=CancelToken)
    enqueued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    progress: Progress | None = None


@dataclass(frozen=True)
class GateSnapshot:
    """What the status bar shows: the running request (if any) and the waiting owners in order."""

    running_owner: str | None
    running_label: str
    running_progress: Progress | None
    running_for_s: float
    waiting_owners: tuple[str, ...]
    max_waiting: int
    running_count: int = 0

    @property
    def waiting(self) -> int:
        return len(self.waiting_owners)

    def position_of(self, owner: str) -> int | None:
        """1-based place in the waiting line of `owner`'s first waiting request, or None."""
        for index, waiting_owner in enumerate(self.waiting_owners):
            if waiting_owner == owner:
                return index + 1
        return None


class GenerationGate:
    """Admits `max_running` running requests (one for generation) and at most `max_waiting` waiting ones,
    first come first served."""

    def __init__(self, max_waiting: int = DEFAULT_MAX_WAITING, poll_s: float = 0.25, max_running: int = 1) -> None:
        if max_waiting < 0:
            raise ValueError("max_waiting must be 0 or more")
        if max_running < 1:
            raise ValueError("max_running must be 1 or more")
        self.max_waiting = max_waiting
        self.max_running = max_running
        self.poll_s = poll_s  # how often a waiter re-checks its cancel token and reports its position
        self._cond = threading.Condition()
        self._running: list[Ticket] = []
        self._waiting: list[Ticket] = []
        # Owners are browser sessions, which come and go: keep the most recent ones only. An owner's epoch
        # is read while its own series runs, so only an owner idle through MAX_CANCEL_OWNERS others'
        # cancels could lose it.
        self._cancel_epochs: OrderedDict[str, int] = OrderedDict()

    @contextmanager
    def admit(self, owner: str, label: str = "",
              on_wait: Callable[[int, int], None] | None = None) -> Iterator[Ticket]:
        """Hold the gate for one generation; yields the Ticket whose `cancel` the engine must get.

        Raises QueueFullError at once when the line is full, and GenerationCancelled when the owner
        cancels while still waiting. `on_wait(position, waiting)` is called, outside the lock, whenever
        the request's place in line or the length of the line changes.
        """
        ticket = Ticket(owner=owner, label=label)
        with self._cond:
            if len(self._running) < self.max_running and not self._waiting:
                self._start_locked(ticket)
            elif len(self._waiting) >= self.max_waiting:
                raise QueueFullError(len(self._waiting))
            else:
                self._waiting.append(ticket)
        try:
            if ticket.started_at is None:
                self._wait_for_turn(ticket, on_wait)
            yield ticket
        finally:
            with self._cond:
                if ticket in self._running:
                    self._running.remove(ticket)
                elif ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()

    def _start_locked(self, ticket: Ticket) -> None:
        ticket.started_at = time.monotonic()
        self._running.append(ticket)

    def _wait_for_turn(self, ticket: Ticket, on_wait: Callable[[int, int], None] | None) -> None:
        last_reported: tuple[int, int] | None = None
        while True:
            with self._cond:
                if ticket.cancel.cancelled:
                    self._waiting.remove(ticket)
                    self._cond.notify_all()
                    raise GenerationCancelled("generation cancelled while waiting in the queue; no clip was written.")
                if len(self._running) < self.max_running and self._waiting[0] is ticket:
                    self._waiting.pop(0)
                    self._start_locked(ticket)
                    return
                report = (self._waiting.index(ticket) + 1, len(self._waiting))
                if report == last_reported:
                    self._cond.wait(self.poll_s)
                    continue
            last_reported = report
            if on_wait is not None:
                on_wait(*report)

    def cancel(self, owner: str) -> int:
        """Cancel every running or waiting request of `owner`; returns how many were signalled.

        Also moves the owner's cancel epoch on, so a series of requests (variants) that is between two
        clips when Cancel arrives can notice and stop before admitting the next one.
        """
        with self._cond:
            self._cancel_epochs[owner] = self._cancel_epochs.get(owner, 0) + 1
            self._cancel_epochs.move_to_end(owner)
            while len(self._cancel_epochs) > MAX_CANCEL_OWNERS:
                self._cancel_epochs.popitem(last=False)
            tickets = [t for t in self._running + self._waiting if t.owner == owner]
            for ticket in tickets:
                ticket.cancel.cancel()
            self._cond.notify_all()
        return len(tickets)

    def cancel_epoch(self, owner: str) -> int:
        """How many times `owner` has pressed Cancel; compare before and after a step of a series."""
        with self._cond:
            return self._cancel_epochs.get(owner, 0)

    def snapshot(self) -> GateSnapshot:
        """The status bar's view; with several running requests, `running_*` describe the oldest."""
        with self._cond:
            running = self._running[0] if self._running else None
            return GateSnapshot(
                running_owner=running.owner if running else None,
                running_label=running.label if running else "",
                running_progress=running.progress if running else None,
                running_for_s=time.monotonic() - running.started_at if running and running.started_at else 0.0,
                waiting_owners=tuple(t.owner for t in self._waiting),
                max_waiting=self.max_waiting,
                running_count=len(self._running),
            )


def unload_model(gate: GenerationGate, engine: Engine, owner: str,
                 on_wait: Callable[[int, int], None] | None = None) -> bool:
    """Drop the engine's cached model once no generation holds it; True when one was loaded.

    The unload takes its turn in the generation line: a running generation keeps its reference to the
    model until it ends, so clearing the cache under it would free nothing and the next load would
    hold a second copy. Raises QueueFullError when the line is full, GenerationCancelled on Cancel.
    """
    with gate.admit(owner, UNLOAD_LABEL, on_wait=on_wait):
        return engine.unload()
