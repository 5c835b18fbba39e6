"""Dense vs gradual pruning (AGP, Narang) at the SCGRU reference size, on the power-load sample.

    .venv/bin/python benchmarks/compare_reference.py [--epochs 10] [--sparsity 0.9] [--scopes hh,both] ...

Every model gets the same budget of --epochs epochs: the dense GRU trains for all of it; AGP and
Narang train from scratch for all of it while pruning (schedule from --start-epochs to --end-fraction
of the budget, then the final mask). Narang's q is the target-quantile of |w| of that dense model.
Prints one row per method and scope with the test RMSE relative to the dense model; stops at
--budget-minutes of wall time (the runs in flight are cancelled, the finished rows are kept).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time


ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scgru_core import (Callbacks, CompareConfig, GradualPlan, ModelConfig, Scope, TrainConfig,  # noqa: E402
                        WindowConfig, compare, load_series, prepare)
import scgru_core as sc  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="the whole budget of every model")
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--scopes", default="hh,both")
    p.add_argument("--methods", default="agp,narang")
    p.add_argument("--hidden", type=int, default=350)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-epochs", type=float, default=GradualPlan.start_epochs)
    p.add_argument("--end-fraction", type=float, default=GradualPlan.end_fraction)
    p.add_argument("--frequency", type=int, default=GradualPlan.frequency)
    p.add_argument("--global", dest="global_", action="store_true", help="AGP ranks all in-scope weights together")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    p.add_argument("--budget-minutes", type=float, default=25.0)
    p.add_argument("--json", help="write the rows here as they finish")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sc.threads.pin(args.threads)
    data = prepare(load_series(SAMPLES["power_load"].path), WindowConfig(window=args.window))
    deadline = time.monotonic() + 60 * args.budget_minutes
    callbacks = Callbacks(on_epoch=lambda log: print(f"    epoch {log.epoch}/{log.epochs} val {log.val_loss:.4f} "
                                                     f"({log.seconds:.0f}s)", file=sys.stderr, flush=True),
                          should_stop=lambda: time.monotonic() > deadline)
    plan = GradualPlan(start_epochs=args.start_epochs, end_fraction=args.end_fraction, frequency=args.frequency)
    cache, rows, cancelled = {}, [], False
    points = [(m, s) for m in args.methods.split(",") for s in args.scopes.split(",")]  # AGP's rows first
    for method, scope_text in points:
        config = CompareConfig(methods=("dense", method), sparsities=(args.sparsity,),
                               seeds=(args.seed,), scope=Scope.parse(scope_text), model=ModelConfig(hidden=args.hidden),
                               train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                                 seed=args.seed),
                               finetune_epochs=0, plan=plan, global_=args.global_)  # F = 0: dense = Narang's reference
        result = compare(data, config, callbacks=callbacks, cache=cache, on_row=lambda i, n, r: print(
            f"  {r['method']} ({r['scope']}): rmse {r['rmse']:.1f}, sparsity {r['sparsity']:.2%}, "
            f"{r['seconds']:.0f}s", file=sys.stderr, flush=True))
        rows += [r for r in result.rows if r["method"] != "dense" or not any(x["method"] == "dense" for x in rows)]
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
        if result.cancelled:
            cancelled = True
            break
    dense = next((r for r in rows if r["method"] == "dense"), None)
    ranking = " (AGP ranked globally)" if args.global_ else ""
    print(f"power load, hidden {args.hidden}, window {args.window}, batch {args.batch_size}, {args.epochs} epochs "
          f"per model, seed {args.seed}, target sparsity {args.sparsity:.0%}{ranking}, plan {plan}")
    print(f"{'method':<8} {'scope':<5} {'sparsity':>9} {'of all':>7} {'rmse':>9} {'vs dense':>9} {'mae':>9} "
          f"{'nonzero':>9} {'seconds':>8}")
    for r in rows:
        rel = f"{100 * (r['rmse'] / dense['rmse'] - 1):+.1f}%" if dense else "-"
        scope = "-" if r["method"] == "dense" else r["scope"]
        print(f"{r['method']:<8} {scope:<5} {r['sparsity']:>9.2%} {r['sparsity_all_parameters']:>7.1%} "
              f"{r['rmse']:>9.1f} {rel:>9} {r['mae']:>9.1f} {r['params_nonzero']:>9,} {r['seconds']:>8.0f}")
    if cancelled:
        print(f"stopped at the {args.budget_minutes:g}-minute budget; the rows above are the finished ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
