"""Domain benchmark of a regime model for the allies' dollar series (not a test).

The allies' GDP and military spending in current US$ mix two things: the economy's own
nominal growth, which persists, and the dollar's exchange rate, which does not (Meese and
Rogoff 1983: no model beats a random walk for exchange rates at these horizons). Relative
purchasing-power parity splits the dollar GDP of an ally into

    log GDP$ = log real GDP + log US price level + log real exchange rate Q,

so its forecast is the last dollar GDP grown at the ally's real growth plus US inflation, with
Q either a random walk (``rw``) or reverting to its own mean (``ar``: one AR(1) coefficient
pooled over the panel, fitted on the history up to the origin; the "PPP puzzle" literature
finds half-lives of 3-5 years). Real growth and US inflation are the means (or medians) of
their last ten years before the origin (World Bank real growth and GDP deflator). Spending is
the ally's share of GDP at the origin times that GDP forecast.

Scored like ``bench_domain.py`` (MASE on the next ``h`` years, scale from the history) against
the shipped ``AutoForecaster`` on the dollar series. Point forecasts only: the model was to be
calibrated only if it beat the shipped forecaster on the development origins.

    .venv/bin/python benchmarks/bench_domain_ppp.py            # development origins 2005-2011
    .venv/bin/python benchmarks/bench_domain_ppp.py --confirm  # 2012-2019 (h = 10: 2012-2014)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_domain import cut, ours, panels, score_rows  # noqa: E402

from models.data import load_worldbank  # noqa: E402

BANDS = ("lo-80", "hi-80", "lo-95", "hi-95")
VARIANTS = (("mean10", "rw"), ("mean10", "ar"), ("median10", "rw"), ("median10", "ar"))


def growth_rates() -> tuple[dict[str, pd.Series], pd.Series]:
    """Each ally's log real growth by year, and the US log GDP-deflator inflation by year."""
    wb = load_worldbank(start=1960)
    wb = wb.assign(
        lr=np.log1p(wb["gdp_real_growth_pct"] / 100),
        lp=np.log1p(wb["gdp_deflator_inflation_pct"] / 100),
    )
    real = {u: g.set_index("ds")["lr"] for u, g in wb.groupby("unique_id")}
    us = wb[wb["unique_id"] == "USA"].set_index("ds")["lp"]
    return real, us


def ppp_forecast(train: pd.DataFrame, h: int, variant: tuple[str, str], rates) -> pd.DataFrame:
    """Dollar forecasts ``unique_id, ds, mean`` of every series in ``train`` at its last year."""
    real, us = rates
    growth_how, q_how = variant
    origin = int(train["ds"].max())
    pi_us = float(us.loc[origin - 9 : origin].mean())
    series = {}
    for u, g in train.groupby("unique_id"):
        years = g["ds"].to_numpy()
        ly = np.log(g["y"].to_numpy())
        lr = real[u].reindex(years).to_numpy()
        # Q up to a constant: dollar GDP less the cumulated real growth and US inflation.
        r = np.nan_to_num(lr)
        p = np.nan_to_num(us.reindex(years).to_numpy())
        r[0] = p[0] = 0.0
        series[u] = (ly - np.cumsum(r) - np.cumsum(p), lr[~np.isnan(lr)], ly)
    rho = 1.0
    if q_how == "ar":
        dev = [lq - lq.mean() for lq, _, _ in series.values()]
        x = np.concatenate([d[:-1] for d in dev])
        z = np.concatenate([d[1:] for d in dev])
        rho = float(np.clip(x @ z / (x @ x), 0.0, 1.0))
    steps = np.arange(1, h + 1)
    rows = []
    for u, (lq, lr, ly) in series.items():
        g10 = lr[-10:]
        growth = float(np.mean(g10) if growth_how == "mean10" else np.median(g10))
        dq = (lq[-1] - lq.mean()) * (rho**steps - 1)
        f = np.exp(ly[-1] + steps * (growth + pi_us) + dq)
        rows.append(pd.DataFrame({"unique_id": u, "ds": origin + steps, "mean": f}))
    return pd.concat(rows, ignore_index=True)


def at(df: pd.DataFrame, year: int) -> pd.Series:
    """Each series' value in ``year``, indexed by ``unique_id``."""
    return df[df["ds"] == year].set_index("unique_id")["y"]


def run(origins, origins10) -> pd.DataFrame:
    """Per-series MASE of the shipped forecaster and every PPP variant, both panels."""
    rates = growth_rates()
    pans = panels()
    rows = []
    for pname in ("gdp", "milex"):
        for h in (5, 10):
            for origin in origins10 if h == 10 else origins:
                train, test = cut(pans[pname], origin, h)
                methods = {"shipped": ours(train, h, n_jobs=1)}
                gdp_train, _ = cut(pans["gdp"], origin, h)
                gdp_train = gdp_train[gdp_train["unique_id"].isin(train["unique_id"].unique())]
                share = at(train, origin) / at(gdp_train, origin)
                for v in VARIANTS:
                    fc = ppp_forecast(gdp_train, h, v, rates)
                    if pname == "milex":
                        fc["mean"] *= fc["unique_id"].map(share)
                    methods["ppp_" + "_".join(v)] = fc
                for name, fc in methods.items():
                    fc = fc.reindex(columns=["unique_id", "ds", "mean", *BANDS])
                    sc = score_rows(train, test, fc, "mean", *BANDS)
                    rows.append(sc.assign(panel=pname, h=h, origin=origin, method=name))
    return pd.concat(rows, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--confirm", action="store_true", help="origins 2012-2019 (h=10: 2012-2014)")
    a = ap.parse_args()
    if a.confirm:
        scores = run(range(2012, 2020), range(2012, 2015))
    else:
        scores = run(range(2005, 2012), range(2005, 2012))
    table = scores.groupby(["panel", "h", "method"])["mase"].mean().unstack("method")
    print(table.round(3).to_string())
    rel = table.div(table["shipped"], axis=0)
    print("\nrelative to shipped:\n" + rel.round(3).to_string())


if __name__ == "__main__":
    main()
