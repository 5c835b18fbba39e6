"""Speed figures of the engine on this machine, printed as one JSON object.

    .venv/bin/python benchmarks/bench.py [--quick] [--json PATH] [--verbose]

- matmul: fp32 GFLOP/s of torch.mm on large square matrices (median of repeats), with torch's
  default thread count; the ceiling the other figures are compared with.
- training: samples/s of the engine's own training step (train.fit: forward, MSE, backward,
  gradient clipping, Adam) for the default model (hidden 64, window 48, batch 32) and the SCGRU
  reference configuration (hidden 350, window 100, batch 32), timed batch by batch through fit's
  on_batch callback (the median step, first steps and validation passes excluded), and the
  achieved GFLOP/s = 3 x 2 x (MACs per window) x samples/s (backward ~ 2 x forward), with its
  ratio to the matmul rate.
- slider: one slider move, PruningLab.at (re-prune + evaluate the test split + costs), for the
  default model trained briefly on the power-load sample: median and p90 ms over ~50 moves of s.
- sweep: a 40-point prune-only sweep (sweep.sweep, no fine-tuning) of the same lab: total seconds.
- latency: dense forward time per forecast at batch 1 and 256 (cost.measure_latency).

Figures are wall-clock on a shared machine: read them as orders of magnitude, not as contracts.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scgru_core import (Callbacks, ModelConfig, PruneConfig, PruningLab, TrainConfig, WindowConfig,  # noqa: E402
                        build_model, fit, load_series, measure_latency, model_cost, prepare, series_from_frame,
                        sweep, sweep_configs)
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES  # noqa: E402

CONFIGS = {"default": dict(hidden=64, window=48, batch=32), "reference": dict(hidden=350, window=100, batch=32)}


def log(verbose: bool, *parts) -> None:
    if verbose:
        print(*parts, file=sys.stderr, flush=True)


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


# ---------------------------------------------------------------- machine ceiling

def matmul_gflops(n: int, repeats: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    for _ in range(2):
        torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"n": n, "repeats": repeats, "median_s": median, "gflops": 2 * n ** 3 / median / 1e9,
            "best_gflops": 2 * n ** 3 / min(times) / 1e9}


# ---------------------------------------------------------------- training throughput

def _synthetic_dataset(window: int, train_batches: int, batch: int):
    """A noisy sine just long enough for `train_batches` full training batches (70/15/15 split)."""
    n = int((train_batches * batch + window) / 0.7) + 2
    n = max(n, int((window + 2) / 0.15) + 2)  # validation and test hold at least one window each
    t = np.arange(n)
    values = 10 + np.sin(2 * np.pi * t / 48) + 0.1 * np.random.default_rng(0).normal(size=n)
    series = series_from_frame(pd.DataFrame({"value": values}))
    return prepare(series, WindowConfig(window=window))


def training_throughput(hidden: int, window: int, batch: int, steps: int, matmul: float) -> dict:
    data = _synthetic_dataset(window, steps + 3, batch)
    model = build_model(ModelConfig(hidden=hidden))
    stamps: list[float] = []
    limit = steps + 3  # 3 warm-up steps, then `steps` timed ones

    def on_batch(i, n):
        stamps.append(time.perf_counter())

    fit(model, data, TrainConfig(epochs=1, batch_size=batch, patience=0),
        callbacks=Callbacks(on_batch=on_batch, should_stop=lambda: len(stamps) >= limit))
    step_times = np.diff(stamps)[2:]  # the gaps after the warm-up steps
    step = float(np.median(step_times))
    samples_per_s = batch / step
    macs = model_cost(model, window=window).macs_dense
    achieved = 3 * 2 * macs * samples_per_s / 1e9
    return {"hidden": hidden, "window": window, "batch": batch, "timed_steps": len(step_times),
            "median_step_ms": 1e3 * step, "samples_per_s": samples_per_s, "macs_per_window": macs,
            "achieved_gflops": achieved, "ratio_to_matmul": achieved / matmul}


# ---------------------------------------------------------------- slider, sweep, latency

def default_lab(epochs: int, verbose: bool) -> tuple[PruningLab, float]:
    sample = SAMPLES[DEFAULT_SAMPLE]
    data = prepare(load_series(sample.path), WindowConfig(window=CONFIGS["default"]["window"]))
    model = build_model(ModelConfig(hidden=CONFIGS["default"]["hidden"]))
    t0 = time.perf_counter()
    fit(model, data, TrainConfig(epochs=epochs, batch_size=CONFIGS["default"]["batch"], patience=0))
    seconds = time.perf_counter() - t0
    log(verbose, f"trained the default model on {sample.key} for {epochs} epoch(s) in {seconds:.1f} s")
    return PruningLab(model, data), seconds


def _moves(lab: PruningLab, values) -> tuple[list[float], list[float]]:
    for s in values[:3]:  # warm-up
        lab.at(PruneConfig(sensitivity=float(s)))
    ms, sparsities = [], []
    for s in values:
        t0 = time.perf_counter()
        snap = lab.at(PruneConfig(sensitivity=float(s)))
        ms.append(1e3 * (time.perf_counter() - t0))
        sparsities.append(snap.result.sparsity)
    return ms, sparsities


def slider_moves(lab: PruningLab, moves: int) -> dict:
    values = np.random.default_rng(0).permutation(np.linspace(0.1, 4.0, moves))
    ms, sparsities = _moves(lab, values)
    out = {"moves": moves, "median_ms": statistics.median(ms), "p90_ms": percentile(ms, 90), "max_ms": max(ms),
           "test_windows": len(lab.data.test), "sparsity_range": [min(sparsities), max(sparsities)]}
    # the same moves on one torch thread: on a machine whose cores are shared, two threads can be far slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one, _ = _moves(lab, values)
    finally:
        torch.set_num_threads(threads)
    out["one_thread"] = {"median_ms": statistics.median(one), "p90_ms": percentile(one, 90)}
    return out


def prune_only_sweep(lab: PruningLab, points: int) -> dict:
    configs = sweep_configs(PruneConfig(), sensitivities=np.linspace(0.0, 4.0, points))
    t0 = time.perf_counter()
    rows = sweep(lab, configs)
    seconds = time.perf_counter() - t0
    return {"points": len(rows), "seconds": seconds, "ms_per_point": 1e3 * seconds / max(len(rows), 1)}


def latency(model, window: int, repeats: int) -> dict:
    out = {}
    for batch in (1, 256):
        lat = measure_latency(model, window, batch=batch, repeats=repeats)
        out[f"batch_{batch}"] = {"ms_per_batch": lat.ms_per_batch, "us_per_forecast": lat.us_per_forecast}
    return out


# ---------------------------------------------------------------- main

def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller matrices and fewer repeats (about a minute)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    args = p.parse_args(argv)
    quick, verbose = args.quick, args.verbose

    started = time.perf_counter()
    result: dict = {"machine": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                                "cpus": os.cpu_count(), "python": platform.python_version(),
                                "processor": platform.machine(), "load_average_at_start": os.getloadavg()[0]},
                    "quick": quick}
    log(verbose, "matmul ...")
    mm = matmul_gflops(1024 if quick else 2048, 5 if quick else 10)
    result["matmul"] = mm

    result["training"] = {}
    for name, cfg in CONFIGS.items():
        steps = (6 if quick else 20) if name == "default" else (3 if quick else 8)
        log(verbose, f"training throughput, {name} {cfg} ...")
        result["training"][name] = training_throughput(cfg["hidden"], cfg["window"], cfg["batch"], steps,
                                                       mm["gflops"])

    lab, train_s = default_lab(1 if quick else 2, verbose)
    log(verbose, "slider moves ...")
    result["slider"] = {"model": {"hidden": CONFIGS["default"]["hidden"], "window": CONFIGS["default"]["window"],
                                  "sample": DEFAULT_SAMPLE, "training_seconds": train_s},
                        **slider_moves(lab, 20 if quick else 50)}
    log(verbose, "sweep ...")
    result["sweep"] = prune_only_sweep(lab, 40)
    log(verbose, "latency ...")
    result["latency"] = {"hidden": CONFIGS["default"]["hidden"], "window": CONFIGS["default"]["window"],
                         **latency(lab.model, CONFIGS["default"]["window"], 10 if quick else 30)}
    result["total_seconds"] = time.perf_counter() - started
    result["machine"]["load_average_at_end"] = os.getloadavg()[0]  # other work on the machine skews every figure

    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
