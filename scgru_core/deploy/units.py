"""Which hidden units of a recurrent layer to remove: structured pruning rules over whole units.

A unit j of layer k is everything that exists only because of it:
  - its row in every gate block (GRU: reset j, update j, new 2H + j; LSTM, as Wen et al. 2017: input, forget, cell
    and output rows; RNN: row j) of `weight_ih_l{k}`, `weight_hh_l{k}` and both biases;
  - its column j in `weight_hh_l{k}` (what the layer's units read of h_j);
  - its column j in whatever reads the layer's output: `weight_ih_l{k+1}`, or the head for the last layer.
Removing a unit removes all of these at once, so the network becomes physically smaller (`shrink.py`),
unlike unstructured masks, which leave every matrix its full size.

The rules keep the registry shape of the unstructured ones (`pruning.RULES`): each is a
`torch.nn.utils.prune.BasePruningMethod` whose `compute_mask` turns a per-unit score vector of one layer
into a keep-mask, and `UNIT_RULES` maps a name to it; callers list the registry instead of branching.

  - unit_norm: the L2 norm of all of a unit's weights; remove the smallest, a fraction of each layer
    (the library's `L1Unstructured` ranking, applied to the norms).
  - unit_sensitivity: SCGRU lifted to units: remove units whose norm is below s * std(unit norms),
    keeping at least a fraction k of each layer (`SensitivityUnstructured` applied to the norms).
  - dead: units with no path to the output (after unstructured pruning). Removing them is exact.

A unit is dead when nothing it computes can reach the forecast: every weight that reads h_j, from a unit
that is itself still live, is zero. A unit whose *incoming* weights are all zero is not dead: its biases
still drive its state over time (a GRU's h' = (1 - z) n + z h with n = tanh(b_in + r b_hn) moves; an LSTM's c' and
h' = o tanh(c') move with its biases), so it still
shifts the forecast through its outgoing weights. Liveness is found backwards from the head, so a chain
of units that only feed each other, or only feed dead units, is dead too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn.utils import prune as tprune

from scgru_core.errors import ConfigError
from scgru_core.registry import Registry
from scgru_core.net.cells import CELLS
from scgru_core.net.model import Forecaster
from scgru_core.net.masks import MaskSet, masked_state
from scgru_core.pruning.rules import SensitivityUnstructured


class LiveUnits(tprune.BasePruningMethod):
    """Keep exactly the units whose score is above zero (the score is 1 for a live unit, 0 for a dead one)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        return default_mask * (t > 0).to(default_mask.dtype)


def leaves_a_unit(fraction: float, hidden: int) -> bool:
    """Whether removing `fraction` of `hidden` units keeps at least one (the ranking removes
    round(fraction * hidden) units, as `L1Unstructured` counts them)."""
    return round(fraction * hidden) < hidden


@dataclass(frozen=True)
class UnitConfig:
    """A structured rule and its setting. `fraction`: share of each layer's units removed (unit_norm);
    `sensitivity` and `floor`: SCGRU's s and k over unit norms (unit_sensitivity)."""

    method: str = "unit_norm"
    fraction: float = 0.5
    sensitivity: float = 1.0
    floor: float = 0.01

    def __post_init__(self):
        UNIT_RULES.require(self.method)
        if not (0.0 <= self.fraction < 1.0):
            raise ConfigError(f"the fraction of units removed must be in [0, 1), not {self.fraction}: "
                              "removing every unit leaves no network.")
        if not (self.sensitivity >= 0 and math.isfinite(self.sensitivity)):
            raise ConfigError(f"sensitivity s must be a finite number >= 0, not {self.sensitivity}.")
        if not 0.0 < self.floor <= 1.0:
            raise ConfigError(f"floor k must be in (0, 1], not {self.floor}.")

    @property
    def rule(self) -> "UnitRuleSpec":
        return UNIT_RULES[self.method]

    def check_for(self, hidden: int) -> None:
        """Refuse, before any work, a fraction that would remove every unit of a layer of `hidden` units."""
        if self.rule.control == "fraction" and not leaves_a_unit(self.fraction, hidden):
            raise ConfigError(f"Removing {self.fraction:.1%} of {hidden} units would remove every unit: keep at "
                              f"least one (at most {(hidden - 1) / hidden:.1%} can go).")

    def describe(self) -> str:
        control = {"fraction": f"{self.fraction:.0%} of units", "sensitivity": f"s = {self.sensitivity:g}",
                   None: "exact"}[self.rule.control]
        return f"{self.rule.label} ({control})"


@dataclass(frozen=True)
class UnitRuleSpec:
    name: str
    label: str
    control: str | None  # "fraction", "sensitivity", or None (no setting)
    make: Callable[[UnitConfig], tprune.BasePruningMethod]
    score: Callable[[Forecaster, MaskSet | None], list[torch.Tensor]]
    exact: bool = False  # removal leaves every output unchanged
    description: str = ""


UNIT_RULES: Registry[UnitRuleSpec] = Registry("unit rule")
register = UNIT_RULES.register


def _params(model: Forecaster, masks: MaskSet | None) -> dict[str, torch.Tensor]:
    CELLS[model.config.cell].require_plain("Removing hidden units")
    return masked_state(model, masks or {})


def blocks_of(model: Forecaster) -> int:
    """Gate blocks of the model's matrices (3 for a GRU, 4 for an LSTM, 1 for an RNN): rows per unit."""
    return len(CELLS[model.config.cell].blocks["hh"])


def reader_of(model: Forecaster, layer: int) -> str:
    """The matrix that reads layer `layer`'s output: the next layer's input weights, or the head."""
    return f"rnn.weight_ih_l{layer + 1}" if layer + 1 < model.config.layers else "head.weight"


def unit_rows(hidden: int, units: torch.Tensor, blocks: int) -> torch.Tensor:
    """Row indices of `units` in a (blocks * H x .) matrix: their row in every gate block."""
    return torch.cat([units + g * hidden for g in range(blocks)])


def unit_norms(model: Forecaster, masks: MaskSet | None = None) -> list[torch.Tensor]:
    """Per layer, the L2 norm of each unit's weights and biases: its rows, its recurrent column (the
    self-connections counted once) and its column in the reader."""
    p, H, G = _params(model, masks), model.config.hidden, blocks_of(model)
    norms = []
    for k in range(model.config.layers):
        sq = lambda name: p[name].double() ** 2  # noqa: E731
        rows = (sq(f"rnn.weight_ih_l{k}").sum(1) + sq(f"rnn.weight_hh_l{k}").sum(1) + sq(f"rnn.bias_ih_l{k}")
                + sq(f"rnn.bias_hh_l{k}")).view(G, H).sum(0)
        hh = sq(f"rnn.weight_hh_l{k}")
        own = hh.view(G, H, H).diagonal(dim1=1, dim2=2).sum(0)  # w_hh[g*H + j, j]: already in the rows
        total = rows + hh.sum(0) - own + sq(reader_of(model, k)).sum(0)
        norms.append(total.sqrt().float())
    return norms


def live_units(model: Forecaster, masks: MaskSet | None = None) -> list[torch.Tensor]:
    """Per layer, 1.0 for each unit with a path to the forecast, 0.0 for a dead one (see the module doc)."""
    p, H, L, G = _params(model, masks), model.config.hidden, model.config.layers, blocks_of(model)
    live: list[torch.Tensor | None] = [None] * L
    reads_next = (p["head.weight"] != 0).any(0)  # the head reads the last layer directly
    for k in reversed(range(L)):
        if k + 1 < L:  # the next layer's live units read this one through their input rows
            reads_next = (p[f"rnn.weight_ih_l{k + 1}"][unit_rows(H, live[k + 1].nonzero().flatten(), G)] != 0).any(0)
        hh = (p[f"rnn.weight_hh_l{k}"] != 0).view(G, H, H).any(0)  # hh[u, j]: unit u reads h_j
        hh.fill_diagonal_(False)  # a unit that only feeds itself reaches nothing
        alive = reads_next.clone()
        while True:  # a unit is live if a live unit of its own layer reads it
            grown = alive | hh[alive].any(0)
            if bool((grown == alive).all()):
                break
            alive = grown
        live[k] = alive.float()
    return live


register(UnitRuleSpec("unit_norm", "Unit norm (smallest L2)", "fraction",
                      lambda c: tprune.L1Unstructured(amount=c.fraction), unit_norms,
                      description="Remove the units with the smallest L2 norm of all their weights, the same share "
                                  "of every layer."))
register(UnitRuleSpec("unit_sensitivity", "SCGRU on units (s x std of unit norms)", "sensitivity",
                      lambda c: SensitivityUnstructured(c.sensitivity, c.floor), unit_norms,
                      description="Per layer, remove the units whose norm is below s * std(unit norms), keeping at "
                                  "least a fraction k: the SCGRU rule lifted from weights to units."))
register(UnitRuleSpec("dead", "Dead units (no path to the output)", None, lambda c: LiveUnits(), live_units,
                      exact=True,
                      description="Remove the units that unstructured pruning already cut off from the forecast: "
                                  "exact, the outputs do not change."))


@dataclass(frozen=True)
class UnitSelection:
    """The units each layer keeps (ascending indices), and what the rule alone would have kept.

    `torch.nn.GRU` (and LSTM, RNN) has one hidden size for all its layers, so every layer keeps `hidden_after` units:
    the rule's choice in the layer that keeps most, and elsewhere the rule's choice topped up with the
    best-scoring of the units it dropped (for the dead rule: dead units, whose removal would be exact anyway).
    """

    config: UnitConfig
    keep: tuple[torch.Tensor, ...]
    rule_kept: tuple[int, ...]
    scores: tuple[torch.Tensor, ...]
    hidden_before: int

    @property
    def hidden_after(self) -> int:
        return int(self.keep[0].numel())

    @property
    def removed_fraction(self) -> float:
        return 1.0 - self.hidden_after / self.hidden_before


def select_units(model: Forecaster, config: UnitConfig, masks: MaskSet | None = None) -> UnitSelection:
    """Apply a unit rule to every layer; refuse a setting that would remove every unit."""
    H = model.config.hidden
    config.check_for(H)
    scores = config.rule.score(model, masks)
    rule_keep = [config.rule.make(config).compute_mask(s, torch.ones_like(s)).bool() for s in scores]
    kept = [int(m.sum()) for m in rule_keep]
    n = max(kept)
    if n == 0:
        reason = ("no unit has a path to the output: the pruning cut the network off from the forecast"
                  if config.method == "dead" else "choose a smaller s or a larger floor k")
        raise ConfigError(f"This would remove every hidden unit ({reason}).")
    keep = []
    for s, m in zip(scores, rule_keep):
        rank = s.clone().double()
        rank[m] += float(rank.max()) + 1.0  # the rule's units first, then the best of the rest
        keep.append(torch.sort(torch.topk(rank, n, sorted=True).indices).values)
    return UnitSelection(config=config, keep=tuple(keep), rule_kept=tuple(kept), scores=tuple(scores),
                         hidden_before=H)
