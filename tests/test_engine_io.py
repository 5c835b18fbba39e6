"""Saving and loading a run: exact round trip with pruned weights at zero, and refusal (CheckpointError)
of anything tampered, mismatched or missing."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from _engine_support import same_state, state_of, tiny_data, tiny_model
from scgru_core import CheckpointError, PruneConfig, evaluate, load_run, prune, save_run
from scgru_core.store.runs import CONFIG, MASKS, METRICS, WEIGHTS, _digest, run_bytes


@pytest.fixture()
def saved(tmp_path):
    data = tiny_data(window=12)
    model = tiny_model(hidden=8, seed=1)
    result = prune(model, PruneConfig(sensitivity=1.0))
    out = save_run(tmp_path / "run", model, result.masks, config={"note": "test", "s": 1.0},
                   metrics={"rmse": 1.5}, scaler=data.scaler)
    return out, model, result, data


def test_round_trip_is_exact_and_pruned_weights_are_zero(saved):
    out, model, result, data = saved
    run = load_run(out)
    assert run.config == {"note": "test", "s": 1.0} and run.metrics == {"rmse": 1.5} and run.scaler == data.scaler
    assert run.masks.keys() == result.masks.keys()
    loaded = dict(run.model.named_parameters())
    original = dict(model.named_parameters())
    for name, mask in result.masks.items():
        assert torch.equal(run.masks[name], mask)
        assert bool((loaded[name].detach()[~mask] == 0).all())  # saved masked, though the model given was dense
        assert torch.equal(loaded[name].detach()[mask], original[name].detach()[mask])
    for name in ("rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias"):
        assert torch.equal(loaded[name], original[name])
    masked = tiny_model(hidden=8, seed=1)
    masked.load_state_dict({k: v * result.masks[k] if k in result.masks else v for k, v in model.state_dict().items()})
    np.testing.assert_array_equal(evaluate(run.model, data).forecast, evaluate(masked, data).forecast)


@pytest.mark.parametrize("cell,layers", [("gru", 2), ("gru1", 1), ("gru3", 2)])
def test_round_trip_of_every_cell(tmp_path, cell, layers):
    model = tiny_model(hidden=5, layers=layers, cell=cell, horizon=2)
    result = prune(model, PruneConfig(method="magnitude", sparsity=0.6))
    run = load_run(save_run(tmp_path, model, result.masks))
    assert run.model.config == model.config and run.model.horizon == 2
    x = torch.randn(3, 7)
    twin = tiny_model(hidden=5, layers=layers, cell=cell, horizon=2)
    twin.load_state_dict({k: v * result.masks[k] if k in result.masks else v for k, v in model.state_dict().items()})
    with torch.no_grad():
        assert torch.equal(run.model(x), twin(x))


def test_dense_run_without_masks_round_trips(tmp_path):
    model = tiny_model(hidden=4)
    run = load_run(save_run(tmp_path, model))
    assert run.masks == {} and run.scaler is None and same_state(state_of(model), state_of(run.model))


SAVE_IN_A_FRESH_PROCESS = """
import sys
sys.path.insert(0, "tests")
from _engine_support import tiny_data, tiny_model
from scgru_core import PruneConfig, prune, save_run
model = tiny_model(hidden=6, seed=2)
save_run(sys.argv[1], model, prune(model, PruneConfig()).masks, config={"s": 1.0}, metrics={"rmse": 1.5},
         scaler=tiny_data(window=12).scaler)
"""


def test_the_files_are_deterministic(tmp_path):
    """Every file of a run, saved twice by two separate processes from the same settings, is byte for byte
    the same (a timestamp, a random id or a dict order that changes between processes would show)."""
    import pathlib
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parent.parent
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", SAVE_IN_A_FRESH_PROCESS, str(tmp_path / name)], cwd=root, check=True,
                       timeout=120)
    for file in (CONFIG, WEIGHTS, MASKS, METRICS):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    model = tiny_model(hidden=6)
    masks = prune(model, PruneConfig()).masks
    assert run_bytes(model, masks) == run_bytes(model, masks)


def _flip_byte(path, at=-9):
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", [WEIGHTS, MASKS])
def test_tampered_file_is_refused(saved, name):
    out = saved[0]
    _flip_byte(out / name)
    with pytest.raises(CheckpointError, match="checksum"):
        load_run(out)


@pytest.mark.parametrize("change", [{"hidden": 16}, {"layers": 2}, {"cell": "gru1"}, {"horizon": 3}])
def test_mismatched_config_is_refused(saved, change):
    out = saved[0]
    header = json.loads((out / CONFIG).read_text())
    header["model"].update(change)
    (out / CONFIG).write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match="config"):
        load_run(out)


@pytest.mark.parametrize("change", [{"hidden": 0}, {"cell": "lstm"}, {"hidden": "many"}])
def test_invalid_model_in_config_is_refused(saved, change):
    out = saved[0]
    header = json.loads((out / CONFIG).read_text())
    header["model"].update(change)
    (out / CONFIG).write_text(json.dumps(header))
    with pytest.raises(CheckpointError):
        load_run(out)


@pytest.mark.parametrize("name", [CONFIG, WEIGHTS, MASKS])
def test_missing_file_is_refused(saved, name):
    out = saved[0]
    (out / name).unlink()
    with pytest.raises(CheckpointError, match=f"{name} is missing"):
        load_run(out)


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(CheckpointError):
        load_run(tmp_path / "never-saved")


def test_edited_or_deleted_metrics_are_refused(saved):
    out = saved[0]
    (out / METRICS).write_text(json.dumps({"rmse": 0.1}, indent=2))  # a better score, written in by hand
    with pytest.raises(CheckpointError, match=f"{METRICS} does not match the checksum"):
        load_run(out)
    (out / METRICS).unlink()
    with pytest.raises(CheckpointError, match=f"{METRICS} is missing"):
        load_run(out)


def test_a_run_saved_before_metrics_were_checksummed_still_loads(saved):
    out = saved[0]
    header = json.loads((out / CONFIG).read_text())
    del header["sha256"][METRICS]  # as written by earlier versions
    (out / CONFIG).write_text(json.dumps(header))
    assert load_run(out).metrics == {"rmse": 1.5}
    (out / METRICS).unlink()
    assert load_run(out).metrics == {}


def test_nonzero_value_under_a_mask_is_refused_even_with_a_matching_checksum(saved):
    out, model, result, _ = saved
    state = st_load((out / WEIGHTS).read_bytes())
    name = "rnn.weight_hh_l0"
    pruned_at = (~result.masks[name]).nonzero()[0]
    state[name][tuple(pruned_at)] = 0.123
    raw = st_save(state)
    (out / WEIGHTS).write_bytes(raw)
    header = json.loads((out / CONFIG).read_text())
    header["sha256"][WEIGHTS] = _digest(raw)  # a forger who also fixes the checksum
    (out / CONFIG).write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match="non-zero values where its mask prunes"):
        load_run(out)


def test_weights_with_a_missing_tensor_are_refused(saved):
    out = saved[0]
    state = st_load((out / WEIGHTS).read_bytes())
    del state["head.bias"]
    raw = st_save(state)
    (out / WEIGHTS).write_bytes(raw)
    header = json.loads((out / CONFIG).read_text())
    header["sha256"][WEIGHTS] = _digest(raw)
    (out / CONFIG).write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match="head.bias"):
        load_run(out)


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", '{"format": "something-else/1"}', '"a string"'])
def test_damaged_config_is_refused(saved, text):
    out = saved[0]
    (out / CONFIG).write_text(text)
    with pytest.raises(CheckpointError):
        load_run(out)


def test_damaged_metrics_or_scaler_is_refused(saved):
    out = saved[0]
    (out / METRICS).write_text("{broken")
    with pytest.raises(CheckpointError, match=METRICS):
        load_run(out)
    (out / METRICS).write_text(json.dumps({"rmse": 1.5}, indent=2))  # the saved metrics back
    header = json.loads((out / CONFIG).read_text())
    header["scaler"] = {"log": False, "centre": 1.0}
    (out / CONFIG).write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match="scaler"):
        load_run(out)
