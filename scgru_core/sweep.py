"""Trade-off curves: one row of error and cost per pruning setting, prune-only and fine-tuned."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from .evaluate import evaluate
from .experiment import finetune, resolve_prune_config
from .lab import PruningLab
from .metrics import METRIC_NAMES
from .pruning import PruneConfig
from .train import Callbacks, TrainConfig


def sweep_configs(base: PruneConfig, sensitivities: Iterable[float] | None = None,
                  sparsities: Iterable[float] | None = None) -> list[tuple[PruneConfig, float | None]]:
    """(config, target sparsity) pairs: one per sensitivity, or one per target sparsity."""
    if sensitivities is not None:
        return [(replace(base, sensitivity=float(s)), None) for s in sensitivities]
    return [(base, float(p)) for p in (sparsities or [])]


def sweep(lab: PruningLab, points: list[tuple[PruneConfig, float | None]], finetune_config: TrainConfig | None = None,
          progress: Callable[[int, int], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """Evaluate every point; with `finetune_config`, also fine-tune each pruned model once.

    The row's `rmse`/`mae`/`smape`/`mase` are those of the final model (fine-tuned when
    fine-tuning ran); `pruned_*` and `finetuned_*` keep both stages.
    """
    rows = []
    for i, (config, target) in enumerate(points):
        if should_stop is not None and should_stop():
            break
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
                                      Callbacks(should_stop=should_stop))
            if training.cancelled:  # a half-finished fine-tune is not a point of the fine-tuned curve
                break
            final = evaluate(twin, lab.data).metrics.to_dict()
            row.update({f"finetuned_{k}": v for k, v in final.items()})
        row.update({k: final[k] for k in METRIC_NAMES})
        row.update(snap.cost.to_dict())
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(points))
    return rows
