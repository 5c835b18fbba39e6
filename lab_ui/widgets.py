"""The settings table's widgets: drawn, read and written through these functions, so no page spells a setting's
key, bounds, label or default (they are in scgru_core/teach/settings.py, which the URL and the engine configs read too).

Widget values are kept in session state in the widget's units (shares in whole percent); `state()` reads them
back as a `LabState`, and `write(state)` sets them (before they are drawn: callbacks and the app's start).
"""
from __future__ import annotations

import streamlit as st

from scgru_core.net.cells import CELLS
from scgru_core.pruning.scopes import KINDS
from scgru_core.teach.setting import Setting
from scgru_core.teach.settings import DEFAULTS, SETTINGS, LabState

from .memory import set_widget

ss = st.session_state

# The scope is one setting drawn as two widgets: a choice, and the gate blocks when the choice is "gates".
SCOPE_CHOICES = {"both": "both", "ih": "W_ih only", "hh": "W_hh only", "gates": "chosen gates…"}
GATES_KEY = "p_gates"
DEFAULT_GATES = ["hh:reset", "hh:update"]  # a GRU's; another cell starts on its first recurrent gate
KEYS = tuple(s.widget for s in SETTINGS.values() if s.widget) + (GATES_KEY,)


def gate_options(cell: str) -> list[str]:
    """The gate blocks a scope can choose on this cell: 'ih:reset', ..., 'hh:new' for a GRU; four per matrix for an
    LSTM; one for an RNN."""
    return [f"{kind}:{gate}" for kind in KINDS for gate in CELLS[cell].gates]


def _gates_for(cell: str) -> None:
    """Keep the chosen gates to those the cell has (another model may have other gates); none of them left: the
    cell's default."""
    options, chosen = gate_options(cell), ss.get(GATES_KEY) or []
    kept = [g for g in chosen if g in options]
    if kept != chosen:  # gates of another cell (none chosen stays none: the page says to pick one)
        set_widget(GATES_KEY, kept or [g for g in DEFAULT_GATES if g in options] or [f"hh:{CELLS[cell].gates[0]}"])


def draw(name: str, where=None, typed: bool = False, cell: str = "gru", **overrides):
    """Draw setting `name`'s widget in `where` (default: the page); `overrides` pass on to Streamlit
    (on_change, disabled, a label, max_value for a bound that depends on the model, ...). `typed` draws a slider
    setting as a number box instead, for a value one types rather than steps to. `cell`: the model's, whose gates
    the scope's gate choice offers."""
    s: Setting = SETTINGS[name]
    where = where if where is not None else st
    kw = {"label": s.label, "key": s.widget, "help": s.help or None}
    kind = "number" if typed and s.kind == "slider" else s.kind
    if kind in ("number", "slider"):
        kw.update(min_value=s.to_widget(s.bounds[0]), max_value=s.to_widget(s.bounds[1]),
                  step=s.step if s.type is float and s.scale == 1 else int(s.step))
        if kind == "number" and s.type is float and s.scale == 1:
            kw["format"] = "%.3f"
    elif s.kind in ("select", "select_slider", "radio", "multiselect"):
        kw.update(options=list(s.choices or ()), format_func=s.label_of)
    elif s.kind == "scope":
        kw.update(options=list(SCOPE_CHOICES), format_func=SCOPE_CHOICES.get)
    kw.update(overrides)
    widget = {"number": where.number_input, "slider": where.slider, "select": where.selectbox, "scope": where.selectbox,
              "select_slider": where.select_slider, "checkbox": where.checkbox, "toggle": where.toggle, "radio": where.radio,
              "multiselect": where.multiselect}[kind]
    chosen = widget(**kw)
    if s.kind == "scope" and chosen == "gates":
        _gates_for(cell)
        st.multiselect("Gates to prune", gate_options(cell), key=GATES_KEY, on_change=kw.get("on_change"),
                       help="ih = input-to-hidden, hh = hidden-to-hidden; the gates are the model's own "
                            f"({', '.join(CELLS[cell].gates)}: {CELLS[cell].label}).")
    return chosen


def scope_text() -> str:
    """The scope the widgets describe ('' when 'chosen gates' has none chosen)."""
    choice = ss.get(SETTINGS["scope"].widget, DEFAULTS.scope)
    return ",".join(ss.get(GATES_KEY) or []) if choice == "gates" else choice


def value(name: str, base: LabState = DEFAULTS):
    """Setting `name` as its widget holds it (in the setting's units), or `base`'s when the widget has no value."""
    s = SETTINGS[name]
    if s.kind == "scope":
        return scope_text() or base.scope
    if s.widget is None or s.widget not in ss:
        return getattr(base, name)
    return s.from_widget(ss[s.widget])


def state(base: LabState = DEFAULTS, names=None) -> LabState:
    """`base` with the values of the widgets (all settings, or `names`); a value no widget could show is ignored."""
    names = names if names is not None else [n for n, s in SETTINGS.items() if s.widget]
    return base.updated(**{name: value(name, base) for name in names})


def write(new: LabState, names=None) -> None:
    """Point the widgets of `names` (default: all) at `new`'s values. Only before they are drawn in this run."""
    for name in names if names is not None else SETTINGS:
        s = SETTINGS[name]
        if s.widget is None:
            continue
        v = getattr(new, name)
        if s.kind == "scope":
            set_widget(s.widget, v if v in SCOPE_CHOICES else "gates")
            if v not in SCOPE_CHOICES:
                set_widget(GATES_KEY, v.split(","))
        else:
            set_widget(s.widget, s.to_widget(v))


def put(name: str, value) -> None:
    """Set one setting's widget to `value`, held within the widget's bounds (before it is drawn)."""
    s = SETTINGS[name]
    if s.bounds is not None:
        value = min(max(value, s.bounds[0]), s.bounds[1])
    set_widget(s.widget, s.to_widget(value))


def init_defaults() -> None:
    """Every setting's widget at its default unless it has a value (a session's first run)."""
    for name, s in SETTINGS.items():
        if s.widget and s.widget not in ss:
            write(DEFAULTS, [name])
    if GATES_KEY not in ss:
        set_widget(GATES_KEY, list(DEFAULT_GATES))
