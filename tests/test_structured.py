"""Structured pruning: which units go (rules), removing them from every matrix, exactness for dead units,
expansion back to full size, fine-tuning the smaller network, and the deployment measurements."""
from __future__ import annotations

import math

import pytest
import torch

import scgru_core as sc
from _engine_support import tiny_data, tiny_model
from scgru_core.deploy.measure import VARIANTS, measure_deployment
from scgru_core.net.masks import masked_state
from scgru_core.net.quantize import int8_dynamic
from scgru_core.deploy.shrink import expand, shrink, shrink_and_finetune, unit_masks
from scgru_core.deploy.units import UNIT_RULES, UnitConfig, live_units, select_units, unit_norms


def numbered(hidden: int, layers: int, horizon: int = 2) -> sc.Forecaster:
    """A model whose every parameter entry is distinct, so a slice taken from the wrong place shows."""
    model = tiny_model(hidden=hidden, layers=layers, horizon=horizon)
    with torch.no_grad():
        start = 1.0
        for p in model.parameters():
            p.copy_(torch.arange(start, start + p.numel()).view_as(p) / 1000)
            start += p.numel()
    return model


def outputs(model, x):
    with torch.inference_mode():
        return model.eval()(x)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_units_rows_and_columns_leave_every_matrix_that_holds_it(layers):
    H = 6
    model = numbered(H, layers)
    keep = [torch.tensor([0, 2, 5]), torch.tensor([1, 2, 3]), torch.tensor([0, 4, 5])][:layers]
    sel = sc.deploy.units.UnitSelection(UnitConfig(), tuple(keep), (3,) * layers, tuple(torch.ones(H) for _ in keep), H)
    small, _ = shrink(model, sel)
    big, got = model.state_dict(), small.state_dict()
    assert small.config.hidden == 3 and isinstance(small.rnn, torch.nn.GRU)
    for k in range(layers):
        rows = [g * H + int(u) for g in range(3) for u in keep[k]]  # reset, update, new rows of each kept unit
        assert torch.equal(got[f"rnn.weight_hh_l{k}"], big[f"rnn.weight_hh_l{k}"][rows][:, keep[k]])
        cols = keep[k - 1] if k else torch.tensor([0])
        assert torch.equal(got[f"rnn.weight_ih_l{k}"], big[f"rnn.weight_ih_l{k}"][rows][:, cols])
        for bias in ("bias_ih", "bias_hh"):
            assert torch.equal(got[f"rnn.{bias}_l{k}"], big[f"rnn.{bias}_l{k}"][rows])
    assert torch.equal(got["head.weight"], big["head.weight"][:, keep[-1]])
    assert torch.equal(got["head.bias"], big["head.bias"])


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_expanding_a_shrunk_model_or_masking_its_units_gives_the_same_forecasts(layers):
    model = tiny_model(hidden=10, layers=layers, horizon=3, seed=4)
    sel = select_units(model, UnitConfig(fraction=0.4))
    small, _ = shrink(model, sel)
    x = torch.randn(7, 9, generator=torch.Generator().manual_seed(1))
    full = expand(small, sel)
    assert full.config.hidden == 10
    assert torch.equal(outputs(full, x), outputs(small, x)) or (outputs(full, x) - outputs(small, x)).abs().max() < 1e-6
    masked = tiny_model(hidden=10, layers=layers, horizon=3)
    masked.load_state_dict(masked_state(model, unit_masks(model, sel)))
    assert (outputs(masked, x) - outputs(small, x)).abs().max() < 1e-6


def test_unit_norm_removes_the_smallest_units_by_the_l2_norm_of_all_their_weights():
    model = tiny_model(hidden=8, layers=2, horizon=2, seed=2)
    p, H = model.state_dict(), 8
    for k, norms in enumerate(unit_norms(model)):
        reader = p["rnn.weight_ih_l1"] if k == 0 else p["head.weight"]
        for j in range(H):
            rows = [j, H + j, 2 * H + j]
            hh = p[f"rnn.weight_hh_l{k}"]
            others = [r for r in range(3 * H) if r not in rows]
            parts = [p[f"rnn.weight_ih_l{k}"][rows], hh[rows], p[f"rnn.bias_ih_l{k}"][rows],
                     p[f"rnn.bias_hh_l{k}"][rows], hh[others, j], reader[:, j]]
            expected = math.sqrt(sum(float((t.double() ** 2).sum()) for t in parts))
            assert norms[j].item() == pytest.approx(expected, rel=1e-5)
    sel = select_units(model, UnitConfig(fraction=0.25))
    assert sel.rule_kept == (6, 6) and sel.hidden_after == 6
    for k, norms in enumerate(unit_norms(model)):
        dropped = sorted(set(range(H)) - set(sel.keep[k].tolist()))
        assert dropped == sorted(torch.argsort(norms)[:2].tolist())


def test_scgru_on_units_cuts_below_s_std_and_keeps_the_floor():
    model = tiny_model(hidden=12, horizon=1, seed=5)
    with torch.no_grad():  # spread the unit norms so the rule has something to cut
        model.rnn.weight_hh_l0.mul_(torch.linspace(0.05, 3, 12).repeat(3).unsqueeze(1))
    norms = unit_norms(model)[0]
    s = float(norms.mean() / norms.std(unbiased=False))
    sel = select_units(model, UnitConfig(method="unit_sensitivity", sensitivity=s))
    assert set(sel.keep[0].tolist()) == set((norms >= s * norms.std(unbiased=False)).nonzero().flatten().tolist())
    assert 0 < sel.hidden_after < 12
    floor = select_units(model, UnitConfig(method="unit_sensitivity", sensitivity=1e6, floor=0.25))
    assert floor.hidden_after == 3  # ceil(0.25 * 12) units survive however large s is
    assert set(floor.keep[0].tolist()) == set(torch.topk(norms, 3).indices.tolist())


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_removing_dead_units_after_unstructured_pruning_is_exact(layers):
    model = tiny_model(hidden=16, layers=layers, horizon=2, seed=layers)
    result = sc.prune(model, sc.PruneConfig(method="magnitude", sparsity=0.98, scope=sc.Scope(head=True)))
    masked = tiny_model(hidden=16, layers=layers, horizon=2)
    masked.load_state_dict(masked_state(model, result.masks))
    sel = select_units(model, UnitConfig(method="dead"), result.masks)
    assert sel.hidden_after < 16, "this pruning leaves dead units to remove"
    small, small_masks = shrink(model, sel, result.masks)
    x = torch.randn(32, 10, generator=torch.Generator().manual_seed(0))
    assert (outputs(small, x) - outputs(masked, x)).abs().max() <= 1e-6
    assert all(bool((small.state_dict()[n][~m] == 0).all()) for n, m in small_masks.items())


def test_a_unit_with_no_incoming_weights_but_a_live_bias_is_not_dead():
    model = tiny_model(hidden=6, horizon=1, seed=3)
    masks = {"rnn.weight_ih_l0": torch.ones(18, 1, dtype=torch.bool), "rnn.weight_hh_l0": torch.ones(18, 6, dtype=torch.bool)}
    for g in range(3):  # unit 2 reads nothing: no input weights, no recurrent weights
        masks["rnn.weight_ih_l0"][g * 6 + 2] = False
        masks["rnn.weight_hh_l0"][g * 6 + 2] = False
    assert live_units(model, masks)[0][2] == 1.0
    sel = select_units(model, UnitConfig(method="dead"), masks)
    assert 2 in sel.keep[0].tolist()
    # and it matters: zeroing its outgoing weights as well moves the forecast (its state follows its biases)
    masked = tiny_model(hidden=6)
    masked.load_state_dict(masked_state(model, masks))
    cut = tiny_model(hidden=6)
    cut.load_state_dict(masked.state_dict())
    with torch.no_grad():
        cut.rnn.weight_hh_l0[:, 2] = 0
        cut.head.weight[:, 2] = 0
    x = torch.randn(4, 12, generator=torch.Generator().manual_seed(2))
    assert (outputs(masked, x) - outputs(cut, x)).abs().max() > 1e-4


def test_a_unit_that_only_feeds_a_dead_unit_is_dead_too():
    model = tiny_model(hidden=4, horizon=1, seed=0)
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()
        model.head.weight.zero_()
        model.head.weight[0, 0] = 1.0  # only unit 0 reaches the forecast
        for g in range(3):
            model.rnn.weight_hh_l0[g * 4 + 0, 1] = 0.5  # unit 0 reads unit 1: 1 is live
            model.rnn.weight_hh_l0[g * 4 + 3, 2] = 0.5  # unit 3 reads unit 2, and nothing reads 3
            model.rnn.weight_hh_l0[g * 4 + 2, 2] = 0.5  # unit 2 also reads itself
    assert live_units(model)[0].tolist() == [1.0, 1.0, 0.0, 0.0]
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    small, _ = shrink(model, select_units(model, UnitConfig(method="dead")))
    assert small.config.hidden == 2 and (outputs(small, x) - outputs(model, x)).abs().max() <= 1e-6


def test_layers_keep_one_hidden_size_topped_up_with_their_best_dropped_units():
    model = tiny_model(hidden=8, layers=2, horizon=1, seed=1)
    masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in model.named_parameters() if "weight" in n}
    masks["head.weight"][:, :5] = False  # nothing reads units 0-4 of layer 1: 3 live units there, 8 in layer 0
    masks["rnn.weight_hh_l1"][:, :5] = False
    sel = select_units(model, UnitConfig(method="dead"), masks)
    assert sel.rule_kept == (8, 3) and sel.hidden_after == 8  # nn.GRU has one hidden size for all layers
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    masked = tiny_model(hidden=8, layers=2)
    masked.load_state_dict(masked_state(model, masks))
    assert (outputs(shrink(model, sel, masks)[0], x) - outputs(masked, x)).abs().max() <= 1e-6


@pytest.mark.parametrize("config", [dict(fraction=1.0), dict(fraction=-0.1), dict(method="nope"),
                                    dict(method="unit_sensitivity", sensitivity=float("nan")),
                                    dict(method="unit_sensitivity", floor=0.0)])
def test_impossible_unit_settings_are_refused(config):
    with pytest.raises(sc.ConfigError):
        UnitConfig(**config)


def test_a_fraction_that_rounds_to_every_unit_is_refused_before_any_work():
    with pytest.raises(sc.ConfigError, match="every unit"):
        UnitConfig(fraction=0.995).check_for(64)
    with pytest.raises(sc.ConfigError, match="every unit"):
        select_units(tiny_model(hidden=64), UnitConfig(fraction=0.995))
    UnitConfig(fraction=0.99).check_for(64)  # 63 of 64 may go


def test_a_network_cut_off_from_its_forecast_has_no_unit_to_keep():
    model = tiny_model(hidden=5)
    masks = {"head.weight": torch.zeros(1, 5, dtype=torch.bool)}
    with pytest.raises(sc.ConfigError, match="every hidden unit"):
        select_units(model, UnitConfig(method="dead"), masks)


def test_gate_variants_are_refused_with_a_reason():
    with pytest.raises(sc.ConfigError, match="plain torch module"):
        select_units(tiny_model(hidden=6, cell="gru1"), UnitConfig())


def test_every_unit_rule_is_listed_with_a_label_and_a_description():
    assert set(UNIT_RULES) == {"unit_norm", "unit_sensitivity", "dead"}
    assert all(spec.label and spec.description for spec in UNIT_RULES.values())
    assert [n for n, spec in UNIT_RULES.items() if spec.exact] == ["dead"]


def test_shrink_and_finetune_trains_the_smaller_network_and_holds_earlier_masks():
    data = tiny_data(300, window=12)
    model = tiny_model(hidden=12, horizon=1, seed=0)
    sc.fit(model, data, sc.TrainConfig(epochs=3, seed=0))
    pruned = sc.prune(model, sc.PruneConfig(method="magnitude", sparsity=0.6))
    ft = sc.finetune_config(sc.TrainConfig(seed=0), 2)
    result = shrink_and_finetune(model, data, UnitConfig(fraction=0.5), ft, pruned.masks)
    assert result.selection.hidden_after == 6 and result.final.config.hidden == 6
    assert result.finetuning.history and result.finetuned_metrics is not None
    state = result.final.state_dict()
    assert all(bool((state[n][~m] == 0).all()) for n, m in result.masks.items())
    assert not torch.equal(state["rnn.weight_hh_l0"], result.shrunk.state_dict()["rnn.weight_hh_l0"])
    again = shrink_and_finetune(model, data, UnitConfig(fraction=0.5), ft, pruned.masks)
    assert again.finetuned_metrics == result.finetuned_metrics  # seeded: the same settings, the same numbers


def test_int8_copy_keeps_the_forecast_close_and_stores_less():
    model = tiny_model(hidden=96, horizon=1, seed=0)
    q = int8_dynamic(model)
    x = torch.randn(16, 20, generator=torch.Generator().manual_seed(0))
    ref = outputs(model, x)
    assert (outputs(q, x) - ref).abs().max() < 0.05 * ref.abs().max() + 0.05
    assert outputs(model, x).equal(ref)  # the original is untouched


def test_the_deployment_report_measures_the_same_model_every_way():
    data = tiny_data(300, window=12)
    model = tiny_model(hidden=16, horizon=1, seed=0)
    sc.fit(model, data, sc.TrainConfig(epochs=2, seed=0))
    result = shrink_and_finetune(model, data, UnitConfig(fraction=0.5), None)
    report = measure_deployment(model, result.final, result.selection, data, repeats=3)
    got = {r.variant for r in report.rows} | set(report.skipped)
    assert {"dense", "masked", "csr", "shrunk", "shrunk_int8", "onnx"} <= got <= set(VARIANTS)
    same = [report.row(v) for v in ("masked", "csr", "shrunk")]
    assert all(r.rmse == pytest.approx(result.shrunk_metrics.rmse, rel=1e-4) for r in same)
    assert all(r.max_abs_diff < 1e-3 for r in same)
    assert report.row("shrunk").params < report.row("dense").params == report.row("masked").params
    assert report.row("shrunk").bytes < report.row("dense").bytes
    assert report.row("csr").params < report.row("masked").params
    j = report.to_json()
    assert all(set(j["latency_ms"][v]) == {"b1", "b256"} and all(t > 0 for t in j["latency_ms"][v].values())
               for v in j["latency_ms"])
    assert "measured on this machine" in j["measured"]


def test_removing_units_pays_from_the_first_share_after_which_every_point_is_faster():
    from scgru_core.deploy.measure import pays_from
    fractions = [0.0, 0.25, 0.5, 0.75, 0.9]
    assert pays_from(fractions, [1.0, 1.02, 1.3, 2.0, 3.1]) == 0.5
    assert pays_from(fractions, [1.0, 1.2, 1.05, 2.0, 3.1]) == 0.75  # a dip after 25 %: it pays only from 75 %
    assert pays_from(fractions, [1.0, 0.9, 1.0, 1.05, 1.08]) is None  # never 10 % faster
    assert pays_from(list(reversed(fractions)), [3.1, 2.0, 1.3, 1.02, 1.0]) == 0.5  # order does not matter


def test_the_payoff_of_removing_units_is_timed_against_the_dense_model_for_every_share():
    from scgru_core.deploy.measure import unit_payoff
    model = tiny_model(hidden=20, horizon=1, seed=0)
    pay = unit_payoff(model, window=12, fractions=(0.0, 0.5, 0.95, 1.0), batches=(1, 8), repeats=3)
    assert pay.fractions == (0.0, 0.5, 0.95)  # 100 % would remove every unit: left out
    assert pay.hidden == (20, 10, 1)
    assert set(pay.speedup) == {1, 8} and all(len(v) == 3 and min(v) > 0 for v in pay.speedup.values())
    assert all(ms > 0 for ms in pay.dense_ms.values())
    for b, spread in pay.spread.items():  # the measured spread around each median: drawn, not hidden
        assert len(spread) == 3 and all(lo <= s <= hi for (lo, hi), s in zip(spread, pay.speedup[b]))
