"""Sensitivity analysis: each block pruned alone (checked by hand), the suggested per-part sparsities (a greedy
walk along the curves that lands on the target exactly), the per_matrix rule that prunes with them, and the
`sensitivity` command."""
from __future__ import annotations

import copy
import csv
import json

import pytest
import torch

import scgru_core as sc
from _engine_support import tiny_data, tiny_model
from scgru_core.store.checkpoints import load_checkpoint
from scgru_core.cli.main import main
from scgru_core.errors import ConfigError
from scgru_core.net.evaluate import evaluate
from scgru_core.study.experiment import resolve_prune_config
from scgru_core.pruning.sensitivity_analysis import (Part, SensitivityAnalysis, SensitivityConfig, allocate, analyse,
                                             keys_in_scope, parts_of)


@pytest.fixture(scope="module")
def data():
    return tiny_data(n=400, window=12)


@pytest.fixture(scope="module")
def model():
    return tiny_model(hidden=6, layers=2)


def test_parts_are_every_gate_block_or_every_matrix(model):
    gates = parts_of(model, "gate")
    assert [p.key for p in gates[:3]] == ["rnn.weight_ih_l0:reset", "rnn.weight_ih_l0:update", "rnn.weight_ih_l0:new"]
    assert len(gates) == 2 * 2 * 3 and sum(p.size for p in gates) == sum(
        p.numel() for n, p in model.named_parameters() if n.startswith("rnn.weight"))
    assert [p.key for p in parts_of(model, "matrix")] == sc.weight_names(model)


def test_each_row_is_the_model_with_only_that_block_cut_by_magnitude(model, data):
    analysis = analyse(model, data, SensitivityConfig(sparsities=(0.5,), by="gate"))
    assert len(analysis.rows) == 12
    row = next(r for r in analysis.rows if r["part"] == "rnn.weight_hh_l1:update")
    by_hand = copy.deepcopy(model)
    with torch.no_grad():
        block = by_hand.rnn.weight_hh_l1[6:12]
        cut = block.abs().flatten().argsort()[:18]  # the 18 smallest of 36
        block.view(-1)[cut] = 0.0
    assert row["val_rmse"] == pytest.approx(evaluate(by_hand, data, "val").metrics.rmse, rel=1e-6)
    assert row["test_rmse"] == pytest.approx(evaluate(by_hand, data).metrics.rmse, rel=1e-6)
    assert analysis.curve("rnn.weight_hh_l1:update")[0] == [0.0, 0.5]  # every curve starts at the dense model


def synthetic(curves: dict[str, list[float]], sizes: dict[str, int], sparsities=(0.5, 0.9)) -> SensitivityAnalysis:
    parts = [Part(k, None, sizes[k]) for k in curves]
    rows = [{"part": k, "sparsity": s, "val_rmse": e, "test_rmse": e} for k, errs in curves.items()
            for s, e in zip(sparsities, errs)]
    return SensitivityAnalysis(SensitivityConfig(sparsities=sparsities, by="matrix"), parts, rows, {"rmse": 1.0},
                               {"rmse": 1.0})


def test_the_suggestion_cuts_the_cheap_part_first_and_lands_on_the_target():
    analysis = synthetic({"cheap": [1.0, 1.1], "dear": [2.0, 9.0]}, {"cheap": 100, "dear": 100})
    low = allocate(analysis, 0.3)  # 60 weights: all from the cheap part
    assert low.sparsities == {"cheap": pytest.approx(0.6), "dear": 0.0}
    high = allocate(analysis, 0.6)  # cheap to 90% (90 weights), then 30 more from the dear part
    assert high.sparsities == {"cheap": pytest.approx(0.9), "dear": pytest.approx(0.3)}
    assert high.predicted_val == pytest.approx(1.0 + 0.1 + (2.0 - 1.0) * 0.3 / 0.5)
    with pytest.raises(ConfigError, match="at most 90.00% overall"):
        allocate(analysis, 0.95)


def test_the_per_matrix_rule_reaches_the_target_within_its_scope(model, data):
    lab = sc.PruningLab(model, data)
    for scope in ("both", "hh"):
        config = sc.PruneConfig(method="per_matrix", sparsity=0.8, scope=sc.Scope.parse(scope))
        snap = lab.at(config)
        assert snap.result.sparsity == pytest.approx(0.8, abs=0.01)
        assert set(lab.allocation(config)) == set(keys_in_scope(model, lab.analysis().parts, config.scope))
    hh_only = lab.at(sc.PruneConfig(method="per_matrix", sparsity=0.8, scope=sc.Scope.parse("hh")))
    assert all(bool(m.all()) for n, m in hh_only.result.masks.items() if "weight_ih" in n)  # ih untouched
    with pytest.raises(ConfigError, match="pass allocation="):
        sc.prune(model, sc.PruneConfig(method="per_matrix", sparsity=0.5))


def test_on_the_shipped_model_the_suggestion_beats_uniform_scgru_at_80_and_90_percent():
    """The claim the Sensitivity tab makes, on the default model, pruned only (before fine-tuning)."""
    ckpt = load_checkpoint("power_load")
    lab = sc.PruningLab(ckpt.model, ckpt.data)
    for target in (0.8, 0.9):
        uniform = lab.at(resolve_prune_config(lab.model, sc.PruneConfig(), target)).evaluation.metrics.rmse
        suggested = lab.at(sc.PruneConfig(method="per_matrix", sparsity=target)).evaluation.metrics.rmse
        assert suggested < uniform


def test_the_command_writes_one_row_per_part_and_sparsity_and_the_suggestions(tmp_path, data):
    source = tmp_path / "series.csv"
    source.write_text("value\n" + "\n".join(f"{v:.5f}" for v in data.series.values))
    out_csv, out_json = tmp_path / "s.csv", tmp_path / "s.json"
    assert main(["sensitivity", "--data", str(source), "--window", "12", "--hidden", "6", "--epochs", "1",
                 "--sparsities", "0.5,0.9", "--targets", "0.6", "--csv", str(out_csv), "--json", str(out_json),
                 "--quiet"]) == 0
    rows = list(csv.DictReader(open(out_csv)))
    assert len(rows) == 6 * 2 and {"part", "sparsity", "val_rmse", "test_rmse", "test_mase"} <= set(rows[0])
    (suggestion,) = json.loads(out_json.read_text())["suggestions"]
    assert suggestion["target"] == 0.6 and suggestion["sparsity"] == pytest.approx(0.6, abs=0.02)
    assert {"sensitivity", "sparsity", "test"} <= set(suggestion["uniform_scgru"])
    assert main(["sensitivity", "--data", str(source), "--sparsities", "0.5,1.5", "--quiet"]) == 2
