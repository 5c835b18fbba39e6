"""Every model's threshold slider, computed in the background before it is moved: the shipped model's once per
server from the start, and any other model (trained, from the model cache, a zip, a link) as soon as it is in place.

A slider move costs the server 63-82 ms of CPU for a setting nobody reached before (the test forecast, the
histogram) and 25 ms for one reached before (benchmarks/move_breakdown.py); one server process is about one core,
so with a class on it that difference is the students' wait (30 students moving in step: p95 2.1 s before, 0.94 s
after, benchmarks/class_load.py). Every fresh session starts on the shipped model, so its grid of thresholds
(`GRID_TOP` down to 0, nearest the default first) is computed once at start into the server's snapshot and figure
caches, at a low priority so that sessions' own work goes first: 10-14 s of one core and about 40 MB of the
caches' bounded memory (measured). A model brought in later gets the same (`Fills`), nearest its session's own s
first, shared by every session on it and dropped once no session is on it. SCGRU_PREFETCH=0 turns it off.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import weakref

import streamlit as st

import scgru_core as sc
from scgru_core.serve import background
from scgru_core.store import checkpoints
from scgru_core.data.samples import DEFAULT_SAMPLE
from scgru_core.teach.settings import DEFAULTS, SETTINGS

from . import prune_view as pv
from . import server, session

GRID_TOP = 3.0  # the thresholds a lesson uses; the slider goes on to 5, computed when reached
NICENESS = 10  # below the script threads of the sessions (Linux schedules threads one by one)
log = logging.getLogger(__name__)


def grid(default: float, step: float, top: float) -> list[float]:
    """Every slider value from 0 to `top`, the default first, then outward one step each side at a time (the
    values a class reaches first are ready first). Rounded as the slider rounds them, so the keys match."""
    digits = max(0, -int(f"{step:e}".split("e")[1]))
    values = [round(i * step, digits) for i in range(int(round(top / step)) + 1)]
    return sorted(values, key=lambda v: (abs(v - default), v))


def configs(base: sc.PruneConfig | None = None, around: float | None = None) -> list[sc.PruneConfig]:
    """`base` (the Prune page's defaults) at each threshold of the grid, nearest `around` (its own s) first."""
    base = base or DEFAULTS.prune_config()
    around = base.sensitivity if around is None else around
    return [dataclasses.replace(base, sensitivity=s) for s in grid(around, SETTINGS["sensitivity"].step, GRID_TOP)]


def shipped_lab() -> sc.PruningLab:
    """The lab a fresh session opens on: the shipped checkpoint of the default sample, with the server's cache."""
    ckpt = checkpoints.load_checkpoint(DEFAULT_SAMPLE)
    return sc.PruningLab(ckpt.model.eval(), ckpt.data, cache=server.snapshot_cache())


def grid_key(lab: sc.PruningLab, config: sc.PruneConfig) -> tuple | None:
    """What a grid depends on: the model, the data and the Prune settings but s."""
    return lab.key(dataclasses.replace(config, sensitivity=0.0))


@dataclasses.dataclass
class Fill:
    """One model's slider grid being computed, and who is on that model (it stops when nobody is)."""

    lab: sc.PruningLab
    todo: list  # the settings left, nearest the holders' latest s first
    key: tuple  # grid_key
    holders: dict = dataclasses.field(default_factory=dict)  # {token: weak reference to a session}: a closed one dies

    def wanted(self) -> bool:
        """Some holder is alive and still on this model with these settings."""
        live = [ref() for ref in self.holders.values()]
        return any(h is not None and h.lab is not None and h.lab_config is not None
                   and grid_key(h.lab, h.lab_config) == self.key for h in live)


class Fills:
    """Every model put in place gets its slider grid computed in the background (the shipped one from the start):
    one low-priority thread per server takes the newest model's next setting, round after round, into the bounded
    snapshot and figure caches that every session on that model reads. A model no session is on any more is
    dropped from the line (a closed tab's session is collected; a session on another model no longer counts)."""

    def __init__(self):
        self._fills: dict[tuple, Fill] = {}
        self._kept: list = []  # holders held for the server's life (weakly held otherwise)
        self._computing = False  # a setting taken from the line is being computed
        self._cond = threading.Condition()
        self.stop = background.start(self._run, "scgru-fill")

    def want(self, lab: sc.PruningLab, holder, config: sc.PruneConfig, keep: bool = False) -> None:
        """`holder` (a session, or with `keep` the server itself) is on `lab` with the Prune settings `config`: fill
        its grid."""
        if config.rule.control != "sensitivity" or lab.cache is None:
            return  # a target-sparsity rule's slider is another grid: computed as it is reached
        key = grid_key(lab, config)
        with self._cond:
            fill = self._fills.get(key)
            if fill is None:
                fill = self._fills[key] = Fill(lab, configs(config, config.sensitivity), key)
                self._cond.notify()
            elif fill.todo and fill.todo[0].sensitivity != config.sensitivity:  # nearest the latest move first
                fill.todo.sort(key=lambda c: (abs(c.sensitivity - config.sensitivity), c.sensitivity))
            fill.holders[holder.token] = weakref.ref(holder)
            if keep:
                self._kept.append(holder)

    def active(self) -> list[Fill]:
        """The fills with work left and someone on their model."""
        with self._cond:
            return [f for f in self._fills.values() if f.todo and f.wanted()]

    @property
    def computing(self) -> bool:
        """A setting taken from the line is being computed (once `stop` is set, the last one)."""
        with self._cond:
            return self._computing

    def idle(self) -> bool:
        """Nothing left to compute and nothing being computed: every wanted grid is in the caches."""
        with self._cond:  # one look (the condition's lock is re-entrant): no setting taken between the two checks
            return not self._computing and not self.active()

    def _next(self) -> tuple[Fill, sc.PruneConfig] | None:
        with self._cond:
            for key, fill in list(self._fills.items()):
                if not fill.wanted():
                    del self._fills[key]  # nobody is on that model any more (a finished grid is kept till then)
            waiting = [fill for fill in self._fills.values() if fill.todo]
            if not waiting:
                return None
            fill = waiting[-1]  # the newest model first: its sessions are the ones waiting
            self._computing = True
            return fill, fill.todo.pop(0)

    def _run(self, stop: threading.Event) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except (AttributeError, OSError):  # not Linux: the thread runs at the process's priority
            pass
        while not stop.is_set():
            work = self._next()
            if work is None:
                with self._cond:
                    self._cond.wait(timeout=1.0)
                continue
            fill, config = work
            try:
                fill_one(fill.lab, config)
            except Exception:  # noqa: BLE001 - one setting the engine refuses must not end the fill of every model
                log.exception("A setting of the slider's fill failed: %s", config)
            finally:
                with self._cond:
                    self._computing = False


def fill_one(lab: sc.PruningLab, config: sc.PruneConfig) -> None:
    """One setting's snapshot and its default Histograms figure, into the server's caches."""
    pv.histogram(lab, lab.at(config), pv.default_matrix(lab.model), False)


class _Server:
    """The holder of the shipped model's fill: the server itself, for as long as it runs (every fresh session
    opens on that model)."""

    token = "server"
    lab_config = DEFAULTS.prune_config()

    def __init__(self, lab: sc.PruningLab):
        self.lab = lab


@st.cache_resource(show_spinner=False)
def fills() -> Fills:
    """One per server process: the line of slider grids to compute."""
    server.snapshot_cache(), server.figure_cache()  # made here, in a script run, for the thread to find
    return Fills()


@st.cache_resource(show_spinner=False)
def start() -> threading.Event | None:
    """Once per server process: the shipped model's grid into the line (an Event that stops the whole fill), or
    None when SCGRU_PREFETCH=0."""
    if os.environ.get("SCGRU_PREFETCH", "1") == "0":
        return None
    line = fills()
    try:
        holder = _Server(shipped_lab())
    except sc.ScgruError as exc:  # no usable checkpoint: sessions train or compute as they go
        log.warning("The shipped model's slider was not prefetched: %s", exc)
        return line.stop
    line.want(holder.lab, holder, holder.lab_config, keep=True)
    return line.stop


def follow() -> None:
    """Every run: the session's model (whichever way it came: trained, the model cache, a zip, a link) and its Prune
    settings, into the fill line, so its slider moves find their snapshots computed."""
    if os.environ.get("SCGRU_PREFETCH", "1") == "0":
        return
    now = session.get()
    if now.lab is None:
        return
    try:
        now.lab_config = pv.config_from_state()
    except sc.ScgruError:
        return
    fills().want(now.lab, now, now.lab_config)
