"""Gradual pruning during training: AGP (Zhu & Gupta 2017) and Narang et al. (2017).

Both recompute the masks every few optimizer steps while the network trains, through
`fit(..., mask_update=...)`. Masks are monotone: a recomputed mask is ANDed with the one
in force, so a pruned weight never comes back (its value is 0 and its gradient is masked,
so it could not regrow anyway; the AND makes it a guarantee rather than a tie-break).

Steps are optimizer steps counted from 0 (before the first batch); "after step t" means
after t updates. The schedules are plain dataclasses, so pages can plot them before training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from scgru_core.errors import ConfigError
from scgru_core.registry import Registry
from scgru_core.net.model import Forecaster, weight_names
from scgru_core.net.masks import MaskSet
from scgru_core.pruning.rules import PruneConfig, PruneResult, describe_masks, prune
from scgru_core.pruning.scopes import Scope
from scgru_core.net.train import Callbacks, TrainConfig, TrainResult, fit
from scgru_core.data.windows import Dataset


@dataclass(frozen=True)
class AgpSchedule:
    """s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3, masks recomputed at t = t0, t0 + dt, ..., t0 + n dt."""

    final_sparsity: float  # s_f
    start: int  # t0
    n: int  # number of pruning steps after t0
    dt: int  # steps between recomputations
    initial_sparsity: float = 0.0  # s_i
    exponent: float = 3.0

    def __post_init__(self):
        if not 0.0 <= self.initial_sparsity <= self.final_sparsity < 1.0:
            raise ConfigError(f"AGP needs 0 <= initial <= final sparsity < 1, not {self.initial_sparsity} "
                              f"and {self.final_sparsity}.")
        if self.start < 0 or self.n < 1 or self.dt < 1:
            raise ConfigError(f"AGP needs start >= 0, n >= 1 and dt >= 1, not {self.start}, {self.n}, {self.dt}.")

    @property
    def end(self) -> int:
        return self.start + self.n * self.dt

    def sparsity_at(self, t: float) -> float:
        """The formula, with t clamped to [t0, t0 + n dt]."""
        frac = min(max((t - self.start) / (self.n * self.dt), 0.0), 1.0)
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - frac) ** self.exponent

    def updates_at(self, t: int) -> bool:
        return self.start <= t <= self.end and (t - self.start) % self.dt == 0

    def in_effect(self, t: int) -> float:
        """Target sparsity of the masks in force after step t (0 before t0: no mask yet)."""
        if t < self.start:
            return 0.0
        return self.sparsity_at(self.start + (min(t, self.end) - self.start) // self.dt * self.dt)


@dataclass(frozen=True)
class NarangSchedule:
    """Narang et al.'s threshold ramp, for a matrix whose q is given (the threshold scales with q).

    theta = 2 q freq / (2(ramp - start) + 3(end - ramp)), phi = phi_ratio * theta;
    eps(t) = theta (t - start) / freq                                 for start <= t < ramp,
    eps(t) = [theta (ramp - start) + phi (t - ramp)] / freq           for ramp <= t <= end.
    The paper writes inclusive counts (t - start + 1, ramp - start + 1, t - ramp + 1), which
    overshoot q by 2.5 theta / freq at end; counting the iterations elapsed, as here, makes
    eps(end) = q exactly when phi = 1.5 theta, which is what the paper's choice of phi is for.
    """

    start: int
    ramp: int
    end: int
    freq: int
    phi_ratio: float = 1.5

    def __post_init__(self):
        if not (0 <= self.start <= self.ramp <= self.end and self.start < self.end and self.freq >= 1):
            raise ConfigError(f"Narang needs 0 <= start <= ramp <= end, start < end and freq >= 1, not start "
                              f"{self.start}, ramp {self.ramp}, end {self.end}, freq {self.freq}.")
        if not self.phi_ratio > 0:
            raise ConfigError(f"phi must be a positive multiple of theta, not {self.phi_ratio}.")

    def theta(self, q: float) -> float:
        return 2.0 * q * self.freq / (2 * (self.ramp - self.start) + 3 * (self.end - self.ramp))

    def threshold_at(self, t: float, q: float = 1.0) -> float:
        """eps(t), with t clamped to [start, end]."""
        t = min(max(t, self.start), self.end)
        theta = self.theta(q)
        if t < self.ramp:
            return theta * (t - self.start) / self.freq
        return (theta * (self.ramp - self.start) + self.phi_ratio * theta * (t - self.ramp)) / self.freq

    def updates_at(self, t: int) -> bool:
        return self.start <= t <= self.end and ((t - self.start) % self.freq == 0 or t == self.end)

    def in_effect(self, t: int, q: float = 1.0) -> float:
        """Threshold of the masks in force after step t (0 before start: no mask yet)."""
        if t < self.start:
            return 0.0
        last = self.end if t >= self.end else self.start + (t - self.start) // self.freq * self.freq
        return self.threshold_at(last, q)


def agp_curve(schedule: AgpSchedule, total_steps: int) -> list[tuple[int, float]]:
    """(step, target sparsity in force) for steps 0..total_steps, for plotting."""
    return [(t, schedule.in_effect(t)) for t in range(total_steps + 1)]


def narang_curve(schedule: NarangSchedule, total_steps: int, q: float = 1.0) -> list[tuple[int, float]]:
    """(step, threshold in force) for steps 0..total_steps; q = 1 gives the shape, relative to q."""
    return [(t, schedule.in_effect(t, q)) for t in range(total_steps + 1)]


def scope_quantiles(model: Forecaster, scope: Scope, fraction: float) -> dict[str, float]:
    """Per in-scope matrix, the `fraction` quantile of |w| over its in-scope rows (Narang's q at 0.9)."""
    params = dict(model.named_parameters())
    out = {}
    for name in weight_names(model, include_head=scope.head):
        rows = scope.rows(model, name)
        if rows is not None:
            out[name] = float(torch.quantile(params[name].detach()[rows].abs().flatten().double(), fraction))
    return out


class GradualPruner(Protocol):
    """What `gradual_fit` needs from a method: when to recompute, and the masks it would give now."""

    scope: Scope

    def updates_at(self, step: int) -> bool: ...

    def masks_at(self, step: int, model: Forecaster) -> tuple[MaskSet, dict]: ...  # (masks, thresholds)


@dataclass
class AgpPruner:
    """AGP with the registry's magnitude rule (per matrix within the scope, or ranked across all in-scope
    matrices with global_) at each recomputation."""

    schedule: AgpSchedule
    scope: Scope = field(default_factory=Scope)
    rule: str = "magnitude"
    global_: bool = False

    def updates_at(self, step: int) -> bool:
        return self.schedule.updates_at(step)

    def masks_at(self, step: int, model: Forecaster) -> tuple[MaskSet, dict]:
        config = PruneConfig(method=self.rule, sparsity=self.schedule.in_effect(step), scope=self.scope,
                             global_=self.global_)
        result = prune(model, config)
        return result.masks, result.thresholds


@dataclass
class NarangPruner:
    """Narang's ramp with one q per matrix: given, or the `percentile` of |w| when pruning starts."""

    schedule: NarangSchedule
    scope: Scope = field(default_factory=Scope)
    q: dict[str, float] | None = None
    percentile: float = 0.9

    def updates_at(self, step: int) -> bool:
        return self.schedule.updates_at(step)

    def masks_at(self, step: int, model: Forecaster) -> tuple[MaskSet, dict]:
        if self.q is None:  # no trained reference given: the weights as pruning starts stand in for it
            self.q = scope_quantiles(model, self.scope, self.percentile)
        params = dict(model.named_parameters())
        masks, thresholds = {}, {}
        for name in weight_names(model, include_head=self.scope.head):
            w = params[name].detach()
            masks[name] = torch.ones_like(w, dtype=torch.bool)
            rows = self.scope.rows(model, name)
            if rows is None:
                thresholds[name] = None
                continue
            thresholds[name] = self.schedule.threshold_at(step, self.q[name])
            masks[name][rows] = w[rows].abs() > thresholds[name]
        return masks, thresholds


@dataclass
class GradualResult:
    training: TrainResult
    result: PruneResult  # the final masks, with the last thresholds
    sparsity_by_step: list[float]  # achieved in-scope sparsity after step t, t = 0..steps run


def gradual_fit(model: Forecaster, data: Dataset, config: TrainConfig, pruner: GradualPruner,
                callbacks: Callbacks = Callbacks()) -> GradualResult:
    """Train `model` in place while `pruner` recomputes the masks; ends with the last masks held."""
    state: dict = {"masks": None, "thresholds": {}, "sparsity": 0.0}
    trace: list[float] = []

    def update(step: int, model: Forecaster, masks: MaskSet | None) -> MaskSet | None:
        new = None
        if pruner.updates_at(step):
            proposed, state["thresholds"] = pruner.masks_at(step, model)
            new = proposed if masks is None else {n: proposed[n] & masks[n] for n in proposed}  # never revive
            state["masks"] = new
            state["sparsity"] = describe_masks(model, pruner.scope, new, {}).sparsity
        trace.append(state["sparsity"])
        return new

    training = fit(model, data, config, callbacks=callbacks, mask_update=update)
    result = describe_masks(model, pruner.scope, state["masks"], state["thresholds"])
    return GradualResult(training=training, result=result, sparsity_by_step=trace)


@dataclass(frozen=True)
class GradualPlan:
    """Where a schedule sits in a training budget (the same plan serves AGP and Narang).

    Defaults: prune from the end of the first epoch (the weights have found their scale) to
    90% of the budget, recomputing every 5 steps, so the last 10% trains with the final mask;
    Narang's ramp sits a third of the way into the pruning span. Measured on the power-load
    sample (hidden 128, window 100, 10 epochs, AGP to 90% of hh), a long gentle schedule beat
    a short one with a long recovery: test RMSE +5.6% over dense ending at 90% of the budget,
    +11.6% ending at 70% (dt = 5), +14.2% at 70% with dt = 20.
    """

    start_epochs: float = 1.0
    end_fraction: float = 0.9
    frequency: int = 5
    ramp_fraction: float = 1 / 3
    initial_sparsity: float = 0.0

    def __post_init__(self):
        if not (self.start_epochs >= 0 and 0 < self.end_fraction <= 1 and self.frequency >= 1
                and 0 <= self.ramp_fraction <= 1):
            raise ConfigError("gradual plan needs start_epochs >= 0, 0 < end_fraction <= 1, frequency >= 1 and "
                              "0 <= ramp_fraction <= 1.")

    def span(self, total_steps: int, steps_per_epoch: int) -> tuple[int, int, int]:
        """(start, end, frequency) in steps, squeezed to fit short budgets."""
        end = max(1, round(self.end_fraction * total_steps))
        start = min(round(self.start_epochs * steps_per_epoch), end - 1)
        return start, end, max(1, min(self.frequency, end - start))

    def agp(self, target: float, total_steps: int, steps_per_epoch: int) -> AgpSchedule:
        start, end, dt = self.span(total_steps, steps_per_epoch)
        return AgpSchedule(final_sparsity=target, start=start, n=max(1, (end - start) // dt), dt=dt,
                           initial_sparsity=min(self.initial_sparsity, target))

    def narang(self, total_steps: int, steps_per_epoch: int) -> NarangSchedule:
        start, end, freq = self.span(total_steps, steps_per_epoch)
        return NarangSchedule(start=start, ramp=start + round(self.ramp_fraction * (end - start)), end=end, freq=freq)


@dataclass(frozen=True)
class GradualSpec:
    """How the comparison runner builds a gradual method from a plan, a budget and a target."""

    name: str
    label: str
    make: Callable[..., GradualPruner]  # (plan, target, total_steps, steps_per_epoch, scope, reference, global_)
    needs_reference: bool = False  # wants a trained dense model (Narang's q)
    description: str = ""


def _make_agp(plan, target, total_steps, steps_per_epoch, scope, reference=None, global_=False) -> AgpPruner:
    return AgpPruner(plan.agp(target, total_steps, steps_per_epoch), scope, global_=global_)


def _make_narang(plan, target, total_steps, steps_per_epoch, scope, reference=None, global_=False) -> NarangPruner:
    """Per matrix by definition (one q per matrix), so `global_` does not apply."""
    q = scope_quantiles(reference, scope, target) if reference is not None else None
    return NarangPruner(plan.narang(total_steps, steps_per_epoch), scope, q=q, percentile=target)


GRADUAL: Registry[GradualSpec] = Registry("gradual schedule")
for _spec in (
    GradualSpec("agp", "AGP (Zhu & Gupta, cubic)", _make_agp,
                description="Magnitude masks recomputed during training, sparsity rising on a cubic to the target."),
    GradualSpec("narang", "Narang et al. (threshold ramp)", _make_narang, needs_reference=True,
                description="Threshold rising on two linear ramps to q, the target-quantile of |w| of a trained dense "
                            "model."),
):
    GRADUAL.register(_spec)


def steps_per_epoch(data: Dataset, config: TrainConfig) -> int:
    return math.ceil(len(data.train) / config.batch_size)
