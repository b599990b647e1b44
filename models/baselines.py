"""Naive (random walk) and drift (random walk with drift) baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd


class Naive(Forecaster):
    """Random walk: every future year equals the last observed one.

    Intervals use the standard random-walk variance ``sigma^2 * h``, with ``sigma`` from the
    year-on-year changes.
    """

    name = "naive"
    min_length = 2

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, float]:
        return {"last": float(y[-1]), "sigma": residual_sd(np.diff(y), 0)}

    def _predict_series(self, state, h, X_future):
        steps = np.arange(1, h + 1)
        return np.full(h, state["last"]), state["sigma"] * np.sqrt(steps)


class Drift(Forecaster):
    """Random walk with drift: the line through the first and last observations, extended.

    A pure linear trend is forecast exactly. Intervals follow Hyndman & Athanasopoulos,
    ``sigma * sqrt(h * (1 + h / (n - 1)))``, which includes the drift's estimation error.
    """

    name = "drift"
    min_length = 3

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, float]:
        n = len(y)
        slope = (y[-1] - y[0]) / (n - 1)
        return {
            "last": float(y[-1]),
            "slope": float(slope),
            "n": n,
            "sigma": residual_sd(np.diff(y) - slope, 1),
        }

    def _predict_series(self, state, h, X_future):
        steps = np.arange(1, h + 1)
        mean = state["last"] + state["slope"] * steps
        sd = state["sigma"] * np.sqrt(steps * (1 + steps / (state["n"] - 1)))
        return mean, sd
