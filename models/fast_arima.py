"""ARIMA with a small automatic order search, fitted by conditional least squares in numpy.

:class:`models.statsmodels_models.ARIMA` fits each order by exact maximum likelihood (a Kalman
filter inside scipy's optimiser): 10-30 ms an order, a few hundred ms a series with the search.
Here each order is fitted by conditional sum of squares (CSS), the classic estimator (Box and
Jenkins; R's ``arima(method="CSS")``), which numpy solves for a whole grid of MA coefficients at
once: for fixed MA coefficients the residuals are linear in the constant and the AR coefficients,
so those come from least squares (the concentrated CSS) and only the MA part is searched.

The model: ``d`` from KPSS tests (as the statsmodels ARIMA and auto.arima), then ARMA(p, q) on
the differenced series for ``p + q <= 2`` (a mean when d = 0, with and without drift when d = 1,
none when d = 2), all conditioned on the same first two values so that their AICc compare; the
lowest-AICc stationary order whose forecast passes the plausibility guard of
:func:`models.statsmodels_models.is_plausible` is kept, else the series falls back to drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster
from models.baselines import Drift
from models.statsmodels_models import _choose_d, is_plausible

ORDERS = ((0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (0, 2))
N_COND = 2  # observations every order conditions on (the largest p)
# Below this length d = 1 without a test. On the M3 yearly backtest (training data only) 16 gave
# a lower error than 10 or 12: KPSS kept trending 6-11 year windows undifferenced.
KPSS_MIN_LENGTH = 16
_MA1_GRID = np.linspace(-0.98, 0.98, 99)


def _ma2_grid(k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """MA(2) coefficients on a k x k grid inside the invertibility triangle."""
    t1, t2 = np.meshgrid(np.linspace(-1.96, 1.96, k), np.linspace(-0.98, 0.98, k), indexing="ij")
    ok = (t2 + t1 > -0.98) & (t2 - t1 > -0.98)
    return t1[ok], t2[ok]


def _ma_filter(x: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """``f_t = x_t - t1 f_{t-1} - t2 f_{t-2}`` with a zero start, for every (t1, t2): (n, K)."""
    out = np.zeros((len(x), len(t1)))
    prev1 = np.zeros(len(t1))
    prev2 = np.zeros(len(t1))
    for t in range(len(x)):
        cur = x[t] - t1 * prev1 - t2 * prev2
        out[t] = cur
        prev2, prev1 = prev1, cur
    return out


def _css(
    w: np.ndarray, p: int, const: bool, t1: np.ndarray, t2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Concentrated CSS of ARMA(p, q) for every MA point: (sse, beta) with beta = (c, phi...).

    The residuals ``e_t`` for ``t >= N_COND`` are ``F[w]_t - sum_j beta_j F[x_j]_t`` where F is
    the MA filter and ``x_j`` the regressors (1 and the lags of w), all started at ``N_COND``.
    """
    m = len(w)
    cols = ([np.ones(m - N_COND)] if const else []) + [
        w[N_COND - i : m - i] for i in range(1, p + 1)
    ]
    r = _ma_filter(w[N_COND:], t1, t2)
    if not cols:
        return np.sum(r * r, axis=0), np.zeros((len(t1), 0))
    a = np.stack([_ma_filter(c, t1, t2) for c in cols], axis=2)  # (n, K, k)
    ata = np.einsum("nki,nkj->kij", a, a)
    atr = np.einsum("nki,nk->ki", a, r)
    # The tiny floor keeps a constant series (all-zero regressors after differencing) solvable.
    scale = 1e-10 * np.trace(ata, axis1=1, axis2=2) + np.finfo(float).tiny
    ridge = scale[:, None, None] * np.eye(len(cols))
    beta = np.linalg.solve(ata + ridge, atr[..., None])[..., 0]
    resid = r - np.einsum("nki,ki->nk", a, beta)
    return np.sum(resid * resid, axis=0), beta


def fit_css(w: np.ndarray, p: int, q: int, const: bool) -> dict[str, Any] | None:
    """ARMA(p, q) on the (differenced) series ``w`` by concentrated CSS, conditioned on its first
    ``N_COND`` values: ``c`` (constant), ``phi``, ``theta``, ``sigma2`` (residual variance) and
    ``aicc``; None if ``w`` is too short for the order."""
    n_eff = len(w) - N_COND
    k = p + q + int(const) + 1  # coefficients and the variance
    if n_eff - k - 1 <= 0:
        return None
    if q == 0:
        t1, t2 = np.zeros(1), np.zeros(1)
    elif q == 1:
        t1, t2 = _MA1_GRID, np.zeros(len(_MA1_GRID))
    else:
        t1, t2 = _ma2_grid()
    sse, beta = _css(w, p, const, t1, t2)
    j = int(np.argmin(sse))
    if q:  # one finer pass around the best MA point
        step = 0.04 if q == 1 else 0.16
        f1 = np.clip(t1[j] + np.linspace(-step, step, 21), -0.98, 0.98)
        f2 = np.zeros(21) if q == 1 else np.clip(t2[j] + np.linspace(-step, step, 21), -0.98, 0.98)
        g1, g2 = (f1, f2) if q == 1 else (a.ravel() for a in np.meshgrid(f1, f2, indexing="ij"))
        keep = (g2 + g1 > -0.98) & (g2 - g1 > -0.98)
        s2, b2 = _css(w, p, const, g1[keep], g2[keep])
        i = int(np.argmin(s2))
        if s2[i] < sse[j]:
            t1, t2, sse, beta, j = g1[keep], g2[keep], s2, b2, i
    s = float(max(sse[j], 1e-12 * n_eff))
    b = beta[j]
    return {
        "p": p,
        "q": q,
        "c": float(b[0]) if const else 0.0,
        "phi": np.asarray(b[int(const) :], dtype=float),
        "theta": np.array([t1[j], t2[j]])[:q],
        "sigma2": s / (n_eff - k + 1),
        "aicc": n_eff * np.log(s / n_eff) + 2 * k + 2 * k * (k + 1) / (n_eff - k - 1),
    }


def is_stationary(phi: np.ndarray) -> bool:
    """Whether AR coefficients (at most two) give a stationary process (roots outside the unit
    circle, with a small margin: least squares can return explosive ones, which MLE excludes)."""
    if len(phi) == 0:
        return True
    if len(phi) == 1:
        return bool(abs(phi[0]) < 0.99)
    p1, p2 = phi
    return bool(p2 + p1 < 0.99 and p2 - p1 < 0.99 and abs(p2) < 0.99)


def _residuals(w: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
    """The CSS residuals of the chosen order (zero before ``N_COND``)."""
    e = np.zeros(len(w))
    phi, theta = fit["phi"], fit["theta"]
    for t in range(N_COND, len(w)):
        ar = sum(phi[i] * w[t - 1 - i] for i in range(len(phi)))
        ma = sum(theta[j] * e[t - 1 - j] for j in range(len(theta)))
        e[t] = w[t] - fit["c"] - ar - ma
    return e


def arima_forecast(
    y: np.ndarray, d: int, fit: dict[str, Any], h: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``h`` years ahead of an ARIMA(p, d, q) fitted by CSS."""
    w = np.diff(y, n=d) if d else np.asarray(y, dtype=float)
    e = list(_residuals(w, fit))
    ws = list(w)
    phi, theta = fit["phi"], fit["theta"]
    for _ in range(h):
        ar = sum(phi[i] * ws[-1 - i] for i in range(len(phi)))
        ma = sum(theta[j] * e[-1 - j] for j in range(len(theta)))
        ws.append(fit["c"] + ar + ma)
        e.append(0.0)
    fw = np.array(ws[len(w) :])
    mean = fw
    for k in range(d, 0, -1):  # integrate back, last observed level of each difference order
        mean = np.diff(y, n=k - 1)[-1] + np.cumsum(mean)
    # psi weights of (1 - L)^d phi(L) y = theta(L) e.
    ar_poly = np.r_[1.0, -phi]
    for _ in range(d):
        ar_poly = np.convolve(ar_poly, [1.0, -1.0])
    ma_poly = np.r_[1.0, theta]
    psi = np.zeros(h)
    for j in range(h):
        v = ma_poly[j] if j < len(ma_poly) else 0.0
        v -= sum(ar_poly[i] * psi[j - i] for i in range(1, min(j, len(ar_poly) - 1) + 1))
        psi[j] = v
    sd = np.sqrt(fit["sigma2"] * np.cumsum(psi**2))
    return mean, sd


class FastARIMA(Forecaster):
    """ARIMA(p, d, q), ``p + q <= 2``, by CSS in numpy, with KPSS for d, AICc and a guard.

    See the module docstring. The ``model`` column names the order, e.g. ``arima(1,1,0)+c``, or
    ``arima(fallback:drift)`` when no order gave a plausible forecast.

    Parameters
    ----------
    max_h : horizon checked by the plausibility guard.
    """

    name = "fast_arima"
    min_length = 6

    def __init__(self, max_h: int = 10) -> None:
        self.max_h = max_h

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        y = np.asarray(y, dtype=float)
        # KPSS has almost no power on a handful of years: a short series is taken as integrated.
        d = _choose_d(y) if len(y) >= KPSS_MIN_LENGTH else 1
        w = np.diff(y, n=d) if d else y
        fits = []
        # A mean when d = 0, a drift or none when d = 1, nothing when d = 2 (as auto.arima).
        consts = {0: (True,), 1: (True, False)}.get(d, (False,))
        for p, q in ORDERS:
            for const in consts:
                fit = fit_css(w, p, q, const)
                if fit is not None and np.isfinite(fit["aicc"]) and is_stationary(fit["phi"]):
                    fits.append(fit)
        for fit in sorted(fits, key=lambda f: f["aicc"]):
            mean, sd = arima_forecast(y, d, fit, self.max_h)
            if is_plausible(y, mean, sd):
                label = f"arima({fit['p']},{d},{fit['q']}){'+c' if fit['c'] else ''}"
                return {"y": y, "d": d, "fit": fit, "label": label}
        return {"fallback": Drift()._fit_series(y, X), "label": "arima(fallback:drift)"}

    def _predict_series(self, state, h, X_future):
        if "fallback" in state:
            return Drift()._predict_series(state["fallback"], h, X_future)
        return arima_forecast(state["y"], state["d"], state["fit"], h)

    def _label(self, uid: str) -> str:
        return self.states_[uid]["label"]
