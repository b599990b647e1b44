"""Checks of the fund's forecasts against figures they never saw.

:func:`nato_2025_check` places NATO's 2025 estimates of allies' defence spending as a share of
GDP (``datasets/nato_2025_edition_headline_pct_gdp.csv``: 15 allies, a press report of NATO's
August 2025 edition; validation only) in the fund's own 2024-origin forecast of 2025: the
trend path's defence-share model (log share of GDP, calibrated as in :mod:`models.fund`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.base import z_value
from models.data import DATASETS
from models.errors import ForecastInputError
from models.fund_grids import GridJob
from models.fund_history import FundHistory, load_fund_history

NATO_2025 = DATASETS / "nato_2025_edition_headline_pct_gdp.csv"


def load_nato_2025(path: str | Path | None = None) -> pd.DataFrame:
    """``unique_id, ds, pct_gdp`` of the 2025 estimates (validation data)."""
    p = Path(path) if path is not None else NATO_2025
    try:
        raw = pd.read_csv(p)
    except FileNotFoundError:
        raise ForecastInputError(f"{p}: file not found") from None
    need = {"iso3", "year", "defexp_pct_gdp_estimate"}
    if not need <= set(raw.columns):
        raise ForecastInputError(f"{p}: missing column(s) {sorted(need - set(raw.columns))}")
    return pd.DataFrame(
        {
            "unique_id": raw["iso3"].astype(str),
            "ds": raw["year"].astype(int),
            "pct_gdp": raw["defexp_pct_gdp_estimate"].astype(float),
        }
    )


def band(value: float, lo80: float, hi80: float, lo95: float, hi95: float) -> str:
    """Where ``value`` falls: ``inside 80%``, ``80-95%`` (above or below) or ``outside 95%``."""
    if lo80 <= value <= hi80:
        return "inside 80%"
    side = "above" if value > hi80 else "below"
    if lo95 <= value <= hi95:
        return f"80-95% ({side})"
    return f"outside 95% ({side})"


def nato_2025_check(history: FundHistory | None = None, path: str | Path | None = None):
    """The 2024-origin forecast of each ally's 2025 share of GDP against NATO's estimate.

    Returns ``unique_id, estimate, median, lo-80, hi-80, lo-95, hi-95, error_pp, band`` (shares
    in % of GDP; ``error_pp = estimate - median``), one row per ally of the file that the fund
    models.
    """
    hist = history or load_fund_history()
    est = load_nato_2025(path)
    share = hist.share[(hist.share["y"] > 0) & (hist.share["ds"] <= 2024)]
    known = set(share.loc[share["ds"] == 2024, "unique_id"]) & set(hist.gdp["unique_id"])
    members = [m for m in est["unique_id"] if m in known]
    if not members:
        raise ForecastInputError("no ally of the 2025 estimates has a 2024 defence share")
    mean, sd, info = GridJob.of(share, members, 2025, log=True, pool=hist.pool).fit()
    j = 2025 - info["base"] - 1
    z80, z95 = z_value(80), z_value(95)
    rows = []
    for i, m in enumerate(members):
        mu, s = mean[i, j], sd[i, j]
        zs = {"lo-95": -z95, "lo-80": -z80, "median": 0.0, "hi-80": z80, "hi-95": z95}
        q = {k: 100 * float(np.exp(mu + z * s)) for k, z in zs.items()}
        e = float(est.loc[est["unique_id"] == m, "pct_gdp"].iloc[0])
        rows.append(
            {
                "unique_id": m,
                "estimate": e,
                **q,
                "error_pp": e - q["median"],
                "band": band(e, q["lo-80"], q["hi-80"], q["lo-95"], q["hi-95"]),
            }
        )
    return pd.DataFrame(rows)
