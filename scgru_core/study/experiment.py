"""One whole experiment: data -> dense training -> one-shot pruning -> fine-tuning -> metrics and cost.

This is the path the CLI's `run`, the app's Home demo and the README example share.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace

from scgru_core.net.cost import Cost
from scgru_core.data.reading import ReadConfig, Series, load_series
from scgru_core.net.evaluate import evaluate
from scgru_core.pruning.lab import PruningLab, Snapshot
from scgru_core.net.metrics import Metrics
from scgru_core.net.model import Forecaster, ModelConfig, build_model
from scgru_core.net.masks import masked_state
from scgru_core.pruning.rules import PruneConfig, PruneResult, sensitivity_for_sparsity
from scgru_core.net.train import Callbacks, TrainConfig, TrainResult, fit, FINETUNE_LR, finetune_config
from scgru_core.data.windows import Dataset, WindowConfig, prepare
from scgru_core.store.brought import BroughtModel, brought_dataset

RUN_FINETUNE_EPOCHS = 5  # one fine-tuning after pruning: the default of the CLI and the app

@dataclass(frozen=True)
class RunConfig:
    read: ReadConfig = field(default_factory=ReadConfig)
    windows: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    finetune_epochs: int = RUN_FINETUNE_EPOCHS
    finetune_lr: float = FINETUNE_LR
    target_sparsity: float | None = None  # for the sensitivity rule: find the s that reaches it


def train_dense(data: Dataset, model_config: ModelConfig = ModelConfig(), train_config: TrainConfig = TrainConfig(),
                callbacks: Callbacks = Callbacks()) -> tuple[Forecaster, TrainResult]:
    """Build a seeded model and train it on `data`."""
    model = build_model(model_config, horizon=data.horizon, seed=train_config.seed)
    return model, fit(model, data, train_config, callbacks=callbacks)


def finetune(model: Forecaster, result: PruneResult, data: Dataset, train_config: TrainConfig,
             callbacks: Callbacks = Callbacks()) -> tuple[Forecaster, TrainResult]:
    """Fine-tune a pruned copy of `model` once, masks held (a fresh Adam, as in SCGRU)."""
    twin = copy.deepcopy(model)
    return twin, fit(twin, data, train_config, masks=result.masks, callbacks=callbacks)


def rewind(model_config: ModelConfig, result: PruneResult, data: Dataset, train_config: TrainConfig,
           callbacks: Callbacks = Callbacks(), seed: int | None = None) -> tuple[Forecaster, TrainResult]:
    """Lottery-ticket retraining: the pruned network restarts from the weights `train_dense` began from
    (the same seed gives the same initial weights), masks held, instead of from the trained ones."""
    initial = build_model(model_config, horizon=data.horizon, seed=train_config.seed if seed is None else seed)
    return finetune(initial, result, data, train_config, callbacks)


def resolve_prune_config(model: Forecaster, config: PruneConfig, target_sparsity: float | None) -> PruneConfig:
    """For the sensitivity rule with a target sparsity, find the s that reaches it."""
    if target_sparsity is None:
        return config
    if config.rule.control == "sensitivity":
        return replace(config, sensitivity=sensitivity_for_sparsity(model, target_sparsity, config))
    return replace(config, sparsity=target_sparsity)


@dataclass
class RunResult:
    config: RunConfig
    series: Series
    data: Dataset
    dense_model: Forecaster
    dense_training: TrainResult
    snapshot: Snapshot  # the pruned model before fine-tuning
    dense: Metrics
    naive: Metrics
    dense_cost: Cost
    finetuned_model: Forecaster | None = None
    finetuning: TrainResult | None = None
    finetuned: Metrics | None = None
    seconds: float = 0.0

    @property
    def prune_config(self) -> PruneConfig:
        return self.snapshot.config

    @property
    def pruned(self) -> Metrics:
        return self.snapshot.evaluation.metrics

    @property
    def cost(self) -> Cost:
        return self.snapshot.cost

    def final_model(self) -> Forecaster:
        """What the run ends with: the fine-tuned model, or the pruned one when nothing was fine-tuned."""
        if self.finetuned_model is not None:
            return self.finetuned_model
        twin = copy.deepcopy(self.dense_model)
        twin.load_state_dict(masked_state(self.dense_model, self.snapshot.result.masks))
        return twin.eval()

    def to_json(self) -> dict:
        """The CLI contract: dense/naive/pruned/finetuned metrics, sparsity, thresholds, cost."""
        record = run_record(self.data, self.config, self.snapshot, self.dense, self.naive, self.dense_cost,
                            self.dense_training, self.finetuned, self.finetuning)
        record["training"]["total_seconds"] = self.seconds
        return record


def run_record(data: Dataset, config: RunConfig, snap: Snapshot, dense: Metrics, naive: Metrics, dense_cost: Cost,
               dense_training: TrainResult, finetuned: Metrics | None = None,
               finetuning: TrainResult | None = None) -> dict:
    """A run's settings and results as one JSON-ready record: the CLI's `run` JSON and the app's download alike
    (dense/naive/pruned/finetuned metrics, sparsity, thresholds, cost, training)."""
    r = snap.result
    return {
        "data": {"column": data.series.name, "values": len(data.series), "train_windows": len(data.train),
                 "val_windows": len(data.val), "test_windows": len(data.test)},
        "config": config_to_dict(config, snap.config),
        "dense": dense.to_dict(),
        "naive": naive.to_dict(),
        "pruned": snap.evaluation.metrics.to_dict(),
        **({"finetuned": finetuned.to_dict()} if finetuned else {}),
        "sparsity": {"overall": r.sparsity, "of_all_parameters": snap.cost.sparsity, "per_matrix": r.per_matrix},
        "thresholds": r.thresholds,
        "cost": snap.cost.to_dict(),
        "dense_cost": dense_cost.to_dict(),
        "training": {"dense_epochs": len(dense_training.history), "dense_seconds": dense_training.seconds,
                     "finetune_epochs": len(finetuning.history) if finetuning else 0,
                     "finetune_seconds": finetuning.seconds if finetuning else 0.0},
    }


def config_to_dict(config: RunConfig, prune_config: PruneConfig | None = None) -> dict:
    """A JSON-safe dict of every setting (the scope as its text form)."""
    p = prune_config or config.prune
    prune_dict = {**asdict(p), "scope": p.scope.to_text(), "head": p.scope.head}
    return {"read": asdict(config.read), "windows": asdict(config.windows), "model": asdict(config.model),
            "train": asdict(config.train), "prune": prune_dict, "finetune_epochs": config.finetune_epochs,
            "finetune_lr": config.finetune_lr,
            "target_sparsity": config.target_sparsity}


def run(source, config: RunConfig = RunConfig(), filename: str | None = None,
        callbacks: Callbacks = Callbacks(), series: Series | None = None, brought: BroughtModel | None = None) -> RunResult:
    """Load, train dense, prune once, fine-tune once; everything measured on the test part. With `brought` (a model
    trained elsewhere, store/brought.py) there is no training: its sizes, window, horizon and scaling replace the
    config's, and it is pruned and fine-tuned on this series."""
    start = time.perf_counter()
    series = series if series is not None else load_series(source, config.read, filename=filename)
    if brought is not None:
        data = brought_dataset(brought, series)
        model, dense_training = copy.deepcopy(brought.model), TrainResult()
        config = replace(config, windows=data.config, model=model.config)
    else:
        data = prepare(series, config.windows)
        model, dense_training = train_dense(data, config.model, config.train, callbacks)
    lab = PruningLab(model, data)
    prune_config = resolve_prune_config(model, config.prune, config.target_sparsity)
    snapshot = lab.at(prune_config)
    result = RunResult(config=config, series=series, data=data, dense_model=model, dense_training=dense_training,
                       snapshot=snapshot, dense=lab.dense.metrics, naive=lab.naive.metrics,
                       dense_cost=lab.dense_cost)
    if config.finetune_epochs > 0:
        ft_config = finetune_config(config.train, config.finetune_epochs, config.finetune_lr)
        ft_model, finetuning = finetune(model, snapshot.result, data, ft_config, callbacks)
        result.finetuned_model, result.finetuning = ft_model, finetuning
        result.finetuned = evaluate(ft_model, data).metrics
    result.seconds = time.perf_counter() - start
    return result
