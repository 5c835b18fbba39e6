"""From a series to supervised windows: transform, chronological split, scaling, windows.

The scaler is fitted on the training part only (the reference code fits on the whole
series and so leaks the test set). Every window lies wholly inside one part, so no
window straddles a split boundary.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import torch

from scgru_core.data.reading import Series
from scgru_core.errors import ConfigError, DataError, SeriesTooShortError

SCALINGS = ("standard", "minmax")
MAX_ABS_VALUE = 1e150  # RMSE and the MSE loss square errors: beyond about 1e154 they overflow float64 to inf


@dataclass(frozen=True)
class WindowConfig:
    window: int = 48
    horizon: int = 1
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    log: bool = False
    scaling: str = "standard"

    def __post_init__(self):
        if self.window < 1:
            raise ConfigError(f"window must be at least 1, not {self.window}.")
        if self.horizon < 1:
            raise ConfigError(f"horizon must be at least 1, not {self.horizon}.")
        if not (0 < self.test_fraction < 0.9 and 0 < self.val_fraction < 0.9
                and self.val_fraction + self.test_fraction < 0.9):
            raise ConfigError("validation and test fractions must each be above 0 and together below 0.9 "
                              f"(got {self.val_fraction} and {self.test_fraction}).")
        if self.scaling not in SCALINGS:
            raise ConfigError(f"scaling must be one of {', '.join(SCALINGS)}, not {self.scaling!r}.")


@dataclass(frozen=True)
class Scaler:
    """Optional log, then affine scaling: z = (f(x) - offset) / scale; fitted on training values."""

    log: bool
    offset: float
    scale: float

    @classmethod
    def fit(cls, train_values: np.ndarray, log: bool, scaling: str) -> "Scaler":
        v = np.log(train_values) if log else train_values
        if scaling == "minmax":
            offset, scale = float(v.min()), float(v.max() - v.min())
        else:
            offset, scale = float(v.mean()), float(v.std())
        if not scale > 0:
            raise DataError("The training part of the series is constant, so it cannot be scaled. "
                            "Use a longer series or a smaller validation/test share.")
        return cls(log=log, offset=offset, scale=scale)

    def transform(self, x: np.ndarray) -> np.ndarray:
        v = np.log(x) if self.log else x
        return (v - self.offset) / self.scale

    def inverse(self, z: np.ndarray | torch.Tensor) -> np.ndarray:
        z = z.detach().cpu().numpy() if isinstance(z, torch.Tensor) else np.asarray(z)
        v = z.astype(np.float64) * self.scale + self.offset
        return np.exp(v) if self.log else v


@dataclass(frozen=True)
class Split:
    """Half-open index ranges of the three parts in the series."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]


@dataclass(frozen=True)
class Windows:
    """Model inputs X (N, window) and targets y (N, horizon), scaled, float32, plus where targets sit."""

    X: torch.Tensor
    y: torch.Tensor
    target_start: np.ndarray  # index in the series of each window's first target

    def __len__(self) -> int:
        return len(self.X)


@dataclass(frozen=True)
class Dataset:
    """Everything training and evaluation need, in one immutable bundle."""

    series: Series
    config: WindowConfig
    scaler: Scaler
    split: Split
    train: Windows
    val: Windows
    test: Windows
    mase_scale: float  # in-sample MAE of the one-step naive forecast on the training part (original units)

    @property
    def window(self) -> int:
        return self.config.window

    @property
    def horizon(self) -> int:
        return self.config.horizon

    def original(self, windows: Windows) -> np.ndarray:
        """Targets of `windows` in original units, shape (N, horizon)."""
        return self.scaler.inverse(windows.y)

    def naive(self, windows: Windows) -> np.ndarray:
        """The naive last-value forecast in original units, shape (N, horizon)."""
        last = self.series.values[windows.target_start - 1]
        return np.repeat(last[:, None], self.horizon, axis=1)


FINGERPRINT_BYTES = 16 * 2**20  # window bytes copied out at a time to be hashed (the digest is of all bytes in order)


def data_fingerprint(data: Dataset) -> str:
    """A digest of exactly what training and evaluation see: split, scaler, MASE scale and every window and
    target (the shipped checkpoints record it; the snapshot cache keys on it)."""
    h = hashlib.sha256()
    h.update(repr((data.split, data.scaler.log, data.scaler.offset, data.scaler.scale, data.mase_scale)).encode())
    for part in ("train", "val", "test"):
        w = getattr(data, part)
        for tensor in (w.X, w.y):  # row blocks, so a view of the series is never copied out whole
            rows = tensor.numpy()
            block = max(1, FINGERPRINT_BYTES // max(1, rows[:1].nbytes))  # windows of 2,000 steps: 2,097 at a time
            for i in range(0, len(rows), block):
                h.update(np.ascontiguousarray(rows[i:i + block]).tobytes())
    return h.hexdigest()


def split_points(n: int, config: WindowConfig) -> Split:
    n_test = int(round(n * config.test_fraction))
    n_val = int(round(n * config.val_fraction))
    n_train = n - n_val - n_test
    return Split(train=(0, n_train), val=(n_train, n_train + n_val), test=(n_train + n_val, n))


def _windows(z: np.ndarray, start: int, stop: int, window: int, horizon: int) -> Windows:
    """Every window of the part and its targets, as views of one copy of the part's values: a window of 48 held
    as its own row made a 1.66-million-value upload cost 330 MB; the views cost the series once (13 MB). Batches
    are copied out as they are used (an index gathers, a slice stays a view)."""
    values = torch.from_numpy(np.ascontiguousarray(z[start:stop], dtype=np.float32))
    frames = values.unfold(0, window + horizon, 1)  # (windows, window + horizon), strides (1, 1): no copy
    return Windows(X=frames[:, :window], y=frames[:, window:], target_start=np.arange(len(frames)) + start + window)


MIN_EVAL_WINDOWS = 10
"""Fewer validation or test windows than this are accepted, with a warning: an RMSE over one or two windows is one
or two errors, noise that early stopping and every comparison would then follow. The refusal of a series too short
suggests a window that leaves at least this many."""


def part_windows(n: int, config: WindowConfig) -> dict[str, int]:
    """How many windows each part of a series of n values holds with these settings."""
    span, split = config.window + config.horizon, split_points(n, config)
    # the fields by name: dataclasses.asdict copies deeply, and minimum_length calls this once per length it tries
    return {part: max(0, stop - start - span + 1)
            for part, (start, stop) in (("train", split.train), ("val", split.val), ("test", split.test))}


def minimum_length(config: WindowConfig, min_train_windows: int = 8, min_eval_windows: int = 1) -> int:
    """The shortest series these settings accept (every part needs whole windows; validation and test
    `min_eval_windows` each)."""
    span = config.window + config.horizon
    n = span + min_train_windows
    while True:
        counts = part_windows(n, config)
        if counts["train"] >= min_train_windows and min(counts["val"], counts["test"]) >= min_eval_windows:
            return n
        n += 1


def few_windows(n: int, config: WindowConfig) -> str | None:
    """A warning when the validation or test part of a series of n values holds fewer than MIN_EVAL_WINDOWS windows,
    with the counts and what to change; None otherwise."""
    counts = part_windows(n, config)
    if min(counts["val"], counts["test"]) >= MIN_EVAL_WINDOWS:
        return None
    largest = largest_window(n, config, MIN_EVAL_WINDOWS)
    fix = (f"lower the window to {largest} or less" if largest else
           f"use a series of at least {minimum_length(replace(config, window=1), min_eval_windows=MIN_EVAL_WINDOWS):,} "
           "values")
    return (f"Only {counts['val']:,} validation and {counts['test']:,} test window(s): errors measured on fewer than "
            f"{MIN_EVAL_WINDOWS} windows are noise (early stopping and every comparison would follow it). To have "
            f"{MIN_EVAL_WINDOWS} or more, {fix}, or raise the validation and test shares.")


def largest_window(n: int, config: WindowConfig, min_eval_windows: int = 1) -> int:
    """The longest window a series of n values accepts with the other settings of `config`, leaving validation and
    test `min_eval_windows` each (0: none)."""
    lo, hi = 0, max(config.window, n)
    while lo < hi:  # minimum_length grows with the window, so bisect
        mid = (lo + hi + 1) // 2
        if n >= minimum_length(replace(config, window=mid), min_eval_windows=min_eval_windows):
            lo = mid
        else:
            hi = mid - 1
    return lo


def prepare(series: Series, config: WindowConfig = WindowConfig(), scaler: Scaler | None = None) -> Dataset:
    """Split chronologically, fit the scaler on the training part, cut windows inside each part. `scaler`: a model's
    own scaling (a model trained elsewhere), used as it is instead of fitting one."""
    n = len(series)
    need = minimum_length(config)
    if n < need:
        largest = largest_window(n, config, MIN_EVAL_WINDOWS)  # a suggestion never leads below the floor
        hint = f"lower the window to {largest} or less" if largest else "use a longer series"
        raise SeriesTooShortError(
            f"The series has {n} values but window {config.window} + horizon {config.horizon} with "
            f"{config.val_fraction:.0%} validation and {config.test_fraction:.0%} test needs at least {need}: {hint}."
        )
    if config.log and (series.values <= 0).any():
        bad = int((series.values <= 0).sum())
        raise DataError(f"The log transform needs positive values, but {bad} values are zero or negative. "
                        "Turn the log transform off.")
    largest = float(np.abs(series.values).max())
    if largest > MAX_ABS_VALUE:
        raise DataError(f"The values are too large to scale and score: the largest is {largest:.3g}, and errors "
                        f"that size overflow a 64-bit float once squared (RMSE, the training loss). Divide the series "
                        f"by a power of ten, for example 1e{max(6, int(np.log10(largest)) - 6)}, and load it again.")
    split = split_points(n, config)
    if scaler is None:
        scaler = Scaler.fit(series.values[split.train[0]:split.train[1]], config.log, config.scaling)
    z = scaler.transform(series.values)
    train_vals = series.values[split.train[0]:split.train[1]]
    h = config.horizon
    # Hyndman & Koehler (2006): the in-sample MAE of the one-step naive forecast, whatever the horizon (the
    # lag-h differences would grow the scale with h and flatter every multi-step model, the naive one too)
    mase_scale = float(np.mean(np.abs(np.diff(train_vals))))
    parts = {name: _windows(z, *getattr(split, name), config.window, h) for name in ("train", "val", "test")}
    return Dataset(series=series, config=config, scaler=scaler, split=split, mase_scale=mase_scale, **parts)
