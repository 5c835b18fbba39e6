"""Sensitivity analysis, as Distiller made it standard: prune one part of the network at a time (a weight matrix,
or one gate's block of it) across a range of sparsities, everything else dense, and record the error. One curve
per part says how much of it the model can spare.

From the curves, `allocate` suggests per-part sparsities that reach a requested overall sparsity at the least
predicted error (the predicted error of a combination is the sum of each part's increase: the usual additive
assumption). It reads the validation error, so the test part stays unseen by the choice; the test error is
recorded beside it for the report. The `per_matrix` rule (pruning.py) prunes with such an allocation.

Each part is cut by magnitude inside itself (the smallest |w| first), as in Distiller.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import torch

from scgru_core.errors import ConfigError
from scgru_core.net.evaluate import evaluate
from scgru_core.net.metrics import METRIC_NAMES
from scgru_core.net.model import Forecaster, gate_blocks, matrix_kind, weight_names
from scgru_core.net.masks import masked_state
from scgru_core.pruning.rules import allocation_masks
from scgru_core.data.windows import Dataset

BY = ("gate", "matrix")
DEFAULT_SPARSITIES = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


@dataclass(frozen=True)
class Part:
    """A prunable block: a whole matrix (gate None) or one gate's rows of it. `key` is how allocations name it."""

    matrix: str
    gate: str | None
    size: int  # weights in the block

    @property
    def key(self) -> str:
        return self.matrix if self.gate is None else f"{self.matrix}:{self.gate}"


def _check_by(by: str) -> None:
    if by not in BY:
        raise ConfigError(f"a sensitivity analysis goes by {' or '.join(BY)}, not {by!r}.")


def parts_of(model: Forecaster, by: str = "gate") -> list[Part]:
    """The model's recurrent weight matrices, whole (`by="matrix"`) or split per gate (`by="gate"`)."""
    _check_by(by)
    params = dict(model.named_parameters())
    out = []
    for name in weight_names(model):  # the head is not a recurrent matrix and is never pruned here
        cols = params[name].shape[1]
        if by == "matrix":
            out.append(Part(name, None, params[name].numel()))
        else:
            out += [Part(name, g, (sl.stop - sl.start) * cols)
                    for g, sl in gate_blocks(model, name).items()]
    return out


def keys_in_scope(model: Forecaster, parts: list[Part], scope) -> list[str]:
    """The parts a pruning `scope` (pruning.Scope) covers: a gate block when its kind and gate are selected, a
    whole matrix when any of its rows are."""
    out = []
    for part in parts:
        if (part.gate is not None and scope.selects(matrix_kind(part.matrix), part.gate)) or \
                (part.gate is None and scope.rows(model, part.matrix) is not None):
            out.append(part.key)
    return out


def part_masks(model: Forecaster, allocation: dict[str, float]) -> dict[str, torch.Tensor]:
    """Keep-masks of every matrix with each part in `allocation` cut to its sparsity by magnitude (others kept)."""
    return allocation_masks(model, allocation)[0]


@dataclass(frozen=True)
class SensitivityConfig:
    sparsities: tuple[float, ...] = DEFAULT_SPARSITIES
    by: str = "gate"

    def __post_init__(self):
        _check_by(self.by)
        if not self.sparsities or not all(0.0 < s < 1.0 for s in self.sparsities):
            raise ConfigError(f"sensitivity-analysis sparsities must be in (0, 1), not {list(self.sparsities)}.")


@dataclass
class SensitivityAnalysis:
    """One row per part and sparsity: the validation and test errors with only that part pruned."""

    config: SensitivityConfig
    parts: list[Part]
    rows: list[dict]
    dense_val: dict  # metrics of the unpruned model on the validation part
    dense_test: dict
    cancelled: bool = False

    def curve(self, key: str, metric: str = "rmse", part: str = "val") -> tuple[list[float], list[float]]:
        """(sparsities, errors) of one part, starting at (0, the dense error)."""
        base = (self.dense_val if part == "val" else self.dense_test)[metric]
        points = sorted((r["sparsity"], r[f"{part}_{metric}"]) for r in self.rows if r["part"] == key)
        return [0.0] + [s for s, _ in points], [base] + [e for _, e in points]


def analyse(model: Forecaster, data: Dataset, config: SensitivityConfig = SensitivityConfig(),
            progress: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> SensitivityAnalysis:
    """Prune each part alone at each sparsity and evaluate on the validation and test parts (no training)."""
    parts = parts_of(model, config.by)
    work = copy.deepcopy(model).eval()
    dense_val, dense_test = evaluate(model, data, "val").metrics.to_dict(), evaluate(model, data).metrics.to_dict()
    result = SensitivityAnalysis(config, parts, [], dense_val, dense_test)
    total = len(parts) * len(config.sparsities)
    for part in parts:
        for sparsity in config.sparsities:
            if should_stop is not None and should_stop():
                result.cancelled = True
                return result
            with torch.no_grad():
                work.load_state_dict(masked_state(model, part_masks(model, {part.key: sparsity})))
            val, test = evaluate(work, data, "val").metrics, evaluate(work, data).metrics
            result.rows.append({"part": part.key, "matrix": part.matrix, "gate": part.gate or "", "weights": part.size,
                                "sparsity": sparsity, **{f"val_{k}": getattr(val, k) for k in METRIC_NAMES},
                                **{f"test_{k}": getattr(test, k) for k in METRIC_NAMES}})
            if progress is not None:
                progress(len(result.rows), total)
    return result


@dataclass(frozen=True)
class Allocation:
    """Per-part sparsities that reach `target` overall (of the weights of the parts given), and the error the
    curves predict for them (the dense validation error plus each part's increase)."""

    target: float
    sparsities: dict = field(default_factory=dict)  # part key -> sparsity
    predicted_val: float = 0.0

    def as_tuple(self) -> tuple[tuple[str, float], ...]:
        return tuple(sorted(self.sparsities.items()))


def interpolate(xs: list[float], ys: list[float], x: float) -> float:
    """A curve's error at sparsity `x`, linearly between its measured points (the last one beyond them)."""
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return ys[-1]


def allocate(analysis: SensitivityAnalysis, target: float, keys: list[str] | None = None,
             metric: str = "rmse") -> Allocation:
    """The cheapest way along the curves to `target` overall sparsity of the parts `keys` (default: all).

    Greedy on the curves' lower hull: from all-dense, repeatedly take the step (one part to one of its higher
    measured sparsities) with the least predicted error per weight removed, until the target is passed; the last
    step is then shortened (linearly between its two measured points) to land on the target exactly.
    """
    parts = [p for p in analysis.parts if keys is None or p.key in keys]
    if not parts:
        raise ConfigError("no part of the sensitivity analysis is in this scope.")
    curves = {p.key: analysis.curve(p.key, metric) for p in parts}
    size = {p.key: p.size for p in parts}
    total = sum(size.values())
    top = sum(size[k] * curves[k][0][-1] for k in curves) / total
    if not 0.0 <= target <= top + 1e-12:
        raise ConfigError(f"the sensitivity analysis measured sparsities up to {max(analysis.config.sparsities):.0%} per "
                          f"part, so it can suggest at most {top:.2%} overall, not {target:.2%}.")
    at = {k: 0 for k in curves}  # index into each curve
    removed = 0.0
    while removed < target * total - 1e-9:
        best = None
        for k, (xs, ys) in curves.items():
            i = at[k]
            for j in range(i + 1, len(xs)):
                slope = (ys[j] - ys[i]) / (size[k] * (xs[j] - xs[i]))
                if best is None or slope < best[0]:
                    best = (slope, k, j)
        _, k, j = best
        xs = curves[k][0]
        step = size[k] * (xs[j] - xs[at[k]])
        need = target * total - removed
        if step > need:  # shorten the last step onto the target
            share = xs[at[k]] + need / size[k]
            sparsities = {key: curves[key][0][at[key]] for key in curves}
            sparsities[k] = share
            return Allocation(target, sparsities, _predicted(curves, sparsities, analysis.dense_val[metric]))
        removed += step
        at[k] = j
    sparsities = {key: curves[key][0][at[key]] for key in curves}
    return Allocation(target, sparsities, _predicted(curves, sparsities, analysis.dense_val[metric]))


def _predicted(curves: dict, sparsities: dict, dense: float) -> float:
    return dense + sum(interpolate(*curves[k], s) - dense for k, s in sparsities.items())
