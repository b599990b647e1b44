"""Combinations of single models: their names, the menus the backtest chooses from, and
their forecasts (the median or the mean of the components that fitted).

A combination of already-backtested models costs no extra fit: its backtest forecasts are
computed from its components' columns (:func:`add_combinations`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.ensemble import combine
from models.errors import ForecastInputError

DEFAULT_COMBINATIONS: dict[str, tuple[str, ...]] = {"ensemble": ("drift", "theta", "ets")}
COMBINERS = ("median", "mean")


class Combo(tuple):
    """The component model names of a combination, with ``how`` they combine (median or mean).

    A plain tuple of names in ``combinations`` means the median.
    """

    how: str

    def __new__(cls, parts: Iterable[str], how: str = "median") -> Combo:
        if how not in COMBINERS:
            raise ForecastInputError(f"a combination is a median or a mean; got {how!r}")
        obj = super().__new__(cls, tuple(parts))
        obj.how = how
        return obj

    def __reduce__(self) -> tuple[type[Combo], tuple[tuple[str, ...], str]]:
        return (Combo, (tuple(self), self.how))


def as_combo(parts: Sequence[str]) -> Combo:
    """``parts`` as a :class:`Combo` (a plain sequence of names is a median)."""
    return Combo(parts, getattr(parts, "how", "median"))


def default_combinations(candidates: Sequence[str]) -> dict[str, Combo]:
    """The menu of combinations the backtest chooses from: ``ensemble`` (the median of drift,
    theta and ETS) and the median and the mean of every subset of three or more candidates.
    Scoring a combination on the backtest costs no fit, so the menu can be wide."""
    from itertools import combinations as subsets

    out: dict[str, Combo] = {}
    if set(DEFAULT_COMBINATIONS["ensemble"]) <= set(candidates):
        out["ensemble"] = Combo(DEFAULT_COMBINATIONS["ensemble"])
    seen = {tuple(v) for v in out.values()}
    for k in range(3, len(candidates) + 1):
        for combo in subsets(candidates, k):
            if combo not in seen:
                out[f"median({','.join(combo)})"] = Combo(combo)
            out[f"mean({','.join(combo)})"] = Combo(combo, "mean")
    return out


#: ``median``: the median of the whole pool for every panel, no backtest choice (the default);
#: ``small`` and ``subsets``: the backtest chooses from the singles and the pool's median and
#: mean, or from the medians and means of every subset of three or more.
MENUS = ("median", "small", "subsets")


def small_combinations(candidates: Sequence[str]) -> dict[str, Combo]:
    """The small menu: the median and the mean of the whole pool (with three or more
    candidates); with the single candidates, that is all the backtest chooses from. A few
    windows of short annual series cannot tell dozens of near-equal candidates apart (a wide
    menu made the choice close to random on unseen data); the combination of every member of
    a diverse pool is the forecasting literature's robust default."""
    if len(candidates) < 3:
        return {}
    names = ",".join(candidates)
    return {
        f"median({names})": Combo(candidates),
        f"mean({names})": Combo(candidates, "mean"),
    }


def used_label(name: str, parts: Sequence[str], used: Sequence[str]) -> str:
    """The label of candidate ``name`` (components ``parts``) where only ``used`` fitted: the
    name itself when all did, the one model when one did, else the combination of those."""
    if len(used) == len(parts) or not used:
        return name
    if len(used) == 1:
        return used[0]
    return f"{getattr(parts, 'how', 'median')}({','.join(used)})"


def combo_forecast(
    parts: list[tuple[np.ndarray, np.ndarray]], how: str = "median"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``how`` (median or mean) combination of the components' ``(mean, sd)`` forecasts,
    leaving out components whose forecast is not finite (all NaN if none is)."""
    ok = [(m, s) for m, s in parts if np.all(np.isfinite(m))]
    if not ok:
        n = len(parts[0][0])
        return np.full(n, np.nan), np.full(n, np.nan)
    return combine([m for m, _ in ok], [s for _, s in ok], how)


def add_combinations(cv: pd.DataFrame, combinations: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """A cv frame with one column per combination (and its sd), over every row at once.

    A component missing on a row (it failed to fit there) is left out of that row's combination.
    """
    new: dict[str, np.ndarray] = {}
    for name, comps in combinations.items():
        m = cv[list(comps)].to_numpy(float)
        s = cv[[f"{c}__sd" for c in comps]].to_numpy(float)
        ok = np.isfinite(m)
        any_ok = ok.any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN, on purpose
            centre = np.nanmean if getattr(comps, "how", "median") == "mean" else np.nanmedian
            new[name] = np.where(any_ok, centre(np.where(ok, m, np.nan), axis=1), np.nan)
            sd = np.nanmean(np.where(ok, s, np.nan), axis=1)
            new[f"{name}__sd"] = np.where(any_ok, sd, np.nan)
    keep = cv.drop(columns=[c for c in new if c in cv.columns])
    return pd.concat([keep, pd.DataFrame(new, index=cv.index)], axis=1)
