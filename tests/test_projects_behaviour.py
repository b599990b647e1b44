"""Behaviour of projects, staged grants and coalition rules: validation, explanations,
MIP status labelling, shadow prices of the LP part, and the CLI on shipped scenarios."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

import engine.solving.mip as project_solve
from engine.errors import ScenarioError
from engine.scenario.edits import apply_edits
from engine.scenario.fields import money_text
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions, SolveStatus, _cbc_bound
from engine.solving.pipeline import solve
from tests.cli_runs import Ran, cli

ROOT = Path(__file__).resolve().parents[1]
EXACT = SolverOptions(mip_gap=1e-9, project_margins=True)


def small() -> dict:
    """Three members, two areas, five projects with every kind of rule."""
    return {
        "fund": {"name": "t", "currency": "EUR", "unit": "m", "years": [2026, 2027, 2028]},
        "members": [
            {"id": "AAA", "pledge": "10m"},
            {"id": "BBB", "pledge": "6m"},
            {"id": "CCC", "pledge": "4m"},
        ],
        "areas": [
            {
                "id": "air",
                "value_curve": [{"up_to": "5m", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "cyber",
                "priority": 1.2,
                "value_curve": [{"up_to": "4m", "marginal": 1.0}, {"marginal": 0.1}],
            },
        ],
        "projects": [
            {"id": "radar", "area": "air", "cost": {2026: "3m", 2027: "3m"}, "value": 9},
            {"id": "c2", "area": "air", "cost": {2027: "2m"}, "value": 4, "needs": ["radar"]},
            {
                "id": "shield",
                "area": "air",
                "cost": {2026: "4m", 2027: "4m", 2028: "4m"},
                "value": 20,
                "coalition": {"min_members": 3, "min_stake": "10%"},
                "workshare": {"AAA": "50%", "BBB": "30%", "CCC": "20%"},
            },
            {"id": "soc", "area": "cyber", "cost": {2026: "2m"}, "value": 3, "min_share": "50%"},
            {"id": "soc_b", "area": "cyber", "cost": {2026: "2m"}, "value": 3.5},
        ],
        "exclusions": [{"id": "one_soc", "projects": ["soc", "soc_b"]}],
        "industrial_return": [{"id": "jr", "min_ratio": "90%", "tolerance": "10%"}],
        "burden_sharing": [
            {
                "id": "shield_gdp",
                "projects": ["shield"],
                "key": {"AAA": 5, "BBB": 3, "CCC": 2},
                "tolerance": "5%",
            }
        ],
    }


def funded(result) -> set[str]:
    p = result.projects
    return set(p.loc[p["funded"], "project"])


def test_unknown_references_in_project_sections_are_named_by_field():
    data = small()
    data["projects"][0]["area"] = "naval"
    data["projects"][1]["needs"] = ["radr"]
    data["exclusions"][0]["projects"] = ["soc", "nope"]
    data["burden_sharing"][0]["key"]["ZZZ"] = 1
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data)
    text = str(info.value)
    assert "projects[radar].area: unknown area 'naval'" in text
    assert "projects[c2].needs: unknown project 'radr'" in text
    assert "exclusions[one_soc].projects: unknown project 'nope'" in text
    assert "burden_sharing[shield_gdp].key: unknown member 'ZZZ'" in text


def test_cost_outside_horizon_and_stage_values_mismatch_are_rejected():
    data = small()
    data["projects"][0]["cost"] = {2031: "1m"}
    data["calls"] = [
        {
            "id": "call",
            "area": "air",
            "stages": [{"grant": "100k"}, {"grant": "300k"}],
            "applications": [{"id": "app1", "year": 2026, "value": [1.0]}],
        }
    ]
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data)
    assert "projects[radar].cost: 2031 outside the horizon" in str(info.value)
    assert "calls[call].applications[app1].value: 1 values for 2 stages" in str(info.value)


def test_a_project_with_an_unknown_field_is_refused():
    data = small()
    data["projects"][0]["valeu"] = 3
    with pytest.raises(ScenarioError, match=r"projects\[radar\]\.valeu: unknown field"):
        validate_scenario(data)


def test_coalition_project_goes_ahead_only_with_enough_members():
    sc = validate_scenario(small())
    assert "shield" in funded(solve(sc, EXACT))
    fewer = apply_edits(sc, ["members.CCC.pledge=0"])
    assert "shield" not in funded(solve(fewer, EXACT))


def test_needed_value_is_exactly_what_selects_a_project_just_below_the_line():
    sc = validate_scenario(small())
    result = solve(sc, EXACT)
    row = result.projects.set_index("project").loc["soc"]
    assert not row["funded"]
    assert row["margin_note"] == "exact"
    needed = row["needed_value"]
    assert needed == pytest.approx(0.5, abs=1e-6)
    above = apply_edits(sc, [f"projects.soc.value={3 + needed + 0.01}"])
    below = apply_edits(sc, [f"projects.soc.value={3 + needed - 0.01}"])
    assert "soc" in funded(solve(above, EXACT))
    assert "soc" not in funded(solve(below, EXACT))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_budget_shadow_price_of_a_mip_plan_matches_a_finite_difference(solver):
    options = replace(EXACT, solver=solver)
    sc = validate_scenario(small())
    base = solve(sc, options)
    price = base.constraints.set_index("name").loc["budget[BBB,2028]", "shadow_price"]
    assert price > 0
    step = 1e4
    edit = f"members.BBB.pledge={{2026: 6m, 2027: 6m, 2028: {money_text(6e6 + step, 'm')}}}"
    bumped = solve(apply_edits(sc, [edit]), options)
    assert funded(bumped) == funded(base)
    assert (bumped.objective - base.objective) / step == pytest.approx(price, rel=1e-6)


def test_area_coalition_keeps_an_area_closed_without_enough_members():
    data = small()
    data["area_coalitions"] = [{"area": "cyber", "min_members": 3, "min_contribution": "1m"}]
    data["members"][2]["opt_out"] = ["cyber"]
    result = solve(validate_scenario(data), EXACT)
    assert result.ok
    cyber = result.areas[result.areas["area"] == "cyber"]["amount"]
    assert cyber.abs().max() == 0.0


def test_area_coalition_with_a_hard_floor_is_infeasible_and_diagnosed():
    data = small()
    data["area_coalitions"] = [{"area": "cyber", "min_members": 3, "min_contribution": "1m"}]
    data["members"][2]["opt_out"] = ["cyber"]
    data["areas"][1]["floor"] = "1m"
    data["areas"][1]["hard"] = True
    result = solve(validate_scenario(data), EXACT)
    assert result.status is SolveStatus.INFEASIBLE
    assert not result.diagnosis.empty


@pytest.mark.parametrize(
    ("gap", "words"), [(0.034, "MIP gap 3.40%"), (None, "MIP gap unknown: no bound yet")]
)
def test_a_mip_stopped_early_is_labelled_feasible_with_its_gap(monkeypatch, gap, words):
    real = project_solve._run

    def stopped(model, options):
        solution = real(model, options)
        return replace(solution, status=SolveStatus.FEASIBLE, mip_gap=gap)

    monkeypatch.setattr(project_solve, "_run", stopped)
    result = solve(validate_scenario(small()), EXACT)
    assert result.ok
    assert result.status is SolveStatus.FEASIBLE
    assert result.summary["proven_optimal"] is False
    assert result.summary["mip_gap"] == gap
    assert words in result.summary["message"]
    assert result.projects["needed_value"].isna().all()


def test_cbc_bound_is_read_from_its_log():
    log = (
        "Result - Stopped on time limit\n\nObjective value:   113735.0\nUpper bound:  113827.255\n"
    )
    assert _cbc_bound(log) == pytest.approx(113827.255)
    assert _cbc_bound("Result - Optimal solution found\n") is None


def test_pooled_project_members_pay_pro_rata_and_joint_ones_by_commitment():
    result = solve(validate_scenario(small()), EXACT)
    pm = result.project_members
    assert set(pm.loc[pm["project"] == "shield", "basis"]) == {"commitment"}
    assert set(pm.loc[pm["project"] == "radar", "basis"]) == {"pro_rata"}
    paid = pm.groupby(["project", "year"])["amount"].sum()
    due = result.projects[result.projects["funded"]].set_index(["project", "year"])["amount"]
    pd.testing.assert_series_equal(
        paid.sort_index(), due.sort_index(), check_names=False, rtol=1e-6
    )


def _run(*args: str) -> Ran:
    # The real entry point, in the shared CLI process (tests/cli_runs.py).
    return cli("optimise.py", *args)


def test_cli_solves_the_shipped_diana_scenario_and_writes_project_files(tmp_path):
    out = tmp_path / "diana"
    proc = _run("solve", "diana", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["proven_optimal"] is True
    assert summary["projects_funded"] > 0
    projects = pd.read_csv(out / "projects.csv")
    members = pd.read_csv(out / "project_members.csv")
    assert {"project", "stage", "year", "funded", "amount", "needed_value"} <= set(projects)
    second = projects[(projects["stage"] == 2) & projects["funded"]]
    first = set(projects.loc[(projects["stage"] == 1) & projects["funded"], "project"])
    assert set(second["project"]) <= first
    assert members["amount"].sum() == pytest.approx(projects["amount"].sum(), rel=1e-6)


def test_cli_solves_the_default_scenario_with_its_coalition_projects():
    proc = _run("solve", "aspf-2026", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "optimal"
    assert summary["projects_considered"] == 6


def test_cli_reports_a_bad_project_reference_with_exit_2(tmp_path):
    path = tmp_path / "bad.yaml"
    data = small()
    data["projects"][1]["needs"] = ["radr"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = _run("solve", str(path))
    assert proc.returncode == 2
    assert "projects[c2].needs: unknown project 'radr'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_burden_key_naming_a_member_that_cannot_fund_the_project_is_rejected():
    data = small()
    data["members"][2]["opt_out"] = ["air"]
    with pytest.raises(ScenarioError, match=r"burden_sharing\[shield_gdp\]\.key: CCC may not fund"):
        validate_scenario(data)


def test_the_format_example_in_the_projects_module_validates_and_solves():
    import textwrap

    from engine.scenario import projects

    block = projects.__doc__.split("all optional)::\n\n")[1].split("\n\nValue points")[0]
    data = yaml.safe_load(textwrap.dedent(block))
    data["projects"] += [
        {"id": s, "area": "air", "cost": {2026: "1m"}, "value": 1} for s in ("soc_a", "soc_b")
    ]
    data["fund"] = {"name": "x", "currency": "EUR", "unit": "m", "years": [2026, 2027, 2028]}
    data["members"] = [{"id": m, "pledge": "20m"} for m in ("DEU", "FRA", "ITA")]
    data["areas"] = [{"id": a} for a in ("air", "sensing", "space")]
    result = solve(validate_scenario(data), EXACT)
    assert result.summary["proven_optimal"] is True
    assert result.summary["projects_considered"] == 7


def test_coalition_rules_that_can_never_be_met_are_rejected():
    data = small()
    data["projects"][2]["coalition"] = {"min_members": 3, "min_stake": "40%", "min_amount": "20m"}
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data)
    assert "projects[shield].coalition: 3 members with at least 40% each exceed 100%" in str(
        info.value
    )
    assert "projects[shield].coalition.min_amount: 20,000,000 is above" in str(info.value)


def test_cost_cut_is_what_selects_a_project_when_money_has_a_linear_value():
    data = {
        "fund": {"name": "t", "currency": "EUR", "unit": "m", "years": [2026, 2027]},
        "members": [{"id": "AAA", "pledge": "10m"}],
        "areas": [{"id": "a"}],
        "projects": [{"id": "lab", "area": "a", "cost": {2026: "3m", 2027: "3m"}, "value": 5}],
    }
    sc = validate_scenario(data)
    row = solve(sc, EXACT).projects.set_index("project").iloc[0]
    assert not row["funded"]
    assert row["needed_value"] == pytest.approx(1.0)
    assert row["cost_cut"] == pytest.approx(1e6, rel=1e-6)
    for factor, chosen in ((1.02, True), (0.98, False)):
        cost = (6e6 - factor * row["cost_cut"]) / 2
        cost = money_text(cost, "m")
        edited = apply_edits(sc, [f"projects.lab.cost={{2026: {cost}, 2027: {cost}}}"])
        assert bool(solve(edited, EXACT).projects["funded"].iat[0]) is chosen


def test_what_if_lists_projects_that_start_or_stop_being_funded():
    from engine.analysis.whatif import compare

    sc = validate_scenario(small())
    base = solve(sc, EXACT)
    new = solve(apply_edits(sc, ["projects.soc.value=4", "members.CCC.pledge=0"]), EXACT)
    changes = compare(base, new).projects.set_index("project")["status"].to_dict()
    assert changes == {
        "soc": "now funded",
        "shield": "no longer funded",
        "soc_b": "no longer funded",
    }
    assert compare(base, base).projects.empty


def test_cli_what_if_writes_project_changes(tmp_path):
    out = tmp_path / "wi"
    proc = _run(
        "whatif", "aspf-2026", "--set", "projects.integrated_air_defence.value=5", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    changes = pd.read_csv(out / "project_changes.csv")
    assert "integrated_air_defence" in set(changes["project"])
    assert "Project changes" in proc.stdout


def test_a_project_no_value_can_select_says_so_in_planners_terms():
    # Without CCC's money the shield's coalition of 3 members cannot form.
    sc = apply_edits(validate_scenario(small()), ["members.CCC.pledge=0"])
    row = solve(sc, EXACT).projects.set_index("project").loc["shield"].iloc[0]
    assert not row["funded"]
    assert row["needed_value"] == float("inf")
    assert row["margin_note"].startswith("cannot be selected at any value")
    assert "infeasible" not in row["margin_note"]
