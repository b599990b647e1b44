"""HiGHS and CBC agree on what a planner types (issue 14): a workbook's cost profile edited
to plain numbers is read in the fund's unit and both solvers give the same plan; amounts
so small that HiGHS would drop them (a $2 cost in a fund counted in bn) are refused with
the rows they reach; results never show more allocated than pledged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine import ScenarioError, SolverOptions, edit_scenario, load_with_edits, solve
from engine.files.scenario_files import save_scenario

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"
COST = "{2026: 2, 2027: 4, 2028: 4, 2029: 3, 2030: 2}"

pytest.importorskip("pulp", reason="CBC comes with PuLP")


def _edited_workbook(tmp_path: Path) -> Path:
    save_scenario(load_with_edits(ASPF), tmp_path / "plan.xlsx")
    book = load_workbook(tmp_path / "plan.xlsx")
    sheet = book["projects"]
    header = [str(c.value) for c in sheet[1]]
    sheet.cell(row=2, column=next(i for i, h in enumerate(header) if h.startswith("cost")) + 1,
               value=COST)  # fmt: skip
    book.save(tmp_path / "plan.xlsx")
    return tmp_path / "plan.xlsx"


def test_a_workbook_cost_edited_to_plain_numbers_gives_one_plan_with_both_solvers(tmp_path):
    scenario = load_with_edits(_edited_workbook(tmp_path))
    assert scenario.projects[0].cost[2027] == 4e9
    highs = solve(scenario, SolverOptions(solver="highs"))
    cbc = solve(scenario, SolverOptions(solver="cbc"))
    assert highs.status.value == cbc.status.value == "optimal"
    assert highs.objective == pytest.approx(cbc.objective, rel=1e-6)
    assert highs.summary["total_allocated"] == cbc.summary["total_allocated"]


def test_amounts_the_solvers_would_see_differently_are_refused_with_their_rows():
    tiny = "{2026: 0.000000002bn, 2027: 0.000000004bn, 2028: 0.000000004bn}"
    scenario = edit_scenario(
        load_with_edits(ASPF), [f"projects.integrated_air_defence.cost={tiny}"]
    )
    for solver in ("highs", "cbc"):
        with pytest.raises(ScenarioError, match="out of scale for a fund counted in bn") as caught:
            solve(scenario, SolverOptions(solver=solver))
        assert re.search(r" in \w+\[[\w,]+\]", str(caught.value)), "names the rows"
        assert (
            "a plain number in yaml or json is an amount in the currency (usd)"
            in str(caught.value).lower()
        )


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_never_more_allocated_than_pledged_and_totals_rounded_to_the_tolerance(solver):
    scenario = load_with_edits(ASPF)
    result = solve(scenario, SolverOptions(solver=solver))
    pledged = sum(sum(m.pledges.values()) for m in scenario.members)
    assert result.summary["total_allocated"] == pledged == 489_995_000_000
    members = result.members
    over = (
        members["allocated"] - members["pledged"] - members["carried_in"] + members["carried_out"]
    )
    assert over.max() <= 1e-3
