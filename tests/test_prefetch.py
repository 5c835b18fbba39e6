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
    _fresh(prefetch, server)
    at = new_app()  # app.py starts the fill, once for the process
    stop = prefetch.start()
    try:
        _moves_find_the_fill(at, stop)
    finally:
        stop.set()
        _fresh(prefetch, server)


def _fresh(prefetch, server) -> None:
    """A server process's fill not yet started, its caches empty."""
    prefetch.start.clear()
    prefetch.fills.clear()
    server.snapshot_cache.clear()
    server.figure_cache.clear()


def _moves_find_the_fill(at, stop) -> None:
    from lab_ui import prefetch, server

    deadline = time.monotonic() + 120
    while len(server.figure_cache()._items) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()  # the first five thresholds are in: 1.0, 0.99, 1.01, 0.98, 1.02
    while prefetch.fills().computing and time.monotonic() < deadline:  # the setting under way finishes
        time.sleep(0.05)
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


def test_an_uploads_model_gets_its_slider_filled_and_the_fill_ends_when_nobody_is_on_it(monkeypatch):
    """Only the shipped model was instant: a model trained on an upload cost every move its prune and forecast
    (92 ms of CPU on a 17,520-point upload). Any model put in place gets its grid, nearest the session's s first;
    the moves find it; once the session is on another model, that model's fill leaves the line."""
    from apptest_helpers import csv_bytes, train_small, upload, wave
    from lab_ui import prefetch, server

    monkeypatch.setenv("SCGRU_PREFETCH", "1")
    _fresh(prefetch, server)
    monkeypatch.setattr(prefetch, "GRID_TOP", 1.1)  # 0 to 1.1: a short grid, so the test waits for all of it
    try:
        at = page(new_app(), "data")
        upload(at, "mine.csv", csv_bytes(wave(600)))
        train_small(at)
        at = page(at, "prune")  # a run after the model is in place: it joins the line
        lab = at.session_state["session"].lab
        line = prefetch.fills()
        (mine,) = [f for f in line.active() if f.lab is lab]
        left = [abs(c.sensitivity - 1.0) for c in list(mine.todo)]
        assert left == sorted(left)  # nearest the session's s (1.0) first
        deadline = time.monotonic() + 120
        while not line.idle() and time.monotonic() < deadline:  # the upload's grid, the shipped model's, the last
            time.sleep(0.2)                                         # setting taken included
        assert line.idle(), "the grids were not filled in 120 s"
        snapshots, figures = server.snapshot_cache(), server.figure_cache()
        for s in (0.5, 1.07, 0.03):
            misses = snapshots.misses, figures.misses
            at.slider(key="s").set_value(s).run()
            assert not at.exception
            assert (snapshots.misses, figures.misses) == misses, f"s = {s} was computed again"
        at.slider(key="s").set_value(1.3).run()  # past the grid: computed as it is reached
        assert snapshots.misses > misses[0]
    finally:
        prefetch.fills().stop.set()
        _fresh(prefetch, server)


def test_a_fill_leaves_the_line_once_no_session_is_on_its_model():
    """A session that moves to another model, or closes (its session object collected), no longer holds the fill;
    a fill nobody holds is dropped before its next setting. Another session on the same model keeps it going."""
    import dataclasses
    import gc

    from _engine_support import tiny_data, tiny_model
    from lab_ui import prefetch
    from scgru_core import PruningLab
    from scgru_core.teach.settings import DEFAULTS
    from scgru_core.serve.snapshot_cache import SnapshotCache

    @dataclasses.dataclass(eq=False)
    class Holder:
        token: str
        lab: object
        lab_config: object

    line = prefetch.Fills()
    line.stop.set()  # no thread: the line's bookkeeping alone
    lab = PruningLab(tiny_model(hidden=8), tiny_data(300, window=12), cache=SnapshotCache())
    base = DEFAULTS.prune_config()
    alice, bob = Holder("alice", lab, base), Holder("bob", lab, base)
    line.want(lab, alice, base)
    line.want(lab, bob, dataclasses.replace(base, sensitivity=2.0))  # the same grid, re-ordered for Bob's move
    (fill,) = line.active()
    assert fill.todo[0].sensitivity == 2.0 and len(line.active()) == 1
    alice.lab = None  # Alice moved on to another model (or none)
    assert line.active() == [fill]  # Bob is still on it
    del bob
    gc.collect()  # Bob's tab closed: his session is collected
    assert line.active() == [] and line._next() is None and not line._fills
