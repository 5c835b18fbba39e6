"""The shipped model's threshold slider, computed before the class moves it: once per server, in the background.

A slider move costs the server 63-82 ms of CPU for a setting nobody reached before (the test forecast, the
histogram) and 25 ms for one reached before (benchmarks/move_breakdown.py); one server process is about one core,
so with a class on it that difference is the students' wait (30 students moving in step: p95 2.1 s before, 0.94 s
after, benchmarks/class_load.py). Every fresh session starts on the shipped model, so its grid of thresholds
(`GRID_TOP` down to 0, nearest the default first) is computed once at start into the server's snapshot and figure
caches, at a low priority so that sessions' own work goes first: 10-14 s of one core and about 40 MB of the
caches' bounded memory (measured). SCGRU_PREFETCH=0 turns it off.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading

import streamlit as st

import scgru_core as sc
from scgru_core import checkpoints
from scgru_core.samples import DEFAULT_SAMPLE
from scgru_core.settings import DEFAULTS, SETTINGS

from . import prune_view as pv
from . import server

GRID_TOP = 3.0  # the thresholds a lesson uses; the slider goes on to 5, computed when reached
NICENESS = 10  # below the script threads of the sessions (Linux schedules threads one by one)
log = logging.getLogger(__name__)


def grid(default: float, step: float, top: float) -> list[float]:
    """Every slider value from 0 to `top`, the default first, then outward one step each side at a time (the
    values a class reaches first are ready first). Rounded as the slider rounds them, so the keys match."""
    digits = max(0, -int(f"{step:e}".split("e")[1]))
    values = [round(i * step, digits) for i in range(int(round(top / step)) + 1)]
    return sorted(values, key=lambda v: (abs(v - default), v))


def configs() -> list[sc.PruneConfig]:
    """The Prune page's default settings at each threshold of the grid."""
    base = DEFAULTS.prune_config()
    return [dataclasses.replace(base, sensitivity=s) for s in grid(base.sensitivity, SETTINGS["sensitivity"].step, GRID_TOP)]


def fill(lab: sc.PruningLab, settings: list[sc.PruneConfig], stop: threading.Event | None = None) -> int:
    """Each setting's snapshot and its default Histograms figure into the server's caches; the count computed."""
    name, done = pv.default_matrix(lab.model), 0
    for config in settings:
        if stop is not None and stop.is_set():
            break
        pv.histogram(lab, lab.at(config), name, False)
        done += 1
    return done


def shipped_lab() -> sc.PruningLab:
    """The lab a fresh session opens on: the shipped checkpoint of the default sample, with the server's cache."""
    ckpt = checkpoints.load_checkpoint(DEFAULT_SAMPLE)
    return sc.PruningLab(ckpt.model.eval(), ckpt.data, cache=server.snapshot_cache())


def _run(stop: threading.Event) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux: the thread runs at the process's priority
        pass
    try:
        fill(shipped_lab(), configs(), stop)
    except sc.ScgruError as exc:  # no usable checkpoint: sessions train or compute as they go
        log.warning("The shipped model's slider was not prefetched: %s", exc)


@st.cache_resource(show_spinner=False)
def start() -> threading.Event | None:
    """Once per server process: the background fill (an Event that stops it), or None when SCGRU_PREFETCH=0."""
    if os.environ.get("SCGRU_PREFETCH", "1") == "0":
        return None
    server.snapshot_cache(), server.figure_cache()  # made here, in a script run, for the thread to find
    stop = threading.Event()
    threading.Thread(target=_run, args=(stop,), name="scgru-prefetch", daemon=True).start()
    return stop
