"""Executors: a comparison or sweep gives the same rows in this process, in a local process pool and on a local
Ray; rows arrive as they finish; a stop ends the workers and keeps what finished; errors cross the process
boundary with their type."""
from __future__ import annotations

import os
import pickle

import pytest

from _engine_support import tiny_data
from scgru_core import (CompareConfig, ConfigError, ModelConfig, PruneConfig, PruningLab, Scope, TrainConfig, compare,
                        sweep, sweep_configs)
from scgru_core.errors import TrainingDivergedError
from scgru_core.executors import Local, ProcessPool, make_executor
from scgru_core.experiment import train_dense
from scgru_core.train import Callbacks

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


def test_a_local_ray_gives_the_same_comparison_and_sweep_as_this_process(data, in_process):
    """The optional extra: installed by `make test` (requirements-ray.txt); CI must run this, a bare checkout may skip."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)")
    model, _ = train_dense(data, ModelConfig(hidden=8), TrainConfig(epochs=2))
    lab = PruningLab(model, data)
    points = sweep_configs(PruneConfig(method="random"), sparsities=[0.4, 0.8]) + \
        sweep_configs(PruneConfig(), sensitivities=[1.0])
    try:
        executor = make_executor("ray", 2)
        on_ray = compare(data, config(), executor=executor)
        swept = sweep(lab, points, TrainConfig(epochs=1), executor=executor)
    finally:
        ray.shutdown()
    assert without_timing(on_ray.rows) == without_timing(in_process.rows)
    assert on_ray.traces == in_process.traces
    assert swept == sweep(lab, points, TrainConfig(epochs=1)) and len(swept) == 3


def test_a_stopped_workers_broken_descriptor_transfer_is_not_reported_but_other_thread_errors_are():
    """Stop ends the pool while torch's resource sharer may be handing a worker a tensor's file descriptor: that
    thread's ConnectionResetError is the stop itself, not an error to print; any other thread error still is."""
    import threading

    from scgru_core.executors import _quiet_when_a_worker_is_stopped

    seen = []
    hook = _quiet_when_a_worker_is_stopped(seen.append)

    def raise_in(filename, exc):
        code = compile("raise exc", filename, "exec")
        try:
            exec(code, {"exc": exc})
        except BaseException as e:  # noqa: BLE001 - the hook's input, built as threading builds it
            return threading.ExceptHookArgs((type(e), e, e.__traceback__, None))

    hook(raise_in("/usr/lib/python3.11/multiprocessing/resource_sharer.py", ConnectionResetError(104, "reset")))
    assert seen == []
    hook(raise_in("/work/somewhere/else.py", ConnectionResetError(104, "reset")))
    hook(raise_in("/usr/lib/python3.11/multiprocessing/resource_sharer.py", ValueError("a real bug")))
    assert [type(a.exc_value) for a in seen] == [ConnectionResetError, ValueError]


def _hook_is_quiet() -> bool:
    import threading

    return hasattr(threading.excepthook, "quiets")


def test_every_pool_worker_quiets_its_own_resource_sharer_too():
    """A spawned worker starts without the caller's hook; its own resource sharer meets the same stop (a full-suite
    run printed a worker's ConnectionResetError traceback under an interrupted `sweep`)."""
    import multiprocessing

    from scgru_core.executors import _worker_init

    with multiprocessing.get_context("spawn").Pool(1, initializer=_worker_init) as pool:
        assert pool.apply(_hook_is_quiet)
