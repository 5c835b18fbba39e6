"""A model loaded into the session instead of trained: the lab's own zip (the Prune page's download, `run_zip`), or a
model trained elsewhere (a safetensors file of one nn.GRU / nn.LSTM / nn.RNN and a head, with its JSON).

The engine reads both defensively (`archive.load_run_zip`: known files only, bounded sizes, checksums, masks;
`store.brought.read_brought`: every key and shape named, non-finite weights refused). A zip must fit the data in
force (`runs.check_fits`); a brought model sets the data's window, horizon and scaling to its own (the series
stays). Any refusal is shown with its reason and the current data and model stay.
"""
from __future__ import annotations

import streamlit as st

import scgru_core as sc
from scgru_core.store.archive import load_run_zip
from scgru_core.store.brought import brought_dataset, read_brought
from scgru_core.store.runs import check_fits
from scgru_core.teach.settings import LabState

from . import results, session, state, widgets



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


def brought_control(page: str = "train") -> None:
    """Two files from elsewhere: the weights (.safetensors) and their description (.json: window, horizon, scaler)."""
    files = st.file_uploader("Or a model trained elsewhere (.safetensors + .json)", type=["safetensors", "json"],
                             accept_multiple_files=True, key="brought_files",
                             help="One nn.GRU, nn.LSTM or nn.RNN and one nn.Linear head, saved with "
                                  "safetensors.torch.save_file(model.state_dict(), ...), and a JSON with its window, "
                                  "horizon and scaler (the model.json the lab's export writes). It is pruned on the "
                                  "series loaded now, read with its own window and scaling.")
    weights = [f for f in files or [] if f.name.lower().endswith(".safetensors")]
    described = [f for f in files or [] if f.name.lower().endswith(".json")]
    if not weights or not described:
        if files:
            st.caption("Add " + ("the weights (.safetensors)" if not weights else "its JSON (window, horizon, scaler)")
                       + " to load it.")
        return
    if len(weights) > 1 or len(described) > 1:
        st.error("Give one .safetensors file and one .json: remove the others.", icon=":material/error:")
        return
    done = (weights[0].file_id, described[0].file_id)
    if session.get().model_zip_done == done:
        return
    session.get().model_zip_done = done
    name = results.literal(weights[0].name)
    try:
        brought = read_brought(weights[0].getvalue(), described[0].getvalue())
        data = brought_dataset(brought, session.get().series, session.get().windows)
    except sc.ScgruError as exc:
        st.error(f"{name} was not loaded: {results.plain(exc)} The current model and data are kept.",
                 icon=":material/error:")
        return
    now = session.get()
    now.windows, now.data = data.config, data
    widgets.write(LabState.from_configs(windows=data.config), state.WINDOW_SETTINGS)
    state.install_model(brought.model, brought.model.config, sc.TrainConfig(), sc.TrainResult(), origin=weights[0].name)
    mc = brought.model.config
    state.say(page, "success", f"Loaded {name}: {sc.CELLS[mc.cell].label.split(' (')[0]}, hidden {mc.hidden} x "
                               f"{mc.layers} layer(s), window {brought.window}, horizon {brought.horizon}, trained "
                               "elsewhere. Every page now works on it.")
    if brought.scaling_note:
        state.say(page, "warning", brought.scaling_note)
    st.rerun()
