"""Exports that run anywhere: plain PyTorch weights, a JSON description, a ten-line loader, and ONNX.

An export directory holds
  - `model.safetensors`: exactly the keys of the cell's torch module (`torch.nn.GRU`, `nn.LSTM` or `nn.RNN`
    `(input_size, hidden, layers, batch_first=True).state_dict()`) prefixed with the cell's name (`gru.`, `lstm.`,
    `rnn.`), and of `torch.nn.Linear(hidden, horizon).state_dict()` prefixed `head.`;
  - `model.json`: cell, torch module, input_size, hidden, layers, horizon, window and the scaler (to turn a forecast
    back into the series' units), with the files' SHA-256 digests (an export written before cells were named has
    no cell: it is a GRU);
  - `load_model.py`: the loader below, plain PyTorch + safetensors, no project code;
  - `model.onnx` (optional): the same network through the TorchScript-based exporter (`dynamo=False`: the
    dynamo exporter has written wrong GRU attributes), checked against PyTorch with ONNX Runtime.
ONNX and ONNX Runtime are optional extras (requirements-export.txt); nothing else needs them.
"""
from __future__ import annotations

import hashlib
import io
import json
import pathlib
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from scgru_core.errors import CheckpointError, ConfigError
from scgru_core.net.cells import CELLS, final_hidden
from scgru_core.net.model import Forecaster
from scgru_core.data.windows import Scaler

FORMAT = "scgru-plain/1"
WEIGHTS, DESCRIPTION, LOADER_FILE, ONNX_FILE = "model.safetensors", "model.json", "load_model.py", "model.onnx"
ONNX_MISSING = ("ONNX export needs the optional packages onnx and onnxruntime: "
                "pip install -r requirements-export.txt")

LOADER = '''\
import json, torch
from safetensors.torch import load_file

cfg, state = json.load(open("model.json")), load_file("model.safetensors")
cell = cfg.get("cell", "gru")  # torch.nn.GRU, LSTM or RNN, keys prefixed "gru.", "lstm." or "rnn."
rnn = getattr(torch.nn, cfg.get("module", "GRU"))(cfg["input_size"], cfg["hidden"], cfg["layers"], batch_first=True)
head = torch.nn.Linear(cfg["hidden"], cfg["horizon"])
rnn.load_state_dict({k[len(cell) + 1:]: v for k, v in state.items() if k.startswith(cell + ".")})
head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})

def forecast(last_values):  # the last cfg["window"] values of the series, in its units
    s, x = cfg["scaler"], torch.tensor(last_values, dtype=torch.float64)
    x = ((x.log() if s["log"] else x) - s["offset"]) / s["scale"]
    _, h = rnn(x.float().view(1, -1, 1))
    h = h[0] if isinstance(h, tuple) else h  # an LSTM returns (h, c)
    y = head(h[-1]).double() * s["scale"] + s["offset"]
    return (y.exp() if s["log"] else y).detach().numpy().ravel()
'''


class PlainForecaster(nn.Module):
    """What an export holds: the cell's torch module under the cell's name (`gru`, `lstm`, `rnn`), `nn.Linear` as
    `head`. Input (B, T, input_size), scaled."""

    def __init__(self, input_size: int, hidden: int, layers: int, horizon: int, cell: str = "gru"):
        super().__init__()
        spec = CELLS.require(cell)
        spec.require_plain("A plain PyTorch export")
        self.cell = cell
        self.add_module(cell, spec.module(input_size, hidden, layers, batch_first=True))
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = getattr(self, self.cell)(x)
        return self.head(final_hidden(state)[-1])


def plain_model(model: Forecaster) -> PlainForecaster:
    """The forecaster as plain PyTorch modules (a GRU, LSTM or RNN; the gate variants have the lab's own equations)."""
    cell = model.config.cell
    plain = PlainForecaster(model.input_size, model.config.hidden, model.config.layers, model.horizon, cell)
    plain.load_state_dict({(cell + "." + k[4:] if k.startswith("rnn.") else k): v.detach().clone()
                           for k, v in model.state_dict().items()}, strict=True)
    return plain.eval()


def plain_state(model: Forecaster) -> dict[str, torch.Tensor]:
    return {k: v.contiguous() for k, v in plain_model(model).state_dict().items()}


def weights_bytes(model: Forecaster) -> bytes:
    """`model.safetensors` as bytes."""
    return st_save(plain_state(model))


def onnx_available() -> bool:
    """Whether the optional export extras (onnx to write, onnxruntime to check and run) are installed."""
    import importlib.util
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def require_onnx() -> None:
    if not onnx_available():
        raise ConfigError(ONNX_MISSING)


def onnx_bytes(model: Forecaster, window: int) -> bytes:
    """The model as ONNX (TorchScript-based exporter, opset 17, batch dimension dynamic)."""
    require_onnx()
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the legacy exporter's deprecation and batch-size notes: checked in the tests
        warnings.simplefilter("ignore")
        torch.onnx.export(plain_model(model), (torch.zeros(1, window, model.input_size),), buf, dynamo=False,
                          input_names=["window"], output_names=["forecast"], opset_version=17,
                          dynamic_axes={"window": {0: "batch"}, "forecast": {0: "batch"}})
    return buf.getvalue()


def onnx_session(raw: bytes, threads: int = 1):
    """An ONNX Runtime session on one CPU thread pool of `threads` (ConfigError if ONNX Runtime is missing)."""
    require_onnx()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = max(1, threads)
    return ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])


def onnx_forecast(session, X: torch.Tensor) -> torch.Tensor:
    """Windows (B, T) in scaled units -> forecasts (B, horizon), like `Forecaster.forward`."""
    x = X.detach().numpy().astype(np.float32).reshape(X.shape[0], X.shape[1], 1)
    return torch.from_numpy(session.run(["forecast"], {"window": x})[0])


def description(model: Forecaster, window: int, scaler: Scaler | None, files: dict[str, bytes]) -> dict:
    return {"format": FORMAT, "cell": model.config.cell, "module": CELLS[model.config.cell].module.__name__,
            "input_size": model.input_size, "hidden": model.config.hidden,
            "layers": model.config.layers, "horizon": model.horizon, "window": window,
            "scaler": {"log": scaler.log, "offset": scaler.offset, "scale": scaler.scale} if scaler else
            {"log": False, "offset": 0.0, "scale": 1.0},
            "input": "(batch, window, 1) float32, scaled: ((log x if log else x) - offset) / scale",
            "sha256": {name: hashlib.sha256(raw).hexdigest() for name, raw in files.items()}}


def export_files(model: Forecaster, window: int, scaler: Scaler | None, onnx: bool = False) -> dict[str, bytes]:
    """Every file of an export, by name (what `export_model` writes and the app zips)."""
    files = {WEIGHTS: weights_bytes(model)}
    if onnx:
        files[ONNX_FILE] = onnx_bytes(model, window)
    files[DESCRIPTION] = json.dumps(description(model, window, scaler, files), indent=2).encode()
    files[LOADER_FILE] = LOADER.encode()
    return files


def export_model(directory: str | pathlib.Path, model: Forecaster, window: int, scaler: Scaler | None,
           onnx: bool = False) -> dict[str, pathlib.Path]:
    """Write an export directory; returns each file's path."""
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, raw in export_files(model, window, scaler, onnx).items():
        (out / name).write_bytes(raw)
        paths[name] = out / name
    return paths


def export_zip(model: Forecaster, window: int, scaler: Scaler | None, onnx: bool = False) -> bytes:
    """The export directory as one zip (the app's download)."""
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in export_files(model, window, scaler, onnx).items():
            zf.writestr(name, raw)
    return buf.getvalue()


@dataclass
class LoadedExport:
    model: PlainForecaster
    description: dict


def load_export(directory: str | pathlib.Path) -> LoadedExport:
    """Read an export back, refusing one whose files were altered or do not fit its description."""
    d = pathlib.Path(directory)
    try:
        desc = json.loads((d / DESCRIPTION).read_text())
        raw = (d / WEIGHTS).read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"{pathlib.Path(exc.filename).name} is missing from {d}: export the model again.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{DESCRIPTION} in {d} is not valid JSON: export the model again.") from None
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise CheckpointError(f"{d} is not an SCGRU plain export (format {FORMAT} expected).")
    if hashlib.sha256(raw).hexdigest() != desc.get("sha256", {}).get(WEIGHTS):
        raise CheckpointError(f"{WEIGHTS} does not match the checksum in {DESCRIPTION}: it was modified.")
    try:
        plain = PlainForecaster(int(desc["input_size"]), int(desc["hidden"]), int(desc["layers"]), int(desc["horizon"]),
                                str(desc.get("cell", "gru")))
        plain.load_state_dict(st_load(raw), strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError, ConfigError) as exc:
        raise CheckpointError(f"The weights do not fit the description in {DESCRIPTION} ({exc}).") from None
    return LoadedExport(model=plain.eval(), description=desc)
