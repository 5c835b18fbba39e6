"""Method comparison: methods x target sparsities x seeds -> one row of error and cost each.

The protocol gives every method the same training budget of E dense epochs (TrainConfig.epochs)
plus F fine-tuning epochs (finetune_epochs):

- one-shot rules (every RULES entry: sensitivity, magnitude, random, taylor): train dense E epochs,
  prune once, fine-tune F epochs with the mask held. The dense model is trained once per seed and
  shared by every one-shot row, every rewind row and Narang's q.
- gradual (every GRADUAL entry: agp, narang): train from scratch for E + F epochs while the schedule
  prunes (by default from the end of epoch 1 to 90% of the budget, GradualPlan.end_fraction), the rest with the final mask.
- rewind (lottery ticket): the mask of `rewind_rule` on the dense model, then retrain from the initial
  weights for E epochs, the dense model's own training length (so E dense + E retrain in all).
- dense, gru1, gru2, gru3: train E + F epochs, no pruning; the target sparsity is ignored and the
  row's `sparsity` is the parameter saving relative to the GRU, 1 - params / params_gru.

`seconds` is the wall time to produce that row's model from scratch: a shared dense training counts
in full for every row built on it. Rows already done are passed back in and skipped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from scgru_core.net.cost import model_cost
from scgru_core.errors import ConfigError
from scgru_core.net.evaluate import evaluate
from scgru_core.study.executors import Executor, Local
from scgru_core.study.experiment import finetune, resolve_prune_config, rewind, train_dense
from scgru_core.pruning.gradual import GRADUAL, GradualPlan, gradual_fit, steps_per_epoch
from scgru_core.pruning.lab import PruningLab
from scgru_core.net.cells import CELLS
from scgru_core.net.model import Forecaster, ModelConfig, build_model
from scgru_core.net.masks import MaskSet
from scgru_core.pruning.rules import RULES, PruneConfig
from scgru_core.pruning.scopes import Scope
from scgru_core.net.train import Callbacks, TrainConfig, finetune_config
from scgru_core.data.windows import Dataset, data_fingerprint
from scgru_core.study.methods import TRAINED, known_methods, method_kind

@dataclass(frozen=True)
class CompareConfig:
    methods: tuple[str, ...] = ("sensitivity", "magnitude", "agp")
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9)
    seeds: tuple[int, ...] = (0,)
    scope: Scope = field(default_factory=Scope)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)  # epochs = E; the seed is replaced by each seed
    finetune_epochs: int = 5  # F
    plan: GradualPlan = field(default_factory=GradualPlan)
    rewind_rule: str = "magnitude"
    floor: float = 0.01  # the sensitivity rule's k
    global_: bool = False  # rank all in-scope matrices together, where the rule can (magnitude, random, taylor, agp)

    def __post_init__(self):
        unknown = [m for m in self.methods if method_kind(m) is None]
        if unknown or not self.methods:
            raise ConfigError(f"unknown method {', '.join(unknown) or '(none given)'}: choose from "
                              f"{', '.join(known_methods())}.")
        if not self.sparsities or not all(0.0 <= s < 1.0 for s in self.sparsities):
            raise ConfigError(f"target sparsities must be in [0, 1), not {list(self.sparsities)}.")
        if not self.seeds:
            raise ConfigError("give at least one seed.")
        if self.finetune_epochs < 0:
            raise ConfigError(f"fine-tuning epochs must be 0 or more, not {self.finetune_epochs}.")
        if not CELLS[self.model.cell].plain:
            raise ConfigError(f"the comparison prunes a {', '.join(n.upper() for n, c in CELLS.items() if c.plain)}; "
                              "the gate variants are methods of their own (unpruned references).")
        if self.rewind_rule not in RULES or RULES[self.rewind_rule].needs_scores:
            raise ConfigError(f"rewind takes a weight-ranking rule's mask, not {self.rewind_rule!r}.")

    def points(self) -> list[tuple[str, float, int]]:
        """(method, target, seed) in run order: seed by seed, so one dense model serves a whole seed."""
        return [(m, float(s), seed) for seed in self.seeds for m in self.methods for s in self.sparsities]

    def key(self, method: str, target: float, seed: int) -> tuple:
        """The row_key of the row this point gives."""
        return method, self.scope.to_text(), self.global_, round(target, 6), seed, self.model.cell


def row_key(row: dict) -> tuple[str, str, bool, float, int, str]:
    """What identifies a row (rows read back from CSV carry strings, hence the conversions; a row written before
    cells were a dimension is a GRU's)."""
    return (str(row["method"]), str(row["scope"]), str(row.get("global", False)) == "True",
            round(float(row["target_sparsity"]), 6), int(row["seed"]), str(row.get("cell", "gru")))


@dataclass(frozen=True)
class Skipped:
    """A point that has no row: its target sparsity is beyond what the rule can reach on that model (the SCGRU
    floor k keeps a share of every matrix), with the engine's reason."""

    point: tuple[str, float, int]
    reason: str


@dataclass
class CompareResult:
    rows: list[dict]  # the rows computed in this call, in run order (whatever order they finished in)
    traces: dict = field(default_factory=dict)  # (method, target, seed) -> achieved sparsity per step (gradual)
    cancelled: bool = False
    skipped: list[Skipped] = field(default_factory=list)


class _Cancelled(Exception):
    pass


class _Unreachable(Exception):
    pass


@dataclass(frozen=True)
class Trained:
    """A model trained without pruning, as it travels between processes: its weights and what it cost."""

    state: dict
    seconds: float
    epochs: int


TrainedCache = dict  # (ModelConfig, TrainConfig) -> Trained, for one Dataset


def train_job(data: Dataset, model_config: ModelConfig, train_config: TrainConfig,
              callbacks: Callbacks = Callbacks()) -> Trained | None:
    """One model trained without pruning (None when should_stop cut it short): the first phase of a comparison."""
    model, training = train_dense(data, model_config, train_config, callbacks)
    if training.cancelled:
        return None
    return Trained({k: v.detach().clone() for k, v in model.state_dict().items()}, training.seconds,
                   len(training.history))


def row_job(data: Dataset, config: "CompareConfig", point: tuple[str, float, int], trained: TrainedCache,
            callbacks: Callbacks = Callbacks()) -> tuple[dict, list | None] | Skipped | None:
    """One row and its sparsity trace (gradual methods), from the trained models it builds on; Skipped when its
    target cannot be reached; None when should_stop cut it short. A pure function of its arguments: any executor
    gives the same row."""
    runner = Comparison(data, config, callbacks, dict(trained))
    try:
        row = runner.row(*point)
    except _Cancelled:
        return None
    except _Unreachable as exc:
        return Skipped(point, str(exc))
    return row, runner.traces.get(point)


LABS_KEPT = 4  # dense labs a thread keeps for the rows it runs next
_labs = threading.local()


def _lab_for(data: Dataset, key: tuple, trained: Trained, seed: int) -> PruningLab:
    """The lab of a trained model, reused by the rows the same thread runs next (a pool worker runs many rows of
    one seed): its dense and naive evaluation and its Taylor scores are computed once, not once per row. Per
    thread, because a lab's working copy is not safe to share between threads (the app runs a thread a session);
    keyed by the data's fingerprint, since a worker receives a new copy of the data with every task."""
    kept = getattr(_labs, "kept", None)
    if kept is None:
        kept = _labs.kept = {}
    memo = (data_fingerprint(data), key)
    if memo not in kept:
        model = build_model(key[0], horizon=data.horizon, seed=seed)
        model.load_state_dict(trained.state)
        if len(kept) >= LABS_KEPT:
            kept.pop(next(iter(kept)))
        kept[memo] = PruningLab(model, data)
    return kept[memo]


class Comparison:
    """Runs rows one at a time, caching what rows share: every model trained without pruning, keyed by its
    model and training settings, so the dense model of a seed is trained once (and is the `dense` row's
    too when F = 0). Pass the same `cache` again (same data) to extend a comparison without retraining."""

    def __init__(self, data: Dataset, config: CompareConfig, callbacks: Callbacks = Callbacks(),
                 cache: TrainedCache | None = None):
        self.data, self.config, self.callbacks = data, config, callbacks
        self._trained = {} if cache is None else cache
        self.traces: dict = {}

    def _train_config(self, seed: int, epochs: int) -> TrainConfig:
        return replace(self.config.train, seed=seed, epochs=epochs)

    def _check(self, training) -> None:
        if training.cancelled:
            raise _Cancelled

    def training_key(self, cell: str, seed: int, epochs: int) -> tuple[ModelConfig, TrainConfig]:
        return replace(self.config.model, cell=cell), self._train_config(seed, epochs)

    def needs(self, method: str, target: float, seed: int) -> list[tuple[ModelConfig, TrainConfig]]:
        """The models trained without pruning that this point builds on (what the first phase trains)."""
        kind, e, f = method_kind(method), self.config.train.epochs, self.config.finetune_epochs
        if kind == "unpruned":
            return [self.training_key(self.cell_of(method), seed, e + f)]
        if kind == "gradual" and not GRADUAL[method].needs_reference:
            return []
        return [self.training_key(self.config.model.cell, seed, e)]

    def cell_of(self, method: str) -> str:
        """The cell an unpruned reference trains: its own, or the comparison's (the `dense` reference)."""
        return TRAINED[method].cell or self.config.model.cell

    def trained(self, cell: str, seed: int, epochs: int) -> tuple[PruningLab, float, int]:
        """A `cell` model trained `epochs` epochs without pruning, trained on first use."""
        key = self.training_key(cell, seed, epochs)
        if key not in self._trained:
            trained = train_job(self.data, *key, self.callbacks)
            if trained is None:
                raise _Cancelled
            self._trained[key] = trained
        trained = self._trained[key]
        return _lab_for(self.data, key, trained, seed), trained.seconds, trained.epochs

    def dense(self, seed: int) -> tuple[PruningLab, float, int]:
        """The model trained E epochs: what one-shot rules prune, rewind takes its mask from, Narang its q."""
        return self.trained(self.config.model.cell, seed, self.config.train.epochs)

    def _row(self, method: str, target: float, seed: int, model: Forecaster, masks: MaskSet | None,
             sparsity: float, seconds: float, epochs: int, **extra) -> dict:
        cost = model_cost(model, masks, self.data.window)
        return {"method": method, "kind": method_kind(method), "cell": self.config.model.cell,
                "scope": self.config.scope.to_text(),
                "global": self.config.global_,
                "target_sparsity": target, "seed": seed, "sparsity": sparsity, "sparsity_all_parameters": cost.sparsity,
                **evaluate(model, self.data).metrics.to_dict(), **cost.to_dict(), "epochs": epochs,
                "seconds": seconds, **extra}

    def _prune_config(self, method: str, seed: int) -> PruneConfig:
        return PruneConfig(method=method, scope=self.config.scope, floor=self.config.floor, seed=seed,
                           global_=self.config.global_ and RULES[method].supports_global)

    def _one_shot(self, method: str, target: float, seed: int) -> dict:
        lab, dense_s, dense_epochs = self.dense(seed)
        start = time.perf_counter()
        try:
            config = resolve_prune_config(lab.model, self._prune_config(method, seed), target)
        except ConfigError as exc:  # a target beyond the floor: no row, the reason instead
            raise _Unreachable(str(exc)) from None
        snap = lab.at(config)
        model, epochs = lab.masked_model(snap.result), 0
        if self.config.finetune_epochs > 0:
            model, training = finetune(lab.model, snap.result, self.data,
                                       finetune_config(self._train_config(seed, 0), self.config.finetune_epochs),
                                       self.callbacks)
            self._check(training)
            epochs = len(training.history)
        extra = {f"pruned_{k}": v for k, v in snap.evaluation.metrics.to_dict().items()}
        if snap.config.rule.control == "sensitivity":
            extra["sensitivity"] = snap.config.sensitivity
        return self._row(method, target, seed, model, snap.result.masks, snap.result.sparsity,
                         dense_s + time.perf_counter() - start, dense_epochs + epochs, **extra)

    def _gradual(self, method: str, target: float, seed: int) -> dict:
        spec, cfg = GRADUAL[method], self.config
        reference, extra_s = None, 0.0
        if spec.needs_reference:
            lab, extra_s, _ = self.dense(seed)
            reference = lab.model
        start = time.perf_counter()
        train = self._train_config(seed, cfg.train.epochs + cfg.finetune_epochs)
        spe = steps_per_epoch(self.data, train)
        pruner = spec.make(cfg.plan, target, train.epochs * spe, spe, cfg.scope, reference, cfg.global_)
        model = build_model(cfg.model, horizon=self.data.horizon, seed=seed)
        run = gradual_fit(model, self.data, train, pruner, self.callbacks)
        self._check(run.training)
        self.traces[(method, target, seed)] = run.sparsity_by_step
        return self._row(method, target, seed, model, run.result.masks, run.result.sparsity,
                         extra_s + time.perf_counter() - start, len(run.training.history))

    def _rewind(self, method: str, target: float, seed: int) -> dict:
        lab, dense_s, dense_epochs = self.dense(seed)
        start = time.perf_counter()
        snap = lab.at(resolve_prune_config(lab.model, self._prune_config(self.config.rewind_rule, seed), target))
        model, training = rewind(self.config.model, snap.result, self.data,
                                 self._train_config(seed, self.config.train.epochs), self.callbacks)
        self._check(training)
        return self._row(method, target, seed, model, snap.result.masks, snap.result.sparsity,
                         dense_s + time.perf_counter() - start, dense_epochs + len(training.history),
                         rewind_rule=self.config.rewind_rule)

    def _unpruned_row(self, method: str, target: float, seed: int) -> dict:
        lab, seconds, epochs = self.trained(self.cell_of(method), seed,
                                            self.config.train.epochs + self.config.finetune_epochs)
        gru_params = sum(p.numel() for p in build_model(self.config.model, self.data.horizon, seed).parameters())
        saving = 1.0 - sum(p.numel() for p in lab.model.parameters()) / gru_params
        row = self._row(method, target, seed, lab.model, None, saving, seconds, epochs)
        return {**row, "sparsity_all_parameters": saving}

    def row(self, method: str, target: float, seed: int) -> dict:
        """One row; raises _Cancelled when should_stop cut a training short."""
        handler = {"one-shot": self._one_shot, "gradual": self._gradual, "rewind": self._rewind,
                   "unpruned": self._unpruned_row}[method_kind(method)]
        return handler(method, target, seed)


def compare(data: Dataset, config: CompareConfig, done: Iterable = (), callbacks: Callbacks = Callbacks(),
            on_row: Callable[[int, int, dict], None] | None = None, cache: TrainedCache | None = None,
            executor: Executor | None = None) -> CompareResult:
    """Every (method, target, seed) of `config` not in `done` (rows or row_key tuples), one row each.
    `cache` (a dict kept by the caller, for this `data` only) carries trained models across calls.

    Two phases, each a set of independent tasks for `executor` (default: in this process): first every
    model trained without pruning that the rows build on (a seed's dense model once), then the rows.
    `on_row(done, total, row)` is called as rows finish; `rows` come back in `config.points()` order.
    A point whose target the rule cannot reach comes back in `skipped` with the reason instead of a row.
    Stops cleanly at should_stop: the rows finished so far come back with cancelled=True.
    """
    executor = executor or Local()
    keys = {d if isinstance(d, tuple) else row_key(d) for d in done}
    todo = [p for p in config.points() if config.key(*p) not in keys]
    cache = {} if cache is None else cache
    planner = Comparison(data, config, callbacks, cache)
    result = CompareResult(rows=[])
    jobs = list(dict.fromkeys(k for p in todo for k in planner.needs(*p) if k not in cache))
    for i, trained in executor.map(train_job, [(data, *key) for key in jobs], callbacks):
        if trained is None:
            break
        cache[jobs[i]] = trained
    if any(key not in cache for key in jobs):
        result.cancelled = True
        return result
    arrived: dict[int, dict] = {}
    tasks = [(data, config, p, {k: cache[k] for k in planner.needs(*p)}) for p in todo]
    finished = 0
    for i, out in executor.map(row_job, tasks, callbacks):
        if out is None:
            break
        finished += 1
        if isinstance(out, Skipped):
            result.skipped.append(out)
            continue
        arrived[i], trace = out
        if trace is not None:
            result.traces[todo[i]] = trace
        if on_row is not None:
            on_row(finished, len(todo), arrived[i])
    result.rows = [arrived[i] for i in sorted(arrived)]
    result.cancelled = finished < len(todo)
    return result
