"""`pip install -e .` (done by `make setup`): the `scgru-lab` command and `python -m scgru_core` work from any
folder, and pass the project's command-line contract there."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from _engine_support import csv_bytes, sine_values

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "tools" / "check_cli_contract.py"


def installed_command() -> pathlib.Path:
    exe = pathlib.Path(sys.executable).with_name("scgru-lab")
    if not exe.exists():
        reason = "scgru-lab is not installed in this environment; run `make setup` (pip install -e .)."
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return exe


def test_the_scgru_lab_command_works_from_any_folder(tmp_path):
    exe = installed_command()
    (tmp_path / "series.csv").write_bytes(csv_bytes(sine_values(240)))
    p = subprocess.run([str(exe), "run", "--data", "series.csv", "--window", "8", "--hidden", "4", "--epochs", "1",
                        "--finetune-epochs", "1", "--quiet", "--json", "run.json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "run.json").read_text())["finetuned"]["rmse"] > 0
    (tmp_path / "empty.csv").write_text("")
    p = subprocess.run([str(exe), "run", "--data", "empty.csv"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    help_text = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60).stdout
    assert all(c in help_text for c in ("run", "sweep", "compare", "shrink"))


def test_the_cli_contract_passes_from_a_temporary_folder(tmp_path):
    installed_command()
    if not CONTRACT.exists():
        pytest.skip(f"the contract checker is not beside the project ({CONTRACT})")
    p = subprocess.run([sys.executable, str(CONTRACT), "run"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0 and "all contract checks passed" in p.stdout, p.stdout[-2000:]
