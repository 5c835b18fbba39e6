"""'Show code': the generated Python, executed, gives the engine's sparsity and metrics for the same state,
and the torch.nn.utils.prune version prunes exactly the same weights."""
from __future__ import annotations

import ast
import dataclasses
import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import scgru_core as sc
from scgru_core.teach.reproduce import prune_code, python_code
from scgru_core.data.samples import SAMPLES
from scgru_core.teach.settings import LabState

TINY = dict(hidden=8, epochs=2, finetune_epochs=1)  # airline: 144 values, trains in a blink

STATES = [
    {},
    {"method": "magnitude", "sparsity": 0.7},
    {"method": "magnitude", "sparsity": 0.6, "global_": True},
    {"method": "random", "sparsity": 0.4, "prune_seed": 3, "seed": 1},
    {"method": "random", "sparsity": 0.4, "global_": True, "prune_seed": 2},
    {"scope": "hh:reset,ih:new", "sensitivity": 0.8},
    {"method": "magnitude", "scope": "hh:update", "global_": True, "layers": 2, "batch": 16, "lr": 0.003},
    {"method": "random", "scope": "ih:reset,hh:new", "sparsity": 0.3, "global_": True},
    {"cell": "gru1", "scope": "ih", "finetune_epochs": 0},
    {"cell": "gru3", "method": "magnitude", "scope": "hh", "layers": 2, "horizon": 2, "patience": 0},
    {"method": "taylor", "sparsity": 0.6},
    {"method": "taylor", "sparsity": 0.5, "global_": True, "log": True, "val": 0.2, "test": 0.1},
    {"method": "taylor", "sparsity": 0.5, "scope": "hh:new"},
    {"method": "per_matrix", "sparsity": 0.8},
    {"method": "per_matrix", "sparsity": 0.6, "scope": "hh"},
]


def run(code: str, namespace: dict) -> dict:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<generated>", "exec"), namespace)
    return namespace


def engine(state: LabState):
    """What the app computes for a state, straight from the engine."""
    data = sc.prepare(sc.load_series(SAMPLES[state.sample].path, sc.ReadConfig()), state.window_config())
    model, _ = sc.train_dense(data, state.model_config(), state.train_config())
    lab = sc.PruningLab(model, data)
    snap = lab.at(state.prune_config())
    out = {"sparsity": snap.result.sparsity, "dense": lab.dense.metrics, "pruned": snap.evaluation.metrics,
           "masks": snap.result.masks}
    if state.finetune_epochs:
        tuned, _ = sc.finetune(model, snap.result, data, state.finetune_config())
        out["finetuned"] = sc.evaluate(tuned, data).metrics
    return out


def close(a: sc.Metrics, b: sc.Metrics, rel=1e-9) -> bool:
    return all(getattr(a, k) == pytest.approx(getattr(b, k), rel=rel) for k in sc.METRIC_NAMES)


@pytest.mark.parametrize("changes", STATES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_generated_code_reproduces_the_engine(changes):
    state = dataclasses.replace(LabState.for_sample("airline", **TINY), **changes)
    for k, v in changes.items():  # the state really is the one asked for
        assert getattr(state, k) == (v if k != "scope" else sc.Scope.parse(v).to_text())
    ns = run(python_code(state), {})
    want = engine(state)
    assert ns["sparsity"] == pytest.approx(want["sparsity"], abs=1e-12)
    assert set(ns["metrics"]) == ({"dense", "pruned", "finetuned"} if state.finetune_epochs else {"dense", "pruned"})
    for name, metrics in ns["metrics"].items():
        assert close(metrics, want[name]), name
    # the torch.nn.utils.prune version prunes the very same weights
    run(prune_code(state), ns)
    assert ns["torch_sparsity"] == pytest.approx(want["sparsity"], abs=1e-12)
    assert close(ns["torch_metrics"], want["pruned"], rel=1e-6)
    params = dict(ns["pruned"].named_parameters())
    for name, mask in want["masks"].items():
        assert torch.equal(params[name] != 0, mask & (dict(ns["model"].named_parameters())[name] != 0)), name


def test_torch_code_uses_the_library_calls():
    base = LabState.for_sample("airline", **TINY)
    assert "SensitivityUnstructured.apply(module, name, s=1.0, k=0.01)" in prune_code(base)
    assert "prune.l1_unstructured(" in prune_code(base.updated(method="magnitude"))
    assert "prune.random_unstructured(" in prune_code(base.updated(method="random"))
    assert "prune.global_unstructured(" in prune_code(base.updated(method="magnitude", global_=True))
    assert "prune.custom_from_mask(" in prune_code(base.updated(scope="hh:reset"))
    assert "prune.remove(" in prune_code(base)
    assert "importance_scores=importance(module, name)" in prune_code(base.updated(method="taylor"))


@pytest.mark.parametrize("key", list(SAMPLES))
def test_code_is_valid_python_for_every_sample_and_method(key):
    for method in sc.RULES:
        state = LabState.for_sample(key).updated(method=method)
        ast.parse(python_code(state))
        ast.parse(prune_code(state))
        assert f'SAMPLES["{key}"]' in python_code(state)


def test_code_mentions_the_shipped_checkpoint_only_when_it_is_the_same_model():
    assert "load_checkpoint(\"power_load\")" in python_code(LabState())
    assert "load_checkpoint" not in python_code(LabState().updated(seed=1))


def test_code_for_an_uploaded_file_reads_that_file_with_its_settings(tmp_path, monkeypatch):
    values = 100 + 10 * np.sin(np.arange(700) / 8)
    pd.DataFrame({"when": pd.date_range("2024-01-01", periods=700, freq="h").astype(str), "load": values,
                  "other": 1.0}).to_csv(tmp_path / "my_meter.csv", index=False)
    read = sc.ReadConfig(column="load", time_column="when")
    state = LabState().updated(window=24, hidden=8, epochs=2, finetune_epochs=0)
    code = python_code(state, upload=("my_meter.csv", read))
    assert "SAMPLES" not in code and "load_checkpoint" not in code
    assert "sc.load_series('my_meter.csv', sc.ReadConfig(column='load', time_column='when'))" in code
    monkeypatch.chdir(tmp_path)
    ns = run(code, {})
    data = sc.prepare(sc.load_series(tmp_path / "my_meter.csv", read), state.window_config())
    assert ns["data"].series.name == "load" and len(ns["data"].test) == len(data.test)
