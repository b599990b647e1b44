"""Theta and exponential smoothing fitted with vectorised numpy instead of scipy's optimisers.

The statsmodels fits (:mod:`models.statsmodels_models`) cost 10-20 ms a series, almost all of it
in L-BFGS with numerical gradients over a Python-level likelihood. These models have few
parameters and a recursion that is linear in the data, so we evaluate the in-sample sum of
squared one-step errors (SSE) for a whole grid of parameters at once, one numpy operation per
year over every grid point, then refine around the best point with finer grids. Every prefix of a
series is fitted in the same pass (the SSE of a prefix is a partial sum), so the rolling-origin
windows of a backtest share the work.

- Theta (:class:`FastTheta`) is statsmodels' ``ThetaModel`` (OLS/SES method): SES started at the
  first observation with ``alpha`` minimising the SSE, plus half the OLS slope as drift. Given
  ``alpha`` its forecast is closed form.
- ETS (:class:`FastETS`) is additive-error ETS with no, additive or damped trend, chosen by AICc as
  :class:`models.statsmodels_models.ETS` does. For fixed smoothing parameters the one-step errors
  are linear in the initial level and trend, so those are solved by least squares (the
  concentrated likelihood); only ``alpha``, ``beta/alpha`` and ``phi`` are searched, within
  statsmodels' bounds.

A grid search finds the global minimum on the grid, where L-BFGS from a fixed start can stop at a
local one; both give the same forecasts where the likelihood has one clear optimum (tested on
known series in ``tests/test_models_smoothing.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from models.base import Forecaster, residual_sd
from models.errors import ForecastInputError

# statsmodels' bounds: ETSModel uses [1e-4, 1 - 1e-4] for alpha and beta/alpha, [0.8, 0.98] for
# phi; ThetaModel's SES keeps alpha inside (0, 1).
ALPHA_LO, ALPHA_HI = 1e-4, 1 - 1e-4
PHI_LO, PHI_HI = 0.8, 0.98


def _normalise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(y - y[0]) / s``: the fits are shift- and scale-equivariant; this keeps sums in range."""
    s = float(np.mean(np.abs(np.diff(y)))) if len(y) > 1 else 0.0
    if not (s > 0 and np.isfinite(s)):
        s = max(float(np.max(np.abs(y))), 1.0)
    return (y - y[0]) / s, float(y[0]), s


def _local_grid(
    best: np.ndarray, step: float | np.ndarray, lo: float, hi: float, k: int
) -> np.ndarray:
    """``k`` points per row spanning ``best +- step`` (step: scalar or per row), clipped to
    ``[lo, hi]``: shape (P, k)."""
    span = np.linspace(-1.0, 1.0, k)[None, :] * np.reshape(step, (-1, 1))
    return np.clip(best[:, None] + span, lo, hi)


# -- Theta ---------------------------------------------------------------------------------------


def _ses_sse(y: np.ndarray, alphas: np.ndarray, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """SES started at ``y[0]``: cumulative SSE after each year and the level, for every alpha.

    Returns ``(cum_sse, level)`` of shape ``(upto, *alphas.shape)``: row ``t`` is the state after
    observing ``y[: t + 1]``.
    """
    level = np.full(alphas.shape, y[0])
    sse = np.zeros(alphas.shape)
    cum = np.empty((upto, *alphas.shape))
    lev = np.empty((upto, *alphas.shape))
    cum[0], lev[0] = sse, level
    for t in range(1, upto):
        e = y[t] - level
        sse = sse + e * e
        level = level + alphas * e
        cum[t], lev[t] = sse, level
    return cum, lev


def theta_alphas(y: np.ndarray, lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """SSE-minimising SES ``alpha`` and the final level for each prefix ``y[:L]``.

    A 200-point grid over ``[1e-4, 1 - 1e-4]``, then two 41-point refinements (precision about
    1e-5).
    """
    z, shift, scale = _normalise(y)
    L = np.asarray(lengths, dtype=int)
    rows = np.arange(len(L))
    grid = np.linspace(ALPHA_LO, ALPHA_HI, 200)
    cum, _ = _ses_sse(z, grid, int(L.max()))
    best = grid[np.argmin(cum[L - 1], axis=1)]
    step = grid[1] - grid[0]
    for _ in range(2):
        cand = _local_grid(best, step, ALPHA_LO, ALPHA_HI, 41)
        cum, lev = _ses_sse(z, cand, int(L.max()))
        idx = np.argmin(cum[L - 1, rows], axis=1)
        best = cand[rows, idx]
        step = step / 20
    level = lev[L - 1, rows, idx]
    return best, shift + scale * level


def ols_slope(y: np.ndarray) -> float:
    """Slope of the least-squares line through ``y`` against ``0, 1, ..., n-1``."""
    t = np.arange(len(y), dtype=float)
    tc = t - t.mean()
    return float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))


class FastTheta(Forecaster):
    """Theta method (SES with half the OLS slope as drift), statsmodels' equations without scipy.

    Same forecasts and standard deviations as :class:`models.statsmodels_models.Theta`: the
    forecast is ``level + b0 / 2 * (h - 1 + 1/alpha - (1 - alpha)^n / alpha)`` and the sd is
    ``sigma * sqrt(1 + (h - 1) alpha^2)`` with ``sigma`` from the SES residuals.
    """

    name = "fast_theta"
    min_length = 4

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        return self._fit_prefixes(y, [len(y)])[0]

    def _fit_prefixes(self, y: np.ndarray, lengths: Sequence[int]) -> list[dict[str, Any]]:
        """Fit every prefix ``y[:L]`` in one vectorised pass (the backtest's windows)."""
        alphas, levels = theta_alphas(y, lengths)
        out = []
        for L, a, lev in zip(lengths, alphas, levels, strict=True):
            yy = y[:L]
            resid = np.diff(yy)  # SES one-step errors, recomputed exactly at the chosen alpha
            lvl = yy[0]
            for t in range(1, L):
                resid[t - 1] = yy[t] - lvl
                lvl += a * resid[t - 1]
            out.append(
                {
                    "alpha": float(a),
                    "level": float(lev),
                    "b0": ols_slope(yy),
                    "n": int(L),
                    "sigma": residual_sd(resid, 1),
                }
            )
        return out

    def _predict_series(self, state, h, X_future):
        a, n = state["alpha"], state["n"]
        steps = np.arange(1, h + 1, dtype=float)
        trend = steps - 1 + 1 / a - (1 - a) ** n / a
        mean = state["level"] + 0.5 * state["b0"] * trend
        sd = state["sigma"] * np.sqrt(1.0 + np.arange(h) * a**2)
        return mean, sd


# -- ETS -----------------------------------------------------------------------------------------


def _ets_sse(
    y: np.ndarray, alpha: np.ndarray, beta: np.ndarray, phi: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concentrated SSE of additive-error ETS for every prefix and every parameter point.

    The one-step error is ``e_t = r_t - a_t . x0`` where ``r_t`` is the error with zero initial
    states and ``a_t`` the row ``w' D^t`` (``D = F - g w'``, ``w = (1, phi)``): the SSE minimised
    over the initial states ``x0`` is a least-squares problem solved from the sums of ``r r``,
    ``a r`` and ``a a'`` up to each prefix. No-trend points have ``phi = beta = 0``: their trend
    column is zero and the level alone is solved.

    Parameters have shape ``(1, K)`` (one grid for every prefix) or ``(P, K)`` (row ``p`` for
    prefix ``lengths[p]``). Returns ``(sse, level0, trend0)`` of shape ``(P, K)``.
    """
    upto = int(lengths.max())
    shape = np.broadcast(alpha, beta, phi).shape
    zl, zb = np.zeros(shape), np.zeros(shape)
    a0, a1 = np.ones(shape), np.broadcast_to(phi, shape).copy()
    one_a, one_b = 1.0 - alpha, 1.0 - beta
    r_all = np.empty((upto, *shape))
    a0_all = np.empty((upto, *shape))
    a1_all = np.empty((upto, *shape))
    for t in range(upto):
        r = y[t] - zl - phi * zb
        r_all[t], a0_all[t], a1_all[t] = r, a0, a1
        zl, zb = zl + phi * zb + alpha * r, phi * zb + beta * r
        u = a0 * one_a
        a0, a1 = u - a1 * beta, phi * (u + a1 * one_b)
    # Sums over the years before each prefix's end: a 0/1 mask times the stored terms. One shared
    # grid (params of shape (1, K)) serves every prefix; else row p belongs to prefix p.
    mask = (np.arange(upto)[:, None] < lengths[None, :]).astype(float)
    if shape[0] == 1:
        r_all, a0_all, a1_all = r_all[:, 0], a0_all[:, 0], a1_all[:, 0]
        spec = "tk,tp->pk"
    else:
        spec = "tpk,tp->pk"

    def total(x: np.ndarray) -> np.ndarray:
        return np.einsum(spec, x, mask)

    s_rr = total(r_all * r_all)
    s_r0 = total(r_all * a0_all)
    s_r1 = total(r_all * a1_all)
    s_00 = total(a0_all * a0_all)
    s_01 = total(a0_all * a1_all)
    s_11 = total(a1_all * a1_all)
    with np.errstate(divide="ignore", invalid="ignore"):
        det = s_00 * s_11 - s_01 * s_01
        two = (s_11 > 0) & (det > 1e-10 * s_00 * s_11)
        xl = np.where(two, (s_11 * s_r0 - s_01 * s_r1) / det, s_r0 / s_00)
        xb = np.where(two, (s_00 * s_r1 - s_01 * s_r0) / det, 0.0)
        flat = s_11 == 0  # no-trend points: one unknown
        sse = s_rr - xl * s_r0 - xb * s_r1
        sse = np.where(two | flat, np.maximum(sse, 0.0), np.inf)
    return sse, xl, xb


# The search runs over sqrt(alpha), sqrt(beta/alpha) and phi: uniform grids in the square roots
# put more points near zero, where yearly series' smoothing parameters often are (a damped trend
# with alpha near 1e-4 was missed by a uniform alpha grid).
_U_LO, _U_HI = np.sqrt(ALPHA_LO), np.sqrt(ALPHA_HI)
_UA_GRID = np.linspace(_U_LO, _U_HI, 16)
_UB_GRID = np.linspace(_U_LO, _U_HI, 8)
_PHI_GRID = np.linspace(PHI_LO, PHI_HI, 4)
_UN_GRID = np.linspace(_U_LO, _U_HI, 60)
FORMS = ("N", "A", "Ad")
_FREE = {"N": ("ua",), "A": ("ua", "ub"), "Ad": ("ua", "ub", "phi")}
_REFINE_POINTS = {"N": 41, "A": 9, "Ad": 5}
ETS_ROUNDS = 8
_BOUNDS = {"ua": (_U_LO, _U_HI), "ub": (_U_LO, _U_HI), "phi": (PHI_LO, PHI_HI)}


def _coarse(forms: Sequence[str]) -> tuple[np.ndarray, ...]:
    """The coarse grid of every form side by side: sqrt(alpha), sqrt(beta/alpha), phi, form."""
    parts = []
    for f in forms:
        if f == "N":
            g = [_UN_GRID, np.zeros(len(_UN_GRID)), np.zeros(len(_UN_GRID))]
        else:
            phis = _PHI_GRID if f == "Ad" else np.array([1.0])
            g = [m.ravel() for m in np.meshgrid(_UA_GRID, _UB_GRID, phis, indexing="ij")]
        parts.append((*g, np.full(len(g[0]), FORMS.index(f))))
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))


def _steps(form: str) -> dict[str, float]:
    ua = _UN_GRID if form == "N" else _UA_GRID
    return {
        "ua": ua[1] - ua[0],
        "ub": _UB_GRID[1] - _UB_GRID[0],
        "phi": _PHI_GRID[1] - _PHI_GRID[0],
    }


def _local(
    form: str, best: dict[str, np.ndarray], steps: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Local grids around ``best`` for one form: ua, ub, phi, each of shape (P, k)."""
    free = _FREE[form]
    k = _REFINE_POINTS[form]
    axes = {n: _local_grid(best[n], steps[n], *_BOUNDS[n], k) for n in free}
    idx = [m.ravel() for m in np.meshgrid(*[np.arange(k)] * len(free), indexing="ij")]
    cols = {n: axes[n][:, i] for n, i in zip(free, idx, strict=True)}
    width = len(idx[0])
    fixed = {"ub": 0.0, "phi": 0.0} if form == "N" else {"phi": 1.0}
    for n, v in fixed.items():
        cols.setdefault(n, np.full((len(best["ua"]), width), v))
    return [cols["ua"], cols["ub"], cols["phi"]]


def _sse_u(
    z: np.ndarray, ua: np.ndarray, ub: np.ndarray, phi: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_ets_sse` at ``alpha = ua^2`` and ``beta = alpha * ub^2``."""
    alpha = ua * ua
    return _ets_sse(z, alpha, alpha * ub * ub, phi, lengths)


def fit_ets_forms(
    z: np.ndarray,
    lengths: np.ndarray,
    forms: Sequence[str],
    sse_u: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] = _sse_u,
) -> dict[str, dict[str, np.ndarray]]:
    """Best ``alpha``, ``bstar`` (beta/alpha), ``phi``, SSE and initial states of each trend form,
    for every prefix (row of ``z``).

    One coarse pass over every form's grid, then ``ETS_ROUNDS`` passes of local grids around
    each prefix's best point (a vectorised pattern search). ``sse_u`` evaluates the grids
    (:func:`_sse_u`; the panel path passes one that works by cache-sized blocks of rows).
    """
    ua, ub, p, form_idx = _coarse(forms)
    sse, _, _ = sse_u(z, ua[None], ub[None], p[None], lengths)
    best: dict[str, dict[str, np.ndarray]] = {}
    rows = np.arange(len(lengths))
    for f in forms:
        cols = np.flatnonzero(form_idx == FORMS.index(f))
        j = cols[np.argmin(sse[:, cols], axis=1)]
        best[f] = {"ua": ua[j], "ub": ub[j], "phi": p[j]}
    steps = {f: {n: np.full(len(rows), v) for n, v in _steps(f).items()} for f in forms}
    # Pattern search: a parameter's step shrinks when its best point is inside the local grid and
    # stays when it is on an edge (the optimum lies further out: sharp likelihoods, e.g. a
    # nearly deterministic damped trend, need the room).
    for _ in range(ETS_ROUNDS):
        grids = {f: _local(f, best[f], steps[f]) for f in forms}
        gu, gb, gp = (np.concatenate([grids[f][i] for f in forms], axis=1) for i in range(3))
        sse, xl, xb = sse_u(z, gu, gb, gp, lengths)
        start = 0
        for f in forms:
            k = _REFINE_POINTS[f]
            width = grids[f][0].shape[1]
            pos = np.argmin(sse[:, start : start + width], axis=1)
            j = start + pos
            new = {"ua": gu[rows, j], "ub": gb[rows, j], "phi": gp[rows, j]}
            coords = np.unravel_index(pos, (k,) * len(_FREE[f]))
            for n, c in zip(_FREE[f], coords, strict=True):
                lo, hi = _BOUNDS[n]
                edge = ((c == 0) & (new[n] > lo)) | ((c == k - 1) & (new[n] < hi))
                steps[f][n] = np.where(edge, steps[f][n], steps[f][n] / ((k - 1) / 2))
            best[f] = {**new, "sse": sse[rows, j], "l0": xl[rows, j], "b0": xb[rows, j]}
            start += width
    for f in forms:
        best[f]["alpha"] = best[f].pop("ua") ** 2
        best[f]["bstar"] = best[f].pop("ub") ** 2
    return best


def _aicc(sse: float, n: int, k: int) -> float:
    """statsmodels' AICc of a concentrated Gaussian likelihood, AIC where AICc is undefined.

    A perfect fit (SSE 0 on the normalised data: a constant or an exact line) is floored at
    1e-12 per observation so that it still ranks, the simplest form winning ties.
    """
    if not np.isfinite(sse):
        return np.inf
    sse = max(sse, 1e-12 * n)
    llf = -n / 2 * (np.log(2 * np.pi * sse / n) + 1)
    dof = n - k - 1.0
    return -2 * llf + (2.0 * k * n / dof if dof > 0 else 2.0 * k)


N_PARAMS = {"N": 2, "A": 4, "Ad": 5}  # smoothing parameters and initial states, as statsmodels


class FastETS(Forecaster):
    """Additive-error ETS with the trend (none, additive, damped) chosen by AICc, in numpy.

    The same model family, bounds, likelihood and AICc rules as
    :class:`models.statsmodels_models.ETS` (trend forms need 5 observations, damped 8); the
    parameters come from the grid search described in the module docstring.

    Parameters
    ----------
    trends : which trend forms to try, from ``"N"``, ``"A"``, ``"Ad"``.
    """

    name = "fast_ets"
    min_length = 3

    def __init__(self, trends: Sequence[str] = ("N", "A", "Ad")) -> None:
        self.trends = trends

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        return self._fit_prefixes(y, [len(y)])[0]

    def _fit_prefixes(self, y: np.ndarray, lengths: Sequence[int]) -> list[dict[str, Any]]:
        """Fit every prefix ``y[:L]`` (the backtest's windows) in one vectorised search."""
        unknown = [f for f in self.trends if f not in N_PARAMS]
        if unknown or not self.trends:
            raise ForecastInputError(f"ETS trends must be among N, A, Ad; got {list(self.trends)}")
        z, shift, scale = _normalise(y)
        L = np.asarray(lengths, dtype=int)
        need = {"N": 1, "A": 5, "Ad": 8}
        # Every form is fitted to every prefix in one pass; a prefix too short for a form (by
        # statsmodels' rules above) ignores that form's fit.
        forms = [f for f in FORMS if f in self.trends and need[f] <= L.max()]
        fits = fit_ets_forms(z, L, forms) if forms else {}
        out = []
        for i, n in enumerate(L):
            best: tuple[float, str, dict[str, float]] | None = None
            for form, fit in fits.items():
                if n < need[form]:
                    continue
                par = {key: float(v[i]) for key, v in fit.items()}
                crit = _aicc(par["sse"], int(n), N_PARAMS[form] + 1)
                if np.isfinite(crit) and (best is None or crit < best[0]):
                    best = (crit, form, par)
            if best is None:
                raise ValueError("no ETS model could be fitted")
            out.append(self._state(z[:n], shift, scale, best[1], best[2]))
        return out

    @staticmethod
    def _state(z: np.ndarray, shift: float, scale: float, form: str, par: dict) -> dict[str, Any]:
        """Run the chosen model through the (normalised) data: final states and residual sd."""
        alpha = par["alpha"]
        trend = form != "N"
        beta = alpha * par["bstar"] if trend else 0.0
        phi = par["phi"] if form == "Ad" else 1.0
        level, slope = par["l0"], par["b0"] if trend else 0.0
        resid = np.empty(len(z))
        for t in range(len(z)):
            e = z[t] - level - phi * slope
            resid[t] = e
            level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
        return {
            "form": form,
            "alpha": alpha,
            "beta": beta,
            "phi": phi,
            "level": shift + scale * level,
            "slope": scale * slope,
            "sigma": scale * residual_sd(resid, N_PARAMS[form]),
        }

    def _predict_series(self, state, h, X_future):
        a, b, phi = state["alpha"], state["beta"], state["phi"]
        j = np.arange(1, h + 1)
        phisum = np.cumsum(phi**j) if phi != 1.0 else j.astype(float)
        mean = state["level"] + state["slope"] * phisum
        c = a + b * phisum[:-1]
        var = np.concatenate([[1.0], 1.0 + np.cumsum(c**2)])
        return mean, state["sigma"] * np.sqrt(var)


class _OnLogs:
    """Fit the parent model to ``log y`` (strictly positive series) and forecast ``exp``.

    The mean is ``exp`` of the log forecast (the median of a log-normal forecast) and the sd comes
    from the delta method, ``exp(mean_log) * sd_log``: growth in percent rather than in units.
    """

    name: ClassVar[str]

    def _fit_prefixes(self, y: np.ndarray, lengths: Sequence[int]) -> list[dict[str, Any]]:
        if np.any(y <= 0):
            raise ForecastInputError(f"{self.name} needs a strictly positive series")
        return super()._fit_prefixes(np.log(y), lengths)  # type: ignore[misc]

    def _predict_series(self, state, h, X_future):
        mean_log, sd_log = super()._predict_series(state, h, X_future)  # type: ignore[misc]
        mean = np.exp(mean_log)
        return mean, mean * sd_log


class FastThetaLog(_OnLogs, FastTheta):
    """:class:`FastTheta` on the logarithm of a positive series (multiplicative trend)."""

    name = "fast_theta_log"


class FastETSLog(_OnLogs, FastETS):
    """:class:`FastETS` on the logarithm of a positive series (multiplicative trend)."""

    name = "fast_ets_log"
