"""Prune page (AppTest): the linked sliders, methods and scopes, every panel, fine-tuning."""
from __future__ import annotations

import json
import math

import pytest

import scgru_core as sc
from apptest_helpers import choose_tab, without_model, charts, downloads, new_app, page, restore_torch_threads, texts, train_small

__all__ = ["downloads", "restore_torch_threads"]


@pytest.fixture(scope="module")
def session():
    """One session with a tiny model (hidden 16) on the power-load sample, on the Prune page."""
    return page(train_small(new_app(), hidden=16, epochs=1), "prune")


@pytest.fixture
def at(session):
    """The module's session, put back to the default setting before each test."""
    session.selectbox(key="p_method").set_value("sensitivity")
    session.selectbox(key="p_scope").set_value("both")
    choose_tab(session, "Histograms")
    session.run()
    session.slider(key="s").set_value(1.0).run()
    assert not session.exception
    return session


def sparsity_shown(at) -> float:
    value = next(m.value for m in at.metric if m.label == "Sparsity")
    return float(value.rstrip("%")) / 100


def test_without_a_model_the_page_explains_what_to_do():
    at = without_model("prune")
    assert any("needs a trained model" in i for i in texts(at.info))
    assert not at.slider


def test_moving_s_updates_sparsity_target_metrics_and_histogram(at):
    lab = at.session_state["session"].lab
    hist_before = charts(at)["hist"][0]
    rmse_before = next(m.value for m in at.metric if m.label == "Pruned RMSE")
    at.slider(key="s").set_value(2.0).run()
    expected = lab.at(sc.PruneConfig(sensitivity=2.0)).result.sparsity
    assert sparsity_shown(at) == pytest.approx(expected, abs=5e-4)
    assert at.number_input(key="target").value == round(100 * expected)  # the typed target follows
    assert next(m.value for m in at.metric if m.label == "Pruned RMSE") != rmse_before
    hist_after = charts(at)["hist"][0]
    assert hist_after["data"][1]["y"] != hist_before["data"][1]["y"]  # fewer weights kept
    cut = [s for s in hist_after["layout"]["shapes"] if s["type"] == "line"]
    thr = lab.at(sc.PruneConfig(sensitivity=2.0)).result.thresholds["rnn.weight_hh_l0"]
    assert sorted(s["x0"] for s in cut)[-1] == pytest.approx(thr)


def test_a_change_of_smape_reads_in_percentage_points_and_rmse_in_the_series_units(at):
    lab = at.session_state["session"].lab
    snap = lab.at(sc.PruneConfig(sensitivity=1.0))
    deltas = {m.label: m.proto.delta for m in at.metric}
    change = snap.evaluation.metrics.smape - lab.dense.metrics.smape
    assert deltas["Pruned sMAPE (%)"] == f"{change:+,.4g} pp vs dense"  # 15.8% - 15.3% is +0.5 pp, not +0.5%
    assert deltas["Pruned RMSE"].endswith(" MW vs dense") and deltas["Pruned MASE"].endswith(" vs dense")
    assert not deltas["Pruned MASE"].endswith("pp vs dense")


def test_a_target_sparsity_finds_the_s_that_reaches_it(at):
    at.number_input(key="target").set_value(70).run()
    s = at.slider(key="s").value
    assert s > 1.0
    assert sparsity_shown(at) == pytest.approx(0.70, abs=0.01)


def test_the_target_stops_at_the_most_the_floor_lets_the_threshold_cut(at):
    lab = at.session_state["session"].lab
    top = math.floor(100 * lab.reachable_sparsity(sc.PruneConfig(), 5.0))
    assert at.number_input(key="target").max == top <= 99
    at.number_input(key="target").set_value(top).run()
    assert sparsity_shown(at) == pytest.approx(top / 100, abs=0.01)  # what the slider reads is what is cut
    at.number_input(key="p_floor").set_value(0.3).run()  # a higher floor: the end of the range comes down
    assert at.number_input(key="target").max == math.floor(100 * lab.reachable_sparsity(
        sc.PruneConfig(floor=0.3), 5.0)) <= 70
    assert at.number_input(key="target").value <= at.number_input(key="target").max
    at.number_input(key="p_floor").set_value(0.01).run()


def test_a_sparsity_rule_is_driven_by_the_sparsity_slider(at):
    at.selectbox(key="p_method").set_value("magnitude").run()
    assert at.slider(key="s").disabled
    at.slider(key="target").set_value(60).run()
    assert sparsity_shown(at) == pytest.approx(0.60, abs=1e-3)
    assert at.session_state["session"].prune_setting.config.method == "magnitude"


def test_every_registered_slider_rule_is_offered(at):
    offered = at.selectbox(key="p_method").options
    drivable = [n for n, r in sc.RULES.items() if r.control in ("sensitivity", "sparsity")]
    assert len(offered) == len(drivable) >= 3


@pytest.mark.parametrize("method", [n for n, r in sc.RULES.items() if r.needs_scores and r.control == "sparsity"])
def test_saliency_rules_prune_to_the_target_without_a_weight_cut_line(at, method):
    at.selectbox(key="p_method").set_value(method).run()
    at.slider(key="target").set_value(40).run()
    assert not at.exception and not at.error
    assert sparsity_shown(at) == pytest.approx(0.40, abs=1e-3)
    assert not charts(at)["hist"][0]["layout"].get("shapes")  # its threshold is on the score, not on |w|


def test_scope_hidden_only_leaves_the_input_weights_whole(at):
    at.selectbox(key="p_scope").set_value("hh").run()
    choose_tab(at, "Thresholds")
    at.run()
    table = at.dataframe[0].value
    ih = table[table["matrix"].str.contains("W_ih")].iloc[0]
    assert ih["in scope"] == 0 and ih["cut"] == 0
    assert table[table["matrix"].str.contains("W_hh")].iloc[0]["cut"] > 0


def test_choosing_no_gate_is_refused_with_a_message(at):
    at.selectbox(key="p_scope").set_value("gates").run()
    at.multiselect(key="p_gates").set_value([]).run()
    assert any("No gate is chosen" in e for e in texts(at.error))
    assert not at.exception
    at.multiselect(key="p_gates").set_value(["hh:update"]).run()
    assert not at.error
    scope = at.session_state["session"].prune_setting.config.scope
    assert scope.kinds == {"hh"} and scope.gates == {"update"}


def test_heatmaps_show_kept_and_signed_weights(at):
    choose_tab(at, "Heatmaps")
    at.run()
    spec = charts(at)["heat"][0]
    assert [t["type"] for t in spec["data"]] == ["heatmap"] * 3 + ["scatter"] * 3  # one per gate of W_hh, and
    # the invisible markers a click on a cell selects
    at.radio(key="p_heatmode").set_value("signed").run()
    spec = charts(at)["heat"][0]
    assert spec["data"][0]["zmid"] == 0
    at.radio(key="p_matrix").set_value("rnn.weight_ih_l0").run()
    spec = charts(at)["heat"][0]
    assert [t["type"] for t in spec["data"]] == ["heatmap"] * 3 + ["scatter"] * 3  # one strip per gate
    assert spec["layout"]["xaxis3"]["title"]["text"] == "hidden unit"


def test_forecast_and_cost_panels(at):
    at.slider(key="s").set_value(1.5).run()
    choose_tab(at, "Forecast")
    at.run()
    lines = [t for t in charts(at)["forecast"][0]["data"] if t.get("yaxis", "y") == "y"]
    names = [t["name"] for t in lines]
    assert names[0] == "dense model" and names[1].startswith("pruned") and names[-1] == "actual"  # actual on top
    errors = [t["name"] for t in charts(at)["forecast"][0]["data"] if t.get("yaxis") == "y2"]
    models = [n for n in names[:-1] if not n.startswith("naive")]
    assert errors == [models[0], models[-1]]  # the dense model's and the pruned one's errors in the panel below
    choose_tab(at, "Cost")
    at.run()
    cost = at.session_state["session"].prune_setting.cost
    shown = {m.label: m.value for m in at.metric}
    assert shown["Non-zero params"] == f"{cost['params_nonzero']:,}"
    assert shown["MACs / forecast"] == f"{cost['macs_nonzero']:,}"
    assert shown["Compression"] == f"{cost['compression']:.2f}×"
    bars = charts(at)["cost"][0]["data"][0]
    assert list(bars["y"]) == ["dense fp32", "CSR", "bitmask"]


def test_metrics_compare_with_dense_and_naive(at):
    at.slider(key="s").set_value(2.5).run()
    lab = at.session_state["session"].lab
    pruned = at.session_state["session"].prune_setting.metrics
    rmse = next(m for m in at.metric if m.label == "Pruned RMSE")
    assert rmse.delta.endswith("vs dense") and float(rmse.delta.split()[0].replace(",", "")) == pytest.approx(
        pruned["rmse"] - lab.dense.metrics.rmse, rel=1e-3)
    assert rmse.delta.split()[1] == "MW"  # the difference in the series' units; sMAPE and MASE have none
    assert len(next(m for m in at.metric if m.label == "Pruned MASE").delta.split()) == 3
    naive = next(m for m in at.metric if m.label == "RMSE vs naive")
    assert naive.value == f"{(pruned['rmse'] - lab.naive.metrics.rmse) / lab.naive.metrics.rmse:+.1%}"
    assert naive.delta.endswith(" MW")


def test_fine_tuning_shows_before_and_after(at):
    at.slider(key="s").set_value(2.0).run()
    at.number_input(key="ft_epochs").set_value(1)
    at.button(key="finetune").click().run()
    assert not at.exception and not at.error
    assert any(s.startswith("Fine-tuned 1 epochs") for s in texts(at.success))
    after = {m.label: m for m in at.metric if m.label.startswith("Fine-tuned ")}
    assert set(after) == {"Fine-tuned RMSE", "Fine-tuned MAE", "Fine-tuned sMAPE (%)", "Fine-tuned MASE"}
    assert all(m.delta.endswith("vs before") for m in after.values())
    ft = at.session_state["session"].finetuned
    masks = ft.masks
    weights = dict(ft.model.named_parameters())
    assert all(bool((weights[n].detach()[~m] == 0).all()) for n, m in masks.items())  # pruned weights stay zero
    at.slider(key="s").set_value(2.1).run()  # another setting: that fine-tuned model no longer applies
    assert not [m for m in at.metric if m.label.startswith("Fine-tuned ")]


def test_the_run_and_the_pruned_model_download(at, downloads):
    from scgru_core.store.archive import load_run_zip

    at.slider(key="s").set_value(1.8).run()
    name, raw = downloads["dl_json"]
    record = json.loads(raw)
    assert name.endswith(".json")
    assert record["config"]["prune"]["sensitivity"] == pytest.approx(1.8)
    assert record["config"]["model"]["hidden"] == 16 and record["config"]["windows"]["window"] == 48
    assert record["pruned"]["rmse"] == pytest.approx(at.session_state["session"].prune_setting.metrics["rmse"])
    assert set(record) >= {"data", "dense", "naive", "pruned", "sparsity", "thresholds", "cost"}
    name, raw = downloads["dl_zip"]
    saved = load_run_zip(raw)
    kept = sum(int(m.sum()) for m in saved.masks.values())
    total = sum(m.numel() for m in saved.masks.values())
    assert 1 - kept / total == pytest.approx(sparsity_shown(at), abs=5e-4)
    assert saved.model.config.hidden == 16 and saved.scaler is not None


def test_every_chart_has_a_key_and_the_png_button(at):
    for view in ("Histograms", "Heatmaps", "Forecast", "Cost"):
        choose_tab(at, view)
        at.run()
        for key, (spec, config) in charts(at).items():
            assert key and config["displayModeBar"] and config["toImageButtonOptions"]["format"] == "png"
            assert spec["layout"]["font"]["size"] >= 15
            assert "toImage" not in config.get("modeBarButtonsToRemove", [])


def test_settings_survive_a_visit_to_another_page(at):
    at.slider(key="s").set_value(1.7).run()
    at.radio(key="p_matrix").set_value("rnn.weight_ih_l0").run()
    page(at, "train")
    page(at, "prune")
    assert at.slider(key="s").value == pytest.approx(1.7)
    assert at.radio(key="p_matrix").value == "rnn.weight_ih_l0"
    assert math.isclose(sparsity_shown(at), at.session_state["session"].prune_setting.sparsity, abs_tol=5e-4)


def test_gates_the_cell_lacks_are_refused_with_a_message():
    """GRU3's gates are learned constants: its matrices have no reset block to prune."""
    at = page(new_app(), "train")
    at.selectbox(key="m_cell").set_value("gru3")
    train_small(at, hidden=8, epochs=1)
    page(at, "prune")
    at.selectbox(key="p_scope").set_value("gates").run()
    at.multiselect(key="p_gates").set_value(["hh:reset"]).run()
    assert not at.exception
    assert any("scope selects no weights" in e for e in texts(at.error))
    at.multiselect(key="p_gates").set_value(["hh:new"]).run()
    assert not at.error and sparsity_shown(at) > 0


def test_the_sensitivity_tab_draws_a_curve_per_block_and_applies_its_suggestion(at):
    at.number_input(key="target").set_value(80).run()
    choose_tab(at, "Sensitivity")
    at.run()
    assert not at.exception
    fig = charts(at)["sensitivity"][0]
    panels = {t["xaxis"] for t in fig["data"]}
    assert len(panels) == 6  # W_ih and W_hh x reset, update, new
    assert sum(1 for t in fig["data"] if t["name"] == "suggested sparsity" or t.get("legendgroup") == "suggested") == 6
    (table,) = [d.value for d in at.dataframe if "suggested" in d.value.columns]
    assert len(table) == 6 and table["suggested"].between(0, 1).all()
    assert table["block"][0] == "layer 1 · W_ih · reset"
    at.button(key="sens_apply").click().run()
    assert at.session_state["p_method"] == "per_matrix"
    assert sparsity_shown(at) == pytest.approx(0.8, abs=0.01)
    assert at.button(key="sens_apply").disabled


def test_cutting_the_input_weights_below_one_per_unit_is_said_plainly(at):
    at.number_input(key="target").set_value(50).run()
    assert not any("input weights are left" in w for w in texts(at.warning))
    at.slider(key="s").set_value(4.0).run()  # scope both: the input matrix is cut towards its floor
    kept, total = sc.pruning.rules.input_reach(at.session_state["session"].lab.model,
                                         at.session_state["session"].lab.at(sc.PruneConfig(sensitivity=4.0)).result)
    assert kept < 16
    assert any(f"Only {kept} of the {total} input weights are left" in w for w in texts(at.warning))
    at.selectbox(key="p_scope").set_value("hh").run()
    assert not any("input weights are left" in w for w in texts(at.warning))
