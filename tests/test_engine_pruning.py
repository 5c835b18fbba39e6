"""Pruning rules: the SCGRU threshold against the reference loop, magnitude and global pruning against
torch.nn.utils.prune, seeded random pruning, scopes, and finding s for a target sparsity."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.nn.utils import prune as tprune

from _engine_support import same_state, state_of, tiny_data, tiny_model
from scgru_core import (ConfigError, PruneConfig, PruningLab, Scope, SensitivityUnstructured, evaluate, model_cost,
                        prune, sensitivity_for_sparsity)
from scgru_core.net.cells import GATES
from scgru_core.net.model import gate_blocks, weight_names
from scgru_core.pruning.scopes import KINDS

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- the SCGRU rule on single matrices

def reference_threshold(w: np.ndarray, s: float, k: float) -> float:
    """Tang et al.'s `prune_by_std`, literally: thr = s * std(|W|); `while not prune(thr, k): thr *= 0.99`,
    where `prune` rejects a mask that keeps fewer than a fraction k of the matrix."""
    a = np.abs(w.astype(np.float64)).ravel()
    thr = s * a.std()  # numpy's std is the population std (ddof=0), as in the reference code

    def prune_ok(t):
        return (a >= t).sum() / a.size >= k

    while not prune_ok(thr):
        thr *= 0.99
    return thr


def engine_rule(w: np.ndarray, s: float, k: float) -> tuple[float, np.ndarray]:
    t = torch.from_numpy(np.ascontiguousarray(w))
    rule = SensitivityUnstructured(s, k)
    keep = rule.compute_mask(t, torch.ones_like(t)).bool().numpy()
    return rule.threshold, keep


def assert_same_mask_up_to_rounding(w: np.ndarray, keep: np.ndarray, keep_ref: np.ndarray, thr: float) -> None:
    """Masks must agree, except for a weight that sits on the threshold to float32 precision."""
    differ = keep != keep_ref
    a = np.abs(w.astype(np.float64))
    on_threshold = np.isclose(a[differ], thr, rtol=1e-5, atol=0) | (np.float32(a[differ]) == np.float32(thr))
    assert on_threshold.all(), f"masks differ away from the threshold {thr} at {a[differ]}"


def _normal_matrix(rows, cols, seed, scale):
    return (scale * np.random.default_rng(seed).normal(size=(rows, cols))).astype(np.float32)


shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))
matrices = st.one_of(
    shapes.flatmap(lambda sh: hnp.arrays(np.float32, sh, elements=st.floats(-3, 3, width=32))),  # ties, zeros, odd values
    st.builds(_normal_matrix, st.integers(1, 24), st.integers(1, 24), st.integers(0, 2**16), st.floats(1e-3, 10)),
)


def test_threshold_by_hand_is_population_std_of_abs():
    w = np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32)
    # |W| = 1, 2, 3, 4: mean 2.5, population std sqrt(1.25) = 1.1180 (the sample std would be 1.2910)
    thr, keep = engine_rule(w, 1.7, 0.01)
    assert thr == pytest.approx(1.7 * math.sqrt(1.25), rel=1e-7)  # 1.9007: the sample std would give 2.1947
    assert keep.tolist() == [[False, True], [True, True]]  # |w| < thr pruned, |w| >= thr kept


@PROPS
@given(w=matrices, s=st.floats(0, 4), k=st.floats(1e-3, 0.5))
def test_threshold_is_s_times_population_std_when_floor_does_not_bind(w, s, k):
    a = np.abs(w.astype(np.float64))
    thr0 = s * a.std()
    assume((a >= thr0 * (1 + 1e-5)).mean() >= k)  # the floor does not bind, with room for float32 rounding
    thr, keep = engine_rule(w, s, k)
    assert thr == pytest.approx(thr0, rel=1e-6, abs=1e-6 * s * a.max())  # torch's float32 std: ~eps * mean off
    assert_same_mask_up_to_rounding(w, keep, a >= thr0, thr)


@PROPS
@given(w=matrices, s=st.one_of(st.floats(0.5, 8), st.floats(8, 1e4)), k=st.floats(0.01, 1.0))
def test_threshold_equals_literal_reference_loop(w, s, k):
    a = np.abs(w.astype(np.float64))
    assume((a > 0).mean() >= k)  # otherwise the literal loop only ends when thr underflows to 0
    ref = reference_threshold(w, s, k)
    thr, keep = engine_rule(w, s, k)
    # float32 cannot be finer than its own grid: subnormal weights (below 1.2e-38) are spaced 1.4e-45 apart, so their
    # std carries an absolute error of a few such steps (2.56e-43 and 0 gave 1.289e-43 against 1.282e-43)
    grid = 64 * s * float(np.finfo(np.float32).smallest_subnormal)
    assert thr == pytest.approx(ref, rel=1e-5, abs=max(1e-6 * s * a.max(), grid))
    assert_same_mask_up_to_rounding(w, keep, a >= ref, thr)


def test_floor_lowering_follows_the_reference_even_where_it_is_not_monotone():
    """The 1% steps make the floor's final threshold a sawtooth in s: a larger s can land lower in the 1% band
    below the k-quantile and keep one more weight. The engine reproduces the reference exactly there."""
    rest = np.linspace(0.05, 0.5, 8)
    w = np.concatenate([[1.0, 0.995], rest]).astype(np.float32).reshape(2, 5)
    std = np.abs(w.astype(np.float64)).std()
    k = 0.1  # keep at least 1 of 10
    s1, s2 = 1.008 / std, 1.0102 / std  # thr0 = 1.008 -> one 1% step -> 0.998; thr0 = 1.0102 -> two steps -> 0.990
    for s, kept in ((s1, 1), (s2, 2)):
        thr, keep = engine_rule(w, s, k)
        assert thr == pytest.approx(reference_threshold(w, s, k), rel=1e-6)
        assert int(keep.sum()) == kept


TINY_SURVIVOR = np.array([[2.0, 7.440647e-39]], dtype=np.float32)  # q / thr underflowed here once


@PROPS
@given(w=matrices, s=st.one_of(st.floats(0, 10), st.floats(1e3, 1e300), st.just(1e308)), k=st.floats(1e-3, 1.0))
@example(w=TINY_SURVIVOR, s=3.012007363137904e285, k=1.0)
@example(w=np.ones((3, 3), np.float32), s=1e300, k=0.5)
def test_floor_keeps_at_least_fraction_k_even_for_huge_s(w, s, k):
    _, keep = engine_rule(w, s, k)
    assert keep.sum() / keep.size >= k


@pytest.mark.parametrize("s", [1e10, 3.012007363137904e285, 1e300])
def test_huge_s_still_equals_the_literal_loop(s):
    thr, keep = engine_rule(TINY_SURVIVOR, s, 1.0)  # ~74,000 one-percent steps for the loop
    assert thr == pytest.approx(reference_threshold(TINY_SURVIVOR, s, 1.0), rel=1e-9)
    assert keep.all()


@PROPS
@given(w=matrices, pair=st.tuples(st.floats(0, 8), st.floats(0, 8)), k=st.floats(1e-3, 0.5))
def test_sparsity_monotone_in_s_where_the_floor_does_not_bind(w, pair, k):
    s1, s2 = sorted(pair)
    a = np.abs(w.astype(np.float64))
    assume((a >= s2 * a.std() * (1 + 1e-5)).mean() >= k)  # no floor at s2, hence none at s1 either
    _, keep1 = engine_rule(w, s1, k)
    _, keep2 = engine_rule(w, s2, k)
    assert keep2.sum() <= keep1.sum()
    assert not np.any(keep2 & ~keep1), "a weight pruned at the smaller s came back at the larger s"


@PROPS
@given(w=matrices, s=st.floats(0, 1e4), k=st.floats(1e-3, 1.0))
def test_when_the_floor_binds_it_keeps_only_the_one_percent_band(w, s, k):
    a = np.abs(w.astype(np.float64)).ravel()
    need = math.ceil(k * a.size - 1e-9)
    q = np.sort(a)[::-1][need - 1]  # the need-th largest |w|
    assume(q > 0 and (a >= s * a.std() * (1 - 1e-5)).mean() < k)  # the floor binds
    _, keep = engine_rule(w, s, k)
    assert keep.sum() >= need
    assert keep.sum() <= (a >= 0.99 * q * (1 - 1e-6)).sum()  # lowered in 1% steps, never further than one step
    assert np.all(a[keep.ravel()] >= 0.99 * q * (1 - 1e-6))


def test_all_zero_matrix_keeps_everything():
    thr, keep = engine_rule(np.zeros((3, 4), np.float32), 5.0, 0.5)
    assert thr == 0.0 and keep.all()


# ---------------------------------------------------------------- prune() on a model

@pytest.mark.parametrize("s", [0.5, 1.0, 3.754, 1e6, 1e300])
@pytest.mark.parametrize("scope", ["both", "hh", "hh:reset,ih:new"])
def test_floor_holds_on_every_in_scope_part_of_a_model(s, scope):
    model = tiny_model(hidden=8, layers=2)
    result = prune(model, PruneConfig(sensitivity=s, floor=0.05, scope=Scope.parse(scope)))
    for name, n in result.in_scope.items():
        if n:
            assert (n - result.pruned[name]) / n >= 0.05


def test_pruning_reports_thresholds_counts_and_leaves_the_weights_alone():
    model = tiny_model(hidden=8)
    before = state_of(model)
    result = prune(model, PruneConfig(sensitivity=1.0))
    assert same_state(before, state_of(model))
    params = dict(model.named_parameters())
    total = pruned = 0
    for name in weight_names(model):
        w, keep, thr = params[name].detach().abs(), result.masks[name], result.thresholds[name]
        assert keep.dtype == torch.bool and keep.shape == w.shape
        assert bool((w[keep] >= thr).all()) and bool((w[~keep] < thr).all())
        assert result.pruned[name] == int((~keep).sum()) and result.in_scope[name] == w.numel()
        assert result.per_matrix[name] == pytest.approx(result.pruned[name] / w.numel())
        total, pruned = total + w.numel(), pruned + result.pruned[name]
    assert result.sparsity == pytest.approx(pruned / total)


def test_sensitivity_rule_works_through_the_torch_prune_api():
    model = tiny_model(hidden=8)
    ours = prune(model, PruneConfig(sensitivity=1.3, scope=Scope.parse("hh"))).masks["rnn.weight_hh_l0"]
    rnn = copy.deepcopy(model.rnn)
    SensitivityUnstructured.apply(rnn, "weight_hh_l0", s=1.3)
    assert torch.equal(rnn.weight_hh_l0_mask.bool(), ours)
    assert bool((rnn.weight_hh_l0[~ours] == 0).all())


# ---------------------------------------------------------------- magnitude, global and random rules

def _quantized(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.round(p * 20) / 20)  # many ties
    return model


@settings(max_examples=30, deadline=None)
@given(amount=st.floats(0, 0.99), layers=st.sampled_from([1, 2]), ties=st.booleans(), seed=st.integers(0, 50))
def test_magnitude_per_matrix_equals_torch_l1_unstructured(amount, layers, ties, seed):
    model = tiny_model(hidden=8, layers=layers, seed=seed)
    if ties:
        _quantized(model)
    result = prune(model, PruneConfig(method="magnitude", sparsity=amount))
    ref = copy.deepcopy(model.rnn)
    for name in weight_names(model):
        pname = name.split(".", 1)[1]
        tprune.l1_unstructured(ref, pname, amount=amount)
        assert torch.equal(result.masks[name], getattr(ref, pname + "_mask").bool()), name
        assert result.pruned[name] == round(amount * result.in_scope[name])


@settings(max_examples=30, deadline=None)
@given(amount=st.floats(0, 0.99), layers=st.sampled_from([1, 2]), ties=st.booleans(), seed=st.integers(0, 50))
def test_global_magnitude_equals_torch_global_unstructured(amount, layers, ties, seed):
    model = tiny_model(hidden=8, layers=layers, seed=seed)
    if ties:
        _quantized(model)
    result = prune(model, PruneConfig(method="magnitude", sparsity=amount, global_=True))
    ref = copy.deepcopy(model.rnn)
    names = weight_names(model)
    tprune.global_unstructured([(ref, n.split(".", 1)[1]) for n in names], pruning_method=tprune.L1Unstructured,
                               amount=amount)
    for name in names:
        assert torch.equal(result.masks[name], getattr(ref, name.split(".", 1)[1] + "_mask").bool()), name
    total = sum(result.in_scope.values())
    assert sum(result.pruned.values()) == round(amount * total)


def test_global_magnitude_differs_from_per_matrix():
    model = tiny_model(hidden=8)
    with torch.no_grad():
        model.rnn.weight_ih_l0.mul_(0.01)  # one small matrix: global pruning takes it almost whole
    per = prune(model, PruneConfig(method="magnitude", sparsity=0.5))
    glob = prune(model, PruneConfig(method="magnitude", sparsity=0.5, global_=True))
    assert per.per_matrix["rnn.weight_ih_l0"] == pytest.approx(0.5)
    assert glob.per_matrix["rnn.weight_ih_l0"] == 1.0


def test_sensitivity_rule_has_no_global_form():
    with pytest.raises(ConfigError):
        PruneConfig(method="sensitivity", global_=True)


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9])
def test_random_rule_is_seeded_and_hits_the_target_count(amount):
    model = tiny_model(hidden=8)
    a = prune(model, PruneConfig(method="random", sparsity=amount, seed=1))
    b = prune(model, PruneConfig(method="random", sparsity=amount, seed=1))
    c = prune(model, PruneConfig(method="random", sparsity=amount, seed=2))
    for name in a.masks:
        assert torch.equal(a.masks[name], b.masks[name])
        assert a.pruned[name] == round(amount * a.in_scope[name])
    if amount:
        assert any(not torch.equal(a.masks[n], c.masks[n]) for n in a.masks)
        # independent of the weights' magnitudes: pruned and kept weights look alike
        w = model.rnn.weight_hh_l0.detach().abs()
        keep = a.masks["rnn.weight_hh_l0"]
        if 0 < amount < 1:
            assert not bool((w[~keep].max() < w[keep].min()))


def test_random_rule_does_not_touch_the_global_torch_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    prune(tiny_model(hidden=8), PruneConfig(method="random", sparsity=0.5, seed=7))
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- scopes

def _selected_pairs(scope: Scope) -> set:
    return {(k, g) for k in KINDS for g in GATES if scope.selects(k, g)}


@pytest.mark.parametrize("cell", ["gru", "gru1", "gru3"])
@pytest.mark.parametrize("method,kw", [("magnitude", {"sparsity": 0.5}), ("sensitivity", {"sensitivity": 1.0}),
                                       ("random", {"sparsity": 0.5})])
@pytest.mark.parametrize("text", ["ih", "hh", "hh:reset", "hh:reset,ih:new", "ih:update,hh:update,hh:new"])
def test_scope_prunes_only_the_selected_rows(cell, method, kw, text):
    model = tiny_model(hidden=6, layers=2, cell=cell)
    scope = Scope.parse(text)
    result = prune(model, PruneConfig(method=method, scope=scope, **kw)) if _any_rows(model, scope) else None
    if result is None:
        with pytest.raises(ConfigError):
            prune(model, PruneConfig(method=method, scope=scope, **kw))
        return
    for name in weight_names(model):
        kind = "ih" if "weight_ih" in name else "hh"
        mask = result.masks[name]
        expected_in_scope = 0
        for gate, rows in gate_blocks(model, name).items():
            block = mask[rows]
            if scope.selects(kind, gate):
                expected_in_scope += block.numel()
                assert not bool(block.all()), f"{name} {gate} is in scope but nothing was pruned"
            else:
                assert bool(block.all()), f"{name} {gate} is out of scope but was pruned"
        assert result.in_scope[name] == expected_in_scope
    assert "head.weight" not in result.masks


def _any_rows(model, scope):
    return any(scope.rows(model, n) is not None for n in weight_names(model))


def test_head_scope_prunes_the_head_too():
    model = tiny_model(hidden=8)
    result = prune(model, PruneConfig(method="magnitude", sparsity=0.5, scope=Scope.parse("hh", head=True)))
    assert result.pruned["head.weight"] == 4
    assert bool(result.masks["rnn.weight_ih_l0"].all())


pair_sets = st.sets(st.tuples(st.sampled_from(KINDS), st.sampled_from(GATES)), min_size=1)


@settings(max_examples=80, deadline=None)
@given(pairs=pair_sets, head=st.booleans())
def test_scope_parse_selects_exactly_the_listed_blocks_and_round_trips(pairs, head):
    text = ",".join(f"{k}:{g}" for k, g in sorted(pairs))
    scope = Scope.parse(text, head=head)
    assert _selected_pairs(scope) == pairs
    assert Scope.parse(scope.to_text(), head=head) == scope
    assert scope.head is head


@pytest.mark.parametrize("text,pairs", [
    ("both", {(k, g) for k in KINDS for g in GATES}),
    ("", {(k, g) for k in KINDS for g in GATES}),
    ("ih", {("ih", g) for g in GATES}),
    ("HH", {("hh", g) for g in GATES}),
    ("ih,hh:new", {("ih", g) for g in GATES} | {("hh", "new")}),
])
def test_scope_words(text, pairs):
    scope = Scope.parse(text)
    assert _selected_pairs(scope) == pairs
    assert Scope.parse(scope.to_text()) == scope


@settings(max_examples=40, deadline=None)
@given(kinds=st.sets(st.sampled_from(KINDS), min_size=1), gates=st.sets(st.sampled_from(GATES), min_size=1))
def test_constructed_scope_round_trips_through_text(kinds, gates):
    scope = Scope(kinds=frozenset(kinds), gates=frozenset(gates))
    assert Scope.parse(scope.to_text()) == scope


@pytest.mark.parametrize("text", ["ih:forgot", "xh", "ih;hh", "hh:reset,oops", ":reset"])
def test_scope_rejects_unknown_text(text):
    with pytest.raises(ConfigError):
        Scope.parse(text)


# ---------------------------------------------------------------- target sparsity -> s

@pytest.mark.parametrize("target", [0.1, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("scope", ["both", "hh:reset,ih:new"])
def test_sensitivity_for_sparsity_lands_on_the_target(target, scope):
    model = tiny_model(hidden=12)
    base = PruneConfig(scope=Scope.parse(scope))
    s = sensitivity_for_sparsity(model, target, base)
    got = prune(model, PruneConfig(sensitivity=s, scope=base.scope))
    total = sum(got.in_scope.values())
    assert target <= got.sparsity <= target + 0.01 + 1 / total
    # and it is the smallest such s, to the bisection's tolerance
    below = prune(model, PruneConfig(sensitivity=s * (1 - 2e-3), scope=base.scope))
    assert below.sparsity < target


@pytest.mark.parametrize("target", [-0.1, 1.0, 1.5])
def test_sensitivity_for_sparsity_refuses_impossible_targets(target):
    with pytest.raises(ConfigError):
        sensitivity_for_sparsity(tiny_model(hidden=4), target)


@pytest.mark.parametrize("kw", [{"method": "nope"}, {"sparsity": 1.0}, {"sparsity": -0.1}, {"sensitivity": -1.0},
                                {"sensitivity": float("inf")}, {"floor": 0.0}, {"floor": 1.5}])
def test_prune_config_refuses_bad_settings(kw):
    with pytest.raises(ConfigError):
        PruneConfig(**kw)


# ---------------------------------------------------------------- the live lab: one slider move

def test_lab_snapshot_is_the_masked_model_evaluated_and_costed():
    data = tiny_data(window=12)
    model = tiny_model(hidden=8)
    dense_state = state_of(model)
    lab = PruningLab(model, data)
    first = lab.at(PruneConfig(sensitivity=1.0))
    lab.at(PruneConfig(sensitivity=2.5))  # move the slider away ...
    again = lab.at(PruneConfig(sensitivity=1.0))  # ... and back: nothing leaks between moves
    np.testing.assert_array_equal(first.evaluation.forecast, again.evaluation.forecast)
    twin = lab.masked_model(first.result)
    np.testing.assert_array_equal(first.evaluation.forecast, evaluate(twin, data).forecast)
    assert first.cost == model_cost(model, first.result.masks, data.window)
    assert same_state(dense_state, state_of(model))
    np.testing.assert_array_equal(lab.dense.forecast, evaluate(model, data).forecast)
    zero = lab.at(PruneConfig(method="magnitude", sparsity=0.0))
    np.testing.assert_array_equal(zero.evaluation.forecast, lab.dense.forecast)


@pytest.mark.parametrize("floor", [0.01, 0.05, 0.2])
def test_a_target_beyond_the_floor_is_refused_with_the_largest_reachable_sparsity(floor):
    from scgru_core.pruning.rules import max_reachable_sparsity
    model = tiny_model(hidden=16, seed=3)
    config = PruneConfig(floor=floor)
    top = max_reachable_sparsity(model, config)
    assert 1 - floor - 0.01 <= top <= 1 - floor + 1e-9  # every matrix cut down to its floor, give or take rounding
    with pytest.raises(ConfigError, match=f"the most this model and scope reach is {top:.2%}"):
        sensitivity_for_sparsity(model, min(0.999, top + 0.005), config)
    s = sensitivity_for_sparsity(model, top, config)  # the largest reachable target itself is reached
    assert prune(model, PruneConfig(sensitivity=s, floor=floor)).sparsity >= top - 1e-9


def test_a_weights_facts_say_when_the_scgru_rule_cuts_it():
    """PruningLab.weight: the s it goes at is where the engine's own rule starts cutting it (kept just below, cut
    just above), its rank counts the larger |w| of its matrix, and the floor's largest weights never go."""
    model, data = tiny_model(hidden=8), tiny_data()
    lab = PruningLab(model, data)
    name = "rnn.weight_hh_l0"
    w = dict(model.named_parameters())[name].detach()
    checked = 0
    for gate, block in gate_blocks(model, name).items():
        for row in range(0, block.stop - block.start, 3):
            for column in (0, 5):
                facts = lab.weight(lab.at(PruneConfig(sensitivity=1.0, floor=0.01)), name, gate, row, column)
                assert facts.value == pytest.approx(float(w[block.start + row, column]))
                assert facts.rank == int((w.abs() > abs(facts.value)).sum()) + 1 and facts.count == w.numel()
                if facts.goes_at is None:
                    assert facts.floor_keeps
                    continue
                below = lab.weight(lab.at(PruneConfig(sensitivity=facts.goes_at * 0.999, floor=0.01)), name, gate,
                                   row, column)
                above = lab.weight(lab.at(PruneConfig(sensitivity=facts.goes_at * 1.001, floor=0.01)), name, gate,
                                   row, column)
                assert not below.pruned and above.pruned
                checked += 1
    assert checked >= 10
    largest = int(w.abs().argmax())
    row, column = divmod(largest, w.shape[1])
    gate, block = next((g, b) for g, b in gate_blocks(model, name).items() if b.start <= row < b.stop)
    top = lab.weight(lab.at(PruneConfig(sensitivity=50.0, floor=0.01)), name, gate, row - block.start, column)
    assert top.rank == 1 and top.floor_keeps and top.goes_at is None and not top.pruned
    outside = lab.weight(lab.at(PruneConfig(sensitivity=2.0, scope=Scope.parse("ih"))), name, gate, 0, 0)
    assert not outside.in_scope and outside.goes_at is None and not outside.pruned
    with pytest.raises(ConfigError):
        lab.weight(lab.at(PruneConfig()), name, gate, 99, 0)
