"""Forecasting at panel scale: ``forecast.py run --model naive|drift|auto`` on 50,000 series.

    python -m benchmarks.bench_panel [--series 50000] [--years 20] [--check 300]
        [--models naive drift auto] [--scheduler local:2] [--sf-sample 1000]

Builds a seeded panel (random walks with drift, positive and not; ILLUSTRATIVE data),
runs the real CLI under ``/usr/bin/time -v`` (wall, CPU, peak memory) and, in the same
run, statsforecast on the same frame with 80/95% intervals (warmed up first: first-call
costs are not counted), and prints the ratios:

- naive / drift: statsforecast's ``Naive`` / ``RandomWalkWithDrift`` on every series.
- auto: the engine with ``--jobs 1`` and, with ``--scheduler``, the same run on Dask
  (``local:2``: a LocalCluster of 2 processes; its figures must equal the single-process
  run's). Against statsforecast's ensemble as ``benchmarks/bench_forecast.py`` defines it
  (AutoETS, AutoTheta, AutoARIMA, AutoCES and their mean): it fits each series on its own at
  about 0.25 CPU s a series here (3.5 CPU hours for 50,000), so it is timed on a seeded
  sample of ``--sf-sample`` series and scaled linearly to the panel (said in the output).

``--check N`` also compares the engine's numbers with the per-series
:class:`models.selection.AutoForecaster` on the first N series.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def panel(series: int, years: int, seed: int = 0) -> pd.DataFrame:
    """A long frame of random walks with drift, ``years`` long on average (+-4; illustrative)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(max(years - 4, 3), years + 5, series)
    uid = np.repeat([f"s{i:06d}" for i in range(series)], n)
    t = np.concatenate([np.arange(k) for k in n])
    level = np.repeat(rng.uniform(-50, 500, series), n)
    steps = rng.normal(
        np.repeat(rng.normal(1, 2, series), n), np.repeat(rng.uniform(1, 10, series), n)
    )
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    walk = np.cumsum(steps)
    walk -= np.repeat(walk[first] - steps[first], n)  # each series starts its own walk
    return pd.DataFrame({"unique_id": uid, "ds": 2000 + t, "y": level + walk})


def timed_cli(args: list[str]) -> tuple[float, float, float]:
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, str(ROOT / "forecast.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = sum(
        float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr)
    )
    assert wall is not None
    assert rss is not None
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, cpu, int(rss.group(1)) / 1024


def statsforecast_run(df: pd.DataFrame, model: str, h: int) -> tuple[float, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import Naive, RandomWalkWithDrift

    sf_model = Naive() if model == "naive" else RandomWalkWithDrift()
    # Warm: numba compiles statsforecast's kernels on first use; time the forecast only.
    small = df[df["unique_id"].isin(df["unique_id"].iloc[:200].unique())]
    StatsForecast(models=[sf_model], freq=1, n_jobs=1).forecast(df=small, h=h, level=[80, 95])
    started, cpu = time.perf_counter(), time.process_time()
    StatsForecast(models=[sf_model], freq=1, n_jobs=1).forecast(df=df, h=h, level=[80, 95])
    return time.perf_counter() - started, time.process_time() - cpu


def statsforecast_ensemble(df: pd.DataFrame, h: int, sample: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of statsforecast's ensemble (bench_forecast's four models) on a
    seeded sample of ``sample`` series, and the sample's size."""
    from statsforecast import StatsForecast

    from benchmarks.bench_forecast import add_sf_ensemble, sf_models

    ids = df["unique_id"].unique()
    picked = np.random.default_rng(1).choice(ids, min(sample, len(ids)), replace=False)
    sub = df[df["unique_id"].isin(picked)]
    few = sub[sub["unique_id"].isin(picked[:5])]
    StatsForecast(models=sf_models(), freq=1, n_jobs=1).forecast(df=few, h=h, level=[80, 95])
    started, cpu = time.perf_counter(), time.process_time()
    fc = StatsForecast(models=sf_models(), freq=1, n_jobs=1).forecast(df=sub, h=h, level=[80, 95])
    add_sf_ensemble(fc, ["AutoETS", "AutoTheta", "AutoARIMA", "CES"])
    return time.perf_counter() - started, time.process_time() - cpu, len(picked)


def check(df: pd.DataFrame, model: str, h: int, first: int) -> float:
    """Largest relative difference between the panel path and the per-series forecaster."""
    from models.data import validate_long
    from models.panel import fast_forecast
    from models.panel_auto import forecast_panel
    from models.selection import make_forecaster

    ids = df["unique_id"].drop_duplicates().iloc[:first]
    sub = validate_long(df[df["unique_id"].isin(ids)])
    slow = make_forecaster(model, h).fit(sub).predict(h, level=[80, 95])
    path = forecast_panel if model == "auto" else fast_forecast
    fast = path(make_forecaster(model, h), sub, h, [80.0, 95.0])
    assert fast is not None
    num = slow.columns[3:]
    diff = (slow[num] - fast[num]).abs().to_numpy() / np.maximum(slow[num].abs().to_numpy(), 1)
    return float(diff.max())


def cli_args(data: Path, model: str, h: int, out: Path, *extra: str) -> list[str]:
    return ["run", "--data", str(data), "--horizon", str(h), "--model", model,
            "--levels", "80", "--levels", "95", "--out", str(out), *extra]  # fmt: skip


def run_auto(df: pd.DataFrame, data: Path, tmp: Path, options: argparse.Namespace) -> None:
    """The engine's auto (one process; on Dask with --scheduler) against statsforecast's
    ensemble on a sample, scaled to the panel."""
    out = tmp / "auto"
    wall, cpu, mib = timed_cli(cli_args(data, "auto", options.horizon, out, "--jobs", "1"))
    print(f"auto   engine CLI --jobs 1: {wall:7.2f} s wall, {cpu:7.2f} s CPU, {mib:5.0f} MiB")
    if options.scheduler:
        dask_out = tmp / "auto_dask"
        extra = ("--jobs", "1", "--scheduler", options.scheduler)
        d_wall, d_cpu, d_mib = timed_cli(cli_args(data, "auto", options.horizon, dask_out, *extra))
        same = (out / "forecast.csv").read_text() == (dask_out / "forecast.csv").read_text()
        print(
            f"       engine CLI --scheduler {options.scheduler}: {d_wall:7.2f} s wall, "
            f"{d_cpu:7.2f} s CPU (this process and its workers), {d_mib:5.0f} MiB (largest "
            f"process); forecast.csv identical to the single-process run: {same}"
        )
    n_series = df["unique_id"].nunique()
    sf_wall, sf_cpu, k = statsforecast_ensemble(df, options.horizon, options.sf_sample)
    scale = n_series / k
    print(
        f"       statsforecast ensemble (AutoETS, AutoTheta, AutoARIMA, AutoCES; n_jobs=1) on a "
        f"seeded sample of {k:,} series: {sf_wall:.1f} s wall, {sf_cpu:.1f} s CPU; scaled to "
        f"{n_series:,} series: {sf_wall * scale:,.0f} s wall, {sf_cpu * scale:,.0f} s CPU"
    )
    print(f"       CPU ratio engine / statsforecast ensemble: {cpu / (sf_cpu * scale):.4f}")
    if options.check:
        gap = check(df, "auto", options.horizon, options.check)
        print(f"       panel path vs per-series, {options.check} series: max rel diff {gap:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=6)
    parser.add_argument("--check", type=int, default=300)
    parser.add_argument("--models", nargs="+", default=["naive", "drift", "auto"])
    parser.add_argument("--scheduler", default="local:2", help="Dask for auto ('' for none)")
    parser.add_argument("--sf-sample", type=int, default=1000)
    options = parser.parse_args()
    df = panel(options.series, options.years)
    print(f"panel: {df['unique_id'].nunique():,} series, {len(df):,} rows (illustrative)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "panel.csv"
        df.to_csv(data, index=False)
        for model in [m for m in options.models if m in ("naive", "drift")]:
            out = Path(tmp) / model
            wall, cpu, mib = timed_cli(cli_args(data, model, options.horizon, out))
            rows = len(pd.read_csv(out / "forecast.csv"))
            sf_wall, sf_cpu = statsforecast_run(df, model, options.horizon)
            print(
                f"{model:6} engine CLI {wall:6.2f} s wall, {cpu:6.2f} s CPU, {mib:5.0f} MiB, "
                f"{rows:,} rows | statsforecast (in-process, n_jobs=1) {sf_wall:6.2f} s wall, "
                f"{sf_cpu:6.2f} s CPU | CPU ratio {cpu / sf_cpu:.2f}"
            )
            if options.check:
                gap = check(df, model, options.horizon, options.check)
                print(f"       fast vs per-series, {options.check} series: max rel diff {gap:.1e}")
        if "auto" in options.models:
            run_auto(df, data, Path(tmp), options)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
