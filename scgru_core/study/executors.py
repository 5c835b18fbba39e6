"""Where the independent runs of a sweep or a comparison execute: in this process, in a local process pool, or
on Ray (a cluster at RAY_ADDRESS / --ray-address, or a local Ray started for the purpose).

Every task runs at one torch thread, whoever runs it: a run is then a pure, seeded function of its settings and
gives the same numbers in-process, in a pool worker or on a Ray node (more threads change the order of a matmul's
sums, and with it the last bits). Results come back as they finish, each with the index of its task, so callers
can store rows as they arrive; `should_stop` is checked between arrivals and stops the workers at once.

Ray is an optional extra (requirements-ray.txt): only the "ray" executor imports it.
"""
from __future__ import annotations

import multiprocessing
import pickle
import signal
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from scgru_core import threads
from scgru_core.errors import ConfigError
from scgru_core.net.train import Callbacks
from scgru_core.study.jobs import one_thread, pickled, run_pickled

EXECUTORS = ("local", "process", "ray")
POLL_S = 0.25  # how often a waiting caller looks at should_stop


def default_executor() -> str:
    """'process' when more than one core is free (the runs are independent), otherwise 'local'."""
    return "process" if threads.free_cores() > 1 else "local"


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool and keeps the rows
    threads.pin(1)


@dataclass
class Local:
    """In this process, one task after another; the only executor whose tasks see the caller's callbacks
    (per-batch progress, a Stop that interrupts a training half-way)."""

    name: str = "local"
    workers: int = 1

    def map(self, fn: Callable, arg_list: Sequence[tuple], callbacks: Callbacks = Callbacks()) -> Iterator[tuple[int, Any]]:
        for i, args in enumerate(arg_list):
            if callbacks.should_stop is not None and callbacks.should_stop():
                return
            yield i, one_thread(fn, args, callbacks)

    def close(self) -> None:
        """Nothing to end: the tasks ran in this process."""


@dataclass
class ProcessPool:
    """A pool of `workers` local processes, each at one thread.

    How they start: forked from a caller with one Python thread (a script, the CLI), as torch's DataLoader workers
    are: no re-import of torch, and no `if __name__ == "__main__"` needed in the caller's script. Spawned (a fresh
    interpreter) from a caller with several threads, such as the Streamlit server: a fork copies locks that other
    threads hold, and in the app's server a forked worker hung for good."""

    workers: int
    name: str = "process"

    @staticmethod
    def start_method() -> str:
        forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        return "fork" if forkable else "spawn"

    def map(self, fn: Callable, arg_list: Sequence[tuple], callbacks: Callbacks = Callbacks()) -> Iterator[tuple[int, Any]]:
        if not arg_list:
            return
        ctx = multiprocessing.get_context(self.start_method())
        pool = ctx.Pool(min(self.workers, len(arg_list)), initializer=_worker_init)
        try:
            jobs = [pickled((i, fn, args)) for i, args in enumerate(arg_list)]
            results = pool.imap_unordered(run_pickled, jobs)
            for _ in arg_list:
                while True:
                    if callbacks.should_stop is not None and callbacks.should_stop():
                        return
                    try:
                        item = results.next(timeout=POLL_S)
                    except multiprocessing.TimeoutError:
                        continue
                    break
                yield pickle.loads(item)
        finally:
            pool.terminate()  # unfinished tasks of a stopped run are abandoned; finished ones were yielded
            pool.join()

    def close(self) -> None:
        """Nothing to end: each `map` ends its own pool."""


@dataclass
class Ray:
    """Tasks on Ray: the cluster at `address` (or RAY_ADDRESS), or a local Ray of `workers` CPUs.

    Ray runs in a child process of its own (`ray_driver`), started at the first batch and kept for the next ones, so
    a Ray that cannot start or ends its process is an `ExecutorError` here, never the end of this process (the
    Streamlit server). `close()` ends it; so does this object's collection or the interpreter's exit."""

    workers: int
    address: str | None = None
    name: str = "ray"
    _driver: Any = field(default=None, init=False, repr=False, compare=False)

    def start(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Start (or reach) Ray now, so that a Ray that cannot start is refused before any work is done."""
        if self._driver is None or not self._driver.alive:
            from scgru_core.study import ray_driver
            address = ray_driver.resolve_address(self.address)
            self._driver = ray_driver.RayDriver(address, self.workers, should_stop)
            weakref.finalize(self, self._driver.close)

    def map(self, fn: Callable, arg_list: Sequence[tuple], callbacks: Callbacks = Callbacks()) -> Iterator[tuple[int, Any]]:
        if not arg_list:
            return
        from scgru_core.study import ray_driver
        self.start(callbacks.should_stop)
        yield from ray_driver.run_batch(self._driver, [(i, fn, args) for i, args in enumerate(arg_list)],
                                        callbacks.should_stop)

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None


Executor = Local | ProcessPool | Ray


def make_executor(name: str | None = None, workers: int | None = None, ray_address: str | None = None) -> Executor:
    """The executor called `name` (None: `default_executor()`), with `workers` parallel tasks (default: the free
    cores). Raises ConfigError for an unknown name or a worker count below 1."""
    name = name or default_executor()
    if name not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {name!r}.")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}.")
    workers = workers or threads.free_cores()
    if name == "local":
        return Local()
    if name == "process":
        return ProcessPool(workers)
    return Ray(workers, ray_address)
