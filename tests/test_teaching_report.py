"""The one-click HTML report: self-contained (plotly.js inlined once, no external script), with the
settings, metrics, cost and figures; and the lesson's own figures."""
from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

import scgru_core as sc
from scgru_core.teach import lesson
from scgru_core.viz import lesson as viz_lesson
from scgru_core.viz.report import report_html


def figure(name):
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name=name))


def make_report(**kw):
    settings = {"sample": "power_load", "method": "sensitivity", "s": 1.25, "scope": "<both>"}
    metrics = {"dense": {"rmse": 407.6071, "mae": 300.5, "smape": 1.1, "mase": 0.45},
               "pruned": {"rmse": 549.2345, "mae": 420.0, "smape": 1.5, "mase": 0.61}}
    cost = {"params_total": 12929, "params_nonzero": 7000, "bytes_csr": 61234, "compression": 1.73}
    return report_html(settings, metrics, cost, {"Forecast": figure("a"), "Weights": figure("b")},
                       captions={"Forecast": "Actual against forecast."}, **kw)


def test_report_holds_settings_metrics_cost_and_figures():
    html = make_report(link="http://127.0.0.1:8501/lesson?s=1.25")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for text in ("power_load", "1.25", "407.6071", "549.2345", "RMSE", "sMAPE (%)", "12,929", "61,234",
                 "Actual against forecast.", "Forecast", "Weights", "?s=1.25"):
        assert text in html, text
    assert len(re.findall(r'<div id="[^"]+" class="plotly-graph-div"', html)) == 2
    assert "&lt;both&gt;" in html and "<both>" not in html  # settings are escaped


def test_report_is_self_contained():
    html = make_report()
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)  # no external script
    assert not re.search(r"<link[^>]*\bhref\s*=", html, re.I)  # no external stylesheet
    assert html.count("plotly.js v") >= 1  # the library is inlined ...
    big = [m for m in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) if len(m) > 1_000_000]
    assert len(big) == 1  # ... exactly once, however many figures


def test_report_without_figures_or_with_flat_metrics():
    html = report_html({"a": 1}, {"rmse": 1.5}, {"bytes_dense": 100}, {})
    assert "(no figures)" in html and "1.5" in html and "plotly.js v" not in html


def test_gru_blocks_figure_draws_six_blocks_with_their_shapes():
    model = sc.build_model(sc.ModelConfig(hidden=8))
    masks = sc.prune(model, sc.PruneConfig(sensitivity=1.0)).masks
    fig = viz_lesson.blocks_figure(lesson.weight_blocks(model, masks))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 6
    titles = [a.text for a in fig.layout.annotations]
    assert "W_ir (8×1): 8 weights" in titles and "W_hn (8×8): 64 weights" in titles
    # pruned weights are drawn as gaps
    assert sum(int(np.isnan(np.asarray(h.z, dtype=float)).sum()) for h in heatmaps) == \
        sum(int((~m).sum()) for m in masks.values())


def test_gru_blocks_figure_of_a_gate_variant_leaves_missing_blocks_empty():
    model = sc.build_model(sc.ModelConfig(hidden=8, cell="gru3"))
    fig = viz_lesson.blocks_figure(lesson.weight_blocks(model), gates=sc.CELLS["gru3"].gates)
    assert len([t for t in fig.data if t.type == "heatmap"]) == 2  # W_in and W_hn only
    assert sum("none in this cell" in a.text for a in fig.layout.annotations) == 4


def test_blocks_figure_of_an_lstm_draws_its_four_gates_in_pytorchs_order():
    model = sc.build_model(sc.ModelConfig(hidden=8, cell="lstm"))
    fig = viz_lesson.blocks_figure(lesson.weight_blocks(model), gates=sc.CELLS["lstm"].gates)
    assert len([t for t in fig.data if t.type == "heatmap"]) == 8
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:2] == ["W_ii (8×1): 8 weights", "W_hi (8×8): 64 weights"]  # row 1: input gate, ih then hh
    assert titles[2:4] == ["W_if (8×1): 8 weights", "W_hf (8×8): 64 weights"]  # row 2: forget gate


def test_latency_figure_groups_by_batch():
    records = [{"implementation": impl, "batch": b, "ms_per_batch": 1.0 * b, "us_per_forecast": 1000.0}
               for impl in ("dense fused kernel (masked)", "dense loop", "sparse CSR loop") for b in (1, 256)]
    fig = viz_lesson.latency_figure(records)
    assert [t.name for t in fig.data] == ["dense fused kernel (masked)", "dense loop", "sparse CSR loop"]
    assert list(fig.data[0].x) == ["batch 1", "batch 256"]
    assert "measured on this machine" in fig.layout.title.text


def test_the_payoff_chart_draws_the_measured_spread_not_a_bold_line_through_noise():
    curves = [{"label": "batch 1", "x": (0.0, 0.5, 0.9), "y": (1.02, 1.6, 3.0), "pays": 0.5,
               "spread": ((0.9, 1.1), (1.4, 1.8), (2.7, 3.3))}]
    fig = viz_lesson.payoff_figure(curves)
    trace = fig.data[0]
    assert list(trace.error_y.array) == pytest.approx([0.08, 0.2, 0.3])
    assert list(trace.error_y.arrayminus) == pytest.approx([0.12, 0.2, 0.3])
    assert trace.line.dash == "dot" and trace.line.width < 2
