"""The study: Student-t intervals by hand, the aggregation and the 'beats random' verdict on a synthetic table,
the study file's refusals, and a small study that stops, resumes to the rows of an uninterrupted one, and
writes its report."""
from __future__ import annotations

import json
import math
import os
import pathlib

import pytest

from scgru_core.cli.main import main
from scgru_core.errors import ConfigError
from scgru_core.study.executors import ProcessPool
from scgru_core.study.stats import mean_interval, t_quantile
from scgru_core.study.study import StudyConfig, read_rows, run_study
from scgru_core.study.report import cells, references
from scgru_core.net.train import Callbacks

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_t_quantiles_match_their_closed_forms():
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-9)  # Cauchy
    assert t_quantile(0.975, 2) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-9)
    assert t_quantile(0.975, 4) == pytest.approx(2.776445, abs=1e-6)  # the five-seed multiplier
    assert t_quantile(0.975, 1e6) == pytest.approx(1.959964, abs=1e-5)  # tends to the normal's
    assert t_quantile(0.025, 4) == -t_quantile(0.975, 4)


def test_a_mean_interval_by_hand():
    ci = mean_interval([1, 2, 3, 4, 5])
    assert ci.mean == 3 and ci.n == 5
    assert ci.half == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert math.isnan(mean_interval([7.0]).half)  # one seed has no interval


def synthetic_rows() -> list[dict]:
    """Five seeds of four methods at one scope and sparsity: sensitivity far below random, magnitude overlapping,
    agp far above; plus a dense reference."""
    spread = [-2.0, -1.0, 0.0, 1.0, 2.0]
    centres = {"random": 100.0, "sensitivity": 80.0, "magnitude": 99.0, "agp": 130.0}
    rows = []
    for method, centre in centres.items():
        for seed, d in enumerate(spread):
            row = {"task": "t", "method": method, "scope": "hh", "target_sparsity": 0.9, "seed": seed,
                   "sparsity": 0.9, "rmse": centre + d}
            if method != "agp":
                row["pruned_rmse"] = centre * 2 + d
            rows.append(row)
    rows += [{"task": "t", "cell": "gru", "method": "dense", "scope": "both", "target_sparsity": 0.0, "seed": s, "sparsity": 0.0,
              "rmse": 50.0 + d, "params_total": 3_000} for s, d in enumerate(spread)]
    return rows


def test_cells_hold_means_intervals_and_the_verdict_against_random():
    table = cells(synthetic_rows())
    final = table[table["stage"] == "final"].set_index("method")
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert final.loc["sensitivity", "mean"] == pytest.approx(80.0) and final.loc["sensitivity", "half"] == pytest.approx(half)
    assert final.loc["sensitivity", "vs_random"] == "better"
    assert final.loc["magnitude", "vs_random"] == ""  # 99 +- 1.96 overlaps 100 +- 1.96: undecided
    assert final.loc["agp", "vs_random"] == "worse"
    assert final.loc["random", "vs_random"] == ""
    pruned = table[table["stage"] == "pruned"].set_index("method")
    assert set(pruned.index) == {"random", "sensitivity", "magnitude"}  # agp has no prune-only stage
    assert pruned.loc["sensitivity", "mean"] == pytest.approx(160.0) and pruned.loc["sensitivity", "vs_random"] == "better"
    refs = references(synthetic_rows())
    assert refs.to_dict("records") == [{"task": "t", "cell": "gru", "method": "dense", "mean": 50.0, "half": pytest.approx(half), "n": 5,
                                        "params": 3000}]


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text)
    return path


TINY = """
[study]
methods = ["sensitivity", "random", "agp"]
references = ["dense"]
sparsities = [0.5, 0.9]
scopes = ["hh"]
seeds = [0, 1]
finetune_epochs = 1
[model]
hidden = 4
[train]
epochs = 1
batch_size = 32
patience = 0
[[task]]
name = "airline"
data = "{data}"
window = 12
"""


@pytest.fixture
def tiny(tmp_path) -> pathlib.Path:
    return write(tmp_path / "tiny.toml", TINY.format(data=ROOT / "sample_data" / "airline_passengers_monthly.csv"))


@pytest.mark.parametrize("text, message", [
    (TINY.replace('"sensitivity", "random", "agp"', '"sensitivity", "agp"'), "random pruning is the study's baseline"),
    (TINY.replace('"sensitivity", "random"', '"sensitivity", "lasso", "random"'), "lasso"),
    (TINY.replace("[model]", "[model]\nwidth = 3"), "width"),
    (TINY.replace("[[task]]", "[[task"), "not valid TOML"),
    (TINY.replace('scopes = ["hh"]', 'scopes = ["hx"]'), "scope 'hx' is not understood"),
])
def test_a_bad_study_file_is_refused_by_name(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        StudyConfig.from_toml(write(tmp_path / "bad.toml", text.format(data="x.csv")))


def test_the_command_refuses_a_missing_file_in_one_line(tmp_path, capsys):
    assert main(["study", "--config", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no study file" in err


def without_timing(rows):
    return sorted((json.dumps({k: v for k, v in r.items() if k != "seconds"}, sort_keys=True) for r in rows))


def test_a_stopped_study_resumes_to_the_rows_of_one_never_stopped(tiny, tmp_path):
    config = StudyConfig.from_toml(tiny)
    whole = run_study(config, tmp_path / "whole")
    assert not whole.cancelled and len(whole.rows) == 3 * 2 * 2 + 1 * 2  # methods x sparsities x seeds + dense x seeds
    seen = []
    cut = run_study(config, tmp_path / "cut", ProcessPool(2), callbacks=Callbacks(should_stop=lambda: len(seen) >= 3),
                    on_row=lambda task, i, n, row: seen.append(row))
    assert cut.cancelled and 3 <= len(read_rows(tmp_path / "cut")) < len(whole.rows)
    resumed = run_study(config, tmp_path / "cut", ProcessPool(2), resume=True)
    assert not resumed.cancelled and without_timing(resumed.rows) == without_timing(whole.rows)
    assert len(json.loads((tmp_path / "cut" / "runs.json").read_text())) == 2  # both runs' wall times are kept


def test_the_command_writes_the_report_with_the_tables_and_a_figure(tiny, tmp_path):
    assert main(["study", "--config", str(tiny), "--out", str(tmp_path), "--executor", "local", "--quiet"]) == 0
    page = (tmp_path / "results.md").read_text()
    assert "## airline" in page and "| naive (last value) |" in page and "| dense (unpruned) |" in page
    assert "| method | scope | 50% | 90% |" in page and "### Pruned only" in page and "## Summary" in page
    assert (tmp_path / "results" / "rows.csv").read_text().count("\n") == 14 + 1
    if os.environ.get("CI") or (ROOT / ".venv" / ".study-extras").exists():
        assert (tmp_path / "results" / "task1.png").stat().st_size > 10_000 and "results/task1.png" in page
