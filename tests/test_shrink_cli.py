"""`python -m scgru_core shrink` on a saved run and `run --structured-units`: the JSON contract, the export,
and impossible settings refused with exit 2 and one line."""
from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pytest

from _engine_support import csv_bytes, require_onnx_extras, sine_values
from scgru_core.cli.main import main
from scgru_core.deploy.export import load_export

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ["--window", "8", "--hidden", "8", "--epochs", "1", "--finetune-epochs", "1", "--quiet"]
FAST = ["--repeats", "2", "--quiet"]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("shrink")
    data = d / "series.csv"
    data.write_bytes(csv_bytes(sine_values(240)))
    assert main(["run", "--data", str(data), *TINY, "--sensitivity", "0.5", "--out", str(d / "run")]) == 0
    return d / "run", data


def test_shrink_writes_the_contract_json_and_a_plain_export(saved_run, tmp_path):
    require_onnx_extras()
    run_dir, _ = saved_run
    out = tmp_path / "shrink.json"
    rc = main(["shrink", "--run", str(run_dir), "--units", "0.5", "--finetune-epochs", "1", "--export",
               str(tmp_path / "export"), "--onnx", "--json", str(out), *FAST])
    assert rc == 0
    j = json.loads(out.read_text())
    assert (j["hidden_before"], j["hidden_after"]) == (8, 4)
    for part in ("dense", "naive", "pruned", "finetuned"):
        assert all(math.isfinite(j[part][m]) for m in ("rmse", "mae", "smape", "mase")), part
    for variant in ("dense", "masked", "csr", "shrunk", "shrunk_int8"):
        assert set(j["latency_ms"][variant]) == {"b1", "b256"} and min(j["latency_ms"][variant].values()) > 0
    assert {"dense", "shrunk", "shrunk_int8", "onnx"} <= set(j["bytes"])
    assert j["bytes"]["shrunk"] < j["bytes"]["dense"]
    assert set(j["export"]) == {"model.safetensors", "model.json", "load_model.py", "model.onnx"}
    assert load_export(tmp_path / "export").model.gru.hidden_size == 4


def test_the_run_records_its_data_file_so_shrink_finds_it_and_refuses_another(saved_run, tmp_path, capsys):
    run_dir, data = saved_run
    other = tmp_path / "other.csv"
    other.write_bytes(csv_bytes(sine_values(240, seed=9)))
    rc = main(["shrink", "--run", str(run_dir), "--units", "0.5", "--data", str(other), "--export",
               str(tmp_path / "x"), *FAST])
    assert rc == 2 and "not the file this run was trained on" in capsys.readouterr().err


def test_dead_units_and_scgru_on_units_from_the_command_line(saved_run, tmp_path):
    run_dir, _ = saved_run
    for flag in (["--dead"], ["--sensitivity", "0.5"]):
        out = tmp_path / "j.json"
        assert main(["shrink", "--run", str(run_dir), *flag, "--finetune-epochs", "0", "--export",
                     str(tmp_path / "e"), "--json", str(out), *FAST]) == 0
        j = json.loads(out.read_text())
        assert 1 <= j["hidden_after"] <= j["hidden_before"] and j["finetuned"] is None


def test_run_structured_units_does_the_whole_recipe(tmp_path):
    data = tmp_path / "series.csv"
    data.write_bytes(csv_bytes(sine_values(240)))
    out = tmp_path / "run.json"
    assert main(["run", "--data", str(data), *TINY, "--structured-units", "0.25", "--export", str(tmp_path / "e"),
                 "--json", str(out), "--repeats", "2"]) == 0
    j = json.loads(out.read_text())
    assert (j["hidden_before"], j["hidden_after"], j["rule"]) == (8, 6, "unit_norm")
    assert j["config"]["model"]["hidden"] == 8 and (tmp_path / "e" / "model.safetensors").is_file()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "scgru_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_impossible_settings_exit_2_with_one_line(saved_run, tmp_path):
    run_dir, data = saved_run
    cases = [
        ("shrink", "--run", run_dir, "--units", "1.0", "--export", tmp_path / "e"),  # every unit
        ("shrink", "--run", run_dir, "--units", "0.99", "--export", tmp_path / "e"),  # rounds to all 8
        ("shrink", "--run", tmp_path / "missing", "--units", "0.5", "--export", tmp_path / "e"),
        ("run", "--data", data, *TINY, "--structured-units", "1.0"),
    ]
    for args in cases:
        p = cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr


def test_a_run_whose_checksums_fail_is_refused(saved_run, tmp_path, capsys):
    import shutil
    run_dir, _ = saved_run
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    raw = bytearray((bad / "weights.safetensors").read_bytes())
    raw[-1] ^= 1
    (bad / "weights.safetensors").write_bytes(bytes(raw))
    assert main(["shrink", "--run", str(bad), "--units", "0.5", "--export", str(tmp_path / "e"), *FAST]) == 2
    assert "checksum" in capsys.readouterr().err
