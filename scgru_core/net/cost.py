"""What a (pruned) model costs: parameters, multiply-accumulates, storage bytes, latency.

MACs count the weight multiplies of one forecast (3H(I + H) per step per layer, plus the head), nothing
else: biases, the gates' element-wise products and the activations are left out (MACS_NOTE).

Masked dense weights save nothing by themselves, so both figures are given: what the
non-zeros *could* cost (MACs counting only non-zeros, CSR / bitmask bytes) and what the
dense model does cost (dense MACs, dense bytes, measured latency).
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from scgru_core.net.model import Forecaster, weight_names
from scgru_core.net.masks import MaskSet

FP32 = 4
INDEX = 4  # int32 column indices and row pointers
MACS_NOTE = ("weight multiplies only: biases, the gates' element-wise products and the activations are not "
             "counted")  # said wherever a MAC count is shown


@dataclass(frozen=True)
class Cost:
    params_total: int
    params_nonzero: int
    macs_dense: int  # multiply-accumulates per forecast (one window), all weights
    macs_nonzero: int  # the same, counting only non-zero weights
    bytes_dense: int  # every parameter as fp32
    bytes_csr: int  # weight matrices as CSR (fp32 values + int32 column indices + int32 row pointers), rest dense
    bytes_bitmask: int  # weight matrices as fp32 non-zeros + one bit per position, rest dense

    @property
    def compression(self) -> float:
        """Dense bytes over the cheapest storage (not total / non-zero, which ignores index overhead)."""
        return self.bytes_dense / min(self.bytes_dense, self.bytes_csr, self.bytes_bitmask)

    @property
    def sparsity(self) -> float:
        return 1.0 - self.params_nonzero / self.params_total

    def storage(self) -> dict[str, int]:
        """Bytes of the weights in each format, dense first: what the cost chart compares."""
        return {"dense fp32": self.bytes_dense, "CSR": self.bytes_csr, "bitmask": self.bytes_bitmask}

    def to_dict(self) -> dict:
        return {**asdict(self), "compression": self.compression}


def csr_bytes(nnz: int, rows: int) -> int:
    return nnz * (FP32 + INDEX) + (rows + 1) * INDEX


def bitmask_bytes(nnz: int, numel: int) -> int:
    return nnz * FP32 + math.ceil(numel / 8)


def model_cost(model: Forecaster, masks: MaskSet | None = None, window: int = 48) -> Cost:
    """Analytic cost of one forecast over a window of `window` steps, with `masks` applied."""
    masks = masks or {}
    total = nonzero = b_csr = b_bitmask = 0
    macs_dense = macs_nonzero = 0
    matrices = set(weight_names(model, include_head=True))
    for name, p in model.named_parameters():
        w = p.detach() * masks[name] if name in masks else p.detach()
        nnz = int(torch.count_nonzero(w))
        total += p.numel()
        nonzero += nnz
        if name in matrices:
            b_csr += csr_bytes(nnz, p.shape[0])
            b_bitmask += bitmask_bytes(nnz, p.numel())
            steps = 1 if name.startswith("head.") else window
            macs_dense += steps * p.numel()
            macs_nonzero += steps * nnz
        else:
            b_csr += FP32 * p.numel()
            b_bitmask += FP32 * p.numel()
    return Cost(params_total=total, params_nonzero=nonzero, macs_dense=macs_dense, macs_nonzero=macs_nonzero,
                bytes_dense=FP32 * total, bytes_csr=b_csr, bytes_bitmask=b_bitmask)


@dataclass(frozen=True)
class Latency:
    """Median wall time of one dense forward pass, measured on this machine."""

    batch: int
    ms_per_batch: float
    us_per_forecast: float


@torch.inference_mode()
def median_ms(fn, x: torch.Tensor, repeats: int = 30, warmup: int = 3) -> float:
    """Median wall time of fn(x) in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def measure_latency(model, window: int, batch: int = 1, repeats: int = 30, warmup: int = 3) -> Latency:
    """Median forward time of any forecaster callable (a module, a CSR runner) on seeded random windows."""
    if isinstance(model, torch.nn.Module):
        model.eval()
    x = torch.randn(batch, window, generator=torch.Generator().manual_seed(0))
    ms = median_ms(model, x, repeats, warmup)
    return Latency(batch=batch, ms_per_batch=ms, us_per_forecast=1e3 * ms / batch)
