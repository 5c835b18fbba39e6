"""The shipped model's slider is computed in the background once per server, and a session's moves find it."""
from __future__ import annotations

import time

from apptest_helpers import new_app, page, restore_torch_threads

__all__ = ["restore_torch_threads"]


def test_the_grid_starts_at_the_default_and_holds_every_slider_value_once():
    from lab_ui.prefetch import grid

    values = grid(1.0, 0.01, 3.0)
    assert values[:5] == [1.0, 0.99, 1.01, 0.98, 1.02]
    assert len(values) == len(set(values)) == 301 and min(values) == 0.0 and max(values) == 3.0
    assert 1.37 in values  # the float the slider sends for 1.37, so the cache keys match


def test_a_fresh_sessions_moves_on_the_shipped_model_come_from_the_background_fill(monkeypatch):
    from lab_ui import prefetch, server

    monkeypatch.setenv("SCGRU_PREFETCH", "1")
    prefetch.start.clear()
    server.snapshot_cache.clear()
    server.figure_cache.clear()
    at = new_app()  # app.py starts the fill, once for the process
    stop = prefetch.start()
    try:
        _moves_find_the_fill(at, stop)
    finally:
        stop.set()
        prefetch.start.clear()


def _moves_find_the_fill(at, stop) -> None:
    from lab_ui import server

    deadline = time.monotonic() + 120
    while len(server.figure_cache()._items) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()  # the first five thresholds are in: 1.0, 0.99, 1.01, 0.98, 1.02
    time.sleep(1.0)  # let a setting being computed finish
    at = page(at, "prune")
    snapshots, figures = server.snapshot_cache(), server.figure_cache()
    for s in (1.01, 0.98):
        misses = snapshots.misses, figures.misses
        at.slider(key="s").set_value(s).run()
        assert not at.exception
        assert (snapshots.misses, figures.misses) == misses, f"s = {s} was computed again"
    misses = snapshots.misses
    at.slider(key="s").set_value(2.5).run()  # not reached by the stopped fill: computed now
    assert snapshots.misses > misses
