"""The engine's optimum against an independent formulation written from the docs alone.

:mod:`tests.docs_oracle` reads a scenario file with plain ``yaml``/``json`` and solves
the programme docs/scenario-format.md, docs/projects.md and docs/coalition.md define
with scipy; the engine must reach the same value (or agree that there is no plan) on the
shipped LP scenarios, on hand-written files that exercise every documented field and its
edge cases, and on seeded random files (YAML and JSON alike).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import engine
from tests.cli_runs import cli
from tests.docs_oracle import Optimum, read_file, solve_file
from tests.docs_random import random_scenario_data

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "datasets" / "scenarios"
#: The sections that make a scenario a mixed-integer programme (docs/projects.md).
MIP_SECTIONS = ("projects", "calls", "resources", "exclusions", "area_coalitions")


def engine_optimum(path: Path) -> Optimum:
    """The engine's answer for a scenario file, through the public API."""
    summary = engine.solve(engine.load_scenario(path)).summary
    if summary["status"] == "infeasible":
        return Optimum(False, None)
    assert summary["status"] == "optimal", summary
    return Optimum(True, float(summary["objective"]))


def assert_agree(path: Path) -> Optimum:
    """The oracle and the engine reach the same optimum (or both find no plan)."""
    ours, theirs = solve_file(path), engine_optimum(path)
    assert ours.feasible == theirs.feasible, (path.name, ours, theirs)
    if ours.feasible:
        assert theirs.objective == pytest.approx(ours.objective, rel=1e-7, abs=1e-7), path.name
    return ours


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


LP_SHIPPED = [
    path
    for path in sorted(SCENARIOS.glob("*.yaml"))
    if not any(read_file(path).get(section) for section in MIP_SECTIONS)
]


@pytest.mark.parametrize("path", LP_SHIPPED, ids=lambda p: p.name)
def test_shipped_lp_scenarios_reach_the_documented_optimum(path: Path) -> None:
    assert_agree(path)


def test_some_shipped_scenario_is_an_lp() -> None:
    assert LP_SHIPPED, "no shipped scenario without projects: the comparison checks nothing"


#: Hand-written files, one documented field or edge case each: name -> (YAML, value by hand).
CASES: dict[str, tuple[str, float | None]] = {
    "member_pledging_zero_and_per_year_pledge_with_gaps": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0}
- {id: CCC, pledge: {2026: 4bn, 2028: 1bn}, opt_out: [b]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 2}, {marginal: 0.5}]}
- {id: b, priority: 2, value_curve: [{up_to: 2bn, marginal: 1}, {up_to: 4bn, marginal: 0.5}]}
- {id: c, priority: 0.5}
""",
        45.0,
    ),
    "cap_floor_as_share_and_ceiling_as_share": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn, caps: {a: 2bn}}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: 25%, ceiling: 40%}
- {id: c, priority: 0, floor: 1bn}
""",
        None,
    ),
    "plain_number_floor_is_currency_not_a_share": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: 0.25}
""",
        30.0,
    ),
    "absorption_from_a_year_with_zero_funding": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: {2026: 0, 2027: 5bn}}
areas:
- {id: a, priority: 1, absorption: 20%}
- {id: b, priority: 0.5}
""",
        5.0,
    ),
    "absorption_written_as_a_fraction_with_floor": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: {2026: 1bn, 2027: 5bn}}
areas:
- {id: a, priority: 1, absorption: 0.2, floor: 0.5bn}
- {id: b, priority: 0.5}
""",
        None,
    ),
    "carry_over_true_bounded_curve_discounted": (
        """\
fund: {name: T, years: [2026, 2027, 2028], carry_over: true}
members:
- {id: AAA, pledge: {2026: 9bn, 2027: 0, 2028: 0}}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}]}
objective: {discount_rate: 5%}
""",
        3 + 3 / 1.05 + 3 / 1.05**2,
    ),
    "policies_with_and_without_members_per_year_and_horizon": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 6bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
- {id: c, priority: 2}
policies:
- {id: p1, areas: [b], at_least: 20%}
- {id: p2, areas: [b, c], members: [BBB], at_least: 3bn, per: horizon}
- {id: p3, areas: [a], at_most: 30%, per: horizon}
- {id: p4, members: [AAA], areas: [c], at_most: 1bn}
- {id: p5, at_most: 14bn}
objective: {discount_rate: 0.1}
""",
        None,
    ),
    "floor_above_every_pledge_is_infeasible": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 1bn}
areas:
- {id: a, floor: 2bn}
""",
        None,
    ),
    "member_weights_stated_by_one_member": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {weights: {a: 3, b: 1}}}
- {id: BBB, pledge: 5bn, opt_out: [a]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: b, priority: 2, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: c, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
""",
        None,
    ),
    "member_weights_rule_without_stated_priorities": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 5bn, opt_out: [a]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: b, priority: 2, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
objective: {member_weights: equal}
""",
        13.5,
    ),
    "silent_member_values_joined_areas_normalised": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {weights: {a: 1}}}
- {id: BBB, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 5}
- {id: c, priority: 1}
""",
        80.0,
    ),
    "swing_and_weights_priorities_equal_rule": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {swing: {a: 100, b: 60}}}
- {id: BBB, pledge: 4bn, priorities: {weights: {c: 2, b: 1}}}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
- {id: b, priority: 5, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
- {id: c, priority: 1, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
objective: {member_weights: equal}
""",
        None,
    ),
    "pledge_rule_with_opt_in": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, opt_in: [a]}
- {id: BBB, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 5}
objective: {member_weights: pledge}
""",
        None,
    ),
    "pledge_years_outside_the_horizon": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: {2025: 3bn, 2026: 1bn, 2030: 9bn}}
areas:
- {id: a}
""",
        2.0,
    ),
    "cap_on_an_area_not_joined": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 3bn, opt_out: [a], caps: {a: 1bn}}
areas:
- {id: a}
- {id: b}
""",
        3.0,
    ),
    "opt_in_empty_joins_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 3bn, opt_in: []}
- {id: BBB, pledge: 3bn}
areas:
- {id: a}
""",
        3.0,
    ),
    "horizon_with_gaps_steps_pledges_through_unlisted_years": (
        """\
fund: {name: T, years: [2026, 2028, 2031]}
members:
- {id: AAA, pledge: {2026: 2bn, 2027: 10bn, 2031: 10bn}}
areas:
- {id: a, absorption: 50%}
- {id: b, priority: 0.1}
objective: {discount_rate: 10%}
""",
        None,
    ),
    "member_policies_as_shares_of_the_fund_total": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 6bn, opt_out: [a]}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
policies:
- {id: p1, members: [BBB], at_most: 10%}
- {id: p2, members: [AAA], at_least: 50%, per: horizon}
""",
        None,
    ),
    "bounded_curve_floor_above_last_up_to": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 100bn}
areas:
- {id: a, floor: 10bn, value_curve: [{up_to: 3bn, marginal: 1}, {up_to: 5bn, marginal: 0}]}
- {id: b, ceiling: 50%, value_curve: [{up_to: 3bn, marginal: 1}]}
""",
        6.0,
    ),
    "unit_m_plain_currency_and_bn_suffix": (
        """\
fund: {name: T, years: [2026], unit: m, currency: EUR}
members:
- {id: AAA, pledge: 100000000}
- {id: BBB, pledge: 0.05bn}
areas:
- {id: a, value_curve: [{up_to: 20000000, marginal: 2}, {marginal: 1}]}
- {id: b, priority: 1.5, ceiling: 30m}
""",
        185.0,
    ),
    "policy_over_an_empty_area_list_is_a_group_of_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a}
policies:
- {id: p2, areas: [], at_least: 1bn}
""",
        None,
    ),
    "policy_over_an_empty_member_list_is_a_group_of_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a}
policies:
- {id: p2, members: [], at_least: 1bn}
""",
        None,
    ),
    "policy_naming_a_member_pledging_zero": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0}
areas:
- {id: a}
policies:
- {id: p, members: [BBB], at_least: 1bn}
""",
        None,
    ),
    "policy_with_both_bounds": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0, opt_in: [a]}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
policies:
- {id: p1, areas: [a], at_least: 10%, at_most: 30%}

""",
        32.0,
    ),
    "limit_in_the_schema_object_form_as_a_share": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: {share: 0.25}}
""",
        25.0,
    ),
    "limit_in_the_schema_object_form_as_currency": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: {amount: 4000000000}}
""",
        22.0,
    ),
    "amount_suffix_upper_case_and_spaced": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10BN}
areas:
- {id: a, priority: 3}
""",
        30.0,
    ),
}

#: Small go/no-go scenarios (docs/projects.md): pooled projects, min_share, needs, exclusions.
PROJECT_CASES = {
    "projects_min_share_needs_exclusion_discounted": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 5bn}
- {id: BBB, pledge: 3bn, opt_out: [b]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 2bn, marginal: 1}, {marginal: 0.1}]}
- {id: b, priority: 2, value_curve: [{up_to: 1bn, marginal: 1}, {marginal: 0.2}]}
projects:
- {id: p, area: a, cost: {2026: 3bn, 2027: 2bn}, value: 4}
- {id: q, area: b, cost: {2027: 4bn}, value: 3, min_share: 50%}
- {id: r, area: b, cost: {2026: 2bn}, value: 2.5, needs: [p]}
- {id: s, area: a, cost: {2026: 1bn, 2027: 1bn}, value: 1.9}
exclusions:
- {id: one, projects: [p, s]}
objective: {discount_rate: 5%}
""",
    "projects_in_area_floor_share_and_absorption": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 4bn}
areas:
- {id: a, priority: 1, floor: 30%, absorption: 50%}
- {id: b, priority: 0.5}
projects:
- {id: p, area: a, cost: {2026: 3bn}, value: 5}
- {id: q, area: b, cost: {2026: 1bn, 2027: 1bn}, value: 3, min_share: 0.3}
- {id: r, area: b, cost: {2027: 2bn}, value: 2, needs: [q]}
exclusions:
- {id: ex, projects: [p, q, r], at_most: 2}
""",
    "project_discounted_from_its_first_year_with_a_cost": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 1}
projects:
- {id: p, area: b, cost: {2026: 0, 2027: 3bn}, value: 10}
objective: {discount_rate: 100%}
""",
    "project_needing_a_partly_funded_project": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn}
areas:
- {id: a, priority: 0.1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 2, min_share: 25%}
- {id: q, area: a, cost: {2026: 1bn}, value: 5, needs: [p]}
""",
    "project_valued_by_members_priorities": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn, priorities: {weights: {a: 1, b: 3}}}
- {id: BBB, pledge: 5bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 20}
""",
    "exclusion_counts_a_partly_funded_project": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn}
areas:
- {id: a, priority: 0.1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 8, min_share: 10%}
- {id: q, area: a, cost: {2026: 4bn}, value: 8, min_share: 10%}
exclusions:
- {id: one, projects: [p, q]}
""",
}
#: The project cases' optima worked out by hand (docs/projects.md, "What the model does").
PROJECTS_BY_HAND = {
    "project_discounted_from_its_first_year_with_a_cost": 10 + 10 / 2 + 7 / 2,
    "project_needing_a_partly_funded_project": 0.1 * (0.25 * 2 + 3) + 5 * 0.1,
    "exclusion_counts_a_partly_funded_project": 0.1 * 8 + 0.1 * 1,
    "project_valued_by_members_priorities": 0.75 * 20 + 1.25 * 6,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written_scenario_reaches_the_documented_optimum(name: str, tmp_path: Path) -> None:
    text, by_hand = CASES[name]
    ours = assert_agree(_write(tmp_path, name, text))
    if by_hand is not None:
        assert ours.objective == pytest.approx(by_hand, rel=1e-9)


#: Cases whose rules no money can meet: both sides must find no plan.
NO_PLAN = (
    "floor_above_every_pledge_is_infeasible",
    "policy_over_an_empty_area_list_is_a_group_of_nothing",
    "policy_over_an_empty_member_list_is_a_group_of_nothing",
    "policy_naming_a_member_pledging_zero",
)


@pytest.mark.parametrize("name", NO_PLAN)
def test_rules_no_money_can_meet_leave_no_plan(name: str, tmp_path: Path) -> None:
    assert not assert_agree(_write(tmp_path, name, CASES[name][0])).feasible


def test_the_printed_schema_accepts_every_documented_way_of_writing_a_file() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    ran = cli("optimise.py", "schema")
    assert ran.returncode == 0
    validator = jsonschema.Draft202012Validator(json.loads(ran.stdout))
    files = {path.name: read_file(path) for path in SCENARIOS.glob("*.yaml")}
    files |= {name: yaml.safe_load(text) for name, (text, _) in CASES.items()}
    files |= {name: yaml.safe_load(text) for name, text in PROJECT_CASES.items()}
    for name, data in files.items():
        problems = [error.message for error in validator.iter_errors(json.loads(json.dumps(data)))]
        assert not problems, (name, problems[:3])


@pytest.mark.parametrize(
    "name", ["opt_in_empty_joins_nothing", "policy_over_an_empty_area_list_is_a_group_of_nothing"]
)
def test_an_empty_list_survives_the_apps_tables(name: str, tmp_path: Path) -> None:
    from app.tables import scenario_tables, tables_scenario

    scenario = engine.load_scenario(_write(tmp_path, name, CASES[name][0]))
    assert tables_scenario(scenario, scenario_tables(scenario)) == scenario


def test_carry_over_false_spends_each_year_its_own_pledge(tmp_path: Path) -> None:
    text = CASES["carry_over_true_bounded_curve_discounted"][0].replace(
        "carry_over: true", "carry_over: false"
    )
    assert assert_agree(_write(tmp_path, "no_carry", text)).objective == pytest.approx(3.0)


@pytest.mark.parametrize("name", sorted(PROJECT_CASES))
def test_project_scenario_reaches_the_documented_optimum(name: str, tmp_path: Path) -> None:
    ours = assert_agree(_write(tmp_path, name, PROJECT_CASES[name]))
    assert ours.feasible
    if name in PROJECTS_BY_HAND:
        assert ours.objective == pytest.approx(PROJECTS_BY_HAND[name], rel=1e-9)


def test_infeasible_file_exits_1_and_a_missing_first_pledge_exits_2(tmp_path: Path) -> None:
    infeasible = _write(tmp_path, "infeasible", CASES["floor_above_every_pledge_is_infeasible"][0])
    assert (
        cli("optimise.py", "solve", str(infeasible), "--out", str(tmp_path / "out")).returncode == 1
    )
    late = _write(
        tmp_path,
        "late",
        "fund: {name: T, years: [2026, 2027]}\n"
        "members:\n- {id: AAA, pledge: {2027: 3bn}}\nareas:\n- {id: a}\n",
    )
    ran = cli("optimise.py", "validate", str(late))
    assert ran.returncode == 2
    assert "members[AAA].pledge" in ran.stdout + ran.stderr


#: Seeds of the random files: even ones written as YAML, odd ones as JSON.
SEEDS = range(40)


def _random_file(folder: Path, seed: int) -> Path:
    data = random_scenario_data(seed)
    if seed % 2:
        path = folder / f"random_{seed}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path = folder / f"random_{seed}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_random_files_reach_the_documented_optimum_or_both_find_no_plan(tmp_path: Path) -> None:
    answers = [assert_agree(_random_file(tmp_path, seed)) for seed in SEEDS]
    infeasible = sum(not answer.feasible for answer in answers)
    assert 3 <= infeasible <= len(answers) - 20, "the seeds should mix plans and infeasible files"
