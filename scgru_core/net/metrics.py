"""Forecast errors in original units: RMSE, MAE, sMAPE (%), MASE."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np



@dataclass(frozen=True)
class MetricSpec:
    """How a metric is named and shown, everywhere: pages, charts, the CLI's summary and JSON, Show code. A new
    metric is a spec here, a field of `Metrics` and a line of `compute`: one file."""

    name: str
    label: str  # what pages and charts call it
    short: str  # the CLI's summary line
    fmt: str  # the CLI's summary number format
    in_units: bool  # in the series' own units (sMAPE is in %, MASE has none)
    percent: bool = False  # a percentage: a difference of two is in percentage points (pp), not in %


METRICS = (MetricSpec("rmse", "RMSE", "RMSE", "{:>12.4g}", True),
           MetricSpec("mae", "MAE", "MAE", "{:>12.4g}", True),
           MetricSpec("smape", "sMAPE (%)", "sMAPE", "{:>7.3f}%", False, percent=True),
           MetricSpec("mase", "MASE", "MASE", "{:.4f}", False))
METRIC_NAMES = tuple(m.name for m in METRICS)
METRIC_LABELS = {m.name: m.label for m in METRICS}
IN_UNITS = tuple(m.name for m in METRICS if m.in_units)
PERCENT = tuple(m.name for m in METRICS if m.percent)


@dataclass(frozen=True)
class Metrics:
    rmse: float
    mae: float
    smape: float  # percent, 0..200
    mase: float  # MAE / in-sample MAE of the one-step naive forecast on the training part (any horizon)

    def to_dict(self) -> dict:
        return asdict(self)


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE in percent; a pair that is 0 and 0 counts as a perfect forecast (zero-safe)."""
    den = np.abs(y) + np.abs(yhat)
    ratio = np.divide(2.0 * np.abs(y - yhat), den, out=np.zeros_like(den, dtype=np.float64), where=den > 0)
    return float(100.0 * ratio.mean())


def mase(mae_value: float, scale: float) -> float:
    """MAE relative to the naive forecast's in-sample MAE; zero-safe when that scale is 0."""
    if scale > 0:
        return float(mae_value / scale)
    return 0.0 if mae_value == 0 else float("inf")


def compute(y: np.ndarray, yhat: np.ndarray, mase_scale: float) -> Metrics:
    y = np.asarray(y, dtype=np.float64).ravel()
    yhat = np.asarray(yhat, dtype=np.float64).ravel()
    err = y - yhat
    mae_value = float(np.abs(err).mean())
    return Metrics(rmse=float(np.sqrt((err ** 2).mean())), mae=mae_value, smape=smape(y, yhat),
                   mase=mase(mae_value, mase_scale))
