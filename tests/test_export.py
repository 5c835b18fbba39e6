"""Exports that run anywhere: plain nn.GRU / nn.Linear safetensors, the loader, model.json, ONNX."""
from __future__ import annotations

import json
import os
import runpy

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import scgru_core as sc
from _engine_support import require_onnx_extras, tiny_data, tiny_model
from scgru_core.deploy import export as ex


@pytest.mark.parametrize("layers,horizon", [(1, 1), (2, 3), (3, 2)])
def test_the_weights_have_exactly_the_keys_of_plain_torch_modules_and_load_into_them(tmp_path, layers, horizon):
    model = tiny_model(hidden=7, layers=layers, horizon=horizon, seed=1)
    ex.export_model(tmp_path, model, window=10, scaler=None)
    state = load_file(tmp_path / ex.WEIGHTS)
    gru = torch.nn.GRU(1, 7, layers, batch_first=True)
    head = torch.nn.Linear(7, horizon)
    expected = {f"gru.{k}" for k in gru.state_dict()} | {f"head.{k}" for k in head.state_dict()}
    assert set(state) == expected
    gru.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("gru.")}, strict=True)
    head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")}, strict=True)
    x = torch.randn(5, 10, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        _, h = gru(x.unsqueeze(-1))
        assert torch.equal(head(h[-1]), model.eval()(x))
    desc = json.loads((tmp_path / ex.DESCRIPTION).read_text())
    assert {k: desc[k] for k in ("input_size", "hidden", "layers", "horizon", "window")} == \
        {"input_size": 1, "hidden": 7, "layers": layers, "horizon": horizon, "window": 10}


@pytest.mark.parametrize("log", [False, True])
def test_the_plain_loader_forecasts_what_the_engine_forecasts_in_the_series_units(tmp_path, log):
    data = tiny_data(300, window=12, log=log)
    model = tiny_model(hidden=6, seed=0)
    sc.fit(model, data, sc.TrainConfig(epochs=1, seed=0))
    ex.export_model(tmp_path, model, data.window, data.scaler)
    engine = sc.evaluate(model, data).forecast
    values = data.series.values
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the loader reads its files from the folder it is run in, as a user would
    try:
        loader = runpy.run_path(str(tmp_path / ex.LOADER_FILE))
    finally:
        os.chdir(cwd)
    for i in (0, len(data.test) // 2, len(data.test) - 1):
        start = int(data.test.target_start[i])
        got = loader["forecast"](values[start - data.window:start])
        assert np.allclose(got, engine[i], rtol=1e-5, atol=1e-6)
    assert len(ex.LOADER.strip().splitlines()) <= 17


def test_an_altered_or_foreign_export_is_refused(tmp_path):
    model = tiny_model(hidden=5)
    ex.export_model(tmp_path, model, 8, None)
    assert ex.load_export(tmp_path).model.gru.hidden_size == 5
    raw = bytearray((tmp_path / ex.WEIGHTS).read_bytes())
    raw[-1] ^= 1
    (tmp_path / ex.WEIGHTS).write_bytes(bytes(raw))
    with pytest.raises(sc.CheckpointError, match="modified"):
        ex.load_export(tmp_path)
    (tmp_path / ex.DESCRIPTION).write_text("{not json")
    with pytest.raises(sc.CheckpointError, match="JSON"):
        ex.load_export(tmp_path)
    (tmp_path / ex.DESCRIPTION).write_text(json.dumps({"format": "other"}))
    with pytest.raises(sc.CheckpointError, match="not an SCGRU"):
        ex.load_export(tmp_path)
    with pytest.raises(sc.CheckpointError, match="missing"):
        ex.load_export(tmp_path / "nowhere")


def test_gate_variants_do_not_export_as_nn_gru():
    with pytest.raises(sc.ConfigError, match="plain torch module"):
        ex.export_files(tiny_model(hidden=4, cell="gru2"), 8, None)


@pytest.mark.parametrize("layers", [1, 2])
def test_onnx_runtime_forecasts_equal_pytorch_on_the_test_windows(layers):
    require_onnx_extras()
    data = tiny_data(400, window=16)
    model = tiny_model(hidden=9, layers=layers, seed=2)
    raw = ex.onnx_bytes(model, data.window)
    session = ex.onnx_session(raw)
    X = data.test.X
    with torch.inference_mode():
        ref = model.eval()(X)
    assert len(X) > 1  # one session serves every batch size
    assert (ex.onnx_forecast(session, X) - ref).abs().max() <= 1e-5
    assert (ex.onnx_forecast(session, X[:1]) - ref[:1]).abs().max() <= 1e-5


def test_the_export_writes_onnx_beside_the_plain_files_with_its_checksum(tmp_path):
    require_onnx_extras()
    paths = ex.export_model(tmp_path, tiny_model(hidden=4), 8, None, onnx=True)
    assert set(paths) == {ex.WEIGHTS, ex.DESCRIPTION, ex.LOADER_FILE, ex.ONNX_FILE}
    import hashlib
    desc = json.loads(paths[ex.DESCRIPTION].read_text())
    assert desc["sha256"][ex.ONNX_FILE] == hashlib.sha256(paths[ex.ONNX_FILE].read_bytes()).hexdigest()
