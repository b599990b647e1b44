"""The allocation report's content: what a planner reads must match the plan."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from engine.files.scenario_files import load_scenario
from engine.scenario.edits import apply_edits
from engine.solving.pipeline import solve
from reports.allocation import Inputs, allocation_report
from reports.excel import report_workbook
from reports.html import render_html
from tests.cli_runs import Ran, cli

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


@pytest.fixture(scope="module")
def aspf():
    return load_scenario(ASPF)


@pytest.fixture(scope="module")
def built(aspf):
    return allocation_report(Inputs(aspf, ASPF, command="test"))


def _table(report, table_id: str):
    return next(t for t in report.tables() if t.id == table_id)


def test_area_table_matches_the_plan(built, aspf):
    report, result = built
    frame = _table(report, "allocation-by-area").frame.set_index("area")
    expected = result.areas.groupby("area")["amount"].sum() / 1e9
    for area, amount in expected.items():
        assert frame.loc[area, "total"] == pytest.approx(amount)
    assert frame.loc["total", "total"] == pytest.approx(result.summary["total_allocated"] / 1e9)
    assert frame.loc["total", "share"] == pytest.approx(1.0)


def test_flows_table_adds_up_to_each_members_allocation(built):
    report, result = built
    flows = _table(report, "member-area-flows").frame.set_index("member")
    allocated = result.members.groupby("member")["allocated"].sum() / 1e9
    for member, total in flows.sum(axis=1).items():
        assert total == pytest.approx(allocated[member], abs=1e-9)


def test_members_table_lists_every_member_with_opt_outs(built, aspf):
    report, _ = built
    members = _table(report, "members").frame.set_index("member")
    assert set(members.index) == {m.id for m in aspf.members}
    assert members.loc["USA", "pledged"] == 0
    assert members.loc["FRA", "left out of"] == "innovation"


def test_binding_constraints_are_explained_in_plain_words(built):
    report, _ = built
    binding = _table(report, "binding-constraints").frame
    assert not binding.empty
    assert binding["meaning"].str.contains("value points").all()


def test_projects_show_each_decision(built, aspf):
    report, _ = built
    projects = _table(report, "projects").frame.set_index("project")
    assert set(projects.index) == {p.id for p in aspf.projects}
    assert set(projects["decision"]) <= {"funded", "not funded"} | {
        d for d in projects["decision"] if d.startswith("funded at")
    }


def test_provenance_names_version_time_and_a_stable_input_hash(aspf, built):
    report, _ = built
    facts = dict(report.provenance)
    assert facts["engine version"]
    assert facts["generated at (UTC)"].endswith("Z")
    again, _ = allocation_report(Inputs(aspf, ASPF, command="test"))
    assert dict(again.provenance)["inputs sha256"] == facts["inputs sha256"]
    edited = apply_edits(aspf, ["areas.cyber.floor=12bn"])
    other, _ = allocation_report(Inputs(edited, ASPF, ("areas.cyber.floor=12bn",)))
    assert dict(other.provenance)["inputs sha256"] != facts["inputs sha256"]


def test_sources_and_assumptions_are_stated(built):
    report, _ = built
    assert any("NATO" in s.name for s in report.sources)
    assert any("ILLUSTRATIVE" in a for a in report.assumptions)
    html = render_html(report)
    assert "Data sources and licences" in html
    assert "<script" not in html
    assert not re.search(
        r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?https?:|@import""", html
    )


def test_diff_shows_only_the_edits_consequences(aspf):
    edited = apply_edits(aspf, ["areas.cyber.floor=14bn"])
    report, result = allocation_report(Inputs(edited, ASPF, (), aspf, ASPF))
    diff = _table(report, "diff-areas").frame
    cyber = diff[diff["area"] == "cyber"]
    assert (cyber["after (USD bn)"] >= 14 - 1e-9).all()  # the workbook's numbers: in bn
    base = solve(aspf)
    assert result.objective <= base.objective + 1e-6
    assert any(t.id == "diff-binding" for t in report.tables())


def test_a_whatif_reports_title_names_its_edit(aspf):
    """Issue 14: the title read "aspf-2026.yaml, compared with aspf-2026.yaml" and the edit
    came only on page 12."""
    edited = apply_edits(aspf, ["areas.cyber.floor=14bn"])
    inputs = Inputs(edited, ASPF, ("areas.cyber.floor=14bn",), aspf, ASPF)
    report, _ = allocation_report(inputs)
    assert "areas.cyber.floor=14bn" in report.title
    assert report.subtitle.startswith(f"Scenario {ASPF.name} with areas.cyber.floor=14bn")


def test_project_value_points_say_they_are_weighted_and_discounted(built):
    section = next(s for s in built[0].sections if s.id == "projects")
    assert any("weighted by its area's priority and discounted" in p for p in section.paragraphs)


def test_excel_workbook_holds_every_table_and_the_allocation(built):
    report, result = built
    book = report_workbook(report)
    for table in report.tables():
        assert table.id in book.sheetnames
    rows = list(book["allocation"].iter_rows(values_only=True))
    assert len(rows) - 1 == len(result.allocation)


def _cli(*args: str) -> Ran:
    # The real entry point, in the shared CLI process (tests/cli_runs.py).
    return cli("optimise.py", *args)


def test_infeasible_scenario_gives_a_report_that_explains_and_exit_1(tmp_path):
    out = tmp_path / "report.html"
    done = _cli("report", "aspf-2026", "--set", "areas.cyber.floor=95bn", "--out", str(out))
    assert done.returncode == 1, done.stderr
    html = out.read_text(encoding="utf-8")
    assert "Why there is no plan" in html


def test_report_refuses_an_out_that_is_not_html(tmp_path):
    done = _cli("report", "aspf-2026", "--out", str(tmp_path / "report.pdf"))
    assert done.returncode == 2
    assert "must name an .html file" in done.stderr
    assert not (tmp_path / "report.pdf").exists()


def test_report_of_a_missing_scenario_exits_2_without_traceback(tmp_path):
    done = _cli("report", "no-such.yaml", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_tables_shown_in_html_are_formatted_and_right_aligned(built):
    report, _ = built
    html = render_html(report)
    table = _table(report, "allocation-by-area")
    assert "2026" in table.numeric
    assert isinstance(table.shown.loc[0, "share"], str)
    assert '<td class="num">' in html
    assert pd.api.types.is_float_dtype(table.frame["2026"])


def test_every_chart_names_a_sheet_of_the_workbook_that_holds_its_data(built):
    report, _ = built
    sheets = report_workbook(report).sheetnames
    for chart in report.charts():
        assert chart.data in sheets, chart.id


def test_every_sheet_holds_amounts_in_the_funds_unit_named_in_its_header(aspf):
    edited = apply_edits(aspf, ["areas.cyber.floor=14bn"])
    report, _ = allocation_report(Inputs(edited, ASPF, (), aspf, ASPF))
    book = report_workbook(report)
    for name in ("diff-areas", "diff-members", "project-members"):
        rows = list(book[name].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        money = [i for i, h in enumerate(header) if str(h).endswith("(USD bn)")]
        assert money, (name, header)
        assert all(abs(r[i]) < 1000 for r in body for i in money if r[i] is not None), name
    members = list(book["diff-members"].iter_rows(values_only=True))
    change = members[0].index("change (USD bn)")
    assert all(abs(r[change]) >= 5e-4 for r in members[1:]), "changes below display are none"
    prices = list(book["diff-shadow-prices"].iter_rows(values_only=True))
    assert prices[0][-1] == "change (points per USD bn)"
    assert all(abs(r[-1]) >= 5e-4 for r in prices[1:])
