"""Forecast errors against hand computations: RMSE, MAE, sMAPE (zero-safe), MASE against the naive forecast."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _engine_support import series_of, tiny_data, tiny_model
from scgru_core import METRIC_NAMES, WindowConfig, evaluate, evaluate_naive, prepare
from scgru_core.net.metrics import compute, mase, smape


def test_metrics_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    yhat = np.array([2.0, 2.0, 1.0, 4.0])
    # errors -1, 0, 2, 0
    m = compute(y, yhat, mase_scale=0.5)
    assert m.mae == pytest.approx(0.75)
    assert m.rmse == pytest.approx(math.sqrt(5 / 4))
    # 2|e| / (|y| + |yhat|): 2/3, 0, 4/4, 0 -> mean 5/12
    assert m.smape == pytest.approx(100 * 5 / 12)
    assert m.mase == pytest.approx(0.75 / 0.5)
    assert list(m.to_dict()) == list(METRIC_NAMES)


def test_multi_step_forecasts_are_averaged_over_every_value():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    yhat = np.array([[1.0, 3.0], [3.0, 1.0]])  # errors 0, -1, 0, 3
    m = compute(y, yhat, mase_scale=1.0)
    assert m.mae == pytest.approx(1.0) and m.rmse == pytest.approx(math.sqrt(10 / 4))


def test_smape_is_zero_safe():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division-by-zero RuntimeWarning either
        assert smape(np.zeros(3), np.zeros(3)) == 0.0
        # pairs (0, 0) -> 0; (0, 1) -> 2; (1, 1) -> 0
        assert smape(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])) == pytest.approx(200 / 3)
        assert smape(np.array([-1.0]), np.array([1.0])) == pytest.approx(200.0)


def test_mase_is_zero_safe():
    assert mase(0.0, 0.0) == 0.0
    assert mase(1.0, 0.0) == math.inf
    assert mase(1.0, 4.0) == 0.25


finite = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: 0.0 if abs(v) < 1e-100 else v)  # no underflow in e**2


@settings(max_examples=80, deadline=None)
@given(pairs=st.lists(st.tuples(finite, finite), min_size=1, max_size=40), c=st.floats(0.01, 100),
       scale=st.floats(0.01, 100))
def test_metric_properties(pairs, c, scale):
    y, yhat = np.array(pairs).T
    m = compute(y, yhat, scale)
    assert 0 <= m.mae <= m.rmse * (1 + 1e-12) + 1e-300
    assert 0 <= m.smape <= 200 + 1e-9
    assert m.mase == pytest.approx(m.mae / scale)
    scaled = compute(c * y, c * yhat, c * scale)  # a change of units
    assert scaled.mae == pytest.approx(c * m.mae, rel=1e-9, abs=1e-300)
    assert scaled.rmse == pytest.approx(c * m.rmse, rel=1e-9, abs=1e-300)
    assert scaled.smape == pytest.approx(m.smape, rel=1e-9, abs=1e-9)
    assert scaled.mase == pytest.approx(m.mase, rel=1e-9, abs=1e-300)
    perfect = compute(y, y, scale)
    assert perfect.rmse == perfect.mae == perfect.smape == perfect.mase == 0.0


def test_mase_of_the_naive_forecast_on_its_own_training_part_is_one():
    values = np.array([1, 3, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11, 15, 13, 14, 18, 16, 17, 21, 19], dtype=float)
    data = prepare(series_of(values), WindowConfig(window=1, val_fraction=0.2, test_fraction=0.2))
    naive = evaluate_naive(data, "train")
    assert naive.metrics.mase == pytest.approx(1.0)
    # split of 20 values at 60/20/20: train [0, 12), val [12, 16), test [16, 20) = 16 17 21 19
    assert data.split.test == (16, 20)
    test = evaluate_naive(data, "test")
    np.testing.assert_allclose(test.actual.ravel(), [17, 21, 19], rtol=1e-6)  # 16 only feeds the first window
    np.testing.assert_allclose(test.forecast.ravel(), [16, 17, 21])
    assert test.metrics.mae == pytest.approx(7 / 3, rel=1e-6)  # |errors| 1, 4, 2
    assert test.metrics.mase == pytest.approx((7 / 3) / (24 / 11), rel=1e-6)


def test_model_evaluation_is_in_original_units():
    data = tiny_data(window=12)
    model = tiny_model(hidden=4)
    ev = evaluate(model, data, "val")
    with np.errstate(all="ignore"):
        raw = model.eval()(data.val.X).detach().numpy()
    np.testing.assert_allclose(ev.forecast, data.scaler.inverse(raw), rtol=1e-6)
    np.testing.assert_allclose(ev.actual, data.series.values[data.val.target_start][:, None], rtol=1e-6)
    m = ev.metrics
    err = ev.actual - ev.forecast
    assert m.rmse == pytest.approx(np.sqrt(np.mean(err ** 2)))
    assert m.mae == pytest.approx(np.mean(np.abs(err)))
    assert m.mase == pytest.approx(m.mae / data.mase_scale)


@pytest.mark.parametrize("horizon", [1, 3])
def test_mase_scales_by_the_one_step_naive_error_on_train_at_any_horizon(horizon):
    """Hyndman & Koehler (2006): MASE = MAE / mean |y_t - y_(t-1)| over the training part, whatever the horizon."""
    import scgru_core as sc
    from _engine_support import sine_series
    data = sc.prepare(sine_series(300), sc.WindowConfig(window=12, horizon=horizon))
    train = data.series.values[data.split.train[0]:data.split.train[1]]
    scale = sum(abs(train[t] - train[t - 1]) for t in range(1, len(train))) / (len(train) - 1)
    naive = sc.evaluate_naive(data)
    mae = float(np.abs(naive.actual - naive.forecast).mean())
    assert data.mase_scale == pytest.approx(scale, rel=1e-12)
    assert naive.metrics.mase == pytest.approx(mae / scale, rel=1e-12)
