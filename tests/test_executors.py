"""Executors: a comparison or sweep gives the same rows in this process, in a local process pool and on a local
Ray; rows arrive as they finish; a stop ends the workers and keeps what finished; errors cross the process
boundary with their type."""
from __future__ import annotations

import contextlib
import importlib.util
import operator
import os
import pickle
import socket
import subprocess
import sys
import time

import pytest

from _engine_support import tiny_data
from scgru_core import (CompareConfig, ConfigError, ModelConfig, PruneConfig, PruningLab, Scope, TrainConfig, compare,
                        sweep, sweep_configs)
from scgru_core.errors import ExecutorError, TrainingDivergedError
from scgru_core.study.executors import Local, ProcessPool, make_executor
from scgru_core.study.experiment import train_dense
from scgru_core.net.train import Callbacks

TIMING = {"seconds"}  # the only column that may differ between executors


@pytest.fixture(scope="module")
def data():
    return tiny_data(n=400, window=12)


def config(**kw) -> CompareConfig:
    base = dict(methods=("sensitivity", "random", "taylor", "agp", "narang", "rewind", "dense", "gru2"),
                sparsities=(0.5, 0.9), seeds=(0, 1), scope=Scope.parse("both"), model=ModelConfig(hidden=8),
                train=TrainConfig(epochs=2, batch_size=32), finetune_epochs=1)
    return CompareConfig(**{**base, **kw})


def without_timing(rows):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


@pytest.fixture(scope="module")
def in_process(data):
    return compare(data, config(), executor=Local())


def test_a_process_pool_gives_the_same_rows_and_traces_as_this_process(data, in_process):
    arrivals = []
    pooled = compare(data, config(), executor=ProcessPool(2), on_row=lambda i, n, row: arrivals.append((i, n)))
    assert not pooled.cancelled and len(pooled.rows) == 8 * 2 * 2
    assert without_timing(pooled.rows) == without_timing(in_process.rows)  # same values, same (run) order
    assert pooled.traces == in_process.traces and len(pooled.traces) == 2 * 2 * 2
    assert arrivals == [(i, 32) for i in range(1, 33)]  # reported one by one as they finished


def test_a_sweep_gives_the_same_rows_on_every_local_executor(data):
    model, _ = train_dense(data, ModelConfig(hidden=8), TrainConfig(epochs=2))
    lab = PruningLab(model, data)
    points = sweep_configs(PruneConfig(method="taylor"), sparsities=[0.3, 0.6, 0.9]) + \
        sweep_configs(PruneConfig(), sensitivities=[0.5, 1.5])
    finetuning = TrainConfig(epochs=1, seed=3)
    here = sweep(lab, points, finetuning)
    assert sweep(lab, points, finetuning, executor=ProcessPool(2)) == here and len(here) == 5


def test_a_stop_ends_the_pool_and_keeps_the_rows_that_finished(data, in_process):
    seen = []
    result = compare(data, config(), executor=ProcessPool(2), on_row=lambda i, n, row: seen.append(row),
                     callbacks=Callbacks(should_stop=lambda: len(seen) >= 3))
    assert result.cancelled and 3 <= len(result.rows) < 32
    assert without_timing(result.rows) == [r for r in without_timing(in_process.rows) if r in without_timing(result.rows)]


def _diverges(epoch: int):
    raise TrainingDivergedError("the loss became nan", epoch)


def test_a_workers_error_reaches_the_caller_with_its_type_and_fields():
    assert pickle.loads(pickle.dumps(TrainingDivergedError("x", 4))).epoch == 4
    with pytest.raises(TrainingDivergedError, match="the loss became nan") as info:
        list(ProcessPool(1).map(_diverges, [(7,)]))
    assert info.value.epoch == 7


def test_executor_names_and_worker_counts_are_checked():
    with pytest.raises(ConfigError, match="executor must be one of local, process, ray"):
        make_executor("threads")
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        make_executor("process", 0)
    assert make_executor("process", 3).workers == 3 and make_executor("local").name == "local"


def require_ray():
    """The optional extra: installed by `make test` (requirements-ray.txt); CI must run these, a bare checkout may skip."""
    if importlib.util.find_spec("ray") is None:  # found, not imported: Ray itself runs in a child
        if os.environ.get("CI"):
            raise AssertionError("Ray is not installed, and CI must run the Ray tests")
        pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)")


def test_a_local_ray_gives_the_same_comparison_and_sweep_as_this_process(data, in_process):
    require_ray()
    model, _ = train_dense(data, ModelConfig(hidden=8), TrainConfig(epochs=2))
    lab = PruningLab(model, data)
    points = sweep_configs(PruneConfig(method="random"), sparsities=[0.4, 0.8]) + \
        sweep_configs(PruneConfig(), sensitivities=[1.0])
    with contextlib.closing(make_executor("ray", 2)) as executor:
        on_ray = compare(data, config(), executor=executor)
        swept = sweep(lab, points, TrainConfig(epochs=1), executor=executor)  # the same Ray, kept between batches
        driver = executor._driver.process
        assert driver.poll() is None
    assert driver.poll() is not None  # closing ends Ray's process
    assert without_timing(on_ray.rows) == without_timing(in_process.rows)
    assert on_ray.traces == in_process.traces
    assert swept == sweep(lab, points, TrainConfig(epochs=1)) and len(swept) == 3
    assert "ray" not in sys.modules  # Ray ran in a child process: this one never imported it


def test_a_stop_on_ray_keeps_the_rows_that_finished_and_leaves_ray_ready(data, in_process):
    require_ray()
    seen = []
    with contextlib.closing(make_executor("ray", 2)) as executor:
        result = compare(data, config(), executor=executor, on_row=lambda i, n, row: seen.append(row),
                         callbacks=Callbacks(should_stop=lambda: len(seen) >= 2))
        assert result.cancelled and 2 <= len(result.rows) < 32
        assert dict(executor.map(operator.mul, [(3, 2), (4, 2)])) == {0: 6, 1: 8}  # the next batch: the same Ray
    assert without_timing(result.rows) == [r for r in without_timing(in_process.rows) if r in without_timing(result.rows)]


def test_a_task_error_on_ray_reaches_the_caller_with_its_type_and_fields():
    require_ray()
    with contextlib.closing(make_executor("ray", 1)) as executor:
        with pytest.raises(TrainingDivergedError, match="the loss became nan") as info:
            list(executor.map(_diverges, [(7,)]))
        assert info.value.epoch == 7


def test_an_unreachable_ray_is_refused_in_seconds_without_starting_anything():
    started = time.monotonic()
    with pytest.raises(ExecutorError, match=r"Ray at 127.0.0.1:1 cannot be reached \(Connection refused\)"):
        list(make_executor("ray", 1, "127.0.0.1:1").map(operator.neg, [(1,)]))
    for address, why in (("ray://10.0.0.1:10001", "deprecated"), ("http://head:8265", "ray job submit"),
                         ("head", "not host:port")):
        with pytest.raises(ExecutorError, match=why):
            make_executor("ray", 1, address).start()
    assert time.monotonic() - started < 30


def test_a_ray_that_fails_or_never_answers_is_an_error_here_never_the_end_of_this_process(monkeypatch, tmp_path):
    """Ray's driver exits its process when a GCS never answers ("The program will terminate"); in the server that
    ended every student's session. Here it runs in a child: a failing init and a GCS that accepts connections but
    never answers are both ExecutorErrors in this process, within the start timeout."""
    require_ray()
    monkeypatch.setenv("RAY_ADDRESS", "auto")  # no Ray to be found: ray.init raises in the child at once
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))  # where "auto" looks: empty, whatever else runs on the machine
    with pytest.raises(ExecutorError, match="could not start: ConnectionError"):
        make_executor("ray", 1).start()
    monkeypatch.setenv("SCGRU_RAY_START_TIMEOUT_S", "6")
    with socket.socket() as silent:  # accepts the TCP connection, never speaks Ray's protocol
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        with pytest.raises(ExecutorError, match="did not start within 6 s"):
            make_executor("ray", 1, f"127.0.0.1:{silent.getsockname()[1]}").start()
    assert time.monotonic() - started < 30


def _doubled(t):
    return t * 2


def test_a_process_pool_copies_tensors_instead_of_handing_over_descriptors():
    """Stop ends the pool at any moment; a tensor in flight as a file descriptor made multiprocessing's resource
    sharer print a traceback (an interrupted `compare --executor process`). Tasks and results travel as copies:
    the numbers arrive intact and this process never starts serving descriptors."""
    import torch
    from multiprocessing import resource_sharer

    from scgru_core.study.executors import ProcessPool

    tensors = [torch.arange(20_000, dtype=torch.float32) + i for i in range(3)]
    got = dict(ProcessPool(2).map(_doubled, [(t,) for t in tensors]))
    assert all(torch.equal(got[i], t * 2) for i, t in enumerate(tensors))
    assert resource_sharer._resource_sharer._listener is None  # no descriptor was ever offered to a worker


@pytest.mark.parametrize("how", ["unreachable address", "failing init"])
def test_the_command_line_refuses_a_ray_that_cannot_start_in_one_line_within_30_s(tmp_path, how):
    require_ray()
    data = tmp_path / "series.csv"
    data.write_text("value\n" + "\n".join(str(10 + (i * 7) % 13) for i in range(300)))
    argv = [sys.executable, "-m", "scgru_core", "compare", "--data", str(data), "--window", "8", "--hidden", "4",
            "--epochs", "1", "--methods", "magnitude", "--sparsities", "0.5", "--executor", "ray", "--quiet"]
    env = dict(os.environ)
    if how == "failing init":  # "auto" finds no Ray: its directory is empty, whatever else runs on the machine
        env.update(RAY_ADDRESS="auto", RAY_TMPDIR=str(tmp_path))
    if how == "unreachable address":
        argv += ["--ray-address", "127.0.0.1:1"]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert time.monotonic() - started < 30
    assert done.returncode == 2 and "Traceback" not in done.stderr + done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: Ray at ") and ("cannot be reached" in line or "could not start" in line)
