"""The numpy Theta and ETS fits against statsmodels, and the auto pool's combinations."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from models import backtest
from models.combinations import Combo, default_combinations
from models.errors import ForecastInputError
from models.scoring import global_choice
from models.selection import AutoForecaster
from models.smoothing import FastETS, FastETSLog, FastTheta, FastThetaLog
from models.statsmodels_models import ETS, Theta


def known_series() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "trend": 50 + 3 * np.arange(30) + rng.normal(0, 2, 30),
        "random_walk": 100 + np.cumsum(rng.normal(0, 1, 25)),
        "level": 20 + rng.normal(0, 1, 20),
    }


def forecasts(model, y: np.ndarray, h: int = 6) -> tuple[np.ndarray, np.ndarray, dict]:
    state = model._fit_series(y, None)
    mean, sd = model._predict_series(state, h, None)
    return np.asarray(mean), np.asarray(sd), state


@pytest.mark.parametrize("kind", ["trend", "random_walk", "level"])
@pytest.mark.parametrize(
    ("fast", "slow"), [(FastTheta, Theta), (FastETS, ETS)], ids=["theta", "ets"]
)
def test_fast_fits_give_the_statsmodels_forecasts_on_known_series(kind, fast, slow):
    y = known_series()[kind]
    scale = np.mean(np.abs(np.diff(y)))
    m_fast, sd_fast, st_fast = forecasts(fast(), y)
    m_slow, sd_slow, st_slow = forecasts(slow(), y)
    assert st_fast.get("form") == st_slow.get("form")
    # The stated tolerance: forecasts within 0.1% of the mean yearly change, sds within 0.1%.
    np.testing.assert_allclose(m_fast, m_slow, rtol=0, atol=1e-3 * scale)
    np.testing.assert_allclose(sd_fast, sd_slow, rtol=1e-3)


@pytest.mark.parametrize("form", ["N", "A", "Ad"])
def test_fast_ets_fits_at_least_as_well_as_statsmodels(form):
    # The grid search is global on its grid; L-BFGS from a fixed start can stop at a local optimum.
    rng = np.random.default_rng(11)
    for _ in range(8):
        y = 100 + np.cumsum(rng.normal(rng.uniform(-1, 3), rng.uniform(0.5, 4), 24))
        fast = FastETS(trends=(form,))._fit_series(y, None)
        slow = ETS(trends=(form,))._fit_series(y, None)
        assert fast["sigma"] <= slow["sigma"] * 1.001


@pytest.mark.parametrize("model", [FastTheta(), FastETS(), FastThetaLog(), FastETSLog()])
def test_fitting_all_prefixes_at_once_equals_fitting_each(model):
    y = 200 + np.cumsum(np.random.default_rng(5).normal(2, 3, 22))
    lengths = [6, 9, 15, 22]
    together = model._fit_prefixes(y, lengths)
    for L, state in zip(lengths, together, strict=True):
        alone = model._fit_series(y[:L], None)
        m1, s1 = model._predict_series(state, 4, None)
        m2, s2 = model._predict_series(alone, 4, None)
        np.testing.assert_allclose(m1, m2, rtol=1e-10)
        np.testing.assert_allclose(s1, s2, rtol=1e-10)


def test_theta_forecast_is_the_closed_form_of_ses_with_half_the_slope():
    y = 10.0 + 2.0 * np.arange(12)  # a line: SES tracks it with alpha at its upper bound
    mean, _, state = forecasts(FastTheta(), y, 3)
    a, n = state["alpha"], 12
    expected = state["level"] + 0.5 * 2.0 * (np.arange(3) + 1 / a - (1 - a) ** n / a)
    np.testing.assert_allclose(mean, expected)
    assert state["b0"] == pytest.approx(2.0)


@pytest.mark.parametrize("model", [FastThetaLog, FastETSLog])
def test_log_models_refuse_non_positive_series(model):
    df = pd.DataFrame({"unique_id": "z", "ds": np.arange(2000, 2012), "y": np.arange(-5.0, 7.0)})
    with pytest.raises(ForecastInputError, match="strictly positive"):
        model().fit(df)


def test_fast_ets_rejects_unknown_trend_forms():
    df = pd.DataFrame({"unique_id": "a", "ds": np.arange(2000, 2012), "y": np.arange(12.0)})
    with pytest.raises(ForecastInputError, match="trends"):
        FastETS(trends=("M",)).fit(df)


def panel(n_series: int, length: int = 18, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i:02d}",
                    "ds": 2000 + np.arange(length),
                    "y": 100 + np.cumsum(rng.normal(1, 2, length)),
                }
            )
            for i in range(n_series)
        ],
        ignore_index=True,
    )


def test_a_mean_combination_forecasts_the_mean_of_its_components():
    df = panel(3)
    combo = AutoForecaster(
        candidates=("naive", "drift"),
        combinations={"avg": Combo(("naive", "drift"), "mean")},
        choose="avg",
        horizon=3,
    )
    got = combo.fit(df).predict(3)["mean"].to_numpy()
    parts = [
        AutoForecaster(candidates=(m,), combinations={}, choose=m, horizon=3).fit(df).predict(3)
        for m in ("naive", "drift")
    ]
    np.testing.assert_allclose(got, (parts[0]["mean"] + parts[1]["mean"]).to_numpy() / 2)


def test_default_menu_offers_the_median_and_the_mean_of_each_subset():
    menu = default_combinations(("naive", "drift", "fast_theta"))
    assert menu["median(naive,drift,fast_theta)"].how == "median"
    assert menu["mean(naive,drift,fast_theta)"].how == "mean"
    restored = pickle.loads(pickle.dumps(menu["mean(naive,drift,fast_theta)"]))
    assert restored.how == "mean"
    assert tuple(restored) == ("naive", "drift", "fast_theta")
    with pytest.raises(ForecastInputError, match="median or a mean"):
        Combo(("naive",), "mode")


def test_global_choice_weighs_mase_and_smape_relative_to_the_best():
    mase_t = pd.DataFrame({"a": [1.0, 1.0], "b": [1.02, 1.02], "c": [0.99, 0.99]})
    smape_t = pd.DataFrame({"a": [10.0, 10.0], "b": [9.0, 9.0], "c": [12.0, 12.0]})
    # a: 1.0101 + 1.111; b: 1.0303 + 1.0; c: 1.0 + 1.333 -> b
    assert global_choice(mase_t, smape_t, ["a", "b", "c"]) == "b"
    # A series some candidate has no score on is left out for all of them (same rows for
    # every candidate; a rarely forecast candidate is excluded earlier, by common_rows).
    mase_t.loc[0, "b"] = np.nan
    mase_t.loc[0, "a"] = 0.5
    assert global_choice(mase_t, smape_t, ["a", "b", "c"]) == "b"


def test_parallel_and_serial_fits_agree(monkeypatch):
    # Worker processes from 2 series on (24 by default): the same check on a fifth of the work.
    import joblib

    monkeypatch.setattr(backtest, "PARALLEL_MIN_SERIES", 2)
    used: list[int] = []

    class Recorded(joblib.Parallel):
        def __call__(self, iterable):
            used.append(self.n_jobs)
            return super().__call__(iterable)

    monkeypatch.setattr(joblib, "Parallel", Recorded)
    df = panel(6, seed=4)
    serial = AutoForecaster(horizon=3, n_jobs=1).fit(df)
    assert used == []
    parallel = AutoForecaster(horizon=3, n_jobs=2).fit(df)
    assert set(used) == {2}  # the fits did run in worker processes
    pd.testing.assert_frame_equal(serial.predict(4), parallel.predict(4))
    assert serial.chosen_ == parallel.chosen_


def test_fast_ets_forecasts_an_exact_line_and_a_constant_exactly():
    line = 10 + 2.5 * np.arange(16.0)
    mean, _, state = forecasts(FastETS(), line, 3)
    assert state["form"] == "A"
    np.testing.assert_allclose(mean, 10 + 2.5 * np.arange(16, 19))
    mean, _, state = forecasts(FastETS(), np.full(12, 7.0), 3)
    assert state["form"] == "N"
    np.testing.assert_allclose(mean, 7.0)


def test_fast_arima_ar_part_is_statsmodels_conditional_least_squares():
    from statsmodels.tsa.ar_model import AutoReg

    from models.fast_arima import fit_css

    rng = np.random.default_rng(0)
    w = np.zeros(60)
    for t in range(1, 60):
        w[t] = 0.5 + 0.6 * w[t - 1] + rng.normal()
    fit = fit_css(w, 1, 0, True)
    ref = AutoReg(w[1:], lags=1, trend="c").fit().params  # the same conditioning sample
    np.testing.assert_allclose([fit["c"], fit["phi"][0]], ref, rtol=1e-8)


def test_fast_arima_ma_part_is_close_to_statsmodels_maximum_likelihood():
    from statsmodels.tsa.arima.model import ARIMA as SmARIMA

    from models.fast_arima import fit_css

    e = np.random.default_rng(1).normal(size=300)
    w = 0.3 + e + np.r_[0.0, 0.5 * e[:-1]]
    fit = fit_css(w, 0, 1, True)
    ref = SmARIMA(w, order=(0, 0, 1), trend="c").fit().params
    assert fit["c"] == pytest.approx(ref[0], abs=0.05)
    assert fit["theta"][0] == pytest.approx(ref[1], abs=0.05)


def test_fast_arima_random_walk_with_drift_forecasts_a_line_with_growing_sd():
    from models.fast_arima import arima_forecast

    y = 100 + np.cumsum(np.random.default_rng(2).normal(1.0, 1.0, 30))
    fit = {"p": 0, "q": 0, "c": 1.5, "phi": np.zeros(0), "theta": np.zeros(0), "sigma2": 4.0}
    mean, sd = arima_forecast(y, 1, fit, 4)
    np.testing.assert_allclose(mean, y[-1] + 1.5 * np.arange(1, 5))
    np.testing.assert_allclose(sd, 2.0 * np.sqrt(np.arange(1, 5)))


def test_fast_arima_keeps_only_stationary_ar_fits():
    from models.fast_arima import is_stationary

    assert is_stationary(np.array([0.5]))
    assert not is_stationary(np.array([1.2]))
    assert is_stationary(np.array([0.5, 0.3]))
    assert not is_stationary(np.array([0.8, 0.3]))
