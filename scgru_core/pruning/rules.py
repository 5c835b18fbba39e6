"""Pruning rules and the masks they produce.

Every rule has the shape of `torch.nn.utils.prune`: a `BasePruningMethod` whose
`compute_mask(t, default_mask)` is all that differs. Magnitude and random pruning *are*
the library's `L1Unstructured` / `RandomUnstructured`; the SCGRU sensitivity rule is a
subclass of the same base, so it also works with `SensitivityUnstructured.apply(module, name, s=...)`.

A rule sees a score tensor (the weights themselves, or a saliency such as |w * dL/dw|) of
the in-scope part of one matrix (or of all matrices at once for a global rule) and
returns a keep-mask. The registry maps a rule's name to it; callers list the registry.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields, replace
from typing import Callable

import torch
from torch.nn.utils import prune as tprune

from scgru_core.errors import ConfigError
from scgru_core.registry import Registry
from scgru_core.net.masks import MaskSet
from scgru_core.net.model import Forecaster, gate_blocks, matrix_kind, weight_names
from scgru_core.pruning.scopes import Scope


def floor_count(n: int, k: float) -> int:
    """How many of a matrix's `n` weights the floor k keeps whatever the threshold: ceil(k n), at least one."""
    return max(1, math.ceil(k * n - 1e-9))


def sensitivity_threshold(abs_w: torch.Tensor, s: float, k: float) -> float:
    """SCGRU: thr = s * std(|W|) (population std, as the reference code's np.std); while fewer
    than a fraction k of the weights have |w| >= thr, lower thr by 1% and retry.

    The retry loop is solved in closed form (the number of 1% steps needed to reach the
    ceil(kN)-th largest |w|) and then checked, so a huge s costs no more than a small one.
    """
    n = abs_w.numel()
    # in float64: s * std in float32 overflows to inf for s above ~1e38, and log(q / inf) fails below
    thr = min(s * abs_w.std(unbiased=False).item(), sys.float_info.max) if n > 1 else 0.0

    def survivors_ok(t: float) -> bool:
        return k <= int((abs_w >= t).sum()) / n

    if n == 0 or survivors_ok(thr):
        return thr
    need = floor_count(n, k)
    q = float(torch.topk(abs_w.flatten(), need).values[-1])  # largest thr that keeps `need` weights
    if q <= 0.0:
        return 0.0
    # logs apart and the power in chunks: q / thr and 0.99 ** steps can underflow when s is huge
    steps = max(0, math.ceil((math.log(q) - math.log(thr)) / math.log(0.99)) - 2)
    for _ in range(steps // 10_000):
        thr *= 0.99 ** 10_000
    thr *= 0.99 ** (steps % 10_000)
    while not survivors_ok(thr):  # at most a few iterations after the closed form
        thr *= 0.99
    return thr


class SensitivityUnstructured(tprune.BasePruningMethod):
    """Tang et al. 2022 (SCGRU): prune |w| < s * std(|W|), keeping at least a fraction k."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, s: float, k: float = 0.01):
        self.s, self.k = float(s), float(k)
        self.threshold: float | None = None

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        self.threshold = sensitivity_threshold(t.abs(), self.s, self.k)
        return default_mask * (t.abs() >= self.threshold).to(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, s, k=0.01, importance_scores=None):
        return super().apply(module, name, s=s, k=k, importance_scores=importance_scores)


class TaylorUnstructured(tprune.L1Unstructured):
    """First-order Taylor (Molchanov et al. 2017): prune the smallest saliencies |w * dL/dw|.

    Ranking is L1Unstructured's; what differs is the tensor it ranks, the saliency (see
    `saliency.taylor_scores`), passed as `scores=` to `prune` or `importance_scores=` to `apply`.
    """


@dataclass(frozen=True)
class TorchForm:
    """How Show code writes a rule with torch.nn.utils.prune. `args` is filled from the state's fields ({sparsity},
    {sensitivity}, {floor}); a RuleSpec without one has its masks taken from the engine in that code."""

    function: str  # per matrix, on (module, name, args): "prune.l1_unstructured"
    method: str  # the BasePruningMethod, for global_unstructured and compute_mask: "prune.L1Unstructured"
    args: str  # "amount={sparsity}"
    imports: str = ""  # what the code must import for it


@dataclass(frozen=True)
class RuleSpec:
    """How a rule is made from a PruneConfig, what its slider means, and how Show code writes it (`explain`, a
    one-line comment filled from the state's fields, {where} saying per matrix or global; `torch`)."""

    name: str
    label: str
    control: str  # "sensitivity" or "sparsity": which setting drives it
    make: Callable[["PruneConfig"], tprune.BasePruningMethod]
    supports_global: bool = True
    needs_scores: bool = False
    description: str = ""
    draws_random: bool = False  # seeded from PruneConfig.seed; the others are deterministic and skip the RNG
    needs_allocation: bool = False  # per-part sparsities (from a sensitivity analysis) instead of one sparsity
    explain: str = ""
    torch: TorchForm | None = None


RULES: Registry[RuleSpec] = Registry("pruning rule")
register = RULES.register


register(RuleSpec("sensitivity", "SCGRU sensitivity (s x std|W|)", "sensitivity",
                  lambda c: SensitivityUnstructured(c.sensitivity, c.floor), supports_global=False,
                  description="Per matrix, prune |w| < s * std(|W|), keeping at least a fraction k (Tang et al. 2022).",
                  explain="SCGRU rule: per matrix, prune |w| < s * std(|W|) with s = {sensitivity:g}, keeping at least a "
                          "fraction k = {floor:g}",
                  torch=TorchForm("SensitivityUnstructured.apply", "SensitivityUnstructured", "s={sensitivity}, k={floor}",
                                  "from scgru_core.pruning.rules import SensitivityUnstructured")))
register(RuleSpec("magnitude", "Magnitude (smallest |w|)", "sparsity",
                  lambda c: tprune.L1Unstructured(amount=c.sparsity),
                  description="Prune the smallest |w| to a target sparsity, per matrix or globally.",
                  explain="magnitude: prune the {sparsity:.0%} smallest |w| {where}",
                  torch=TorchForm("prune.l1_unstructured", "prune.L1Unstructured", "amount={sparsity}")))
register(RuleSpec("random", "Random", "sparsity",
                  lambda c: tprune.RandomUnstructured(amount=c.sparsity), draws_random=True,
                  description="Prune a random subset to a target sparsity (seeded): the baseline any rule must beat.",
                  explain="random: prune {sparsity:.0%} of the weights at random (seeded), the baseline",
                  torch=TorchForm("prune.random_unstructured", "prune.RandomUnstructured", "amount={sparsity}")))
register(RuleSpec("per_matrix", "Per-matrix sparsities (sensitivity analysis)", "sparsity",
                  lambda c: tprune.L1Unstructured(amount=c.sparsity), supports_global=False, needs_allocation=True,
                  description="Each matrix (or gate block) gets its own sparsity, chosen from a sensitivity analysis "
                              "to reach the target at the least predicted validation error; magnitude within each."))
register(RuleSpec("taylor", "Taylor saliency (|w x dL/dw|)", "sparsity",
                  lambda c: TaylorUnstructured(amount=c.sparsity), needs_scores=True,
                  description="Prune the weights whose removal changes the training loss least, to first order.",
                  explain="Taylor: prune the {sparsity:.0%} of weights with the smallest |w * dL/dw| {where}",
                  torch=TorchForm("prune.l1_unstructured", "prune.L1Unstructured", "amount={sparsity}")))


@dataclass(frozen=True)
class PruneConfig:
    method: str = "sensitivity"
    sensitivity: float = 1.0  # s, for rules driven by a threshold
    sparsity: float = 0.5  # target fraction pruned, for rules driven by a sparsity
    floor: float = 0.01  # k: keep at least this fraction of each matrix (sensitivity rule)
    scope: Scope = field(default_factory=Scope)
    global_: bool = False  # one ranking across all in-scope matrices instead of per matrix
    seed: int = 0  # for the random rule

    def __post_init__(self):
        RULES.require(self.method)
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"sparsity must be in [0, 1), not {self.sparsity}.")
        if not (self.sensitivity >= 0 and math.isfinite(self.sensitivity)):
            raise ConfigError(f"sensitivity s must be a finite number >= 0, not {self.sensitivity}.")
        if not 0.0 < self.floor <= 1.0:
            raise ConfigError(f"floor k must be in (0, 1], not {self.floor}.")
        if self.global_ and not RULES[self.method].supports_global:
            raise ConfigError(f"the {self.method} rule is per matrix by definition; it has no global form.")

    @property
    def rule(self) -> RuleSpec:
        return RULES[self.method]

    def essential(self) -> PruneConfig:
        """This config with the settings its rule does not read at their defaults, so that two configs that prune
        alike compare equal: the snapshot cache's key (the Prune page's target box writes `sparsity` under a
        threshold rule, and a move must not prune twice for it)."""
        unused = ("sparsity",) if self.rule.control == "sensitivity" else ("sensitivity", "floor")
        unused += () if self.rule.draws_random else ("seed",)
        defaults = {f.name: f.default for f in fields(PruneConfig)}
        return replace(self, **{name: defaults[name] for name in unused})


@dataclass(frozen=True)
class PruneResult:
    """Masks plus what the user reads beside the slider."""

    masks: MaskSet
    thresholds: dict  # name -> absolute threshold on |w| (None for rules without one)
    in_scope: dict  # name -> number of in-scope weights
    pruned: dict  # name -> number pruned

    @property
    def sparsity(self) -> float:
        """Fraction of the in-scope weights that are pruned."""
        total = sum(self.in_scope.values())
        return sum(self.pruned.values()) / total if total else 0.0

    @property
    def kept(self) -> tuple[int, int]:
        """(in-scope weights kept, in-scope weights): the counts the sparsity is a share of."""
        total = sum(self.in_scope.values())
        return total - sum(self.pruned.values()), total

    @property
    def per_matrix(self) -> dict:
        """Fraction pruned of each whole matrix."""
        return {n: self.pruned[n] / m.numel() for n, m in self.masks.items()}


def _cut_value(scores: torch.Tensor, keep: torch.Tensor) -> float | None:
    """The effective threshold of a rank-based rule: the smallest kept |score| (0 if nothing is cut)."""
    if bool(keep.all()):
        return 0.0
    kept = scores.abs()[keep]
    return float(kept.min()) if kept.numel() else None


def describe_masks(model: Forecaster, scope: Scope, masks: MaskSet | None, thresholds: dict) -> PruneResult:
    """The PruneResult of `masks` (None: nothing pruned yet): what is in scope and how much of it is pruned."""
    params = dict(model.named_parameters())
    full, in_scope, pruned = {}, {}, {}
    for name in weight_names(model, include_head=scope.head):
        mask = masks[name] if masks else torch.ones_like(params[name], dtype=torch.bool)
        rows = scope.rows(model, name)
        full[name] = mask
        in_scope[name] = 0 if rows is None else mask[rows].numel()
        pruned[name] = 0 if rows is None else int((~mask[rows]).sum())
    return PruneResult(masks=full, thresholds={n: thresholds.get(n) for n in full}, in_scope=in_scope, pruned=pruned)


def allocation_masks(model: Forecaster, allocation: dict[str, float], scope: Scope = Scope()) -> tuple[MaskSet, dict]:
    """Keep-masks (and cut values) with each in-scope part named in `allocation` cut to its sparsity by magnitude
    within itself: 'rnn.weight_hh_l0' ranks the matrix's in-scope rows together, 'rnn.weight_hh_l0:reset' one
    gate's rows. Parts not named are kept whole."""
    params = dict(model.named_parameters())
    masks, thresholds = {}, {}
    for name in weight_names(model, include_head=scope.head):
        w = params[name].detach()
        masks[name], cuts = torch.ones_like(w, dtype=torch.bool), []
        in_scope = scope.rows(model, name)
        kind = matrix_kind(name)
        blocks = [(allocation[name], in_scope)] if name in allocation and in_scope is not None else [
            (allocation[f"{name}:{g}"], torch.arange(sl.start, sl.stop)) for g, sl in gate_blocks(model, name).items()
            if f"{name}:{g}" in allocation and not name.startswith("head.") and scope.selects(kind, g)]
        for amount, rows in blocks:
            if amount <= 0:
                continue
            block = w[rows]
            keep = tprune.L1Unstructured(amount=float(amount)).compute_mask(block, torch.ones_like(block)).bool()
            masks[name][rows] = keep
            cuts.append(_cut_value(block.flatten(), keep.flatten()))
        thresholds[name] = min((c for c in cuts if c is not None), default=None)
    return masks, thresholds


def prune(model: Forecaster, config: PruneConfig, scores: dict | None = None,
          allocation: dict[str, float] | None = None) -> PruneResult:
    """Compute masks for `model` (its weights are not changed). `scores` replaces |w| for saliency rules;
    `allocation` (part -> sparsity, see sensitivity_analysis.allocate) drives the per-part rule."""
    if config.rule.needs_allocation:
        if allocation is None:
            raise ConfigError(f"The {config.method} rule prunes each matrix to its own sparsity: pass allocation= "
                              "(sensitivity_analysis.allocate), or prune through a PruningLab, which runs the analysis.")
        masks, thresholds = allocation_masks(model, allocation, config.scope)
        return describe_masks(model, config.scope, masks, thresholds)
    if config.rule.needs_scores and scores is None:
        raise ConfigError(f"The {config.method} rule ranks saliency scores, not weights: pass scores= "
                          "(saliency.scores_for(model, data, method)), or prune through a PruningLab.")
    params = dict(model.named_parameters())
    names = weight_names(model, include_head=config.scope.head)
    masks, thresholds = {}, {}
    selected: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    for name in names:
        w = params[name].detach()
        masks[name] = torch.ones_like(w, dtype=torch.bool)
        rows = config.scope.rows(model, name)
        if rows is None:
            continue
        score = (scores[name] if scores is not None else w)[rows].flatten()
        selected.append((name, rows, score))
    if not selected:
        raise ConfigError("The scope selects no weights of this model. Choose ih, hh or both, or other gates.")

    def run_rule(score: torch.Tensor, seed: int):
        rule = config.rule.make(config)
        if not config.rule.draws_random:
            return rule.compute_mask(score, torch.ones_like(score)).bool(), getattr(rule, "threshold", None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # each matrix gets its own stream; the caller's RNG is left untouched
            return rule.compute_mask(score, torch.ones_like(score)).bool(), None

    if config.global_:
        keep_all, _ = run_rule(torch.cat([s for _, _, s in selected]), config.seed)
        results = [(keep, None) for keep in keep_all.split([s.numel() for _, _, s in selected])]
    else:
        results = [run_rule(s, config.seed * 1000 + i) for i, (_, _, s) in enumerate(selected)]
    for (name, rows, score), (keep, thr) in zip(selected, results):
        masks[name][rows] = keep.view(len(rows), -1)
        if thr is None and not config.rule.draws_random and not config.rule.needs_scores:  # a cut on |w| only
            thr = _cut_value(score, keep)
        thresholds[name] = thr
    return describe_masks(model, config.scope, masks, thresholds)


def input_reach(model: Forecaster, result: PruneResult) -> tuple[int, int]:
    """(kept, total) weights of the first layer's input matrix, through which every input value enters the network.
    With a single input series it is 3H weights, a tiny share of the model, and cutting it to the floor (at scope
    both, high sparsity) left the SCGRU recipe worse than the naive forecast at some seeds."""
    mask = result.masks.get("rnn.weight_ih_l0")
    if mask is None:
        return 0, 0
    return int(mask.sum()), mask.numel()


def at_threshold(config: PruneConfig, s: float) -> PruneConfig:
    """`config` at threshold s: its own rule where a threshold drives it (each threshold rule is searched as itself),
    else SCGRU's, the rule a target sparsity is searched with for the others."""
    method = config.method if config.rule.control == "sensitivity" else "sensitivity"
    return replace(config, method=method, sensitivity=s, global_=False)


def max_reachable_sparsity(model: Forecaster, config: PruneConfig = PruneConfig(), s_max: float = math.inf) -> float:
    """The largest sparsity the threshold rule reaches with this scope and floor k for s up to `s_max`
    (infinite: every matrix cut down to its floor, so about 1 - k)."""
    s = 1e30 if math.isinf(s_max) else s_max  # the threshold's closed form makes a huge s as cheap as a small one
    return prune(model, at_threshold(config, s)).sparsity


def sensitivity_for_sparsity(model: Forecaster, target: float, config: PruneConfig = PruneConfig(),
                             tol: float = 1e-3, max_iter: int = 60) -> float:
    """The smallest s whose threshold pruning (`at_threshold`) reaches `target` sparsity (bisection: sparsity is monotone in s
    until the floor binds). A target beyond the floor is refused with the largest one this model reaches."""
    if not 0.0 <= target < 1.0:
        raise ConfigError(f"target sparsity must be in [0, 1), not {target}.")
    top = max_reachable_sparsity(model, config)
    if target > top:
        raise ConfigError(f"A sparsity of {target:.2%} cannot be reached with the floor k = {config.floor:g}: every "
                          f"matrix keeps at least that share of its weights, so the most this model and scope reach "
                          f"is {top:.2%}. Lower the target, or the floor k.")

    def sparsity_at(s: float) -> float:
        return prune(model, at_threshold(config, s)).sparsity

    lo, hi = 0.0, 1.0
    while sparsity_at(hi) < target and hi < 1e4:
        lo, hi = hi, hi * 2
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        if sparsity_at(mid) >= target:
            hi = mid
        else:
            lo = mid
        if hi - lo < tol * max(hi, 1e-6):
            break
    return hi
