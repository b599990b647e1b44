"""Members' forecast grids: mean and sd per member and year from the automatic forecaster,
fitted on the members and a calibration pool of allies, memoised on the data's content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from models.base import z_value
from models.forked import beside
from models.selection import AutoForecaster

#: The models' backtest horizon (capped at half the shortest history): fixed, so that the
#: calibration, and so every year's figures, do not depend on the horizon asked for.
CALIBRATION_HORIZON = 10
# fast_theta is statsmodels' Theta in numpy (same forecasts, tested): 100x cheaper.
FUND_CANDIDATES = ("naive", "drift", "fast_theta")
FUND_COMBINATIONS = {"ensemble": ("drift", "fast_theta")}

_GRID_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray, dict[str, int]]] = {}


@dataclass(frozen=True)
class GridJob:
    """One grid to fit: the series (members and pool, in logs if asked) and its cache key."""

    sub: pd.DataFrame
    members: tuple[str, ...]
    last_year: int

    @classmethod
    def of(
        cls,
        hist: pd.DataFrame,
        members: Sequence[str],
        last_year: int,
        log: bool,
        pool: Sequence[str] = (),
    ) -> GridJob:
        sub = hist[hist["unique_id"].isin(set(members) | set(pool))].copy()
        if log:
            sub["y"] = np.log(sub["y"])
        return cls(sub, tuple(members), last_year)

    @property
    def key(self) -> tuple:
        frame = self.sub[["unique_id", "ds", "y"]]
        return (
            int(pd.util.hash_pandas_object(frame, index=False).sum()),
            self.members,
            self.last_year,
        )

    def fit(self) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        # Hundreds of fits of tiny matrices: BLAS threads only contend (six times the CPU
        # where nothing pins them to one, e.g. in a library caller or a test).
        with threadpool_limits(limits=1, user_api="blas"):
            return fit_grid(self.sub, self.members, self.last_year)


def forecast_grids(
    jobs: Sequence[GridJob], n_jobs: int
) -> list[tuple[np.ndarray, np.ndarray, dict[str, int]]]:
    """Mean and sd per member for every year up to ``last_year`` after each member's last
    observation, on a grid indexed by steps after the earliest last observation; one per job.

    Results are memoised on the data's content: comparing paths or seeds refits nothing. With
    ``n_jobs`` > 1, two grids to fit are fitted side by side, one in a forked child process.
    """
    if len(_GRID_CACHE) > 32:
        _GRID_CACHE.clear()
    keys = [job.key for job in jobs]
    todo = {key: job for key, job in zip(keys, jobs, strict=True) if key not in _GRID_CACHE}
    pending = list(todo.items())
    if n_jobs > 1 and len(pending) > 1:
        (key_a, job_a), (key_b, job_b) = pending[:2]
        with beside(job_b.fit) as fitted_b:
            _GRID_CACHE[key_a] = job_a.fit()
            _GRID_CACHE[key_b] = fitted_b()
        pending = pending[2:]
    for key, job in pending:
        _GRID_CACHE[key] = job.fit()
    out = []
    for key in keys:
        mean, sd, info = _GRID_CACHE[key]
        out.append((mean.copy(), sd.copy(), dict(info)))
    return out


def fit_grid(
    sub: pd.DataFrame, members: Sequence[str], last_year: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    last = sub[sub["unique_id"].isin(members)].groupby("unique_id")["ds"].max().to_dict()
    h = last_year - min(last.values())
    # Backtest windows need training data: with 11 years of shares, a 10-year window would train
    # on 1-3 points. Calibrate up to half the shortest history; later years extrapolate.
    n_min = int(sub[sub["unique_id"].isin(members)].groupby("unique_id").size().min())
    model = AutoForecaster(
        candidates=FUND_CANDIDATES,
        combinations=FUND_COMBINATIONS,
        horizon=max(1, min(CALIBRATION_HORIZON, n_min // 2)),
        n_windows=3,
        # One process: worker pools pay more for their imports than they save on these few
        # dozen short series (see benchmarks/RESULTS_reports.md).
        n_jobs=1,
        # The pool (about 30 allies) gives 90+ errors per step from full windows alone; the
        # partial windows would quadruple the fits for little gain.
        partial=False,
        # The series are logs already (GDP, shares): intervals symmetric on that scale.
        positive=False,
    ).fit(sub)
    fc = model.predict(h, level=(95,))
    fc["sd"] = (fc["hi-95"] - fc["lo-95"]) / (2 * z_value(95))
    base = min(last.values())
    mean = np.zeros((len(members), h))
    sd = np.zeros((len(members), h))
    for i, m in enumerate(members):
        g = fc[fc["unique_id"] == m]
        years = g["ds"].to_numpy()
        # Years already observed for this member keep their observed value (sd 0).
        obs = sub[sub["unique_id"] == m].set_index("ds")["y"]
        for j in range(h):
            yr = base + 1 + j
            if yr in obs.index:
                mean[i, j] = obs[yr]
            else:
                k = int(np.flatnonzero(years == yr)[0])
                mean[i, j] = g["mean"].iloc[k]
                sd[i, j] = g["sd"].iloc[k]
    return mean, sd, {"base": base, "h": h}


def clear_grid_cache() -> None:
    """Forget every memoised grid (the next forecast fits, as in a fresh process)."""
    _GRID_CACHE.clear()
