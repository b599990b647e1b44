"""Regression of a series on drivers (scikit-learn), e.g. defence spending on GDP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd
from models.errors import ForecastInputError


class DriverRegression(Forecaster):
    """Least-squares regression of ``y`` on a linear time trend and driver columns.

    ``fit`` needs the drivers as columns of the training frame; ``predict`` needs their future
    values in ``X_df`` (``unique_id, ds`` plus the drivers), for example a GDP forecast and a
    share-of-GDP policy path. Without drivers it is a linear trend model. Intervals use the
    classical regression prediction variance ``sigma^2 (1 + x0' (X'X)^-1 x0)``.

    Parameters
    ----------
    drivers : names of the driver columns.
    trend : whether to include a linear time trend.
    """

    name = "regression"
    min_length = 4

    def __init__(self, drivers: Sequence[str] = (), trend: bool = True) -> None:
        self.drivers = drivers
        self.trend = trend

    def required_length(self) -> int:
        return max(self.min_length, len(self.drivers) + int(self.trend) + 3)

    def _design(self, X: pd.DataFrame | None, t: np.ndarray, what: str) -> np.ndarray:
        cols = [t.astype(float)] if self.trend else []
        for d in self.drivers:
            if X is None or d not in X.columns:
                raise ForecastInputError(f"{what}: driver column {d!r} is missing")
            v = pd.to_numeric(X[d], errors="coerce").to_numpy(dtype=float)
            if len(v) != len(t) or not np.all(np.isfinite(v)):
                raise ForecastInputError(
                    f"{what}: driver {d!r} needs {len(t)} finite values; got {len(v)}"
                )
            cols.append(v)
        if not cols:
            return np.ones((len(t), 0))
        return np.column_stack(cols)

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        # Imported here: scikit-learn costs a second of CPU to import, which every forecast that
        # never fits a regression (the fund's, the default auto pool's) would pay.
        from sklearn.linear_model import LinearRegression

        n = len(y)
        Z = self._design(X, np.arange(n), "training frame")
        reg = LinearRegression().fit(Z, y) if Z.shape[1] else None
        fitted = reg.predict(Z) if reg is not None else np.full(n, y.mean())
        A = np.column_stack([np.ones(n), Z])
        return {
            "reg": reg,
            "mean_y": float(y.mean()),
            "n": n,
            "xtx_inv": np.linalg.pinv(A.T @ A),
            "sigma": residual_sd(y - fitted, A.shape[1]),
        }

    def _predict_series(self, state, h, X_future):
        n = state["n"]
        xf = None
        if self.drivers:
            if X_future is None or len(X_future) < h:
                raise ForecastInputError(
                    f"future drivers {list(self.drivers)} are needed for {h} year(s) (X_df)"
                )
            xf = X_future.iloc[:h]
        Z = self._design(xf, np.arange(n, n + h), "future drivers")
        mean = state["reg"].predict(Z) if state["reg"] is not None else np.full(h, state["mean_y"])
        A = np.column_stack([np.ones(h), Z])
        lev = np.einsum("ij,jk,ik->i", A, state["xtx_inv"], A)
        return np.asarray(mean, float), state["sigma"] * np.sqrt(1 + lev)
