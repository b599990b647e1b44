"""Rolling-origin backtest of the fund's total: where does the outcome fall in the forecast?

At each origin the fund's own models (GDP and defence share, see :mod:`models.fund`) are refitted
on history cut at that year, every member pledges its defence spending of the origin year (so a
path's contribution is its defence spending), the joint paths are simulated and the actual total
``h`` years later is placed in the simulated distribution: its percentile (PIT) and whether the
80% and 95% bands hold it. A calibrated forecast gives PITs spread evenly over (0, 1) and bands
that hold the outcome 80% and 95% of the time; outcomes piling above the bands are the sign of a
common shock the model misses (see :mod:`models.fund`'s common factor).

Two histories: NATO's shares (2014-2024, what the fund uses) and the World Bank's military
expenditure share of GDP (SIPRI's figures, from 1960: :func:`sipri_history`), long enough for
origins from 2005.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from models.data import load_worldbank
from models.errors import ForecastInputError
from models.fund import fund_forecast
from models.fund_history import GDP_START, FundHistory

#: Years of GDP and share history a country needs at an origin to take part.
MIN_YEARS = 6


def truncate(hist: FundHistory, origin: int) -> FundHistory:
    """The history as known at the end of ``origin`` (no later year)."""
    return FundHistory(
        gdp=hist.gdp[hist.gdp["ds"] <= origin].reset_index(drop=True),
        share=hist.share[hist.share["ds"] <= origin].reset_index(drop=True),
        pool=hist.pool,
    )


def spending(hist: FundHistory) -> pd.DataFrame:
    """Defence spending ``unique_id, ds, y`` = GDP x share, where both are known."""
    both = hist.gdp.merge(hist.share, on=["unique_id", "ds"], suffixes=("_gdp", "_share"))
    return pd.DataFrame(
        {"unique_id": both["unique_id"], "ds": both["ds"], "y": both["y_gdp"] * both["y_share"]}
    )


def sipri_history(members: Sequence[str], gdp_start: int = GDP_START) -> FundHistory:
    """GDP and the World Bank's military expenditure share (SIPRI) for ``members``, which are
    also the calibration pool; each member's latest unbroken stretch of shares."""
    wb = load_worldbank(start=gdp_start)
    wb = wb[wb["unique_id"].isin(set(members))]
    gdp = wb[["unique_id", "ds", "y"]].reset_index(drop=True)
    sh = wb.loc[wb["wb_milex_pct_gdp"].notna() & (wb["wb_milex_pct_gdp"] > 0)]
    sh = sh[["unique_id", "ds", "wb_milex_pct_gdp"]].rename(columns={"wb_milex_pct_gdp": "y"})
    sh = sh.assign(y=sh["y"] / 100)
    keep = []
    for _, g in sh.sort_values(["unique_id", "ds"]).groupby("unique_id"):
        brk = np.flatnonzero(np.diff(g["ds"].to_numpy()) != 1)
        keep.append(g.iloc[brk[-1] + 1 :] if len(brk) else g)
    share = pd.concat(keep, ignore_index=True)
    have = sorted(set(share["unique_id"]) & set(gdp["unique_id"]))
    return FundHistory(gdp=gdp, share=share, pool=tuple(have))


def total_backtest(
    hist: FundHistory,
    origins: Iterable[int],
    horizon: int,
    members: Sequence[str] | None = None,
    n_samples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The fund total's outcome against its forecast at each origin, ``horizon`` years ahead.

    ``members`` (default: the history's pool) that have GDP and a share at the origin and at the
    target year take part. Returns one row per origin: ``origin, year, members, actual,
    median, lo-80, hi-80, lo-95, hi-95, pit, in80, in95``.

    Raises
    ------
    ForecastInputError
        An origin whose target year is beyond the history, or with no member to forecast.
    """
    spend = spending(hist).pivot(index="ds", columns="unique_id", values="y")
    pool = list(members or hist.pool)
    rows = []
    for origin in origins:
        target = origin + horizon
        if origin not in spend.index or target not in spend.index:
            raise ForecastInputError(f"origin {origin}: no spending for {origin} and {target}")
        ids = [m for m in pool if m in spend.columns]
        ids = [m for m in ids if np.isfinite(spend.at[origin, m]) and spend.at[origin, m] > 0]
        ids = [m for m in ids if np.isfinite(spend.at[target, m])]
        cut = truncate(hist, origin)
        # Members (and pool countries) need a few years of GDP and shares at the origin.
        sizes = pd.concat(
            [cut.gdp.groupby("unique_id").size(), cut.share.groupby("unique_id").size()], axis=1
        ).min(axis=1)
        enough = set(sizes[sizes >= MIN_YEARS].index)
        ids = [m for m in ids if m in enough]
        if not ids:
            raise ForecastInputError(f"origin {origin}: no member with enough history")
        pledges = pd.DataFrame({"member": ids, "year": origin, "pledge": spend.loc[origin, ids]})
        cut = FundHistory(
            cut.gdp[cut.gdp["unique_id"].isin(enough)],
            cut.share[cut.share["unique_id"].isin(enough)],
            tuple(m for m in cut.pool if m in enough),
        )
        fc = fund_forecast(
            pledges,
            "trend",
            list(range(origin, target + 1)),
            n_samples=n_samples,
            seed=seed,
            history=cut,
        )
        tot = fc.samples[:, :, -1].sum(axis=1)
        actual = float(spend.loc[target, ids].sum())
        q = np.quantile(tot, [0.025, 0.1, 0.5, 0.9, 0.975])
        rows.append(
            {
                "origin": origin,
                "year": target,
                "members": len(ids),
                "actual": actual,
                "median": q[2],
                "lo-80": q[1],
                "hi-80": q[3],
                "lo-95": q[0],
                "hi-95": q[4],
                "pit": float(np.mean(tot <= actual)),
                "in80": bool(q[1] <= actual <= q[3]),
                "in95": bool(q[0] <= actual <= q[4]),
            }
        )
    return pd.DataFrame(rows)
