"""``auto`` on a whole panel at once (models/panel_auto.py) gives the per-series path's figures;
the backtest sample of a large panel; chunks on a Dask LocalCluster; hostile --scheduler values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import panel_auto
from models.data import read_long_csv, validate_long
from models.panel_auto import applies, forecast_panel
from models.selection import AutoForecaster, make_forecaster

ROOT = Path(__file__).resolve().parents[1]
LEVELS = [80.0, 95.0]


def _panel(series: int, seed: int, negative: float) -> pd.DataFrame:
    """Random walks with drift (2-25 years), exponential growth, and a share ``negative`` of
    series pushed below zero (Theta on logs cannot fit them: fallbacks, excluded candidates)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(series):
        n = int(rng.integers(2, 26))
        y = 100 + np.cumsum(rng.normal(rng.normal(1, 3), rng.uniform(1, 10), n))
        if rng.random() < negative:
            y = y - y.max() + rng.uniform(-5, 1)
        if i % 7 == 0:
            y = 50 * np.exp(0.05 * np.arange(n) + rng.normal(0, 0.02, n))
        if i % 11 == 0:
            y = np.full(n, 7.0)
        rows += [(f"s{i:03d}", 2000 + t, float(v)) for t, v in enumerate(y)]
    return validate_long(pd.DataFrame(rows, columns=["unique_id", "ds", "y"]))


def _assert_same(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(fast[slow.columns[:3]], slow[slow.columns[:3]])
    np.testing.assert_allclose(
        fast[slow.columns[3:]].to_numpy(), slow[slow.columns[3:]].to_numpy(), rtol=1e-9, atol=1e-9
    )


@pytest.mark.filterwarnings("ignore:left out of the model comparison")
@pytest.mark.parametrize(
    ("series", "h", "negative"),
    [(30, 3, 0.0), (80, 6, 0.03), (120, 1, 0.0), (90, 4, 0.5)],  # 30: partial windows
)
def test_panel_auto_matches_the_per_series_forecaster(series: int, h: int, negative: float):
    df = _panel(series, seed=series + h, negative=negative)
    slow = make_forecaster("auto", h).fit(df).predict(h, level=LEVELS)
    fast = forecast_panel(make_forecaster("auto", h), df, h, LEVELS)
    assert fast is not None
    _assert_same(fast, slow)


@pytest.mark.parametrize("negative", [0.0, 0.05])
def test_panel_auto_matches_the_backtest_choice_of_the_small_menu(negative: float):
    df = _panel(80, seed=21, negative=negative)
    slow = AutoForecaster(horizon=4, menu="small").fit(df).predict(4, level=LEVELS)
    fast = forecast_panel(AutoForecaster(horizon=4, menu="small"), df, 4, LEVELS)
    assert fast is not None
    _assert_same(fast, slow)


def test_a_candidate_missing_on_many_rows_is_left_out_with_the_same_warning():
    df = _panel(90, seed=3, negative=0.5)
    with pytest.warns(UserWarning, match="left out of the model comparison") as slow_w:
        make_forecaster("auto", 3).fit(df)
    with pytest.warns(UserWarning, match="left out of the model comparison") as fast_w:
        forecast_panel(make_forecaster("auto", 3), df, 3, LEVELS)
    assert [str(w.message) for w in fast_w] == [str(w.message) for w in slow_w]


def test_panel_path_is_only_for_the_default_auto_without_drivers():
    df = _panel(10, seed=1, negative=0.0)
    assert applies(make_forecaster("auto", 2), df)
    assert not applies(make_forecaster("drift", 2), df)
    assert not applies(make_forecaster("ensemble", 2), df)
    assert not applies(AutoForecaster(select="series"), df)
    assert not applies(AutoForecaster(menu="subsets"), df)
    assert not applies(make_forecaster("auto", 2), df.assign(gdp=1.0))
    assert forecast_panel(make_forecaster("theta", 2), df, 2, LEVELS) is None


def test_a_large_panel_chooses_and_calibrates_on_its_seeded_sample(monkeypatch):
    """Beyond SAMPLE_ABOVE series the backtest runs on the sample: the sampled series get what
    the per-series path gives when it is fitted on the sample alone."""
    monkeypatch.setattr(panel_auto, "SAMPLE_ABOVE", 50)
    monkeypatch.setattr(panel_auto, "SAMPLE_SIZE", 40)
    df = _panel(70, seed=5, negative=0.0)
    picked = panel_auto.sample_of(70)
    assert picked.sum() == 40
    assert (panel_auto.sample_of(70) == picked).all()  # seeded
    ids = np.array(sorted(df["unique_id"].unique()))[picked]
    fast = forecast_panel(make_forecaster("auto", 4), df, 4, LEVELS)
    assert fast is not None
    assert fast["unique_id"].nunique() == 70
    assert fast["mean"].notna().all()
    alone = AutoForecaster(horizon=4, partial=False)
    slow = alone.fit(df[df["unique_id"].isin(ids)]).predict(4, level=LEVELS)
    _assert_same(fast[fast["unique_id"].isin(ids)].reset_index(drop=True), slow)
    note = panel_auto.sample_note(70)
    assert note is not None
    assert "seeded sample of 40 of the 70 series" in note
    assert panel_auto.sample_note(50) is None


def test_chunks_in_worker_processes_give_exactly_the_in_process_figures(monkeypatch):
    monkeypatch.setattr(panel_auto, "CHUNK", 16)
    df = _panel(60, seed=9, negative=0.02)
    one = forecast_panel(make_forecaster("auto", 3), df, 3, LEVELS)
    two = forecast_panel(make_forecaster("auto", 3), df, 3, LEVELS, panel_auto.local_runner(2))
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "forecast.py"), "run", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_run_on_a_dask_local_cluster_writes_exactly_the_single_process_figures(tmp_path: Path):
    df = _panel(450, seed=11, negative=0.02)  # three chunks of series
    data = tmp_path / "panel.csv"
    df.to_csv(data, index=False)
    res = _cli("--data", str(data), "--horizon", "4", "--scheduler", "local:2", "--jobs", "1",
               "--out", str(tmp_path / "fc"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    read = read_long_csv(data, min_length=2)  # what the CLI forecasts (parsed from the CSV)
    here = forecast_panel(make_forecaster("auto", 4), read, 4, LEVELS)
    assert here is not None
    here.to_csv(tmp_path / "here.csv", index=False)
    written = (tmp_path / "fc" / "forecast.csv").read_text()
    assert written == (tmp_path / "here.csv").read_text()


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("tcp://127.0.0.1:1", "cannot connect"),  # nothing listens: refused until the timeout
        ("nonsense", "expected a scheduler address"),
        ("local:0", "local:N needs N from 1"),
        ("local:many", "local:N needs N from 1"),
    ],
)
def test_a_bad_scheduler_is_exit_2_naming_it(tmp_path: Path, address: str, says: str):
    data = tmp_path / "panel.csv"
    _panel(5, seed=1, negative=0.0).to_csv(data, index=False)
    out = tmp_path / "fc"
    res = _cli("--data", str(data), "--horizon", "2", "--scheduler", address, "--out", str(out))
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"--scheduler {address}" in res.stderr or repr(address) in res.stderr
    assert says in res.stderr
    assert not out.exists()


def test_scheduler_with_a_per_series_model_is_refused(tmp_path: Path):
    data = tmp_path / "panel.csv"
    _panel(5, seed=1, negative=0.0).to_csv(data, index=False)
    res = _cli("--data", str(data), "--horizon", "2", "--model", "theta", "--scheduler", "local:1",
               "--out", str(tmp_path / "fc"))  # fmt: skip
    assert res.returncode == 2
    assert "--scheduler runs --model auto, naive, drift" in res.stderr
