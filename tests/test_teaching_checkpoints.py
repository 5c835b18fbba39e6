"""The shipped checkpoints: small, loadable, matching their config and the data preparation, giving the
metrics recorded in their metrics.json, and reproducible by scripts/make_checkpoints.py."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil

import pytest

import scgru_core as sc
from scgru_core.store.checkpoints import (CHECKPOINT_DIR, REPRODUCE_ATOL, Setup, checkpoint_dir, data_fingerprint, default_setup, load_checkpoint,
                                    matches, settings_for, weights_equal)
from scgru_core.store.runs import save_run
from scgru_core.errors import CheckpointError
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.settings import LabState

ROOT = pathlib.Path(__file__).resolve().parent.parent


SHIPPED = [(k, "gru") for k in SAMPLES] + [(DEFAULT_SAMPLE, c) for c in sc.CELLS if c != "gru"]


def test_every_sample_has_a_checkpoint_the_default_sample_one_per_cell_all_under_2_mb():
    assert [k for k in SAMPLES if (CHECKPOINT_DIR / k / "config.json").is_file()] == list(SAMPLES)
    assert [c for c in sc.CELLS if (checkpoint_dir(DEFAULT_SAMPLE, c) / "config.json").is_file()] == list(sc.CELLS)
    total = sum(p.stat().st_size for p in CHECKPOINT_DIR.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024, total


@pytest.mark.parametrize("key,cell", SHIPPED)
def test_checkpoint_loads_matches_its_config_and_gives_the_recorded_metrics(key, cell):
    ckpt = load_checkpoint(key, cell=cell)
    state = LabState.for_sample(key).updated(cell=cell)  # the app's defaults for this sample are the checkpoint's setup
    setup = Setup(state.window_config(), state.model_config(), state.train_config())
    assert ckpt.setup == setup == default_setup(key, cell) and matches(key, setup)
    # the model is the default lab model for this sample
    assert ckpt.model.config == state.model_config() and ckpt.model.horizon == state.horizon
    assert ckpt.data.config == state.window_config()
    config = json.loads((checkpoint_dir(key, cell) / "config.json").read_text())
    for part in ("windows", "model", "train"):
        assert {k: v for k, v in config["settings"][part].items() if k != "precision"} == \
            {k: v for k, v in json.loads(json.dumps(getattr(setup, part).__dict__)).items() if k != "precision"}
    assert config["settings"]["data_fingerprint"] == data_fingerprint(ckpt.data)
    # the recorded metrics are what the model gives now
    recorded = json.loads((checkpoint_dir(key, cell) / "metrics.json").read_text())
    assert recorded == ckpt.metrics
    lab = sc.PruningLab(ckpt.model, ckpt.data)
    for name, evaluation in (("dense", lab.dense), ("naive", lab.naive)):
        for metric, value in recorded[name].items():
            assert getattr(evaluation.metrics, metric) == pytest.approx(value, rel=1e-6), (name, metric)
    history = ckpt.training.history
    assert len(history) == len(recorded["training"]["history"]) >= 1
    assert ckpt.training.best_epoch == recorded["training"]["best_epoch"]
    assert min(h.val_loss for h in history) == pytest.approx(sc.net.train.loss_on(ckpt.model, ckpt.data.val), rel=1e-5)


def _matches(state: LabState) -> bool:
    return matches(state.sample, Setup(state.window_config(), state.model_config(), state.train_config()))


def test_matches_only_the_training_settings_of_the_checkpoint():
    state = LabState()
    assert _matches(state) and _matches(state.updated(sensitivity=3.0, method="random", step=6, finetune_epochs=9))
    for change in ({"hidden": 32}, {"epochs": 5}, {"seed": 1}, {"layers": 2}, {"window": 24}, {"horizon": 2}):
        assert not _matches(state.updated(**change)), change
        assert not _matches(state.updated(cell="lstm", **change)), change
    assert _matches(state.updated(cell="lstm")) and _matches(state.updated(cell="rnn"))  # shipped for the default sample
    assert not _matches(LabState.for_sample("airline").updated(cell="lstm"))  # only the GRU for the others


def _copy(tmp_path, key="airline") -> pathlib.Path:
    d = tmp_path / key
    shutil.copytree(CHECKPOINT_DIR / key, d)
    return d


def _resave(tmp_path, change) -> pathlib.Path:
    """The airline checkpoint saved again (valid checksums) with `change` applied to its recorded settings."""
    shipped = load_checkpoint("airline")
    settings = settings_for("airline", shipped.setup, shipped.data)
    change(settings)
    return save_run(tmp_path / "resaved", shipped.model, None, config=settings, metrics=shipped.metrics,
                    scaler=shipped.data.scaler)


def test_a_changed_data_preparation_is_refused(tmp_path):
    d = _resave(tmp_path, lambda s: s.update(data_fingerprint="0" * 64))
    with pytest.raises(CheckpointError, match="data preparation changed"):
        load_checkpoint("airline", d)


def test_other_settings_or_a_changed_file_are_refused(tmp_path):
    d = _resave(tmp_path / "a", lambda s: s["windows"].update(window=6))
    with pytest.raises(CheckpointError, match="windows settings"):
        load_checkpoint("airline", d)
    d = _resave(tmp_path / "b", lambda s: s["train"].update(epochs=99))
    with pytest.raises(CheckpointError, match="train settings"):
        load_checkpoint("airline", d)
    d = _resave(tmp_path / "c", lambda s: s.update(file_sha256="f" * 64))
    with pytest.raises(CheckpointError, match="changed since"):
        load_checkpoint("airline", d)


def test_an_edited_config_file_is_refused(tmp_path):
    d = _copy(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    cfg["settings"]["windows"]["window"] = 6
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError):
        load_checkpoint("airline", d)


def test_an_edited_training_history_is_refused(tmp_path):
    d = _copy(tmp_path)
    metrics = json.loads((d / "metrics.json").read_text())
    metrics["dense"]["rmse"] = 1.0  # the lesson quotes these numbers
    (d / "metrics.json").write_text(json.dumps(metrics, indent=2))
    with pytest.raises(CheckpointError, match="metrics.json does not match the checksum"):
        load_checkpoint("airline", d)


def test_tampered_weights_and_unknown_samples_are_refused(tmp_path):
    d = _copy(tmp_path)
    raw = bytearray((d / "weights.safetensors").read_bytes())
    raw[-1] ^= 1
    (d / "weights.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_checkpoint("airline", d)
    with pytest.raises(CheckpointError, match="no sample"):
        load_checkpoint("nope")
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_checkpoint("airline", tmp_path / "missing")


def test_the_script_reproduces_the_shipped_checkpoint():
    spec = importlib.util.spec_from_file_location("make_checkpoints", ROOT / "scripts" / "make_checkpoints.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    setup, model, data, result, metrics = script.train("airline")  # the shortest sample: about a second
    shipped = load_checkpoint("airline")
    assert setup == default_setup("airline")
    assert weights_equal(model, shipped.model, atol=REPRODUCE_ATOL)  # see REPRODUCE_ATOL: across CPUs
    assert metrics["dense"] == pytest.approx(shipped.metrics["dense"], rel=1e-5)
    ours, theirs = metrics["training"]["history"], shipped.metrics["training"]["history"]
    assert [h["epoch"] for h in ours] == [h["epoch"] for h in theirs]
    assert [h["val_loss"] for h in ours] == pytest.approx([h["val_loss"] for h in theirs], rel=1e-5)
