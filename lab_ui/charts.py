"""Every chart the app draws goes through `show`: one mode bar, no Streamlit theme, and projector mode (the
"projector" setting: larger text and thicker lines on every chart, for the back row of a classroom)."""
from __future__ import annotations

import streamlit as st

from scgru_core import viz
from scgru_core.viz.style import for_projector

from . import widgets

PROJECTOR_CSS = """<style>
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; }
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] p { font-size: 1.05rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.5rem !important; }
[data-testid="stMetricLabel"] p, [data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  font-size: 1.15rem !important; }
</style>"""
# the metric's value is a markdown paragraph too: its own size is set after the paragraphs', and wins


def projector() -> bool:
    return bool(widgets.value("projector"))


def show(fig, key: str, where=None, **kwargs):
    """Draw `fig` in `where` (default: the page) under `key`; kwargs pass on to st.plotly_chart (on_select,
    selection_mode, ...). In projector mode a scaled copy is drawn: the figure itself may be in a shared cache."""
    where = where if where is not None else st
    return where.plotly_chart(for_projector(fig) if projector() else fig, key=key, config=viz.PLOTLY_CONFIG,
                              theme=None, **kwargs)


def projector_control(where=None) -> None:
    """The projector toggle (the sidebar's), and the larger metrics and text it asks for."""
    widgets.draw("projector", where)
    if projector():
        st.html(PROJECTOR_CSS)
