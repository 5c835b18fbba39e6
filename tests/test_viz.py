"""Figure builders (scgru_core.viz): plain data in, the right plotly figure out, no Streamlit."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import scgru_core as sc
from scgru_core import viz
from scgru_core.pruning.lab import GatePanel

RNG = np.random.default_rng(0)


def panel(rows=64, cols=64, thr=0.05, in_scope=True, title="reset gate r"):
    w = RNG.normal(0, 0.1, (rows, cols))
    return GatePanel("reset", w, np.abs(w) >= thr, thr, in_scope, title)


def test_viz_imports_no_streamlit():
    code = "import sys, scgru_core.viz; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_png_button_is_kept_and_fonts_are_projector_sized():
    assert "toImage" not in viz.PLOTLY_CONFIG["modeBarButtonsToRemove"]
    assert viz.PLOTLY_CONFIG["displayModeBar"] is True
    assert viz.PLOTLY_CONFIG["toImageButtonOptions"]["format"] == "png"
    figs = [viz.series_figure(np.arange(10.0)), viz.loss_figure([1, 0.5], [1.2, 0.6]),
            viz.histogram_figure([panel()]), viz.heatmap_figure([panel()]), viz.cost_figure(sc.Cost(10, 5, 100, 50, 40, 30, 20)),
            viz.tradeoff_figure([], "x", "y"), viz.forecast_figure(np.arange(3), np.ones(3), {"dense": np.ones(3)})]
    assert all(isinstance(f, go.Figure) and f.layout.font.size >= 15 for f in figs)


def test_series_split_is_shaded_at_the_part_boundaries():
    times = pd.date_range("2024-01-01", periods=100, freq="h")
    fig = viz.series_figure(np.sin(np.arange(100)), times, split={"train": (0, 70), "val": (70, 85), "test": (85, 100)})
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [pd.Timestamp(r.x0) for r in rects] == [times[0], times[70], times[85]]
    assert pd.Timestamp(rects[-1].x1) == times[99]
    assert [a.text for a in fig.layout.annotations] == ["train 70%", "validation 15%", "test 15%"]


def test_long_series_are_decimated_for_display_and_say_so():
    fig = viz.series_figure(np.arange(50_000.0), max_points=10_000)
    assert len(fig.data[0].y) <= 10_000 and "of 50,000 points: each column's lowest and highest" in fig.data[0].name


@pytest.mark.parametrize("n, columns", [(10_000, 500), (2_581, 600), (1_203, 600)])
def test_decimation_keeps_every_local_extreme_at_its_pixel_column(n, columns):
    rng = np.random.default_rng(n)
    y = np.cumsum(rng.normal(size=n))
    y[rng.integers(0, n, 5)] += 50  # spikes a stride would skip
    x = np.arange(n) * 2.0
    xs, ys = viz.decimate(x, y, columns)
    assert len(ys) <= 2 * columns and np.all(np.diff(xs) > 0)  # in order, each point once
    kept = dict(zip(xs.tolist(), ys.tolist()))
    for bucket in np.array_split(np.arange(n), columns):
        lo, hi = bucket[np.argmin(y[bucket])], bucket[np.argmax(y[bucket])]
        assert kept.get(x[lo]) == y[lo] and kept.get(x[hi]) == y[hi]  # both extremes, at their own x
    assert viz.decimate(x[:100], y[:100], columns)[1].tolist() == y[:100].tolist()  # short lines are drawn whole


def test_a_long_forecast_opens_on_its_recent_part_whole_and_sends_the_rest_decimated():
    n = 2_580  # the test part of a 17,520-point upload
    actual = np.sin(np.arange(n) / 20)
    fig = viz.forecast_figure(np.arange(n), actual, {"dense": actual * 0.9, "pruned": actual * 0.8})
    assert all(len(t.y) <= 2 * viz.FORECAST_COLUMNS + viz.FORECAST_RECENT for t in fig.data)
    drawn = fig.data[-1]
    assert drawn.name == "actual" and max(drawn.y) == actual.max() and min(drawn.y) == actual.min()  # on top
    assert list(drawn.y[-viz.FORECAST_RECENT:]) == list(actual[-viz.FORECAST_RECENT:])  # the recent part whole
    assert tuple(fig.layout.xaxis.range) == (n - viz.FORECAST_RECENT, n - 1)  # and opened on it
    assert viz.forecast_figure(np.arange(300), actual[:300], {"dense": actual[:300]}).layout.xaxis.range is None


def test_loss_curves_on_a_log_axis_with_the_best_epoch():
    fig = viz.loss_figure([1.0, 0.5, 0.4], [1.1, 0.6, 0.7], best_epoch=2)
    assert fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert fig.layout.shapes[0].x0 == 2


def test_forecasts_draw_the_first_step_ahead():
    actual = np.arange(12.0).reshape(6, 2)
    fig = viz.forecast_figure(np.arange(6), actual, {"dense": actual + 1, "pruned": actual + 2},
                              labels={"dense": "dense model"})
    lines = [t for t in fig.data if t.yaxis in (None, "y")]
    assert [t.name for t in lines] == ["dense model", "pruned", "actual"]  # the actual line last: on top
    assert list(lines[1].y) == list(actual[:, 0] + 2) and lines[1].line.dash == "dash"
    errors = {t.name: list(t.y) for t in fig.data if t.yaxis == "y2"}  # each forecast's error, in its own panel
    assert errors == {"dense model": [1.0] * 6, "pruned": [2.0] * 6}


def test_the_error_panel_keeps_two_lines_the_first_model_and_the_one_the_page_is_about():
    actual = np.arange(6.0)
    fig = viz.forecast_figure(np.arange(6), actual, {"dense": actual + 1, "pruned": actual + 2,
                                                      "finetuned": actual + 3, "naive": actual - 1})
    assert [t.name for t in fig.data if t.yaxis == "y2"] == ["dense", "finetuned"]  # not four overlapping lines
    assert [t.name for t in fig.data if t.yaxis in (None, "y")] == ["dense", "pruned", "finetuned", "naive", "actual"]


def test_histograms_count_every_weight_before_and_the_kept_ones_after():
    panels = [panel(thr=0.05), panel(thr=0.08, title="update gate z"), panel(in_scope=False, title="candidate n")]
    fig = viz.histogram_figure(panels, bins=40)
    for i, p in enumerate(panels):
        before, after = fig.data[2 * i], fig.data[2 * i + 1]
        assert sum(before.y[::2]) == p.weights.size  # step outline: each count appears twice
        assert sum(after.y[::2]) == p.kept.sum()
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert sorted((s.xref, round(s.x0, 6)) for s in lines) == [("x", -0.05), ("x", 0.05), ("x2", -0.08), ("x2", 0.08)]
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(b.xref, b.x0, b.x1) for b in bands] == [("x", -0.05, 0.05), ("x2", -0.08, 0.08)]  # none out of scope
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("reset gate r<br>") and titles[0].endswith("% cut")


def test_histograms_without_a_threshold_have_no_cut_and_can_use_log_counts():
    p = dataclasses.replace(panel(), threshold=None)  # the random rule has none
    fig = viz.histogram_figure([p], log_count=True)
    assert not fig.layout.shapes
    assert fig.layout.yaxis.type == "log"


def test_mask_heatmaps_show_kept_as_one_and_cut_as_zero():
    panels = [panel(), panel(), panel()]
    fig = viz.heatmap_figure(panels, mode="mask")
    assert [t.type for t in fig.data] == ["heatmap"] * 3
    assert np.array_equal(np.asarray(fig.data[1].z), panels[1].kept.astype(np.float32))
    assert [fig.data[i].xaxis for i in range(3)] == ["x", "x2", "x3"]
    # the rows are the same hidden units in every panel: labelled once, at the left, not into the panel before
    assert [fig.layout[a].showticklabels for a in ("yaxis", "yaxis2", "yaxis3")] == [True, False, False]


def test_signed_heatmaps_blank_the_cut_weights():
    p = panel()
    fig = viz.heatmap_figure([p], mode="signed")
    z = np.asarray(fig.data[0].z, dtype=np.float64)
    assert np.isnan(z[~p.kept]).all()
    assert np.allclose(z[p.kept], p.weights[p.kept].astype(np.float32))
    assert fig.data[0].zmid == 0


def test_input_weights_of_one_input_are_drawn_as_strips():
    panels = [panel(rows=64, cols=1) for _ in range(3)]
    fig = viz.heatmap_figure(panels)
    assert np.asarray(fig.data[0].z).shape == (1, 64)
    assert fig.layout.xaxis3.title.text == "hidden unit"


def test_big_grids_are_sent_as_images():
    panels = [panel(rows=256, cols=256) for _ in range(3)]
    for mode in ("mask", "signed"):
        fig = viz.heatmap_figure(panels, mode=mode)
        assert [t.type for t in fig.data] == ["image"] * 3
        assert fig.data[0].source.startswith("data:image/png;base64,")
    with pytest.raises(ValueError):
        viz.heatmap_figure(panels, mode="colour")


def test_tradeoff_curves_naive_line_and_current_marker():
    curves = [sc.Curve("a", [0, 0.5], [1, 2], group="a"), sc.Curve("a ft", [0, 0.5], [1, 1.5], group="a", finetuned=True),
              sc.Curve("b", [0, 0.5], [1, 3], group="b")]
    fig = viz.tradeoff_figure(curves, "sparsity", "RMSE", naive=2.5, current=sc.Point(0.3, 1.2, "now"),
                              x_percent=True, x_reference=sc.Reference(0.1, "dense 2 ms"))
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.dash == "solid"
    assert fig.data[-1].marker.symbol == "star" and fig.data[-1].name == "now"
    assert fig.layout.shapes[0].y0 == 2.5 and fig.layout.shapes[1].x0 == 0.1
    assert fig.layout.xaxis.tickformat == ".0%"
    assert not viz.tradeoff_figure(curves, "x", "y", legend=False).layout.showlegend


def test_cost_bars_show_each_storage_format_dense_first():
    cost = sc.Cost(params_total=100, params_nonzero=50, macs_dense=90, macs_nonzero=45, bytes_dense=400, bytes_csr=300,
                   bytes_bitmask=200)
    fig = viz.cost_figure(cost)
    assert list(fig.data[0].y) == ["dense fp32", "CSR", "bitmask"] and list(fig.data[0].x) == [400, 300, 200]


def test_a_curve_refuses_unequal_lengths_where_it_is_built():
    with pytest.raises(ValueError, match="2 x values but 1 y values"):
        sc.Curve("SCGRU", [0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="1 categories but 2 values"):
        sc.BarGroup("hh", ["SCGRU"], [1.0, 2.0])


def test_the_naive_label_sits_on_its_line_on_a_log_axis_and_ticks_do_not_crowd():
    curves = [sc.Curve("SCGRU", [0.5, 0.8], [400.0, 900.0])]
    for log_y in (False, True):
        fig = viz.tradeoff_figure(curves, "sparsity", "RMSE", naive=889.0, log_y=log_y)
        (label,) = [a for a in fig.layout.annotations if a.text == "naive forecast"]
        assert label.y == (np.log10(889.0) if log_y else 889.0)  # plotly places log-axis annotations in log10
    shown = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext))
    assert shown[100.0] == "100" and shown[1000.0] == "1,000" and shown[500.0] == "500"  # never a bare "5"


@pytest.mark.parametrize("values,decades,between", [
    ([0.07, 0.5], {0.01: "0.01", 0.1: "0.1", 1.0: "1"}, {0.02: "0.02", 0.05: "0.05", 0.5: "0.5"}),
    ([0.5, 12.0], {0.1: "0.1", 1.0: "1", 10.0: "10"}, {0.5: "0.5", 2.0: "2", 5.0: "5"}),
    ([3e-4, 40.0], {1e-4: "0.0001", 0.01: "0.01", 1.0: "1", 10.0: "10", 100.0: "100"}, {}),
    ([143e6, 215e6], {1e8: "100M"}, {1.5e8: "150M", 2e8: "200M"}),
])
def test_log_axes_label_every_decade_with_its_value_and_2_and_5_only_where_they_fit(values, decades, between):
    ticks = viz.style.log_ticks(values)
    shown = dict(zip(ticks["tickvals"], ticks["ticktext"]))
    assert {v: shown.get(v) for v in decades} == decades
    assert {v: shown.get(v) for v in between} == between
    if not between:  # over five decades: decades only
        assert set(shown) == set(decades) | {1e-3, 0.1}
    inside = [v for v in shown if min(values) <= v <= max(values)]
    assert len(inside) >= 1


def test_every_log_axis_of_the_labs_figures_names_its_ticks():
    figs = [viz.loss_figure([0.5, 0.09, 0.07], [0.6, 0.1, 0.08]),
            viz.tradeoff_figure([sc.Curve("SCGRU", [0.5, 0.8], [400.0, 900.0])], "sparsity", "RMSE", log_y=True)]
    for fig in figs:
        assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.tickvals and fig.layout.yaxis.ticktext
        assert "5" not in [t for v, t in zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext) if v != 5.0]


def test_the_loss_chart_counts_whole_epochs():
    assert viz.loss_figure([1.0, 0.5], [1.1, 0.6]).layout.xaxis.dtick == 1
    assert viz.loss_figure([1.0] * 30, [1.0] * 30).layout.xaxis.dtick == 3


def test_the_builders_take_the_engines_types():
    """A page hands the builders what the engine made (a Dataset, a training's history, evaluations), not lists it
    assembled: the split, the epochs and the forecasts come through unchanged."""
    times = pd.date_range("2024-01-01", periods=200, freq="h")
    series = sc.series_from_frame(pd.DataFrame({"t": times, "load": np.sin(np.arange(200) / 5) + 2}))
    data = sc.prepare(series, sc.WindowConfig(window=8))
    shaded = [s for s in viz.data_figure(data, units="MW").layout.shapes]
    assert len(shaded) == 3 and shaded[-1].x1 == times[-1]  # train, validation, test
    model = sc.build_model(sc.ModelConfig(hidden=4), horizon=1, seed=0)
    result = sc.fit(model, data, sc.TrainConfig(epochs=2, patience=0))
    loss = viz.training_figure(result.history, result.best_epoch)
    assert list(loss.data[0].y) == [h.train_loss for h in result.history]
    dense, naive = sc.evaluate(model, data), sc.evaluate_naive(data)
    fig = viz.test_forecast_figure(data, {"dense": dense, "naive": naive})
    lines = {t.name: t for t in fig.data if t.yaxis in (None, "y")}
    assert np.allclose(lines["actual"].y, dense.actual[:, 0]) and len(lines) == 3  # the first step ahead
    assert list(lines["actual"].x) == list(times[data.test.target_start])


def test_deploy_speed_bars_grow_from_the_1x_line_with_their_labels_outside():
    from _engine_support import tiny_data, tiny_model
    from scgru_core.deploy.measure import measure_deployment
    from scgru_core.deploy.shrink import shrink_and_finetune
    from scgru_core.deploy.units import UnitConfig
    from scgru_core.viz import deploy as viz_deploy

    data = tiny_data(300, window=12)
    model = tiny_model(hidden=16)
    result = shrink_and_finetune(model, data, UnitConfig(fraction=0.5), None)
    report = measure_deployment(model, result.final, result.selection, data, repeats=1)
    fig = viz_deploy.speedup_figure(report)
    for i, bars in enumerate(fig.data):
        speedups = [report.speedup(r.variant, report.batches[i]) for r in report.rows]
        assert list(bars.base) == [1.0] * len(speedups)  # from the 1x line: left when slower, right when faster
        assert [b + x for b, x in zip(bars.base, bars.x)] == pytest.approx(speedups)
        assert bars.textposition == "outside" and [c[0] for c in bars.customdata] == pytest.approx(speedups)
        axis = fig.layout["xaxis" if i == 0 else f"xaxis{i + 1}"]
        low, high = axis.range
        assert low < np.log10(min(speedups + [1.0])) and high > np.log10(max(speedups + [1.0]))  # room for labels


def test_two_methods_on_the_same_line_both_stay_visible():
    same = ([0.5, 0.8, 0.9], [400.0, 500.0, 700.0])
    fig = viz.tradeoff_figure([sc.Curve("SCGRU", *same), sc.Curve("Magnitude", *same)], "sparsity", "RMSE")
    first, second = fig.data[0], fig.data[1]
    assert first.line.width > second.line.width and first.marker.size > second.marker.size  # the first shows around
    assert first.marker.symbol != second.marker.symbol and first.line.color != second.line.color


def test_a_histogram_of_weights_no_rule_cut_has_no_pruning_legend_or_share():
    fig = viz.histogram_figure([panel(), panel(title="update gate z")], pruning=False)
    assert [t.name for t in fig.data] == ["weights", "weights"] and not any(t.showlegend for t in fig.data)
    assert not fig.layout.shapes and not any("cut" in a.text for a in fig.layout.annotations)


def test_projector_mode_enlarges_every_text_and_line_and_leaves_the_cached_figure_alone():
    import json

    from scgru_core.viz.style import PROJECTOR_FONT, for_projector

    fig = viz.tradeoff_figure([sc.Curve("SCGRU", (0.0, 0.5, 0.9), (1.0, 2.0, 4.0))], "sparsity", "RMSE",
                              title="Error against sparsity", naive=3.0)
    before = json.dumps(fig.to_plotly_json(), default=str)
    big = for_projector(fig)
    assert json.dumps(fig.to_plotly_json(), default=str) == before  # a figure in a shared cache is not changed

    def sizes(node, found):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "font" and isinstance(value, dict) and "size" in value:
                    found.append(value["size"])
                sizes(value, found)
        elif isinstance(node, list):
            for item in node:
                sizes(item, found)
        return found

    small, large = sizes(fig.to_plotly_json(), []), sizes(big, [])
    assert large == pytest.approx([s * PROJECTOR_FONT for s in small], abs=0.06)
    assert large and min(large) >= 19  # from the back row: no text under 19 px
    widths = [t["line"]["width"] for t in big["data"] if t.get("line", {}).get("width")]
    assert widths and all(w >= 3 for w in widths)
    assert big["layout"]["height"] > fig.layout.height
    go.Figure(big)  # still a valid figure


def test_a_heatmap_click_reads_back_as_the_cell_clicked():
    rng = np.random.default_rng(0)
    wide = [sc.GatePanel(g, rng.normal(size=(6, 6)), np.ones((6, 6), bool)) for g in ("reset", "update", "new")]
    fig = viz.heatmap_figure(wide, pickable=True)
    markers = [t for t in fig.data if t.type == "scatter"]
    assert len(markers) == 3 and all(t.marker.opacity == 0 for t in markers)
    assert len(markers[1].x) == 36
    # what Streamlit's selection gives for a click on the second gate's cell at row 4, column 2
    assert viz.picked_cell({"curve_number": 4, "x": 2, "y": 4}, wide) == (1, 4, 2)
    assert viz.picked_cell({"curve_number": 0, "x": 2, "y": 4}, wide) is None  # the heatmap trace itself
    narrow = [sc.GatePanel(g, rng.normal(size=(6, 1)), np.ones((6, 1), bool)) for g in ("reset", "update", "new")]
    fig = viz.heatmap_figure(narrow, pickable=True)  # drawn transposed: x is the unit
    assert viz.picked_cell({"curve_number": 5, "x": 3, "y": 0}, narrow) == (2, 3, 0)
    assert not [t for t in viz.heatmap_figure(wide).data if t.type == "scatter"]
