"""Sensitivity's ranges hold when re-solved: an area's plan stays the same for priorities
just inside its reported range and changes just outside it (the range is exact); a
constraint's shadow price prices every move of its bound inside its reported range (the
range of the optimal basis: the price may hold further when the plan is degenerate)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.analysis.sensitivity import sensitivity
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve

M = 1e6  # the scenarios' unit


def prefixed() -> dict[str, Any]:
    """Area ``ai`` is a prefix of ``ai_safety`` (its columns were once found by name)."""
    return {
        "fund": {"name": "prefix", "currency": "USD", "unit": "m", "years": [2026]},
        "members": [{"id": "AAA", "pledge": "10m"}],
        "areas": [
            {
                "id": "ai",
                "priority": 1.0,
                "value_curve": [{"up_to": "4m", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "ai_safety",
                "priority": 1.0,
                "value_curve": [{"up_to": "3m", "marginal": 0.9}, {"marginal": 0.5}],
            },
            {
                "id": "cyber",
                "priority": 1.0,
                "value_curve": [{"up_to": "5m", "marginal": 0.8}, {"marginal": 0.1}],
            },
        ],
    }


def two_years() -> dict[str, Any]:
    """Two years, discounting, an absorption limit and an opt-out: an area's priority
    moves the costs of its columns in both years at once."""
    return {
        "fund": {"name": "years", "currency": "USD", "unit": "m", "years": [2026, 2027]},
        "objective": {"discount_rate": 0.05},
        "members": [
            {"id": "AAA", "pledge": {2026: "8m", 2027: "12m"}},
            {"id": "BBB", "pledge": "5m", "opt_out": ["ai_safety"]},
        ],
        "areas": [
            {
                "id": "ai",
                "priority": 1.2,
                "absorption": 0.5,
                "value_curve": [{"up_to": "4m", "marginal": 1.0}, {"marginal": 0.3}],
            },
            {
                "id": "ai_safety",
                "priority": 0.9,
                "value_curve": [{"up_to": "6m", "marginal": 1.0}, {"marginal": 0.35}],
            },
            {
                "id": "cyber",
                "priority": 1.0,
                "value_curve": [{"up_to": "5m", "marginal": 0.7}, {"marginal": 0.15}],
            },
        ],
    }


def rules(floor: str = "9m", at_most: str = "4.5m") -> dict[str, Any]:
    """One year with a floor, a ceiling, a policy and budgets."""
    return {
        "fund": {"name": "rules", "currency": "USD", "unit": "m", "years": [2026]},
        "members": [
            {"id": "AAA", "pledge": "10m"},
            {"id": "BBB", "pledge": "6m", "opt_out": ["cyber"]},
        ],
        "areas": [
            {
                "id": "cyber",
                "priority": 1.0,
                "floor": floor,
                "value_curve": [{"up_to": "4m", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "space",
                "priority": 1.0,
                "ceiling": "3m",
                "value_curve": [{"up_to": "5m", "marginal": 0.9}, {"marginal": 0.1}],
            },
            {
                "id": "ai",
                "priority": 1.0,
                "value_curve": [{"up_to": "3m", "marginal": 0.8}, {"marginal": 0.3}],
            },
            {
                "id": "ai_safety",
                "priority": 1.0,
                "value_curve": [{"up_to": "2m", "marginal": 0.85}, {"marginal": 0.25}],
            },
        ],
        "policies": [
            {"id": "ai_cap", "areas": ["ai", "ai_safety"], "at_most": at_most},
        ],
    }


def with_priority(data: dict[str, Any], area: str, priority: float) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for a in out["areas"]:
        if a["id"] == area:
            a["priority"] = priority
    return out


def funding(data: dict[str, Any]) -> pd.Series:
    result = solve(validate_scenario(data))
    assert result.ok
    return result.areas.set_index(["area", "year"])["amount"]


def same_plan(a: pd.Series, b: pd.Series) -> bool:
    return bool(np.allclose(a.to_numpy(), b.reindex(a.index).to_numpy(), rtol=0, atol=1e-6 * M))


@pytest.mark.parametrize("scenario", [prefixed, two_years, rules])
def test_an_areas_plan_holds_just_inside_its_priority_range_and_moves_just_outside(scenario):
    data = scenario()
    report = sensitivity(validate_scenario(data))
    base = funding(data)
    checked = 0
    for row in report.areas.itertuples():
        lo, hi, p = row.priority_from, row.priority_to, row.priority
        assert lo <= p <= hi, row.text
        step = 1e-3 * p
        for inside in (lo + step, min(hi, 100 * p) - step):
            assert same_plan(base, funding(with_priority(data, row.area, inside))), (
                f"{row.area} at priority {inside:.6g}, inside {lo:.6g}..{hi:.6g}"
            )
        outside = [x for x in (lo - step, hi + step) if 0 < x < np.inf]
        for x in outside:
            assert not same_plan(base, funding(with_priority(data, row.area, x))), (
                f"{row.area} at priority {x:.6g}, outside {lo:.6g}..{hi:.6g}"
            )
        checked += len(outside)
    assert checked >= len(report.areas)  # most ends are finite: the test bites


def test_a_prefix_area_id_does_not_take_the_other_areas_columns():
    report = sensitivity(validate_scenario(prefixed()))
    ai = report.areas.set_index("area").loc["ai"]
    # ai keeps its first 4m until its marginal falls under cyber's 0.8 (0.8), and takes
    # none of its second segment until 0.2 x priority beats cyber's 0.8 (4.0).
    assert ai["priority_from"] == pytest.approx(0.8)
    assert ai["priority_to"] == pytest.approx(4.0)


def _edit(data: dict[str, Any], key: pd.Series, amount: float) -> dict[str, Any]:
    """``data`` with the bound of the constraint whose keys are ``key`` set to ``amount``."""
    out = copy.deepcopy(data)
    if key["kind"] == "budget":
        for m in out["members"]:
            if m["id"] == key["member"]:
                m["pledge"] = amount
    elif key["kind"] in ("floor", "ceiling"):
        for a in out["areas"]:
            if a["id"] == key["area"]:
                a[key["kind"]] = amount
    else:
        side = {"policy_min": "at_least", "policy_max": "at_most"}[key["kind"]]
        for p in out["policies"]:
            if p["id"] == key["policy"]:
                p[side] = amount
    return out


def _objective(data: dict[str, Any]) -> float:
    result = solve(validate_scenario(data))
    assert result.ok
    return result.objective


@pytest.mark.parametrize(
    ("floor", "at_most", "kinds"),
    [("9m", "4.5m", {"floor", "ceiling", "budget"}), ("7m", "3.5m", {"policy_max", "ceiling"})],
)
def test_a_shadow_price_prices_every_move_of_its_bound_inside_its_range(floor, at_most, kinds):
    data = rules(floor, at_most)
    report = sensitivity(validate_scenario(data))
    keys = report.result.constraints.set_index("name")[["kind", "area", "member", "policy"]]
    base = report.result.objective
    ranged = report.constraints.dropna(subset=["valid_from", "valid_to"])
    assert kinds <= set(ranged["kind"])
    for row in ranged.itertuples():
        key = keys.loc[row.name]
        b, lo, hi, price = row.bound, row.valid_from, row.valid_to, row.shadow_price
        assert lo < b < hi or lo <= b <= hi
        for point in (
            lo + 0.01 * (b - lo),
            lo + 0.5 * (b - lo),
            b + 0.5 * (hi - b),
            hi - 0.01 * (hi - b),
        ):
            linear = base + price * (point - b)
            assert _objective(_edit(data, key, point)) == pytest.approx(
                linear, rel=1e-9, abs=1e-9
            ), f"{row.name} at {point / M:.6g}m, inside {lo / M:.6g}m..{hi / M:.6g}m"


@pytest.mark.slow
def test_the_default_scenarios_priority_ranges_hold_against_warm_re_solves(
    default_scenario_path,
):
    from engine.files.scenario_files import load_scenario
    from engine.scenario.edits import apply_edits
    from engine.solving.resolver import Resolver

    scenario = load_scenario(default_scenario_path)  # a MIP: projects share the value
    report = sensitivity(scenario)
    base = report.result.areas.set_index(["area", "year"])["amount"]
    resolver = Resolver()
    for row in report.areas.itertuples():
        lo, hi, p = row.priority_from, row.priority_to, row.priority
        step = 1e-3 * p
        ends = [(lo + step, True), (min(hi, 10 * p) - step, True)]
        ends += [(x, False) for x in (lo - step, hi + step) if 0 < x < np.inf]
        for x, unchanged in ends:
            result = resolver.solve(apply_edits(scenario, [f"areas.{row.area}.priority={x}"]))
            plan = result.areas.set_index(["area", "year"])["amount"]
            assert same_plan(base, plan) is unchanged, f"{row.area} at {x:.6g}: {lo:.6g}..{hi:.6g}"


def test_a_share_ceiling_gives_no_money_range_for_its_bound():
    data = {
        "fund": {"name": "F", "unit": "bn", "years": [2026]},
        "members": [{"id": "DEU", "pledge": "30bn"}],
        "areas": [{"id": "cyber", "priority": 2, "ceiling": "30%"}, {"id": "space"}],
    }
    report = sensitivity(validate_scenario(data))
    ceiling = report.constraints.set_index("name").loc["ceiling[cyber,2026]"]
    # The row's bound is 0 (the share is in its coefficients): a range of it in money,
    # such as -$9bn..$3bn, is no ceiling a planner could set.
    assert np.isnan([ceiling.bound, ceiling.valid_from, ceiling.valid_to]).all()
    assert "valid" not in ceiling.text
    assert ceiling.shadow_price > 0
