"""The server-wide snapshot cache: the same answer as a fresh computation, shared only between identical models
on identical data, bounded."""
from __future__ import annotations

import copy

import numpy as np

import scgru_core as sc
from _engine_support import sine_series, tiny_data, tiny_model
from scgru_core.serve.snapshot_cache import SnapshotCache

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
    # computed once each (and the Taylor rule's scores once: shared as well)
    assert cached.cache.misses == len(CONFIGS) + 1 and cached.cache.hits == 2 * len(CONFIGS)


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


def test_settings_a_rule_does_not_read_share_one_entry_and_keep_the_callers_config():
    """The Prune page writes the target sparsity while s drives SCGRU: a move must prune once, not twice."""
    lab = sc.PruningLab(tiny_model(hidden=8, seed=1), tiny_data(300, window=12), cache=SnapshotCache())
    asked = [sc.PruneConfig(sensitivity=1.0, sparsity=0.3), sc.PruneConfig(sensitivity=1.0, sparsity=0.8, seed=4)]
    snaps = [lab.at(c) for c in asked]
    assert lab.cache.misses == 1 and lab.cache.hits == 1
    assert [s.config for s in snaps] == asked  # each caller sees the config it asked for
    assert same(snaps[1], sc.PruningLab(lab.model, lab.data).at(asked[1]))
    # settings the rule does read are never merged: another s, floor, or a random rule's seed
    for other in (sc.PruneConfig(sensitivity=1.2), sc.PruneConfig(sensitivity=1.0, floor=0.5),
                  sc.PruneConfig(method="random", sparsity=0.5, seed=1), sc.PruneConfig(method="random", sparsity=0.5)):
        assert lab.key(other) != lab.key(asked[0])
    assert lab.key(sc.PruneConfig(method="random", sparsity=0.5, seed=1)) != lab.key(
        sc.PruneConfig(method="random", sparsity=0.5, seed=2))
    assert lab.key(sc.PruneConfig(method="magnitude", sparsity=0.5, sensitivity=3.0)) == lab.key(
        sc.PruneConfig(method="magnitude", sparsity=0.5))
    assert sc.PruningLab(lab.model, lab.data).key(asked[0]) is None  # no shared cache, no shared key


def test_a_class_on_one_model_computes_the_sensitivity_analysis_and_scores_once():
    cache, data = SnapshotCache(), tiny_data(300, window=12)
    alice = sc.PruningLab(tiny_model(hidden=8, seed=1), data, cache=cache)
    bob = sc.PruningLab(copy.deepcopy(alice.model), data, cache=cache)
    carol = sc.PruningLab(tiny_model(hidden=8, seed=2), data, cache=cache)
    assert not bob.has_analysis()
    analysis = alice.analysis()
    assert bob.has_analysis() and bob.analysis() is analysis  # computed by alice, read by bob
    assert not carol.has_analysis() and carol.analysis() is not analysis  # another model: its own
    assert bob.scores("taylor") is alice.scores("taylor")
    config = sc.PruneConfig(sensitivity=1.0)
    assert bob.reachable_sparsity(config, 5.0) == alice.reachable_sparsity(config, 5.0)
