"""One server's trainings, in line for a bounded number of slots: the cores stay shared fairly.

A class on one 2-core laptop: five students pressing Train at once would each get a fifth of the cores, every
training five times slower, and every slider move in the room waiting behind them. Here at most `slots`
trainings run at once (by default one core is left for everything else); the others wait in arrival order,
each told its place in line and about how long until its turn. Every training is a `Ticket` the whole server
can see by its key (the model cache's key) while it waits or runs, so a page reloaded during a training finds
the one it started, shows its progress and can stop it; what the training made lands on the ticket, for every
page that follows it.

    queue = TrainingQueue(slots=1)
    ticket = queue.submit(Ticket(key, "GRU 64 x 1, 15 epochs", epochs=15, estimate_s=40), work)
    ticket.finished.wait()      # work(ticket) ran in a worker thread when its turn came: ticket.outcome or .error

A submitted training runs in the server's own thread, not in a session's script run, so it outlives the page
that started it: a reload, a closed tab or a click elsewhere (each of which stops a Streamlit script) leave it
running, and any page can follow it again by its key. `turn` is the same line for work a script run does itself.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from scgru_core.serve import background
from scgru_core.errors import ScgruError

WANT_TTL_S = 15.0  # a page showing a training polls it every second; a tab silent this long has gone


def default_slots(cores: int | None = None) -> int:
    """Trainings that may run at once: all cores but one (one for the slider moves and pages), at least one."""
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    return max(1, cores - 1)


@dataclass(eq=False)
class Ticket:
    """One training: what it trains, how far it got, how to stop it and, once done, what it made."""

    key: Hashable
    label: str
    epochs: int
    estimate_s: float  # the whole training, timed beforehand on this machine
    stop: threading.Event = field(default_factory=threading.Event)
    joined: float = field(default_factory=time.monotonic)
    started: float | None = None
    fraction: float = 0.0  # of the whole training, batches included
    losses: list = field(default_factory=list)  # the trainer's record of each finished epoch
    outcome: Any = None  # what the work returned (a submitted ticket), or what the trainer handed over
    error: BaseException | None = None  # what the work raised instead (a submitted ticket)
    done: bool = False  # out of the line
    finished: threading.Event = field(default_factory=threading.Event)  # out of the line, outcome or error set
    batch: int = 0
    batches: int = 0
    wanted_by: dict = field(default_factory=dict)  # who waits for it (session tokens), when they last said so
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])  # what a page's link names while it follows this
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def want(self, who: Hashable) -> None:
        """`who` waits for this training (the one who started it, and everyone who followed it since); said again
        on every poll of a page showing it, so that a closed or reloaded tab stops counting after `WANT_TTL_S`."""
        with self._lock:
            self.wanted_by[who] = time.monotonic()

    def release(self, who: Hashable) -> int:
        """`who` no longer wants this training (their Stop). It stops only when nobody else still waits for it: one
        student's Stop must not end the training another asked for too; a tab closed or reloaded long enough ago
        no longer counts. Returns how many still wait."""
        with self._lock:
            self.wanted_by.pop(who, None)
            now = time.monotonic()
            self.wanted_by = {w: seen for w, seen in self.wanted_by.items() if now - seen <= WANT_TTL_S}
            left = len(self.wanted_by)
            if not left:
                self.stop.set()
            return left

    @property
    def epoch(self) -> int:
        """The epoch under way (1-based)."""
        return len(self.losses) + 1

    def progress(self, batch: int, batches: int) -> None:
        """The epoch under way is at batch `batch` of `batches`."""
        self.batch, self.batches = batch, batches
        self.fraction = min(1.0, (len(self.losses) + batch / max(1, batches)) / max(1, self.epochs))

    def epoch_done(self, log: Any) -> None:
        """An epoch ended; `log` is the trainer's record of it (an EpochLog)."""
        self.losses.append(log)
        self.fraction = min(1.0, len(self.losses) / max(1, self.epochs))

    def remaining_s(self) -> float:
        """Seconds this training still needs: from its own pace once it runs, else the estimate."""
        if self.started is None:
            return self.estimate_s
        elapsed = time.monotonic() - self.started
        if self.fraction <= 0.02:
            return max(0.0, self.estimate_s - elapsed)
        return elapsed * (1 - self.fraction) / self.fraction


class TrainingQueue:
    """At most `slots` tickets run at once; the rest wait first come, first served. Thread-safe."""

    def __init__(self, slots: int | None = None):
        self.slots = slots if slots is not None else default_slots()
        self._line: list[Ticket] = []  # running ones first (the first `slots`), then the waiting ones
        self._cond = threading.Condition()

    def position(self, ticket: Ticket) -> int:
        """0 while it runs (or once it has left the line), else its place among the waiting (1 = next)."""
        with self._cond:
            i = self._line.index(ticket) if ticket in self._line else 0
            return 0 if i < self.slots else i - self.slots + 1

    def wait_s(self, ticket: Ticket) -> float:
        """About how long until `ticket` runs: the work ahead of it shared over the slots."""
        with self._cond:
            i = self._line.index(ticket) if ticket in self._line else 0
            if i < self.slots:
                return 0.0
            ahead = sorted(t.remaining_s() for t in self._line[:self.slots])
            waiting = [t.estimate_s for t in self._line[self.slots:i]]
            # each waiting ticket takes the slot that frees first
            for seconds in waiting:
                ahead[0] += seconds
                ahead.sort()
            return ahead[0]

    def by_id(self, ticket_id: str) -> Ticket | None:
        """The ticket in line (running or waiting) with this id, else None (ended, or never: a hand-edited link)."""
        with self._cond:
            return next((ticket for ticket in self._line if ticket.id == ticket_id), None)

    def find(self, key: Hashable) -> Ticket | None:
        """The ticket training `key` now (running or in line), else None."""
        with self._cond:
            return next((ticket for ticket in self._line if ticket.key == key), None)

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._cond:
            running = min(len(self._line), self.slots)
            return running, len(self._line) - running

    def submit(self, ticket: Ticket, work: Callable[[Ticket], Any]) -> Ticket:
        """Run `work(ticket)` in a thread of its own once its turn comes, its return value as `ticket.outcome` (an
        exception as `ticket.error`). A ticket with the same key already in line is returned instead: two sessions
        asking for the same model share one training."""
        with self._cond:
            same = next((t for t in self._line if t.key == ticket.key), None)
            if same is not None:
                return same
            self._line.append(ticket)
        # ticket.stop is set at exit too: the training ends at its next batch before the interpreter tears down
        background.start(lambda _stop: self._work(ticket, work), f"training: {ticket.label}", stop=ticket.stop)
        return ticket

    def _work(self, ticket: Ticket, work: Callable[[Ticket], Any]) -> None:
        try:
            while not self._runs(ticket):
                if ticket.stop.is_set():
                    raise TrainingCancelled("Stopped while waiting for the trainer: nothing was trained.")
                self._wait(0.5)
            ticket.started = time.monotonic()
            ticket.outcome = work(ticket)
        except BaseException as exc:  # handed to whoever follows the ticket, which shows it
            ticket.error = exc
        finally:
            self._leave(ticket)

    def turn(self, ticket: Ticket, waiting: Callable[[Ticket], None] | None = None, poll_s: float = 0.5):
        """Context manager: join the line, wait for a slot (calling `waiting(ticket)` every `poll_s`: where the
        caller shows the place in line, and where an exception, a Stop, leaves it), hold it while the block runs."""
        return _Turn(self, ticket, waiting, poll_s)

    def _join(self, ticket: Ticket) -> None:
        with self._cond:
            self._line.append(ticket)

    def _runs(self, ticket: Ticket) -> bool:
        with self._cond:
            return self._line.index(ticket) < self.slots

    def _wait(self, poll_s: float) -> None:
        with self._cond:
            self._cond.wait(timeout=poll_s)

    def _leave(self, ticket: Ticket) -> None:
        with self._cond:
            self._line.remove(ticket)
            ticket.done = True
            ticket.finished.set()
            self._cond.notify_all()


class _Turn:
    def __init__(self, queue: TrainingQueue, ticket: Ticket, waiting, poll_s: float):
        self.queue, self.ticket, self.waiting, self.poll_s = queue, ticket, waiting, poll_s

    def __enter__(self) -> Ticket:
        q, t = self.queue, self.ticket
        q._join(t)
        try:
            while not q._runs(t):
                if t.stop.is_set():
                    raise TrainingCancelled("Stopped while waiting for the trainer: nothing was trained.")
                if self.waiting is not None:
                    self.waiting(t)
                q._wait(self.poll_s)
        except BaseException:
            q._leave(t)
            raise
        t.started = time.monotonic()
        return t

    def __exit__(self, *exc) -> None:
        self.queue._leave(self.ticket)


class TrainingCancelled(ScgruError):
    """A ticket was stopped before its turn came (nothing was trained)."""
