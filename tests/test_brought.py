"""A model trained elsewhere, brought into the lab: a plain nn.GRU / nn.LSTM / nn.RNN and an nn.Linear head in a
safetensors file with a small JSON. Checked before anything runs (every missing, extra or misshapen key named with
the shape expected, NaN refused, a window the series cannot fit refused with the largest it can), evaluated as its
JSON says, and an export of the lab's own round-trips to the same forecasts. In the engine, the CLI and the app."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save

import scgru_core as sc
from _engine_support import csv_bytes, sine_values, tiny_data, tiny_model
from apptest_helpers import new_app, page, train_small
from scgru_core.cli.main import main
from scgru_core.deploy import export as ex
from scgru_core.errors import CheckpointError, SeriesTooShortError


def plain(cell: str = "lstm", hidden: int = 6, layers: int = 2, horizon: int = 1, batch_first: bool = False,
          rnn_name: str = "encoder", head_name: str = "fc", seed: int = 0) -> tuple[dict, torch.nn.Module, torch.nn.Module]:
    """The state dict a user's own forecaster saves: `self.encoder = nn.LSTM(...)`, `self.fc = nn.Linear(...)`."""
    torch.manual_seed(seed)
    module = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[cell]
    rnn, head = module(1, hidden, layers, batch_first=batch_first), torch.nn.Linear(hidden, horizon)
    state = {**{f"{rnn_name}.{k}": v for k, v in rnn.state_dict().items()},
             **{f"{head_name}.{k}": v for k, v in head.state_dict().items()}}
    return state, rnn, head


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_a_plain_torch_model_forecasts_in_the_lab_what_it_forecasts_in_torch(cell, batch_first):
    state, rnn, head = plain(cell, batch_first=batch_first, horizon=2)
    brought = sc.read_brought(save(state), {"window": 10})
    assert brought.model.config == sc.ModelConfig(hidden=6, layers=2, cell=cell) and brought.horizon == 2
    assert brought.keys == {"rnn": "encoder.", "head": "fc."} and brought.scaling_note  # no scaler: said
    x = torch.randn(5, 10, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        seq = x.unsqueeze(-1) if batch_first else x.T.unsqueeze(-1)
        _, final = rnn(seq)
        h = final[0] if cell == "lstm" else final
        assert torch.allclose(head(h[-1]), brought.model(x), atol=1e-6)


def test_every_missing_extra_or_misshapen_key_is_named_with_the_shape_expected():
    state, _, _ = plain("lstm", hidden=6, layers=2)
    del state["fc.bias"]
    state["encoder.weight_hh_l1"] = torch.zeros(18, 6)
    state["encoder.weight_hr_l0"] = torch.zeros(3, 6)  # a projection LSTM's key: not a plain nn.LSTM
    with pytest.raises(CheckpointError) as err:
        sc.read_brought(save(state), {"window": 10})
    text = str(err.value)
    assert "fc.bias is missing (expected (1,))" in text
    assert "encoder.weight_hh_l1 is (18, 6), expected (24, 6)" in text
    assert "encoder.weight_hr_l0 is not one of their parameters" in text


@pytest.mark.parametrize("change,message", [
    (lambda s: s.__setitem__("encoder.weight_ih_l0", s["encoder.weight_ih_l0"].clone().fill_(float("nan"))),
     "not finite"),
    (lambda s: s.clear() or s.update({"a.weight": torch.zeros(2, 2)}), "one nn.GRU, nn.LSTM or nn.RNN"),
    (lambda s: s.update({"other.weight": torch.zeros(1, 6), "other.bias": torch.zeros(1)}), "exactly one nn.Linear"),
])
def test_nan_weights_and_foreign_layouts_are_refused_with_the_cause(change, message):
    state, _, _ = plain("lstm")
    change(state)
    with pytest.raises(CheckpointError, match=message):
        sc.read_brought(save(state), {"window": 10})


@pytest.mark.parametrize("description,message", [
    (b"{not json", "not valid JSON"), (b"[1, 2]", "must be an object"), ({}, 'no "window"'),
    ({"window": 0}, "at least 1"), ({"window": 8, "scaler": {"log": False, "offset": 0, "scale": 0}}, "scale above 0"),
    ({"window": 8, "cell": "gru"}, r"weight_hh_l0 is \(24, 6\), expected \(18, 6\)"),
    ({"window": 8, "cell": "transformer"}, "Which cell"), ({"window": 8, "input_size": 3}, "one series"),
])
def test_a_wrong_description_is_refused_with_the_cause(description, message):
    state, _, _ = plain("lstm")
    with pytest.raises(CheckpointError, match=message):
        sc.read_brought(save(state), description)


def test_bytes_that_are_not_safetensors_are_refused():
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        sc.read_brought(b"PK\x03\x04 a zip, not weights", {"window": 8})


def test_a_window_the_series_cannot_fit_is_refused_with_the_largest_that_fits():
    state, _, _ = plain("gru", layers=1)
    brought = sc.read_brought(save(state), {"window": 500})
    series = tiny_data(300, window=8).series
    with pytest.raises(SeriesTooShortError, match=r"windows of 500 .* at most \d+"):
        sc.brought_dataset(brought, series)
    kept = sc.brought_dataset(brought_short := sc.read_brought(save(state), {"window": 10}), series,
                              sc.WindowConfig(window=48, val_fraction=0.2, test_fraction=0.1))
    assert (kept.config.window, kept.config.val_fraction, kept.config.test_fraction) == (10, 0.2, 0.1)
    assert brought_short.windows().val_fraction == sc.WindowConfig().val_fraction  # no base: the defaults


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_labs_own_export_round_trips_to_the_same_forecasts(tmp_path, cell):
    data = tiny_data(300, window=12, log=True)
    model = tiny_model(hidden=5, cell=cell, seed=2)
    sc.fit(model, data, sc.TrainConfig(epochs=1, seed=0))
    ex.export_model(tmp_path, model, data.window, data.scaler)
    brought = sc.load_brought(tmp_path / ex.WEIGHTS)  # model.json beside it
    again = sc.brought_dataset(brought, data.series)
    assert brought.scaler == data.scaler and brought.scaling_note is None
    assert torch.equal(again.test.X, data.test.X)  # the same windows, scaled the same way
    assert np.allclose(sc.evaluate(brought.model, again).forecast, sc.evaluate(model, data).forecast, rtol=1e-6)


def test_the_command_line_prunes_a_brought_model_without_training(tmp_path, capsys):
    values = sine_values(400)
    csv = tmp_path / "s.csv"
    csv.write_bytes(csv_bytes(values))
    state, _, _ = plain("lstm", hidden=5, layers=1)
    (tmp_path / "m.safetensors").write_bytes(save(state))
    (tmp_path / "model.json").write_text(json.dumps({"window": 16, "scaler": {"log": False, "offset": 10.0,
                                                                              "scale": 1.0}}))
    out = tmp_path / "run.json"
    rc = main(["run", "--data", str(csv), "--model", str(tmp_path / "m.safetensors"), "--sparsity", "0.5",
               "--method", "magnitude", "--finetune-epochs", "1", "--json", str(out), "--quiet"])
    assert rc == 0
    record = json.loads(out.read_text())
    assert record["config"]["model"] == {"hidden": 5, "layers": 1, "cell": "lstm"}
    assert record["config"]["windows"]["window"] == 16 and record["training"]["dense_epochs"] == 0
    assert "brought from" in capsys.readouterr().out
    (tmp_path / "model.json").write_text(json.dumps({"window": 16, "hidden": 7}))
    assert main(["run", "--data", str(csv), "--model", str(tmp_path / "m.safetensors"), "--quiet"]) == 2
    assert "encoder.weight_hh_l0 is (20, 5), expected (28, 7)" in capsys.readouterr().err
    assert main(["run", "--data", str(csv), "--model", str(tmp_path / "none.safetensors"), "--quiet"]) == 2


def upload_brought(at, files):
    at.file_uploader(key="brought_files").set_value(files).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_train_page_loads_a_plain_lstm_and_every_page_works_on_it():
    state, _, _ = plain("lstm", hidden=8, layers=1)
    desc = json.dumps({"window": 24, "scaler": {"log": False, "offset": 30000.0, "scale": 5000.0}}).encode()
    at = page(new_app(), "train")
    upload_brought(at, [("my_lstm.safetensors", save(state), "application/octet-stream"),
                        ("model.json", desc, "application/json")])
    lab = at.session_state["session"].lab
    assert lab.model.config == sc.ModelConfig(hidden=8, layers=1, cell="lstm") and lab.data.window == 24
    assert lab.data.scaler == sc.data.windows.Scaler(log=False, offset=30000.0, scale=5000.0)  # its own, not refitted
    assert any("my_lstm.safetensors" in m.value and "LSTM" in m.value for m in at.success)
    for name in ("prune", "tradeoffs", "deploy", "lesson"):
        at = page(at, name)
        assert not at.exception, (name, [e.message for e in at.exception])


def test_a_refused_brought_model_keeps_the_model_and_data_in_place():
    at = train_small(new_app(), hidden=8, epochs=1)
    before = at.session_state["session"].lab
    state, _, _ = plain("lstm")
    state["encoder.weight_hh_l0"] = torch.full_like(state["encoder.weight_hh_l0"], float("nan"))
    upload_brought(at, [("bad.safetensors", save(state), "application/octet-stream"),
                        ("model.json", b'{"window": 24}', "application/json")])
    assert at.session_state["session"].lab is before
    assert any("not finite" in e.value and "kept" in e.value for e in at.error)
