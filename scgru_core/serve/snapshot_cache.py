"""Snapshots shared by everyone who prunes the same model: a bounded, thread-safe LRU (model_cache uses it too).

A snapshot (masks, test metrics and forecasts, costs) depends only on the dense weights, the data and the
pruning config, so a class opening one link and moving to the same s needs each setting computed once. The
key holds a digest of the weights and the data's fingerprint (windows.data_fingerprint), never a session id: two
sessions share an entry exactly when their models and data are identical, and never otherwise. Entries are
read-only; nothing a session holds is ever changed by another.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import torch


DEFAULT_ENTRIES = 512  # a snapshot of the default model is about 60 KB (masks, forecasts): about 30 MB at most


def model_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, by name."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


class SnapshotCache:
    """key -> snapshot, the least recently used dropped beyond `entries`; hits and misses counted."""

    def __init__(self, entries: int = DEFAULT_ENTRIES):
        self.entries = entries
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, default=None):
        """The entry (now the most recently used), or `default`; counted as a hit or a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return default

    def __contains__(self, key) -> bool:
        """Whether `key` is held (neither a hit nor a use: the entry keeps its place)."""
        with self._lock:
            return key in self._items

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def get_or_make(self, key, make):
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            value = make()  # outside the lock: two sessions asking at once may both compute, never block each other
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._items)
