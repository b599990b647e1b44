"""Optimised Theta: the standard and dynamic optimised Theta models in numpy.

The Theta method (Assimakopoulos & Nikolopoulos 2000) is SES plus half the OLS trend; the
optimised Theta models of Fiorucci, Pellegrini, Louzada, Petropoulos & Koehler (2016, "Models for
optimising the theta method and their relationship to state space models", IJF 32) estimate the
weight ``theta`` of the trend line with the smoothing parameter, and their dynamic versions update
the trend line's intercept ``A`` and slope ``B`` with each observation. statsforecast's
``AutoTheta`` fits the four (STM, OTM, DSTM, DOTM) and keeps the one with the lowest in-sample MSE;
:class:`OptimisedTheta` does the same with the nested pairs (theta = 2 is on the grid, so the
optimised models contain the standard ones).

State-space form (``i`` from 0; ``l*`` the initial level)::

    mu_i = l_{i-1} + (1 - 1/theta) (A_{i-1} (1-alpha)^i + B_{i-1} (1 - (1-alpha)^(i+1)) / alpha)
    l_i  = alpha y_i + (1 - alpha) l_{i-1},   l_{-1} = l*
    dynamic:  ybar_i = (i ybar_{i-1} + y_i) / (i + 1),
              B_i = ((i - 1) B_{i-1} + 6 (y_i - ybar_{i-1}) / (i + 1)) / (i + 2),
              A_i = ybar_i - B_i (i + 2) / 2
    static:   A, B the OLS line of y on 1..n.

Forecasts iterate the same recursion with ``y`` replaced by ``mu``. For given ``alpha`` and
``theta`` the one-step errors are linear in ``l*`` (its weight is ``(1-alpha)^i``), so ``l*`` is
solved by least squares and only ``alpha`` (in [0.1, 0.99], statsforecast's bounds) and
``theta`` (>= 1) are searched: a grid, then two finer grids around the best point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd

ALPHA_GRID = np.linspace(0.1, 0.99, 30)
THETA_GRID = np.array([1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 5.0, 6.5, 8.0, 12, 20])


def _ols_line(y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of the OLS line of ``y`` on 1..n (statsforecast's formulas)."""
    n = len(y)
    t = np.arange(1, n + 1)
    b = 6 * (2 * np.mean(t * y) - (1 + n) * np.mean(y)) / (n**2 - 1)
    return float(np.mean(y) - (n + 1) * b / 2), float(b)


def _errors(
    y: np.ndarray, alpha: np.ndarray, theta: np.ndarray, dynamic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One-step errors with ``l* = 0`` and the weights of ``l*``: arrays ``(n, K)``."""
    n, k = len(y), len(alpha)
    w = 1 - 1 / theta
    r = np.zeros((n, k))
    a = np.zeros((n, k))
    if dynamic:
        mean_y, big_a, big_b = y[0], y[0], 0.0
        r[0] = 0.0  # mu_0 = y_0: no error, and l* has no weight on it
    else:
        big_a, big_b = _ols_line(y)
        r[0] = y[0] - w * (big_a + big_b)
        a[0] = 1.0
    level = alpha * y[0]  # l_0 with l* = 0; its l* weight is (1 - alpha)
    decay = 1 - alpha
    for i in range(1, n):
        pw = decay**i
        mu = level + w * (big_a * pw + big_b * (1 - decay ** (i + 1)) / alpha)
        r[i] = y[i] - mu
        a[i] = pw
        level = alpha * y[i] + decay * level
        if dynamic:
            new_mean = (i * mean_y + y[i]) / (i + 1)
            big_b = ((i - 1) * big_b + 6 * (y[i] - mean_y) / (i + 1)) / (i + 2)
            mean_y = new_mean
            big_a = mean_y - big_b * (i + 2) / 2
    return r, a


#: One-step errors of the dynamic model left out of its SSE and sigma: its first forecast is
#: the first observation itself.
BURN_IN = 1


def _concentrated(
    r: np.ndarray, a: np.ndarray, lengths: np.ndarray, skip: int
) -> tuple[np.ndarray, np.ndarray]:
    """SSE and the ``l*`` minimising it over rows ``skip..L-1`` of each column (its own ``L``)."""
    rows = np.arange(len(r))[:, None]
    m = (rows >= skip) & (rows < lengths[None, :])
    saa = np.sum(m * a * a, axis=0)
    sar = np.sum(m * a * r, axis=0)
    l0 = np.where(saa > 1e-300, sar / np.where(saa > 1e-300, saa, 1.0), 0.0)
    sse = np.sum(m * r * r, axis=0) - l0 * sar
    return np.where(np.isfinite(sse), sse, np.inf), l0


def _local_grid(b: dict[str, Any], step_a: float, step_t: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(-4, 5)
    fa = np.clip(b["alpha"] + step_a * k, 0.1, 0.99)
    ft = np.maximum(b["theta"] + step_t * max(b["theta"] / 2, 1) * k, 1.0)
    ga, gt = np.meshgrid(fa, ft, indexing="ij")
    return ga.ravel(), gt.ravel()


def _search_prefixes(y: np.ndarray, lengths: Sequence[int], dynamic: bool) -> list[dict[str, Any]]:
    """Least-SSE ``alpha``, ``theta`` and ``l*`` for each prefix ``y[:L]``: a grid, then two
    finer grids around each prefix's best point. The dynamic model is causal (a prefix's
    errors are the first rows of the whole series'), so all prefixes share three passes; the
    static model's trend line depends on the prefix, so each prefix has its own."""
    if not dynamic:
        return [_search_prefixes_static(y[:n]) for n in lengths]
    n_of = np.asarray(lengths)
    yy = y[: int(n_of.max())]
    ag, tg = np.meshgrid(ALPHA_GRID, THETA_GRID, indexing="ij")
    alpha, theta = ag.ravel(), tg.ravel()
    r, a = _errors(yy, alpha, theta, True)
    best = []
    for n in n_of:
        sse, l0 = _concentrated(r, a, np.full(len(alpha), n), BURN_IN)
        j = int(np.argmin(sse))
        best.append({"alpha": alpha[j], "theta": theta[j], "l0": l0[j], "sse": sse[j]})
    step_a, step_t = 0.03 / 4, 0.25 / 4
    for _ in range(2):
        grids = [_local_grid(b, step_a, step_t) for b in best]
        k = len(grids[0][0])
        alpha = np.concatenate([g[0] for g in grids])
        theta = np.concatenate([g[1] for g in grids])
        r, a = _errors(yy, alpha, theta, True)
        sse, l0 = _concentrated(r, a, np.repeat(n_of, k), BURN_IN)
        for p, b in enumerate(best):
            j = p * k + int(np.argmin(sse[p * k : (p + 1) * k]))
            if sse[j] < b["sse"]:
                best[p] = {"alpha": alpha[j], "theta": theta[j], "l0": l0[j], "sse": sse[j]}
        step_a, step_t = step_a / 4, step_t / 4
    return best


def _search_prefixes_static(y: np.ndarray) -> dict[str, Any]:
    """The static model's search on the whole of ``y`` (see :func:`_search_prefixes`)."""
    ag, tg = np.meshgrid(ALPHA_GRID, THETA_GRID, indexing="ij")
    alpha, theta = ag.ravel(), tg.ravel()
    best: dict[str, Any] = {}
    step_a, step_t = 0.03 / 4, 0.25 / 4
    for _ in range(3):
        r, a = _errors(y, alpha, theta, False)
        sse, l0 = _concentrated(r, a, np.full(len(alpha), len(y)), 0)
        j = int(np.argmin(sse))
        if not best or sse[j] < best["sse"]:
            best = {"alpha": alpha[j], "theta": theta[j], "l0": l0[j], "sse": sse[j]}
        alpha, theta = _local_grid(best, step_a, step_t)
        step_a, step_t = step_a / 4, step_t / 4
    return best


def _run(
    y: np.ndarray, alpha: float, theta: float, l0: float, dynamic: bool, h: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """In-sample one-step errors and ``h`` forecasts of one fitted model."""
    n = len(y)
    w = 1 - 1 / theta
    if dynamic:
        mean_y, big_a, big_b = y[0], y[0], 0.0
        mu0 = y[0]
    else:
        big_a, big_b = _ols_line(y)
        mu0 = l0 + w * (big_a + big_b)
    level = alpha * y[0] + (1 - alpha) * l0
    errors = [y[0] - mu0]
    fc = []
    decay = 1 - alpha
    for i in range(1, n + h):
        mu = level + w * (big_a * decay**i + big_b * (1 - decay ** (i + 1)) / alpha)
        if i < n:
            obs = y[i]
            errors.append(obs - mu)
        else:
            obs = mu
            fc.append(mu)
        level = alpha * obs + decay * level
        if dynamic:
            new_mean = (i * mean_y + obs) / (i + 1)
            big_b = ((i - 1) * big_b + 6 * (obs - mean_y) / (i + 1)) / (i + 2)
            mean_y = new_mean
            big_a = mean_y - big_b * (i + 2) / 2
    return np.asarray(errors), np.asarray(fc)


class OptimisedTheta(Forecaster):
    """Dynamic optimised Theta (DOTM); with ``forms=("static", "dynamic")`` OTM or DOTM,
    whichever has the lower in-sample SSE (as statsforecast's AutoTheta chooses among its
    four). See the module docstring.

    The sd at step ``h`` is ``sigma * sqrt(1 + (h - 1) alpha^2)`` (the SES form of Theta's);
    :class:`models.selection.AutoForecaster` calibrates it.
    """

    name = "dotm"
    min_length = 4

    def __init__(self, forms: tuple[str, ...] = ("dynamic",)) -> None:
        self.forms = forms

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        return self._fit_prefixes(np.asarray(y, dtype=float), [len(y)])[0]

    def _fit_prefixes(self, y: np.ndarray, lengths: Sequence[int]) -> list[dict[str, Any]]:
        """Fit every prefix ``y[:L]`` (the backtest's windows) in one search."""
        y = np.asarray(y, dtype=float)
        fits = {form: _search_prefixes(y, lengths, form == "dynamic") for form in self.forms}
        out = []
        for p, n in enumerate(lengths):
            form = min(self.forms, key=lambda f: fits[f][p]["sse"])
            b, dyn = fits[form][p], form == "dynamic"
            yy = y[:n]
            errors, _ = _run(yy, b["alpha"], b["theta"], b["l0"], dyn)
            out.append(
                {
                    "y": yy,
                    "alpha": float(b["alpha"]),
                    "theta": float(b["theta"]),
                    "l0": float(b["l0"]),
                    "dynamic": dyn,
                    "sigma": residual_sd(errors[BURN_IN if dyn else 0 :], 3),
                }
            )
        return out

    def _predict_series(self, state, h, X_future):
        _, mean = _run(state["y"], state["alpha"], state["theta"], state["l0"], state["dynamic"], h)
        sd = state["sigma"] * np.sqrt(1.0 + np.arange(h) * state["alpha"] ** 2)
        return mean, sd


class AutoOptimisedTheta(OptimisedTheta):
    """OTM or DOTM per series, whichever has the lower in-sample SSE (the choice statsforecast's
    AutoTheta makes among its forms): :class:`OptimisedTheta` with both forms."""

    name = "otm_dotm"

    def __init__(self, forms: tuple[str, ...] = ("static", "dynamic")) -> None:
        super().__init__(forms)


class OptimisedThetaLog(OptimisedTheta):
    """:class:`OptimisedTheta` on ``log y`` for positive series, forecasts back by ``exp``
    (a median), the sd by the delta method; a series with a value <= 0 is refused."""

    name = "dotm_log"

    def _fit_prefixes(self, y: np.ndarray, lengths: Sequence[int]) -> list[dict[str, Any]]:
        y = np.asarray(y, dtype=float)
        if np.any(y[: max(lengths)] <= 0):
            raise ValueError("dotm_log needs a positive series")
        return super()._fit_prefixes(np.log(y), lengths)

    def _predict_series(self, state, h, X_future):
        mean, sd = super()._predict_series(state, h, X_future)
        med = np.exp(mean)
        return med, med * sd
