"""The server-wide snapshot cache: the same answer as a fresh computation, shared only between identical models
on identical data, bounded."""
from __future__ import annotations

import copy

import numpy as np

import scgru_core as sc
from _engine_support import sine_series, tiny_data, tiny_model
from scgru_core.snapshot_cache import SnapshotCache

CONFIGS = [sc.PruneConfig(sensitivity=s) for s in (0.5, 1.0, 2.0)] + [sc.PruneConfig(method="magnitude", sparsity=0.7),
                                                                      sc.PruneConfig(method="taylor", sparsity=0.5)]


def same(a: sc.Snapshot, b: sc.Snapshot) -> bool:
    return (a.config == b.config and a.cost == b.cost and a.evaluation.metrics == b.evaluation.metrics
            and np.array_equal(a.evaluation.forecast, b.evaluation.forecast)
            and all(bool((a.result.masks[n] == b.result.masks[n]).all()) for n in a.result.masks))


def test_a_cached_snapshot_is_the_fresh_computation():
    data, model = tiny_data(300, window=12), tiny_model(hidden=8, seed=1)
    cached, fresh = sc.PruningLab(model, data, cache=SnapshotCache()), sc.PruningLab(model, data)
    for config in CONFIGS:
        assert same(cached.at(config), fresh.at(config))
        assert cached.at(config) is cached.at(config)  # the second ask is the cache's
    assert cached.cache.misses == len(CONFIGS) and cached.cache.hits == 2 * len(CONFIGS)  # computed once each


def test_two_sessions_with_the_same_model_share_entries_and_different_models_never_do():
    cache, data = SnapshotCache(), tiny_data(300, window=12)
    alice = sc.PruningLab(tiny_model(hidden=8, seed=1), data, cache=cache)
    bob = sc.PruningLab(copy.deepcopy(alice.model), data, cache=cache)  # the same weights: one link, a class
    carol = sc.PruningLab(tiny_model(hidden=8, seed=2), data, cache=cache)  # her own model, same shapes
    config = sc.PruneConfig(sensitivity=1.0)
    assert bob.at(config) is alice.at(config)
    mine = carol.at(config)
    assert mine is not alice.at(config) and same(mine, sc.PruningLab(carol.model, data).at(config))
    other = sc.prepare(sine_series(300, seed=9), sc.WindowConfig(window=12))
    other_data = sc.PruningLab(alice.model, other, cache=cache)  # the same model on other data
    assert other_data.at(config).evaluation.metrics != alice.at(config).evaluation.metrics


def test_the_cache_keeps_only_its_most_recent_entries():
    cache = SnapshotCache(entries=2)
    lab = sc.PruningLab(tiny_model(hidden=6), tiny_data(300, window=12), cache=cache)
    first = lab.at(CONFIGS[0])
    lab.at(CONFIGS[1])
    lab.at(CONFIGS[2])
    assert len(cache) == 2
    assert lab.at(CONFIGS[0]) is not first and same(lab.at(CONFIGS[0]), first)  # dropped, then made again
