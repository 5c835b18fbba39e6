"""Widget values that survive pages, closed tabs and fragment runs.

Streamlit drops the state of a widget a run (or a fragment run) does not draw, and then answers for its key with
the value a script last wrote there, however the person changed it since (seen in Chromium: epochs typed on Train
came back as the default after visiting Prune; the Data form's window after one slider move). So the last value
of each widget is kept in the session object, and given back at the start of every full run; a value
that differs from the one last written there is a change the person made.
"""
from __future__ import annotations

import streamlit as st

from . import session


def restore_widgets(keys) -> None:
    """At the start of a full run: every widget at the value it last had, wherever it was drawn.

    Not in fragment runs: a write makes the browser take the server's value, and key presses made on the
    fragment's widgets while it ran were lost."""
    ss, kept, written = st.session_state, _kept(), _written()
    for key in keys:
        if key in ss and (key not in written or ss[key] != written[key]):
            kept[key] = ss[key]  # changed in the browser since the last write (or never written here)
        if key in kept:
            _write(key, kept[key])


def remember_widgets(keys) -> None:
    """At the end of a run (of a fragment run: its own widgets only), the values its widgets ended with."""
    ss, kept = st.session_state, _kept()
    for key in keys:
        if key in ss:
            kept[key] = ss[key]


def set_widget(key: str, value) -> None:
    """A widget's value, set by the app (before the widget is drawn in this run)."""
    _kept()[key] = value
    _write(key, value)


def default(key: str, value) -> None:
    """A widget's first value, unless it has one."""
    if key not in st.session_state:
        set_widget(key, value)


def _write(key: str, value) -> None:
    """Delete, then set: a write to a widget drawn in this run reaches only that widget and leaves whatever was
    written before answering for the key once the widget is dropped; after a delete, this value answers."""
    ss = st.session_state
    if key in ss:
        del ss[key]
    ss[key] = _written()[key] = value


def forget(keys) -> None:
    """These widgets back to their defaults (as in a fresh session)."""
    ss, kept, written = st.session_state, _kept(), _written()
    for key in keys:
        kept.pop(key, None)
        written.pop(key, None)
        if key in ss:
            del ss[key]


def _kept() -> dict:
    return session.get().widget_values


def _written() -> dict:
    return session.get().widget_written
