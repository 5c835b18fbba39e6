"""Under every chart: how to read it (a caption) and its maths; and "Show code", the Python of the state on screen."""
from __future__ import annotations

import dataclasses

import streamlit as st

import scgru_core as sc
from scgru_core.teach import reproduce
from scgru_core.teach import maths
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.settings import LabState

from . import lab_state, session



def explain(kind: str, caption: bool = True) -> None:
    """Under a chart: a one-line caption on how to read it, and its maths in an expander."""
    if caption:
        st.caption(maths.CAPTIONS[kind])
    with st.expander("The maths", icon=":material/function:"):
        st.latex(maths.MATHS[kind])


def show_code(current: LabState | None = None) -> None:
    """The Python that reproduces this state, with the scgru_core API and with torch.nn.utils.prune."""
    with st.expander("Show code: reproduce this state in Python", icon=":material/code:", key="show_code",
                     on_change="rerun") as box:
        if not box.open:  # written only when opened: the code changes on every slider move, and nobody reads it shut
            return
        current = current or lab_state.of_session()
        upload = None
        if current.sample not in SAMPLES:  # an uploaded file: the code reads it, with the settings in force
            now = session.get()
            upload = ((now.source or {}).get("filename", "your_file.csv"), now.read or sc.ReadConfig())
            current = dataclasses.replace(current, sample=DEFAULT_SAMPLE)
        api, torch_tab = st.tabs(["scgru_core", "torch.nn.utils.prune"])
        api.code(reproduce.python_code(current, upload), language="python")
        torch_tab.caption("Continues the code on the first tab (it needs `model` and `data`).")
        torch_tab.code(reproduce.prune_code(current), language="python")
