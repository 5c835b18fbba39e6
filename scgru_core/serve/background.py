"""Background threads that end before the interpreter tears down.

A daemon thread still inside torch when Python finalises aborts the process ("terminate called without an active
exception", exit 134): a script that imported the app while the slider's fill ran died that way. A thread started
here gets an Event that asks it to stop; at exit every such Event is set and every thread joined (for at most
`JOIN_S` each) before the interpreter goes on to tear down. Threads check their Event between units of work (a
slider setting, a training batch), which take milliseconds to a second.
"""
from __future__ import annotations

import atexit
import threading
from typing import Callable

JOIN_S = 10.0
_running: list[tuple[threading.Event, threading.Thread]] = []
_lock = threading.Lock()


def start(target: Callable[..., object], name: str, *args, stop: threading.Event | None = None) -> threading.Event:
    """Run `target(stop, *args)` in a daemon thread; returns `stop` (a new Event unless given), which is set at exit
    (or by whoever holds it) and which the target must check between its units of work."""
    stop = stop if stop is not None else threading.Event()
    thread = threading.Thread(target=target, args=(stop, *args), name=name, daemon=True)
    with _lock:
        _running[:] = [(s, t) for s, t in _running if t.is_alive()]
        _running.append((stop, thread))
    thread.start()
    return stop


@atexit.register
def end_all() -> None:
    """Ask every thread started here to stop, then wait for each (atexit runs this before finalisation)."""
    with _lock:
        running = list(_running)
    for stop, _ in running:
        stop.set()
    for _, thread in running:
        if thread is not threading.current_thread():
            thread.join(timeout=JOIN_S)
