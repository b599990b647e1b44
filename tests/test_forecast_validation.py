"""The 2024-origin forecast of 2025 against NATO's 2025 estimates (validation data)."""

from __future__ import annotations

import pytest

from models.validation import band, load_nato_2025, nato_2025_check


def test_band_names_where_a_value_falls():
    assert band(5, 4, 6, 3, 7) == "inside 80%"
    assert band(6.5, 4, 6, 3, 7) == "80-95% (above)"
    assert band(3.5, 4, 6, 3, 7) == "80-95% (below)"
    assert band(8, 4, 6, 3, 7) == "outside 95% (above)"


def test_the_2025_estimates_are_read_as_shares_of_gdp():
    est = load_nato_2025()
    assert len(est) == 15
    assert "DEU" not in set(est["unique_id"])  # not published in that edition
    assert est["pct_gdp"].between(1, 6).all()


@pytest.fixture(scope="module")
def check():
    return nato_2025_check()


def test_every_ally_of_the_estimates_gets_a_nested_band(check):
    assert len(check) == 15
    cols = ["lo-95", "lo-80", "median", "hi-80", "hi-95"]
    assert (check[cols].diff(axis=1).iloc[:, 1:] > 0).all().all()
    assert (check["lo-95"] > 0).all()
    assert (check["error_pp"] == check["estimate"] - check["median"]).all()
