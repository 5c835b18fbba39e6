"""Deploy page (AppTest): the instant preview of a removal, the measured run, the download, refusals."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
from safetensors.torch import load as st_load

from apptest_helpers import without_model, charts, downloads, new_app, page, restore_torch_threads, texts, train_small

__all__ = ["downloads", "restore_torch_threads"]


@pytest.fixture(scope="module")
def session():
    """One session with a tiny model (hidden 16) on the power-load sample, on the Deploy page."""
    return page(train_small(new_app(), hidden=16, epochs=1), "deploy")


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_without_a_model_the_page_explains_what_to_do():
    at = without_model("deploy")
    assert any("needs a trained model" in i for i in texts(at.info))
    assert "d_go" not in [b.key for b in at.button]


def test_the_preview_follows_the_units_slider_at_once(session):
    at = session
    at.selectbox(key="d_rule").set_value("unit_norm").run()
    at.slider(key="d_units").set_value(50).run()
    assert metric(at, "Hidden units") == "8"
    at.slider(key="d_units").set_value(75).run()
    assert metric(at, "Hidden units") == "4"
    lab = at.session_state["session"].lab
    assert metric(at, "Parameters") == f"{3 * 4 * (1 + 4 + 2) + 4 + 1:,}"  # 3H(I+H+2) + H + horizon at H = 4
    assert metric(at, "Parameters") != f"{lab.dense_cost.params_total:,}"
    assert not at.error


def test_shrink_finetune_and_measure_shows_every_variant_and_a_plain_download(session, downloads):
    at = session
    at.selectbox(key="d_rule").set_value("unit_norm").run()
    at.slider(key="d_units").set_value(50).run()
    at.number_input(key="d_ft_epochs").set_value(1).run()
    at.button(key="d_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "d_speed" in charts(at)
    assert len(at.dataframe) == 1
    frame = at.dataframe[0].value
    variants = set(frame["variant"])
    assert {"dense (before)", "masked (full size, units zeroed)", "CSR sparse (full size)",
            "shrunk (smaller torch module)"} <= variants
    assert (frame["ms, batch 1"] > 0).all() and (frame["ms, batch 256"] > 0).all()
    name, raw = downloads["d_zip"]
    assert name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert {"model.safetensors", "model.json", "load_model.py"} <= set(zf.namelist())
        state = st_load(zf.read("model.safetensors"))
        desc = json.loads(zf.read("model.json"))
    gru = torch.nn.GRU(1, 8, 1, batch_first=True)
    gru.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("gru.")}, strict=True)
    assert desc["hidden"] == 8 and desc["window"] == at.session_state["session"].lab.data.window


def test_the_result_stays_through_a_page_switch_and_is_dropped_with_the_model(session):
    at = session
    assert len(at.dataframe) == 1
    page(at, "prune")
    page(at, "deploy")
    assert len(at.dataframe) == 1 and "d_speed" in charts(at)
    assert at.session_state["d_units"] == 50
    page(train_small(at, hidden=16, epochs=1), "deploy")  # a new model: the old measurements do not describe it
    assert len(at.dataframe) == 0 and "d_speed" not in charts(at)


def test_dead_units_use_the_prune_pages_masks_and_an_impossible_setting_is_refused(session):
    at = session
    at.selectbox(key="d_rule").set_value("dead").run()
    assert any("Prune page" in c.value for c in at.caption)
    assert metric(at, "Hidden units") == "16"  # nothing pruned yet: no unit is dead, and the page says why
    assert any("No unit is dead" in i for i in texts(at.info))
    at.selectbox(key="d_rule").set_value("unit_norm").run()
    at.slider(key="d_units").set_value(95).run()  # round(0.95 * 16) = 15: one unit left
    assert metric(at, "Hidden units") == "1" and not at.error


def test_unit_rules_start_from_the_dense_model_whatever_the_prune_page_holds(session):
    at = session
    page(at, "prune")
    at.slider(key="s").set_value(2.0).run()  # a heavy unstructured cut on the Prune page
    page(at, "deploy")
    at.selectbox(key="d_rule").set_value("unit_norm").run()
    at.slider(key="d_units").set_value(0).run()  # removing no unit leaves the dense model's errors
    dense = at.session_state["session"].lab.dense.metrics.rmse
    assert metric(at, "RMSE after removal").startswith(f"{dense:,.4g}")
