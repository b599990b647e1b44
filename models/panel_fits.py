"""Theta and ETS fitted on many rows at once: :mod:`models.smoothing`'s searches over a 2-D array.

:class:`models.smoothing.FastTheta` and :class:`~models.smoothing.FastETS` vectorise their grid
searches over the parameter grid and the prefixes of one series; at panel scale the Python
around each series (some forty numpy calls for a grid of a few thousand points) dominates. Here
a *row* is one fit: a (normalised) series padded to the longest one and the length ``L`` of the
prefix to fit. Every row of a chunk of series - every backtest window and every final fit - runs
through the same recursions together, one numpy operation per year over rows x grid points. The
equations, grids, refinements and rules are those of :mod:`models.smoothing` (imported from
there), so the forecasts agree with the per-series fits to rounding
(``tests/test_forecast_panel_auto.py``).

Rows are sorted by ``L``, longest first, so that at year ``t`` only the rows still inside their
prefix (a leading slice) are updated: no masks and no work on padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.smoothing import (
    ALPHA_HI,
    ALPHA_LO,
    FORMS,
    N_PARAMS,
    _local_grid,
    fit_ets_forms,
)

#: Shortest series each trend form needs (statsmodels' rules, as :class:`FastETS`).
NEED = {"N": 1, "A": 5, "Ad": 8}


def normalise_rows(v: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(v - v[:, 0]) / s`` per row with ``s`` from the first ``m`` values of the row, as
    :func:`models.smoothing._normalise` of ``v[:m]`` (padding beyond ``m`` is set to 0).

    Rows are grouped by ``m`` so that each mean is numpy's over exactly ``m - 1`` changes (its
    pairwise sum depends on the length): the same scale to the bit, hence the same grid
    search."""
    s = np.zeros(len(v))
    big = np.ones(len(v))
    for length in np.unique(m):
        rows = np.flatnonzero(m == length)
        part = v[rows, :length]
        if length > 1:
            s[rows] = np.mean(np.abs(np.diff(part, axis=1)), axis=1)
        big[rows] = np.maximum(np.max(np.abs(part), axis=1), 1.0)
    s = np.where((m > 1) & (s > 0) & np.isfinite(s), s, big)
    shift = v[:, 0]
    inside = np.arange(v.shape[1])[None, :] < m[:, None]
    z = np.where(inside, (v - shift[:, None]) / s[:, None], 0.0)
    return z, shift, s


def active_counts(lengths: np.ndarray, upto: int) -> np.ndarray:
    """Rows (sorted by length, longest first) still inside their prefix at each year."""
    return np.searchsorted(-lengths, -np.arange(upto), side="left")


def _ses(z: np.ndarray, alphas: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SES started at ``z[:, 0]``: SSE and level at the end of each row's prefix, for every
    alpha (``alphas`` of shape (1, K) or (rows, K)); :func:`models.smoothing._ses_sse`."""
    shape = (len(z), alphas.shape[1])
    level = np.broadcast_to(z[:, :1], shape).copy()
    sse = np.zeros(shape)
    for t in range(1, len(active)):
        k = active[t]
        a = alphas if len(alphas) == 1 else alphas[:k]
        e = z[:k, t, None] - level[:k]
        sse[:k] = sse[:k] + e * e
        level[:k] = level[:k] + a * e
    return sse, level


def theta_rows(z: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSE-minimising SES alpha and final (normalised) level of each row, by
    :func:`models.smoothing.theta_alphas`' grid and refinements; rows sorted by length."""
    active = active_counts(lengths, int(lengths.max()))
    rows = np.arange(len(z))
    grid = np.linspace(ALPHA_LO, ALPHA_HI, 200)
    sse, _ = _ses(z, grid[None, :], active)
    best = grid[np.argmin(sse, axis=1)]
    step = grid[1] - grid[0]
    for _ in range(2):
        cand = _local_grid(best, step, ALPHA_LO, ALPHA_HI, 41)
        sse, lev = _ses(z, cand, active)
        idx = np.argmin(sse, axis=1)
        best = cand[rows, idx]
        step = step / 20
    return best, lev[rows, idx]


def sd_rows(resid: np.ndarray, count: np.ndarray, n_params: int | np.ndarray) -> np.ndarray:
    """:func:`models.base.residual_sd` of each row's first ``count`` residuals (``n_params``
    per row or for all)."""
    inside = np.arange(resid.shape[1])[None, :] < count[:, None]
    dof = np.maximum(count - n_params, 1)
    s = np.sqrt(np.where(inside, resid, 0.0) ** 2 @ np.ones(resid.shape[1]) / dof)
    return np.where(s > 0, s, 1e-12)


def theta_states(y: np.ndarray, lengths: np.ndarray, alpha: np.ndarray, level: np.ndarray):
    """:meth:`models.smoothing.FastTheta._fit_prefixes`' state of each row (original units):
    ``alpha, level, b0`` (the OLS slope), ``n`` and ``sigma`` of the SES residuals."""
    active = active_counts(lengths, int(lengths.max()))
    resid = np.zeros((len(y), max(y.shape[1] - 1, 1)))
    lvl = y[:, 0].copy()
    for t in range(1, len(active)):
        k = active[t]
        resid[:k, t - 1] = y[:k, t] - lvl[:k]
        lvl[:k] += alpha[:k] * resid[:k, t - 1]
    inside = np.arange(y.shape[1])[None, :] < lengths[:, None]
    t_c = np.where(inside, np.arange(y.shape[1])[None, :] - (lengths[:, None] - 1) / 2, 0.0)
    y_c = np.where(inside, y - (np.where(inside, y, 0.0).sum(axis=1) / lengths)[:, None], 0.0)
    b0 = (t_c * y_c).sum(axis=1) / (t_c * t_c).sum(axis=1)
    sigma = sd_rows(resid, lengths - 1, 1)
    return {"alpha": alpha, "level": level, "b0": b0, "n": lengths, "sigma": sigma}


def theta_predict(state: dict[str, np.ndarray], h: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`models.smoothing.FastTheta._predict_series` of every row: (rows, h) arrays."""
    a, n = state["alpha"][:, None], state["n"][:, None]
    steps = np.arange(1, h + 1, dtype=float)[None, :]
    trend = steps - 1 + 1 / a - (1 - a) ** n / a
    mean = state["level"][:, None] + 0.5 * state["b0"][:, None] * trend
    sd = state["sigma"][:, None] * np.sqrt(1.0 + np.arange(h)[None, :] * a**2)
    return mean, sd


def _ets_sse(
    z: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    phi: np.ndarray,
    lengths: np.ndarray,
    active: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`models.smoothing._ets_sse` with one series per row: concentrated SSE and initial
    states. Parameters of shape (1, K) are shared by every row (then the terms that do not
    depend on the data, ``a_t``, are computed once and summed up to each row's length), else
    row ``i`` has its own (rows, K). The same operations in the same order, in place."""
    shape = (len(z), alpha.shape[1])
    shared = len(alpha) == 1
    zl, zb = np.zeros(shape), np.zeros(shape)
    s_r = np.zeros((3, *shape))  # sums of r r, r a0, r a1
    a_shape = alpha.shape if shared else shape
    a0, a1 = np.ones(a_shape), np.broadcast_to(phi, a_shape).copy()
    s_a = np.zeros((len(active), 3, a_shape[1])) if shared else np.zeros((3, *shape))
    one_a, one_b = 1.0 - alpha, 1.0 - beta
    b1, b2, b3 = np.empty(shape), np.empty(shape), np.empty(shape)
    for t in range(len(active)):
        k = active[t]
        if shared:
            p, al, be, oa, ob, c0, c1 = phi, alpha, beta, one_a, one_b, a0, a1
            s_a[t] = (s_a[t - 1] if t else 0.0) + np.concatenate([a0 * a0, a0 * a1, a1 * a1])
        else:
            p, al, be, oa, ob = phi[:k], alpha[:k], beta[:k], one_a[:k], one_b[:k]
            c0, c1 = a0[:k], a1[:k]
            for m, (u, v) in enumerate(((c0, c0), (c0, c1), (c1, c1))):
                s_a[m, :k] += np.multiply(u, v, out=b3[:k])
        pz, r, tmp = b1[:k], b2[:k], b3[:k]
        np.multiply(p, zb[:k], out=pz)
        np.subtract(z[:k, t, None], zl[:k], out=r)
        r -= pz
        for m, v in enumerate((r, c0, c1)):
            s_r[m, :k] += np.multiply(r, v, out=tmp)
        zl[:k] += pz
        zl[:k] += np.multiply(al, r, out=tmp)
        np.add(pz, np.multiply(be, r, out=tmp), out=zb[:k])
        if shared:
            u = c0 * oa
            a0, a1 = u - c1 * be, p * (u + c1 * ob)
        else:
            u = np.multiply(c0, oa, out=pz)
            np.multiply(c1, ob, out=r)
            r += u
            np.multiply(c1, be, out=tmp)
            np.subtract(u, tmp, out=c0)
            np.multiply(p, r, out=c1)
    s_00, s_01, s_11 = s_a[lengths - 1].transpose(1, 0, 2) if shared else s_a
    s_rr, s_r0, s_r1 = s_r
    with np.errstate(divide="ignore", invalid="ignore"):
        det = s_00 * s_11 - s_01 * s_01
        two = (s_11 > 0) & (det > 1e-10 * s_00 * s_11)
        xl = np.where(two, (s_11 * s_r0 - s_01 * s_r1) / det, s_r0 / s_00)
        xb = np.where(two, (s_00 * s_r1 - s_01 * s_r0) / det, 0.0)
        flat = s_11 == 0
        sse = s_rr - xl * s_r0 - xb * s_r1
        sse = np.where(two | flat, np.maximum(sse, 0.0), np.inf)
    return sse, xl, xb


#: Elements of one row block's arrays in :func:`_sse_u`: blocks that stay in the CPU's cache
#: run about twice as fast as the whole chunk at once.
BLOCK_ELEMENTS = 2**15


def _sse_u(z, ua, ub, phi, lengths):
    """:func:`_ets_sse` at ``alpha = ua^2``, ``beta = alpha * ub^2``, by blocks of rows."""
    alpha = ua * ua
    beta = alpha * ub * ub
    step = max(16, BLOCK_ELEMENTS // alpha.shape[1])
    parts = []
    for i in range(0, len(z), step):
        rows = slice(i, i + step)
        own = slice(None) if len(alpha) == 1 else rows
        active = active_counts(lengths[rows], int(lengths[rows].max()))
        parts.append(_ets_sse(z[rows], alpha[own], beta[own], phi[own], lengths[rows], active))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def ets_forms(z: np.ndarray, lengths: np.ndarray, forms: Sequence[str]) -> dict[str, dict]:
    """:func:`models.smoothing.fit_ets_forms` with one series per row (rows sorted by length),
    its grids evaluated by blocks of rows."""
    return fit_ets_forms(z, lengths, forms, sse_u=_sse_u)


def aicc(sse: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
    """:func:`models.smoothing._aicc` of every row (inf where the SSE is not finite)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.maximum(sse, 1e-12 * n)
        llf = -n / 2 * (np.log(2 * np.pi * s / n) + 1)
        dof = n - k - 1.0
        out = -2 * llf + np.where(dof > 0, 2.0 * k * n / np.where(dof > 0, dof, 1), 2.0 * k)
    return np.where(np.isfinite(sse), out, np.inf)


def ets_states(z, shift, scale, lengths):
    """:class:`models.smoothing.FastETS`' fit of each row (rows sorted by length): the trend
    form by AICc and the final states (original units); ``ok`` False where no form fits."""
    forms = [f for f in FORMS if NEED[f] <= int(lengths.max())]
    fits = ets_forms(z, lengths, forms)
    crit = np.full((len(z), len(FORMS)), np.inf)
    for f, fit in fits.items():
        c = aicc(fit["sse"], lengths.astype(float), N_PARAMS[f] + 1)
        crit[:, FORMS.index(f)] = np.where(lengths >= NEED[f], c, np.inf)
    form = np.argmin(crit, axis=1)
    ok = np.isfinite(crit[np.arange(len(z)), form])
    par = {
        key: np.choose(form, [fits[f][key] if f in fits else fits["N"][key] for f in FORMS])
        for key in ("alpha", "bstar", "phi", "l0", "b0")
    }
    trend = form != FORMS.index("N")
    alpha = par["alpha"]
    beta = np.where(trend, alpha * par["bstar"], 0.0)
    phi = np.where(form == FORMS.index("Ad"), par["phi"], 1.0)
    level, slope = par["l0"].copy(), np.where(trend, par["b0"], 0.0)
    active = active_counts(lengths, int(lengths.max()))
    resid = np.zeros(z.shape)
    for t in range(len(active)):
        k = active[t]
        e = z[:k, t] - level[:k] - phi[:k] * slope[:k]
        resid[:k, t] = e
        level[:k], slope[:k] = (
            level[:k] + phi[:k] * slope[:k] + alpha[:k] * e,
            phi[:k] * slope[:k] + beta[:k] * e,
        )
    sigma = sd_rows(resid, lengths, np.array([N_PARAMS[f] for f in FORMS])[form])
    state = {
        "alpha": alpha,
        "beta": beta,
        "phi": phi,
        "level": shift + scale * level,
        "slope": scale * slope,
        "sigma": scale * sigma,
    }
    return state, ok


def ets_predict(state: dict[str, np.ndarray], h: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`models.smoothing.FastETS._predict_series` of every row: (rows, h) arrays."""
    a, b, phi = (state[k][:, None] for k in ("alpha", "beta", "phi"))
    j = np.arange(1, h + 1)[None, :]
    phisum = np.where(phi != 1.0, np.cumsum(phi**j, axis=1), j.astype(float))
    mean = state["level"][:, None] + state["slope"][:, None] * phisum
    c = a + b * phisum[:, :-1]
    var = np.concatenate([np.ones((len(a), 1)), 1.0 + np.cumsum(c**2, axis=1)], axis=1)
    return mean, state["sigma"][:, None] * np.sqrt(var)
