"""Forecasters: the shared contract, known series, the ARIMA guard, calibration and metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.base import NotFittedError
from models.baselines import Drift, Naive
from models.ces import CES
from models.conformal import conformal_quantile, halfwidths, pool_by_step
from models.data import load_nato_defexp, load_worldbank, read_long_csv, validate_long
from models.ensemble import Ensemble
from models.errors import ForecastInputError
from models.evaluation import run_backtest
from models.fast_arima import FastARIMA
from models.global_model import GlobalRidge
from models.metrics import coverage, mase, mase_scale, msis, smape
from models.registry import ATOMIC, DEFAULT_CANDIDATES
from models.regression import DriverRegression
from models.selection import MODEL_CHOICES, AutoForecaster, make_forecaster
from models.smoothing import FastETS, FastETSLog, FastTheta, FastThetaLog
from models.statsmodels_models import (
    ARIMA,
    ETS,
    ArimaCandidate,
    Theta,
    ThetaLog,
    is_plausible,
    select_plausible,
)
from models.theta import OptimisedTheta

DATA = Path(__file__).parent / "data" / "forecast"


def random_walks(n_series: int, length: int, drift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        y = 100 + np.cumsum(rng.normal(drift, 1.0, length))
        parts.append(
            pd.DataFrame({"unique_id": f"s{i:03d}", "ds": 1990 + np.arange(length), "y": y})
        )
    return pd.concat(parts, ignore_index=True)


ALL_MODELS = [
    pytest.param(Naive, id="naive"),
    pytest.param(Drift, id="drift"),
    pytest.param(ETS, id="ets"),
    pytest.param(lambda: ARIMA(max_pq=1), id="arima"),
    pytest.param(Theta, id="theta"),
    pytest.param(ThetaLog, id="theta_log"),
    pytest.param(FastTheta, id="fast_theta"),
    pytest.param(FastThetaLog, id="fast_theta_log"),
    pytest.param(FastETS, id="fast_ets"),
    pytest.param(FastETSLog, id="fast_ets_log"),
    pytest.param(FastARIMA, id="fast_arima"),
    pytest.param(OptimisedTheta, id="dotm"),
    pytest.param(CES, id="ces"),
    pytest.param(DriverRegression, id="regression"),
    pytest.param(GlobalRidge, id="global_ridge"),
    pytest.param(Ensemble, id="ensemble"),
    pytest.param(
        lambda: AutoForecaster(candidates=("naive", "drift", "theta"), horizon=3), id="auto"
    ),
    pytest.param(
        lambda: AutoForecaster(candidates=("naive", "drift", "global_ridge"), horizon=3),
        id="auto_with_global",
    ),
]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return random_walks(2, 20, 0.8, seed=3)


@pytest.mark.parametrize("factory", ALL_MODELS)
def test_every_model_honours_the_contract(factory, panel):
    model = factory()
    assert model.fit(panel) is model
    fc = model.predict(4, level=[95, 80])
    assert list(fc.columns) == [
        "unique_id",
        "ds",
        "model",
        "mean",
        "lo-80",
        "hi-80",
        "lo-95",
        "hi-95",
    ]
    assert len(fc) == 2 * 4
    assert list(fc.groupby("unique_id")["ds"].first()) == [2010, 2010]
    assert not fc.isna().any().any()
    assert (fc["lo-95"] <= fc["lo-80"]).all()
    assert (fc["lo-80"] <= fc["mean"]).all()
    assert (fc["mean"] <= fc["hi-80"]).all()
    assert (fc["hi-80"] <= fc["hi-95"]).all()
    assert ((fc["hi-95"] - fc["lo-95"]) > (fc["hi-80"] - fc["lo-80"])).all()
    again = factory().fit(panel).predict(4, level=[80, 95])
    pd.testing.assert_frame_equal(fc, again)


@pytest.mark.parametrize("factory", ALL_MODELS)
def test_every_model_rejects_a_too_short_series(factory):
    short = pd.DataFrame({"unique_id": "tiny", "ds": [2000], "y": [1.0]})
    with pytest.raises(ForecastInputError, match="tiny"):
        factory().fit(short)


@pytest.mark.parametrize("factory", ALL_MODELS)
def test_every_model_rejects_non_finite_values(factory, panel):
    bad = panel.copy()
    bad.loc[5, "y"] = np.inf
    with pytest.raises(ForecastInputError, match="non-finite"):
        factory().fit(bad)


@pytest.mark.parametrize("factory", ALL_MODELS)
def test_predict_before_fit_is_refused(factory):
    with pytest.raises(NotFittedError):
        factory().predict(3)


def test_drift_forecasts_a_linear_trend_exactly():
    df = pd.DataFrame(
        {"unique_id": "lin", "ds": np.arange(2000, 2016), "y": 10 + 2.5 * np.arange(16)}
    )
    fc = Drift().fit(df).predict(5)
    np.testing.assert_allclose(fc["mean"], 10 + 2.5 * np.arange(16, 21))


def test_naive_forecasts_a_constant_series_exactly():
    df = pd.DataFrame({"unique_id": "flat", "ds": np.arange(2000, 2016), "y": 7.0})
    fc = Naive().fit(df).predict(3)
    np.testing.assert_allclose(fc["mean"], 7.0)
    np.testing.assert_allclose(fc["hi-95"] - fc["lo-95"], 0.0, atol=1e-9)


def test_regression_uses_future_drivers():
    t = np.arange(12, dtype=float)
    gdp = 100 + 5 * t + np.sin(t)
    df = pd.DataFrame({"unique_id": "d", "ds": 2000 + t.astype(int), "y": 0.02 * gdp, "gdp": gdp})
    future = pd.DataFrame({"unique_id": "d", "ds": [2012, 2013], "gdp": [200.0, 300.0]})
    model = DriverRegression(drivers=["gdp"]).fit(df)
    fc = model.predict(2, X_df=future)
    np.testing.assert_allclose(fc["mean"], [4.0, 6.0], rtol=1e-6)
    with pytest.raises(ForecastInputError, match="future drivers"):
        model.predict(2)


def test_plausibility_guard_rejects_an_explosive_forecast():
    y = np.linspace(1000, 2000, 20)
    explosive = np.array([2100, 3000, -29000.0])
    assert not is_plausible(y, explosive, np.ones(3))
    assert not is_plausible(y, np.array([2050.0, np.nan, 2150]), np.ones(3))
    assert is_plausible(y, np.array([2050.0, 2100, 2150]), np.full(3, 30.0))


def test_arima_search_skips_the_best_aicc_model_when_it_explodes():
    y = np.linspace(1000, 2000, 20)
    best_but_explosive = ArimaCandidate("bad", -100.0, np.array([2e3, 9e4, 9e6]), np.ones(3))
    fine = ArimaCandidate("good", 50.0, np.array([2050.0, 2100, 2150]), np.full(3, 20.0))
    assert select_plausible(y, [best_but_explosive, fine]).label == "good"
    assert select_plausible(y, [best_but_explosive]) is None


def test_arima_falls_back_to_drift_when_no_order_is_plausible(monkeypatch, panel):
    import models.statsmodels_models as sm

    monkeypatch.setattr(sm, "is_plausible", lambda y, mean, sd: False)
    fc = ARIMA(max_pq=1).fit(panel).predict(3)
    assert set(fc["model"]) == {"arima(fallback:drift)"}
    pd.testing.assert_series_equal(fc["mean"], Drift().fit(panel).predict(3)["mean"])


def test_auto_falls_back_when_the_chosen_model_cannot_fit(monkeypatch, panel):
    def broken(self, y, X):
        raise ValueError("cannot fit")

    monkeypatch.setattr(Theta, "_fit_series", broken)
    model = AutoForecaster(
        candidates=("theta", "drift"), combinations={}, choose="theta", horizon=3
    )
    fc = model.fit(panel).predict(3)
    assert set(fc["model"]) == {"drift"}
    assert not fc.isna().any().any()


def test_calibrated_intervals_cover_close_to_nominal_on_random_walks():
    # Naive forecasts of random walks with drift: the model's own intervals ignore the drift
    # and undercover; the conformal ones learnt from rolling origins must be near nominal.
    df = random_walks(240, 30, 1.0, seed=11)
    train = df[df["ds"] < 2014]
    test = df[df["ds"] >= 2014]
    own = AutoForecaster(candidates=("naive",), combinations={}, horizon=6, calibrate=False)
    cal = AutoForecaster(candidates=("naive",), combinations={}, horizon=6)
    m_own = test.merge(own.fit(train).predict(6, level=[80, 95]), on=["unique_id", "ds"])
    m_cal = test.merge(cal.fit(train).predict(6, level=[80, 95]), on=["unique_id", "ds"])
    assert coverage(m_own["y"], m_own["lo-95"], m_own["hi-95"]) < 0.85
    assert 0.92 <= coverage(m_cal["y"], m_cal["lo-95"], m_cal["hi-95"]) <= 0.98
    assert 0.74 <= coverage(m_cal["y"], m_cal["lo-80"], m_cal["hi-80"]) <= 0.86


def test_conformal_quantile_uses_the_finite_sample_rank():
    errors = np.arange(1, 40, dtype=float)  # 39 errors: the 95% rank is ceil(40 * 0.95) = 38
    assert conformal_quantile(errors, 95) == 38.0
    few = np.array([1.0, 2.0, 3.0])
    assert conformal_quantile(few, 95) >= 3.0


def test_too_few_errors_for_either_level_still_give_95_wider_than_80():
    # Two errors, one much larger: the largest error alone would be both bands' half-width.
    few = np.array([0.1, 5.0])
    q80, q95 = conformal_quantile(few, 80), conformal_quantile(few, 95)
    assert 5.0 <= q80 < q95
    # The largest of n errors stands for the n / (n + 1) level; 95% grows it by the z ratio.
    assert q95 == pytest.approx(5.0 * 1.959964 / 0.967422, rel=1e-5)


def test_pooled_error_of_one_series_is_capped_at_the_largest_of_the_others():
    errors = np.array([0.5, 40.0, 1.0, 2.0, 3.0, 0.7])
    series = np.array(["a", "a", "b", "b", "c", "a"])
    steps = np.array([1, 1, 1, 1, 1, 2])
    pooled = pool_by_step(errors, steps, series, np.ones(6, dtype=bool))
    assert pooled[1].tolist() == [0.5, 1.0, 2.0, 3.0, 3.0]  # a's 40 is capped at c's 3
    assert pooled[2].tolist() == [0.7]  # one series at that step: its own error stands


def test_one_broken_series_does_not_set_the_other_series_bands():
    rng = np.random.default_rng(3)
    years = np.arange(1990, 2025)
    rows = [
        pd.DataFrame(
            {
                "unique_id": f"S{i}",
                "ds": years,
                "y": 500 * np.exp(np.cumsum(rng.normal(0.03, 0.05, 35))),
            }
        )
        for i in range(5)
    ]
    line = 100.0 + 2 * np.arange(35)
    line[-1] *= 3  # a near-linear series whose last year triples
    broken = pd.DataFrame({"unique_id": "LIN", "ds": years, "y": line})
    alone = AutoForecaster(horizon=5).fit(pd.concat(rows)).predict(5, level=[95])
    mixed = AutoForecaster(horizon=5).fit(pd.concat([*rows, broken])).predict(5, level=[95])
    width = lambda fc: (fc["hi-95"] / fc["lo-95"]).to_numpy()  # noqa: E731
    ratio = width(mixed[mixed["unique_id"] != "LIN"]) / width(alone)
    assert ratio.max() < 1.5


def test_halfwidths_widen_with_step_and_level():
    rng = np.random.default_rng(0)
    errs = {1: np.abs(rng.normal(0, 1, 200)), 2: np.abs(rng.normal(0, 1.5, 200))}
    half = halfwidths(errs, 4, [80, 95])
    assert np.all(np.diff(half[80]) >= 0)
    assert np.all(half[95] > half[80])


def test_backtest_reports_cutoffs_and_calibrated_coverage():
    df = random_walks(30, 26, 0.5, seed=5)
    fc, per, overall = run_backtest(df, 4, model="drift", n_windows=2, levels=[80, 95])
    assert fc.groupby("unique_id")["cutoff"].nunique().eq(2).all()
    assert {"mase", "smape", "coverage-95", "msis-95", "coverage_uncal-95"} <= set(per.columns)
    assert len(per) == 30
    assert 0.85 <= overall.loc[0, "coverage-95"] <= 1.0


def test_backtest_refuses_series_too_short_for_its_windows():
    df = random_walks(2, 8, 0.5, seed=5)
    with pytest.raises(ForecastInputError, match="at least"):
        run_backtest(df, 4, model="naive", n_windows=3)


def test_backtest_leaves_out_series_too_short_for_its_windows_and_names_them():
    long = random_walks(3, 20, 0.5, seed=5)
    short = random_walks(1, 8, 0.5, seed=6).assign(unique_id="tiny")
    with pytest.warns(UserWarning, match=r"1 of 4 series left out.*at least 9.*'tiny' \(8\)"):
        _, per, _ = run_backtest(pd.concat([long, short]), 4, model="naive", n_windows=3)
    assert sorted(per["unique_id"]) == sorted(long["unique_id"].unique())


def test_backtest_length_rule_counts_the_models_own_minimum():
    long = random_walks(2, 12, 0.5, seed=5)
    six = random_walks(1, 6, 0.5, seed=6).assign(unique_id="six")
    with pytest.warns(UserWarning, match=r"needs at least 8 observations; 'six' \(6\)"):
        _, per, _ = run_backtest(pd.concat([long, six]), 2, model="auto", n_windows=2)
    assert (per["windows"] == 2).all()


def test_backtest_labels_a_window_by_the_components_that_forecast_it():
    crossing = pd.DataFrame(
        {"unique_id": "x", "ds": np.arange(2000, 2012), "y": np.linspace(-3.0, 6.0, 12)}
    )
    with pytest.warns(UserWarning, match="left out of the model comparison"):
        fc, per, _ = run_backtest(crossing, 2, model="auto", n_windows=2)
    no_logs = f"median({','.join(c for c in DEFAULT_CANDIDATES if c != 'fast_theta_log')})"
    assert set(fc["model"]) == {no_logs}
    assert per.loc[0, "model"] == no_logs


def test_backtest_mase_is_undefined_not_in_units_where_training_never_changes():
    flat = pd.DataFrame(
        {"unique_id": "flat", "ds": np.arange(2000, 2023), "y": [5.0] * 20 + [6.0, 7.0, 8.0]}
    )
    walks = random_walks(2, 23, 0.5, seed=5)
    with pytest.warns(UserWarning, match="undefined.*'flat'"):
        _, per, overall = run_backtest(pd.concat([flat, walks]), 3, model="naive", n_windows=2)
    per = per.set_index("unique_id")
    assert np.isnan(per.loc["flat", "mase"])
    assert np.isnan(per.loc["flat", "msis-95"])
    assert overall.loc[0, "mase"] == pytest.approx(per["mase"].drop("flat").mean())


@pytest.mark.parametrize("name", MODEL_CHOICES)
def test_every_cli_model_forecasts_with_ordered_bands(name, panel):
    out = make_forecaster(name, 3).fit(panel).predict(h=3, level=[80, 95])
    assert len(out) == 3 * panel["unique_id"].nunique()
    assert (out["lo-95"] <= out["lo-80"]).all()
    assert (out["lo-80"] <= out["mean"]).all()
    assert (out["mean"] <= out["hi-80"]).all()
    assert (out["hi-80"] <= out["hi-95"]).all()


def test_cli_help_names_every_cli_model():
    import forecast

    assert forecast.MODEL_HELP.split("|") == list(MODEL_CHOICES)


def test_make_forecaster_rejects_unknown_models():
    with pytest.raises(ForecastInputError, match="unknown model"):
        make_forecaster("prophet", 3)


def test_metrics_on_known_values():
    y = np.array([100.0, 110.0])
    f = np.array([110.0, 110.0])
    assert smape(y, f) == pytest.approx(100 * (20 / 210) / 2)
    assert mase_scale(np.array([1.0, 3.0, 2.0])) == pytest.approx(1.5)
    assert mase(y, f, 5.0) == pytest.approx(1.0)
    assert coverage(y, y - 1, y + 1) == 1.0
    # one miss of 10 below a [0, 100] interval at 95%: width 100 + 40 * 10, averaged with 100
    assert msis(np.array([-10.0, 50.0]), np.zeros(2), np.full(2, 100.0), 1.0) == pytest.approx(
        300.0
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing_column.csv", "missing column"),
        ("duplicate.csv", "duplicate rows for ds=2001"),
        ("gap.csv", "'b' has a gap"),
        ("text_in_y.csv", "'two'"),
        ("nope.csv", "file not found"),
    ],
)
def test_malformed_files_fail_clearly(name, message):
    with pytest.raises(ForecastInputError, match=message) as info:
        read_long_csv(DATA / name)
    assert name in str(info.value)


def test_a_header_padded_with_spaces_still_names_the_columns_and_keeps_ids_as_written(tmp_path):
    path = tmp_path / "padded.csv"
    path.write_text(" unique_id , ds , y \n007,2000,1\n007,2001,2\nNA,2000,3\nNA,2001,4\n")
    out = read_long_csv(path)
    assert sorted(out["unique_id"].unique()) == ["007", "NA"]
    assert out["y"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_rows_ending_in_a_comma_the_header_lacks_are_read_as_written(tmp_path):
    # A spreadsheet's export: pandas would take the first column as the index and shift the
    # rest, reading the years as series names.
    path = tmp_path / "trailing.csv"
    path.write_text("unique_id,ds,y\nA,2000,100,\nA,2001,110,\n")
    out = read_long_csv(path)
    assert out[["unique_id", "ds", "y"]].values.tolist() == [["A", 2000, 100.0], ["A", 2001, 110.0]]


def test_monthly_dates_are_refused_as_not_yearly_not_only_as_duplicates():
    df = pd.DataFrame({"unique_id": "a", "ds": ["2020-01-01", "2020-02-01"], "y": [1.0, 2.0]})
    with pytest.raises(
        ForecastInputError, match=r"dates 2020-01-01, 2020-02-01 fall in the same year"
    ):
        validate_long(df)


def test_validate_long_sorts_and_types():
    df = pd.DataFrame({"unique_id": [1, 1], "ds": ["2001", "2000"], "y": ["2", "1"]})
    out = validate_long(df)
    assert out["ds"].tolist() == [2000, 2001]
    assert out["y"].tolist() == [1.0, 2.0]
    assert out["unique_id"].tolist() == ["1", "1"]


def test_spaces_around_a_unique_id_do_not_make_a_second_series():
    df = pd.DataFrame({"unique_id": ["DEU", "DEU ", " DEU"], "ds": [2000, 2001, 2002], "y": 1.0})
    with pytest.warns(UserWarning, match=r"' DEU', 'DEU ' read without the spaces around them"):
        out = validate_long(df)
    assert out["unique_id"].tolist() == ["DEU"] * 3


def test_a_padded_unique_id_that_repeats_a_year_is_a_duplicate():
    df = pd.DataFrame({"unique_id": ["DEU", "DEU "], "ds": [2000, 2000], "y": 1.0})
    with (
        pytest.warns(UserWarning, match="'DEU ' read without the spaces"),
        pytest.raises(ForecastInputError, match="duplicate rows"),
    ):
        validate_long(df)


def test_ds_may_mix_years_and_dates_in_any_spelling():
    df = pd.DataFrame(
        {"unique_id": "a", "ds": ["2000", "2001-01-01", "31/12/2002", " 2003 "], "y": 1.0}
    )
    assert validate_long(df)["ds"].tolist() == [2000, 2001, 2002, 2003]


@pytest.mark.parametrize(
    ("ds", "words"),
    [
        ("soon", "not a year or a date: 'soon'"),
        ("2001.5", "not a whole year"),
        ("", "missing"),
        ("1e20", "not a year: '1e20'"),  # int64 cannot hold it: was a TypeError
    ],
)
def test_a_bad_ds_names_the_series_and_the_value(ds, words):
    df = pd.DataFrame({"unique_id": ["a", "b", "b"], "ds": ["2000", "2000", ds], "y": 1.0})
    with pytest.raises(ForecastInputError, match=rf"series 'b' has a ds that is {words}"):
        validate_long(df)


def test_shipped_loaders_return_tidy_long_frames():
    nato = load_nato_defexp()
    assert {"unique_id", "ds", "y", "pct_gdp", "gdp"} <= set(nato.columns)
    assert nato["unique_id"].nunique() == 31
    assert nato.groupby("unique_id")["ds"].agg(["min", "max"]).eq([2014, 2024]).all().all()
    wb = load_worldbank()
    assert wb.loc[wb["unique_id"] == "DEU", "ds"].max() == 2025
    assert not wb.duplicated(["unique_id", "ds"]).any()


def test_loader_names_the_file_on_a_malformed_table(tmp_path):
    bad = tmp_path / "nato.csv"
    bad.write_text("iso3,year,defexp_usd_current_m\nDEU,2020,abc\n")
    with pytest.raises(ForecastInputError, match=r"nato\.csv: missing column"):
        load_nato_defexp(bad)


def test_default_auto_gives_every_series_the_median_of_the_pool_whatever_the_backtest_says():
    panel = random_walks(6, 24, 0.8, seed=5)
    pool = ("naive", "drift", "fast_theta")
    median = "median(naive,drift,fast_theta)"
    model = AutoForecaster(candidates=pool, horizon=3).fit(panel)
    chooser = AutoForecaster(candidates=pool, horizon=3, menu="small").fit(panel)
    assert model.forced_choice() == median
    assert set(model.chosen_.values()) == {median}
    assert chooser.forced_choice() is None
    # The backtest's own choice differs here, so the default cannot be that choice by chance.
    assert set(chooser.chosen_.values()) != {median}
    assert list(model.selection_.index) == list(chooser.selection_.index)


def test_default_menu_offers_median_combinations_of_the_candidates():
    from models.combinations import default_combinations

    menu = default_combinations(("naive", "drift", "theta", "ets"))
    assert menu["ensemble"] == ("drift", "theta", "ets")
    assert "median(naive,drift,theta,ets)" in menu
    assert "median(drift,theta,ets)" not in menu  # the same as "ensemble"
    assert all(len(v) >= 3 for v in menu.values())


def test_theta_log_refuses_non_positive_series():
    df = pd.DataFrame({"unique_id": "z", "ds": np.arange(2000, 2010), "y": np.arange(-5.0, 5.0)})
    with pytest.raises(ForecastInputError, match="strictly positive"):
        ThetaLog().fit(df)


@pytest.mark.parametrize("name", sorted(set(ATOMIC) - {"regression", "global_ridge"}))
def test_every_single_model_forecasts_a_constant_series_flat(name):
    df = pd.DataFrame({"unique_id": "c", "ds": np.arange(2000, 2012), "y": 42.0})
    fc = ATOMIC[name]().fit(df).predict(3)
    # ARIMA's likelihood optimiser stops within 1e-7 of the level; a trend of any size fails.
    np.testing.assert_allclose(fc["mean"], 42.0, rtol=1e-6)


def test_the_model_label_names_only_the_components_that_fitted():
    years = np.arange(2000, 2012)
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": "long", "ds": years, "y": 100 + 3.0 * np.arange(12)}),
            pd.DataFrame({"unique_id": "negative", "ds": years, "y": np.linspace(-5, 8, 12)}),
            pd.DataFrame({"unique_id": "short", "ds": [2010, 2011], "y": [10.0, 11.0]}),
        ]
    )
    fc = make_forecaster("auto", 2).fit(df).predict(2)
    label = fc.groupby("unique_id")["model"].first()
    pool = ",".join(DEFAULT_CANDIDATES)
    assert label["long"] == f"median({pool})"
    assert label["negative"] == f"median({pool.replace(',fast_theta_log', '')})"  # logs: y <= 0
    assert label["short"] == "naive"  # the only model a two-year series can fit


def test_arima_never_answers_a_positive_series_with_a_forecast_at_or_below_zero():
    y = [10, 500, 10, 2200, 15, 16, 17, 18, 16, 17, 18, 15, 16, 17, 18]
    df = pd.DataFrame({"unique_id": "j", "ds": np.arange(2000, 2015), "y": np.array(y, float)})
    for model in (ARIMA(), FastARIMA()):
        assert (model.fit(df).predict(5)["mean"] > 0).all()
