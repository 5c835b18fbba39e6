"""What one server process shares between its sessions: the warm-up, the caches of trained models, snapshots and
figures, the built-in samples, and the training line. Nothing here holds a session's own data; every key is a
digest of weights and data, so two sessions share an entry exactly when their models and data are identical.
"""
from __future__ import annotations

import gc
import os

import pandas as pd
import streamlit as st
import torch

import scgru_core as sc
from scgru_core.serve.model_cache import DEFAULT_ENTRIES as MODEL_ENTRIES
from scgru_core.serve.model_cache import ModelCache
from scgru_core.data.samples import SAMPLES
from scgru_core.serve.snapshot_cache import DEFAULT_ENTRIES, SnapshotCache
from scgru_core.store.uploads import UploadStore

from . import heap

TORCH_THREADS = int(os.environ.get("SCGRU_TORCH_THREADS", "1"))


@st.cache_resource(show_spinner=False)
def warm_up() -> bool:
    """Once per process: one torch thread per operation, the first Adam's lazy imports paid, then the
    heap frozen so Streamlit's full garbage collection after every run has almost nothing to scan (notes §3).

    One thread: these GRUs are small, and on a shared 2-core machine a second intra-op thread made
    an epoch 15x slower and a slider move 6x slower whenever anything else was running (measured).
    """
    sc.threads.pin(TORCH_THREADS)  # every session's work, training included, on this many threads
    heap.give_back()  # what sessions free goes back to the system, not into per-thread arenas
    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())
    gc.collect()
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def snapshot_cache() -> SnapshotCache:
    """One per server: sessions pruning identical models (a class on one link) compute each setting once. Keyed
    by digests of the weights and data, so no session ever sees another's model; SCGRU_SNAPSHOT_ENTRIES bounds it."""
    return SnapshotCache(int(os.environ.get("SCGRU_SNAPSHOT_ENTRIES", DEFAULT_ENTRIES)))


@st.cache_resource(show_spinner=False)
def figure_cache() -> SnapshotCache:
    """One per server: the figures drawn from shared snapshots (a class moving to the same s draws each once)."""
    return SnapshotCache(int(os.environ.get("SCGRU_SNAPSHOT_ENTRIES", DEFAULT_ENTRIES)))


def figure(current: sc.PruningLab, snap: sc.Snapshot, view: tuple, make):
    """The figure `make()` draws from `snap` in `view` (the tab and its own settings), drawn once per server for
    each snapshot and view. Callers only read it (Streamlit serialises a copy)."""
    key = current.key(snap.config)
    return make() if key is None else figure_cache().get_or_make((key, view), make)


@st.cache_resource(show_spinner=False)
def trainers() -> sc.TrainingQueue:
    """One per server: trainings run a few at a time (all cores but one, SCGRU_TRAINING_SLOTS to choose), the rest
    wait in line, so five students training leave the slider moves of the others a core."""
    slots = os.environ.get("SCGRU_TRAINING_SLOTS")
    return sc.TrainingQueue(int(slots) if slots else None)


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """One per server: a model trained (or loaded from a shipped checkpoint) for some data and settings is handed
    to every session that asks for the same (a class on one link trains once). Keyed by the data's digest and the
    settings; SCGRU_MODEL_CACHE_ENTRIES bounds it."""
    return ModelCache(int(os.environ.get("SCGRU_MODEL_CACHE_ENTRIES", MODEL_ENTRIES)))


@st.cache_resource(show_spinner=False)
def uploads() -> UploadStore:
    """One per server (the folder is shared by every process of `make class PROCESSES=N`): the uploads a reload or a
    link finds again, bounded in count and bytes (SCGRU_UPLOAD_DIR chooses the folder)."""
    return UploadStore()


@st.cache_resource(show_spinner=False, max_entries=len(SAMPLES))
def sample_series(key: str) -> sc.Series:
    """A built-in sample's series, read once per server (public data; callers only read it)."""
    return sc.load_series(SAMPLES[key].path)


@st.cache_data(show_spinner=False, max_entries=len(SAMPLES))  # a decorator that had slipped onto snapshot_cache
def sample_table(key: str) -> pd.DataFrame:
    """A built-in sample's table (public data; every call gets its own copy)."""
    return sc.read_table(SAMPLES[key].path)
