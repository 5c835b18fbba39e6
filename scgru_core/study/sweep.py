"""Trade-off curves: one row of error and cost per pruning setting, prune-only and fine-tuned.

Two kinds of rows share one shape: unstructured settings (`sweep`: weights masked by a rule) and
structured ones (`structured_sweep`: whole hidden units removed, a physically smaller GRU). With
`latency=(1, 256)`, each row carries `latency_ms_b1` and `latency_ms_b256`: the measured time of one call
at that batch size as the model would run: CSR sparse matrices for masked weights (as masked dense weights
they cost exactly the dense time), the smaller nn.GRU for units.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from scgru_core.net.cost import measure_latency, model_cost
from scgru_core.net.evaluate import evaluate
from scgru_core.study.executors import Executor, Local
from scgru_core.study.experiment import finetune, resolve_prune_config
from scgru_core.pruning.lab import PruningLab
from scgru_core.net.metrics import METRIC_NAMES
from scgru_core.pruning.rules import PruneConfig
from scgru_core.deploy.shrink import shrink_and_finetune
from scgru_core.deploy.sparse_exec import SparseRecurrent
from scgru_core.net.train import Callbacks, TrainConfig
from scgru_core.deploy.units import UnitConfig

LATENCY_REPEATS = 7  # timed calls at batch 1; larger batches take a third as many (each is longer)
UNITS = "units"  # the method name of structured rows


def latencies(model, window: int, batches: tuple[int, ...]) -> dict:
    """{"latency_ms_b{batch}": median ms per call} for each batch size (none: {})."""
    return {f"latency_ms_b{b}": measure_latency(model, window, b, LATENCY_REPEATS if b == 1 else
                                                max(3, LATENCY_REPEATS // 3), 3).ms_per_batch for b in batches}


def sweep_configs(base: PruneConfig, sensitivities: Iterable[float] | None = None,
                  sparsities: Iterable[float] | None = None) -> list[tuple[PruneConfig, float | None]]:
    """(config, target sparsity) pairs: one per sensitivity, or one per target sparsity."""
    if sensitivities is not None:
        return [(replace(base, sensitivity=float(s)), None) for s in sensitivities]
    return [(base, float(p)) for p in (sparsities or [])]


def sweep_row(lab: PruningLab, config: PruneConfig, target: float | None, finetune_config: TrainConfig | None = None,
              latency: tuple[int, ...] = (), callbacks: Callbacks = Callbacks()) -> dict | None:
    """One point of a sweep: prune `lab`'s model with `config` (at `target` when given), fine-tune once when
    `finetune_config` is given, cost it; None when should_stop cut the fine-tuning short."""
    config = resolve_prune_config(lab.model, config, target)
    snap = lab.at(config)
    row = {"method": config.method, "scope": config.scope.label(), "sensitivity":
           config.sensitivity if config.rule.control == "sensitivity" else None,
           "target_sparsity": target if target is not None else
           (config.sparsity if config.rule.control == "sparsity" else None),
           "sparsity": snap.result.sparsity, "sparsity_all_parameters": snap.cost.sparsity}
    final = snap.evaluation.metrics.to_dict()
    row.update({f"pruned_{k}": v for k, v in final.items()})
    if finetune_config is not None and finetune_config.epochs > 0:
        twin, training = finetune(lab.model, snap.result, lab.data, finetune_config,
                                  Callbacks(should_stop=callbacks.should_stop))
        if training.cancelled:  # a half-finished fine-tune is not a point of the fine-tuned curve
            return None
        final = evaluate(twin, lab.data).metrics.to_dict()
        row.update({f"finetuned_{k}": v for k, v in final.items()})
    row.update({k: final[k] for k in METRIC_NAMES})
    row.update(snap.cost.to_dict())
    row.update(latencies(SparseRecurrent(lab.model, snap.result.masks), lab.data.window, latency))
    return row


def _sweep_job(source, config: PruneConfig, target: float | None, finetune_config: TrainConfig | None,
               latency: tuple[int, ...], callbacks: Callbacks = Callbacks()) -> dict | None:
    """`sweep_row` on a PruningLab (in this process) or on a (model, data) pair (sent to a worker)."""
    lab = source if isinstance(source, PruningLab) else PruningLab(*source)
    return sweep_row(lab, config, target, finetune_config, latency, callbacks)


def sweep(lab: PruningLab, points: list[tuple[PruneConfig, float | None]], finetune_config: TrainConfig | None = None,
          progress: Callable[[int, int], None] | None = None,
          should_stop: Callable[[], bool] | None = None, latency: tuple[int, ...] = (),
          executor: Executor | None = None) -> list[dict]:
    """Evaluate every point; with `finetune_config`, also fine-tune each pruned model once; with `latency`
    batch sizes, time the pruned model run as CSR at each (`latency_ms_b{batch}`: timings taken while other
    workers run are slower than alone, so time with the local executor).

    The row's `rmse`/`mae`/`smape`/`mase` are those of the final model (fine-tuned when
    fine-tuning ran); `pruned_*` and `finetuned_*` keep both stages. Points are independent tasks for
    `executor` (default: this process); `progress(done, total)` follows them as they finish, and the rows come
    back in the order of `points`, up to where a stop left a gap.
    """
    executor = executor or Local()
    source = lab if isinstance(executor, Local) else (lab.model, lab.data)
    arrived: dict[int, dict] = {}
    for i, row in executor.map(_sweep_job, [(source, c, t, finetune_config, latency) for c, t in points],
                               Callbacks(should_stop=should_stop)):
        if row is None:
            break
        arrived[i] = row
        if progress is not None:
            progress(len(arrived), len(points))
    rows = []
    for i in range(len(points)):  # in order, up to the first point a stop left undone
        if i not in arrived:
            break
        rows.append(arrived[i])
    return rows


def structured_sweep(lab: PruningLab, fractions: Iterable[float], finetune_config: TrainConfig | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] | None = None, latency: tuple[int, ...] = ()) -> list[dict]:
    """One row per fraction of each layer's hidden units removed (smallest L2 norm), in the shape of `sweep`'s
    rows. `sparsity` is the share of the GRU's weight-matrix entries that are gone; costs are the smaller
    model's; latencies time the smaller nn.GRU."""
    fractions = list(fractions)
    matrices = sum(p.numel() for n, p in lab.model.named_parameters() if n.startswith("rnn.weight"))
    rows = []
    for i, fraction in enumerate(fractions):
        if should_stop is not None and should_stop():
            break
        result = shrink_and_finetune(lab.model, lab.data, UnitConfig(fraction=fraction), finetune_config,
                                     callbacks=Callbacks(should_stop=should_stop))
        if result.finetuning is not None and result.finetuning.cancelled:
            break
        small = result.final
        cost = model_cost(small, None, lab.data.window)
        left = sum(p.numel() for n, p in small.named_parameters() if n.startswith("rnn.weight"))
        final = result.final_metrics.to_dict()
        row = {"method": UNITS, "scope": "whole units", "sensitivity": None, "target_sparsity": fraction,
               "hidden": small.config.hidden, "sparsity": 1 - left / matrices,
               "sparsity_all_parameters": 1 - cost.params_total / lab.dense_cost.params_total,
               **{f"pruned_{k}": v for k, v in result.shrunk_metrics.to_dict().items()}}
        if result.finetuned_metrics is not None:
            row.update({f"finetuned_{k}": v for k, v in final.items()})
        row.update({k: final[k] for k in METRIC_NAMES})
        row.update(cost.to_dict())
        row.update(latencies(small, lab.data.window, latency))
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(fractions))
    return rows
