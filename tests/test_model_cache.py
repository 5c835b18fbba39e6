"""The server's cache of trained models: the same data and settings give the same model to every session, copies in
and out, and a bound on what it keeps (one training per model: tests/test_training_queue.py)."""
from __future__ import annotations


import torch

import scgru_core as sc
from _engine_support import tiny_data
from scgru_core.store.checkpoints import weights_equal
from scgru_core.serve.model_cache import ModelCache

MC, TC = sc.ModelConfig(hidden=8), sc.TrainConfig(epochs=1, seed=0)


def trained(data, train_config=TC):
    return sc.train_dense(data, MC, train_config)


def test_a_model_comes_back_equal_and_as_a_copy_nobody_else_can_change():
    cache, data = ModelCache(), tiny_data()
    model, result = trained(data)
    assert cache.get(data, MC, TC) is None and not cache.has(data, MC, TC)
    cache.put(data, MC, TC, model, result)
    assert cache.has(data, MC, TC)
    first, second = cache.get(data, MC, TC), cache.get(data, MC, TC)
    assert weights_equal(first.model, model) and first.training.history == result.history
    with torch.no_grad():
        first.model.head.weight.add_(1.0)  # one session changes its copy
    assert weights_equal(second.model, model) and weights_equal(cache.get(data, MC, TC).model, model)


def test_other_data_or_any_setting_that_changes_the_weights_is_another_model():
    cache, data = ModelCache(), tiny_data()
    cache.put(data, MC, TC, *trained(data))
    assert cache.get(tiny_data(n=401), MC, TC) is None  # other bytes
    assert cache.get(data, MC, sc.TrainConfig(epochs=1, seed=1)) is None
    assert cache.get(data, sc.ModelConfig(hidden=16), TC) is None


def test_a_stopped_training_is_not_kept_and_the_oldest_model_goes_first():
    cache, data = ModelCache(entries=2), tiny_data()
    model, result = trained(data)
    cache.put(data, MC, TC, model, sc.TrainResult(history=result.history, best_epoch=1, cancelled=True))
    assert cache.get(data, MC, TC) is None
    configs = [sc.TrainConfig(epochs=1, seed=s) for s in range(3)]
    for tc in configs:
        cache.put(data, MC, tc, model, result)
    assert len(cache) == 2 and cache.get(data, MC, configs[0]) is None and cache.get(data, MC, configs[2])
