"""The fund model's inputs: members' GDP and defence-share histories, with one-year spikes
(one-off payments) cleaned before the models see them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.data import load_nato_defexp, load_worldbank

GDP_START = 1995  # 30 years of GDP: long enough for calibration, short of the Cold War's end.


@dataclass(frozen=True)
class FundHistory:
    """Inputs of the fund model: GDP and defence-share histories per member (long frames)."""

    gdp: pd.DataFrame  # unique_id, ds, y = GDP in current US$
    share: pd.DataFrame  # unique_id, ds, y = defence expenditure / GDP (fraction)
    # Countries whose series are always fitted alongside the members, so that the conformal
    # calibration pools enough errors even for a fund of three (NATO's reporting allies).
    pool: tuple[str, ...] = ()


def load_fund_history(
    nato_path: str | None = None, wb_path: str | None = None, gdp_start: int = GDP_START
) -> FundHistory:
    """GDP (World Bank, from ``gdp_start``) and defence-share histories for every country.

    The share for NATO members is NATO's defence expenditure (current US$) over World Bank GDP
    (current US$), so that share x GDP reproduces NATO's figures; countries outside NATO's tables
    use the World Bank's military expenditure share (SIPRI data).
    """
    wb = load_worldbank(wb_path, start=gdp_start)
    gdp = wb[["unique_id", "ds", "y"]].copy()
    nato = load_nato_defexp(nato_path)
    merged = nato.merge(gdp.rename(columns={"y": "gdp_wb"}), on=["unique_id", "ds"], how="left")
    merged = merged[merged["gdp_wb"].notna() & (merged["gdp_wb"] > 0)]
    nato_share = pd.DataFrame(
        {"unique_id": merged["unique_id"], "ds": merged["ds"], "y": merged["y"] / merged["gdp_wb"]}
    )
    wb_share = wb.loc[wb["wb_milex_pct_gdp"].notna(), ["unique_id", "ds", "wb_milex_pct_gdp"]]
    wb_share = wb_share[~wb_share["unique_id"].isin(set(nato_share["unique_id"]))]
    wb_share = wb_share.rename(columns={"wb_milex_pct_gdp": "y"}).assign(y=lambda d: d["y"] / 100)
    wb_share = wb_share[wb_share["ds"] >= 2010]
    share = pd.concat([nato_share, wb_share], ignore_index=True)
    # Keep each country's latest unbroken stretch, so the frame is gap-free.
    keep = []
    for _, g in share.sort_values(["unique_id", "ds"]).groupby("unique_id"):
        brk = np.flatnonzero(np.diff(g["ds"].to_numpy()) != 1)
        keep.append(g.iloc[brk[-1] + 1 :] if len(brk) else g)
    share = pd.concat(keep, ignore_index=True)
    pool = tuple(sorted(set(nato_share["unique_id"])))
    return FundHistory(gdp=gdp.reset_index(drop=True), share=share, pool=pool)


#: A one-year spike (a jump reversed the next year, both larger than this many robust sds of
#: the series' yearly changes) is an additive outlier: a one-off payment such as Bulgaria's
#: 2019 F-16 purchase, not a change of level.
SPIKE_SDS = 3.0


def clean_spikes(frame: pd.DataFrame, k: float = SPIKE_SDS) -> pd.DataFrame:
    """``frame`` (``unique_id, ds, y``, on the scale modelled) with one-year spikes replaced
    by the mean of their neighbours; the first and last years are never changed.

    Without this a single spike doubles a member's yearly volatility, and its band ten years
    ahead spans a factor of hundreds.
    """
    parts = []
    for _, g in frame.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False):
        y = g["y"].to_numpy(float).copy()
        if len(y) >= 5:
            d = np.diff(y)
            sd = 1.4826 * float(np.median(np.abs(d - np.median(d))))
            for t in range(1, len(y) - 1):
                d1, d2 = y[t] - y[t - 1], y[t + 1] - y[t]
                if sd > 0 and d1 * d2 < 0 and min(abs(d1), abs(d2)) > k * sd:
                    y[t] = (y[t - 1] + y[t + 1]) / 2
        parts.append(g.assign(y=y))
    return pd.concat(parts, ignore_index=True) if parts else frame
