"""The forecaster: a recurrent cell (net/cells.py: `nn.GRU`, `nn.LSTM`, `nn.RNN` or a gate variant) over the input window, then a linear
head to `horizon` values."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scgru_core.errors import ConfigError
from scgru_core.net.cells import CELLS, final_hidden



@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 64
    layers: int = 1
    cell: str = "gru"

    def __post_init__(self):
        CELLS.require(self.cell)
        if not 1 <= self.layers <= 3:
            raise ConfigError(f"layers must be 1, 2 or 3, not {self.layers}.")
        if not 1 <= self.hidden <= 1024:
            raise ConfigError(f"hidden size must be between 1 and 1024, not {self.hidden}.")


class Forecaster(nn.Module):
    """Window (B, T) -> forecast (B, horizon), all in scaled units."""

    def __init__(self, config: ModelConfig, horizon: int = 1, input_size: int = 1):
        super().__init__()
        self.config, self.horizon, self.input_size = config, horizon, input_size
        self.rnn = CELLS[config.cell].make(input_size, config.hidden, config.layers)
        self.head = nn.Linear(config.hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        _, state = self.rnn(x)
        return self.head(final_hidden(state)[-1])


def build_model(config: ModelConfig = ModelConfig(), horizon: int = 1, seed: int = 0) -> Forecaster:
    """A freshly initialised forecaster; the same seed gives the same weights."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return Forecaster(config, horizon)
    finally:
        torch.random.set_rng_state(gen_state)


def gate_blocks(model: Forecaster, name: str) -> dict[str, slice]:
    """Row slices of each gate inside the weight matrix `name` (e.g. 'rnn.weight_hh_l0')."""
    H = model.config.hidden
    if name.startswith("head."):
        return {"head": slice(0, model.horizon)}
    gates = CELLS[model.config.cell].blocks[matrix_kind(name)]
    return {g: slice(i * H, (i + 1) * H) for i, g in enumerate(gates)}


def matrix_kind(name: str) -> str:
    """'ih' for an input-to-hidden weight matrix ('rnn.weight_ih_l0'), 'hh' for the others."""
    return "ih" if ".weight_ih" in name else "hh"


def weight_names(model: Forecaster, include_head: bool = False) -> list[str]:
    """Names of the prunable matrices, in layer order: ih then hh per layer, head last."""
    names = []
    for k in range(model.config.layers):
        names += [f"rnn.weight_ih_l{k}", f"rnn.weight_hh_l{k}"]
    if include_head:
        names.append("head.weight")
    return names
