"""Members' joint shocks: one common factor of year-on-year changes, and random-walk paths.

GDP and share shocks have a common part (one factor, its loadings estimated from members'
year-on-year changes by principal-axis factoring, not shrunk) and accumulate over the years like
a random walk. Each simulated year draws from its own random stream (seed, series, year), so a
longer horizon adds years without changing the earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _changes(hist: pd.DataFrame, members: Sequence[str]) -> pd.DataFrame:
    wide = hist.pivot(index="ds", columns="unique_id", values="y").reindex(columns=list(members))
    return wide.diff().iloc[1:]


def factor_loadings(hist: pd.DataFrame, members: Sequence[str], rounds: int = 25) -> np.ndarray:
    """Each member's loading on one common factor of year-on-year changes (a vector in (-1, 1)).

    Principal-axis factoring of the pairwise correlation matrix of the changes over their
    common years: the first principal axis, refitted with the communalities on the diagonal.
    The implied correlation is ``l l' + diag(1 - l**2)``: the common part of the shocks, which
    a correlation shrunk towards zero would understate (and with it the fund total's band).
    Fewer than 4 common years, or a member with no changes, gives loading 0 for those.
    """
    d = _changes(hist, members)
    n = len(members)
    if len(d) < 4 or n < 2:
        return np.zeros(n)
    c = d.corr(min_periods=4).to_numpy()
    known = np.isfinite(np.diag(c))
    c = np.where(np.isfinite(c), c, 0.0)
    np.fill_diagonal(c, 1.0)
    comm = np.ones(n)
    lam = np.zeros(n)
    for _ in range(rounds):
        r = c.copy()
        np.fill_diagonal(r, comm)
        w, v = np.linalg.eigh(r)
        lam = v[:, -1] * np.sqrt(max(w[-1], 0.0))
        comm = np.clip(lam**2, 0.0, 0.98)
    lam = np.clip(lam, -0.99, 0.99) * known
    return lam if lam.sum() >= 0 else -lam


def factor_corr(lam: np.ndarray) -> np.ndarray:
    """The correlation matrix ``l l' + diag(1 - l**2)`` of one-factor shocks."""
    c = np.outer(lam, lam)
    np.fill_diagonal(c, 1.0)
    return c


def _shock_stream(seed: int, stream: int, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Standard normals for one simulated year: their own stream, so a longer horizon adds
    years without changing the earlier ones."""
    return np.random.default_rng([seed, stream, step]).standard_normal(shape)


def simulate_paths(
    mean: np.ndarray,
    sd: np.ndarray,
    lam: np.ndarray,
    n_samples: int,
    seed: int,
    stream: int,
) -> np.ndarray:
    """Joint paths ``(samples, members, steps)``: one-factor random-walk shocks (a common
    factor with loadings ``lam`` plus members' own shocks), unit marginals rescaled to each
    member's forecast sd per step. Step ``j`` draws from stream ``(seed, stream, j)``."""
    n, h = mean.shape
    own = np.sqrt(np.maximum(1 - lam**2, 0.0))
    e = np.empty((n_samples, h, n))
    for j in range(h):
        z = _shock_stream(seed, stream, j, (n_samples, n + 1))
        e[:, j, :] = z[:, :1] * lam[None, :] + z[:, 1:] * own[None, :]
    z = np.cumsum(e, axis=1) / np.sqrt(np.arange(1, h + 1))[None, :, None]
    return mean[None] + sd[None] * z.transpose(0, 2, 1)
