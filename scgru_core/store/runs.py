"""Save and load a run directory: config JSON, weights and masks (safetensors), metrics JSON.

Loading rebuilds the model from the config, checks every tensor's name and shape, the
files' SHA-256 digests recorded at save time (weights, masks, metrics and the config's own
model, scaler and settings), and that pruned weights are exactly zero;
anything else is refused with a CheckpointError that says what is wrong.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from scgru_core.errors import CheckpointError, ConfigError
from scgru_core.net.model import Forecaster, ModelConfig, build_model
from scgru_core.net.masks import MaskSet, masked_state
from scgru_core.data.windows import Scaler

FORMAT = "scgru-run/1"
CONFIG, WEIGHTS, MASKS, METRICS = "config.json", "weights.safetensors", "masks.safetensors", "metrics.json"


@dataclass
class SavedRun:
    model: Forecaster
    masks: MaskSet
    config: dict
    metrics: dict
    scaler: Scaler | None


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def file_sha256(path: str | pathlib.Path) -> str:
    """SHA-256 of a file's bytes (runs and checkpoints record their data file's, to refuse another one)."""
    return _digest(pathlib.Path(path).read_bytes())


def _header_digest(header: dict) -> str:
    """Digest of what the config file says about the model, scaler and settings (canonical JSON)."""
    body = {k: header.get(k) for k in ("model", "scaler", "settings")}
    return _digest(json.dumps(body, sort_keys=True, default=str).encode())


def run_bytes(model: Forecaster, masks: MaskSet | None) -> tuple[bytes, bytes]:
    """The weights and masks files as bytes (the masked weights are what is stored)."""
    masks = masks or {}
    return st_save(masked_state(model, masks)), st_save({k: v.to(torch.uint8).contiguous() for k, v in masks.items()})


def save_run(directory: str | pathlib.Path, model: Forecaster, masks: MaskSet | None = None,
             config: dict | None = None, metrics: dict | None = None, scaler: Scaler | None = None) -> pathlib.Path:
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    weights, mask_bytes = run_bytes(model, masks)
    metrics_bytes = json.dumps(metrics or {}, indent=2, default=str).encode()
    header = {"format": FORMAT, "model": {"hidden": model.config.hidden, "layers": model.config.layers,
                                          "cell": model.config.cell, "horizon": model.horizon},
              "scaler": scaler.__dict__ if scaler else None, "settings": config or {},
              "sha256": {WEIGHTS: _digest(weights), MASKS: _digest(mask_bytes), METRICS: _digest(metrics_bytes)}}
    header = json.loads(json.dumps(header, default=str))  # the digest is of what will be read back
    header["sha256"][CONFIG] = _header_digest(header)
    (out / WEIGHTS).write_bytes(weights)
    (out / MASKS).write_bytes(mask_bytes)
    (out / CONFIG).write_text(json.dumps(header, indent=2, default=str))
    (out / METRICS).write_bytes(metrics_bytes)
    return out


def _read(path: pathlib.Path) -> bytes:
    if not path.is_file():
        raise CheckpointError(f"{path.name} is missing from {path.parent}. Save the run again.")
    return path.read_bytes()


def load_run(directory: str | pathlib.Path) -> SavedRun:
    d = pathlib.Path(directory)
    try:
        header = json.loads(_read(d / CONFIG))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{CONFIG} is not valid JSON ({exc.msg}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        header = header if isinstance(header, dict) else {}
        raise CheckpointError(f"{d} is not a saved SCGRU run (format {header.get('format')!r}, expected {FORMAT}).")
    if _header_digest(header) != header.get("sha256", {}).get(CONFIG):
        raise CheckpointError(f"{CONFIG} does not match the checksum recorded when the run was saved: "
                              "its model, scaler or settings were edited.")
    weights, mask_bytes = _read(d / WEIGHTS), _read(d / MASKS)
    for name, raw in ((WEIGHTS, weights), (MASKS, mask_bytes)):
        if _digest(raw) != header.get("sha256", {}).get(name):
            raise CheckpointError(f"{name} does not match the checksum recorded when the run was saved: "
                                  "it was modified or belongs to another run.")
    try:
        spec = header["model"]
        model = build_model(ModelConfig(spec["hidden"], spec["layers"], spec["cell"]), horizon=spec["horizon"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{CONFIG} does not describe a valid model ({exc}).") from None
    try:
        state, mask_state = st_load(weights), st_load(mask_bytes)
    except SafetensorError as exc:
        raise CheckpointError(f"The weights could not be read ({exc}).") from None
    masks = validate_state(model, state, mask_state)
    model.load_state_dict(state, strict=True)
    metrics = {}
    recorded = header.get("sha256", {}).get(METRICS)  # runs saved before metrics were covered have none
    if recorded is not None or (d / METRICS).is_file():
        raw = _read(d / METRICS)
        if recorded is not None and _digest(raw) != recorded:
            raise CheckpointError(f"{METRICS} does not match the checksum recorded when the run was saved: "
                                  "its metrics or training history were edited.")
        try:
            metrics = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{METRICS} is not valid JSON ({exc.msg}). Save the run again.") from None
    try:
        scaler = Scaler(**header["scaler"]) if header.get("scaler") else None
    except TypeError:
        raise CheckpointError(f"The scaler in {CONFIG} is not valid ({header['scaler']!r}). Save the run again.") from None
    return SavedRun(model=model.eval(), masks=masks, config=header.get("settings", {}), metrics=metrics, scaler=scaler)


def validate_state(model: Forecaster, state: dict, mask_state: dict) -> MaskSet:
    """Check names, shapes and that pruned weights are zero; return the masks as bool tensors."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected.keys() != got.keys():
        missing, extra = expected.keys() - got.keys(), got.keys() - expected.keys()
        raise CheckpointError(f"The weights do not fit the model in the config (missing {sorted(missing)}, "
                              f"unexpected {sorted(extra)}).")
    for k, shape in expected.items():
        if got[k] != shape:
            raise CheckpointError(f"Weight {k} has shape {got[k]} but the config's model needs {shape}.")
    masks = {}
    for k, m in mask_state.items():
        if k not in expected or tuple(m.shape) != expected[k]:
            raise CheckpointError(f"Mask {k} does not fit the model (shape {tuple(m.shape)}).")
        masks[k] = m.bool()
        if bool((state[k][~masks[k]] != 0).any()):
            raise CheckpointError(f"Weight {k} has non-zero values where its mask prunes them: the file was altered.")
    return masks


def check_fits(saved: SavedRun, data) -> None:
    """Refuse a saved run made for other data: its window, horizon or scaling differ from `data`'s (a Dataset),
    so its forecasts would be read on the wrong scale or from the wrong inputs."""
    windows = (saved.config or {}).get("windows") or {}
    want = (windows.get("window"), saved.model.horizon)
    have = (data.window, data.horizon)
    if want != have:
        raise CheckpointError(f"This model reads windows of {want[0]} values and forecasts {want[1]} ahead; the data "
                              f"loaded now is set up for {have[0]} and {have[1]}. Set the window and horizon on the "
                              "Data page to match, or load the data it was trained on.")
    if saved.scaler is not None and saved.scaler != data.scaler:
        raise CheckpointError("This model was trained on other data: its scaling (offset "
                              f"{saved.scaler.offset:.6g}, scale {saved.scaler.scale:.6g}) is not this data's "
                              f"({data.scaler.offset:.6g}, {data.scaler.scale:.6g}). Load the data it was trained on "
                              "first.")
