"""Play: the pruning control moves by itself, frame by frame, from 0 to its largest value and back, so a class
watches the cut sweep through the weights (TF Playground's best-loved control). A frame moves the control the rule is
driven by (s for a threshold rule, the target for a rank rule) by FRAME; the shipped model's frames up to
prefetch.GRID_TOP are already in the server's snapshot cache, the rest are computed when first reached.

Frames are drawn by re-running the fragment that holds the control every INTERVAL_S (Streamlit's run_every). While
it plays, the control is shown as text and a bar, not as its widget: a widget whose value the server writes every
frame races the browser's own copy of it (measured in Chromium on the Heatmaps tab: the browser sent back the value
of two frames before, which stopped Play, and the two copies then bounced). Pause gives the widget back at the frame
it stopped on."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import scgru_core as sc
from scgru_core.teach.settings import SETTINGS

from . import prune_view as pv
from . import session, widgets

INTERVAL_S = 0.5  # two frames a second: about 12 s from 0 to s = 5 and as long back; the server's cost is one
# snapshot a frame, mostly a cache hit. The browser keeps up if a frame is cheap to draw: heatmaps go as images while
# it plays (as heatmap traces, headless Chromium here had no time left for a click: Pause arrived 3-5 s late)
BUTTONS = ("play", "lesson_play")  # the Play / Pause buttons' keys (the Prune page's, the lesson's)
FRAME = {"sensitivity": 0.2, "sparsity": 0.05}  # the step of a frame on each kind of control


@dataclass
class Playing:
    control: str  # "sensitivity" or "sparsity": the setting it moves
    last: float  # the frame it is at (the control's widget is set to it, and Pause gives the widget back there)
    direction: int = 1


def control_of() -> str:
    return "sensitivity" if sc.RULES[widgets.value("method")].control == "sensitivity" else "sparsity"


def _top(control: str) -> float:
    return SETTINGS[control].bounds[1] if control == "sensitivity" else pv.target_bound() / 100


def playing() -> bool:
    return session.get().playing is not None


def interval() -> float | None:
    """The run_every of the fragment holding the control: INTERVAL_S while playing."""
    return INTERVAL_S if playing() else None


def next_value(value: float, direction: int, step: float, top: float) -> tuple[float, int]:
    """One frame on from `value`: up to `top`, then back down to 0, and up again."""
    new = value + direction * step
    if new > top + 1e-9:  # the top itself is a frame, then back down
        return (top, 1) if value < top - 1e-9 else (round(max(0.0, top - step), 6), -1)
    if new < -1e-9:  # and so is 0
        return (0.0, -1) if value > 1e-9 else (round(min(top, step), 6), 1)
    return round(new, 6), direction


def advance() -> None:
    """At the start of a fragment run while playing: the control one frame on (its widget's value too, so that
    the panel prunes at it and Pause gives the widget back there). Stops if the method changed."""
    now = session.get().playing
    if now is None or any(st.session_state.get(k) for k in BUTTONS):  # Pause just pressed: it holds where it is
        return
    control = control_of()
    if control != now.control:  # another method (Reset, a link): it plays no more
        session.get().playing = None
        return
    now.last, now.direction = next_value(now.last, now.direction, FRAME[control], _top(control))
    widgets.put(control, now.last)
    (pv.sync_target if control == "sensitivity" else pv.sync_s)()


def frame_view(where) -> None:
    """The control as it plays, in `where`: its value and a bar of how far it is from 0 to its top (the sparsity it
    gives is in the panel's metrics, one line below)."""
    now = session.get().playing
    top = _top(now.control)
    text = f"{now.last:.2f}" if now.control == "sensitivity" else f"{now.last:.0%}"
    where.progress(min(1.0, now.last / top) if top else 0.0,
                   text=f"{SETTINGS[now.control].label}: **{text}** {'▲' if now.direction > 0 else '▼'} (playing)")


def play_pause(where, key: str, on: bool, help: str) -> bool:
    """The Play / Pause button of something that plays (the pruning control, a training's replay), drawn outside
    the fragment that plays it: a button redrawn by every frame lost clicks. True when it was pressed."""
    return where.button("Pause" if on else "Play", key=key, icon=":material/pause:" if on else ":material/play_arrow:",
                        width="stretch", help=help)


def button(where=None, key: str = BUTTONS[0]) -> None:
    """Play / Pause. Starting or stopping changes how the fragment reruns, so the whole page reruns."""
    where = where if where is not None else st
    on = playing()
    if play_pause(where, key, on, f"Sweeps the control from 0 to its largest value and back, a frame every "
                                  f"{INTERVAL_S:g} s; Pause holds it there and gives it back to you."):
        if on:
            session.get().playing = None
        else:
            control = control_of()
            value = widgets.value(control)
            session.get().playing = Playing(control, value, -1 if value >= _top(control) - 1e-9 else 1)
        st.rerun()
