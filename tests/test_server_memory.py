"""The server gives back what sessions used: three rounds of 20 sessions doing expensive work (new thresholds,
Trade-offs, Deploy), each round ending, leave it within the bound the README states (benchmarks/memory_rounds.py).
Before lab_ui.heap, each round left it 400-470 MB above where it started."""
from __future__ import annotations

import asyncio
import pathlib
import sys

from browser_support import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import memory_rounds  # noqa: E402


def test_memory_after_rounds_of_expensive_sessions_returns_within_the_stated_bound():
    before, after, errors = asyncio.run(memory_rounds.rounds(free_port(), rounds=3, sessions=20, moves=10,
                                                             report=lambda line: None))
    assert errors == 0 and len(after) == 3
    assert max(after) - before <= memory_rounds.BOUND_MB, (before, after)
