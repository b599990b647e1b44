"""The fund: calibrated rates, policy paths, coherent totals and forecast pledges."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models import forked, fund_grids
from models.errors import ForecastInputError
from models.forked import beside
from models.fund import (
    FundHistory,
    contributing_members,
    forecast_pledges,
    fund_forecast,
    load_fund_history,
)
from models.paths import ForecastPledges, PolicyPath, resolve_path

DATA = Path(__file__).parent / "data" / "forecast"
YEARS = list(range(2026, 2033))


@pytest.fixture(scope="module")
def history() -> FundHistory:
    full = load_fund_history()
    keep = ["DEU", "POL", "ESP", "ITA", "UKR"]
    # The calibration pool keeps six allies besides the members: enough errors, fast fits.
    pool = ("BEL", "CAN", "FRA", "GBR", "NLD", "NOR")
    sel = [*keep, *pool]
    return FundHistory(
        gdp=full.gdp[full.gdp["unique_id"].isin(sel)],
        share=full.share[full.share["unique_id"].isin(sel)],
        pool=pool,
    )


@pytest.fixture(scope="module")
def pledges() -> pd.DataFrame:
    return pd.DataFrame({"member": ["DEU", "POL", "ESP"], "year": 2026, "pledge": [20e9, 7e9, 4e9]})


@pytest.fixture(scope="module")
def trend(pledges, history):
    return fund_forecast(pledges, "trend", YEARS, n_samples=600, seed=1, history=history)


def test_first_year_contributions_equal_the_pledges_in_every_path(trend):
    expected = {"DEU": 20e9, "POL": 7e9, "ESP": 4e9}
    for i, m in enumerate(trend.members):
        np.testing.assert_allclose(trend.samples[:, i, 0], expected[m])


def test_total_is_the_sum_of_member_paths_not_of_quantiles(trend):
    tot = trend.total((95,)).set_index("year")
    mem = trend.by_member((95,))
    np.testing.assert_allclose(tot["mean"], mem.groupby("year")["mean"].sum())
    summed_quantiles = mem.groupby("year")["hi-95"].sum() - mem.groupby("year")["lo-95"].sum()
    width = tot["hi-95"] - tot["lo-95"]
    # Members are not perfectly correlated: the total's band is narrower than added bands.
    assert (width.iloc[1:] < summed_quantiles.iloc[1:]).all()
    assert (width.iloc[1:] > 0).all()


def test_uncertainty_grows_with_the_horizon(trend):
    tot = trend.total((80,))
    width = (tot["hi-80"] - tot["lo-80"]).to_numpy()
    assert width[-1] > width[1] > 0


def test_same_seed_same_paths_other_seed_other_paths(pledges, history, trend):
    again = fund_forecast(pledges, "trend", YEARS, n_samples=600, seed=1, history=history)
    other = fund_forecast(pledges, "trend", YEARS, n_samples=600, seed=2, history=history)
    np.testing.assert_array_equal(trend.samples, again.samples)
    assert not np.allclose(trend.samples, other.samples)


def test_fits_side_by_side_in_a_child_give_the_same_paths(pledges, history, trend, monkeypatch):
    monkeypatch.setattr(fund_grids, "_GRID_CACHE", {})
    forked = fund_forecast(
        pledges, "trend", YEARS, n_samples=600, seed=1, history=history, n_jobs=2
    )
    np.testing.assert_array_equal(trend.samples, forked.samples)


def test_contributing_members_are_the_members_given_a_rate(pledges, history, trend):
    assert contributing_members(pledges, "trend", YEARS, history=history) == list(trend.rates)
    joining = PolicyPath(join={"ITA": 2028})
    assert contributing_members(pledges, joining, YEARS, history=history)[-1] == "ITA"


def _fails(message: str) -> None:
    raise ForecastInputError(message)


def test_work_beside_returns_its_result_and_raises_its_error():
    with beside(sum, [1, 2, 3]) as result:
        assert result() == 6
    with (
        beside(_fails, "no data for XYZ") as result,
        pytest.raises(ForecastInputError, match="XYZ"),
    ):
        result()


def test_work_beside_runs_in_the_caller_where_fork_is_unsafe(monkeypatch):
    monkeypatch.setattr(forked, "CAN_FORK", False)
    with beside(os.getpid) as result:
        assert result() == os.getpid()


def test_hague_path_raises_low_spenders_more_than_the_trend(pledges, history, trend):
    hague = fund_forecast(pledges, "hague-2035", YEARS, n_samples=600, seed=1, history=history)
    esp = hague.members.index("ESP")
    # Spain spent about 1.3% of GDP in 2024: the straight line to 3.5% in 2035 more than doubles
    # its share, so its contribution outgrows Poland's, which already spends over 3.5%.
    growth = hague.samples.mean(axis=0)[:, -1] / hague.samples.mean(axis=0)[:, 0]
    assert growth[esp] > 1.5
    assert growth[esp] > growth[hague.members.index("POL")]
    assert hague.total().iloc[-1]["mean"] > trend.total().iloc[-1]["mean"]


def test_leave_and_rate_change_are_applied(pledges, history):
    path = PolicyPath(
        base="trend", leave={"POL": 2029}, rate_change={"DEU": {"factor": 2.0, "from_year": 2030}}
    )
    base = fund_forecast(pledges, "trend", YEARS, n_samples=300, seed=4, history=history)
    fc = fund_forecast(pledges, path, YEARS, n_samples=300, seed=4, history=history)
    yrs = np.asarray(YEARS)
    pol, deu = fc.members.index("POL"), fc.members.index("DEU")
    assert np.all(fc.samples[:, pol, yrs >= 2029] == 0)
    np.testing.assert_array_equal(fc.samples[:, pol, yrs < 2029], base.samples[:, pol, yrs < 2029])
    np.testing.assert_allclose(
        fc.samples[:, deu, yrs >= 2030], 2 * base.samples[:, deu, yrs >= 2030]
    )
    np.testing.assert_array_equal(fc.samples[:, deu, yrs < 2030], base.samples[:, deu, yrs < 2030])


def test_a_joining_member_contributes_from_its_join_year(pledges, history):
    fc = fund_forecast(
        pledges, PolicyPath(join={"UKR": 2028}), YEARS, n_samples=300, seed=4, history=history
    )
    yrs = np.asarray(YEARS)
    ukr = fc.members.index("UKR")
    assert np.all(fc.samples[:, ukr, yrs < 2028] == 0)
    assert np.all(fc.samples[:, ukr, yrs >= 2028] > 0)


def test_a_joiner_listed_with_a_zero_pledge_joins_as_one_not_listed(pledges, history):
    joining = PolicyPath(join={"UKR": 2028})
    listed = pd.concat(
        [pledges, pd.DataFrame({"member": ["UKR"], "year": [2026], "pledge": [0.0]})]
    )
    absent = fund_forecast(pledges, joining, YEARS, n_samples=300, seed=4, history=history)
    zero = fund_forecast(listed, joining, YEARS, n_samples=300, seed=4, history=history)
    ukr = zero.members.index("UKR")
    assert np.all(zero.samples[:, ukr, np.asarray(YEARS) >= 2028] > 0)
    np.testing.assert_array_equal(zero.samples, absent.samples)


def test_a_path_joining_a_member_that_already_pledges_is_refused(pledges, history):
    with pytest.raises(ForecastInputError, match=r"'DEU' joins .* in 2028 but already pledges"):
        fund_forecast(
            pledges, PolicyPath(join={"DEU": 2028}), YEARS, n_samples=100, history=history
        )


def test_a_fund_where_no_one_pledges_and_no_one_joins_is_refused(pledges, history):
    nothing = pledges.assign(pledge=0.0)
    with pytest.raises(ForecastInputError, match=r"no member pledges more than 0 .* 2026"):
        fund_forecast(nothing, "trend", YEARS, n_samples=100, history=history)


def test_a_forecast_far_past_the_data_says_its_bands_were_not_backtested_there(pledges, history):
    far = list(range(2026, 2048))
    with pytest.warns(UserWarning, match=r"reaches 2047, 22 years past the data's last year"):
        fund_forecast(pledges, "trend", far, n_samples=100, history=history)


def test_sample_paths_frame_has_one_row_per_sample_member_year(trend):
    paths = trend.sample_paths()
    assert list(paths.columns) == ["sample", "member", "year", "contribution"]
    assert len(paths) == 600 * 3 * len(YEARS)


def test_forecast_pledges_add_up_to_the_totals_quantile(pledges, history):
    p10 = forecast_pledges(pledges, "hague-2035", 0.1, seed=0, years=YEARS, history=history)
    p50 = forecast_pledges(pledges, "hague-2035", 0.5, seed=0, years=YEARS, history=history)
    assert list(p10.columns) == ["member", "year", "pledge"]
    fc = fund_forecast(pledges, "hague-2035", YEARS, seed=0, history=history)
    q10 = np.quantile(fc.samples.sum(axis=1), 0.1, axis=0)
    np.testing.assert_allclose(p10.groupby("year")["pledge"].sum().to_numpy(), q10, rtol=1e-9)
    later = p10["year"] > 2026
    assert (p10.loc[later, "pledge"].to_numpy() < p50.loc[later, "pledge"].to_numpy()).all()


def test_a_pledging_member_without_data_is_refused(history):
    frame = pd.DataFrame({"member": ["DEU", "ISL"], "year": 2026, "pledge": [1e9, 1e8]})
    with pytest.raises(ForecastInputError, match="member 'ISL': no GDP history"):
        fund_forecast(frame, "trend", YEARS, n_samples=100, history=history)


@pytest.fixture(scope="module")
def with_iceland(history) -> FundHistory:
    """The test history plus Iceland's GDP: Iceland has no armed forces, so no defence share."""
    full = load_fund_history()
    assert "ISL" not in set(full.share["unique_id"])
    gdp = pd.concat([history.gdp, full.gdp[full.gdp["unique_id"] == "ISL"]])
    return FundHistory(gdp=gdp, share=history.share, pool=history.pool)


def test_a_member_without_a_defence_share_contributes_a_fixed_rate_of_its_gdp(with_iceland):
    frame = pd.DataFrame({"member": ["DEU", "ISL"], "year": 2026, "pledge": [1e9, 1e8]})
    runs = {
        name: fund_forecast(frame, name, YEARS, n_samples=300, seed=3, history=with_iceland)
        for name in ("trend", "hague-2035")
    }
    isl, deu = (runs["trend"].members.index(m) for m in ("ISL", "DEU"))
    np.testing.assert_allclose(runs["trend"].samples[:, isl, 0], 1e8)
    assert runs["trend"].samples[:, isl, 1:].std() > 0  # it moves with its GDP
    # The paths set defence shares; Iceland's contribution follows its GDP alone, the same
    # simulated GDP under either path.
    np.testing.assert_allclose(runs["trend"].samples[:, isl], runs["hague-2035"].samples[:, isl])
    assert not np.allclose(runs["trend"].samples[:, deu], runs["hague-2035"].samples[:, deu])


def test_a_joiner_without_a_defence_share_is_refused(pledges, with_iceland):
    with pytest.raises(ForecastInputError, match=r"'ISL' joins .* no defence-share history"):
        fund_forecast(
            pledges, PolicyPath(join={"ISL": 2028}), YEARS, n_samples=100, history=with_iceland
        )


def test_unknown_path_is_refused(pledges, history):
    with pytest.raises(ForecastInputError, match="unknown policy path 'moon'"):
        fund_forecast(pledges, "moon", YEARS, history=history)


def test_paths_extend_and_override():
    own = {"uk-out": {"extends": "hague-2035", "leave": {"GBR": 2028}}}
    p = resolve_path("uk-out", own)
    assert p.base == "gdp_share"
    assert p.core_pct_gdp == 3.5
    assert p.target_year == 2035
    assert p.leave == {"GBR": 2028}
    assert resolve_path("hague-2035", {"hague-2035": {"base": "trend"}}).base == "trend"
    with pytest.raises(ValueError, match="cycle"):
        resolve_path("a", {"a": {"extends": "b"}, "b": {"extends": "a"}})


def test_path_and_pledge_settings_are_validated():
    with pytest.raises(ValidationError):
        PolicyPath(base="gdp_share")  # no target
    with pytest.raises(ValidationError):
        PolicyPath(colour="red")
    with pytest.raises(ValidationError):
        PolicyPath(leave={"germany": 2030})
    with pytest.raises(ValidationError):
        ForecastPledges(path="trend", quantile=1.0)
    assert ForecastPledges(path="trend", quantile=0.1).seed == 0


def test_resolve_forecast_pledges_returns_a_new_scenario(monkeypatch, history):
    import models.fund as fund_module
    from engine import forecast_settings, load_scenario
    from engine.scenario.from_forecast import resolve_forecast_pledges

    monkeypatch.setattr(fund_module, "load_fund_history", lambda: history)
    scenario = load_scenario(DATA / "mini_scenario.yaml")
    paths, ff = forecast_settings(scenario)
    assert ff is not None
    assert ff.quantile == 0.1
    assert "hague-pol-leaves" in paths
    before = {m.id: dict(m.pledges) for m in scenario.members}
    out = resolve_forecast_pledges(scenario)
    after = {m.id: dict(m.pledges) for m in out.members}
    assert {m.id: dict(m.pledges) for m in scenario.members} == before
    assert after["DEU"][2026] == pytest.approx(before["DEU"][2026], rel=0.05)
    assert sorted(after["POL"]) == [2026, 2027, 2028]
    assert after != before


def test_a_partners_report_history_is_on_its_contribution_scale():
    # Japan is not in NATO's records: its history is GDP times its defence share, times its
    # rate (it was GDP alone times a rate of defence spending: about 70 times too large).
    from reports.forecast_inputs import _history

    frame = pd.DataFrame({"member": ["DEU", "JPN"], "year": 2026, "pledge": [20e9, 5e9]})
    fc = fund_forecast(frame, "trend", [2026], n_samples=200)
    history = _history(fc.rates, load_fund_history())
    last = history[history["ds"] == history["ds"].max()].set_index("unique_id")["y"]
    assert 0.5 < last["JPN"] / 5e9 < 1.5
    assert 0.5 < last["DEU"] / 20e9 < 1.5
