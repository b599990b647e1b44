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
from tests.conftest import SCENARIOS
from tests.docs_cases import CASES
from tests.docs_oracle import (
    Optimum,
    joined,
    pledges,
    read_file,
    solve_data,
    solve_file,
    standalone_data,
)
from tests.docs_project_cases import PROJECT_CASES, PROJECTS_BY_HAND
from tests.docs_random import random_project_data, random_scenario_data

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
        # A MIP is proven optimal within the relative gap of docs/projects.md (1e-4).
        mip = any(read_file(path).get(section) for section in MIP_SECTIONS)
        rel = 1e-4 if mip else 1e-7
        assert theirs.objective == pytest.approx(ours.objective, rel=rel, abs=1e-7), path.name
    return ours


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MIP_SHIPPED = [
    path
    for path in sorted(SCENARIOS.glob("*.yaml"))
    if any(read_file(path).get(section) for section in MIP_SECTIONS)
]


@pytest.mark.parametrize("path", MIP_SHIPPED, ids=lambda p: p.name)
def test_shipped_project_scenarios_reach_the_documented_optimum(path: Path) -> None:
    assert assert_agree(path).feasible


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


def test_the_printed_schema_takes_short_priorities_and_enforces_bounds_inside_maps() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(cli("optimise.py", "schema").stdout))

    def problems(priorities: object) -> list[str]:
        data = {
            "fund": {"name": "T", "years": [2026]},
            "members": [{"id": "AAA", "pledge": "10bn", "priorities": priorities}],
            "areas": [{"id": "cyber"}, {"id": "space"}],
        }
        return [error.message for error in validator.iter_errors(data)]

    assert not problems({"cyber": 3, "space": 1})  # short for {weights: {...}}
    assert not problems([["cyber", "space", 3]])  # short for {pairwise: [...]}
    assert not problems({"swing": {"cyber": 100, "space": 40}})
    assert problems({"swing": {"cyber": 100, "space": 150}})  # a swing is at most 100
    assert problems({"weights": {"cyber": -1, "space": 1}})


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


def test_the_cli_writes_the_documented_optimum_to_summary_json(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "policies", CASES["policies_with_and_without_members_per_year_and_horizon"][0]
    )
    ran = cli("optimise.py", "solve", str(path), "--out", str(tmp_path / "out"))
    assert ran.returncode == 0, ran.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective"] == pytest.approx(solve_file(path).objective, rel=1e-7)


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
    paths = [_random_file(tmp_path, seed) for seed in SEEDS]
    answers = [assert_agree(path) for path in paths]
    no_plan = [path for path, answer in zip(paths, answers, strict=True) if not answer.feasible]
    assert 3 <= len(no_plan) <= len(answers) - 20, "the seeds should mix plans and no plans"
    for path in no_plan[:3]:  # the CLI says so with exit 1 (docs: "Exit codes")
        assert (
            cli("optimise.py", "solve", str(path), "--out", str(tmp_path / "out")).returncode == 1
        )


#: Seeds of the random files with go/no-go projects (pooled and joint).
PROJECT_SEEDS = range(100, 120)


def test_random_project_files_reach_the_documented_optimum(tmp_path: Path) -> None:
    answers = []
    for seed in PROJECT_SEEDS:
        path = tmp_path / f"projects_{seed}.yaml"
        path.write_text(yaml.safe_dump(random_project_data(seed), sort_keys=False), "utf-8")
        answers.append(assert_agree(path))
    assert sum(answer.feasible for answer in answers) >= len(answers) // 2


def test_a_row_naming_a_column_twice_is_refused_when_the_model_is_built() -> None:
    from engine.formulation.core import ModelBuilder
    from engine.formulation.rows import Row

    builder = ModelBuilder(engine.load_scenario(SCENARIOS / "nif.yaml"), scale=1e6)
    j = builder.add_column("y", 0.0, 1.0)
    builder.add_row(Row("twice", "coalition_amount"), [(j, 1.0), (j, -0.5)], 1, 0.0)
    with pytest.raises(ValueError, match="twice names a column twice"):
        builder.freeze()


def _standalone_pairs(path: Path) -> list[tuple[str, float, float]]:
    """(member, oracle's value alone, engine's) for every member with money and an area."""
    data, scenario = read_file(path), engine.load_scenario(path)
    years = [int(y) for y in data["fund"]["years"]]
    pairs = []
    for member in data["members"]:
        if max(pledges(member.get("pledge", 0), years, 1.0)) <= 0:
            continue
        if not joined(member, [a["id"] for a in data["areas"]]):
            continue
        ours = solve_data(standalone_data(data, member["id"]))
        theirs, _ = engine.standalone(scenario, member["id"], frames=False)
        assert ours.feasible, (path.name, member["id"])
        pairs.append((member["id"], ours.objective, theirs))
    return pairs


@pytest.mark.parametrize(
    "name",
    [
        "member_weights_stated_by_one_member",
        "swing_and_weights_priorities_equal_rule",
        "pairwise_priorities_hard_area_no_tie_break",
        "policies_with_and_without_members_per_year_and_horizon",
        "member_policies_as_shares_of_the_fund_total",
    ],
)
def test_value_alone_is_the_documented_one_member_optimum(name: str, tmp_path: Path) -> None:
    pairs = _standalone_pairs(_write(tmp_path, name, CASES[name][0]))
    assert pairs
    for member, ours, theirs in pairs:
        assert theirs == pytest.approx(ours, rel=1e-7, abs=1e-9), member


def test_value_alone_of_random_members_is_the_documented_one_member_optimum(
    tmp_path: Path,
) -> None:
    checked = 0
    for seed in range(10):
        path = _write(tmp_path, f"alone_{seed}", yaml.safe_dump(random_scenario_data(seed)))
        for member, ours, theirs in _standalone_pairs(path):
            assert theirs == pytest.approx(ours, rel=1e-7, abs=1e-9), (seed, member)
            checked += 1
    assert checked >= 10


def _participation_agrees(path: Path, margin: float) -> Optimum:
    """The plan keeping every member at (1 + margin) x its value alone: oracle and engine."""
    data, scenario = read_file(path), engine.load_scenario(path)
    alone = {
        m["id"]: engine.standalone(scenario, m["id"], frames=False)[0] or 0.0
        for m in data["members"]
    }
    ours = solve_data(data, {m: (1 + margin) * v for m, v in alone.items()})
    summary = engine.solve_with_participation(scenario, alone, margin=margin).summary
    assert (summary["status"] == "optimal") == ours.feasible, (path.name, margin, summary["status"])
    if ours.feasible:
        assert summary["objective"] == pytest.approx(ours.objective, rel=1e-7, abs=1e-9)
    return ours


def test_participation_rows_give_the_documented_price_of_stability(tmp_path: Path) -> None:
    text = CASES["swing_and_weights_priorities_equal_rule"][0]
    path = _write(tmp_path, "swing", text)
    free, kept = solve_file(path), _participation_agrees(path, 0.0)
    assert kept.objective == pytest.approx(32 + 2 / 3)
    assert free.objective - kept.objective == pytest.approx(32.8125 - (32 + 2 / 3))
    assert not _participation_agrees(path, 0.05).feasible


def test_participation_on_random_files_matches_the_documented_rows(tmp_path: Path) -> None:
    answers = [
        _participation_agrees(
            _write(tmp_path, f"keep_{seed}", yaml.safe_dump(random_scenario_data(seed))), margin
        )
        for seed in range(12)
        for margin in (0.0, 0.05)
    ]
    assert any(a.feasible for a in answers)
    assert not all(a.feasible for a in answers)


@pytest.mark.parametrize(
    "name",
    ["carry_over_true_bounded_curve_discounted", "projects_min_share_needs_exclusion_discounted"],
)
def test_area_and_project_values_add_up_to_the_objective(name: str, tmp_path: Path) -> None:
    text = CASES[name][0] if name in CASES else PROJECT_CASES[name]
    result = engine.solve(engine.load_scenario(_write(tmp_path, name, text)))
    projects = 0.0 if result.projects is None else float(result.projects["value"].sum())
    total = float(result.areas["value"].sum()) + projects
    assert total == pytest.approx(result.summary["objective"], rel=1e-9)
