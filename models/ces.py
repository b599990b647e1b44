"""Complex exponential smoothing (CES), the non-seasonal model, in numpy.

CES (Svetunkov, Kourentzes & Ord 2022, "Complex exponential smoothing", Naval Research
Logistics 69) smooths the complex-valued series ``y_t + i e_t`` with a complex parameter
``alpha0 + i alpha1``. Its two real states, the level ``l`` and the information potential
``c``, follow (the form of statsforecast's ``ces.py``, model "N", which is what its
``AutoCES`` fits to yearly data)::

    yhat_t = l_{t-1},   e_t = y_t - yhat_t
    l_t = l_{t-1} - (1 - alpha1) c_{t-1} + (alpha0 - alpha1) e_t
    c_t = l_{t-1} + (1 - alpha0) c_{t-1} + (alpha0 + alpha1) e_t

Forecasts iterate the same recursion with ``e = 0``. With no trend component the model still
follows a trend (or not) as the data say: the parameters decide how much of the recent
direction is carried forward, between a level and a trend model. Initial states as
statsforecast's: ``l_0`` the mean of the first (up to) 10 observations, ``c_0 = l_0 / 1.1``.

Fitting: least squares of the one-step errors (statsforecast's normal likelihood
``n log(SSE)``) over the stability region of the paper, ``(alpha0 - 2.5)^2 + alpha1^2 > 1.25``,
``(alpha0 - 0.5)^2 + (alpha1 - 1)^2 > 0.25`` and ``(alpha0 - 1.5)^2 + (alpha1 - 0.5)^2 < 1.5``
inside statsforecast's box ``[0.01, 1.8] x [0.01, 1.9]``. Instead of statsforecast's local
Nelder-Mead from (1.3, 1), every point of a grid over the region is evaluated at once, then
Nelder-Mead starts from the best: on some series this finds a lower SSE than statsforecast,
and the forecasts differ. statsforecast's compiled fit also refines the
initial states (they differ from those above), so even at equal parameters the forecasts
agree only to about 0.1%.

The sd at step ``h`` is that of the single-source-of-error state space form
``x_t = F x_{t-1} + g e_t``: ``sigma * sqrt(1 + sum_{j<h} (w F^(j-1) g)^2)``;
:class:`models.selection.AutoForecaster` calibrates it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd

BOX = ((0.01, 1.8), (0.01, 1.9))  # statsforecast's bounds on alpha0 and alpha1
N_INIT = 10  # observations averaged for the initial level


def stable(a0: Any, a1: Any) -> Any:
    """Whether ``(alpha0, alpha1)`` (floats, or arrays elementwise) lies in CES's stability
    region and the box."""
    return (
        ((a0 - 2.5) ** 2 + a1**2 > 1.25)
        & ((a0 - 0.5) ** 2 + (a1 - 1) ** 2 > 0.25)
        & ((a0 - 1.5) ** 2 + (a1 - 0.5) ** 2 < 1.5)
        & (a0 >= BOX[0][0])
        & (a0 <= BOX[0][1])
        & (a1 >= BOX[1][0])
        & (a1 <= BOX[1][1])
    )


def initial_states(y: np.ndarray) -> tuple[float, float]:
    """``(l_0, c_0)``: the mean of the first ``N_INIT`` values and that over 1.1."""
    level = float(np.mean(y[: min(N_INIT, len(y))]))
    return level, level / 1.1


def one_step_errors(y: np.ndarray, a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """One-step errors ``(n, K)`` of the K parameter pairs on ``y``, all at once."""
    lev0, pot0 = initial_states(y)
    level = np.full(len(a0), lev0)
    pot = np.full(len(a0), pot0)
    out = np.empty((len(y), len(a0)))
    for t, obs in enumerate(y):
        e = obs - level
        out[t] = e
        level, pot = (
            level - (1 - a1) * pot + (a0 - a1) * e,
            level + (1 - a0) * pot + (a0 + a1) * e,
        )
    return out


def run(y: np.ndarray, a0: float, a1: float, h: int) -> tuple[np.ndarray, np.ndarray]:
    """In-sample one-step errors and ``h`` forecasts of one parameter pair."""
    level, pot = initial_states(y)
    errors = np.empty(len(y))
    for t, obs in enumerate(y):
        e = obs - level
        errors[t] = e
        level, pot = level - (1 - a1) * pot + (a0 - a1) * e, level + (1 - a0) * pot + (a0 + a1) * e
    fc = np.empty(h)
    for t in range(h):
        fc[t] = level
        level, pot = level - (1 - a1) * pot, level + (1 - a0) * pot
    return errors, fc


def _sse(y: np.ndarray, a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        sse = np.sum(one_step_errors(y, a0, a1) ** 2, axis=0)
    return np.where(np.isfinite(sse), sse, np.inf)


def _sse_one(y: list[float], lev0: float, pot0: float, a0: float, a1: float) -> float:
    """SSE of one parameter pair in plain floats (Nelder-Mead's calls: numpy's per-call
    overhead on one pair is 10x the arithmetic)."""
    if not stable(a0, a1):
        return np.inf
    level, pot, sse = lev0, pot0, 0.0
    for obs in y:
        e = obs - level
        sse += e * e
        level, pot = level - (1 - a1) * pot + (a0 - a1) * e, level + (1 - a0) * pot + (a0 + a1) * e
    return sse if np.isfinite(sse) else np.inf


def search(y: np.ndarray) -> tuple[float, float]:
    """Least-SSE ``(alpha0, alpha1)`` in the stability region: the best point of a 25 x 25 grid,
    then Nelder-Mead from there."""
    # Imported here: scipy.optimize costs 0.23 s at start-up, which every command that loads the
    # registry (python forecast.py among them) would pay without ever fitting CES.
    from scipy.optimize import minimize

    g0, g1 = np.meshgrid(np.linspace(*BOX[0], 25), np.linspace(*BOX[1], 25), indexing="ij")
    a0, a1 = g0.ravel(), g1.ravel()
    ok = stable(a0, a1)
    a0, a1 = np.append(a0[ok], 1.3), np.append(a1[ok], 1.0)  # and statsforecast's start
    sse = _sse(y, a0, a1)
    j = int(np.argmin(sse))
    # The SSE has a narrow ridge near alpha1 = 1 that a grid steps over: Nelder-Mead (the
    # optimiser statsforecast uses) from the grid's best point follows it.
    args = ([float(v) for v in y], *initial_states(y))
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(
            lambda p: _sse_one(*args, float(p[0]), float(p[1])),
            np.array([a0[j], a1[j]]),
            method="Nelder-Mead",
            options={"xatol": 1e-4, "fatol": 1e-9 * max(float(sse[j]), 1e-300), "maxfev": 400},
        )
    if np.isfinite(res.fun) and res.fun < sse[j]:
        return float(res.x[0]), float(res.x[1])
    return float(a0[j]), float(a1[j])


def sd_multipliers(a0: float, a1: float, h: int) -> np.ndarray:
    """``sqrt(1 + sum_{j<step} (w F^(j-1) g)^2)`` for steps 1..h (state space form)."""
    f = np.array([[1.0, -(1 - a1)], [1.0, 1 - a0]])
    g = np.array([a0 - a1, a0 + a1])
    psi = []
    v = g
    for _ in range(h - 1):
        psi.append(v[0])
        v = f @ v
    return np.sqrt(1.0 + np.concatenate([[0.0], np.cumsum(np.square(psi))]))


class CES(Forecaster):
    """Complex exponential smoothing, non-seasonal (see the module docstring)."""

    name = "ces"
    min_length = 4

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        y = np.asarray(y, dtype=float)
        # The SSE's argmin does not depend on the scale, but its numbers do: fit on y / scale.
        scale = float(np.max(np.abs(y))) or 1.0
        ys = y / scale
        a0, a1 = search(ys)
        errors, _ = run(ys, a0, a1, 0)
        return {"y": ys, "scale": scale, "alpha0": a0, "alpha1": a1,
                "sigma": residual_sd(errors, 2) * scale}  # fmt: skip

    def _predict_series(self, state, h, X_future):
        _, mean = run(state["y"], state["alpha0"], state["alpha1"], h)
        sd = state["sigma"] * sd_multipliers(state["alpha0"], state["alpha1"], h)
        return mean * state["scale"], sd
