"""`python -m scgru_core run|sweep|...`: the engine without the UI, JSON/CSV out.

Exit codes: 0 success, 2 bad input or settings (one line on stderr, no traceback),
1 a training run that diverged, 130 interrupted.
"""
from __future__ import annotations

import argparse
import csv
import json
import pathlib
import sys

from .data import AUTO, MISSING_POLICIES, ReadConfig, load_series
from .errors import ConfigError, ScgruError, TrainingDivergedError
from .experiment import RunConfig, config_to_dict, run, train_dense
from .io import save_run
from .lab import PruningLab
from .model import CELLS, ModelConfig
from .pruning import RULES, PruneConfig, Scope
from .sweep import sweep, sweep_configs
from .train import Callbacks, EpochLog, TrainConfig, FINETUNE_LR, finetune_config
from .windows import WindowConfig, prepare

COMMANDS = {}


def command(fn):
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="CSV, XLSX or Parquet file")
    g.add_argument("--column", help="value column (default: the first numeric one)")
    g.add_argument("--time-column", default=AUTO, help="time column (default: detected; 'none' for none)")
    g.add_argument("--missing", choices=MISSING_POLICIES, default="interpolate")
    g.add_argument("--window", type=int, default=48)
    g.add_argument("--horizon", type=int, default=1)
    g.add_argument("--val-fraction", type=float, default=0.15)
    g.add_argument("--test-fraction", type=float, default=0.15)
    g.add_argument("--log", action="store_true", help="log-transform the series before scaling")
    g = p.add_argument_group("model and training")
    g.add_argument("--hidden", type=int, default=64)
    g.add_argument("--layers", type=int, default=1)
    g.add_argument("--cell", choices=CELLS, default="gru")
    g.add_argument("--epochs", type=int, default=30)
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--patience", type=int, default=5)
    g.add_argument("--seed", type=int, default=0)
    g = p.add_argument_group("pruning")
    g.add_argument("--method", choices=sorted(RULES), default="sensitivity")
    g.add_argument("--scope", default="both", help="both, ih, hh, or gates such as 'hh:reset,hh:update'")
    g.add_argument("--global", dest="global_", action="store_true", help="rank all in-scope weights together")
    g.add_argument("--include-head", action="store_true", help="prune the linear head too")
    g.add_argument("--floor", type=float, default=0.01, help="SCGRU floor k: keep at least this fraction")
    g.add_argument("--finetune-epochs", type=int, default=5)
    g.add_argument("--finetune-lr", type=float, default=FINETUNE_LR,
                   help=f"learning rate of fine-tuning after pruning (default {FINETUNE_LR})")
    p.add_argument("--json", help="write the result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scgru_core",
                                     description="Train, prune (SCGRU and baselines), fine-tune and cost a GRU forecaster.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train, prune once, fine-tune once; print a summary")
    add_common(p)
    ctl = p.add_mutually_exclusive_group()
    ctl.add_argument("--sensitivity", type=float, help="SCGRU s: prune |w| < s * std(|W|)")
    ctl.add_argument("--sparsity", type=float, help="target fraction pruned (any method)")
    p.add_argument("--out", help="save the run (config, weights, masks, metrics) in this directory")
    p = sub.add_parser("sweep", help="train once, then one row per threshold or sparsity")
    add_common(p)
    ctl = p.add_mutually_exclusive_group(required=True)
    ctl.add_argument("--sensitivities", type=_floats)
    ctl.add_argument("--sparsities", type=_floats)
    p.add_argument("--csv", help="write the rows as CSV here")
    from . import compare_cli  # noqa: F401  (registers `compare` in EXTRA_PARSERS and COMMANDS)
    for extra in EXTRA_PARSERS:
        extra(sub)
    return parser


EXTRA_PARSERS = []  # other modules add subcommands here (see compare_cli.py)


def configs_from(args) -> RunConfig:
    time_column = None if str(args.time_column).lower() == "none" else args.time_column
    prune_kw = dict(method=args.method, scope=Scope.parse(args.scope, head=args.include_head),
                    global_=args.global_, floor=args.floor, seed=args.seed)
    target = None
    if getattr(args, "sensitivity", None) is not None:
        if RULES[args.method].control != "sensitivity":
            raise ConfigError(f"--sensitivity drives the sensitivity rule only; give {args.method} a --sparsity.")
        prune_kw["sensitivity"] = args.sensitivity
    elif getattr(args, "sparsity", None) is not None:
        target = args.sparsity
        if not 0 <= target < 1:
            raise ConfigError(f"--sparsity must be in [0, 1), not {target}.")
    return RunConfig(
        read=ReadConfig(column=args.column, time_column=time_column, missing=args.missing),
        windows=WindowConfig(window=args.window, horizon=args.horizon, val_fraction=args.val_fraction,
                             test_fraction=args.test_fraction, log=args.log),
        model=ModelConfig(hidden=args.hidden, layers=args.layers, cell=args.cell),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                          seed=args.seed),
        prune=PruneConfig(**prune_kw), finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr,
        target_sparsity=target)


def progress_callbacks(quiet: bool, label: str = "epoch") -> Callbacks:
    def on_epoch(log: EpochLog) -> None:
        print(f"  {label} {log.epoch}/{log.epochs}  train {log.train_loss:.4f}  val {log.val_loss:.4f}  "
              f"({log.seconds:.1f}s)", file=sys.stderr, flush=True)
    return Callbacks(on_epoch=None if quiet else on_epoch)


def write_json(path: str | None, payload) -> None:
    if path:
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(json.dumps(payload, indent=2, default=str))


def write_csv(path: str | None, rows: list[dict]) -> None:
    if path and rows:
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        fields = list(dict.fromkeys(k for row in rows for k in row))
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def _metric_line(name: str, m: dict) -> str:
    return f"  {name:<10} RMSE {m['rmse']:>12.4g}  MAE {m['mae']:>12.4g}  sMAPE {m['smape']:>7.3f}%  MASE {m['mase']:.4f}"


@command
def cmd_run(args) -> int:
    config = configs_from(args)
    result = run(args.data, config, callbacks=progress_callbacks(args.quiet))
    payload = result.to_json()
    c = result.cost
    print(f"{result.series.name}: {len(result.series)} values, window {config.windows.window}, "
          f"hidden {config.model.hidden} x {config.model.layers} ({config.model.cell})")
    for key in ("naive", "dense", "pruned", "finetuned"):
        if key in payload:
            print(_metric_line(key, payload[key]))
    pc = result.prune_config
    control = f"s = {pc.sensitivity:.4g}" if pc.rule.control == "sensitivity" else f"target {pc.sparsity:.0%}"
    print(f"  pruning    {pc.method} ({control}, scope {pc.scope.label()}): {payload['sparsity']['overall']:.2%} "
          f"of in-scope weights pruned")
    print(f"  cost       {c.params_nonzero:,}/{c.params_total:,} parameters non-zero; MACs/forecast "
          f"{c.macs_nonzero:,} of {c.macs_dense:,}; bytes dense {c.bytes_dense:,}, CSR {c.bytes_csr:,}, "
          f"bitmask {c.bytes_bitmask:,} (x{c.compression:.2f})")
    print(f"  time       {result.seconds:.1f} s")
    if args.out:
        final = result.finetuned_model or result.dense_model
        save_run(args.out, final, result.snapshot.result.masks, config_to_dict(config, pc), payload,
                 result.data.scaler)
        print(f"  saved to   {args.out}")
    write_json(args.json, payload)
    return 0


@command
def cmd_sweep(args) -> int:
    config = configs_from(args)
    series = load_series(args.data, config.read)
    data = prepare(series, config.windows)
    model, _ = train_dense(data, config.model, config.train, progress_callbacks(args.quiet))
    lab = PruningLab(model, data)
    points = sweep_configs(config.prune, args.sensitivities, args.sparsities)
    ft = finetune_config(config.train, config.finetune_epochs, config.finetune_lr) if config.finetune_epochs > 0 else None

    def progress(i, n):
        if not args.quiet:
            print(f"  point {i}/{n}", file=sys.stderr, flush=True)

    rows = sweep(lab, points, ft, progress=progress)
    print(f"{'s':>8} {'target':>7} {'sparsity':>9} {'rmse':>12} {'macs_nonzero':>13} {'bytes_csr':>10}")
    for r in rows:
        s = f"{r['sensitivity']:.3g}" if r["sensitivity"] is not None else "-"
        t = f"{r['target_sparsity']:.2f}" if r["target_sparsity"] is not None else "-"
        print(f"{s:>8} {t:>7} {r['sparsity']:>9.2%} {r['rmse']:>12.4g} {r['macs_nonzero']:>13,} {r['bytes_csr']:>10,}")
    payload = {"dense": lab.dense.metrics.to_dict(), "naive": lab.naive.metrics.to_dict(),
               "dense_cost": lab.dense_cost.to_dict(), "config": config_to_dict(config), "rows": rows}
    write_csv(args.csv, rows)
    write_json(args.json, payload)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
