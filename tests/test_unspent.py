"""Pledged money left unallocated is explained member by member in planner's words."""

from __future__ import annotations

from typing import Any

import pytest

from engine import describe_unspent, solve, unspent_reasons
from engine.scenario.validate import validate_scenario
from tests.cli_runs import cli


def _scenario(areas: list[dict[str, Any]], members: list[dict[str, Any]], **extra: Any):
    data = {
        "fund": {"name": "Idle money", "currency": "USD", "unit": "m", "years": [2026]},
        "members": members,
        "areas": areas,
        **extra,
    }
    return validate_scenario(data)


def _reasons(sc) -> dict[str, str]:
    frame = unspent_reasons(solve(sc), sc)
    return dict(zip(frame["member"], frame["reason"], strict=True))


def test_full_areas_name_the_limit_that_stops_them():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "ceiling": "60m"}, {"id": "space", "priority": 1,
          "ceiling": "40m"}],
        [{"id": "AAA", "pledge": "100m"}, {"id": "BBB", "pledge": "50m", "opt_out": ["cyber"]}],
    )  # fmt: skip
    reasons = _reasons(sc)
    assert reasons["AAA"] == (
        "cyber is at the cyber ceiling in 2026; space is at the space ceiling in 2026"
    )
    assert reasons["BBB"] == "it may fund only space: space is at the space ceiling in 2026"


def test_the_unspent_amounts_are_the_members_table():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "ceiling": "60m"}],
        [{"id": "AAA", "pledge": "100m"}, {"id": "BBB", "pledge": "50m"}],
    )
    result = solve(sc)
    frame = unspent_reasons(result, sc)
    assert frame["unspent"].sum() == pytest.approx(result.members["unspent"].sum())
    assert frame["unspent"].sum() == pytest.approx(90e6)


def test_a_coalition_too_large_for_its_members_can_never_form():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "ceiling": "30m"}, {"id": "space", "priority": 2}],
        [{"id": "AAA", "pledge": "100m", "opt_in": ["space"]}, {"id": "BBB", "pledge": "50m"}],
        area_coalitions=[{"area": "space", "min_members": 3, "min_contribution": "1m"}],
    )
    reasons = _reasons(sc)
    assert reasons["AAA"] == (
        "it may fund only space: space is not funded: its area coalition needs 3 members and "
        "only 2 may fund it, so it can never form"
    )


def test_a_value_curve_that_ends_and_a_members_cap_are_named():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "value_curve": [{"up_to": "20m", "marginal": 1},
          {"marginal": 0}]}, {"id": "space", "priority": 1}],
        [{"id": "AAA", "pledge": "100m", "caps": {"space": "30m"}}],
    )  # fmt: skip
    assert _reasons(sc)["AAA"] == "more for cyber adds no value; space is at AAA's cap"


def test_nothing_is_reported_when_every_pledge_is_allocated():
    sc = _scenario([{"id": "cyber", "priority": 1}], [{"id": "AAA", "pledge": "100m"}])
    assert unspent_reasons(solve(sc), sc).empty
    assert describe_unspent(solve(sc), sc) == []


def test_solve_prints_why_money_is_idle(tmp_path):
    path = tmp_path / "idle.yaml"
    path.write_text(
        "fund: {name: Idle, currency: USD, unit: m, years: [2026]}\n"
        "members: [{id: AAA, pledge: 100m}]\n"
        "areas: [{id: cyber, priority: 1, ceiling: 60m}]\n"
    )
    res = cli("optimise.py", "solve", str(path))
    assert res.returncode == 0, res.stderr
    assert "$40m of the pledged money is not allocated" in res.stdout
    assert "AAA 2026: $40m unspent; cyber is at the cyber ceiling in 2026" in res.stdout


def test_a_policy_maximum_over_all_areas_is_named():
    sc = _scenario(
        [{"id": "cyber", "priority": 1}, {"id": "space", "priority": 1}],
        [{"id": "AAA", "pledge": "100m"}],
        policies=[{"id": "tight", "label": "Spending limit", "at_most": "70m"}],
    )
    limit = "policy 'Spending limit' (maximum) in 2026"
    assert _reasons(sc)["AAA"] == f"cyber is at {limit}; space is at {limit}"


def test_a_binding_share_floor_of_another_area_caps_what_can_be_spent():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "floor": "30%", "ceiling": "30m"},
         {"id": "space", "priority": 1}],
        [{"id": "AAA", "pledge": "200m"}],
    )  # fmt: skip
    assert _reasons(sc)["AAA"] == (
        "cyber is at the cyber ceiling in 2026; "
        "the share floor of cyber (30% of the total) caps what can be spent on space"
    )


def test_a_binding_share_minimum_policy_caps_what_can_be_spent_outside_it():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "ceiling": "30m"}, {"id": "space", "priority": 1}],
        [{"id": "AAA", "pledge": "200m"}],
        policies=[{"id": "first", "label": "Cyber first", "areas": ["cyber"], "at_least": "30%"}],
    )
    assert _reasons(sc)["AAA"] == (
        "cyber is at the cyber ceiling in 2026; the share minimum of policy 'Cyber first' "
        "(30% of the total) caps what can be spent on space"
    )


def test_a_share_floor_met_with_room_to_spare_leaves_the_value_curve_as_the_reason():
    sc = _scenario(
        [{"id": "cyber", "priority": 1, "floor": "30%"},
         {"id": "space", "priority": 1, "value_curve": [{"up_to": "20m", "marginal": 1},
          {"marginal": 0}]}],
        [{"id": "AAA", "pledge": "100m", "caps": {"cyber": "30m"}}],
    )  # fmt: skip
    assert _reasons(sc)["AAA"] == "cyber is at AAA's cap; more for space adds no value"
