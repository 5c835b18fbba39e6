"""Loading a model zip back into the app (Train page): the Prune page's download round-trips; a changed, foreign
or mismatched file is refused with its reason and the current model stays."""
from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.delta_generator import DeltaGenerator

from apptest_helpers import charts, new_app, page, restore_torch_threads, texts, train_small

__all__ = ["restore_torch_threads"]


@pytest.fixture(scope="module")
def saved_zip():
    """A tiny model trained on the power-load sample, pruned at s = 1, as the Prune page downloads it (caught
    on its way to st.download_button, as apptest_helpers.downloads does for one test)."""
    at = page(train_small(new_app(), hidden=8, epochs=1), "prune")
    return prune_zip(at), at.session_state["session"].lab


def prune_zip(at) -> bytes:
    """The pruned-model zip the Prune page offers, caught on its way to st.download_button."""
    seen = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data=None, *args, **kwargs):
        seen[kwargs.get("key")] = data
        return original(self, label, data, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(DeltaGenerator, "download_button", spy)
    try:
        at.run()
    finally:
        mp.undo()
    return seen["dl_zip"]() if callable(seen["dl_zip"]) else seen["dl_zip"]


def upload_zip(at, name: str, raw: bytes):
    at.file_uploader(key="model_zip").set_value((name, raw, "application/zip")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_prune_pages_zip_loads_back_with_its_pruned_weights(saved_zip):
    raw, lab = saved_zip
    at = page(train_small(new_app(), hidden=16, epochs=1), "train")  # another model in place
    upload_zip(at, "my_pruned_model.zip", raw)
    loaded = at.session_state["session"].lab
    assert loaded.model.config.hidden == 8
    w = loaded.model.state_dict()["rnn.weight_hh_l0"]
    assert int((w == 0).sum()) > 0  # the pruning came with it
    assert "loaded from" in " ".join(c.value for c in at.sidebar.caption if hasattr(c, "value"))
    assert any("loaded from `my_pruned_model.zip`" in c.value for c in at.caption)  # not "trained 0 epochs"
    shown = charts(at)
    assert "forecast_test" in shown and "loss_final" not in shown  # no empty loss chart for a loaded model


@pytest.mark.parametrize("change, says", [
    ("flip", "checksum"), ("not_zip", "not a zip archive"), ("extra", "unexpected file"),
])
def test_a_changed_or_foreign_file_is_refused_and_the_model_stays(saved_zip, change, says):
    raw, _ = saved_zip
    if change == "flip":
        src = zipfile.ZipFile(io.BytesIO(raw))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as dst:
            for info in src.infolist():
                data = bytearray(src.read(info))
                if info.filename.endswith("weights.safetensors"):
                    data[-1] ^= 1
                dst.writestr(info.filename, bytes(data))
        raw = buf.getvalue()
    elif change == "not_zip":
        raw = b"<html>not a model</html>"
    else:
        buf = io.BytesIO(raw)
        with zipfile.ZipFile(buf, "a") as zf:
            zf.writestr("[click](https://example.invalid).txt", b"x")
        raw = buf.getvalue()
    at = page(train_small(new_app(), hidden=16, epochs=1), "train")
    before = at.session_state["session"].lab
    upload_zip(at, "model.zip", raw)
    errors = texts(at.error)
    assert len(errors) == 1 and says in errors[0] and "The current model is kept" in errors[0]
    assert at.session_state["session"].lab is before
    if change == "extra":
        assert "`" in errors[0] and "](" not in errors[0].replace("`", "").split("was not loaded")[0]


def test_a_model_for_other_data_is_refused(saved_zip):
    raw, _ = saved_zip
    at = page(new_app(), "data")
    at.selectbox(key="sample_pick").set_value("airline")
    at.button(key="load_sample").click().run()
    page(at, "train")
    upload_zip(at, "power_model.zip", raw)
    errors = texts(at.error)
    assert len(errors) == 1 and ("reads windows of 48 values" in errors[0] or "trained on other data" in errors[0])
    assert at.session_state["session"].lab is None


def test_reset_after_loading_a_zip_made_with_the_defaults_gives_a_fresh_sessions_model():
    """The zip of a fresh session's Prune page names the default settings, but its weights are pruned: Reset must
    put the shipped model back, not keep the file's because the settings look the same."""
    at = page(new_app(), "prune")
    raw, fresh = prune_zip(at), at.session_state["session"].lab.dense.metrics.rmse
    upload_zip(page(at, "train"), "zip_good.zip", raw)
    assert at.session_state["session"].model_info.origin == "zip_good.zip"
    assert at.session_state["session"].lab.dense.metrics.rmse != fresh  # the pruned weights
    at.button(key="reset_defaults").click().run()
    assert not at.exception
    now = at.session_state["session"]
    assert now.lab.dense.metrics.rmse == fresh and not now.model_info.origin
    assert "loaded from" not in " ".join(c.value for c in at.sidebar.caption if hasattr(c, "value"))
