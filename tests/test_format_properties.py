"""Property tests over the whole scenario format (issue 14): random files as a planner could
write them (members with an empty ``opt_in`` or without a pledge, per-year pledges with a
year missing, amounts in every form, unit-mixed amounts such as ``3815712806.73`` beside
``2.9408bn``, shares, value curves, policies, go/no-go projects) go through what
``optimise.py solve --out DIR`` does: read (plain numbers in the fund's unit), solve with
HiGHS and CBC, write the result files, print the summary, dump the JSON. Each either is
refused as bad input (ScenarioError, exit 2) or gives a result whose every step works:
never an internal error after the results are written (the NaN crash of issue 14), never
more allocated than pledged."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.common import console
from cli.show import print_result
from engine import ScenarioError, SolverOptions, scenario_from_data, solve
from engine.files.results import write_result

MEMBERS = ("AUT", "BEL", "DEU", "FRA", "ITA")
AREAS = ("cyber", "space", "ai", "energy")
FACTORS = {"k": 1e3, "m": 1e6, "bn": 1e9}
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def amounts(draw: st.DrawFn, unit: str, top: float = 30.0) -> Any:
    """An amount about ``0..top`` fund units, in one of the forms the format accepts."""
    value = draw(st.floats(0.001, top)) if draw(st.integers(0, 7)) else 0.0
    form = draw(st.sampled_from(["plain", "plain-int", "suffix", "other-suffix", "text", "big"]))
    if form == "plain":
        return round(value, 4)
    if form == "plain-int":
        return int(value) + (value > 0)
    if form == "suffix":
        return f"{value:.4f}{unit}"
    if form == "other-suffix":
        other = draw(st.sampled_from(sorted(FACTORS)))
        return f"{value * FACTORS[unit] / FACTORS[other]:.6g}{other}"
    if form == "text":
        return f"{value:.3f}"
    # A figure typed in currency units beside amounts with their unit (3815712806.73).
    return round(value * FACTORS[unit], 2)


@st.composite
def limits(draw: st.DrawFn, unit: str) -> Any:
    kind = draw(st.sampled_from(["none", "money", "share"]))
    if kind == "none":
        return None
    if kind == "share":
        return f"{draw(st.integers(0, 60))}%"
    return draw(amounts(unit, 15.0))


@st.composite
def pledges(draw: st.DrawFn, unit: str, years: list[int]) -> Any:
    kind = draw(st.sampled_from(["absent", "zero", "one", "by-year"]))
    if kind == "absent":
        return None
    if kind == "zero":
        return 0
    if kind == "one":
        return draw(amounts(unit))
    kept = [y for y in years if y == years[0] or draw(st.booleans())]  # years may be missing
    if draw(st.integers(0, 9)) == 0:
        kept = kept[1:] or kept  # now and then without the first year: refused, not a crash
    return {y: draw(amounts(unit)) for y in kept}


@st.composite
def members(draw: st.DrawFn, unit: str, years: list[int], areas: list[str]) -> list[dict]:
    ids = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=4, unique=True))
    out = []
    for ident in ids:
        item: dict[str, Any] = {"id": ident}
        pledge = draw(pledges(unit, years))
        if pledge is not None:
            item["pledge"] = pledge
        joins = draw(st.sampled_from(["all", "opt_in", "empty_opt_in", "opt_out"]))
        if joins == "opt_in":
            item["opt_in"] = draw(st.lists(st.sampled_from(areas), unique=True))
        elif joins == "empty_opt_in":
            item["opt_in"] = []
        elif joins == "opt_out":
            item["opt_out"] = draw(st.lists(st.sampled_from(areas), unique=True, max_size=2))
        if draw(st.booleans()):
            area = draw(st.sampled_from(areas))
            item["caps"] = {area: draw(amounts(unit, 10.0))}
        out.append(item)
    return out


@st.composite
def curves(draw: st.DrawFn, unit: str) -> list[dict] | None:
    if draw(st.booleans()):
        return None
    ends = sorted(draw(st.lists(st.integers(1, 40), min_size=1, max_size=3, unique=True)))
    marginals = sorted(
        draw(st.lists(st.floats(0, 2), min_size=len(ends), max_size=len(ends))), reverse=True
    )
    curve: list[dict] = [
        {"up_to": f"{e / 2:g}{unit}", "marginal": round(m, 3)}
        for e, m in zip(ends, marginals, strict=True)
    ]
    if draw(st.booleans()):
        curve.append({"marginal": round(marginals[-1] / 2, 3)})
    return curve


@st.composite
def areas(draw: st.DrawFn, unit: str) -> list[dict]:
    ids = draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=4, unique=True))
    out = []
    for ident in ids:
        item: dict[str, Any] = {"id": ident, "priority": draw(st.sampled_from([0, 0.5, 1, 2]))}
        for key in ("floor", "ceiling"):
            value = draw(limits(unit))
            if value is not None:
                item[key] = value
        if draw(st.booleans()):
            item["absorption"] = f"{draw(st.integers(5, 80))}%"
        curve = draw(curves(unit))
        if curve is not None:
            item["value_curve"] = curve
        item["hard"] = draw(st.integers(0, 4)) == 0
        out.append(item)
    return out


@st.composite
def projects(draw: st.DrawFn, unit: str, years: list[int], areas: list[str], who: list[str]):
    out = []
    for k in range(draw(st.integers(0, 2))):
        span = years[: draw(st.integers(1, len(years)))]
        item: dict[str, Any] = {
            "id": f"project_{k}",
            "area": draw(st.sampled_from(areas)),
            "cost": {y: draw(amounts(unit, 8.0)) for y in span},
            "value": draw(st.floats(0, 40)),
        }
        if draw(st.booleans()):
            item["members"] = draw(st.lists(st.sampled_from(who), min_size=1, unique=True))
            item["coalition"] = {"min_members": 1, "min_stake": f"{draw(st.integers(1, 50))}%"}
        if draw(st.booleans()):
            item["min_share"] = "50%"
        out.append(item)
    return out


@st.composite
def scenario_data(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario file's data: everything the schema allows, not only the friendly cases."""
    unit = draw(st.sampled_from(sorted(FACTORS)))
    years = sorted(draw(st.lists(st.integers(2026, 2031), min_size=1, max_size=3, unique=True)))
    fund = {
        "name": "Property fund",
        "currency": draw(st.sampled_from(["USD", "EUR", "GBP"])),
        "unit": unit,
        "years": years,
        "carry_over": draw(st.booleans()),
    }
    area_list = draw(areas(unit))
    area_ids = [a["id"] for a in area_list]
    member_list = draw(members(unit, years, area_ids))
    data: dict[str, Any] = {"fund": fund, "members": member_list, "areas": area_list}
    if draw(st.booleans()):
        data["policies"] = [
            {
                "id": "group",
                "areas": draw(st.lists(st.sampled_from(area_ids), min_size=1, unique=True)),
                draw(st.sampled_from(["at_least", "at_most"])): draw(limits(unit)) or "10%",
                "per": draw(st.sampled_from(["year", "horizon"])),
            }
        ]
    project_list = draw(projects(unit, years, area_ids, [m["id"] for m in member_list]))
    if project_list:
        data["projects"] = project_list
    if draw(st.booleans()):
        data["objective"] = {"discount_rate": f"{draw(st.integers(0, 8))}%"}
    return data


def _through_the_cli_path(data: dict[str, Any], solver: str, out: Path) -> Any:
    """What ``solve --out DIR`` and ``solve --json`` do after reading the file."""
    try:
        scenario = scenario_from_data(data, "property.yaml")
        result = solve(scenario, SolverOptions(solver=solver, project_margins=True))
    except ScenarioError as error:  # bad input, or out of scale for the solvers: exit 2
        problems = error.problems
        return None if problems and all(isinstance(p, str) and p for p in problems) else problems
    write_result(result, out)
    json.dumps(result.summary, default=str)
    with console.capture():
        print_result(result)
    if result.ok:
        pledged = sum(sum(m.pledges.values()) for m in scenario.members)
        assert result.summary["total_allocated"] <= pledged
        assert math.isfinite(result.objective)
        assert (result.members["allocated"] <= result.members["pledged"] * (1 + 1e-9) + 1e-3 +
                result.members["carried_in"]).all()  # fmt: skip
    return None


@given(data=scenario_data())
@settings(SETTINGS, max_examples=60)
def test_every_scenario_file_is_solved_written_and_shown_with_highs(data, tmp_path) -> None:
    assert _through_the_cli_path(data, "highs", tmp_path / "out") is None


@given(data=scenario_data())
@settings(SETTINGS, max_examples=15)
def test_every_scenario_file_is_solved_written_and_shown_with_cbc(data, tmp_path) -> None:
    pytest.importorskip("pulp")
    assert _through_the_cli_path(data, "cbc", tmp_path / "out") is None


def test_a_member_without_pledge_beside_an_empty_opt_in_and_mixed_units_is_shown(tmp_path):
    """The case of issue 14 that ended in "cannot convert float NaN to integer"."""
    data = {
        "fund": {"name": "T", "unit": "bn", "years": [2026, 2027, 2028]},
        "members": [
            {"id": "DEU", "pledge": {2026: "3.81571280673bn", 2028: "2.9408bn"}},
            {"id": "FRA", "opt_in": []},
            {"id": "ITA", "pledge": 2, "opt_in": []},
        ],
        "areas": [{"id": "cyber", "floor": 0.5}, {"id": "space"}],
        "projects": [{"id": "lab", "area": "space", "cost": {2027: 1, 2028: 1}, "value": 3}],
    }
    for solver in ("highs", "cbc"):
        assert _through_the_cli_path(data, solver, tmp_path / solver) is None
