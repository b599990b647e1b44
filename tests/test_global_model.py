"""The global (pooled) forecaster: known patterns, no leakage in its backtest, small panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.global_model import GlobalRidge, panel_cv
from models.selection import AutoForecaster

GROWTH = (0.97, 1.0, 1.02, 1.05, 1.1)


def panel_of(series: dict[str, np.ndarray], start: int = 2000) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"unique_id": u, "ds": start + np.arange(len(y)), "y": y})
            for u, y in series.items()
        ],
        ignore_index=True,
    )


def noisy_panel(n_series: int, length: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_series):
        growth = rng.normal(0.04, 0.03)
        out[f"s{i:02d}"] = 100 * np.exp(np.cumsum(rng.normal(growth, 0.05, length)))
    return out


def test_geometric_series_with_different_growth_rates_are_forecast_exactly():
    series = {f"g{i}": 50.0 * (i + 1) * g ** np.arange(15) for i, g in enumerate(GROWTH)}
    fc = GlobalRidge(alpha=1e-8).fit(panel_of(series)).predict(9)  # beyond its 6 steps too
    for i, g in enumerate(GROWTH):
        got = fc.loc[fc["unique_id"] == f"g{i}", "mean"].to_numpy()
        expected = 50.0 * (i + 1) * g ** np.arange(15, 24)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_linear_series_through_zero_are_forecast_exactly_on_the_level_scale():
    series = {f"l{i}": -20.0 + slope * np.arange(12) for i, slope in enumerate((1.0, 3.0, 7.5))}
    fc = GlobalRidge(alpha=1e-8).fit(panel_of(series)).predict(4)
    for i, slope in enumerate((1.0, 3.0, 7.5)):
        got = fc.loc[fc["unique_id"] == f"l{i}", "mean"].to_numpy()
        np.testing.assert_allclose(got, -20.0 + slope * np.arange(12, 16), rtol=1e-6)


def test_backtest_forecasts_do_not_see_values_after_their_cutoff():
    ys = noisy_panel(8, 14, seed=1)
    dss = {u: 2000 + np.arange(len(y)) for u, y in ys.items()}
    before, _ = panel_cv(GlobalRidge(), ys, dss, h=3, n_windows=3, partial=True)
    # Change the last two years of every series: forecasts made at a cutoff two or more years
    # before the end must not move; the others may.
    changed = {u: np.concatenate([y[:-2], y[-2:] * [3.0, 0.2]]) for u, y in ys.items()}
    after, _ = panel_cv(GlobalRidge(), changed, dss, h=3, n_windows=3, partial=True)
    early = before["cutoff"] <= 2000 + 14 - 3
    assert early.sum() > 0
    assert (~early).sum() > 0
    pd.testing.assert_frame_equal(before[early], after[early])
    assert not np.allclose(before.loc[~early, "global_ridge"], after.loc[~early, "global_ridge"])


def test_the_auto_forecasters_backtest_of_the_global_model_has_no_leakage():
    ys = noisy_panel(6, 16, seed=2)
    changed = {u: np.concatenate([y[:-1], [y[-1] * 5.0]]) for u, y in ys.items()}
    auto = {"candidates": ("naive", "drift", "global_ridge"), "horizon": 3, "n_windows": 3}
    cv_a = AutoForecaster(**auto).fit(panel_of(ys)).cv_
    cv_b = AutoForecaster(**auto).fit(panel_of(changed)).cv_
    cols = ["unique_id", "cutoff", "step", "global_ridge", "global_ridge__sd"]
    early = cv_a["cutoff"] <= 2000 + 16 - 2
    assert cv_a["global_ridge"].notna().all()
    pd.testing.assert_frame_equal(cv_a.loc[early, cols], cv_b.loc[early, cols])


def test_a_single_series_is_a_panel_of_one():
    y = noisy_panel(1, 12, seed=3)["s00"]
    fc = GlobalRidge().fit(panel_of({"only": y})).predict(5)
    mean, _ = GlobalRidge()._predict_series(GlobalRidge()._fit_series(y, None), 5, None)
    np.testing.assert_allclose(fc["mean"].to_numpy(), mean)
    assert np.all(np.isfinite(mean))


def test_a_series_shorter_than_the_others_is_forecast():
    series = noisy_panel(5, 15, seed=4)
    series["short"] = series.pop("s04")[:3]
    fc = GlobalRidge().fit(panel_of(series)).predict(6)
    assert fc["mean"].notna().all()
    assert (fc["mean"] > 0).all()


@pytest.mark.parametrize("n_series", [1, 32])
def test_the_auto_forecaster_can_choose_the_global_model_on_small_panels(n_series):
    df = panel_of(noisy_panel(n_series, 12, seed=5))
    model = AutoForecaster(
        candidates=("naive", "drift", "global_ridge"), horizon=4, n_windows=3, choose="global_ridge"
    ).fit(df)
    fc = model.predict(10, level=(80, 95))
    assert set(model.chosen_.values()) == {"global_ridge"}
    assert not fc.isna().any().any()
    assert (fc["lo-95"] < fc["lo-80"]).all()
    assert (fc["hi-80"] < fc["hi-95"]).all()


def test_a_growth_outlier_does_not_pull_the_pooled_fit():
    series = {f"g{i}": 100.0 * 1.05 ** np.arange(14) for i in range(10)}
    series["jump"] = np.concatenate([np.full(7, 10.0), np.full(7, 1000.0)])
    fc = GlobalRidge(alpha=1e-8).fit(panel_of(series)).predict(3)
    got = fc.loc[fc["unique_id"] == "g0", "mean"].to_numpy()
    np.testing.assert_allclose(got, 100.0 * 1.05 ** np.arange(14, 17), rtol=1e-3)
