"""Gradual pruning: the AGP and Narang schedules at their boundary steps and in between, and training
with them: the target is reached, masks are monotone (a pruned weight never comes back), and the
achieved sparsity is recorded step by step."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from _engine_support import tiny_data, tiny_model
from scgru_core import AgpPruner, AgpSchedule, Callbacks, GradualPlan, NarangPruner, NarangSchedule, Scope, TrainConfig
from scgru_core.errors import ConfigError
from scgru_core.pruning.gradual import agp_curve, gradual_fit, narang_curve, scope_quantiles, steps_per_epoch
from scgru_core.net.model import weight_names

# ---- AGP schedule ---------------------------------------------------------------------------------


def test_agp_formula_at_its_boundaries_and_between():
    s = AgpSchedule(final_sparsity=0.9, start=10, n=4, dt=5, initial_sparsity=0.1)
    assert s.end == 30
    assert s.sparsity_at(10) == pytest.approx(0.1)
    assert s.sparsity_at(30) == pytest.approx(0.9)
    assert s.sparsity_at(20) == pytest.approx(0.9 + (0.1 - 0.9) * 0.5 ** 3)  # halfway: (1 - 1/2)^3
    assert [t for t in range(40) if s.updates_at(t)] == [10, 15, 20, 25, 30]
    assert s.in_effect(9) == 0.0  # no mask before t0
    assert s.in_effect(12) == pytest.approx(0.1)  # the t0 mask stays in force until the next update
    assert s.in_effect(100) == pytest.approx(0.9)


agp_schedules = st.builds(
    lambda si, extra, t0, n, dt: AgpSchedule(final_sparsity=min(si + extra, 0.99), start=t0, n=n, dt=dt,
                                             initial_sparsity=si),
    st.floats(0, 0.9), st.floats(0, 0.99), st.integers(0, 500), st.integers(1, 50), st.integers(1, 50))


@given(agp_schedules, st.integers(0, 4000), st.integers(0, 4000))
def test_agp_is_monotone_and_bounded_by_its_sparsities(s, t1, t2):
    a, b = sorted((t1, t2))
    assert s.sparsity_at(a) <= s.sparsity_at(b) + 1e-12
    assert s.in_effect(a) <= s.in_effect(b) + 1e-12
    assert s.initial_sparsity - 1e-12 <= s.sparsity_at(a) <= s.final_sparsity + 1e-12
    assert s.in_effect(b) <= s.final_sparsity + 1e-12


def test_agp_rejects_a_target_below_its_start():
    with pytest.raises(ConfigError):
        AgpSchedule(final_sparsity=0.2, start=0, n=3, dt=1, initial_sparsity=0.5)


# ---- Narang schedule ------------------------------------------------------------------------------


def test_narang_threshold_at_start_ramp_and_end():
    s = NarangSchedule(start=100, ramp=400, end=1000, freq=50)
    q = 0.17
    theta = 2 * q * 50 / (2 * 300 + 3 * 600)
    assert s.theta(q) == pytest.approx(theta)
    assert s.threshold_at(100, q) == 0.0
    assert s.threshold_at(399, q) == pytest.approx(theta * 299 / 50)
    assert s.threshold_at(400, q) == pytest.approx(theta * 300 / 50)  # continuous at the ramp
    assert s.threshold_at(1000, q) == pytest.approx(q, rel=1e-12)  # phi = 1.5 theta reaches q exactly at end
    assert [t for t in range(0, 1100, 50) if s.updates_at(t)] == list(range(100, 1001, 50))
    assert s.updates_at(1000) and not s.updates_at(1001)


@given(st.integers(0, 300), st.integers(0, 300), st.integers(1, 600), st.integers(1, 100), st.floats(1e-3, 10),
       st.integers(0, 2000), st.integers(0, 2000))
def test_narang_threshold_ends_at_q_and_never_falls(start, ramp_off, span, freq, q, t1, t2):
    s = NarangSchedule(start=start, ramp=start + min(ramp_off, span), end=start + span, freq=freq)
    assert s.threshold_at(s.end, q) == pytest.approx(q, rel=1e-9)
    a, b = sorted((t1, t2))
    assert 0.0 <= s.threshold_at(a, q) <= s.threshold_at(b, q) + 1e-12 <= q * (1 + 1e-9) + 1e-12
    assert s.in_effect(a, q) <= s.in_effect(b, q) + 1e-12
    assert s.updates_at(s.end)


def test_curves_for_plotting_cover_every_step():
    agp = AgpSchedule(final_sparsity=0.8, start=2, n=2, dt=3)
    curve = agp_curve(agp, 10)
    assert [t for t, _ in curve] == list(range(11))
    assert curve[1][1] == 0.0 and curve[8][1] == pytest.approx(0.8) and curve[10][1] == pytest.approx(0.8)
    narang = narang_curve(NarangSchedule(start=2, ramp=4, end=8, freq=2), 10, q=2.0)
    assert narang[8][1] == pytest.approx(2.0) and narang[0][1] == 0.0


@given(st.integers(1, 60), st.integers(1, 200), st.floats(0, 3), st.floats(0.05, 1), st.integers(1, 100))
def test_plan_fits_the_schedule_inside_any_budget(epochs, spe, start_epochs, end_fraction, freq):
    plan = GradualPlan(start_epochs=start_epochs, end_fraction=end_fraction, frequency=freq)
    total = epochs * spe
    agp, narang = plan.agp(0.9, total, spe), plan.narang(total, spe)
    assert 0 <= agp.start < agp.end <= total and agp.sparsity_at(agp.end) == pytest.approx(0.9)
    assert 0 <= narang.start <= narang.ramp <= narang.end <= total


# ---- training with a schedule -------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return tiny_data(n=500, window=12)


def _zero_set_watcher(model):
    """A per-step callback asserting that weights, once zero, stay zero (so masks never revive)."""
    zeros = {}

    def on_batch(i, n):
        for name, p in model.named_parameters():
            if "weight" in name:
                now = p.detach() == 0
                if name in zeros:
                    assert bool(now[zeros[name]].all()), f"a pruned weight of {name} came back at batch {i}"
                zeros[name] = now.clone()
    return on_batch


@pytest.mark.parametrize("scope_text, global_", [("hh", False), ("both", False), ("both", True)])
def test_agp_reaches_its_target_and_masks_never_revive(data, scope_text, global_):
    model = tiny_model(hidden=12)
    config = TrainConfig(epochs=3, batch_size=32, seed=1)
    spe = steps_per_epoch(data, config)
    scope = Scope.parse(scope_text)
    pruner = AgpPruner(GradualPlan(frequency=3).agp(0.8, 3 * spe, spe), scope, global_=global_)
    run = gradual_fit(model, data, config, pruner, Callbacks(on_batch=_zero_set_watcher(model)))

    assert abs(run.result.sparsity - 0.8) <= 0.01  # within 1% of the prunable weights
    params = dict(model.named_parameters())
    for name, mask in run.result.masks.items():
        assert bool((params[name][~mask] == 0).all())  # the final weights carry the final mask
    if scope_text == "hh":
        assert bool(run.result.masks["rnn.weight_ih_l0"].all())  # out of scope: untouched
    trace = run.sparsity_by_step
    assert len(trace) == 3 * spe + 1 and trace[0] == 0.0
    assert all(a <= b + 1e-12 for a, b in zip(trace, trace[1:]))
    assert trace[-1] == pytest.approx(run.result.sparsity)


def test_a_mask_that_would_revive_weights_is_held_to_the_pruned_set(data):
    """Even a rule whose picks jump around (random, reseeded every update) cannot bring a weight back."""
    from scgru_core import PruneConfig, prune

    class Fickle(AgpPruner):
        def masks_at(self, step, model):
            r = prune(model, PruneConfig(method="random", seed=step, sparsity=self.schedule.in_effect(step)))
            return r.masks, r.thresholds

    model = tiny_model(hidden=8)
    cfg = TrainConfig(epochs=1, seed=0)
    spe = steps_per_epoch(data, cfg)
    run = gradual_fit(model, data, cfg, Fickle(GradualPlan(start_epochs=0, frequency=2).agp(0.5, spe, spe)),
                      Callbacks(on_batch=_zero_set_watcher(model)))
    assert run.result.sparsity > 0.5  # the union of the random picks, more than any one of them
    assert all(a <= b for a, b in zip(run.sparsity_by_step, run.sparsity_by_step[1:]))


def test_narang_prunes_below_its_threshold_which_ends_at_q_and_never_revives(data):
    model = tiny_model(hidden=12)
    config = TrainConfig(epochs=2, batch_size=32, seed=2)
    spe = steps_per_epoch(data, config)
    scope = Scope.parse("hh")
    q = scope_quantiles(tiny_model(hidden=12, seed=5), scope, 0.9)
    pruner = NarangPruner(GradualPlan(start_epochs=0.5, frequency=4).narang(2 * spe, spe), scope, q=q)
    run = gradual_fit(model, data, config, pruner, Callbacks(on_batch=_zero_set_watcher(model)))

    assert run.result.thresholds["rnn.weight_hh_l0"] == pytest.approx(q["rnn.weight_hh_l0"])
    assert run.result.thresholds["rnn.weight_ih_l0"] is None
    assert 0.3 < run.result.sparsity < 1.0
    trace = run.sparsity_by_step
    assert all(a <= b + 1e-12 for a, b in zip(trace, trace[1:]))


def test_narang_without_q_takes_it_from_the_weights_when_pruning_starts(data):
    model = tiny_model(hidden=8)
    pruner = NarangPruner(NarangSchedule(start=0, ramp=0, end=1, freq=1), Scope.parse("both"), percentile=0.5)
    masks, thresholds = pruner.masks_at(1, model)
    assert set(pruner.q) == set(weight_names(model))
    for name in weight_names(model):
        assert thresholds[name] == pytest.approx(pruner.q[name])
        assert abs((~masks[name]).float().mean().item() - 0.5) < 0.05


def test_same_seed_same_gradual_run(data):
    def once():
        model = tiny_model(hidden=8)
        cfg = TrainConfig(epochs=1, seed=3)
        spe = steps_per_epoch(data, cfg)
        gradual_fit(model, data, cfg, AgpPruner(GradualPlan(start_epochs=0, frequency=2).agp(0.6, spe, spe)))
        return [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(once(), once()))


def test_cancel_stops_gradual_training_with_the_masks_in_force(data):
    model = tiny_model(hidden=8)
    cfg = TrainConfig(epochs=3, seed=0)
    spe = steps_per_epoch(data, cfg)
    seen = []
    pruner = AgpPruner(GradualPlan(start_epochs=0, frequency=1, end_fraction=1.0).agp(0.9, 3 * spe, spe))
    run = gradual_fit(model, data, cfg, pruner, Callbacks(on_batch=lambda i, n: seen.append(i),
                                                          should_stop=lambda: len(seen) >= 5))
    assert run.training.cancelled and len(run.sparsity_by_step) == 6  # step 0 and the 5 steps run
    params = dict(model.named_parameters())
    assert 0 < run.result.sparsity < 0.9
    for name, mask in run.result.masks.items():
        assert bool((params[name][~mask] == 0).all())
