"""The reproducible study: the literature's comparison on several series, every method x sparsity x scope x seed,
as one command from a TOML file (studies/paper.toml).

It is `compare` run for each task and scope, with the trained models shared across a task's scopes (a seed's
dense model is trained once per task) and the unpruned references (dense GRU, gate variants) run once per task.
Rows are appended to `rows.jsonl` as they finish, so a stopped study resumes where it stopped; the report
(`study_report`) is built from those rows alone.
"""
from __future__ import annotations

import json
import os
import pathlib
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from scgru_core.study.compare import CompareConfig, compare, row_key
from scgru_core.study.methods import known_methods, method_kind
from scgru_core.data.reading import ReadConfig, load_series
from scgru_core.errors import ConfigError
from scgru_core.net.evaluate import evaluate_naive
from scgru_core.study.executors import Executor, Local
from scgru_core.net.model import ModelConfig
from scgru_core.pruning.scopes import Scope
from scgru_core.net.train import Callbacks, TrainConfig
from scgru_core.data.windows import Dataset, WindowConfig, prepare

ROWS_FILE = "rows.jsonl"
SKIPPED_FILE = "skipped.jsonl"  # points whose target the rule cannot reach, with the reason
RUNS_FILE = "runs.json"  # wall time of each (resumed) run of the study


@dataclass(frozen=True)
class Task:
    """One series of the study: a file (relative to the config file), its window and optionally its last N values."""

    name: str
    data: str
    window: int = 48
    column: str | None = None
    last: int | None = None  # keep only the last N values (a long series at a study's budget)

    def load(self, base: pathlib.Path) -> Dataset:
        path = (base / self.data).resolve()
        series = load_series(path, ReadConfig(column=self.column))
        if self.last is not None and len(series) > self.last:
            times = series.times[-self.last:] if series.times is not None else None
            series = replace(series, values=series.values[-self.last:], times=times)
        return prepare(series, WindowConfig(window=self.window))


@dataclass(frozen=True)
class StudyConfig:
    tasks: tuple[Task, ...]
    methods: tuple[str, ...] = ("sensitivity", "magnitude", "random", "taylor", "agp", "narang", "rewind")
    references: tuple[str, ...] = ("dense", "gru1", "gru2", "gru3")  # unpruned: once per task and seed
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.98)
    scopes: tuple[str, ...] = ("ih", "hh", "both")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    cells: tuple[str, ...] = ("gru",)  # every method x scope x sparsity on each cell (the [model] cell is ignored)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    finetune_epochs: int = 2
    base: str = "."  # the folder task paths are relative to (the config file's)
    source: str = "studies/paper.toml"  # the file it was read from, as the command was given it

    def __post_init__(self):
        if not self.tasks:
            raise ConfigError("a study needs at least one [[task]].")
        if "random" not in self.methods:
            raise ConfigError("random pruning is the study's baseline: keep 'random' in methods.")
        wrong = [m for m in self.methods if method_kind(m) in (None, "unpruned")] + \
            [m for m in self.references if method_kind(m) != "unpruned"]
        if wrong:
            raise ConfigError(f"{', '.join(wrong)}: methods are pruning methods, references are {', '.join(m for m in known_methods() if method_kind(m) == 'unpruned')}.")
        if not self.cells:
            raise ConfigError("a study needs at least one cell.")
        for scope in self.scopes:
            Scope.parse(scope)
        self.compare_configs()  # every refusal of compare's, before anything runs

    def compare_configs(self) -> list[CompareConfig]:
        """Per cell, one CompareConfig per scope and one for the references (their scope and target are ignored)."""
        configs = []
        for cell in self.cells:
            common = dict(seeds=self.seeds, model=replace(self.model, cell=cell), train=self.train,
                          finetune_epochs=self.finetune_epochs)
            configs += [CompareConfig(methods=self.methods, sparsities=self.sparsities, scope=Scope.parse(s), **common)
                        for s in self.scopes]
            if self.references:
                configs.append(CompareConfig(methods=self.references, sparsities=(0.0,), **common))
        return configs

    @classmethod
    def from_toml(cls, path: str | pathlib.Path) -> "StudyConfig":
        """Read a study file: [study] lists, [model], [train], and one [[task]] table per series."""
        path = pathlib.Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"no study file at {path}.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
        study = dict(raw.get("study", {}))
        try:
            tasks = tuple(Task(**t) for t in raw.get("task", []))
            kw = {k: tuple(v) if isinstance(v, list) else v for k, v in study.items()}
            return cls(tasks=tasks, model=ModelConfig(**raw.get("model", {})), train=TrainConfig(**raw.get("train", {})),
                       base=str(path.resolve().parent), source=str(path), **kw)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc} (see studies/paper.toml for the keys).") from None

    def to_dict(self) -> dict:
        return {**asdict(self), "tasks": [asdict(t) for t in self.tasks]}


@dataclass
class StudyRun:
    rows: list[dict]
    naive: dict  # task name -> the naive forecast's test metrics
    seconds: float  # this run's wall time
    cancelled: bool = False


def read_rows(out: pathlib.Path) -> list[dict]:
    """The rows a study wrote so far (a line cut short by a kill is dropped: it is recomputed)."""
    path = out / ROWS_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def read_skipped(out: pathlib.Path) -> list[dict]:
    """The points a study found unreachable so far (one per task, scope, method, target and seed)."""
    path = out / SKIPPED_FILE
    lines = path.read_text().splitlines() if path.exists() else []
    unique = {}
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        unique[(row["task"], row.get("cell", "gru"), row["scope"], row["method"], row["target_sparsity"],
                row["seed"])] = row
    return list(unique.values())


def skipped_keys(out: pathlib.Path, task: str) -> list[tuple]:
    """The row keys of a task's unreachable points, so a resumed study does not try them again."""
    return [(r["method"], r["scope"], False, round(float(r["target_sparsity"]), 6), int(r["seed"]),
             r.get("cell", "gru")) for r in read_skipped(out) if r["task"] == task]


def run_study(config: StudyConfig, out: str | pathlib.Path, executor: Executor | None = None, resume: bool = False,
              callbacks: Callbacks = Callbacks(), on_row: Callable[[str, int, int, dict], None] | None = None) -> StudyRun:
    """Every row of `config` not already in `out/rows.jsonl` (with `resume`; otherwise the file starts afresh),
    appended there as it finishes. Returns all rows of the study so far."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(out) if resume else []
    if not resume:
        (out / ROWS_FILE).write_text("")
        (out / SKIPPED_FILE).write_text("")
        (out / RUNS_FILE).write_text("[]")
    executor = executor or Local()
    start, naive, cancelled, failed = time.perf_counter(), {}, False, None
    try:
        with open(out / ROWS_FILE, "a") as log:
            for task in config.tasks:
                data = task.load(pathlib.Path(config.base))
                naive[task.name] = evaluate_naive(data).metrics.to_dict()
                done = [row_key(r) for r in rows if r["task"] == task.name]
                cache: dict = {}  # the task's trained models, shared by its scopes

                def arrived(i, n, row, task=task):
                    row = {"task": task.name, **row}
                    rows.append(row)
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                    if on_row is not None:
                        on_row(task.name, i, n, row)

                for cmp in config.compare_configs():
                    result = compare(data, cmp, done=done + skipped_keys(out, task.name), callbacks=callbacks,
                                     on_row=arrived, cache=cache, executor=executor)
                    with open(out / SKIPPED_FILE, "a") as skipped:
                        for skip in result.skipped:
                            method, target, seed = skip.point
                            skipped.write(json.dumps({"task": task.name, "cell": cmp.model.cell, "method": method,
                                                      "scope": cmp.scope.to_text(),
                                                      "target_sparsity": target, "seed": seed,
                                                      "reason": skip.reason}) + "\n")
                    if result.cancelled:
                        cancelled = True
                        break
                if cancelled:
                    break
    except BaseException as exc:  # the rows so far are on disk; the run's time is recorded before it propagates
        failed = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        seconds = time.perf_counter() - start
        runs = json.loads((out / RUNS_FILE).read_text()) if (out / RUNS_FILE).exists() else []
        cluster = (getattr(executor, "address", None) or os.environ.get("RAY_ADDRESS")) if executor.name == "ray" else None
        runs.append({"seconds": seconds, "rows": len(rows), "executor": executor.name,
                     **({"cluster": cluster} if cluster else {"workers": getattr(executor, "workers", 1)}),
                     "cancelled": cancelled,
                     **({"failed": failed} if failed else {})})
        (out / RUNS_FILE).write_text(json.dumps(runs, indent=1))
    return StudyRun(rows=rows, naive=naive, seconds=seconds, cancelled=cancelled)
