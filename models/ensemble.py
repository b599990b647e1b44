"""Combinations of forecasters (the median or mean of their forecasts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster
from models.errors import ForecastInputError


def combine(means: Sequence[np.ndarray], sds: Sequence[np.ndarray], how: str) -> tuple:
    """Combine component forecasts: the ``how`` (median or mean) of the means, the mean of sds.

    Averaging the standard deviations treats the components' errors as perfectly correlated,
    which they nearly are on short series; calibration corrects what is left.
    """
    m = np.vstack(means)
    s = np.vstack(sds)
    centre = np.median(m, axis=0) if how == "median" else np.mean(m, axis=0)
    return centre, np.mean(s, axis=0)


class Ensemble(Forecaster):
    """The median (default) or mean of several forecasters' forecasts.

    A component that fails to fit a series is left out of that series' combination; if all fail,
    the error of the last one is raised.

    Parameters
    ----------
    models : the component forecasters (unfitted).
    how : ``"median"`` or ``"mean"``.
    """

    name = "ensemble"
    min_length = 1

    def __init__(self, models: Sequence[Forecaster] | None = None, how: str = "median") -> None:
        self.models = models
        self.how = how

    def _components(self) -> list[Forecaster]:
        if self.models is None:
            from models.baselines import Drift
            from models.statsmodels_models import ETS, Theta

            return [Drift(), Theta(), ETS()]
        if not self.models:
            raise ForecastInputError("Ensemble needs at least one component model")
        if self.how not in ("median", "mean"):
            raise ForecastInputError(f"Ensemble 'how' must be 'median' or 'mean'; got {self.how!r}")
        return list(self.models)

    def required_length(self) -> int:
        return min(m.required_length() for m in self._components())

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> list[tuple[Forecaster, Any]]:
        fitted = []
        last_exc: Exception | None = None
        for m in self._components():
            if len(y) < m.required_length():
                continue
            try:
                fitted.append((m, m._fit_series(y, X)))
            except (ValueError, np.linalg.LinAlgError) as exc:
                last_exc = exc
        if not fitted:
            raise last_exc or ForecastInputError("no ensemble component could be fitted")
        return fitted

    def _predict_series(self, state, h, X_future):
        means, sds = [], []
        for m, st in state:
            mu, sd = m._predict_series(st, h, X_future)
            if np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)):
                means.append(mu)
                sds.append(sd)
        if not means:
            raise ValueError("every ensemble component gave a non-finite forecast")
        return combine(means, sds, self.how)
