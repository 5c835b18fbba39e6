"""What one browser session holds, as one typed object under one session-state key.

Widgets keep their own values under their keys (the settings table's in scgru_core/teach/settings.py, the pages' view
controls beside them); everything else the app keeps for a session is a field here, so every page reads the
same names and a new piece of state is one line in this class, not a new string key.

    now = session.get()
    if now.lab is not None: ...
    now.prune_setting = PruneSetting(...)
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

import pandas as pd
import streamlit as st

import scgru_core as sc

KEY = "session"  # the one session-state key the app itself uses (besides widget keys)


class Source(TypedDict, total=False):
    kind: str  # "sample" or "upload"
    label: str
    units: str
    key: str  # the sample's key (samples only)
    filename: str  # the upload's file name (uploads only)
    digest: str  # where the server keeps the upload (server.uploads(); uploads only): a link carries it


# Records of what was computed from the model in place. Each carries the model's version, and `fresh` is the one
# check that it still belongs to the model on screen.

@dataclass(frozen=True)
class ModelInfo:
    model_config: sc.ModelConfig
    train_config: sc.TrainConfig
    training: sc.TrainResult
    version: int
    origin: str | None = None  # the file it was loaded from, if any
    made: str = "trained"  # "trained", "followed" (a training under way it joined), "shared" (the server's model
    #                        cache), "shipped" (a checkpoint) or "file"


@dataclass(frozen=True)
class PreviousModel:
    """The model the last install replaced, on the same data: it can be put back."""

    model: sc.Forecaster
    model_config: sc.ModelConfig
    train_config: sc.TrainConfig
    training: sc.TrainResult
    rmse: float
    data: sc.Dataset
    origin: str | None = None


@dataclass(frozen=True)
class PruneSetting:
    version: int  # the model version it belongs to
    config: sc.PruneConfig
    sparsity: float
    metrics: dict
    cost: dict

    @classmethod
    def of(cls, snap: sc.Snapshot) -> "PruneSetting":
        """The Prune page's setting as its snapshot shows it (the sidebar and the Trade-offs star read it)."""
        return cls(get().version, snap.config, snap.result.sparsity, snap.evaluation.metrics.to_dict(),
                   snap.cost.to_dict())


@dataclass(frozen=True)
class Finetuned:
    version: int
    config: sc.PruneConfig
    model: sc.Forecaster
    masks: Any
    evaluation: sc.Evaluation
    training: sc.TrainResult


@dataclass(frozen=True)
class Deployed:
    """Deploy's last result: the units removed, fine-tuned and measured."""

    version: int
    config: sc.UnitConfig
    masks_from: str
    result: sc.ShrinkResult
    report: sc.DeploymentReport
    zip: Any  # the smaller model's download (a zero-argument function making its bytes)


class Following(TypedDict):
    """A dense training this session asked for, running in the server's training line (it outlives script runs)."""
    ticket: sc.Ticket
    page: str  # where its messages go
    model_config: sc.ModelConfig
    train_config: sc.TrainConfig
    data: sc.Dataset  # the data it trains on: installed only while it is still the data in force
    after: Any  # called once its model is installed (a link's Prune settings put back), or None
    made: str  # "trained" (this session started it) or "followed" (it joined one under way)


class Pending(TypedDict):
    frame: pd.DataFrame  # an upload that parsed but cannot be used with the settings yet
    source: Source


@dataclass
class Session:
    """One browser session's data, model, results and jobs (widget values live under their own keys)."""

    # data in force
    table: pd.DataFrame | None = None  # the raw table the series came from
    source: Source | None = None
    read: sc.ReadConfig | None = None
    windows: sc.WindowConfig | None = None
    series: sc.Series | None = None
    data: sc.Dataset | None = None
    pending: Pending | None = None
    upload_waiting: bool = False  # a new upload, read by the page body (where a spinner shows), not the callback
    uploads: int = 0  # files read so far: the uploader's key follows it, so after each read it comes back empty
    model_zip_done: str | None = None  # the model zip already loaded (a rerun must not load it twice)
    # the trained model and what was computed from it
    lab: sc.PruningLab | None = None
    model_info: ModelInfo | None = None
    version: int = 0  # increases with every installed model; results are keyed by it
    previous: PreviousModel | None = None
    prune_setting: PruneSetting | None = None  # the Prune page's setting
    finetuned: Finetuned | None = None
    sweeps: dict = field(default_factory=dict)  # Trade-offs: {(version, method, ...): [rows]}
    deploy: Deployed | None = None
    compare: dict | None = None  # {"data": Dataset, "cache": trained models, "runs": {settings: results}}
    prune_for: int | None = None  # the model version the Prune controls were last reset for
    lab_config: sc.PruneConfig | None = None  # the Prune settings as of this session's last run (the fill follows)
    # jobs and messages
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # who this session is to a shared training
    job: dict | None = None  # a fine-tune run in progress (survives a Stop, which interrupts the script)
    training: Following | None = None  # the dense training this session waits for (in the server's line)
    messages: dict = field(default_factory=dict)  # {page: [(kind, text)]} shown once on that page
    playing: Any = None  # the Play control's state while it plays (lab_ui/play.py)
    replaying: Any = None  # a training's replay while it plays (lab_ui/replay.py)
    teacher: bool = False  # opened the class's teacher's link (its token checked; lab_ui/classroom.py)
    class_model: tuple | None = None  # (model version, its digest): which model a student's place is on
    alerts: list = field(default_factory=list)  # [(kind, text)] shown once at the top of whichever page is next
    # links, Reset and the lesson
    started: bool = False  # the session's first run has put a link's state (or the defaults) in place
    pending_model: tuple | None = None  # (LabState, asked, offer): the model a link, Reset or a step asked for
    link_offer: tuple | None = None  # a link's model that would need training: (state, model version then, seconds)
    link_upload: tuple | None = None  # a link's upload the server no longer holds: (digest, LabState, ReadConfig)
    follow_training: str | None = None  # the id of the training a reloaded page's link was following
    notes: list = field(default_factory=list)  # notes about a link, shown once above the page
    lesson_moved: set = field(default_factory=set)  # the lesson steps whose control the student moved
    lesson_latency: dict = field(default_factory=dict)  # measured latencies, by (version, config)
    demo_opens: bool = False  # Home's demo was clicked: open the Prune page once its model is in place
    # widget values that survive pages and fragment runs (lab_ui/memory.py)
    widget_values: dict = field(default_factory=dict)  # {widget key: its last value}
    widget_written: dict = field(default_factory=dict)  # {widget key: the value the app last wrote there}

    def take(self, name: str):
        """The field's value, and the field back to its default (a one-shot flag or a popped record)."""
        value = getattr(self, name)
        f = next(f for f in fields(self) if f.name == name)
        setattr(self, name, f.default_factory() if callable(f.default_factory) else f.default)
        return value


def fresh(record):
    """`record` while it belongs to the model in place (its version), else None: the one validity check of every
    record computed from a model (a Prune setting, a fine-tuned twin, Deploy's result)."""
    return record if record is not None and record.version == get().version else None


def get() -> Session:
    """This browser session's object (created on its first run)."""
    now = st.session_state.get(KEY)
    if now is None:
        now = st.session_state[KEY] = Session()
    return now
