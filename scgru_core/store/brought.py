"""A forecaster trained elsewhere, brought into the lab: a safetensors file holding the keys of one `nn.GRU`,
`nn.LSTM` or `nn.RNN` (batch_first or not: the weights are the same) and one `nn.Linear` head, and a small JSON
(window, horizon, input scaling): the same `model.json` the lab's export writes, so an exported model round-trips.

Everything is checked before the model is built: every missing, extra or misshapen key is named with the shape
expected, non-finite weights are refused, and the JSON's numbers are checked. What the JSON leaves out is read
from the weights (cell from the rows per unit, hidden size, layers, horizon); what it says must agree with them.
A JSON without a scaler means the model reads the series' values as they are: it is evaluated that way, never
rescaled behind its back (`BroughtModel.scaling_note`).

    brought = read_brought(open("model.safetensors", "rb").read(), open("model.json", "rb").read())
    data = brought_dataset(brought, series)     # windows and scaling as the model needs them
"""
from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass, replace

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from scgru_core.data.reading import Series
from scgru_core.data.windows import Dataset, Scaler, SeriesTooShortError, WindowConfig, largest_window, prepare
from scgru_core.deploy.export import PlainForecaster
from scgru_core.errors import CheckpointError, ScgruError
from scgru_core.net.cells import CELLS
from scgru_core.net.model import Forecaster, ModelConfig

MAX_WEIGHTS_BYTES = 64 * 2 ** 20  # a forecaster the lab can prune live is far smaller (hidden 1024 x 3 layers LSTM: 34 MB)
MAX_JSON_BYTES = 64 * 2 ** 10
IDENTITY = Scaler(log=False, offset=0.0, scale=1.0)


@dataclass(frozen=True)
class BroughtModel:
    model: Forecaster  # the lab's forecaster holding the brought weights, eval mode
    window: int
    horizon: int
    scaler: Scaler | None  # None: the JSON gives no scaling, the values are fed as they are
    description: dict  # the JSON as read
    keys: dict  # the file's prefixes: {"rnn": "lstm.", "head": "fc."}

    @property
    def scaling_note(self) -> str | None:
        """What the user must know when the JSON gives no scaling, else None."""
        if self.scaler is not None:
            return None
        return ("The model's JSON gives no scaler, so the model reads the series' values as they are (no scaling); "
                "add \"scaler\": {\"log\": false, \"offset\": ..., \"scale\": ...} if it was trained on scaled values.")

    def windows(self, base: WindowConfig | None = None) -> WindowConfig:
        """`base`'s split (validation and test shares) with the model's window, horizon and log."""
        return replace(base or WindowConfig(), window=self.window, horizon=self.horizon,
                       log=bool(self.scaler and self.scaler.log))


def _description(raw: bytes | str | dict) -> dict:
    if isinstance(raw, dict):
        return raw
    if len(raw) > MAX_JSON_BYTES:
        raise CheckpointError(f"The model's JSON is {len(raw):,} bytes; a description is a few hundred "
                              f"(at most {MAX_JSON_BYTES:,}).")
    try:
        desc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"The model's JSON is not valid JSON ({exc}).") from None
    if not isinstance(desc, dict):
        raise CheckpointError("The model's JSON must be an object such as {\"window\": 48, \"horizon\": 1}.")
    return desc


def _integer(desc: dict, key: str, low: int, default: int | None = None) -> int:
    value = desc.get(key, default)
    if value is None:
        raise CheckpointError(f"The model's JSON has no \"{key}\": say how many values the model reads "
                              f"(e.g. \"{key}\": 48).")
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CheckpointError(f"\"{key}\" in the model's JSON must be a whole number of at least {low}, not {value!r}.")
    return value


def _scaler(desc: dict) -> Scaler | None:
    s = desc.get("scaler")
    if s is None:
        return None
    try:
        log, offset, scale = s["log"], float(s["offset"]), float(s["scale"])
    except (TypeError, KeyError, ValueError):
        raise CheckpointError("\"scaler\" in the model's JSON must be {\"log\": true or false, \"offset\": a number, "
                              f"\"scale\": a number}}, not {s!r}.") from None
    if not isinstance(log, bool) or not (math.isfinite(offset) and math.isfinite(scale) and scale > 0):
        raise CheckpointError(f"\"scaler\" in the model's JSON needs log true/false, a finite offset and a scale above "
                              f"0 (got log {log!r}, offset {offset}, scale {scale}).")
    return Scaler(log=log, offset=offset, scale=scale)


def _groups(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Keys by module prefix: {'lstm.': {'weight_ih_l0': ...}, 'fc.': {'weight': ..., 'bias': ...}}."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        prefix, _, name = key.rpartition(".")
        groups.setdefault(prefix + "." if prefix else "", {})[name] = tensor
    return groups


def _layout(state: dict[str, torch.Tensor], desc: dict) -> tuple[str, str, str, int, int, int]:
    """(recurrent prefix, head prefix, cell, hidden, layers, horizon), from the JSON where it says, else the keys."""
    groups = _groups(state)
    recurrent = [p for p, g in groups.items() if "weight_ih_l0" in g and "weight_hh_l0" in g]
    if len(recurrent) != 1:
        found = ", ".join(sorted(state)[:8]) + (" ..." if len(state) > 8 else "")
        raise CheckpointError("The weights must hold one nn.GRU, nn.LSTM or nn.RNN (keys such as lstm.weight_ih_l0 "
                              f"and lstm.weight_hh_l0) and one nn.Linear head; found {len(recurrent)} recurrent "
                              f"modules among the keys {found}.")
    rnn = recurrent[0]
    heads = [p for p, g in groups.items() if p != rnn and "weight" in g]
    if len(heads) != 1:
        raise CheckpointError(f"Beside {rnn[:-1]}, the weights must hold exactly one nn.Linear head (keys such as "
                              f"head.weight, head.bias); found {len(heads)}: {', '.join(h[:-1] or '(no prefix)' for h in heads) or 'none'}.")
    head = heads[0]
    w_hh, w_head = groups[rnn]["weight_hh_l0"], groups[head]["weight"]
    if w_hh.dim() != 2 or w_head.dim() != 2:
        raise CheckpointError(f"{rnn}weight_hh_l0 and {head}weight must be matrices; their shapes are "
                              f"{tuple(w_hh.shape)} and {tuple(w_head.shape)}.")
    hidden = _integer(desc, "hidden", 1, w_hh.shape[1])
    per_unit = {len(c.blocks["hh"]): n for n, c in CELLS.items() if c.plain}
    rows, own = w_hh.shape  # the file's own hidden size: blocks x H rows of H columns
    cell = desc.get("cell") or per_unit.get(rows // own if own and rows % own == 0 else -1)
    if cell not in CELLS or not CELLS[cell].plain:
        known = ", ".join(f"{n} ({b} x hidden rows)" for b, n in sorted(per_unit.items()))
        raise CheckpointError(f"Which cell is this? {rnn}weight_hh_l0 is {tuple(w_hh.shape)}; the lab reads "
                              f"{known}" + (f", not cell {cell!r}" if desc.get("cell") else "") + ".")
    layers = _integer(desc, "layers", 1, sum(1 for k in groups[rnn] if k.startswith("weight_ih_l")))
    horizon = _integer(desc, "horizon", 1, w_head.shape[0])
    return rnn, head, cell, hidden, layers, horizon


def read_brought(weights: bytes, description: bytes | str | dict) -> BroughtModel:
    """Check and load a model trained elsewhere (CheckpointError naming every problem, before anything is built)."""
    if len(weights) > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"The weights file is {len(weights) / 2 ** 20:,.1f} MB; the lab prunes forecasters of up "
                              f"to {MAX_WEIGHTS_BYTES // 2 ** 20} MB.")
    desc = _description(description)
    try:
        state = st_load(weights)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(f"The weights are not a safetensors file ({exc}). Save them with "
                              "safetensors.torch.save_file(model.state_dict(), 'model.safetensors').") from None
    if not state:
        raise CheckpointError("The weights file holds no tensors.")
    rnn, head, cell, hidden, layers, horizon = _layout(state, desc)
    window = _integer(desc, "window", 1)
    if _integer(desc, "input_size", 1, 1) != 1:
        raise CheckpointError(f"The model reads {desc['input_size']} values per step; the lab forecasts one series "
                              "(input_size 1).")
    try:
        config = ModelConfig(hidden=hidden, layers=layers, cell=cell)
        expected = PlainForecaster(1, hidden, layers, horizon, cell).state_dict()
    except ScgruError as exc:
        raise CheckpointError(f"The lab cannot hold this model: {exc}") from None
    rename = {f"{cell}.": rnn, "head.": head}
    want = {rename[k.split(".")[0] + "."] + k.split(".", 1)[1]: v.shape for k, v in expected.items()}
    problems = [f"{k} is missing (expected {tuple(shape)})" for k, shape in want.items() if k not in state]
    problems += [f"{k} is not one of their parameters (extra)" for k in state if k not in want]
    problems += [f"{k} is {tuple(state[k].shape)}, expected {tuple(shape)}" for k, shape in want.items()
                 if k in state and state[k].shape != shape]
    if problems:
        raise CheckpointError(f"The weights do not fit nn.{CELLS[cell].module.__name__} (hidden {hidden}, {layers} "
                              f"layer(s)) + nn.Linear (horizon {horizon}): " + "; ".join(problems) + ".")
    bad = [k for k, t in state.items() if not (t.is_floating_point() and bool(torch.isfinite(t).all()))]
    if bad:
        raise CheckpointError(f"Weights that are not finite numbers (NaN, inf or not floating point): "
                              f"{', '.join(sorted(bad))}. A diverged training cannot be pruned.")
    model = Forecaster(config, horizon)
    model.load_state_dict({("rnn." + k[len(rnn):] if k.startswith(rnn) else "head." + k[len(head):]): t.float()
                           for k, t in state.items()}, strict=True)
    return BroughtModel(model=model.eval(), window=window, horizon=horizon, scaler=_scaler(desc), description=desc,
                        keys={"rnn": rnn, "head": head})


def load_brought(weights: str | pathlib.Path, description: str | pathlib.Path | None = None) -> BroughtModel:
    """`read_brought` from files; the JSON defaults to model.json beside the weights."""
    weights = pathlib.Path(weights)
    description = pathlib.Path(description) if description is not None else weights.with_name("model.json")
    for path in (weights, description):
        if not path.is_file():
            raise CheckpointError(f"There is no file {path}." + (" A model brought from elsewhere needs its JSON "
                                                                 "(window, horizon, scaler) beside it, or name it."
                                                                 if path == description else ""))
    for path, cap in ((weights, MAX_WEIGHTS_BYTES), (description, MAX_JSON_BYTES)):
        if path.stat().st_size > cap:
            raise CheckpointError(f"{path.name} is {path.stat().st_size:,} bytes, over the {cap:,} the lab reads.")
    return read_brought(weights.read_bytes(), description.read_bytes())


def brought_dataset(brought: BroughtModel, series: Series, base: WindowConfig | None = None) -> Dataset:
    """The series windowed and scaled as the brought model reads it (its own scaler, or none), split as `base`
    (the session's validation and test shares) says, or a SeriesTooShortError naming the largest window that fits."""
    config = brought.windows(base)
    try:
        return prepare(series, config, scaler=brought.scaler or IDENTITY)
    except SeriesTooShortError:
        largest = largest_window(len(series), config)
        raise SeriesTooShortError(
            f"This model reads windows of {brought.window} values and forecasts {brought.horizon} ahead; the series "
            f"has {len(series):,} values, which fit windows of at most {largest} with these validation and test "
            "shares. Load a longer series (the model's window cannot change).") from None
