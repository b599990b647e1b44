"""The forecaster contract shared by every model.

A forecaster follows scikit-learn's rules (no logic in ``__init__``, ``fit`` returns ``self``,
fitted state ends in ``_``, ``predict`` checks it was fitted) and works on long frames like
statsforecast: ``fit(df)`` takes ``unique_id, ds, y`` (plus drivers), ``predict(h, level)`` returns
``unique_id, ds, model, mean, lo-L, hi-L`` for every requested level.

Each model implements two per-series numeric hooks: ``_fit_series(y, X) -> state`` and
``_predict_series(state, h, X_future) -> (mean, sd)``. ``sd`` is the model's own forecast
standard deviation per horizon; intervals are Gaussian ``mean +- z * sd`` unless a subclass (the
conformal wrapper) overrides ``_intervals``. A model may also offer ``_fit_prefixes(y, lengths) ->
[state, ...]``, fitting every prefix ``y[:L]`` at once; the backtest uses it when present
(:mod:`models.smoothing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from engine.errors import NotFittedError
from models.data import validate_long
from models.errors import ForecastInputError

DEFAULT_LEVELS: tuple[int, ...] = (80, 95)


def check_levels(level: Iterable[float]) -> list[float]:
    """Validate interval levels (percent, at least 1 and below 100), sorted ascending.

    A level below 1 is refused, not read as a sub-1% interval: ``0.8`` is almost always an 80%
    interval written as a fraction.

    Raises
    ------
    ForecastInputError
        A level outside [1, 100).
    """
    out = []
    for lv in level:
        v = float(lv)
        if not 0 < v < 100:
            raise ForecastInputError(f"level must be between 0 and 100 (exclusive); got {lv!r}")
        if v < 1:
            raise ForecastInputError(
                f"levels are percentages from 1 to below 100 (80 for an 80% interval); got {lv!r}"
            )
        out.append(v)
    return sorted(set(out))


def check_horizon(h: int) -> int:
    """Validate a forecast horizon (an integer >= 1)."""
    if isinstance(h, bool) or int(h) != h or int(h) < 1:
        raise ForecastInputError(f"horizon must be an integer >= 1; got {h!r}")
    return int(h)


def level_label(level: float) -> str:
    """``80 -> '80'``, ``97.5 -> '97.5'``: the suffix of ``lo-L``/``hi-L`` columns."""
    return f"{level:g}"


def z_value(level: float) -> float:
    """Two-sided standard-normal quantile for a central interval at ``level`` percent."""
    # The standard library's quantile (agrees with scipy's to 1e-15) spares every forecast
    # command the 0.7 s import of scipy.stats.
    return NormalDist().inv_cdf(0.5 + level / 200.0)


class Forecaster:
    """Base class: validation, the per-series loop and frame building.

    Subclasses set ``name`` and ``min_length`` and implement ``_fit_series`` and
    ``_predict_series``. Parameters are plain attributes set in ``__init__`` (no logic there).
    """

    name: ClassVar[str] = "base"
    min_length: ClassVar[int] = 1

    # -- scikit-learn plumbing -------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn style)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def required_length(self) -> int:
        """The shortest series this model can fit."""
        return self.min_length

    # -- per-series hooks ------------------------------------------------------------------
    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> Any:
        raise NotImplementedError

    def _predict_series(
        self, state: Any, h: int, X_future: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _label(self, uid: str) -> str:
        return self.name

    def _point(self, uid: str, mean: np.ndarray) -> np.ndarray:
        """The point forecast as reported (a wrapper that knows a series is positive floors it
        at 0)."""
        return mean

    def _intervals(
        self, uid: str, mean: np.ndarray, sd: np.ndarray, levels: Sequence[float]
    ) -> dict[str, np.ndarray]:
        cols: dict[str, np.ndarray] = {}
        for lv in levels:
            half = z_value(lv) * sd
            cols[f"lo-{level_label(lv)}"] = mean - half
            cols[f"hi-{level_label(lv)}"] = mean + half
        return cols

    # -- public API ------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, X_df: pd.DataFrame | None = None) -> Self:
        """Fit one model per series of the long frame ``df``.

        Raises
        ------
        ForecastInputError
            Malformed frame, or a series shorter than the model needs.
        """
        frame = validate_long(df, min_length=self.required_length())
        self.states_: dict[str, Any] = {}
        self.last_ds_: dict[str, int] = {}
        self.y_: dict[str, np.ndarray] = {}
        for uid, g in frame.groupby("unique_id", sort=True):
            y = g["y"].to_numpy(dtype=float)
            self.y_[uid] = y
            self.last_ds_[uid] = int(g["ds"].iloc[-1])
            self.states_[uid] = self._fit_series(y, g.reset_index(drop=True))
        self._after_fit(frame)
        return self

    def _after_fit(self, frame: pd.DataFrame) -> None:
        """Hook for wrappers that learn something across series after the per-series fits."""

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` if ``fit`` has not been called."""
        if not hasattr(self, "states_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(df) first")

    def predict(
        self,
        h: int,
        level: Iterable[float] = DEFAULT_LEVELS,
        X_df: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast ``h`` years ahead for every fitted series.

        Returns
        -------
        DataFrame with ``unique_id, ds, model, mean`` and ``lo-L, hi-L`` per level, in the units
        of ``y``.
        """
        self.check_is_fitted()
        h = check_horizon(h)
        levels = check_levels(level)
        frames = []
        for uid, state in self.states_.items():
            xf = None
            if X_df is not None:
                xf = X_df[X_df["unique_id"].astype(str) == uid].sort_values("ds")
            mean, sd = self._predict_series(state, h, xf)
            mean = self._point(uid, np.asarray(mean, dtype=float))
            sd = np.asarray(sd, dtype=float)
            ds = self.last_ds_[uid] + np.arange(1, h + 1)
            cols = {"unique_id": uid, "ds": ds, "model": self._label(uid), "mean": mean}
            cols.update(self._intervals(uid, mean, sd, levels))
            frames.append(pd.DataFrame(cols))
        out = pd.concat(frames, ignore_index=True)
        order = ["unique_id", "ds", "model", "mean"]
        for lv in levels:
            order += [f"lo-{level_label(lv)}", f"hi-{level_label(lv)}"]
        return out[order]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def residual_sd(resid: np.ndarray, n_params: int) -> float:
    """Standard deviation of in-sample residuals with a degrees-of-freedom correction (> 0)."""
    r = np.asarray(resid, dtype=float)
    r = r[np.isfinite(r)]
    dof = max(len(r) - n_params, 1)
    s = float(np.sqrt(np.sum(r**2) / dof)) if len(r) else 0.0
    return s if s > 0 else 1e-12
