"""The SCGRU reference recipe over seeds: hidden 350, window 100, 5 dense + 5 fine-tuning epochs, 98% sparsity,
power load, at scope both and scope hh. Prints each seed's dense, pruned and fine-tuned test RMSE, what is left
of the input weights, and the mean with its 95% interval per scope.

    .venv/bin/python benchmarks/reference_seeds.py [--seeds 0,1,2,3,4] [--executor local|process] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scgru_core as sc  # noqa: E402
from scgru_core.study.compare import Comparison  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402
from scgru_core.study.stats import mean_interval  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--scopes", default="both,hh")
    ap.add_argument("--executor", default="local")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--json")
    args = ap.parse_args()
    data = sc.prepare(sc.load_series(SAMPLES["power_load"].path), sc.WindowConfig(window=100))
    naive = sc.evaluate_naive(data).metrics.rmse
    cache, rows = {}, []
    executor = sc.make_executor(args.executor, args.workers)
    start, load = time.perf_counter(), os.getloadavg()[0]
    for scope in args.scopes.split(","):
        config = sc.CompareConfig(methods=("sensitivity",), sparsities=(0.98,),
                                  seeds=tuple(int(s) for s in args.seeds.split(",")), scope=sc.Scope.parse(scope),
                                  model=sc.ModelConfig(hidden=350), train=sc.TrainConfig(epochs=5), finetune_epochs=5)
        result = sc.compare(data, config, cache=cache, executor=executor,
                            on_row=lambda i, n, r: print(f"  {r['scope']} seed {r['seed']}: fine-tuned {r['rmse']:.1f}",
                                                         file=sys.stderr, flush=True))
        for row in result.rows:
            trained = cache[Comparison(data, config).training_key("gru", row["seed"], 5)]
            model = sc.build_model(config.model, data.horizon, row["seed"])
            model.load_state_dict(trained.state)
            lab = sc.PruningLab(model, data)
            snap = lab.at(sc.PruneConfig(sensitivity=row["sensitivity"], scope=config.scope))
            ih = snap.result.masks["rnn.weight_ih_l0"]
            rows.append({"scope": scope, "seed": row["seed"], "dense": lab.dense.metrics.rmse,
                         "pruned": row["pruned_rmse"], "finetuned": row["rmse"], "sparsity": row["sparsity"],
                         "ih_kept": int(ih.sum()), "ih_total": ih.numel()})
    print(f"load average at start {load:.2f}; {time.perf_counter() - start:.0f} s; naive test RMSE {naive:.1f} MW")
    print(f"{'scope':<6}{'seed':>5}{'dense':>9}{'pruned':>9}{'fine-tuned':>12}{'sparsity':>10}{'input weights kept':>20}")
    for r in rows:
        print(f"{r['scope']:<6}{r['seed']:>5}{r['dense']:>9.1f}{r['pruned']:>9.1f}{r['finetuned']:>12.1f}"
              f"{r['sparsity']:>10.2%}{r['ih_kept']:>12} of {r['ih_total']}")
    for scope in args.scopes.split(","):
        part = [r for r in rows if r["scope"] == scope]
        ci = mean_interval([r["finetuned"] for r in part])
        worse = sum(r["finetuned"] > naive for r in part)
        beat = sum(r["finetuned"] < r["dense"] for r in part)
        print(f"scope {scope}: fine-tuned {ci.mean:.1f} +- {ci.half:.1f} MW (95%, {ci.n} seeds), range "
              f"{min(r['finetuned'] for r in part):.1f}-{max(r['finetuned'] for r in part):.1f}; worse than naive in "
              f"{worse}, better than its dense model in {beat}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
