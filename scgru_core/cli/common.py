"""What every `python -m scgru_core` subcommand shares: the registry of commands, the common options,
settings from options, progress lines and JSON/CSV writers. Command modules import this, never each other."""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import pathlib
import signal
import sys

from scgru_core.cli.flags import other, scope, table
from scgru_core.data.reading import AUTO, MISSING_POLICIES, ReadConfig, Series, load_series
from scgru_core.errors import ConfigError
from scgru_core.study.executors import EXECUTORS, Executor, Ray, make_executor
from scgru_core.study.experiment import RUN_FINETUNE_EPOCHS, RunConfig
from scgru_core.net.model import CELLS, ModelConfig
from scgru_core.pruning.rules import RULES, PruneConfig, Scope
from scgru_core.data.times import DATE_ORDERS
from scgru_core.net.train import PRECISIONS, Callbacks, EpochLog, TrainConfig, FINETUNE_LR
from scgru_core.data.windows import WindowConfig, few_windows

COMMANDS = {}


def command(fn):
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=other("threads"), help="torch CPU threads (default: 1 below 256 hidden units, where more only "
                                               "add overhead; from there on the cores that are free)")


def add_executor(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where the runs execute (each at one thread: the same numbers on every executor)")
    g.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="local: in this process; process: a local process pool (the default when more than one "
                        "core is free); ray: Ray (pip install -r requirements-ray.txt)")
    g.add_argument("--workers", type=other("workers"), help="parallel runs (default: the free cores; on Ray, a local Ray's CPUs)")
    g.add_argument("--ray-address", help="an existing Ray cluster (default: RAY_ADDRESS, else a local Ray)")


def executor_from(args) -> Executor:
    """The executor the options name, started now: a Ray that cannot be reached or started is refused (exit 2) in
    seconds, before any training."""
    executor = make_executor(args.executor, args.workers, args.ray_address)
    if isinstance(executor, Ray):
        if not args.quiet:
            print("  starting Ray in a child process…", file=sys.stderr, flush=True)
        executor.start()
    if not args.quiet:
        print(f"  executor: {executor.name}" + (f", {executor.workers} workers" if executor.name != "local" else ""),
              file=sys.stderr, flush=True)
    return executor


_W, _M, _T, _P = WindowConfig(), ModelConfig(), TrainConfig(), PruneConfig()  # one set of defaults (settings.py)


def add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="CSV, XLSX or Parquet file")
    g.add_argument("--column", help="value column (default: the first numeric one)")
    g.add_argument("--time-column", default=AUTO, help="time column (default: detected; 'none' for none)")
    g.add_argument("--missing", choices=MISSING_POLICIES, default="interpolate")
    g.add_argument("--date-order", choices=DATE_ORDERS, default="auto",
                   help="dates such as 01.02.2024: auto (decided from the data; refused when it cannot be), day or "
                        "month first")
    g.add_argument("--window", type=table("window"), default=_W.window)
    g.add_argument("--horizon", type=table("horizon"), default=_W.horizon)
    g.add_argument("--val-fraction", type=table("val"), default=_W.val_fraction)
    g.add_argument("--test-fraction", type=table("test"), default=_W.test_fraction)
    g.add_argument("--log", action="store_true", help="log-transform the series before scaling")
    g = p.add_argument_group("model and training")
    g.add_argument("--hidden", type=table("hidden"), default=_M.hidden)
    g.add_argument("--layers", type=table("layers"), default=_M.layers)
    g.add_argument("--cell", choices=CELLS, default=_M.cell)
    g.add_argument("--epochs", type=table("epochs"), default=_T.epochs)
    g.add_argument("--batch-size", type=table("batch"), default=_T.batch_size)
    g.add_argument("--lr", type=table("lr"), default=_T.lr)
    g.add_argument("--patience", type=table("patience"), default=_T.patience)
    g.add_argument("--seed", type=table("seed"), default=_T.seed)
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: train under bf16 autocast where the CPU has native bf16 (fp32 elsewhere)")
    g = p.add_argument_group("pruning")
    g.add_argument("--method", choices=sorted(RULES), default="sensitivity")
    g.add_argument("--scope", type=scope, default="both", help="both, ih, hh, or gates such as 'hh:reset,hh:update'")
    g.add_argument("--global", dest="global_", action="store_true", help="rank all in-scope weights together")
    g.add_argument("--include-head", action="store_true", help="prune the linear head too")
    g.add_argument("--floor", type=table("floor"), default=_P.floor, help="SCGRU floor k: keep at least this fraction")
    g.add_argument("--finetune-epochs", type=table("finetune_epochs"), default=RUN_FINETUNE_EPOCHS,
                   help="epochs of fine-tuning after pruning (0: none)")
    g.add_argument("--finetune-lr", type=table("lr"), default=FINETUNE_LR,
                   help=f"learning rate of fine-tuning after pruning (default {FINETUNE_LR})")
    p.add_argument("--json", help="write the result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_threads(p)


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
    return RunConfig(
        read=ReadConfig(column=args.column, time_column=time_column, missing=args.missing, date_order=args.date_order),
        windows=WindowConfig(window=args.window, horizon=args.horizon, val_fraction=args.val_fraction,
                             test_fraction=args.test_fraction, log=args.log),
        model=ModelConfig(hidden=args.hidden, layers=args.layers, cell=args.cell),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                          seed=args.seed, precision=args.precision),
        prune=PruneConfig(**prune_kw), finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr,
        target_sparsity=target)


class Interrupt:
    """Called as a `should_stop`: True once Ctrl-C was pressed (see `stop_on_interrupt`)."""

    def __init__(self):
        self.asked = False

    def __call__(self) -> bool:
        return self.asked


@contextlib.contextmanager
def stop_on_interrupt():
    """The first Ctrl-C asks the command to stop after the training step under way, so it can write the rows
    it finished (and `--resume` continue from them); a second one quits at once."""
    flag = Interrupt()

    def handler(signum, frame):
        if flag.asked:
            raise KeyboardInterrupt
        flag.asked = True
        print("  stopping after the step under way; the finished rows will be written (Ctrl-C again to quit now)",
              file=sys.stderr, flush=True)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C is not ours to handle
        previous = None
    try:
        yield flag
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def previous_rows(args) -> list[dict]:
    """The rows an earlier, interrupted run of the same command wrote (JSON preferred: it keeps the types)."""
    if args.json and pathlib.Path(args.json).exists():
        return json.loads(pathlib.Path(args.json).read_text()).get("rows", [])
    if args.csv and pathlib.Path(args.csv).exists():
        with open(args.csv, newline="") as fh:
            return list(csv.DictReader(fh))
    return []


def interrupted(written_to: list[str | None], rows: int) -> int:
    """Say where the finished rows went and how to continue; the exit code of an interrupted command."""
    where = " and ".join(p for p in written_to if p) or "nowhere (no --csv or --json was given)"
    print(f"interrupted: {rows} finished row(s) written to {where}; the same command with --resume continues",
          file=sys.stderr, flush=True)
    return 130


def load_data(args, read: ReadConfig, windows: WindowConfig) -> Series:
    """The series of --data, with what to read before training on stderr: a guessed date order, rows dropped or
    re-sorted, extreme values, too few validation or test windows (the notes the app shows)."""
    series = load_series(args.data, read)
    few = few_windows(len(series), windows)
    if not getattr(args, "quiet", False):
        for note in series.report.notes() + ([few] if few else []):
            print(f"  note: {note}", file=sys.stderr, flush=True)
    return series


def progress_callbacks(quiet: bool, label: str = "epoch", should_stop=None) -> Callbacks:
    def on_epoch(log: EpochLog) -> None:
        print(f"  {label} {log.epoch}/{log.epochs}  train {log.train_loss:.4f}  val {log.val_loss:.4f}  "
              f"({log.seconds:.1f}s)", file=sys.stderr, flush=True)
    return Callbacks(on_epoch=None if quiet else on_epoch, should_stop=should_stop)


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


def metric_line(name: str, m: dict) -> str:
    return f"  {name:<10} RMSE {m['rmse']:>12.4g}  MAE {m['mae']:>12.4g}  sMAPE {m['smape']:>7.3f}%  MASE {m['mase']:.4f}"
