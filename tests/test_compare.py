"""The comparison runner and what it builds on: Taylor saliency, rewinding to the initial weights,
one row per method x sparsity x seed with the engine's metrics and costs, a dense model shared per
seed, resuming without redoing rows, cancelling cleanly, and the `compare` command."""
from __future__ import annotations

import csv
import importlib
import json
import math
import pathlib

import pytest
import torch

from _engine_support import tiny_data, tiny_model
from scgru_core import (RULES, Callbacks, CompareConfig, ConfigError, ModelConfig, PruneConfig, PruningLab, Scope,
                        TrainConfig, build_model, compare, prune, rewind, taylor_scores)
from scgru_core.cli.main import main
from scgru_core.net.cost import Cost
from scgru_core.net.metrics import METRIC_NAMES
from scgru_core.net.masks import masked_state

compare_module = importlib.import_module("scgru_core.study.compare")  # the package re-exports the function as `compare`


@pytest.fixture(scope="module")
def data():
    return tiny_data(n=400, window=12)


# ---- Taylor saliency -------------------------------------------------------------------------------


def test_taylor_scores_are_w_times_grad_by_hand(data):
    model = tiny_model(hidden=3)
    X, y = data.train.X, data.train.y
    with torch.no_grad():  # the head's gradient by hand: L = mean((W h + b - y)^2), dL/dW = 2/N sum (pred - y) h
        h = model.rnn(X.unsqueeze(-1))[1][-1]
        pred = h @ model.head.weight.T + model.head.bias
        grad = 2.0 / len(X) * ((pred - y).T @ h)
    scores = taylor_scores(model, data, batch_size=len(X))
    torch.testing.assert_close(scores["head.weight"], (model.head.weight * grad).abs().detach())
    assert set(scores) == {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight"}
    assert all(p.grad is None for p in model.parameters())  # the pass leaves no gradients behind


def test_taylor_scores_average_the_absolute_batch_saliencies(data):
    model = tiny_model(hidden=3)
    half = math.ceil(len(data.train) / 2)
    whole = taylor_scores(model, data, batch_size=half)
    parts = []
    for sl in (slice(0, half), slice(half, None)):
        model.zero_grad()
        torch.nn.functional.mse_loss(model(data.train.X[sl]), data.train.y[sl]).backward()
        parts.append((model.rnn.weight_hh_l0 * model.rnn.weight_hh_l0.grad).abs().detach())
    torch.testing.assert_close(whole["rnn.weight_hh_l0"], (parts[0] + parts[1]) / 2)


def test_taylor_rule_is_registered_and_prunes_the_least_salient(data):
    spec = RULES["taylor"]
    assert spec.control == "sparsity" and spec.needs_scores
    model = tiny_model(hidden=8)
    config = PruneConfig(method="taylor", sparsity=0.6, scope=Scope.parse("hh"))
    with pytest.raises(ConfigError, match="scores"):
        prune(model, config)  # never silently falls back to |w|
    snap = PruningLab(model, data).at(config)  # the lab computes the scores it needs
    scores = taylor_scores(model, data)["rnn.weight_hh_l0"]
    keep = snap.result.masks["rnn.weight_hh_l0"]
    assert snap.result.sparsity == pytest.approx(0.6, abs=1 / keep.numel())
    assert scores[~keep].max() <= scores[keep].min()


# ---- rewind ------------------------------------------------------------------------------------------


def test_rewind_starts_from_the_initial_weights_with_the_mask(data):
    cfg, train = ModelConfig(hidden=8), TrainConfig(epochs=1, seed=4)
    trained = build_model(cfg, horizon=1, seed=4)
    with torch.no_grad():
        for p in trained.parameters():
            p.mul_(3.0)  # stands in for trained weights: anything but the initial ones
    result = prune(trained, PruneConfig(method="magnitude", sparsity=0.7))
    start, _ = rewind(cfg, result, data, train, Callbacks(should_stop=lambda: True))  # stopped before any step
    expected = masked_state(build_model(cfg, horizon=1, seed=4), result.masks)
    assert all(torch.equal(start.state_dict()[k], expected[k]) for k in expected)
    retrained, _ = rewind(cfg, result, data, train)
    for name, mask in result.masks.items():
        assert bool((dict(retrained.named_parameters())[name][~mask] == 0).all())


# ---- the runner ----------------------------------------------------------------------------------

COST_FIELDS = tuple(Cost.__dataclass_fields__)


def small_config(**kw) -> CompareConfig:
    base = dict(methods=("magnitude", "taylor", "rewind", "narang", "agp", "dense", "gru3"), sparsities=(0.5, 0.8),
                seeds=(0,), scope=Scope.parse("hh"), model=ModelConfig(hidden=8),
                train=TrainConfig(epochs=1, batch_size=32), finetune_epochs=1)
    return CompareConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def counting():
    """Records (cell, epochs) of every model the runner trains without pruning."""
    calls = []
    original = compare_module.train_dense
    compare_module.train_dense = lambda d, model, train, *a: calls.append((model.cell, train.epochs)) or original(
        d, model, train, *a)
    yield calls
    compare_module.train_dense = original


@pytest.fixture(scope="module")
def finished(data, counting):
    cache = {}
    result = compare(data, small_config(), cache=cache)
    return result, list(counting), cache


def test_rows_have_the_engines_metrics_costs_and_identity(finished):
    result, _, _ = finished
    rows = result.rows
    assert len(rows) == 7 * 2 and not result.cancelled
    need = {"method", "target_sparsity", "seed", "seconds", "sparsity", *METRIC_NAMES, *COST_FIELDS}
    for row in rows:
        assert need <= set(row), need - set(row)
        assert all(math.isfinite(row[k]) for k in (*METRIC_NAMES, *COST_FIELDS, "sparsity", "seconds"))
    by = {(r["method"], r["target_sparsity"]): r for r in rows}
    for m in ("magnitude", "taylor", "rewind", "agp"):
        assert by[(m, 0.8)]["sparsity"] == pytest.approx(0.8, abs=0.01)
    assert by[("dense", 0.5)]["sparsity"] == 0.0 and by[("dense", 0.5)]["rmse"] == by[("dense", 0.8)]["rmse"]
    gru_params = sum(p.numel() for p in tiny_model(hidden=8).parameters())
    gru3 = by[("gru3", 0.8)]
    assert gru3["sparsity"] == pytest.approx(1 - gru3["params_total"] / gru_params) and gru3["sparsity"] > 0.3
    assert set(result.traces) == {("narang", 0.5, 0), ("narang", 0.8, 0), ("agp", 0.5, 0), ("agp", 0.8, 0)}


def test_one_dense_training_per_seed_serves_every_row(finished):
    _, trainings, _ = finished
    # magnitude, taylor, rewind and narang's q at two sparsities share one E-epoch GRU; the dense and
    # gru3 rows train for E + F epochs once each, whatever the number of sparsities
    assert sorted(trainings) == [("gru", 1), ("gru", 2), ("gru3", 2)]


def test_a_kept_cache_extends_a_comparison_without_retraining(data, finished, counting):
    _, _, cache = finished
    before = len(counting)
    rows = compare(data, small_config(methods=("random", "sensitivity")), cache=cache).rows
    assert len(rows) == 4 and len(counting) == before


def test_done_rows_are_skipped_and_the_rest_reproduce_the_same_numbers(data, finished):
    result, _, _ = finished
    assert compare(data, small_config(), done=result.rows).rows == []
    ranked_globally = compare(data, small_config(methods=("magnitude",), global_=True), done=result.rows).rows
    assert len(ranked_globally) == 2  # other settings, other rows
    done = [r for r in result.rows if r["method"] != "agp"]
    again = compare(data, small_config(), done=done).rows
    assert [r["method"] for r in again] == ["agp", "agp"]
    for new, old in zip(again, [r for r in result.rows if r["method"] == "agp"]):
        assert {k: v for k, v in new.items() if k != "seconds"} == {k: v for k, v in old.items() if k != "seconds"}


def test_cancel_stops_between_rows_and_drops_a_half_trained_row(data):
    rows_seen = []
    stop = Callbacks(should_stop=lambda: bool(rows_seen))
    result = compare(data, small_config(methods=("magnitude",)), callbacks=stop,
                     on_row=lambda i, n, row: rows_seen.append(row))
    assert result.cancelled and len(result.rows) == 1
    batches = []
    result = compare(data, small_config(methods=("agp",)),
                     callbacks=Callbacks(on_batch=lambda i, n: batches.append(i), should_stop=lambda: len(batches) > 3))
    assert result.cancelled and result.rows == []


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown method lasso"):
        small_config(methods=("agp", "lasso"))


# ---- the command -----------------------------------------------------------------------------------

SAMPLE = pathlib.Path(__file__).resolve().parent.parent / "sample_data" / "power_load_taylor_england_wales_30min.csv"


def test_compare_command_writes_one_row_per_method_sparsity_seed_and_resumes(tmp_path):
    source = tmp_path / "load.csv"
    source.write_text("demand\n" + "\n".join(line.split(",")[1] for line in SAMPLE.read_text().splitlines()[1:601]))
    out_csv, out_json = tmp_path / "c.csv", tmp_path / "c.json"
    args = ["compare", "--data", str(source), "--window", "12", "--hidden", "8", "--epochs", "1", "--finetune-epochs",
            "0", "--methods", "magnitude,gru1", "--sparsities", "0.5,0.9", "--seeds", "2", "--scope", "hh",
            "--csv", str(out_csv), "--json", str(out_json), "--quiet"]
    assert main(args) == 0
    rows = list(csv.DictReader(open(out_csv)))
    assert len(rows) == 2 * 2 * 2
    assert {"method", "target_sparsity", "seed", "seconds", "rmse", "mae", "params_nonzero"} <= set(rows[0])
    assert {r["seed"] for r in rows} == {"0", "1"}
    first = json.loads(out_json.read_text())["rows"]
    assert main(args + ["--resume", "--methods", "magnitude,gru1,random"]) == 0  # only random's rows are new
    second = json.loads(out_json.read_text())["rows"]
    assert [r for r in second if r["method"] != "random"] == first  # kept as they were, not recomputed
    assert [(r["seed"], r["method"]) for r in second] == [(seed, m) for seed in (0, 1) for m in ("magnitude", "gru1", "random")
                                                          for _ in (0.5, 0.9)]  # in the order of the points


def test_compare_command_rejects_an_unknown_method_in_one_line(capsys):
    assert main(["compare", "--data", str(SAMPLE), "--methods", "agp,nope", "--sparsities", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err and "Traceback" not in err


def test_a_target_beyond_the_floor_is_skipped_with_the_reason_and_the_rest_run(data):
    """SCGRU's floor k keeps a share of every matrix, so a 3H x 1 input matrix cannot reach 99%: that point has
    no row (the engine's reason instead), and every other point still runs."""
    result = compare(data, small_config(methods=("sensitivity", "magnitude"), sparsities=(0.5, 0.99),
                                        scope=Scope.parse("ih"), floor=0.05))
    assert [(r["method"], r["target_sparsity"]) for r in result.rows] == [("sensitivity", 0.5), ("magnitude", 0.5),
                                                                          ("magnitude", 0.99)]
    (skip,) = result.skipped
    assert skip.point == ("sensitivity", 0.99, 0) and "cannot be reached with the floor k = 0.05" in skip.reason
    assert not result.cancelled
