"""The allocation report's coalition section (reports/members.py): a members table and a
chart, one line per pledging member, values matching the coalition layer."""

from __future__ import annotations

import pytest

from datasets import scenario_path
from engine import load_with_edits, members_table, solve
from reports.allocation import Inputs, allocation_report
from reports.members import members_section


@pytest.fixture(scope="module")
def purl():
    return load_with_edits(scenario_path("purl-2025"), [])


def test_the_allocation_report_has_the_members_section(purl):
    report, result = allocation_report(Inputs(purl, scenario_path("purl-2025")))
    assert result.ok
    section = next(s for s in report.sections if s.id == "coalition")
    (table,) = section.tables
    assert len(table.frame) == sum(1 for m in purl.members if m.pledges[2025] > 0)
    assert section.charts[0].svg.lstrip().startswith("<svg")
    assert "better off outside" in section.paragraphs[0]


def test_the_section_shows_the_coalition_layers_numbers(purl):
    result = solve(purl)
    frame = members_section(result).tables[0].frame.set_index("member")
    table = members_table(result).set_index("member")
    for m in frame.index:
        assert frame.at[m, "value in fund"] == pytest.approx(table.at[m, "value_in_fund"])
        assert frame.at[m, "value alone"] == pytest.approx(table.at[m, "standalone_value"])
