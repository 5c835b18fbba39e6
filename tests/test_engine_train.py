"""Training: reproducible on CPU, masks held at exactly zero, cancel, divergence, early stopping."""
from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from _engine_support import same_state, state_of, tiny_data, tiny_model
from scgru_core import (Callbacks, ConfigError, PruneConfig, TrainConfig, TrainingDivergedError, finetune, fit, prune,
                        train_dense)
from scgru_core.net.model import ModelConfig
from scgru_core.net.train import loss_on


@pytest.fixture(scope="module")
def data():
    return tiny_data(n=400, window=12)


def test_same_settings_and_seed_give_identical_numbers(data):
    cfg = TrainConfig(epochs=2, seed=7)
    a, ra = train_dense(data, ModelConfig(hidden=8), cfg)
    b, rb = train_dense(data, ModelConfig(hidden=8), cfg)
    assert [(h.train_loss, h.val_loss) for h in ra.history] == [(h.train_loss, h.val_loss) for h in rb.history]
    assert same_state(state_of(a), state_of(b))
    c, rc = train_dense(data, ModelConfig(hidden=8), TrainConfig(epochs=2, seed=8))
    assert not same_state(state_of(a), state_of(c))


def test_training_reduces_the_validation_loss_and_counts_samples(data):
    model = tiny_model(hidden=8)
    before = loss_on(model, data.val)
    batches = []
    result = fit(model, data, TrainConfig(epochs=2, lr=1e-2, patience=0), callbacks=
                 Callbacks(on_batch=lambda i, n: batches.append((i, n))))
    n_batches = math.ceil(len(data.train) / TrainConfig().batch_size)  # the default batch
    assert batches == [(i, n_batches) for i in range(1, n_batches + 1)] * 2
    assert [h.epoch for h in result.history] == [1, 2] and all(h.epochs == 2 for h in result.history)
    assert result.samples == 2 * len(data.train)
    assert loss_on(model, data.val) < before
    assert loss_on(model, data.val) == pytest.approx(min(h.val_loss for h in result.history))


def test_zero_epochs_changes_nothing(data):
    model = tiny_model(hidden=8)
    before = state_of(model)
    result = fit(model, data, TrainConfig(epochs=0))
    assert result.history == [] and result.best_epoch == 0 and same_state(before, state_of(model))


def test_pruned_weights_stay_exactly_zero_at_every_step_of_fine_tuning(data):
    dense = tiny_model(hidden=8)
    fit(dense, data, TrainConfig(epochs=1))
    result = prune(dense, PruneConfig(sensitivity=1.0))
    dense_before = state_of(dense)
    twin = copy.deepcopy(dense)
    params = dict(twin.named_parameters())
    violations = []

    def check_every_step(i, n):
        for name, mask in result.masks.items():
            if bool((params[name].detach()[~mask] != 0).any()):
                violations.append((i, name))

    cfg = TrainConfig(epochs=2, lr=1e-2, weight_decay=1e-3, patience=0)
    fit(twin, data, cfg, masks=result.masks, callbacks=Callbacks(on_batch=check_every_step))
    assert violations == []
    for name, mask in result.masks.items():
        assert bool((params[name].detach()[~mask] == 0).all())
        assert not torch.equal(params[name].detach()[mask], dense_before[name][mask])  # the rest did train
    # experiment.finetune does the same on a copy and leaves the dense model alone
    tuned, _ = finetune(dense, result, data, TrainConfig(epochs=1))
    assert same_state(dense_before, state_of(dense))
    for name, mask in result.masks.items():
        assert bool((dict(tuned.named_parameters())[name].detach()[~mask] == 0).all())


def test_cancel_stops_cleanly_and_leaves_the_best_weights(data):
    model = tiny_model(hidden=8)
    initial_val = loss_on(model, data.val)
    epoch_states, seen = {}, {"batches": 0}

    def on_epoch(log):
        epoch_states[log.epoch] = state_of(model)

    def on_batch(i, n):
        seen["batches"] += 1

    n_batches = math.ceil(len(data.train) / TrainConfig().batch_size)
    stop_after = n_batches + 2  # two batches into the second epoch
    cb = Callbacks(on_epoch=on_epoch, on_batch=on_batch, should_stop=lambda: seen["batches"] >= stop_after)
    result = fit(model, data, TrainConfig(epochs=5, lr=1e-2, patience=0), callbacks=cb)
    assert result.cancelled and not result.stopped_early
    assert len(result.history) == 1 and seen["batches"] == stop_after
    assert result.samples == len(data.train) + 2 * TrainConfig().batch_size
    best = epoch_states[1] if result.history[0].val_loss < initial_val else None
    assert result.best_epoch == (1 if best is not None else 0)
    if best is not None:
        assert same_state(best, state_of(model))  # not the half-trained second epoch


def test_cancel_before_the_first_batch_returns_the_initial_weights(data):
    model = tiny_model(hidden=8)
    before = state_of(model)
    result = fit(model, data, TrainConfig(epochs=3), callbacks=Callbacks(should_stop=lambda: True))
    assert result.cancelled and result.history == [] and same_state(before, state_of(model))


def test_divergence_raises_and_keeps_the_last_good_weights(data):
    model = tiny_model(hidden=8)
    fit(model, data, TrainConfig(epochs=1, lr=1e-2))
    good = state_of(model)
    with pytest.raises(TrainingDivergedError) as info:
        fit(model, data, TrainConfig(epochs=3, lr=1e30))  # Adam moves every weight by ~lr: the loss overflows
    assert info.value.epoch == 1
    assert "Lower the learning rate" in str(info.value)
    assert same_state(good, state_of(model))
    assert all(bool(torch.isfinite(v).all()) for v in model.state_dict().values())


def test_divergence_with_masks_keeps_the_pruned_zeros(data):
    model = tiny_model(hidden=8)
    result = prune(model, PruneConfig(method="magnitude", sparsity=0.5))
    with pytest.raises(TrainingDivergedError):
        fit(model, data, TrainConfig(epochs=2, lr=1e30), masks=result.masks)
    params = dict(model.named_parameters())
    for name, mask in result.masks.items():
        assert bool((params[name].detach()[~mask] == 0).all())
        assert bool(torch.isfinite(params[name]).all())


def test_early_stopping_restores_the_best_epoch(data):
    model = tiny_model(hidden=8)
    states = {}
    cfg = TrainConfig(epochs=12, lr=0.05, patience=1, seed=0)
    result = fit(model, data, cfg, callbacks=Callbacks(on_epoch=lambda log: states.__setitem__(log.epoch,
                                                                                                 state_of(model))))
    vals = [h.val_loss for h in result.history]
    assert result.stopped_early and len(vals) < cfg.epochs
    assert result.best_epoch == int(np.argmin(vals)) + 1
    assert len(vals) - result.best_epoch == cfg.patience  # stopped after `patience` epochs without improvement
    assert result.best_epoch != len(vals)  # so the restore is visible
    assert same_state(states[result.best_epoch], state_of(model))
    assert loss_on(model, data.val) == pytest.approx(vals[result.best_epoch - 1], rel=1e-12)


@pytest.mark.parametrize("kw", [{"epochs": -1}, {"batch_size": 0}, {"lr": 0.0}, {"lr": float("nan")},
                                {"lr": float("inf")}])
def test_train_config_refuses_bad_settings(kw):
    with pytest.raises(ConfigError):
        TrainConfig(**kw)



def test_a_sweep_stopped_during_fine_tuning_keeps_only_finished_points():
    """Stop in the middle of the second point's fine-tune: that half-tuned point is not reported."""
    from scgru_core import PruneConfig, PruningLab, TrainConfig, sweep, sweep_configs

    data = tiny_data()
    model = tiny_model()
    lab = PruningLab(model, data)
    points = sweep_configs(PruneConfig(), sensitivities=[0.5, 1.0, 2.0])
    done, calls = [], itertools.count()
    rows = sweep(lab, points, TrainConfig(epochs=3, batch_size=64, seed=0),
                 progress=lambda i, n: done.append(i), should_stop=lambda: len(done) >= 1 and next(calls) > 2)
    assert len(rows) == 1 and rows[0]["sensitivity"] == 0.5 and "finetuned_rmse" in rows[0]



def test_the_training_estimate_comes_from_the_models_size_and_counts_every_epoch():
    """No model is built at the size asked for: the estimate scales a rate measured once on small models, so it
    grows with the epochs and the windows, and costs the same for the largest model the widgets allow."""
    import time

    from scgru_core.net.budget import calibration, training_seconds
    calibration("gru")  # once per process
    one = training_seconds(ModelConfig(hidden=16), TrainConfig(epochs=1), 12, 400, 60)
    assert 0 < one < 60 and math.isfinite(one)
    assert training_seconds(ModelConfig(hidden=16), TrainConfig(epochs=3), 12, 400, 60) == pytest.approx(3 * one)
    assert training_seconds(ModelConfig(hidden=16), TrainConfig(epochs=1), 12, 800, 60) > one
    assert training_seconds(ModelConfig(hidden=16), TrainConfig(epochs=0), 12, 400, 60) == 0.0  # nothing to wait for
    t0 = time.process_time()
    big = training_seconds(ModelConfig(hidden=256, layers=3), TrainConfig(epochs=500, batch_size=256), 2000, 10_000,
                           8_000)
    assert big > 3600 and time.process_time() - t0 < 0.5  # hours, said in well under a second of CPU


def test_a_training_over_the_memory_budget_is_refused_before_anything_is_allocated(monkeypatch):
    """The largest training the widgets allow (batch 256, window 2000, hidden 256 x 3) grew a server past 17.8 GB:
    it is refused by its size, naming the budget and a value of each setting that fits; `fit` itself checks."""
    import re

    from scgru_core.net.budget import MemoryBudgetError, check_memory, training_bytes
    model, train = ModelConfig(hidden=256, layers=3), TrainConfig(batch_size=256)
    with pytest.raises(MemoryBudgetError, match=r"about 20.4 GB .* over the 1.0 GB one training may use here") as info:
        check_memory(model, train, 2000)
    for name, value in re.findall(r"(batch|window|hidden) ([\d,]+) or less", str(info.value)):
        fits = {"batch": (model, TrainConfig(batch_size=int(value)), 2000),
                "window": (model, train, int(value)),
                "hidden": (ModelConfig(hidden=int(value), layers=3), train, 2000)}[name]
        check_memory(*fits)  # each suggestion alone fits ...
        assert training_bytes(fits[0], fits[1].batch_size, fits[2]) <= 1e9
    monkeypatch.setenv("SCGRU_TRAINING_MEMORY_MB", "0.001")
    data = tiny_data(400, window=12)
    model = tiny_model(hidden=16)
    before = state_of(model)
    with pytest.raises(MemoryBudgetError):
        fit(model, data, TrainConfig(epochs=1))
    assert same_state(before, state_of(model))


def test_bf16_trains_where_the_cpu_has_it_and_falls_back_to_fp32_elsewhere():
    from scgru_core.net.quantize import bf16_native
    data = tiny_data(n=400, window=12)
    plain, low = tiny_model(hidden=8), tiny_model(hidden=8)
    a = fit(plain, data, TrainConfig(epochs=2, patience=0))
    b = fit(low, data, TrainConfig(epochs=2, patience=0, precision="bf16"))
    assert a.precision == "fp32" and b.precision == ("bf16" if bf16_native() else "fp32")
    assert all(p.dtype == torch.float32 for p in low.parameters())  # weights and Adam stay fp32
    if b.precision == "fp32":
        assert same_state(state_of(plain), state_of(low))
    else:  # a lower-precision forward: other numbers, the same training
        assert not same_state(state_of(plain), state_of(low))
        assert b.history[-1].val_loss == pytest.approx(a.history[-1].val_loss, rel=0.2)
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        TrainConfig(precision="fp16")


def test_a_validation_pass_holds_a_bounded_batch_and_gives_the_same_loss(data):
    """loss_on splits its windows so a batch holds at most EVAL_FLOATS hidden values per layer (a long window at a
    large hidden size took gigabytes); the loss is the same however it is split."""
    import scgru_core.net.budget as budget_module
    import scgru_core.net.train as train_module
    from scgru_core import ModelConfig, build_model

    model = build_model(ModelConfig(hidden=8), horizon=data.horizon, seed=0)
    whole = train_module.loss_on(model, data.val)
    seen = []
    original = model.forward

    def forward(X):
        seen.append(len(X))
        return original(X)

    model.forward = forward
    tiny = data.val.X.shape[1] * 8 * 5  # room for 5 windows a batch
    mp = pytest.MonkeyPatch()
    mp.setattr(budget_module, "EVAL_FLOATS", tiny)
    try:
        split = train_module.loss_on(model, data.val)
    finally:
        mp.undo()
    assert max(seen) == 5 and sum(seen) == len(data.val)
    assert split == pytest.approx(whole, rel=1e-6)
