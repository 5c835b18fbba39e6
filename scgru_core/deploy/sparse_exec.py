"""What pruning saves in practice: the pruned network run with sparse CSR weights, and timed.

Masked dense weights cost exactly what dense weights cost: the fused `nn.GRU` (`nn.LSTM`, `nn.RNN`) kernel
multiplies by every zero. To turn zeros into saved time the pruned matrices must be stored
sparse and multiplied as sparse. `SparseRecurrent` does that with `torch.sparse_csr_tensor`
weights and a per-step loop over the cell's own equations (`CellSpec.step`, net/cells.py; for a GRU, gate blocks
in PyTorch's order reset, update, new):

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

so its forecast equals the dense masked model's (to float rounding). The same loop with
dense weights (`layout="dense"`) separates the cost of the Python loop from the gain of
the sparse products. `compare_latency` times all three on this machine.

Whether sparse is faster depends on size and sparsity: at the lab's default size (hidden 64,
3H x H = 192 x 64 matrices) one step is microseconds of arithmetic, so per-call overheads
dominate and the fused dense kernel usually wins. The figures are what they are, measured.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from scgru_core.net.cost import median_ms
from scgru_core.errors import ConfigError
from scgru_core.net.cells import CELLS
from scgru_core.net.model import Forecaster
from scgru_core.net.masks import MaskSet, masked_state

LAYOUTS = ("csr", "dense")
MEASURED_ON = "measured on this machine"


def _layout(w: torch.Tensor, layout: str) -> torch.Tensor:
    w = w.detach().contiguous().float()
    if layout == "dense":
        return w
    with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and tested here
        warnings.simplefilter("ignore", UserWarning)
        return w.to_sparse_csr()


class SparseRecurrent:
    """A pruned `Forecaster` (a GRU, LSTM or RNN cell, any number of layers) with its matrices stored as CSR.

    Everything is kept transposed (features x batch) so each product is `weight @ column block`,
    the form a CSR matrix multiplies fastest. Inference only.
    """

    def __init__(self, model: Forecaster, masks: MaskSet | None = None, layout: str = "csr"):
        spec = CELLS[model.config.cell]
        spec.require_plain("Sparse execution")
        self.step = spec.step
        if layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}.")
        state = masked_state(model, masks or {})
        self.hidden, self.layout, self.horizon = model.config.hidden, layout, model.horizon
        self.layers = []
        for k in range(model.config.layers):
            self.layers.append((_layout(state[f"rnn.weight_ih_l{k}"], layout),
                                _layout(state[f"rnn.weight_hh_l{k}"], layout),
                                state[f"rnn.bias_ih_l{k}"].detach().float().unsqueeze(1),
                                state[f"rnn.bias_hh_l{k}"].detach().float().unsqueeze(1)))
        self.head_w = _layout(state["head.weight"], layout)
        self.head_b = state["head.bias"].detach().float().unsqueeze(1)

    def stored_values(self) -> int:
        """Values a CSR model stores: the weights' non-zeros plus every bias."""
        return self.nnz() + sum(b.numel() for layer in self.layers for b in layer[2:]) + self.head_b.numel()

    def nnz(self) -> int:
        """Stored non-zeros of the weight matrices."""
        mats = [m for layer in self.layers for m in layer[:2]] + [self.head_w]
        return sum(int(m.values().numel()) if m.layout == torch.sparse_csr else int(torch.count_nonzero(m))
                   for m in mats)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Window (B, T) or (B, T, I) -> forecast (B, horizon), scaled units, like `Forecaster.forward`."""
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        B, T, _ = x.shape
        H = self.hidden
        seq = x.permute(2, 1, 0).reshape(x.shape[2], T * B)  # (I, T*B), time-major columns
        h = x.new_zeros(H, B)
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.layers):
            gi_all = (w_ih @ seq + b_ih).view(-1, T, B)  # input projections of every step at once
            h, c = x.new_zeros(H, B), x.new_zeros(H, B)
            outs = []
            for t in range(T):
                h, c = self.step(gi_all[:, t], w_hh @ h + b_hh, h, c)
                if k + 1 < len(self.layers):
                    outs.append(h)
            if outs:
                seq = torch.stack(outs, dim=1).reshape(H, T * B)
        return (self.head_w @ h + self.head_b).T


@dataclass(frozen=True)
class LatencyRow:
    implementation: str  # "dense fused kernel (masked)", "dense loop", "sparse CSR loop"
    batch: int
    ms_per_batch: float  # median
    us_per_forecast: float


@dataclass(frozen=True)
class LatencyComparison:
    """Median forward-pass times of the same pruned model run three ways, measured on this machine."""

    rows: tuple[LatencyRow, ...]
    window: int
    hidden: int
    sparsity: float  # fraction of the weight-matrix entries that are zero
    threads: int
    note: str = MEASURED_ON

    def ms(self, implementation: str, batch: int) -> float:
        return next(r.ms_per_batch for r in self.rows if r.implementation == implementation and r.batch == batch)

    def speedup(self, batch: int) -> float:
        """Dense nn.GRU time over sparse CSR time (above 1: sparse is faster)."""
        return self.ms(DENSE_FUSED, batch) / self.ms(SPARSE, batch)

    def to_records(self) -> list[dict]:
        return [{"implementation": r.implementation, "batch": r.batch, "ms_per_batch": r.ms_per_batch,
                 "us_per_forecast": r.us_per_forecast} for r in self.rows]

    def summary(self) -> str:
        parts = []
        for b in sorted({r.batch for r in self.rows}):
            s = self.speedup(b)
            verdict = f"sparse CSR is {s:.2f}x faster" if s > 1 else f"sparse CSR is {1 / s:.2f}x slower"
            parts.append(f"batch {b}: dense {self.ms(DENSE_FUSED, b):.3g} ms, sparse {self.ms(SPARSE, b):.3g} ms "
                         f"({verdict})")
        return (f"{self.note}, {self.threads} thread(s), hidden {self.hidden}, {self.sparsity:.0%} of weights zero: "
                + "; ".join(parts) + ".")


DENSE_FUSED, DENSE_LOOP, SPARSE = "dense fused kernel (masked)", "dense loop", "sparse CSR loop"


def compare_latency(model: Forecaster, masks: MaskSet | None, window: int, batches: tuple[int, ...] = (1, 256),
                    repeats: int = 15, warmup: int = 2, include_dense_loop: bool = True) -> LatencyComparison:
    """Time the pruned model as the masked dense torch module, as a dense per-step loop and as a CSR per-step loop."""
    import copy

    dense = copy.deepcopy(model).eval()
    dense.load_state_dict(masked_state(model, masks or {}))
    runners = [(DENSE_FUSED, dense)]
    if include_dense_loop:
        runners.append((DENSE_LOOP, SparseRecurrent(model, masks, layout="dense")))
    sparse = SparseRecurrent(model, masks, layout="csr")
    runners.append((SPARSE, sparse))
    gen = torch.Generator().manual_seed(0)
    rows = []
    for batch in batches:
        x = torch.randn(batch, window, generator=gen)
        for name, fn in runners:
            ms = median_ms(fn, x, repeats, warmup)
            rows.append(LatencyRow(name, batch, ms, 1e3 * ms / batch))
    total = sum(m.shape[0] * m.shape[1] for layer in sparse.layers for m in layer[:2]) + sparse.head_w.shape[0] * \
        sparse.head_w.shape[1]
    return LatencyComparison(rows=tuple(rows), window=window, hidden=model.config.hidden,
                             sparsity=1 - sparse.nnz() / total, threads=torch.get_num_threads())
