"""Windows and splits: chronological, no window straddles a boundary, the scaler sees the training part only,
and every transform inverts back to original units."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from _engine_support import series_of, sine_values
from scgru_core import ConfigError, DataError, WindowConfig, evaluate_naive, prepare
from scgru_core.data.windows import Scaler, minimum_length

PROPS = settings(max_examples=40, deadline=None)


configs = st.builds(WindowConfig, window=st.integers(1, 24), horizon=st.integers(1, 4),
                    val_fraction=st.sampled_from([0.1, 0.15, 0.2, 0.3]),
                    test_fraction=st.sampled_from([0.1, 0.15, 0.2, 0.3]),
                    log=st.booleans(), scaling=st.sampled_from(["standard", "minmax"]))


@PROPS
@given(config=configs, extra=st.integers(0, 300), seed=st.integers(0, 1000))
def test_windows_lie_inside_one_part_and_are_chronological(config, extra, seed):
    n = minimum_length(config) + extra
    values = sine_values(n, seed=seed)
    data = prepare(series_of(values), config)
    w, h = config.window, config.horizon
    split = data.split
    assert split.train[0] == 0 and split.train[1] == split.val[0] and split.val[1] == split.test[0] \
        and split.test[1] == n
    for part in ("train", "val", "test"):
        lo, hi = getattr(split, part)
        win = getattr(data, part)
        t = win.target_start
        assert len(win) == hi - lo - w - h + 1 >= 1  # every window that fits, and only those
        assert (t - w >= lo).all() and (t + h <= hi).all(), f"a {part} window straddles the split"
        assert (np.diff(t) == 1).all()  # consecutive, in time order
        z = data.scaler.transform(values)
        idx = t[:, None] + np.arange(-w, 0)
        np.testing.assert_allclose(win.X.numpy(), z[idx], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(win.y.numpy(), z[t[:, None] + np.arange(h)], rtol=1e-5, atol=1e-5)
        assert win.X.dtype == torch.float32 and win.X.shape == (len(win), w) and win.y.shape == (len(win), h)
    # the parts follow each other in time
    assert data.train.target_start[-1] < data.val.target_start[0] < data.test.target_start[0]


@PROPS
@given(config=configs, seed=st.integers(0, 1000), bump=st.floats(-5, 50))
def test_scaler_is_fitted_on_the_training_part_only(config, seed, bump):
    n = minimum_length(config) + 40
    values = sine_values(n, seed=seed)
    base = prepare(series_of(values), config)
    changed = values.copy()
    changed[base.split.val[0]:] += bump + np.linspace(0, 9, n - base.split.val[0])  # rewrite validation and test
    other = prepare(series_of(changed), config)
    assert other.scaler == base.scaler
    assert torch.equal(other.train.X, base.train.X) and torch.equal(other.train.y, base.train.y)
    assert other.mase_scale == base.mase_scale
    train_changed = values.copy()
    train_changed[0] += 3.0
    assert prepare(series_of(train_changed), config).scaler != base.scaler


def test_standard_and_minmax_scaling_of_the_training_part():
    values = sine_values(300)
    data = prepare(series_of(values), WindowConfig(window=8, scaling="standard"))
    z = data.scaler.transform(values[slice(*data.split.train)])
    assert z.mean() == pytest.approx(0, abs=1e-9) and z.std() == pytest.approx(1, rel=1e-9)
    data = prepare(series_of(values), WindowConfig(window=8, scaling="minmax"))
    z = data.scaler.transform(values[slice(*data.split.train)])
    assert z.min() == pytest.approx(0, abs=1e-12) and z.max() == pytest.approx(1, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(1e-3, 1e6), min_size=2, max_size=50), log=st.booleans(),
       scaling=st.sampled_from(["standard", "minmax"]))
def test_inverse_transform_round_trips(values, log, scaling):
    x = np.asarray(values)
    assume(np.ptp(np.log(x) if log else x) > 1e-6 * np.abs(x).max())
    scaler = Scaler.fit(x, log, scaling)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-9, atol=1e-12 * x.max())
    z32 = torch.from_numpy(scaler.transform(x).astype(np.float32))  # as the model sees it
    np.testing.assert_allclose(scaler.inverse(z32), x, rtol=2e-5, atol=0 if log else 1e-6 * x.max())


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("horizon", [1, 3])
def test_targets_in_original_units_are_the_series_values(log, horizon):
    values = sine_values(300)
    data = prepare(series_of(values), WindowConfig(window=10, horizon=horizon, log=log))
    for part in ("train", "val", "test"):
        win = getattr(data, part)
        expected = values[win.target_start[:, None] + np.arange(horizon)]
        np.testing.assert_allclose(data.original(win), expected, rtol=1e-5)
        naive = data.naive(win)
        assert naive.shape == expected.shape
        np.testing.assert_array_equal(naive, np.repeat(values[win.target_start - 1][:, None], horizon, axis=1))


def test_mase_scale_is_the_naive_in_sample_error_by_hand():
    values = np.array([1, 3, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11, 15, 13, 14, 18, 16, 17, 21, 19], dtype=float)
    config = WindowConfig(window=1, val_fraction=0.2, test_fraction=0.2)
    data = prepare(series_of(values), config)
    assert data.split.train == (0, 12)
    # |diffs| of 1 3 2 6 4 5 9 7 8 12 10 11 are 2 1 4 2 1 4 2 1 4 2 1: sum 24 over 11
    assert data.mase_scale == pytest.approx(24 / 11)
    data2 = prepare(series_of(values), WindowConfig(window=1, horizon=2, val_fraction=0.2, test_fraction=0.2))
    # Hyndman & Koehler (2006): the one-step naive error at any horizon, not the lag-2 |diffs| (23 / 10)
    assert data2.split.train == (0, 12) and data2.mase_scale == pytest.approx(24 / 11)


def test_log_transform_refuses_non_positive_values():
    values = sine_values(300) - 10.0  # around zero
    with pytest.raises(DataError, match="log transform"):
        prepare(series_of(values), WindowConfig(window=8, log=True))


def test_constant_training_part_is_refused():
    values = np.concatenate([np.full(250, 5.0), sine_values(100)])
    with pytest.raises(DataError, match="training part"):
        prepare(series_of(values), WindowConfig(window=8))


@pytest.mark.parametrize("kw", [{"window": 0}, {"horizon": 0}, {"val_fraction": 0.0}, {"test_fraction": 0.9},
                                {"val_fraction": 0.5, "test_fraction": 0.45}, {"scaling": "robust"}])
def test_window_config_refuses_bad_settings(kw):
    with pytest.raises(ConfigError):
        WindowConfig(**kw)


@pytest.mark.parametrize("window", [1, 5, 48])
def test_minimum_length_is_exactly_the_shortest_accepted(window):
    config = WindowConfig(window=window)
    need = minimum_length(config)
    assert len(prepare(series_of(sine_values(need)), config).test) >= 1
    with pytest.raises(DataError):
        prepare(series_of(sine_values(need - 1)), config)


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_values_whose_spread_overflows_are_refused_before_any_training(scaling):
    values = np.where(np.arange(300) % 2, 1e300, -1e300) * (1 + np.sin(np.arange(300)) / 10)
    with pytest.raises(DataError, match="too large to scale and score.*Divide the series by a power of ten"):
        prepare(series_of(values), WindowConfig(window=12, scaling=scaling))
    data = prepare(series_of(values / 1e294), WindowConfig(window=12, scaling=scaling))  # what the message advises
    assert np.isfinite(data.train.X.numpy()).all() and data.scaler.scale > 0
    naive = evaluate_naive(data).metrics
    assert np.isfinite([naive.rmse, naive.mae, naive.mase]).all()


def test_a_single_huge_value_in_the_test_part_is_refused_too():
    values = 10 + np.sin(np.arange(300))
    values[-5] = 1e200  # scaling is fitted on the training part, but the errors are scored on the test part
    with pytest.raises(DataError, match="the largest is 1e\\+200"):
        prepare(series_of(values), WindowConfig(window=12))
