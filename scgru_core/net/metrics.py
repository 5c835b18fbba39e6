"""Forecast errors in original units: RMSE, MAE, sMAPE (%), MASE."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

METRIC_NAMES = ("rmse", "mae", "smape", "mase")
METRIC_LABELS = {"rmse": "RMSE", "mae": "MAE", "smape": "sMAPE (%)", "mase": "MASE"}


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
