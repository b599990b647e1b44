"""Positive series (spending, GDP) get positive, calibrated intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.data import load_nato_defexp
from models.selection import AutoForecaster


def falling_panel(n_series: int = 12, length: int = 14, seed: int = 2) -> pd.DataFrame:
    """Positive series that fall steeply: level-scale intervals would cross zero."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        y = 50 * np.exp(np.cumsum(rng.normal(-0.15, 0.2, length)))
        rows += [(f"s{i}", 2000 + t, float(v)) for t, v in enumerate(y)]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def test_positive_series_never_get_a_negative_lower_bound():
    fc = AutoForecaster(horizon=6, n_windows=3).fit(falling_panel()).predict(10)
    assert (fc[["lo-80", "lo-95"]].to_numpy() >= 0).all()
    assert (fc["lo-95"] <= fc["lo-80"]).all()
    assert (fc["hi-80"] <= fc["hi-95"]).all()


def test_nato_spending_forecasts_have_no_negative_bound():
    spending = load_nato_defexp()[["unique_id", "ds", "y"]]
    fc = AutoForecaster(horizon=6, n_windows=3).fit(spending).predict(8)
    assert (fc["lo-95"] > 0).all()


def test_series_with_a_negative_value_keep_level_scale_intervals():
    df = falling_panel().assign(y=lambda d: d["y"] - 20)  # crosses zero
    model = AutoForecaster(horizon=4, n_windows=3).fit(df)
    assert not any(model.positive_.values())
    fc = model.predict(4)
    assert np.isfinite(fc[["lo-95", "hi-95"]].to_numpy()).all()


def test_positive_false_turns_log_scale_intervals_off():
    model = AutoForecaster(horizon=4, n_windows=3, positive=False).fit(falling_panel())
    assert not any(model.positive_.values())
