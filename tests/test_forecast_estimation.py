"""Interval scales carry the error of a trend estimated on few years (``estimation_factor``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import z_value
from models.baselines import Drift
from models.conformal import estimation_factor, halfwidths
from models.selection import AutoForecaster


def random_walks(n_series: int = 8, length: int = 20, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        y = 100 + np.cumsum(rng.normal(1.0, 3.0, length - 3 * (i % 3)))
        rows += [(f"s{i}", 1990 + 3 * (i % 3) + t, float(v)) for t, v in enumerate(y)]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def test_the_factor_is_the_drift_methods_variance_inflation_for_an_estimated_drift():
    y = 100 + np.cumsum(np.random.default_rng(1).normal(1.0, 3.0, 15))
    df = pd.DataFrame({"unique_id": "s", "ds": np.arange(2000, 2015), "y": y})
    model = Drift().fit(df)
    steps = np.arange(1, 11)
    _, sd = model._predict_series(model.states_["s"], 10, None)
    sigma = model.states_["s"]["sigma"]
    # Drift is estimated on the n - 1 = 14 yearly changes.
    np.testing.assert_allclose(sd, sigma * np.sqrt(steps) * estimation_factor(steps, 14))


def test_backtest_errors_are_scaled_by_each_windows_own_training_length():
    df = random_walks()
    model = AutoForecaster(
        horizon=4, n_windows=3, candidates=("naive",), combinations={}, choose="naive",
        positive=False, n_jobs=1,
    ).fit(df)  # fmt: skip
    cv = model.cv_
    first = df.groupby("unique_id")["ds"].min()
    n_train = cv["cutoff"] - cv["unique_id"].map(first) + 1
    raw = (cv["y"] - cv["naive"]).abs() / np.sqrt(
        cv["naive__sd"] * cv["unique_id"].map(model.scale_)
    )
    expected = raw / np.sqrt(1 + cv["step"] / n_train)
    assert n_train.min() >= 2  # windows of different lengths: series start in different years
    assert n_train.nunique() > 3
    for step, errors in model.scaled_errors_.items():
        np.testing.assert_allclose(errors, np.sort(expected[cv["step"] == step]))


def test_the_origins_band_carries_the_factor_of_the_whole_series_length():
    df = random_walks()
    model = AutoForecaster(
        horizon=4, n_windows=3, candidates=("naive",), combinations={}, choose="naive",
        positive=False, n_jobs=1,
    ).fit(df)  # fmt: skip
    fc = model.predict(4, level=(80,))
    steps = np.arange(1, 5)
    q = halfwidths(model.scaled_errors_, 4, [80])[80]
    for uid in ("s0", "s1", "s2"):
        mine = fc[fc["unique_id"] == uid]
        _, sd = model._predict_series(model.states_[uid], 4, None)
        n = len(df[df["unique_id"] == uid])
        scale = np.sqrt(sd * model.scale_[uid]) * estimation_factor(steps, n)
        expected = np.maximum(q * scale, z_value(80) * sd)
        np.testing.assert_allclose(mine["hi-80"] - mine["mean"], expected, rtol=1e-12)
