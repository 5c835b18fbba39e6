"""Small shared builders for the engine tests: synthetic series, tiny datasets, state comparison.

Everything here is real engine code driven with small sizes; nothing is mocked.
"""
from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import torch

from scgru_core import ModelConfig, WindowConfig, build_model, prepare, series_from_frame


def sine_values(n: int = 400, period: int = 24, noise: float = 0.1, level: float = 10.0, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return level + np.sin(2 * np.pi * t / period) + noise * rng.normal(size=n)


def series_of(values):
    return series_from_frame(pd.DataFrame({"value": np.asarray(values, dtype=float)}))


def sine_series(n: int = 400, **kw):
    return series_from_frame(pd.DataFrame({"value": sine_values(n, **kw)}))


def tiny_data(n: int = 400, window: int = 12, **kw):
    return prepare(sine_series(n), WindowConfig(window=window, **kw))


def tiny_model(hidden: int = 8, layers: int = 1, cell: str = "gru", horizon: int = 1, seed: int = 0):
    return build_model(ModelConfig(hidden=hidden, layers=layers, cell=cell), horizon=horizon, seed=seed)


def csv_bytes(values, start: str = "2021-01-01", freq: str = "h", encoding: str = "utf-8") -> bytes:
    frame = pd.DataFrame({"time": pd.date_range(start, periods=len(values), freq=freq), "value": values})
    return frame.to_csv(index=False).encode(encoding)


def frame_bytes(frame: pd.DataFrame, kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "xlsx":
        frame.to_excel(buf, index=False, engine="openpyxl")
    elif kind == "parquet":
        frame.to_parquet(buf, index=False)
    else:
        raise ValueError(kind)
    return buf.getvalue()


def state_of(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def require_onnx_extras() -> None:
    """ONNX export and ONNX Runtime are optional extras (requirements-export.txt, installed by `make test`):
    a test that needs them is skipped without them locally, and fails under CI, which must run it."""
    import pytest

    from scgru_core.deploy.export import ONNX_MISSING, onnx_available
    if not onnx_available():
        if os.environ.get("CI"):
            pytest.fail(ONNX_MISSING)
        pytest.skip(ONNX_MISSING)
