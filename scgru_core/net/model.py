"""The forecaster: a GRU over the input window, then a linear head to `horizon` values.

`cell="gru"` uses `torch.nn.GRU` (the fused kernel). The gate variants of Dey & Salem
(2017) are baselines that drop parameters from the reset and update gates:

    GRU1: z, r = sigmoid(U h + b)     (no input weights in the gates)
    GRU2: z, r = sigmoid(U h)         (no input weights, no gate bias)
    GRU3: z, r = sigmoid(b)           (gates are learned constants)

Their candidate state is PyTorch's: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
h' = (1 - z) * n + z * h. Gate biases are single (one per gate); the candidate keeps
PyTorch's two biases (b_in, and b_hn inside r * (...)), so every variant has H more per
layer than the paper's count. Relative to a GRU with the same biases, 3(H^2 + HI + H) + H,
GRU1 saves 2HI, GRU2 2HI + 2H and GRU3 2HI + 2H^2: the paper's deltas.
`torch.nn.GRU` has 6H biases per layer, 3H more than the paper's 3(H^2 + HI + H) (b_hr and
b_hz duplicate b_ir and b_iz), so relative to it the variants save 2HI + 2H, 2HI + 4H and
2HI + 2H^2 + 2H.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from scgru_core.errors import ConfigError

CELLS = ("gru", "gru1", "gru2", "gru3")
GATES = ("reset", "update", "new")  # PyTorch's block order inside weight_ih / weight_hh


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 64
    layers: int = 1
    cell: str = "gru"

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}.")
        if not 1 <= self.layers <= 3:
            raise ConfigError(f"layers must be 1, 2 or 3, not {self.layers}.")
        if not 1 <= self.hidden <= 1024:
            raise ConfigError(f"hidden size must be between 1 and 1024, not {self.hidden}.")


class GateVariantGRU(nn.Module):
    """A multi-layer Dey & Salem gate variant with the same parameter names as `nn.GRU`.

    `weight_ih_l{k}` holds only the new-gate block (H x I): the gates see no input.
    `weight_hh_l{k}` holds (reset, update, new) blocks (3H x H), or only the new block
    (H x H) for GRU3, whose gates are `gate_bias_l{k}` alone.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, variant: str):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers, self.variant = input_size, hidden_size, num_layers, variant
        H = hidden_size
        for k in range(num_layers):
            i = input_size if k == 0 else H
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(H, i)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(H)))
            hh_rows = H if variant == "gru3" else 3 * H
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(hh_rows, H)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(H)))  # b_hn
            if variant in ("gru1", "gru3"):
                self.register_parameter(f"gate_bias_l{k}", nn.Parameter(torch.empty(2 * H)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)  # as nn.GRU
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        H = self.hidden_size
        out = x
        finals = []
        for k in range(self.num_layers):
            w_ih, b_in = getattr(self, f"weight_ih_l{k}"), getattr(self, f"bias_ih_l{k}")
            w_hh, b_hn = getattr(self, f"weight_hh_l{k}"), getattr(self, f"bias_hh_l{k}")
            gate_bias = getattr(self, f"gate_bias_l{k}", None)
            xn = out @ w_ih.T + b_in  # (B, T, H): input part of the candidate, all steps at once
            h = x.new_zeros(x.shape[0], H)
            steps = []
            if self.variant == "gru3":
                r, z = torch.sigmoid(gate_bias).chunk(2)
            for t in range(xn.shape[1]):
                hh = h @ w_hh.T
                if self.variant == "gru3":
                    hn = hh
                else:
                    g = hh[:, :2 * H] + gate_bias if gate_bias is not None else hh[:, :2 * H]
                    r, z = torch.sigmoid(g).chunk(2, dim=1)
                    hn = hh[:, 2 * H:]
                n = torch.tanh(xn[:, t] + r * (hn + b_hn))
                h = (1 - z) * n + z * h
                steps.append(h)
            out = torch.stack(steps, dim=1)
            finals.append(h)
        return out, torch.stack(finals)


class Forecaster(nn.Module):
    """Window (B, T) -> forecast (B, horizon), all in scaled units."""

    def __init__(self, config: ModelConfig, horizon: int = 1, input_size: int = 1):
        super().__init__()
        self.config, self.horizon, self.input_size = config, horizon, input_size
        if config.cell == "gru":
            self.rnn = nn.GRU(input_size, config.hidden, config.layers, batch_first=True)
        else:
            self.rnn = GateVariantGRU(input_size, config.hidden, config.layers, config.cell)
        self.head = nn.Linear(config.hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        _, h_n = self.rnn(x)
        return self.head(h_n[-1])


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
    if model.config.cell == "gru":
        return {g: slice(i * H, (i + 1) * H) for i, g in enumerate(GATES)}
    if ".weight_ih" in name or model.config.cell == "gru3":
        return {"new": slice(0, H)}
    return {g: slice(i * H, (i + 1) * H) for i, g in enumerate(GATES)}


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
