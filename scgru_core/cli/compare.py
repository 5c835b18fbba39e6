"""`python -m scgru_core compare`: the comparison runner from the command line, CSV/JSON out.

Kept apart from compare.py so the runner stays free of argparse; cli.build_parser adds its parser.
"""
from __future__ import annotations

import sys
from dataclasses import asdict

from scgru_core.cli.common import (add_common, load_data, add_executor, command, configs_from, executor_from,
                                   interrupted, previous_rows, progress_callbacks, stop_on_interrupt, write_csv,
                                   write_json)
from scgru_core.cli.flags import other, table_list
from scgru_core.study.compare import CompareConfig, compare, row_key
from scgru_core.study.methods import known_methods
from scgru_core.pruning.gradual import GradualPlan
from scgru_core.pruning.rules import RULES
from scgru_core.data.windows import prepare


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="methods x target sparsities x seeds, one row of error and cost each")
    add_common(p)
    add_executor(p)
    p.add_argument("--methods", required=True, help=f"comma list from: {', '.join(known_methods())}")
    p.add_argument("--sparsities", type=table_list("sparsity"), required=True, help="target sparsities, e.g. 0.5,0.8,0.9")
    p.add_argument("--seeds", type=other("seeds"), default=1, help="number of seeds, counted up from --seed")
    p.add_argument("--csv", help="write the rows as CSV here")
    p.add_argument("--resume", action="store_true", help="keep the rows already in --json/--csv and skip them")
    p.add_argument("--rewind-rule", choices=[r for r in RULES if not RULES[r].needs_scores], default="magnitude",
                   help="whose mask the rewind method retrains from the initial weights")
    g = p.add_argument_group("gradual schedule (agp, narang)")
    g.add_argument("--prune-start-epochs", type=other("prune_start_epochs"), default=GradualPlan.start_epochs)
    g.add_argument("--prune-end-fraction", type=other("prune_end_fraction"), default=GradualPlan.end_fraction,
                   help="fraction of the E + F epoch budget at which the final mask is reached")
    g.add_argument("--prune-frequency", type=other("prune_frequency"), default=GradualPlan.frequency, help="steps between mask updates")



@command
def cmd_compare(args) -> int:
    run_config = configs_from(args)
    config = CompareConfig(
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()), sparsities=tuple(args.sparsities),
        seeds=tuple(args.seed + i for i in range(max(args.seeds, 0))), scope=run_config.prune.scope,
        model=run_config.model, train=run_config.train, finetune_epochs=run_config.finetune_epochs,
        plan=GradualPlan(start_epochs=args.prune_start_epochs, end_fraction=args.prune_end_fraction,
                         frequency=args.prune_frequency),
        rewind_rule=args.rewind_rule, floor=args.floor, global_=args.global_)
    data = prepare(load_data(args, run_config.read, run_config.windows), run_config.windows)
    previous = previous_rows(args) if args.resume else []

    executor = executor_from(args)

    def on_row(i, n, row):
        if not args.quiet:
            print(f"  row {i}/{n}: {row['method']} target {row['target_sparsity']:.2f} seed {row['seed']}: "
                  f"rmse {row['rmse']:.4g}, sparsity {row['sparsity']:.2%} ({row['seconds']:.1f}s)",
                  file=sys.stderr, flush=True)

    with stop_on_interrupt() as stop:
        result = compare(data, config, done=previous, callbacks=progress_callbacks(args.quiet, should_stop=stop),
                         on_row=on_row, executor=executor)
    order = {config.key(*point): i for i, point in enumerate(config.points())}  # rows finish in any order
    rows = sorted([r for r in previous if row_key(r) in order] + result.rows, key=lambda r: order[row_key(r)])
    print(f"{'method':<12} {'target':>6} {'seed':>4} {'sparsity':>9} {'rmse':>12} {'mae':>12} "
          f"{'params_nonzero':>14} {'seconds':>8}")
    for r in rows:
        print(f"{r['method']:<12} {float(r['target_sparsity']):>6.2f} {int(r['seed']):>4} {float(r['sparsity']):>9.2%} "
              f"{float(r['rmse']):>12.4g} {float(r['mae']):>12.4g} {int(float(r['params_nonzero'])):>14,} "
              f"{float(r['seconds']):>8.1f}")
    for skip in result.skipped:
        method, target, seed = skip.point
        print(f"skipped {method} target {target:.2f} seed {seed}: {skip.reason}", file=sys.stderr)
    traces = {f"{m}|{t}|{s}": v for (m, t, s), v in result.traces.items()}
    write_csv(args.csv, rows)
    settings = {"methods": list(config.methods), "sparsities": list(config.sparsities), "seeds": list(config.seeds),
                "scope": config.scope.to_text(), "global": config.global_, "model": asdict(config.model),
                "train": asdict(config.train), "finetune_epochs": config.finetune_epochs, "plan": asdict(config.plan),
                "rewind_rule": config.rewind_rule}
    write_json(args.json, {"config": settings, "rows": rows, "sparsity_by_step": traces, "cancelled": result.cancelled,
                           "skipped": [{"method": k.point[0], "target_sparsity": k.point[1], "seed": k.point[2],
                                        "reason": k.reason} for k in result.skipped]})
    return interrupted([args.csv, args.json], len(rows)) if result.cancelled else 0
