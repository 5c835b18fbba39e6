"""Training throughput and error, fp32 against bf16 autocast, over seeds, on each executor.

    .venv/bin/python benchmarks/training_precision.py [--hidden 350 --window 100 --epochs 3 --seeds 0,1,2,3,4]
        [--executors local,process]

Each task trains one dense model on the power-load sample at one thread and reports windows per second and the
test RMSE; per executor, the rate per task and the aggregate rate (all windows / wall time), and per precision
the mean test RMSE with its 95% interval over the seeds (is bf16's error within fp32's seed spread?).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scgru_core as sc  # noqa: E402
from scgru_core.net.quantize import bf16_native  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402
from scgru_core.study.stats import mean_interval  # noqa: E402


def train_one(data, hidden: int, epochs: int, seed: int, precision: str, callbacks=None) -> dict:
    model, training = sc.train_dense(data, sc.ModelConfig(hidden=hidden),
                                     sc.TrainConfig(epochs=epochs, patience=0, seed=seed, precision=precision))
    return {"seed": seed, "precision": training.precision, "windows_per_s": training.samples_per_second,
            "seconds": training.seconds, "samples": training.samples,
            "rmse": sc.evaluate(model, data).metrics.rmse}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=350)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--executors", default="local,process")
    args = ap.parse_args()
    data = sc.prepare(sc.load_series(SAMPLES["power_load"].path), sc.WindowConfig(window=args.window))
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"native bf16: {bf16_native()}; hidden {args.hidden}, window {args.window}, {args.epochs} epochs, batch 32, "
          f"{len(data.train)} training windows; load average at start {os.getloadavg()[0]:.2f}")
    for name in args.executors.split(","):
        executor = sc.make_executor(name, 2)
        for precision in ("fp32", "bf16"):
            tasks = [(data, args.hidden, args.epochs, seed, precision) for seed in seeds]
            start = time.perf_counter()
            rows = [r for _, r in executor.map(train_one, tasks)]
            wall = time.perf_counter() - start
            ci = mean_interval([r["rmse"] for r in rows])
            by_seed = ", ".join(f"{r['rmse']:.0f}" for r in rows)
            per_task = sum(r["windows_per_s"] for r in rows) / len(rows)
            print(f"{name:<8} {precision}: {per_task:7.0f} windows/s per task, {sum(r['samples'] for r in rows) / wall:7.0f} "
                  f"windows/s in all ({wall:.0f} s wall); test RMSE {ci.mean:.1f} +- {ci.half:.1f} MW "
                  f"(seeds: {by_seed}); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
