"""The backtest compares every candidate on the same rows and never drops one silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.backtest import cv_and_fit_series, pool_length, window_lengths
from models.registry import ATOMIC
from models.selection import AutoForecaster


def short_panel(n_series: int = 30, length: int = 9, seed: int = 0) -> pd.DataFrame:
    """Short trending positive series, like a set of short annual series."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        y = 100 + np.cumsum(2 + rng.normal(0, 3, length))
        rows += [(f"s{i}", 2000 + t, float(v)) for t, v in enumerate(y)]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def test_windows_start_at_the_pools_largest_required_length():
    models = {n: ATOMIC[n]() for n in ("naive", "drift", "fast_theta")}
    assert pool_length(models) == 4
    assert window_lengths(9, 6, 5, partial=True, min_length=4) == [4, 5, 6, 7, 8]
    # The old start, max(n - h - W + 1, 2), trained windows on 2 and 3 points.
    assert window_lengths(9, 6, 5, partial=True)[0] == 2


def test_every_model_forecasts_every_backtest_row_of_a_short_series():
    models = {n: ATOMIC[n]() for n in ("naive", "drift", "fast_theta", "fast_ets")}
    y = 100 + np.arange(9.0) * 3 + np.sin(np.arange(9.0))
    cv, _ = cv_and_fit_series(models, "a", y, np.arange(2000, 2009), None, 6, 5)
    assert len(cv) > 0
    assert np.isfinite(cv[list(models)].to_numpy()).all()


def test_no_candidate_is_dropped_from_the_comparison_on_short_series():
    auto = AutoForecaster(
        candidates=("naive", "drift", "fast_theta", "fast_theta_log", "fast_ets"),
        horizon=6,
        n_windows=5,
    ).fit(short_panel())
    combos = auto._combos()
    assert auto.excluded_ == []
    assert set(auto.selection_.index) == {*combos, *auto.candidates}
    assert auto.selection_["criterion"].notna().all()
    # Same rows for everyone: every candidate has a score on exactly the same series.
    scored = auto.panel_scores_.notna()
    assert (scored.all(axis=1) | ~scored.any(axis=1)).all()


def test_a_candidate_that_rarely_fits_is_left_out_with_a_warning(monkeypatch):
    def broken(self, y, X):
        if len(y) < 8:
            raise RuntimeError("cannot fit")
        return {"last": float(y[-1])}

    monkeypatch.setattr(ATOMIC["naive"], "_fit_series", broken)
    auto = AutoForecaster(candidates=("naive", "drift", "fast_theta"), horizon=6, n_windows=5)
    with pytest.warns(UserWarning, match="left out of the model comparison.*naive"):
        auto.fit(short_panel())
    assert "naive" in auto.excluded_
    assert all("naive" in c for c in auto.excluded_)
    assert np.isnan(auto.selection_.loc["naive", "criterion"])
    assert auto.selection_["criterion"].notna().sum() == len(auto.selection_) - len(auto.excluded_)
