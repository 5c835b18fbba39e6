"""Replay a training: the histograms of a weight matrix at every epoch of the model on screen's training, scrubbed
with a slider or played (as GAN Lab steps through training). The weights come from TrainResult.replay, which a
training keeps (float16, at most REPLAY_BYTES) and the default model's checkpoint ships.

Like Play, while it plays the epoch is shown as a bar, not as its slider: a slider the server writes every frame
races the browser's copy of it (lab_ui/play.py)."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import scgru_core as sc
from scgru_core import viz
from scgru_core.net.model import gate_blocks

from . import charts, memory, play, session, widgets
from . import prune_view as pv

FRAME_S = 0.7  # an epoch every 0.7 s: 15 epochs in about 10 s
EPOCH_KEY = "replay_epoch"


@dataclass
class Replaying:
    version: int  # the model it replays (another model stops it)
    epoch: int
    direction: int = 1


def _now(version: int) -> Replaying | None:
    r = session.get().replaying
    return r if r is not None and r.version == version else None


def section(current: sc.PruningLab, training: sc.TrainResult, key: str = "replay") -> None:
    """The replay of `training` (the model on screen's), or a line on why there is none."""
    epochs = training.replay
    if not epochs:
        st.caption("No replay of this training: a model loaded from a file brings none, and a training keeps its "
                   f"weights per epoch only while they fit {sc.net.train.REPLAY_BYTES / 1e6:.0f} MB.")
        return
    version = session.get().version
    playing = _now(version)
    names = [n for n in sc.weight_names(current.model) if n in epochs[0]]
    name = widgets.value("matrix") if widgets.value("matrix") in names else pv.default_matrix(current.model)
    c1, c2 = st.columns([1, 4], vertical_alignment="center")
    if play.play_pause(c1, f"{key}_play", playing is not None,
                       f"Plays the epochs from here to the last and back, one every {FRAME_S:g} s."):
        at = min(int(st.session_state.get(EPOCH_KEY, len(epochs) - 1)), len(epochs) - 1)
        session.get().replaying = None if playing else Replaying(version, 0 if at >= len(epochs) - 1 else at)
        st.rerun()
    c2.caption(f"{pv.matrix_label(name)}, the matrix chosen on the Prune page; 0 is the weights the training "
               "started from.")
    st.fragment(_frame, run_every=FRAME_S if playing else None)(current, training, key, name)


def _frame(current: sc.PruningLab, training: sc.TrainResult, key: str, name: str) -> None:
    epochs, version = training.replay, session.get().version
    last = len(epochs) - 1
    playing = _now(version)
    if playing is not None and not st.session_state.get(f"{key}_play"):
        playing.epoch, playing.direction = (int(v) for v in play.next_value(playing.epoch, playing.direction, 1, last))
        memory.set_widget(EPOCH_KEY, playing.epoch)  # where Pause gives the slider back
    if playing is not None:
        st.progress(playing.epoch / last if last else 1.0,
                    text=f"Epoch **{playing.epoch}** of {last} {'▲' if playing.direction > 0 else '▼'} (playing)")
        epoch = playing.epoch
    else:
        memory.default(EPOCH_KEY, last)
        if not 0 <= st.session_state[EPOCH_KEY] <= last:  # another model's replay was longer
            memory.set_widget(EPOCH_KEY, last)
        epoch = st.slider("Epoch", 0, last, key=EPOCH_KEY, help="0: the weights the training started from.")
    history = training.history
    loss = f" · validation loss {history[epoch - 1].val_loss:.4g}" if 0 < epoch <= len(history) else \
        " · the weights it started from" if epoch == 0 else ""
    if epoch and epoch == training.best_epoch:
        loss += " · the best: the model on screen"
    fig = viz.replay_figure(epochs, name, gate_blocks(current.model, name), epoch,
                            titles={g: pv.gate_label(g) for g in gate_blocks(current.model, name)},
                            title=f"{pv.matrix_label(name)} at epoch {epoch} of {last}{loss}")
    charts.show(fig, key=f"{key}_hist")
