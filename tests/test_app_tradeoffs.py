"""Trade-offs page (AppTest): prune-only curves for several methods, fine-tuned curves, the CSV."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from apptest_helpers import charts, downloads, new_app, page, restore_torch_threads, texts, train_small
from lab_ui.tradeoffs_view import GRID

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
    at = page(new_app(), "tradeoffs")
    assert any("needs a trained model" in i for i in texts(at.info))


def test_three_axes_three_methods_naive_line_and_current_marker(at):
    shown = charts(at)
    assert set(shown) == {"tradeoff_sparsity", "tradeoff_macs", "tradeoff_bytes"}
    spec = shown["tradeoff_sparsity"][0]
    names = [t["name"] for t in spec["data"]]
    assert names[:3] == ["SCGRU sensitivity, prune only", "Magnitude, prune only", "Random, prune only"]
    assert all(len(t["x"]) == len(GRID) for t in spec["data"][:3])
    star = spec["data"][-1]
    now = at.session_state["prune_current"]
    assert star["marker"]["symbol"] == "star" and star["x"] == [pytest.approx(now["sparsity"])]
    assert star["y"] == [pytest.approx(now["metrics"]["rmse"])]
    naive = at.session_state["lab"].naive.metrics.rmse
    assert any(s["type"] == "line" and s["y0"] == pytest.approx(naive) for s in spec["layout"]["shapes"])
    macs = shown["tradeoff_macs"][0]
    dense_macs = at.session_state["lab"].dense_cost.macs_dense
    assert max(macs["data"][0]["x"]) <= dense_macs


def test_the_error_measure_and_storage_format_can_be_changed(at):
    at.selectbox(key="to_metric").set_value("mae").run()
    spec = charts(at)["tradeoff_sparsity"][0]
    assert spec["layout"]["yaxis"]["title"]["text"] == "test MAE"
    at.selectbox(key="to_bytes").set_value("bytes_bitmask").run()
    assert "bitmask" in charts(at)["tradeoff_bytes"][0]["layout"]["xaxis"]["title"]["text"]
    at.selectbox(key="to_metric").set_value("rmse").run()


def test_the_curve_points_download_as_csv(at, downloads):
    rows = csv_rows(at, downloads)
    assert len(rows) == 3 * len(GRID)
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
    assert set(rows["curve"]) == {"prune only", "fine-tuned"} and len(rows) == 2 * len(GRID)
    assert rows[rows["curve"] == "fine-tuned"]["finetuned_rmse"].notna().all()
    assert at.button(key="to_ft").disabled  # every point is done
