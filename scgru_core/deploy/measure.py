"""What pruning really saves: the same model run every way it can be deployed, measured side by side.

For a structured pruning (units removed, `shrink.py`) the rows are
  dense        the full-size model before units were removed;
  masked       the final weights at full size, removed units zeroed: what masks alone give (same cost as dense);
  csr          the same full-size weights as CSR sparse matrices, run by `sparse_exec.SparseRecurrent`;
  shrunk       the physically smaller `nn.GRU`;
  shrunk_int8  the smaller model with int8 dynamic quantization (where torch still offers it);
  shrunk_bf16  the smaller model in bf16 (only where the CPU has native bf16);
  onnx         the smaller model exported to ONNX, run by ONNX Runtime (where installed).
Each row has its parameters, its bytes, its median latency at each batch size and its test error, so the
speed is never shown without what it costs in accuracy. Latency is measured on this machine, with the torch
thread count in force (ONNX Runtime gets the same count).
"""
from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from scgru_core.net.cost import model_cost
from scgru_core.errors import ConfigError
from scgru_core.net.evaluate import evaluate
from scgru_core.deploy.export import onnx_bytes, onnx_forecast, onnx_session, weights_bytes
from scgru_core.net.model import Forecaster
from scgru_core.net.quantize import Bf16, PrecisionUnavailable, int8_dynamic
from scgru_core.deploy.shrink import expand, shrink
from scgru_core.deploy.sparse_exec import MEASURED_ON, SparseRecurrent
from scgru_core.deploy.units import UnitConfig, UnitSelection, leaves_a_unit, select_units
from scgru_core.data.windows import Dataset

VARIANTS = {"dense": "dense (before)", "masked": "masked (full size, units zeroed)",
            "csr": "CSR sparse (full size)", "shrunk": "shrunk (smaller torch module)", "shrunk_int8": "shrunk + int8 dynamic",
            "shrunk_bf16": "shrunk + bf16", "onnx": "shrunk, ONNX Runtime"}


@dataclass(frozen=True)
class DeployRow:
    variant: str  # a key of VARIANTS
    hidden: int
    params: int  # parameter values stored (non-zeros for CSR)
    bytes: int
    bytes_how: str  # what the byte count is of
    ms: dict  # batch -> median milliseconds per call
    rmse: float  # test RMSE, original units
    max_abs_diff: float  # largest |forecast - float32 shrunk forecast| on the test part, original units (dense: vs itself)

    @property
    def label(self) -> str:
        return VARIANTS[self.variant]


@dataclass(frozen=True)
class DeploymentReport:
    rows: tuple[DeployRow, ...]
    batches: tuple[int, ...]
    threads: int
    window: int
    skipped: dict = field(default_factory=dict)  # variant -> why it is not measured here
    note: str = MEASURED_ON

    def row(self, variant: str) -> DeployRow | None:
        return next((r for r in self.rows if r.variant == variant), None)

    def speedup(self, variant: str, batch: int) -> float:
        """Dense time over this variant's time at `batch` (above 1: faster than dense)."""
        return self.row("dense").ms[batch] / self.row(variant).ms[batch]

    def records(self) -> list[dict]:
        """One flat dict per row (the app's table and CSV)."""
        dense = self.row("dense")
        return [{"variant": r.label, "hidden units": r.hidden, "parameters": r.params, "bytes": r.bytes,
                 "bytes of": r.bytes_how,
                 **{f"ms, batch {b}": r.ms[b] for b in self.batches},
                 **{f"speed-up, batch {b}": dense.ms[b] / r.ms[b] for b in self.batches},
                 "test RMSE": r.rmse, "max |Δ| vs shrunk fp32": r.max_abs_diff} for r in self.rows]

    def to_json(self) -> dict:
        """The CLI contract: latency_ms.{variant}.{b1,b256}, bytes.{variant}, plus errors and context."""
        return {"latency_ms": {r.variant: {f"b{b}": r.ms[b] for b in self.batches} for r in self.rows},
                "bytes": {r.variant: r.bytes for r in self.rows},
                "params": {r.variant: r.params for r in self.rows},
                "rmse": {r.variant: r.rmse for r in self.rows},
                "max_abs_diff": {r.variant: r.max_abs_diff for r in self.rows},
                "skipped": dict(self.skipped), "threads": self.threads, "window": self.window,
                "measured": self.note}


def _state_bytes(module: torch.nn.Module) -> int:
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return len(buf.getvalue())


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.state_dict().values() if p.is_floating_point())


@torch.inference_mode()
def interleaved_times(runners: list[Callable], window: int, batches: tuple[int, ...], repeats: int,
                      warmup: int = 3, burst: int = 5, progress: Callable[[int], None] | None = None) -> list[dict]:
    """Seconds of every timed call of every runner at every batch size, round by round ({batch: [[round 1's
    calls], [round 2's], ...]} per runner): all runners are warmed up first, then each round gives each runner one
    untimed call (its weights back in cache, as when serving) and `burst` timed ones. A one-time start-up cost or a
    change of load on a shared machine then hits every runner alike, instead of whichever happened to be timed
    first, and no runner is timed on caches another one filled; round r of two runners ran side by side."""
    gen = torch.Generator().manual_seed(0)
    out: list[dict] = [{} for _ in runners]
    for b in batches:
        if progress is not None:
            progress(b)
        x = torch.randn(b, window, generator=gen)
        for fn in runners:
            for _ in range(warmup):
                fn(x)
        calls = repeats if b == 1 else max(3, repeats // 3)
        per_round = min(burst, calls)
        for o in out:
            o[b] = []
        for _ in range(-(-calls // per_round)):
            for fn, o in zip(runners, out):
                fn(x)
                times = []
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    fn(x)
                    times.append(time.perf_counter() - t0)
                o[b].append(times)
    return out


def interleaved_ms(runners: list[Callable], window: int, batches: tuple[int, ...], repeats: int,
                   warmup: int = 3, burst: int = 5, progress: Callable[[int], None] | None = None) -> list[dict]:
    """Median ms per call of every runner at every batch size, timed in rounds (`interleaved_times`)."""
    rounds = interleaved_times(runners, window, batches, repeats, warmup, burst, progress)
    return [{b: 1e3 * statistics.median(t for r in per[b] for t in r) for b in per} for per in rounds]


def measure_deployment(dense: Forecaster, small: Forecaster, selection: UnitSelection, data: Dataset,
                       batches: tuple[int, ...] = (1, 256), repeats: int = 15,
                       onnx: bool = True, progress: Callable[[str], None] | None = None) -> DeploymentReport:
    """Measure every variant of one structured pruning. `small` is the final smaller model (fine-tuned or not);
    unstructured zeros it still carries stay zero in the masked and CSR rows, which are built from it."""
    if small.config.hidden != selection.hidden_after or dense.config.hidden != selection.hidden_before:
        raise ConfigError("The smaller model does not come from this selection of units.")
    full = expand(small, selection)
    csr = SparseRecurrent(full)
    reference = evaluate(small, data).forecast
    candidates: list[tuple[str, Callable, int, int, str, int]] = [
        ("dense", dense, _params(dense), len(weights_bytes(dense)), "safetensors file", dense.config.hidden),
        ("masked", full, _params(full), len(weights_bytes(full)), "safetensors file (zeros stored)", full.config.hidden),
        ("csr", csr, csr.stored_values(), model_cost(full).bytes_csr, "CSR, fp32 + int32 indices (computed)",
         full.config.hidden),
        ("shrunk", small, _params(small), len(weights_bytes(small)), "safetensors file", small.config.hidden)]
    skipped = {}
    for variant, make, how in (("shrunk_int8", int8_dynamic, "torch.save of the quantized state"),
                               ("shrunk_bf16", Bf16, "bf16 values")):
        try:
            m = make(small)
        except PrecisionUnavailable as exc:
            skipped[variant] = str(exc)
            continue
        size = _params(small) * 2 if variant == "shrunk_bf16" else _state_bytes(m)
        candidates.append((variant, m, _params(small), size, how, small.config.hidden))
    if onnx:
        try:
            raw = onnx_bytes(small, data.window)
            session = onnx_session(raw, torch.get_num_threads())
            candidates.append(("onnx", lambda X, s=session: onnx_forecast(s, X), _params(small), len(raw),
                               "ONNX file", small.config.hidden))
        except ConfigError as exc:
            skipped["onnx"] = str(exc)
    timings = interleaved_ms([fn for _, fn, *_ in candidates], data.window, batches, repeats,
                             progress=progress and (lambda b: progress(f"every variant at batch {b}")))
    rows = []
    for (variant, fn, params, size, how, hidden), ms in zip(candidates, timings):
        if progress is not None:
            progress(f"the test error of {VARIANTS[variant]}")
        ev = evaluate(fn, data)
        diff = 0.0 if variant == "dense" else float(np.abs(ev.forecast - reference).max())
        rows.append(DeployRow(variant=variant, hidden=hidden, params=params, bytes=size, bytes_how=how, ms=ms,
                              rmse=ev.metrics.rmse, max_abs_diff=diff))
    return DeploymentReport(rows=tuple(rows), batches=tuple(batches), threads=torch.get_num_threads(),
                            window=data.window, skipped=skipped)


PAYS = 1.1  # "pays": at least 10 % faster than dense, beyond the noise of a shared machine


def pays_from(fractions, speedups, margin: float = PAYS) -> float | None:
    """The smallest fraction of units removed from which every larger fraction measured is at least `margin`
    times faster than dense (None: it never pays in the range measured). Robust to one noisy point."""
    start = None
    for f, s in sorted(zip(fractions, speedups)):
        if s >= margin:
            start = f if start is None else start
        else:
            start = None
    return start


@dataclass(frozen=True)
class Payoff:
    """Speed of the model with a share of its units removed, over the dense model, timed in one interleaved run: per
    fraction, the median of the speed-ups of calls made side by side with the dense model's, and their quartiles
    (the measured spread, drawn as such: a line through timing noise read as signal)."""

    fractions: tuple[float, ...]
    hidden: tuple[int, ...]
    speedup: dict  # batch -> speed-up over dense per fraction (median of the paired calls)
    dense_ms: dict  # batch -> the dense model's median ms per call
    threads: int
    note: str = MEASURED_ON
    spread: dict = field(default_factory=dict)  # batch -> (lower, upper quartile) of the speed-up per fraction

    def pays_from(self, batch: int) -> float | None:
        return pays_from(self.fractions, self.speedup[batch])


PAYOFF_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def unit_payoff(model: Forecaster, window: int, fractions: tuple[float, ...] = PAYOFF_FRACTIONS,
                batches: tuple[int, ...] = (1, 256), repeats: int = 15) -> Payoff:
    """When does removing units pay on this machine? Each share of units removed (smallest norm first; the
    weights' values do not change the time) is timed against the dense model, all round-robin."""
    H = model.config.hidden
    fractions = tuple(f for f in fractions if leaves_a_unit(f, H))
    smaller = [shrink(model, select_units(model, UnitConfig(fraction=f)))[0] for f in fractions]
    rounds = interleaved_times([model, *smaller], window, batches, repeats, burst=1)  # one call each per round
    dense, rest = rounds[0], rounds[1:]
    speedup, spread = {}, {}
    for b in batches:
        ratios = [[d[0] / m[0] for d, m in zip(dense[b], other[b])] for other in rest]  # call by call, side by side
        quartiles = [statistics.quantiles(r, n=4, method="inclusive") if len(r) > 1 else [r[0]] * 3 for r in ratios]
        speedup[b] = tuple(statistics.median(r) for r in ratios)
        spread[b] = tuple((q[0], q[2]) for q in quartiles)
    dense_ms = {b: 1e3 * statistics.median(t for r in dense[b] for t in r) for b in batches}
    return Payoff(fractions=fractions, hidden=tuple(m.config.hidden for m in smaller), speedup=speedup,
                  dense_ms=dense_ms, threads=torch.get_num_threads(), spread=spread)
