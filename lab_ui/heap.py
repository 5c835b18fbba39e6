"""Memory the server frees goes back to the system (glibc's allocator; elsewhere nothing is done).

Streamlit runs every session's script in a thread of its own, and glibc gives threads allocation arenas of their own
(up to 8 per core) that keep what was freed in them. Twenty sessions doing expensive work, then leaving, left a
server at 940-970 MB instead of the 500 MB it started at, round after round (benchmarks/memory_rounds.py). Two
arenas for the whole process, and a trim of the free pages now and then, bring it back: see the README's figures.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading

from scgru_core.serve import background

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
ARENAS = 2
TRIM_EVERY_S = 20.0


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def give_back() -> bool:
    """Once per process: few arenas from now on, and every `TRIM_EVERY_S` the free pages returned to the system
    (`malloc_trim`, a few milliseconds, in a daemon thread that holds no lock and nothing of torch's). False where
    the allocator is not glibc's."""
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt(M_ARENA_MAX, ARENAS)

    def trim(stop: threading.Event) -> None:
        while not stop.wait(TRIM_EVERY_S):
            libc.malloc_trim(0)

    background.start(trim, "heap trim")  # ended at exit: never inside malloc_trim while the interpreter tears down
    return True
