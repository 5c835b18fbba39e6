"""The live pruning lab: a trained dense model and its data, re-pruned on every slider move.

Re-pruning is a threshold over tensors already in memory, and the evaluation is one
batched forward pass of a working copy that holds the masked weights, so a move never
retrains and never rebuilds a module.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch

from scgru_core.errors import ConfigError
from scgru_core.net.cost import Cost, model_cost
from scgru_core.net.evaluate import Evaluation, evaluate, evaluate_naive
from scgru_core.net.model import Forecaster, gate_blocks
from scgru_core.net.masks import masked_state
from scgru_core.pruning.rules import PruneConfig, PruneResult, floor_count, max_reachable_sparsity, prune
from scgru_core.pruning.saliency import Scores, scores_for
from scgru_core.pruning.sensitivity_analysis import (SensitivityAnalysis, SensitivityConfig, allocate, analyse,
                                                     keys_in_scope)
from scgru_core.serve.snapshot_cache import SnapshotCache, model_digest
from scgru_core.data.windows import Dataset, data_fingerprint


@dataclasses.dataclass(frozen=True)
class GatePanel:
    """One gate's block of a weight matrix at one pruning setting: what a histogram or heatmap panel draws."""

    gate: str  # "reset", "update", "new" (or "head")
    weights: np.ndarray
    kept: np.ndarray  # bool, the shape of `weights`
    threshold: float | None = None  # the cut on |w|; None for rules that rank scores, and for none at all
    in_scope: bool = True  # False: the setting leaves this block dense
    title: str = ""  # what the figure writes over it (the gate's name when empty)


@dataclasses.dataclass(frozen=True)
class WeightFacts:
    """One connection, as a click on a heatmap cell asks about it: where it is, its value, how it ranks in its
    matrix, whether the setting on screen cuts it, and the threshold s from which the SCGRU rule cuts it."""

    matrix: str
    gate: str
    row: int  # the unit: the row within its gate's block
    column: int  # the input (W_ih) or the hidden unit (W_hh) it reads
    value: float
    rank: int  # by |w| among the weights the scope lets the rule see in this matrix (its whole matrix if none), 1 = largest
    count: int  # how many weights that ranking is over
    pruned: bool  # cut by the setting on screen
    in_scope: bool
    goes_at: float | None  # s = |w| / std(|W|): from there on the SCGRU rule cuts it; None when it never does
    floor_keeps: bool  # among the floor_count largest, which the floor k always keeps
    floor_count: int  # how many of the ranked weights the floor k keeps: ceil(k N)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything one slider position shows."""

    config: PruneConfig
    result: PruneResult
    evaluation: Evaluation
    cost: Cost


class PruningLab:
    def __init__(self, model: Forecaster, data: Dataset, cache: SnapshotCache | None = None):
        """`cache`, when given, is shared with every lab of the same weights and data (see snapshot_cache)."""
        self.model = model.eval()
        self.data = data
        self.cache = cache
        self._key = (model_digest(model), data_fingerprint(data)) if cache is not None else None
        self._work = copy.deepcopy(model).eval()
        self.dense = evaluate(model, data)
        self.naive = evaluate_naive(data)
        self.dense_cost = model_cost(model, None, data.window)
        self._scores: dict[str, Scores] = {}
        self._reachable: dict[tuple, float] = {}
        self._analyses: dict[SensitivityConfig, SensitivityAnalysis] = {}

    def _once(self, store: dict, kind: str, key, make):
        """`make()` computed once per lab, and once per server when the cache is shared (a class on one model: the
        sensitivity analysis took each student's session 3.6 s of CPU)."""
        if key not in store:
            shared = (self._key, kind, key) if self.cache is not None else None
            store[key] = make() if shared is None else self.cache.get_or_make(shared, make)
        return store[key]

    def scores(self, method: str) -> Scores:
        """The saliency a score-ranking rule needs, computed once (one pass over the training windows)."""
        return self._once(self._scores, "scores", method, lambda: scores_for(self.model, self.data, method))

    def analysis(self, config: SensitivityConfig = SensitivityConfig(), progress=None) -> SensitivityAnalysis:
        """The sensitivity analysis of the dense model (each gate block pruned alone), computed once."""
        return self._once(self._analyses, "analysis", config, lambda: analyse(self.model, self.data, config, progress))

    def has_analysis(self, config: SensitivityConfig = SensitivityConfig()) -> bool:
        """Whether `analysis(config)` is ready without computing (this lab's, or the shared cache's)."""
        return config in self._analyses or (self.cache is not None and (self._key, "analysis", config) in self.cache)

    def allocation(self, config: PruneConfig) -> dict[str, float]:
        """The per-part sparsities the analysis suggests for `config`'s target sparsity within its scope."""
        analysis = self.analysis()
        return allocate(analysis, config.sparsity, keys_in_scope(self.model, analysis.parts, config.scope)).sparsities

    def reachable_sparsity(self, config: PruneConfig, s_max: float) -> float:
        """The largest sparsity the sensitivity rule reaches for s up to `s_max` with this scope and floor
        (computed once per scope and floor: the target control's upper end)."""
        return self._once(self._reachable, "reachable", (config.scope, config.floor, s_max),
                          lambda: max_reachable_sparsity(self.model, config, s_max))

    def masked_model(self, result: PruneResult) -> Forecaster:
        """A fresh copy of the dense model with `result`'s masks applied (safe to keep or fine-tune)."""
        twin = copy.deepcopy(self.model)
        twin.load_state_dict(masked_state(self.model, result.masks))
        return twin

    def at(self, config: PruneConfig, scores: dict | None = None) -> Snapshot:
        """Prune the dense weights with `config` and evaluate the result on the test part (once per model, data
        and config when a cache is shared; `scores` passed in by hand are the caller's, so they bypass it)."""
        if self.cache is not None and scores is None:
            snap = self.cache.get_or_make(self.key(config), lambda: self._at(config, None))
            return snap if snap.config == config else dataclasses.replace(snap, config=config)
        return self._at(config, scores)

    def panels(self, snap: Snapshot, name: str) -> list[GatePanel]:
        """The gate blocks of matrix `name` in `snap`: weights, kept mask, the cut on |w|, whether in scope."""
        weights = dict(self.model.named_parameters())[name].detach().numpy()
        kept = snap.result.masks[name].numpy()
        rows = snap.config.scope.rows(self.model, name)
        in_rows = set(rows.tolist()) if rows is not None else set()
        # A saliency rule's threshold is on its score, not on |w|: no cut line on the weight axis then.
        threshold = None if snap.config.rule.needs_scores else snap.result.thresholds.get(name)
        return [GatePanel(gate, weights[block], kept[block], threshold, block.start in in_rows)
                for gate, block in gate_blocks(self.model, name).items()]

    def weight(self, snap: Snapshot, name: str, gate: str, row: int, column: int) -> WeightFacts:
        """The facts of one weight of matrix `name`: the `row`-th unit of `gate`'s block, input `column`. The s it
        goes at is the SCGRU rule's (|w| < s std(|W|) over the in-scope part, population std), whatever rule is
        on screen; the floor k (snap's, or the default) keeps the ceil(k N) largest whatever s is."""
        w = dict(self.model.named_parameters())[name].detach()
        blocks = gate_blocks(self.model, name)
        if gate not in blocks or not 0 <= row < blocks[gate].stop - blocks[gate].start or not 0 <= column < w.shape[1]:
            raise ConfigError(f"{name} has no weight at gate {gate!r}, row {row}, column {column}")
        r = blocks[gate].start + row
        rows = snap.config.scope.rows(self.model, name)
        in_scope = rows is not None and r in set(rows.tolist())
        part = (w[rows] if in_scope else w).abs().flatten().double()
        value = float(w[r, column])
        rank = int((part > abs(value)).sum()) + 1
        need = floor_count(part.numel(), snap.config.floor)
        std = float(part.std(unbiased=False)) if part.numel() > 1 else 0.0
        floor_keeps = rank <= need
        goes_at = abs(value) / std if in_scope and std > 0 and not floor_keeps else None
        return WeightFacts(name, gate, row, column, value, rank, part.numel(),
                           not bool(snap.result.masks[name][r, column]), in_scope, goes_at, floor_keeps, need)

    def key(self, config: PruneConfig) -> tuple | None:
        """What `at(config)`'s snapshot depends on (digests of the weights and data, the config's essentials): the
        shared cache's key, and the key of anything drawn from that snapshot. None without a shared cache."""
        return (self._key, config.essential()) if self.cache is not None else None

    def _at(self, config: PruneConfig, scores: dict | None) -> Snapshot:
        if scores is None and config.rule.needs_scores:
            scores = self.scores(config.method)
        allocation = self.allocation(config) if config.rule.needs_allocation else None
        result = prune(self.model, config, scores, allocation)
        with torch.no_grad():
            self._work.load_state_dict(masked_state(self.model, result.masks))
        return Snapshot(config=config, result=result, evaluation=evaluate(self._work, self.data),
                        cost=model_cost(self.model, result.masks, self.data.window))
