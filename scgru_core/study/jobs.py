"""A job as it travels to a worker, whichever executor runs it: (index, function, arguments), run at one torch
thread so that the numbers are the same in-process, in a pool worker or on a Ray node, and pickled so that a tensor's
data travels in the bytes."""
from __future__ import annotations

import pickle
from typing import Any, Callable

from scgru_core import threads
from scgru_core.net.train import Callbacks


def one_thread(fn: Callable, args: tuple, callbacks: Callbacks | None = None):
    with threads.pinned_to(1):
        return fn(*args) if callbacks is None else fn(*args, callbacks=callbacks)


def run_indexed(job: tuple[int, Callable, tuple]):
    index, fn, args = job
    return index, one_thread(fn, args)


def pickled(obj: Any) -> bytes:
    """`obj` pickled with the plain pickler, which copies a tensor's data into the bytes.

    The pool's own pickler would hand each tensor over as a file descriptor through multiprocessing's resource
    sharer, a thread that serves descriptors to the other process; when Stop or Ctrl-C ended the pool mid-transfer,
    that thread printed an EOFError or ConnectionResetError traceback (in two full-suite runs of five). It reports
    through sys.excepthook, so a threading.excepthook never saw it. Copying the few megabytes a task carries costs
    milliseconds and leaves nothing to hand over."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def run_pickled(job: bytes) -> bytes:
    """`run_indexed` for a pool worker: a pickled (index, fn, args) in, a pickled (index, result) out."""
    return pickled(run_indexed(pickle.loads(job)))
