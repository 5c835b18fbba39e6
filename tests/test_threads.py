"""The thread rule: one torch thread for the lab's small GRUs, the free cores for wide ones; pins and restores."""
from __future__ import annotations

import pytest
import torch

import scgru_core as sc
from _engine_support import tiny_data, tiny_model
from scgru_core import threads


@pytest.fixture(autouse=True)
def no_pin():
    """Each test starts with the rule in force (the app's AppTests pin one thread in this process) and leaves
    the pin and torch's count as it found them."""
    before, torch_before = threads.pinned(), torch.get_num_threads()
    threads.pin(None)
    yield
    threads.pin(before)
    torch.set_num_threads(torch_before)


@pytest.mark.parametrize("hidden, cores, want", [(8, 2, 1), (64, 16, 1), (255, 4, 1), (256, 2, 2), (350, 4, 4),
                                                 (1024, 1, 1)])
def test_small_gru_gets_one_thread_and_a_wide_one_the_free_cores(hidden, cores, want):
    assert threads.choose_threads(hidden, cores=cores) == want


def test_free_cores_are_at_least_one_and_at_most_the_cores_this_process_may_use():
    import os
    assert 1 <= threads.free_cores() <= len(os.sched_getaffinity(0))


def test_fit_trains_under_the_rule_and_gives_the_callers_count_back():
    seen = []
    data = tiny_data(200, window=8)
    torch.set_num_threads(2)
    sc.fit(tiny_model(hidden=6), data, sc.TrainConfig(epochs=1),
           callbacks=sc.Callbacks(on_batch=lambda b, n: seen.append(torch.get_num_threads())))
    assert set(seen) == {1}  # hidden 6: one thread while training
    assert torch.get_num_threads() == 2  # the caller's setting is left as it was


def test_a_pin_wins_over_the_rule_until_it_is_lifted():
    seen = []
    with threads.pinned_to(2):
        sc.fit(tiny_model(hidden=6), tiny_data(200, window=8), sc.TrainConfig(epochs=1),
               callbacks=sc.Callbacks(on_batch=lambda b, n: seen.append(torch.get_num_threads())))
    assert set(seen) == {2} and threads.pinned() is None  # the earlier state (no pin) is back
    with pytest.raises(sc.ConfigError):
        threads.pin(0)


def test_the_cli_takes_threads_and_refuses_zero(tmp_path, capsys):
    from _engine_support import csv_bytes, sine_values
    from scgru_core.cli.main import main
    data = tmp_path / "s.csv"
    data.write_bytes(csv_bytes(sine_values(240)))
    tiny = ["--data", str(data), "--window", "8", "--hidden", "4", "--epochs", "1", "--finetune-epochs", "0", "--quiet"]
    assert main(["run", *tiny, "--threads", "1"]) == 0
    assert main(["run", *tiny, "--threads", "0"]) == 2 and "--threads: 0 is outside [1, " in capsys.readouterr().err
    assert threads.pinned() is None and torch.get_num_threads() == 1  # nothing leaks out of a command
