"""Fine-tuned test RMSE of one-shot SCGRU pruning at 50/80/90/95/98% sparsity, scope both vs hh only.

    .venv/bin/python benchmarks/sparsity_table.py [--size default|reference] [--finetune-epochs N] [--json PATH]

The dense model is trained once per size (power-load sample, seed 0); every point prunes that model
with the sensitivity rule at the s that reaches the target sparsity of the in-scope weights, then
fine-tunes once with the masks held. Prints a markdown table and, with --json, the rows.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scgru_core import (ModelConfig, PruneConfig, PruningLab, Scope, TrainConfig, WindowConfig,  # noqa: E402
                        FINETUNE_LR, finetune_config, load_series, prepare, sweep, sweep_configs, train_dense)
from scgru_core.data.samples import SAMPLES  # noqa: E402

SIZES = {"default": dict(hidden=64, window=48, epochs=30), "reference": dict(hidden=350, window=100, epochs=5)}
SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.98)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="default")
    ap.add_argument("--finetune-epochs", type=int, default=5)
    ap.add_argument("--finetune-lr", type=float, default=FINETUNE_LR)
    ap.add_argument("--json")
    args = ap.parse_args()
    size = SIZES[args.size]
    data = prepare(load_series(SAMPLES["power_load"].path), WindowConfig(window=size["window"]))
    train = TrainConfig(epochs=size["epochs"], seed=0)
    t0 = time.perf_counter()
    model, log = train_dense(data, ModelConfig(hidden=size["hidden"]), train)
    lab = PruningLab(model, data)
    print(f"dense: {len(log.history)} epochs in {time.perf_counter() - t0:.0f} s, test RMSE {lab.dense.metrics.rmse:.1f} "
          f"(naive {lab.naive.metrics.rmse:.1f})", file=sys.stderr)
    rows = []
    for scope in ("both", "hh"):
        points = sweep_configs(PruneConfig(method="sensitivity", scope=Scope.parse(scope)), sparsities=SPARSITIES)
        for row in sweep(lab, points, finetune_config(train, args.finetune_epochs, args.finetune_lr)):
            rows.append({"size": args.size, "scope": scope, **row})
            print(f"  {scope:>4} {row['target_sparsity']:.2f}: pruned {row['pruned_rmse']:.1f} -> "
                  f"fine-tuned {row['finetuned_rmse']:.1f}", file=sys.stderr, flush=True)
    print("| size | target | scope both: sparsity / pruned / fine-tuned RMSE | scope hh: sparsity / pruned / fine-tuned RMSE |")
    print("|---|---|---|---|")
    for p in SPARSITIES:
        cells = []
        for scope in ("both", "hh"):
            r = next(r for r in rows if r["scope"] == scope and r["target_sparsity"] == p)
            cells.append(f"{r['sparsity']:.1%} / {r['pruned_rmse']:.1f} / {r['finetuned_rmse']:.1f}")
        print(f"| {args.size} | {p:.0%} | {cells[0]} | {cells[1]} |")
    print(f"dense RMSE {lab.dense.metrics.rmse:.1f}, naive {lab.naive.metrics.rmse:.1f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"dense": lab.dense.metrics.to_dict(),
                                                       "naive": lab.naive.metrics.to_dict(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
