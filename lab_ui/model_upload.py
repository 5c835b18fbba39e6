"""A model zip saved by the app (the Prune page's download) or made by `run_zip`, loaded back into the session.

The engine reads it defensively (`archive.load_run_zip`: known files only, bounded sizes, checksums, masks)
and checks it fits the data in force (`runs.check_fits`); any refusal is shown with its reason and the current
model stays.
"""
from __future__ import annotations

import streamlit as st

import scgru_core as sc
from scgru_core.store.archive import load_run_zip
from scgru_core.store.runs import check_fits

from . import results, session, state



def upload_control(page: str = "train") -> None:
    file = st.file_uploader("Load a saved model (.zip)", type=["zip"], key="model_zip",
                            help="The pruned model zip the Prune page downloads: loaded back with its weights and "
                                 "masks, if it was made for the data loaded now. A changed or foreign file is refused.")
    if file is None or session.get().model_zip_done == file.file_id:
        return
    session.get().model_zip_done = file.file_id
    name = results.literal(file.name)  # a file name is the visitor's text: shown, never rendered
    try:
        saved = load_run_zip(file.getvalue())
        check_fits(saved, session.get().data)
        train = sc.TrainConfig(**(saved.config.get("train") or {}))
    except (sc.ScgruError, TypeError) as exc:
        # the reason can quote the file's own contents (a member's name): shown literally as well
        st.error(f"{name} was not loaded: {results.plain(exc)} The current model is kept.",
                 icon=":material/error:")
        return
    state.install_model(saved.model, saved.model.config, train, sc.TrainResult(), origin=file.name)
    zeros = sum(int((~m).sum()) for m in saved.masks.values())
    state.say(page, "success", f"Loaded {name}: {saved.model.config.cell.upper()}, hidden {saved.model.config.hidden}"
                               + (f", {zeros:,} weights pruned" if zeros else "") + ".")
    st.rerun()
