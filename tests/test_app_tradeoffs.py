"""Trade-offs page (AppTest): prune-only curves for several methods, fine-tuned curves, the CSV."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from apptest_helpers import without_model, charts, downloads, new_app, page, restore_torch_threads, texts, train_small
from lab_ui.tradeoffs_view import GRID

UNIT_POINTS = len(GRID) - 1  # hidden 8: removing 95% would remove all 8 units, so that point is left out

__all__ = ["downloads", "restore_torch_threads"]


@pytest.fixture(scope="module")
def at():
    """A tiny model (hidden 8) on the airline sample, a setting chosen on the Prune page, then Trade-offs."""
    at = page(new_app(), "data")
    at.selectbox(key="sample_pick").set_value("airline")
    at.button(key="load_sample").click().run()
    train_small(at, hidden=8, epochs=1)
    page(at, "prune")
    at.slider(key="s").set_value(1.3).run()
    return page(at, "tradeoffs")


def csv_rows(at, downloads) -> pd.DataFrame:
    at.run()
    name, data = downloads["dl_csv"]
    assert name.endswith(".csv")
    return pd.read_csv(io.BytesIO(data))


def test_without_a_model_the_page_explains_what_to_do():
    at = without_model("tradeoffs")
    assert any("needs a trained model" in i for i in texts(at.info))


def test_three_axes_three_methods_naive_line_and_current_marker(at):
    shown = charts(at)
    assert set(shown) == {"tradeoff_sparsity", "tradeoff_macs", "tradeoff_bytes"}
    spec = shown["tradeoff_sparsity"][0]
    names = [t["name"] for t in spec["data"]]
    assert names[:3] == ["SCGRU sensitivity, prune only", "Magnitude, prune only", "Random, prune only"]
    assert all(len(t["x"]) == len(GRID) for t in spec["data"][:3])
    star = spec["data"][-1]
    now = at.session_state["session"].prune_setting
    assert star["marker"]["symbol"] == "star" and star["x"] == [pytest.approx(now.sparsity)]
    assert star["y"] == [pytest.approx(now.metrics["rmse"])]
    naive = at.session_state["session"].lab.naive.metrics.rmse
    assert any(s["type"] == "line" and s["y0"] == pytest.approx(naive) for s in spec["layout"]["shapes"])
    macs = shown["tradeoff_macs"][0]
    dense_macs = at.session_state["session"].lab.dense_cost.macs_dense
    assert max(macs["data"][0]["x"]) <= dense_macs


def test_the_error_measure_and_storage_format_can_be_changed(at):
    at.selectbox(key="to_metric").set_value("mae").run()
    spec = charts(at)["tradeoff_sparsity"][0]
    assert spec["layout"]["yaxis"]["title"]["text"] == "test MAE (thousands)"  # in the series' units
    at.selectbox(key="to_bytes").set_value("bytes_bitmask").run()
    assert "bitmask" in charts(at)["tradeoff_bytes"][0]["layout"]["xaxis"]["title"]["text"]
    at.selectbox(key="to_metric").set_value("rmse").run()


def test_the_curve_points_download_as_csv(at, downloads):
    rows = csv_rows(at, downloads)
    assert len(rows) == 3 * len(GRID) + UNIT_POINTS  # three rules and whole units
    assert {"curve", "method", "target_sparsity", "sparsity", "rmse", "mase", "macs_nonzero", "bytes_csr"} <= set(rows)
    assert set(rows["curve"]) == {"prune only"}


def test_fine_tuned_curves_are_computed_on_demand(at, downloads):
    at.multiselect(key="to_methods").set_value(["random"]).run()
    at.number_input(key="to_ft_epochs").set_value(1).run()
    at.button(key="to_ft").click().run()
    assert not at.exception
    spec = charts(at)["tradeoff_sparsity"][0]
    names = [t["name"] for t in spec["data"]]
    assert names[:2] == ["Random, prune only", "Random + fine-tune (1 ep.)"]
    assert spec["data"][1]["line"]["dash"] == "dash"
    rows = csv_rows(at, downloads)
    assert set(rows["curve"]) == {"prune only", "fine-tuned"} and len(rows) == 2 * (len(GRID) + UNIT_POINTS)
    assert rows[rows["curve"] == "fine-tuned"]["finetuned_rmse"].notna().all()
    assert at.button(key="to_ft").disabled  # every point is done


def test_whole_units_are_a_curve_of_a_physically_smaller_model(at):
    at.multiselect(key="to_methods").set_value(["magnitude"]).run()
    spec = charts(at)["tradeoff_macs"][0]
    units = next(t for t in spec["data"] if t["name"] == "Remove units (structured), prune only")
    dense = at.session_state["session"].lab.dense_cost.macs_dense
    assert units["x"][0] == dense and units["x"] == sorted(units["x"], reverse=True) and units["x"][-1] < dense / 4
    at.checkbox(key="to_units").uncheck().run()
    assert all("units" not in t["name"] for t in charts(at)["tradeoff_macs"][0]["data"])
    at.checkbox(key="to_units").check().run()


def test_measured_latency_is_an_axis_with_the_dense_time_marked(at, downloads):
    at.multiselect(key="to_methods").set_value(["magnitude"]).run()
    assert "tradeoff_latency" not in charts(at)  # timing costs seconds: only when asked
    at.checkbox(key="to_latency").check().run()
    at.selectbox(key="to_latency_batch").set_value(256).run()
    assert not at.exception
    spec = charts(at)["tradeoff_latency"][0]
    curves = [t for t in spec["data"] if t["name"].endswith("prune only")]
    assert {t["name"] for t in curves} == {"Magnitude, prune only", "Remove units (structured), prune only"}
    assert sorted(len(t["x"]) for t in curves) == [UNIT_POINTS, len(GRID)] and all(min(t["x"]) > 0 for t in curves)
    assert "256" in spec["layout"]["xaxis"]["title"]["text"]
    assert any(s["type"] == "line" and s["x0"] == s["x1"] > 0 for s in spec["layout"]["shapes"])  # dense time
    rows = csv_rows(at, downloads)
    assert rows[rows["curve"] == "prune only"]["latency_ms_b1"].gt(0).all()
    at.checkbox(key="to_latency").uncheck().run()


def test_a_link_to_trade_offs_shows_the_prune_setting_star_and_the_sidebar_without_visiting_prune():
    from streamlit.testing.v1 import AppTest

    from apptest_helpers import APP, TIMEOUT, sidebar_text

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["s"] = "1.5"  # a copied link of the shipped model's state, opened on Trade-offs
    at.switch_page("app_pages/tradeoffs.py").run()
    assert not at.exception, [e.message for e in at.exception]
    names = [t.get("name") for spec, _ in charts(at).values() for t in spec["data"]]
    assert any(n and n.startswith("Prune page:") and "s = 1.50" in n for n in names), names
    assert "Pruning" in sidebar_text(at)
