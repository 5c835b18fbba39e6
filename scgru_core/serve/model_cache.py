"""Trained dense models shared by every session of one server: training is deterministic, so the second
student who asks for the same model gets it at once.

The key is the data's fingerprint (a digest of every window, target, the split and the scaler: the bytes the
model was trained on), the model settings and the training settings, the seed among them. It holds no name,
file name or session id, and nothing here lists what it holds: a session finds a model only by presenting the
very same data and settings, so an upload stays private. Entries are copied in and out, so a session can
never change what another one gets. Bounded: the least recently used model goes first.

    cache = ModelCache(entries=32)
    hit = cache.get(data, model_config, train_config)
    if hit is None:  # one training per key at a time: the server's TrainingQueue joins requests with this key
        model, result = train(...); cache.put(data, model_config, train_config, model, result)
"""
from __future__ import annotations

import copy
from typing import NamedTuple

from scgru_core.net.model import Forecaster, ModelConfig, build_model
from scgru_core.serve.snapshot_cache import SnapshotCache
from scgru_core.net.train import TrainConfig, TrainResult
from scgru_core.data.windows import Dataset, data_fingerprint

DEFAULT_ENTRIES = 32  # the default model is 53 KB of weights; a hidden-256, 3-layer one 4.7 MB: 150 MB at most


class Cached(NamedTuple):
    model: Forecaster  # a private copy, eval mode
    training: TrainResult


class ModelCache:
    """(data, model settings, training settings) -> trained weights and history; thread-safe LRU."""

    def __init__(self, entries: int = DEFAULT_ENTRIES):
        self._lru = SnapshotCache(entries)

    @staticmethod
    def key(data: Dataset, model_config: ModelConfig, train_config: TrainConfig) -> tuple:
        return data_fingerprint(data), data.horizon, model_config, train_config

    def has(self, data: Dataset, model_config: ModelConfig, train_config: TrainConfig) -> bool:
        """Whether the model is held, without copying it out (for deciding, not using)."""
        return self.key(data, model_config, train_config) in self._lru

    def get(self, data: Dataset, model_config: ModelConfig, train_config: TrainConfig) -> Cached | None:
        """A fresh copy of the cached model, or None."""
        found = self._lru.get(self.key(data, model_config, train_config))
        if found is None:
            return None
        state, training = found
        model = build_model(model_config, horizon=data.horizon)
        model.load_state_dict(state)
        return Cached(model.eval(), copy.deepcopy(training))

    def put(self, data: Dataset, model_config: ModelConfig, train_config: TrainConfig, model: Forecaster,
            training: TrainResult) -> None:
        """Keep a finished training (a stopped or diverged one is not what these settings give: not kept)."""
        if training.cancelled:
            return
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._lru.put(self.key(data, model_config, train_config), (state, copy.deepcopy(training)))

    def __len__(self) -> int:
        return len(self._lru)
