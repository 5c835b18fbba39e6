"""`python -m scgru_core`: the run contract JSON, a saved run, and bad input as exit 2 with one line on stderr."""
from __future__ import annotations

import csv
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from _engine_support import csv_bytes, sine_values
from scgru_core import load_run
from scgru_core.cli.main import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
METRICS = ("rmse", "mae", "smape", "mase")
COST = ("params_total", "params_nonzero", "macs_dense", "macs_nonzero", "bytes_dense", "bytes_csr", "bytes_bitmask")
TINY = ["--window", "8", "--hidden", "4", "--epochs", "1", "--finetune-epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "series.csv"
    path.write_bytes(csv_bytes(sine_values(240)))
    return path


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "scgru_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_run_writes_the_contract_json_and_a_loadable_run(series_csv, tmp_path):
    out = tmp_path / "run.json"
    p = cli("run", "--data", series_csv, *TINY, "--sensitivity", "1.0", "--seed", "3",
            "--out", tmp_path / "saved", "--json", out)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    j = json.loads(out.read_text())
    for part in ("dense", "naive", "pruned", "finetuned"):
        assert all(isinstance(j[part][m], float) and math.isfinite(j[part][m]) for m in METRICS), part
    assert 0 <= j["sparsity"]["overall"] <= 1
    assert set(j["sparsity"]["per_matrix"]) == {"rnn.weight_ih_l0", "rnn.weight_hh_l0"} == set(j["thresholds"])
    assert all(isinstance(j["cost"][c], int) for c in COST)
    assert j["cost"]["params_total"] == 3 * 4 * (1 + 4 + 2) + 5
    assert j["data"] == {"column": "value", "values": 240, "train_windows": j["data"]["train_windows"],
                         "val_windows": j["data"]["val_windows"], "test_windows": j["data"]["test_windows"]}
    assert j["config"]["model"]["hidden"] == 4 and j["config"]["prune"]["sensitivity"] == 1.0
    assert j["config"]["prune"]["scope"] == "both"
    assert "pruned" in p.stdout and "cost" in p.stdout
    run = load_run(tmp_path / "saved")
    params = dict(run.model.named_parameters())
    for name, mask in run.masks.items():
        assert bool((params[name].detach()[~mask] == 0).all())
    assert 1 - sum(int(m.sum()) for m in run.masks.values()) / sum(m.numel() for m in run.masks.values()) \
        == pytest.approx(j["sparsity"]["overall"])


def _run_in_process(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_same_seed_same_numbers_and_magnitude_sparsity_lands(series_csv, tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    args = ["run", "--data", str(series_csv), *TINY, "--method", "magnitude", "--sparsity", "0.7", "--scope", "hh"]
    assert _run_in_process(args + ["--json", str(a)], capsys)[0] == 0
    assert _run_in_process(args + ["--json", str(b)], capsys)[0] == 0
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    for key in ("dense", "naive", "pruned", "finetuned", "sparsity", "thresholds", "cost"):
        assert ja[key] == jb[key], key
    assert ja["sparsity"]["overall"] == pytest.approx(0.7, abs=1 / 48)
    assert ja["sparsity"]["per_matrix"]["rnn.weight_ih_l0"] == 0.0


def test_target_sparsity_for_the_sensitivity_rule(series_csv, tmp_path, capsys):
    out = tmp_path / "t.json"
    code, _, err = _run_in_process(["run", "--data", str(series_csv), *TINY, "--sparsity", "0.6", "--json", str(out)],
                                   capsys)
    assert code == 0, err
    j = json.loads(out.read_text())
    assert 0.6 <= j["sparsity"]["overall"] <= 0.6 + 0.03
    assert j["config"]["target_sparsity"] == 0.6 and j["config"]["prune"]["sensitivity"] > 0


def test_sweep_writes_one_row_per_point(series_csv, tmp_path, capsys):
    code, out, err = _run_in_process(["sweep", "--data", str(series_csv), "--window", "8", "--hidden", "4",
                                      "--epochs", "1", "--finetune-epochs", "0", "--quiet",
                                      "--sensitivities", "0.5,1,2", "--csv", str(tmp_path / "s.csv")], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert [float(r["sensitivity"]) for r in rows] == [0.5, 1.0, 2.0]
    sparsities = [float(r["sparsity"]) for r in rows]
    assert sparsities == sorted(sparsities) and sparsities[0] > 0


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    p = cli("run", "--data", empty, "--epochs", "1")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr + p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "empty" in lines[0]


def _bad_inputs(tmp_path: pathlib.Path, good: pathlib.Path):
    constant = tmp_path / "constant.csv"
    constant.write_bytes(csv_bytes([2.0] * 300))
    short = tmp_path / "short.csv"
    short.write_bytes(csv_bytes(sine_values(40)))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    wrong = tmp_path / "series.json"
    wrong.write_text("{}")
    d = str(good)
    return {
        "missing file": ["--data", str(tmp_path / "nope.csv")],
        "constant": ["--data", str(constant)],
        "too short": ["--data", str(short), "--window", "24"],
        "binary": ["--data", str(binary)],
        "suffix": ["--data", str(wrong)],
        "column": ["--data", d, "--column", "load"],
        "scope": ["--data", d, "--scope", "hh:forget"],
        "sparsity": ["--data", d, "--sparsity", "1.5"],
        "sensitivity for magnitude": ["--data", d, "--method", "magnitude", "--sensitivity", "2"],
        "negative s": ["--data", d, "--sensitivity", "-1"],
        "hidden": ["--data", d, "--hidden", "0"],
        "window": ["--data", d, "--window", "0"],
        "fractions": ["--data", d, "--val-fraction", "0.6", "--test-fraction", "0.5"],
        "lr": ["--data", d, "--lr", "0"],
        "floor": ["--data", d, "--floor", "0"],
        "global sensitivity": ["--data", d, "--global"],
    }


def test_every_bad_input_is_one_error_line_with_exit_2(series_csv, tmp_path, capsys):
    for label, argv in _bad_inputs(tmp_path, series_csv).items():
        code, out, err = _run_in_process(["run", *argv, "--epochs", "1", "--quiet"], capsys)
        lines = err.strip().splitlines()
        assert code == 2, (label, err)
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > 20, (label, err)
        assert "Traceback" not in err + out


def test_diverged_training_exits_1_with_one_line(series_csv, capsys, monkeypatch):
    """A learning rate that diverges is past the flag's limits (refused, exit 2), so the divergence is the engine's
    own refusal, raised where the training would be."""
    import scgru_core.study.experiment as experiment
    from scgru_core.errors import TrainingDivergedError

    def diverge(*args, **kwargs):
        raise TrainingDivergedError("Training diverged at epoch 1, batch 3: the loss became nan. Lower the learning "
                                    "rate.", epoch=1)

    monkeypatch.setattr(experiment, "fit", diverge)
    code, _, err = _run_in_process(["run", "--data", str(series_csv), *TINY], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "diverged" in lines[0]


def test_an_unreachable_target_sparsity_exits_2_naming_the_reachable_maximum(series_csv):
    p = cli("run", "--data", series_csv, *TINY, "--sparsity", "0.995")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "cannot be reached with the floor k = 0.01" in p.stderr and "the most this model and scope reach is" in p.stderr


def test_the_command_line_imports_neither_plotly_nor_streamlit():
    """`python -m scgru_core run --help` answers without the UI's libraries: a server or a CI job that only trains
    and prunes never pays for them (plotly is imported only by the commands that draw a figure)."""
    code = ("import sys, runpy; sys.argv = ['scgru_core', 'run', '--help']\n"
            "try:\n    runpy.run_module('scgru_core', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('plotly', 'streamlit', 'kaleido') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
