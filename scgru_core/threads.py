"""How many CPU threads torch uses, chosen from the model's size and the cores that are free.

Measured on this project's 2-core machines: the lab's GRUs (hidden up to a few hundred units, one window at a
time) run fastest on one thread, because each step is too small to split, and on a machine shared with other
work two threads were 3-40 times slower (the README's examples 10-25 times). Wide layers split well, so they
get the cores nobody else is using. `fit` applies the rule while it trains and restores the caller's count
afterwards; `pin` (the CLI's --threads, the app, the benchmarks) fixes a count instead.
"""
from __future__ import annotations

import contextlib
import os

import torch

WIDE = 256  # hidden units from which a step is worth splitting across cores
_pinned: int | None = None


def free_cores() -> int:
    """Cores this process may use, less the load average (other work running), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def choose_threads(hidden: int, cores: int | None = None) -> int:
    """One thread below WIDE hidden units; the free cores (or `cores`) from there on."""
    if hidden < WIDE:
        return 1
    return max(1, free_cores() if cores is None else cores)


def pin(n: int | None) -> None:
    """Use exactly `n` threads from now on (None: back to the rule); sets torch's count at once."""
    global _pinned
    if n is not None and n < 1:
        from scgru_core.errors import ConfigError
        raise ConfigError(f"threads must be at least 1, not {n}.")
    _pinned = n
    if n is not None:
        torch.set_num_threads(n)


def pinned() -> int | None:
    return _pinned


@contextlib.contextmanager
def pinned_to(n: int):
    """`pin(n)` for the duration of a block (one CLI command); the earlier pin and torch's count come back after."""
    before, torch_before = _pinned, torch.get_num_threads()
    pin(n)
    try:
        yield n
    finally:
        pin(before)
        torch.set_num_threads(torch_before)


@contextlib.contextmanager
def threads_for(hidden: int):
    """torch's thread count for work on a model of `hidden` units: the pinned count, or the rule; the
    caller's count is restored afterwards. Yields the count in force."""
    want = _pinned if _pinned is not None else choose_threads(hidden)
    before = torch.get_num_threads()
    if want != before:
        torch.set_num_threads(want)
    try:
        yield want
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
