"""Ctrl-C on `compare` and `sweep`: the finished rows are written, and --resume completes them to exactly the
rows of a run that was never interrupted."""
from __future__ import annotations

import csv
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from _engine_support import csv_bytes, sine_values

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ["--window", "8", "--hidden", "6", "--epochs", "2", "--finetune-epochs", "1", "--seed", "4"]
SAME = ("method", "target_sparsity", "seed", "sensitivity", "sparsity", "rmse", "mae", "smape", "mase",
        "params_nonzero")  # everything but the wall time


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    path = tmp_path_factory.mktemp("interrupt") / "series.csv"
    path.write_bytes(csv_bytes(sine_values(300)))
    return path


def cli(*args):
    return subprocess.run([sys.executable, "-m", "scgru_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def interrupt_after_first_row(*args, marker: str):
    """Start the command, press Ctrl-C once the first row is reported, and wait for it to end."""
    proc = subprocess.Popen([sys.executable, "-m", "scgru_core", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    for line in proc.stderr:
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
        assert time.time() < deadline, "no row was reported"
    rest = proc.stderr.read()
    proc.wait(timeout=300)
    return proc.returncode, rest


def rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return [{k: r.get(k) for k in SAME if k in r} for r in csv.DictReader(fh)]


@pytest.mark.parametrize("executor", [["--executor", "local"], ["--executor", "process", "--workers", "2"]],
                         ids=["local", "process"])
@pytest.mark.parametrize("command, extra, marker", [
    ("compare", ["--methods", "magnitude,random,agp", "--sparsities", "0.5,0.8,0.9"], "row 1/"),
    ("sweep", ["--sparsities", "0.3,0.5,0.7,0.8,0.9,0.95"], "point 1/"),
])
def test_an_interrupted_run_writes_its_rows_and_resume_completes_them(series, tmp_path, command, extra, marker,
                                                                      executor):
    """With a process pool the rows finish out of order and the workers are stopped mid-row: the CSV still
    holds whole rows only, and the resumed run's rows equal (and are ordered as) an uninterrupted in-process run."""
    whole, cut = tmp_path / "whole.csv", tmp_path / "cut.csv"
    extra = [*extra, *executor]
    assert cli(command, "--data", series, *TINY, *extra[:-len(executor)], "--executor", "local", "--csv",
               whole).returncode == 0
    code, said = interrupt_after_first_row(command, "--data", series, *TINY, *extra, "--csv", cut, marker=marker)
    assert code == 130 and "with --resume continues" in said and "Traceback" not in said, said
    first = rows(cut)
    assert 1 <= len(first) < len(rows(whole))  # it stopped part way, and wrote what it finished
    assert cli(command, "--data", series, *TINY, *extra, "--csv", cut, "--resume").returncode == 0
    assert rows(cut) == rows(whole)  # the same rows, in the same order, as a run never interrupted
