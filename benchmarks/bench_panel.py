"""Forecasting at panel scale: ``forecast.py run --model naive|drift`` on 50,000 series.

    python -m benchmarks.bench_panel [--series 50000] [--years 20] [--check 300]

Builds a seeded panel (random walks with drift, positive and not; ILLUSTRATIVE data),
runs the real CLI under ``/usr/bin/time -v`` (wall, CPU, peak memory) and, in the same
run, statsforecast's ``Naive`` / ``RandomWalkWithDrift`` with 80/95% intervals on the
same frame (warmed up first: its numba compilation is not counted), and prints the
ratios. ``--check N`` also compares the fast path's numbers with the per-series
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


def check(df: pd.DataFrame, model: str, h: int, first: int) -> float:
    """Largest relative difference between the fast path and the per-series forecaster."""
    from models.data import validate_long
    from models.panel import fast_forecast
    from models.selection import make_forecaster

    ids = df["unique_id"].drop_duplicates().iloc[:first]
    sub = validate_long(df[df["unique_id"].isin(ids)])
    slow = make_forecaster(model, h).fit(sub).predict(h, level=[80, 95])
    fast = fast_forecast(make_forecaster(model, h), sub, h, [80.0, 95.0])
    assert fast is not None
    num = slow.columns[3:]
    diff = (slow[num] - fast[num]).abs().to_numpy() / np.maximum(slow[num].abs().to_numpy(), 1)
    return float(diff.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=6)
    parser.add_argument("--check", type=int, default=300)
    options = parser.parse_args()
    df = panel(options.series, options.years)
    print(f"panel: {df['unique_id'].nunique():,} series, {len(df):,} rows (illustrative)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "panel.csv"
        df.to_csv(data, index=False)
        for model in ("naive", "drift"):
            out = Path(tmp) / model
            args = ["run", "--data", str(data), "--horizon", str(options.horizon), "--model",
                    model, "--levels", "80", "--levels", "95", "--out", str(out)]  # fmt: skip
            wall, cpu, mib = timed_cli(args)
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
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
