"""`python -m scgru_core run|sweep|compare|shrink`: the engine without the UI, JSON/CSV out.

Exit codes: 0 success, 2 bad input or settings (one line on stderr, no traceback),
1 a training run that diverged, 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from scgru_core import threads
from scgru_core.cli import compare as compare_cli
from scgru_core.cli import sensitivity as sensitivity_cli
from scgru_core.cli import shrink as shrink_cli
from scgru_core.cli import study as study_cli
from scgru_core.cli.common import (COMMANDS, add_common, add_executor, command, configs_from, executor_from,
                                   interrupted, load_data, metric_line, previous_rows, progress_callbacks,
                                   stop_on_interrupt, write_csv, write_json)
from scgru_core.cli.flags import Parser, check_outputs, other, table, table_list
from scgru_core.errors import ConfigError, ScgruError, TrainingDivergedError
from scgru_core.store.brought import load_brought
from scgru_core.study.experiment import config_to_dict, run, train_dense
from scgru_core.deploy.export import export_model, require_onnx
from scgru_core.store.runs import save_run
from scgru_core.pruning.lab import PruningLab
from scgru_core.study.sweep import sweep, sweep_configs
from scgru_core.net.train import finetune_config
from scgru_core.deploy.units import UnitConfig
from scgru_core.data.windows import prepare


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m scgru_core",
                    description="Train, prune (SCGRU and baselines), fine-tune and cost a GRU, LSTM or RNN "
                                "forecaster, or one trained elsewhere (run --model).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train, prune once, fine-tune once; print a summary")
    add_common(p)
    ctl = p.add_mutually_exclusive_group()
    ctl.add_argument("--sensitivity", type=table("sensitivity"), help="SCGRU s: prune |w| < s * std(|W|)")
    ctl.add_argument("--sparsity", type=table("sparsity"), help="target fraction pruned (any method)")
    p.add_argument("--out", help="save the run (config, weights, masks, metrics) in this directory")
    p.add_argument("--model", metavar="FILE", help="skip training: prune a model trained elsewhere, a safetensors file "
                   "with one nn.GRU / nn.LSTM / nn.RNN and one nn.Linear head (its sizes, window, horizon and scaling "
                   "replace --hidden, --layers, --cell, --window and --horizon)")
    p.add_argument("--model-json", metavar="FILE", help="the --model's description: window, horizon, scaler "
                   "(default: model.json beside it; the lab's export writes one)")
    p.add_argument("--structured-units", type=other("units"), metavar="P",
                   help="instead of masking weights, remove this fraction of each layer's hidden units (smallest "
                        "L2 norm), fine-tune the smaller GRU once and measure what it saves")
    shrink_cli.add_structured_options(p)
    p = sub.add_parser("sweep", help="train once, then one row per threshold or sparsity")
    add_common(p)
    ctl = p.add_mutually_exclusive_group(required=True)
    add_executor(p)
    ctl.add_argument("--sensitivities", type=table_list("sensitivity"))
    ctl.add_argument("--sparsities", type=table_list("sparsity"))
    p.add_argument("--csv", help="write the rows as CSV here")
    p.add_argument("--resume", action="store_true", help="keep the points already in --json/--csv and skip them")
    compare_cli.add_parser(sub)
    shrink_cli.add_parser(sub)
    study_cli.add_parser(sub)
    sensitivity_cli.add_parser(sub)
    return parser


@command
def cmd_run(args) -> int:
    config = configs_from(args)
    if args.onnx:
        require_onnx()
    brought = None
    if args.model:
        if args.structured_units is not None:
            raise ConfigError("--structured-units trains its own model; to remove units of a model trained elsewhere, "
                              "run with --model first and --out DIR, then `shrink --run DIR`.")
        brought = load_brought(args.model, args.model_json)
        config = replace(config, windows=brought.windows())
        if brought.scaling_note and not args.quiet:
            print(f"note: {brought.scaling_note}", file=sys.stderr)
    elif args.model_json:
        raise ConfigError("--model-json describes a --model FILE: give the model too.")
    if args.structured_units is not None:
        return structured_run(args, config)
    series = load_data(args, config.read, config.windows)
    result = run(args.data, config, callbacks=progress_callbacks(args.quiet), series=series, brought=brought)
    payload = result.to_json()
    c = result.cost
    config = result.config
    print(f"{result.series.name}: {len(result.series)} values, window {config.windows.window}, "
          f"hidden {config.model.hidden} x {config.model.layers} ({config.model.cell})"
          + (f", brought from {args.model} (not trained here)" if brought else ""))
    for key in ("naive", "dense", "pruned", "finetuned"):
        if key in payload:
            print(metric_line(key, payload[key]))
    pc = result.prune_config
    control = f"s = {pc.sensitivity:.4g}" if pc.rule.control == "sensitivity" else f"target {pc.sparsity:.0%}"
    print(f"  pruning    {pc.method} ({control}, scope {pc.scope.label()}): {payload['sparsity']['overall']:.2%} "
          f"of in-scope weights pruned")
    print(f"  cost       {c.params_nonzero:,}/{c.params_total:,} parameters non-zero; MACs/forecast "
          f"{c.macs_nonzero:,} of {c.macs_dense:,}; bytes dense {c.bytes_dense:,}, CSR {c.bytes_csr:,}, "
          f"bitmask {c.bytes_bitmask:,} (x{c.compression:.2f})")
    print(f"  time       {result.seconds:.1f} s")
    if args.out:
        save_run(args.out, result.final_model(), result.snapshot.result.masks,
                 {**config_to_dict(config, pc), **shrink_cli.data_file_settings(args.data)}, payload,
                 result.data.scaler)
        print(f"  saved to   {args.out}")
    if args.export:
        export_model(args.export, result.final_model(), result.data.window, result.data.scaler,
               onnx=args.onnx)
        print(f"  exported   to {args.export} (plain torch weights, model.json, load_model.py)")
    write_json(args.json, payload)
    return 0


def structured_run(args, config) -> int:
    """`run --structured-units P`: train dense, then the structured recipe instead of weight masks."""
    unit_config = UnitConfig(method="unit_norm", fraction=args.structured_units)
    unit_config.check_for(config.model.hidden)  # refuse before training
    data = prepare(load_data(args, config.read, config.windows), config.windows)
    model, _ = train_dense(data, config.model, config.train, progress_callbacks(args.quiet))
    return shrink_cli.structured(args, model, data, unit_config, config.train,
                                 extra={"config": config_to_dict(config)})


def _num(value) -> float | None:
    """A row's value as a number (rows read back from a CSV hold text; an empty cell is None)."""
    return None if value in (None, "") else float(value)


@command
def cmd_sweep(args) -> int:
    config = configs_from(args)
    series = load_data(args, config.read, config.windows)
    data = prepare(series, config.windows)
    by = "sensitivity" if args.sensitivities is not None else "target_sparsity"  # what names a point
    previous = previous_rows(args) if args.resume else []
    done = {round(_num(r[by]), 9) for r in previous}
    points = [(c, t) for c, t in sweep_configs(config.prune, args.sensitivities, args.sparsities)
              if round(c.sensitivity if by == "sensitivity" else t, 9) not in done]
    executor = executor_from(args)  # a Ray that cannot start is refused before the training
    with stop_on_interrupt() as stop:
        model, training = train_dense(data, config.model, config.train, progress_callbacks(args.quiet, should_stop=stop))
        if training.cancelled:  # nothing finished yet: keep whatever an earlier run wrote
            return interrupted([], len(previous))
        lab = PruningLab(model, data)
        ft = finetune_config(config.train, config.finetune_epochs, config.finetune_lr) if config.finetune_epochs > 0 \
            else None

        def progress(i, n):
            if not args.quiet:
                print(f"  point {i}/{n}", file=sys.stderr, flush=True)

        rows = previous + sweep(lab, points, ft, progress=progress, should_stop=stop, executor=executor)
    print(f"{'s':>8} {'target':>7} {'sparsity':>9} {'rmse':>12} {'macs_nonzero':>13} {'bytes_csr':>10}")
    for r in rows:
        s, t = _num(r["sensitivity"]), _num(r["target_sparsity"])
        print(f"{'-' if s is None else format(s, '.3g'):>8} {'-' if t is None else format(t, '.2f'):>7} "
              f"{_num(r['sparsity']):>9.2%} {_num(r['rmse']):>12.4g} {int(_num(r['macs_nonzero'])):>13,} "
              f"{int(_num(r['bytes_csr'])):>10,}")
    payload = {"dense": lab.dense.metrics.to_dict(), "naive": lab.naive.metrics.to_dict(),
               "dense_cost": lab.dense_cost.to_dict(), "config": config_to_dict(config), "rows": rows}
    write_csv(args.csv, rows)
    write_json(args.json, payload)
    return interrupted([args.csv, args.json], len(rows)) if stop() else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a refused flag (one line already printed) or --help
        return exc.code if isinstance(exc.code, int) else 2
    hidden = getattr(args, "hidden", None)
    try:
        check_outputs(args)
        with threads.pinned_to(args.threads if args.threads is not None else threads.choose_threads(hidden or 0)):
            return COMMANDS[args.command](args)
    except TrainingDivergedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ScgruError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a disk that filled up or a file that went away while the command ran
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
