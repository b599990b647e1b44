"""The vectorised naive/drift path (models/panel.py) gives the per-series path's numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data import validate_long
from models.panel import applies, fast_forecast
from models.selection import make_forecaster

ROOT = Path(__file__).resolve().parents[1]


def _panel(series: int, seed: int) -> pd.DataFrame:
    """Random walks (positive and crossing zero), exact lines and flat series, 3-24 long."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(series):
        n = int(rng.integers(3, 25))
        kind = i % 4
        if kind == 0:
            y = 100 + np.cumsum(rng.normal(1, 5, n))
        elif kind == 1:
            y = np.cumsum(rng.normal(0, 3, n))
        elif kind == 2:
            y = 10 + 2.5 * np.arange(n)
        else:
            y = np.full(n, 7.0)
        start = 1990 + int(rng.integers(0, 10))
        rows += [(f"s{i:03d}", start + t, float(v)) for t, v in enumerate(y)]
    return validate_long(pd.DataFrame(rows, columns=["unique_id", "ds", "y"]))


@pytest.mark.parametrize("model", ["naive", "drift"])
@pytest.mark.parametrize(("series", "h"), [(30, 3), (80, 1), (80, 6)])  # 30: partial windows
def test_fast_path_matches_the_per_series_forecaster(model: str, series: int, h: int) -> None:
    df = _panel(series, seed=series + h)
    slow = make_forecaster(model, h).fit(df).predict(h, level=[80, 95])
    fast = fast_forecast(make_forecaster(model, h), df, h, [80.0, 95.0])
    assert fast is not None
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(fast[slow.columns[:3]], slow[slow.columns[:3]])
    np.testing.assert_allclose(
        fast[slow.columns[3:]].to_numpy(), slow[slow.columns[3:]].to_numpy(), rtol=1e-9, atol=1e-9
    )


def test_fast_path_is_only_for_naive_and_drift_without_drivers() -> None:
    df = _panel(10, seed=1)
    assert applies(make_forecaster("drift", 2), df)
    assert not applies(make_forecaster("auto", 2), df)
    assert not applies(make_forecaster("theta", 2), df)
    assert not applies(make_forecaster("naive", 2), df.assign(gdp=1.0))
    assert fast_forecast(make_forecaster("ensemble", 2), df, 2, [95.0]) is None


def test_cli_run_writes_the_per_series_forecasts(tmp_path: Path) -> None:
    df = _panel(60, seed=7)
    data = tmp_path / "panel.csv"
    df.to_csv(data, index=False)
    res = subprocess.run(
        [sys.executable, str(ROOT / "forecast.py"), "run", "--data", str(data), "--horizon", "4",
         "--model", "drift", "--out", str(tmp_path / "fc"), "--jobs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    written = pd.read_csv(tmp_path / "fc" / "forecast.csv", dtype={"unique_id": str})
    slow = make_forecaster("drift", 4).fit(df).predict(4, level=[80, 95])
    np.testing.assert_allclose(
        written[slow.columns[3:]].to_numpy(), slow[slow.columns[3:]].to_numpy(), rtol=1e-9
    )
    assert (written["unique_id"] == slow["unique_id"]).all()
