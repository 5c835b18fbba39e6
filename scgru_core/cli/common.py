"""What every `python -m scgru_core` subcommand shares: the registry of commands, the common options,
settings from options, progress lines and JSON/CSV writers. Command modules import this, never each other."""
from __future__ import annotations

import argparse
import keyword
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
from scgru_core.study.experiment import RunConfig
from scgru_core.pruning.rules import RULES
from scgru_core.pruning.scopes import Scope
from scgru_core.data.times import DATE_ORDERS
from scgru_core.net.metrics import METRICS
from scgru_core.net.train import PRECISIONS, Callbacks, EpochLog, FINETUNE_LR
from scgru_core.data.windows import WindowConfig, few_windows
from scgru_core.teach.setting import Setting
from scgru_core.teach.settings import SETTINGS, engine_config

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


def dest(setting: Setting) -> str:
    """Where argparse keeps a setting's flag: --batch-size in batch_size, --global in global_."""
    name = setting.cli_flag.removeprefix("--").replace("-", "_")
    return name + "_" if keyword.iskeyword(name) else name


def add_table_flags(group, *groups: str) -> None:
    """A flag for every setting of the table in `groups` that has one (Setting.cli_flag): typed, bounded, offered
    and defaulted by its row, so a setting added to the table is a flag of every command without another edit."""
    for s in SETTINGS.values():
        if s.group not in groups or s.cli_flag is None:
            continue
        kw = {"dest": dest(s), "help": (s.help or s.label).replace("**", "")}
        if s.type is bool:
            kw["action"] = "store_true"
        elif s.kind == "scope":
            kw.update(type=scope, default=s.default)
        elif s.type is str and s.choices is not None:
            kw.update(choices=list(s.choices), default=s.default)
        else:
            kw.update(type=table(s.name), default=s.default)
        group.add_argument(s.cli_flag, **kw)


def table_values(args, *groups: str) -> dict:
    """The table's settings in `groups` as the flags gave them, keyed by the table's names."""
    return {s.name: getattr(args, dest(s)) for s in SETTINGS.values()
            if s.group in groups and s.cli_flag is not None and hasattr(args, dest(s))}


def add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="CSV, XLSX or Parquet file")
    g.add_argument("--column", help="value column (default: the first numeric one)")
    g.add_argument("--time-column", default=AUTO, help="time column (default: detected; 'none' for none)")
    g.add_argument("--missing", choices=MISSING_POLICIES, default="interpolate")
    g.add_argument("--date-order", choices=DATE_ORDERS, default="auto",
                   help="dates such as 01.02.2024: auto (decided from the data; refused when it cannot be), day or "
                        "month first")
    add_table_flags(g, "data")
    g = p.add_argument_group("model and training")
    add_table_flags(g, "model", "training")
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: train under bf16 autocast where the CPU has native bf16 (fp32 elsewhere)")
    g = p.add_argument_group("pruning")
    add_table_flags(g, "pruning")
    g.add_argument("--include-head", action="store_true", help="prune the linear head too")
    g.add_argument("--finetune-lr", type=table("lr"), default=FINETUNE_LR,
                   help=f"learning rate of fine-tuning after pruning (default {FINETUNE_LR})")
    p.add_argument("--json", help="write the result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_threads(p)


def configs_from(args) -> RunConfig:
    time_column = None if str(args.time_column).lower() == "none" else args.time_column
    values = table_values(args, "data", "model", "training", "pruning")
    prune_kw = dict(scope=Scope.parse(args.scope, head=args.include_head), seed=args.seed)
    target = None
    if getattr(args, "sensitivity", None) is not None:
        if RULES[args.method].control != "sensitivity":
            raise ConfigError(f"--sensitivity drives the sensitivity rule only; give {args.method} a --sparsity.")
        prune_kw["sensitivity"] = args.sensitivity
    elif getattr(args, "sparsity", None) is not None:
        target = args.sparsity
    return RunConfig(
        read=ReadConfig(column=args.column, time_column=time_column, missing=args.missing, date_order=args.date_order),
        windows=engine_config("windows", values), model=engine_config("model", values),
        train=engine_config("train", values, precision=args.precision), prune=engine_config("prune", values, **prune_kw),
        finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr, target_sparsity=target)


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
    return f"  {name:<10} " + "  ".join(f"{spec.short} {spec.fmt.format(m[spec.name])}" for spec in METRICS)
