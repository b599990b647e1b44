"""Positive series (spending, GDP) get positive, calibrated intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import panel
from models.conformal import log_sd
from models.data import load_nato_defexp, validate_long
from models.panel_auto import forecast_panel
from models.selection import AutoForecaster, make_forecaster


def falling_panel(n_series: int = 12, length: int = 14, seed: int = 2) -> pd.DataFrame:
    """Positive series that fall steeply: level-scale intervals would cross zero."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        y = 50 * np.exp(np.cumsum(rng.normal(-0.15, 0.2, length)))
        rows += [(f"s{i}", 2000 + t, float(v)) for t, v in enumerate(y)]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def test_positive_series_never_get_a_negative_lower_bound():
    fc = AutoForecaster(horizon=6, n_windows=3).fit(falling_panel()).predict(10)
    assert (fc[["lo-80", "lo-95"]].to_numpy() >= 0).all()
    assert (fc["lo-95"] <= fc["lo-80"]).all()
    assert (fc["hi-80"] <= fc["hi-95"]).all()


def test_nato_spending_forecasts_have_no_negative_bound():
    spending = load_nato_defexp()[["unique_id", "ds", "y"]]
    fc = AutoForecaster(horizon=6, n_windows=3).fit(spending).predict(8)
    assert (fc["lo-95"] > 0).all()


def test_series_with_a_negative_value_keep_level_scale_intervals():
    df = falling_panel().assign(y=lambda d: d["y"] - 20)  # crosses zero
    model = AutoForecaster(horizon=4, n_windows=3).fit(df)
    assert not any(model.positive_.values())
    fc = model.predict(4)
    assert np.isfinite(fc[["lo-95", "hi-95"]].to_numpy()).all()


def test_positive_false_turns_log_scale_intervals_off():
    model = AutoForecaster(horizon=4, n_windows=3, positive=False).fit(falling_panel())
    assert not any(model.positive_.values())


def test_log_sd_is_the_lognormal_sd_and_sd_over_mean_to_first_order():
    mean, sd = 40.0, 2.0
    cv = sd / mean
    # the lognormal with this mean and sd has var(log Y) = log(1 + cv^2)
    assert log_sd(sd, mean) == pytest.approx(np.sqrt(np.log1p(cv**2)))
    assert log_sd(sd, mean) == pytest.approx(cv, rel=2e-3)
    assert np.isnan(log_sd(1.0, 0.0))
    assert np.isnan(log_sd(1.0, -3.0))
    assert np.isfinite(log_sd(1e300, 1e-300))


def spike_panel() -> pd.DataFrame:
    """A positive series of ones with one value of 1e12: the models' sd dwarfs their mean."""
    y = [1.0, 1.0, 1.0, 1.0, 1e12, 1.0, 1.0, 1.0]
    return pd.DataFrame({"unique_id": "spike", "ds": 2000 + np.arange(len(y)), "y": y})


@pytest.mark.parametrize("path", ["per_series", "panel"])
def test_a_positive_series_with_a_huge_outlier_gets_finite_positive_bounds(path):
    df = spike_panel()
    if path == "panel":
        fc = forecast_panel(make_forecaster("auto", 5), validate_long(df), 5, [80.0, 95.0])
    else:
        fc = AutoForecaster(horizon=5).fit(df).predict(5)
    bounds = fc[["lo-95", "lo-80", "hi-80", "hi-95"]].to_numpy()
    assert np.isfinite(bounds).all()
    assert (bounds[:, 0] > 0).all()
    assert (np.diff(bounds, axis=1) >= 0).all()


def collapsing_panel() -> pd.DataFrame:
    """A positive series that falls by a million and then stays at 1: drift, Theta and the
    median extrapolate the fall below zero."""
    y = [1e6] * 10 + [1.0] * 10
    return pd.DataFrame({"unique_id": "drop", "ds": 1990 + np.arange(len(y)), "y": y})


def _bands(df: pd.DataFrame, path: str, model: str) -> np.ndarray:
    """lo-95, lo-80, mean, hi-80, hi-95 of a five-year forecast by the per-series path or
    the array paths (the CLI's auto, and a fast single model)."""
    forecaster = make_forecaster(model, 5)
    if path == "panel":
        run = forecast_panel if model == "auto" else panel.fast_forecast
        fc = run(forecaster, validate_long(df), 5, [80.0, 95.0])
    else:
        fc = forecaster.fit(df).predict(5)
    assert fc is not None
    return fc[["lo-95", "lo-80", "mean", "hi-80", "hi-95"]].to_numpy()


@pytest.mark.parametrize(
    ("path", "model"),
    [("per_series", "auto"), ("per_series", "drift"), ("per_series", "theta"), ("panel", "auto"),
     ("panel", "drift")],
)  # fmt: skip
def test_a_positive_series_never_gets_a_negative_point_forecast(path, model):
    cols = _bands(collapsing_panel(), path, model)
    assert (cols[:, 2] >= 0).all()
    assert (np.diff(cols, axis=1) >= 0).all()


def paused_panel() -> pd.DataFrame:
    """A contribution that falls steeply and some years is nothing: never below zero, never
    positive throughout, so it has level-scale bands that a symmetric band takes below 0."""
    y = [40.0, 0.0, 35.0, 30.0, 0.0, 22.0, 18.0, 0.0, 9.0, 6.0, 0.0, 2.0, 1.0, 0.0]
    return pd.DataFrame({"unique_id": "paused", "ds": 2000 + np.arange(len(y)), "y": y})


@pytest.mark.parametrize(
    ("path", "model"),
    [("per_series", "auto"), ("per_series", "drift"), ("panel", "auto"), ("panel", "drift")],
)
def test_a_series_never_below_zero_gets_no_negative_bound_or_point(path, model):
    cols = _bands(paused_panel(), path, model)
    assert (cols >= 0).all()
    assert (cols[:, 0] == 0).any()  # the floor binds: without it this band reaches below 0
    assert (np.diff(cols, axis=1) >= 0).all()


def test_a_series_that_went_below_zero_keeps_its_negative_bounds():
    df = paused_panel().assign(y=lambda d: d["y"].where(d["ds"] != 2004, -1.0))
    fc = make_forecaster("auto", 5).fit(df).predict(5)
    assert (fc["lo-95"] < 0).any()


def test_backtest_floors_the_bounds_of_a_series_never_below_zero():
    from models.evaluation import run_backtest

    fc, _, _ = run_backtest(paused_panel(), 3, "drift", n_windows=2)
    assert (fc[["lo-95", "lo-80", "mean"]].to_numpy() >= 0).all()
