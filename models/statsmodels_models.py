"""ETS, ARIMA and Theta on statsmodels, each with a small automatic selection.

statsmodels warns a lot on short annual series (convergence, starting parameters); the warnings
are silenced inside the fits because the selection (AICc, plausibility guard) handles bad fits.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd, z_value
from models.baselines import Drift
from models.errors import ForecastInputError


@contextmanager
def quiet() -> Iterator[None]:
    """Silence statsmodels' warnings inside a fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def ses_residuals(y: np.ndarray, alpha: float) -> np.ndarray:
    """One-step errors of simple exponential smoothing started at the first observation."""
    level = y[0]
    out = np.empty(len(y) - 1)
    for t in range(1, len(y)):
        out[t - 1] = y[t] - level
        level += alpha * out[t - 1]
    return out


class ETS(Forecaster):
    """Additive-error exponential smoothing with automatic choice of the trend by AICc.

    Candidates are no trend (simple exponential smoothing), additive trend and damped additive
    trend; trend models need at least 5 observations and the damped one at least 8, because
    their AICc on shorter series is meaningless. The forecast variance is the analytic one for
    additive-error ETS.

    Parameters
    ----------
    trends : which trend forms to try, from ``"N"``, ``"A"``, ``"Ad"``.
    """

    name = "ets"
    min_length = 3

    def __init__(self, trends: Sequence[str] = ("N", "A", "Ad")) -> None:
        self.trends = trends

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        n = len(y)
        best: tuple[float, Any, str] | None = None
        with quiet():
            for form in self.trends:
                if (form == "A" and n < 5) or (form == "Ad" and n < 8):
                    continue
                trend = None if form == "N" else "add"
                try:
                    res = ETSModel(y, error="add", trend=trend, damped_trend=form == "Ad").fit(
                        disp=False
                    )
                except (ValueError, np.linalg.LinAlgError):
                    continue
                aicc = float(res.aicc)
                if not np.isfinite(aicc):
                    aicc = float(res.aic)
                if np.isfinite(aicc) and (best is None or aicc < best[0]):
                    best = (aicc, res, form)
        if best is None:
            raise ValueError("no ETS model could be fitted")
        _, res, form = best
        p = res.params
        names = list(res.model.param_names)
        get = dict(zip(names, np.asarray(p, dtype=float), strict=False)).get
        return {
            "res": res,
            "form": form,
            "alpha": get("smoothing_level", 0.0),
            "beta": get("smoothing_trend", 0.0) if form != "N" else 0.0,
            "phi": get("damping_trend", 1.0) if form == "Ad" else 1.0,
            "sigma": residual_sd(res.resid, len(names)),
        }

    def _predict_series(self, state, h, X_future):
        mean = np.asarray(state["res"].forecast(h), dtype=float)
        a, b, phi = state["alpha"], state["beta"], state["phi"]
        j = np.arange(1, h)
        phisum = np.cumsum(phi**j) if phi != 1.0 else j.astype(float)
        c = a + b * phisum
        var = np.concatenate([[1.0], 1.0 + np.cumsum(c**2)])
        return mean, state["sigma"] * np.sqrt(var)


class Theta(Forecaster):
    """The Theta method (statsmodels ``ThetaModel``; SES with half the linear trend as drift)."""

    name = "theta"
    min_length = 4

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        if np.ptp(y) == 0:
            # statsmodels' add_trend skips the constant column when y itself is constant, so its
            # OLS "slope" is y's own coefficient (1.02 on a series of 42s): the trend is zero here.
            return {
                "res": None,
                "level": float(y[-1]),
                "alpha": 0.0,
                "sigma": residual_sd(y[:0], 0),
            }
        with quiet():
            res = ThetaModel(y, period=1, deseasonalize=False).fit()
        alpha = float(np.clip(res.params["alpha"], 0.0, 1.0))
        return {"res": res, "alpha": alpha, "sigma": residual_sd(ses_residuals(y, alpha), 1)}

    def _predict_series(self, state, h, X_future):
        res = state["res"]
        if res is None:
            return np.full(h, state["level"]), np.full(h, state["sigma"])
        with quiet():
            mean = np.asarray(res.forecast(h), dtype=float)
        # statsmodels' own prediction_intervals estimates sigma2 by fitting an ARIMA(0,1,1), which
        # costs ~0.6 s a series; the SES one-step residuals give the same quantity cheaply.
        alpha = state["alpha"]
        var = 1.0 + np.arange(h) * alpha**2
        return mean, state["sigma"] * np.sqrt(var)


class ThetaLog(Theta):
    """The Theta method on the logarithm of a positive series (multiplicative trend).

    The mean is back-transformed with ``exp`` (the median of a log-normal forecast) and the
    standard deviation by the delta method, ``exp(mean_log) * sd_log``.
    """

    name = "theta_log"

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        if np.any(y <= 0):
            raise ForecastInputError("theta_log needs a strictly positive series")
        return super()._fit_series(np.log(y), X)

    def _predict_series(self, state, h, X_future):
        mean_log, sd_log = super()._predict_series(state, h, X_future)
        mean = np.exp(mean_log)
        return mean, mean * sd_log


@dataclass(frozen=True)
class ArimaCandidate:
    """One fitted ARIMA order: its AICc and its forecast mean and standard deviation."""

    label: str
    aicc: float
    mean: np.ndarray
    sd: np.ndarray


def is_plausible(y: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> bool:
    """Whether a forecast and its 95% bounds are finite and stay near the data's range.

    The bound grows with the horizon: the data's span plus three times the largest observed
    year-on-year change per step for the mean, and three times that for the 95% bounds. An
    explosive ARIMA (statsmodels' search once gave -29,000 for an M3 series in the thousands)
    fails it, and so does a mean at or below zero for a series positive throughout.
    """
    y = np.asarray(y, dtype=float)
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd)) and np.all(sd >= 0)):
        return False
    if np.all(y > 0) and np.any(mean <= 0):  # spending, GDP: a forecast below zero is no answer
        return False
    span = float(np.ptp(y))
    step = float(np.max(np.abs(np.diff(y)))) if len(y) > 1 else 0.0
    floor = 1e-9 + 0.01 * float(np.max(np.abs(y)))
    steps = np.arange(1, len(mean) + 1)
    limit = span + 3.0 * step * steps + floor
    dev = np.abs(mean - y[-1])
    if np.any(dev > limit):
        return False
    half = z_value(95) * sd
    return bool(np.all(dev + half <= 3.0 * limit))


def select_plausible(y: np.ndarray, candidates: Sequence[ArimaCandidate]) -> ArimaCandidate | None:
    """The lowest-AICc candidate whose forecast passes :func:`is_plausible` (None if none do)."""
    for cand in sorted(candidates, key=lambda c: c.aicc):
        if np.isfinite(cand.aicc) and is_plausible(y, cand.mean, cand.sd):
            return cand
    return None


def _choose_d(y: np.ndarray, max_d: int = 2) -> int:
    """Differencing order by repeated KPSS tests at 5%, as auto.arima does."""
    from statsmodels.tsa.stattools import kpss

    x = np.asarray(y, dtype=float)
    for d in range(max_d):
        if len(x) < 6 or np.ptp(x) == 0:
            return d
        try:
            with quiet():
                p = kpss(x, regression="c", nlags="auto")[1]
        except (ValueError, OverflowError):
            p = 0.0
        if p >= 0.05:
            return d
        x = np.diff(x)
    return max_d


class ARIMA(Forecaster):
    """ARIMA with a small automatic order search and a plausibility guard.

    The differencing order comes from KPSS tests; then (p, q) with ``p, q <= max_pq`` and
    ``p + q <= max_pq`` (with a drift term when d = 1, a constant when d = 0) are fitted and ranked
    by AICc. The best model whose forecasts and 95% bounds are finite and plausible
    (:func:`is_plausible`) is kept; if none is, the series falls back to the drift model and the
    ``model`` column says so.
    """

    name = "arima"
    min_length = 6

    def __init__(self, max_pq: int = 2, max_h: int = 10) -> None:
        self.max_pq = max_pq
        self.max_h = max_h

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        from statsmodels.tsa.arima.model import ARIMA as SmARIMA

        d = _choose_d(y)
        trend = {0: "c", 1: "t"}.get(d, "n")
        cands: list[ArimaCandidate] = []
        with quiet():
            for p in range(self.max_pq + 1):
                for q in range(self.max_pq + 1 - p):
                    for tr in [trend, "n"] if trend != "n" else ["n"]:
                        if len(y) - d <= p + q + 2:
                            continue
                        try:
                            res = SmARIMA(y, order=(p, d, q), trend=tr).fit()
                            fc = res.get_forecast(self.max_h)
                            mean = np.asarray(fc.predicted_mean, dtype=float)
                            sd = np.sqrt(np.asarray(fc.var_pred_mean, dtype=float))
                        except (ValueError, np.linalg.LinAlgError, IndexError):
                            continue
                        label = f"arima({p},{d},{q}){'+' + tr if tr != 'n' else ''}"
                        aicc = float(res.aicc) if np.isfinite(res.aicc) else float(res.aic)
                        cands.append(ArimaCandidate(label, aicc, mean, sd))
        best = select_plausible(y, cands)
        if best is None:
            return {"fallback": Drift()._fit_series(y, X), "label": "arima(fallback:drift)"}
        return {"cand": best, "label": best.label, "y": y}

    def _predict_series(self, state, h, X_future):
        if "fallback" in state:
            return Drift()._predict_series(state["fallback"], h, X_future)
        cand: ArimaCandidate = state["cand"]
        if h <= len(cand.mean):
            return cand.mean[:h], cand.sd[:h]
        # Beyond the stored horizon: extend linearly (rare; max_h covers the CLI's defaults).
        extra = np.arange(1, h - len(cand.mean) + 1)
        slope = cand.mean[-1] - cand.mean[-2] if len(cand.mean) > 1 else 0.0
        mean = np.concatenate([cand.mean, cand.mean[-1] + slope * extra])
        sd = np.concatenate([cand.sd, cand.sd[-1] * np.sqrt((len(cand.sd) + extra) / len(cand.sd))])
        return mean, sd

    def _label(self, uid: str) -> str:
        return self.states_[uid]["label"]
