"""One forecast per question: horizons agree on shared years, drivers add up, shocks share a
common factor and spending stays positive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import shares_of_change
from models import fund as fund_module
from models.fund import (
    FundHistory,
    forecast_pledges,
    fund_forecast,
    fund_sample_paths,
    load_fund_history,
)
from models.shocks import factor_corr, factor_loadings


@pytest.fixture(scope="module")
def history() -> FundHistory:
    full = load_fund_history()
    sel = ["DEU", "POL", "ESP", "ITA", "BEL", "CAN", "FRA", "GBR", "NLD", "NOR"]
    return FundHistory(
        gdp=full.gdp[full.gdp["unique_id"].isin(sel)],
        share=full.share[full.share["unique_id"].isin(sel)],
        pool=("BEL", "CAN", "FRA", "GBR", "NLD", "NOR"),
    )


@pytest.fixture(scope="module")
def pledges() -> pd.DataFrame:
    return pd.DataFrame(
        {"member": ["DEU", "POL", "ESP", "ITA"], "year": 2026, "pledge": [20e9, 7e9, 4e9, 6e9]}
    )


def fresh(pledges, history, years, path="trend", **kw):
    """A forecast computed from scratch: no memoised fit or simulation is reused."""
    fund_module.clear_caches()
    return fund_forecast(pledges, path, years, n_samples=500, seed=3, history=history, **kw)


@pytest.mark.parametrize("path", ["trend", "hague-2035"])
def test_a_years_forecast_does_not_depend_on_the_horizon_asked_for(pledges, history, path):
    short = fresh(pledges, history, range(2026, 2031), path).total((80, 95))
    long = fresh(pledges, history, range(2026, 2041), path).total((80, 95))
    shared = long[long["year"].isin(short["year"])].reset_index(drop=True)
    assert len(shared) == 5
    pd.testing.assert_frame_equal(short.round(2), shared.round(2))


def test_views_read_the_same_simulation(pledges, history):
    fc = fresh(pledges, history, range(2026, 2036))
    paths = fund_sample_paths(pledges, "trend", range(2026, 2031), n_samples=500, seed=3,
                              history=history)  # fmt: skip
    cube = paths.sort_values(["sample", "member", "year"])["contribution"].to_numpy()
    np.testing.assert_array_equal(cube.reshape(500, 4, 5), fc.samples[:, :, :5])
    pl = forecast_pledges(pledges, "trend", 0.5, 3, years=range(2026, 2031), n_samples=500,
                          history=history)  # fmt: skip
    tot = pl.groupby("year")["pledge"].sum().to_numpy()
    np.testing.assert_allclose(tot, fc.total().set_index("year")["median"].iloc[:5], rtol=1e-12)
    np.testing.assert_array_equal(fc.select(range(2026, 2031)).samples, fc.samples[:, :, :5])


@pytest.mark.parametrize("path", ["trend", "hague-2035"])
def test_members_changes_add_up_to_the_change_of_the_funds_median(pledges, history, path):
    fc = fresh(pledges, history, range(2026, 2036), path)
    drivers = fc.drivers(k=len(fc.members))
    tot = fc.total().set_index("year")["median"]
    assert drivers["change"].sum() == pytest.approx(tot.iloc[-1] - tot.iloc[0], rel=1e-9)
    assert drivers["share_of_change"].sum() == pytest.approx(1.0)
    split = fc.median_split()
    np.testing.assert_allclose(split.sum(axis=0), tot.to_numpy(), rtol=1e-12)


def test_shares_of_a_change_add_up_to_one_and_are_withheld_when_the_parts_nearly_cancel():
    np.testing.assert_allclose(shares_of_change(np.array([3.0, 1.0, -2.0])), [1.5, 0.5, -1.0])
    # +100 and -99.9: the net 0.1 is 0.05% of the gross change, shares would be +-1000x.
    assert np.isnan(shares_of_change(np.array([100.0, -99.9, 0.0]))).all()
    assert np.isnan(shares_of_change(np.zeros(3))).all()


def test_spending_and_contributions_have_no_negative_bound(pledges, history):
    fc = fresh(pledges, history, range(2026, 2041))
    assert (fc.samples > 0).all()
    assert (fc.by_member((95,))["lo-95"] > 0).all()


def test_factor_loadings_recover_a_common_shock():
    rng = np.random.default_rng(0)
    years, n, true = 200, 6, np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.0])
    f = rng.standard_normal(years)
    e = f[:, None] * true + rng.standard_normal((years, n)) * np.sqrt(1 - true**2)
    y = np.cumsum(e, axis=0)
    hist = pd.DataFrame(
        [(f"m{i}", t, y[t, i]) for t in range(years) for i in range(n)],
        columns=["unique_id", "ds", "y"],
    )
    lam = factor_loadings(hist, [f"m{i}" for i in range(n)])
    np.testing.assert_allclose(lam, true, atol=0.1)
    c = factor_corr(lam)
    assert np.all(np.linalg.eigvalsh(c) > 0)
    np.testing.assert_allclose(np.diag(c), 1.0)


def test_members_shocks_share_a_common_factor_that_is_not_shrunk(history):
    members = ["DEU", "ESP", "FRA", "ITA", "NLD", "BEL"]
    gdp = history.gdp.assign(y=np.log(history.gdp["y"])).query("ds >= 2000")
    lam = factor_loadings(gdp, members)
    # The euro's dollar rate moves all these GDPs together.
    assert (lam > 0.7).all()


def test_a_one_year_spike_is_cleaned_and_a_trend_is_kept():
    from models.fund_history import clean_spikes

    y = np.log([1.31, 1.25, 1.24, 1.22, 1.46, 3.15, 1.59, 1.51, 1.59, 1.95, 2.05])  # BGR, %
    frame = pd.DataFrame({"unique_id": "BGR", "ds": range(2014, 2025), "y": y})
    out = clean_spikes(frame)["y"].to_numpy()
    assert out[5] == pytest.approx((y[4] + y[6]) / 2)
    np.testing.assert_array_equal(np.delete(out, 5), np.delete(y, 5))
    steady = frame.assign(y=np.log(np.linspace(1.0, 2.0, 11)))
    pd.testing.assert_frame_equal(clean_spikes(steady), steady)
