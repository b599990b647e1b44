"""Domain benchmark: rolling-origin backtests on the allies' own series (not a test).

Panels (shipped data, NATO's 32 allies):

- ``gdp``: GDP in current US$ (World Bank WDI), from 1990;
- ``milex``: military spending in current US$, the World Bank's share of GDP (SIPRI's figures)
  times GDP, from 1990.

At every origin 2005-2019 and horizon 5 and 10 (where the target years are observed), each
method is fitted on the panel cut at the origin and scored on the next ``h`` years: MASE (scale:
the series' mean absolute yearly change up to the origin), 80% and 95% coverage, MSIS (95%),
and the number of negative lower bounds. Methods, side by side in one run: our ``auto``
forecaster (``models.selection.AutoForecaster`` as shipped), naive and drift (calibrated as the
CLI does), statsforecast's AutoETS, AutoTheta, AutoARIMA and AutoCES (their own intervals) and
the mean of those four. Then the fund total's backtest (``models.fund_backtest``): every ally
pledges its military spending of the origin year, the fund's own GDP and share models forecast
the total, and the outcome's percentile (PIT) and 80/95% hits are reported per origin.

Run from the repository root (benchmark extras: ``statsforecast``)::

    .venv/bin/python benchmarks/bench_domain.py [--jobs 2] [--origins 2005-2019]
        [--skip-statsforecast] [--skip-fund] [--fund-samples 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from models.data import load_nato_defexp, load_worldbank  # noqa: E402
from models.metrics import coverage, mase, mase_scale, msis  # noqa: E402
from models.selection import AutoForecaster  # noqa: E402

START = 1990
HORIZONS = (5, 10)
SF_NAMES = ("AutoETS", "AutoTheta", "AutoARIMA", "CES")


def allies() -> list[str]:
    """The NATO allies of the shipped World Bank file."""
    wb = load_worldbank()
    nato = set(load_nato_defexp()["unique_id"])
    return sorted(set(wb["unique_id"]) & (nato | {"ISL"}))


def panels() -> dict[str, pd.DataFrame]:
    """``gdp`` and ``milex`` long frames ``unique_id, ds, y`` (US$), each series gap-free."""
    wb = load_worldbank(start=START)
    wb = wb[wb["unique_id"].isin(allies())]
    gdp = wb.loc[wb["y"].notna() & (wb["y"] > 0), ["unique_id", "ds", "y"]]
    mil = wb.loc[wb["wb_milex_pct_gdp"].notna() & (wb["wb_milex_pct_gdp"] > 0)]
    mil = pd.DataFrame(
        {"unique_id": mil["unique_id"], "ds": mil["ds"], "y": mil["y"] * mil["wb_milex_pct_gdp"]}
    )
    mil = mil[mil["y"] > 0]
    return {"gdp": latest_stretch(gdp), "milex": latest_stretch(mil)}


def latest_stretch(df: pd.DataFrame) -> pd.DataFrame:
    """Each series' latest unbroken run of years."""
    keep = []
    for _, g in df.sort_values(["unique_id", "ds"]).groupby("unique_id"):
        brk = np.flatnonzero(np.diff(g["ds"].to_numpy()) != 1)
        keep.append(g.iloc[brk[-1] + 1 :] if len(brk) else g)
    return pd.concat(keep, ignore_index=True)


def cut(panel: pd.DataFrame, origin: int, h: int, min_len: int = 8):
    """Train (years <= origin) and test (origin+1..origin+h) of the series observed throughout."""
    tr = panel[panel["ds"] <= origin]
    te = panel[(panel["ds"] > origin) & (panel["ds"] <= origin + h)]
    n_tr = tr.groupby("unique_id").size()
    n_te = te.groupby("unique_id").size()
    ok = [u for u in n_tr.index if n_tr[u] >= min_len and n_te.get(u, 0) == h]
    ok = [u for u in ok if tr.loc[tr["unique_id"] == u, "ds"].max() == origin]
    return tr[tr["unique_id"].isin(ok)], te[te["unique_id"].isin(ok)]


def score_rows(train, test, fc, col, lo80, hi80, lo95, hi95) -> pd.DataFrame:
    """Per-series MASE, coverage, MSIS and negative lower bounds of one method."""
    m = test.merge(fc, on=["unique_id", "ds"], how="left")
    scales = {u: mase_scale(g["y"].to_numpy()) for u, g in train.groupby("unique_id")}
    rows = []
    for u, g in m.groupby("unique_id"):
        sc = scales[u]
        rows.append(
            {
                "unique_id": u,
                "mase": mase(g["y"], g[col], sc),
                "cov80": coverage(g["y"], g[lo80], g[hi80]),
                "cov95": coverage(g["y"], g[lo95], g[hi95]),
                "msis": msis(g["y"], g[lo95], g[hi95], sc, 95),
                "neg_lo": int((g[lo95] < 0).sum()),
                "missing": int(g[col].isna().sum()),
            }
        )
    return pd.DataFrame(rows)


def ours(train: pd.DataFrame, h: int, **kw) -> pd.DataFrame:
    model = AutoForecaster(horizon=h, **kw).fit(train)
    return model.predict(h, level=(80, 95))


def statsforecast_all(
    train: pd.DataFrame, h: int, jobs: int, cache: Path | None = None
) -> pd.DataFrame:
    """statsforecast's four models and their mean; with ``cache`` the forecasts are read from
    (or written to) that CSV, so that reruns of ours do not refit them (they do not change)."""
    from bench_forecast import add_sf_ensemble, sf_models

    if cache is not None and cache.exists():
        return pd.read_csv(cache)
    from statsforecast import StatsForecast

    sf = StatsForecast(models=sf_models(), freq=1, n_jobs=jobs)
    fc = sf.forecast(df=train, h=h, level=[80, 95]).reset_index()
    fc = add_sf_ensemble(fc, list(SF_NAMES))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fc.to_csv(cache, index=False)
    return fc


def run_panels(
    origins,
    jobs: int,
    skip_sf: bool,
    sf_cache: Path | None = None,
    only_sf: bool = False,
    only_panels: tuple[str, ...] = (),
    horizons: tuple[int, ...] = HORIZONS,
    origins10: list[int] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    rows, secs = [], {"ours_auto": 0.0, "statsforecast": 0.0}
    for pname, panel in panels().items():
        if only_panels and pname not in only_panels:
            continue
        for h in horizons:
            for origin in origins10 if (h == 10 and origins10) else origins:
                train, test = cut(panel, origin, h)
                if train.empty:
                    continue
                methods: dict[str, tuple[pd.DataFrame, str]] = {}
                if not only_sf:
                    t0 = time.process_time()
                    methods["ours_auto"] = (ours(train, h, n_jobs=jobs), "mean")
                    secs["ours_auto"] += time.process_time() - t0
                    for single in ("naive", "drift"):
                        fc = ours(train, h, candidates=(single,), combinations={}, choose=single)
                        methods[single] = (fc, "mean")
                if not skip_sf:
                    t0 = time.perf_counter()
                    cache = sf_cache / f"sf_{pname}_h{h}_{origin}.csv" if sf_cache else None
                    fc = statsforecast_all(train, h, jobs, cache)
                    secs["statsforecast"] += time.perf_counter() - t0
                    for n in (*SF_NAMES, "Ens"):
                        cols = {n: "mean"}
                        for s_ in ("lo", "hi"):
                            cols |= {f"{n}-{s_}-{lv}": f"{s_}-{lv}" for lv in (80, 95)}
                        sub = fc[["unique_id", "ds", *cols]].rename(columns=cols)
                        methods[f"sf_{n}" if n != "Ens" else "sf_ensemble"] = (sub, "mean")
                for name, (fc, col) in methods.items():
                    sc = score_rows(train, test, fc, col, "lo-80", "hi-80", "lo-95", "hi-95")
                    rows.append(sc.assign(panel=pname, h=h, origin=origin, method=name))
                print(f"  {pname} h={h} origin {origin}: {train['unique_id'].nunique()} series",
                      flush=True)  # fmt: skip
    return pd.concat(rows, ignore_index=True), secs


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    g = scores.groupby(["panel", "h", "method"])
    out = g.agg(
        mase=("mase", "mean"),
        cov80=("cov80", "mean"),
        cov95=("cov95", "mean"),
        msis=("msis", "mean"),
        neg_lo=("neg_lo", "sum"),
        cases=("mase", "size"),
    )
    return out.reset_index()


def fund_pit(origins, n_samples: int) -> pd.DataFrame:
    from models.fund import load_fund_history
    from models.fund_backtest import sipri_history, total_backtest

    hist = sipri_history(load_fund_history().pool)
    last = int(hist.share["ds"].max())
    parts = []
    for h in HORIZONS:
        ok = [o for o in origins if o + h <= last]
        if ok:
            parts.append(total_backtest(hist, ok, h, n_samples=n_samples).assign(h=h))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--origins", default="2005-2019")
    ap.add_argument("--skip-statsforecast", action="store_true")
    ap.add_argument("--skip-fund", action="store_true")
    ap.add_argument("--skip-panels", action="store_true")
    ap.add_argument("--fund-samples", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None, help="folder for the per-case CSVs")
    ap.add_argument(
        "--sf-cache", type=Path, default=None, help="folder to keep statsforecast's forecasts in"
    )
    ap.add_argument("--only-statsforecast", action="store_true", help="fill the cache only")
    ap.add_argument("--panels", default="gdp,milex", help="comma-separated: gdp, milex")
    ap.add_argument("--horizons", default="5,10")
    ap.add_argument(
        "--origins10",
        default=None,
        help="origins of the 10-year horizon, comma-separated (default: as --origins)",
    )
    args = ap.parse_args()
    a, b = (int(x) for x in args.origins.split("-"))
    origins = list(range(a, b + 1))
    pd.set_option("display.width", 200)
    if not args.skip_panels:
        scores, secs = run_panels(
            origins,
            args.jobs,
            args.skip_statsforecast,
            args.sf_cache,
            args.only_statsforecast,
            tuple(p for p in args.panels.split(",") if p),
            tuple(int(h) for h in args.horizons.split(",")),
            [int(o) for o in args.origins10.split(",")] if args.origins10 else None,
        )
        table = summarise(scores)
        print(table.round(3).to_string(index=False))
        print(f"CPU/wall seconds: ours (CPU, parent) {secs['ours_auto']:.1f}, "
              f"statsforecast (wall) {secs['statsforecast']:.1f}")  # fmt: skip
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            scores.to_csv(args.out / "domain_scores.csv", index=False)
            table.to_csv(args.out / "domain_summary.csv", index=False)
    if not args.skip_fund:
        t0 = time.perf_counter()
        pit = fund_pit(origins, args.fund_samples)
        print(pit.round(3).to_string(index=False))
        for h, g in pit.groupby("h"):
            print(f"fund total h={h}: {len(g)} origins, in80 {g['in80'].mean():.2f}, "
                  f"in95 {g['in95'].mean():.2f}, mean PIT {g['pit'].mean():.2f}")  # fmt: skip
        print(f"fund backtest: {time.perf_counter() - t0:.0f} s")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            pit.to_csv(args.out / "fund_pit.csv", index=False)


if __name__ == "__main__":
    main()
