"""Trained dense models shipped for the samples, so a lesson starts without waiting for training.

`checkpoints/<sample>/` is an ordinary run directory (`scgru_core.store.runs.save_run`) written by
`scripts/make_checkpoints.py` for the default setup of that sample (the engine's default model and
training settings, the sample's window, seed 0, one CPU thread): the model every fresh session of the app
starts with. The same setup on another cell is `checkpoints/<sample>-<cell>/` (the default sample has one per
cell, so a class can switch from a GRU to an LSTM without waiting). Its
config records how the data was prepared; loading rebuilds the dataset from the shipped CSV
and refuses the checkpoint (CheckpointError) unless the file, the split, the scaler and the
windows are exactly what they were at training time, so a change to the data preparation can
never pair old weights with new data silently.

    ckpt = load_checkpoint("power_load")          # model, data, training history, metrics, setup
    if matches("power_load", setup): model, data = ckpt.model, ckpt.data     # else train from scratch
"""
from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from typing import NamedTuple

import torch

from scgru_core.data.reading import READ_LIMITS, ReadConfig, load_series
from scgru_core.errors import CheckpointError, ScgruError
from scgru_core.store.runs import file_sha256, load_run
from scgru_core.net.model import Forecaster, ModelConfig, weight_names
from scgru_core.data.samples import SAMPLES
from scgru_core.net.train import EpochLog, TrainConfig, TrainResult
from scgru_core.data.windows import Dataset, WindowConfig, data_fingerprint, prepare

# SCGRU_CHECKPOINT_DIR points elsewhere (an empty folder: no shipped models, everything is trained)
CHECKPOINT_DIR = pathlib.Path(os.environ.get("SCGRU_CHECKPOINT_DIR")
                              or pathlib.Path(__file__).resolve().parents[2] / "checkpoints")
KIND = "scgru-lab-checkpoint/1"


class Setup(NamedTuple):
    """What a dense model's weights depend on, besides the data file: equal setups train equal models."""
    windows: WindowConfig
    model: ModelConfig
    train: TrainConfig


class Checkpoint(NamedTuple):
    model: Forecaster  # the trained dense model, eval mode
    data: Dataset  # rebuilt from the shipped sample and checked against the checkpoint
    training: TrainResult  # the training history (epoch times: the mean measured when the checkpoint was made)
    metrics: dict  # as recorded by the script: dense and naive test metrics, final losses
    setup: Setup  # the settings it was trained with


def default_setup(sample: str, cell: str = "gru") -> Setup:
    """The setup a shipped checkpoint is trained for: the engine's defaults with the sample's window (and `cell`)."""
    return Setup(WindowConfig(window=SAMPLES[sample].window), ModelConfig(cell=cell), TrainConfig())


def checkpoint_dir(sample: str, cell: str = "gru") -> pathlib.Path:
    """Where the shipped model of `sample` on `cell` lives: checkpoints/<sample>/ for the GRU, else <sample>-<cell>/."""
    return CHECKPOINT_DIR / (sample if cell == "gru" else f"{sample}-{cell}")


def matches(sample: str, setup: Setup) -> bool:
    """True when `setup` on `sample` gives a shipped model (same data, model and training settings, any cell shipped)."""
    cell = setup.model.cell
    return (sample in SAMPLES and tuple(setup) == tuple(default_setup(sample, cell))
            and (checkpoint_dir(sample, cell) / "config.json").is_file())


def settings_for(sample: str, setup: Setup, data: Dataset) -> dict:
    """What the checkpoint's config records about how its data and model were made."""
    entry = SAMPLES[sample]
    return {"kind": KIND, "sample": sample, "file": entry.filename, "file_sha256": file_sha256(entry.path),
            "read": dataclasses.asdict(ReadConfig()), "windows": dataclasses.asdict(setup.windows),
            "model": dataclasses.asdict(setup.model), "train": dataclasses.asdict(setup.train),
            "values": len(data.series), "data_fingerprint": data_fingerprint(data), "torch_threads": 1}


def load_checkpoint(sample: str, directory: str | pathlib.Path | None = None, cell: str = "gru") -> Checkpoint:
    """Load a sample's shipped checkpoint (on `cell`) and the dataset it was trained on (rebuilt and checked)."""
    if sample not in SAMPLES:
        raise CheckpointError(f"There is no sample {sample!r}; shipped samples: {', '.join(SAMPLES)}.")
    d = pathlib.Path(directory) if directory is not None else checkpoint_dir(sample, cell)
    if not d.is_dir():
        raise CheckpointError(f"No checkpoint for {sample} ({cell.upper()}) in {d}. Run scripts/make_checkpoints.py.")
    saved = load_run(d)
    cfg = saved.config
    setup = default_setup(sample, cell)
    if cfg.get("kind") != KIND or cfg.get("sample") != sample:
        raise CheckpointError(f"{d} is not the lab checkpoint of {sample}.")
    for part, current in (("windows", setup.windows), ("model", setup.model), ("train", setup.train),
                          ("read", ReadConfig())):
        if _recorded(type(current), cfg.get(part)) != _jsonable(_settings(current)):
            raise CheckpointError(f"The {sample} checkpoint was trained with other {part} settings "
                                  f"({cfg.get(part)}) than the lab's defaults ({dataclasses.asdict(current)}). "
                                  "Run scripts/make_checkpoints.py again.")
    path = SAMPLES[sample].path
    if cfg.get("file_sha256") != file_sha256(path):
        raise CheckpointError(f"{path.name} changed since the {sample} checkpoint was made. "
                              "Run scripts/make_checkpoints.py again.")
    series = load_series(path, ReadConfig(**cfg["read"]))
    data = prepare(series, WindowConfig(**cfg["windows"]))
    if cfg.get("data_fingerprint") != data_fingerprint(data):
        raise CheckpointError(f"The data preparation changed since the {sample} checkpoint was made (split, "
                              "scaling or windows differ). Run scripts/make_checkpoints.py again.")
    if saved.scaler is not None and not (math.isclose(saved.scaler.offset, data.scaler.offset, rel_tol=1e-12)
                                         and math.isclose(saved.scaler.scale, data.scaler.scale, rel_tol=1e-12)):
        raise CheckpointError(f"The {sample} checkpoint's scaler does not match the data. "
                              "Run scripts/make_checkpoints.py again.")
    training = dataclasses.replace(_training(saved.metrics.get("training", {})), replay=load_replay(d, saved.model))
    return Checkpoint(model=saved.model.eval(), data=data, training=training, metrics=saved.metrics, setup=setup)


REPLAY_FILE = "replay.safetensors"  # the weights at every epoch of the checkpoint's training (float16), if shipped


def save_replay(directory: str | pathlib.Path, result: TrainResult) -> pathlib.Path | None:
    """The training's weights per epoch beside a checkpoint (the lesson replays them), if it kept them."""
    if not result.replay:
        return None
    from safetensors.torch import save_file

    path = pathlib.Path(directory) / REPLAY_FILE
    save_file({f"{epoch}/{name}": torch.from_numpy(w) for epoch, weights in enumerate(result.replay)
               for name, w in weights.items()}, str(path))
    return path


def load_replay(directory: str | pathlib.Path, model: Forecaster) -> list:
    """The weights per epoch shipped beside a checkpoint ([] when none are), each epoch's matrices of `model`'s
    shapes; a file that does not fit the model is refused."""
    path = pathlib.Path(directory) / REPLAY_FILE
    if not path.is_file():
        return []
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        flat = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} cannot be read ({exc}). Run scripts/make_checkpoints.py again.") from exc
    params = dict(model.named_parameters())
    shapes = {n: tuple(params[n].shape) for n in weight_names(model, include_head=True)}
    epochs: dict[int, dict] = {}
    for key, w in flat.items():
        epoch, _, name = key.partition("/")
        if not epoch.isdigit() or shapes.get(name) != w.shape:
            raise CheckpointError(f"{path} holds {key} of shape {w.shape}, which the checkpoint's model does not "
                                  "have. Run scripts/make_checkpoints.py again.")
        epochs.setdefault(int(epoch), {})[name] = w
    if sorted(epochs) != list(range(len(epochs))) or any(set(e) != set(shapes) for e in epochs.values()):
        raise CheckpointError(f"{path} lacks some epoch's weights. Run scripts/make_checkpoints.py again.")
    return [epochs[i] for i in range(len(epochs))]


def _settings(config) -> dict:
    """What in a config makes the model: every field, but the size limits a read refuses files by (a cap changed
    in units is no reason to retrain)."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in READ_LIMITS}


def _recorded(cls, saved) -> dict | None:
    """A saved settings dict as the current dataclass reads it: a field added since (such as TrainConfig.precision)
    takes its default, which is what the run was made with. None when it does not fit the dataclass at all."""
    try:
        return _jsonable(_settings(cls(**saved)))
    except (TypeError, ValueError, ScgruError):
        return None


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _training(record: dict) -> TrainResult:
    per_epoch = float(record.get("seconds_per_epoch", 0.0))
    history = [EpochLog(epoch=h["epoch"], epochs=h["epochs"], train_loss=h["train_loss"], val_loss=h["val_loss"],
                        seconds=per_epoch) for h in record.get("history", [])]
    return TrainResult(history=history, best_epoch=record.get("best_epoch", 0),
                       stopped_early=record.get("stopped_early", False), samples=record.get("samples", 0),
                       seconds=per_epoch * len(history))


def training_record(result: TrainResult) -> dict:
    """The history as stored: losses per epoch, and one mean epoch time (of the machine that made it)."""
    per_epoch = round(result.seconds / len(result.history), 2) if result.history else 0.0
    return {"history": [{"epoch": h.epoch, "epochs": h.epochs, "train_loss": h.train_loss, "val_loss": h.val_loss}
                        for h in result.history],
            "best_epoch": result.best_epoch, "stopped_early": result.stopped_early, "samples": result.samples,
            "seconds_per_epoch": per_epoch}


REPRODUCE_ATOL = 2e-5
"""How far retrained weights may be from shipped ones. On one CPU, the same seed, data and one thread give
the same numbers; across CPUs the kernels sum in another order (AVX2 against AVX-512/AMX): 3.9e-6 apart
after training airline, with test metrics equal to 4e-8 relative."""


def weights_equal(a: Forecaster, b: Forecaster, atol: float = 0.0) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.allclose(sa[k], sb[k], rtol=0, atol=atol) for k in sa)
