"""The recurrent cells a forecaster can be built on, one registry entry each: the torch module, the gate blocks
inside `weight_ih` / `weight_hh` in the module's own row order, the plain torch class its weights load into (for
export, unit removal, int8 and a model brought from elsewhere), and one time step of its equations (for the CSR
loop). Everything that knows a cell (the model, gate blocks, scopes, heatmaps, costs, the Train page's choice,
links, the CLI's --cell, Compare's unpruned references, exports) reads the registry, so a new cell is one
`CELLS.register(CellSpec(...))`.

The three torch cells, in PyTorch's own block order (rows of `weight_ih_l{k}` / `weight_hh_l{k}`, H each):

    GRU   r, z, n    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
                     h' = (1 - z) * n + z * h
    LSTM  i, f, g, o i, f, o = sigmoid(W_* x + b_i* + W_h* h + b_h*), g = tanh(...),
                     c' = f * c + i * g, h' = o * tanh(c')
    RNN   one block  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)      (Elman)

`gru` is `torch.nn.GRU` (the fused kernel). The gate variants of Dey & Salem (2017) are baselines that drop
parameters from the reset and update gates:

    GRU1: z, r = sigmoid(U h + b)     (no input weights in the gates)
    GRU2: z, r = sigmoid(U h)         (no input weights, no gate bias)
    GRU3: z, r = sigmoid(b)           (gates are learned constants)

Their candidate state is PyTorch's: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h. Gate
biases are single (one per gate); the candidate keeps PyTorch's two biases (b_in, and b_hn inside r * (...)), so
every variant has H more per layer than the paper's count. Relative to a GRU with the same biases,
3(H^2 + HI + H) + H, GRU1 saves 2HI, GRU2 2HI + 2H and GRU3 2HI + 2H^2: the paper's deltas. `torch.nn.GRU` has 6H
biases per layer, 3H more than the paper's 3(H^2 + HI + H) (b_hr and b_hz duplicate b_ir and b_iz), so relative to
it the variants save 2HI + 2H, 2HI + 4H and 2HI + 2H^2 + 2H.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from scgru_core.errors import ConfigError
from scgru_core.registry import Registry

GATES = ("reset", "update", "new")  # PyTorch's block order inside a GRU's weight_ih / weight_hh
LSTM_GATES = ("input", "forget", "cell", "output")  # nn.LSTM's i, f, g, o
RNN_GATES = ("hidden",)  # nn.RNN: one block

Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None"],
                "tuple[torch.Tensor, torch.Tensor | None]"]


@dataclass(frozen=True)
class CellSpec:
    """A recurrent cell: `make(input_size, hidden, layers)` builds a batch-first module with `nn.GRU`'s parameter
    names that returns (outputs, final states); `blocks[kind]` are the gate blocks of its `weight_{kind}_l*` rows,
    each `hidden` rows, in order."""

    name: str
    label: str
    make: Callable[[int, int, int], nn.Module]
    blocks: dict  # {"ih": gates, "hh": gates}
    description: str = ""
    module: type | None = None  # the plain torch class with these parameters (None: a variant of the lab's own)
    step: Step | None = None  # (W_ih x + b_ih, W_hh h + b_hh, h, c) -> (h', c'), features x batch, for the CSR loop
    family: tuple[str, ...] = ()  # the gates it has, where some hold no weights (a variant's bias-only gates)
    state_floats: int = 13  # fp32 values a training keeps per batch x step x hidden unit x layer (upper end, measured)

    @property
    def gates(self) -> tuple[str, ...]:
        """Every gate of the cell, in block order (those with weights, and a variant's bias-only ones)."""
        return tuple(dict.fromkeys(self.family + self.blocks["hh"] + self.blocks["ih"]))

    @property
    def plain(self) -> bool:
        """Whether its weights are exactly a torch module's (so it exports, shrinks and loads from elsewhere)."""
        return self.module is not None

    def require_plain(self, what: str) -> None:
        if self.module is None:
            plain = ", ".join(n for n, c in CELLS.items() if c.plain)
            raise ConfigError(f"{what} needs a cell that is a plain torch module ({plain}); the {self.label.split(':')[0]} cell "
                              "has the lab's own equations.")


def all_gates() -> tuple[str, ...]:
    """Every gate name any registered cell has (what a scope may name)."""
    return tuple(dict.fromkeys(g for spec in CELLS.values() for g in spec.gates))


def final_hidden(state) -> torch.Tensor:
    """The last hidden states (layers, B, H) from what a recurrent module returns: h_n, or (h_n, c_n) for an LSTM."""
    return state[0] if isinstance(state, tuple) else state


CELLS: Registry[CellSpec] = Registry("cell")


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


def _variant(name: str) -> Callable[[int, int, int], nn.Module]:
    return lambda inputs, hidden, layers: GateVariantGRU(inputs, hidden, layers, name)


def _gru_step(gi, gh, h, c):
    H = h.shape[0]
    r = torch.sigmoid(gi[:H] + gh[:H])
    z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
    return (1 - z) * n + z * h, None


def _lstm_step(gi, gh, h, c):
    i, f, g, o = (gi + gh).chunk(4, dim=0)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _rnn_step(gi, gh, h, c):
    return torch.tanh(gi + gh), None


CELLS.register(CellSpec("gru", "GRU (standard, PyTorch)", lambda i, h, n: nn.GRU(i, h, n, batch_first=True),
                        {"ih": GATES, "hh": GATES}, module=nn.GRU, step=_gru_step))
CELLS.register(CellSpec("lstm", "LSTM (PyTorch)", lambda i, h, n: nn.LSTM(i, h, n, batch_first=True),
                        {"ih": LSTM_GATES, "hh": LSTM_GATES},
                        "Four gates (input, forget, cell, output) and a cell state beside the hidden state.",
                        module=nn.LSTM, step=_lstm_step, state_floats=18))
CELLS.register(CellSpec("rnn", "RNN (Elman, tanh, PyTorch)", lambda i, h, n: nn.RNN(i, h, n, batch_first=True),
                        {"ih": RNN_GATES, "hh": RNN_GATES}, "One block, no gates: h' = tanh(W x + U h + b).",
                        module=nn.RNN, step=_rnn_step, state_floats=4))
CELLS.register(CellSpec("gru1", "GRU1: gates without input weights", _variant("gru1"), {"ih": ("new",), "hh": GATES},
                        "Gates from the hidden state and bias only (no input): fewer parameters, never pruned.",
                        family=GATES))
CELLS.register(CellSpec("gru2", "GRU2: gates without input weights or bias", _variant("gru2"),
                        {"ih": ("new",), "hh": GATES},
                        "Gates from the hidden state only (no input, no bias), never pruned.", family=GATES))
CELLS.register(CellSpec("gru3", "GRU3: gates are learned constants", _variant("gru3"), {"ih": ("new",), "hh": ("new",)},
                        "Gates from a bias only, never pruned.", family=GATES))
