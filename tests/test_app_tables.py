"""Scenario <-> editable tables, uploads, field diffs and downloads (no browser)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from app import views
from app.changes import scenario_changes
from app.exports import download_files, excel_bytes, result_frames
from app.tables import money_cell, pledge_column, scenario_tables, tables_scenario
from app.uploads import MAX_UPLOAD_BYTES, read_upload, safe_name
from engine.analysis.whatif import compare
from engine.errors import ScenarioError
from engine.files.scenario_files import dump_scenario_yaml, load_scenario
from engine.results.describe import money
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario
from engine.solving.pipeline import solve


@pytest.fixture(scope="module")
def aspf(default_scenario_path: Path) -> Scenario:
    return load_scenario(default_scenario_path)


@pytest.fixture(scope="module")
def nif(repo_root: Path) -> Scenario:
    return load_scenario(repo_root / "datasets" / "scenarios" / "nif.yaml")


# ----------------------------------------------------------------------------- tables


@pytest.mark.parametrize("name", ["aspf", "nif", "tiny"])
def test_unedited_tables_give_back_the_same_scenario(name: str, request) -> None:
    scenario = request.getfixturevalue(name)
    again = tables_scenario(scenario, scenario_tables(scenario))
    assert scenario_changes(scenario, again).empty
    assert [a.value_curve for a in again.areas] == [a.value_curve for a in scenario.areas]


def test_random_scenarios_survive_the_table_round_trip(random_small: Scenario) -> None:
    again = tables_scenario(random_small, scenario_tables(random_small))
    assert scenario_changes(random_small, again).empty


def test_tables_show_money_in_the_fund_unit_and_shares_as_percent(aspf: Scenario) -> None:
    tables = scenario_tables(aspf)
    areas = tables.areas.set_index("id")
    assert areas.loc["cyber", "floor"] == "5"
    assert areas.loc["capability", "ceiling"] == "40%"
    assert areas.loc["cyber", "absorption"] == "30%"
    members = tables.members.set_index("id")
    assert members.loc["DEU", pledge_column(2026)] == pytest.approx(
        aspf.member("DEU").pledges[2026] / 1e9
    )
    assert members.loc["FRA", "opt_out"] == "innovation"


def test_an_edited_floor_cell_changes_only_that_floor(aspf: Scenario) -> None:
    tables = scenario_tables(aspf)
    tables.areas.loc[tables.areas["id"] == "cyber", "floor"] = "12"
    tables.areas.loc[tables.areas["id"] == "space", "floor"] = "5%"
    edited = tables_scenario(aspf, tables)
    assert edited.area("cyber").floor.amount == pytest.approx(12e9)
    assert edited.area("space").floor.share == pytest.approx(0.05)
    assert scenario_changes(aspf, edited)["path"].to_list() == [
        "areas.cyber.floor",
        "areas.space.floor",
    ]


def test_pledges_that_differ_by_year_are_kept_per_year(aspf: Scenario) -> None:
    tables = scenario_tables(aspf)
    tables.members.loc[tables.members["id"] == "DEU", pledge_column(2028)] = 25.0
    edited = tables_scenario(aspf, tables)
    pledges = edited.member("DEU").pledges
    assert pledges[2028] == pytest.approx(25e9)
    assert pledges[2027] == pytest.approx(aspf.member("DEU").pledges[2027])


def test_rows_can_be_added_and_deleted(aspf: Scenario) -> None:
    tables = scenario_tables(aspf)
    new_area = {"id": "drones", "name": "Drones", "priority": 1.0, "floor": "1bn", "hard": False}
    areas = pd.concat([tables.areas, pd.DataFrame([new_area])], ignore_index=True)
    members = tables.members[tables.members["id"] != "ISL"]
    edited = tables_scenario(aspf, type(tables)(members, areas, tables.policies))
    assert edited.area("drones").floor.amount == pytest.approx(1e9)
    assert "ISL" not in {m.id for m in edited.members}
    changes = scenario_changes(aspf, edited)
    assert set(changes["path"]) == {"areas.drones", "members.ISL"}


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "message"),
    [
        ("areas", "cyber", "floor", "lots", "areas[cyber].floor"),
        ("areas", "cyber", "absorption", "150%", "areas[cyber].absorption"),
        ("members", "DEU", "opt_out", "cyber, atlantis", "unknown area 'atlantis'"),
        ("members", "DEU", "caps", "cyber", "members[DEU].caps: expected area=amount"),
        ("members", "DEU", pledge_column(2027), None, "members[DEU].pledge: no amount for 2027"),
        ("policies", "emerging_tech", "per", "decade", "policies[emerging_tech].per"),
        ("members", "DEU", "id", "GERMANY", "members[GERMANY].id"),
    ],
)
def test_a_bad_cell_is_reported_with_its_field_path(
    aspf: Scenario, table: str, row: str, column: str, value: object, message: str
) -> None:
    tables = scenario_tables(aspf)
    frame = getattr(tables, table)
    frame[column] = frame[column].astype(object)
    frame.loc[frame["id"] == row, column] = value
    with pytest.raises(ScenarioError, match="edited tables") as caught:
        tables_scenario(aspf, tables)
    assert message in str(caught.value)


def test_money_cells_read_plain_numbers_in_the_fund_unit() -> None:
    assert money_cell("12", "bn") == "12bn"
    assert money_cell(0.5, "m") == "0.5m"
    assert money_cell("10%", "bn") == "10%"
    assert money_cell("300k", "bn") == "300k"
    assert money_cell("  ", "bn") is None
    assert money_cell(float("nan"), "bn") is None


# ---------------------------------------------------------------------------- uploads


def test_a_valid_upload_loads_and_leaves_nothing_behind(aspf: Scenario, tmp_path: Path) -> None:
    scenario = read_upload("mine.yaml", dump_scenario_yaml(aspf).encode(), tmp_path)
    assert scenario_changes(aspf, scenario).empty
    assert list((tmp_path / "uploads").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("broken.yaml", b"fund: [unclosed\n", "broken.yaml: line 2, column 1: not valid YAML"),
        ("bad.json", b'{"fund": ', "bad.json: line 1, column 10: not valid JSON"),
        ("junk.yaml", b"\xff\xfe\x00binary", "junk.yaml: is not UTF-8 text"),
        ("notes.txt", b"fund: x", "notes.txt: unsupported file type '.txt'"),
        ("list.yaml", b"- 1\n- 2\n", "expected a mapping with fund, members and areas"),
        ("nomembers.yaml", b"fund: {name: F, years: [2026]}\nareas: [{id: a}]\n", "members"),
    ],
)
def test_a_bad_upload_gives_the_same_clear_message_as_a_bad_file(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        read_upload(name, data, tmp_path)
    assert message in str(caught.value)
    assert str(tmp_path) not in str(caught.value)
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_an_oversized_upload_is_refused_before_it_is_written(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="the limit is 5,242,880 bytes"):
        read_upload("big.yaml", b"#" * (MAX_UPLOAD_BYTES + 1), tmp_path)
    assert not (tmp_path / "uploads").exists()


def test_an_upload_named_like_a_path_stays_inside_the_data_folder(
    aspf: Scenario, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    read_upload("../../escape.yaml", dump_scenario_yaml(aspf).encode(), data_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert safe_name("../../escape.yaml") == "escape.yaml"
    assert safe_name("C:\\Users\\x\\plan v2.yaml") == "plan_v2.yaml"
    assert safe_name("...") == "upload"


# --------------------------------------------------------------- changes, views, exports


def test_field_changes_use_set_paths_and_money_in_the_fund_unit(aspf: Scenario) -> None:
    edited = apply_edits(aspf, ["areas.cyber.floor=12bn", "members.DEU.pledge=20bn"])
    changes = scenario_changes(aspf, edited).set_index("path")
    assert changes.loc["areas.cyber.floor", "before"] == money(5e9, aspf)
    assert changes.loc["areas.cyber.floor", "after"] == money(12e9, aspf)
    assert {f"members.DEU.pledge.{t}" for t in aspf.fund.years} <= set(changes.index)


@pytest.fixture(scope="module")
def floor_raised(aspf: Scenario):
    base = solve(aspf)
    new = solve(apply_edits(aspf, ["areas.cyber.floor=12bn"]), reference=base.allocation)
    return base, new, compare(base, new)


def test_change_sentences_name_the_area_year_and_amounts(aspf: Scenario, floor_raised) -> None:
    comparison = floor_raised[2]
    cyber = views.area_changes(comparison, aspf).query("area == 'cyber'")
    assert (cyber["after"] >= 12 - 1e-6).all()
    lines = views.change_sentences(comparison, aspf)
    assert any(line.startswith("cyber in 2026: ") and money(12e9, aspf) in line for line in lines)
    assert "down" in views.value_sentence(comparison)


def test_binding_sentences_say_why_the_plan_moved(floor_raised) -> None:
    lines = views.binding_sentences(floor_raised[2])
    assert lines[0].startswith("became binding: the cyber floor in 2026")


def test_allocation_table_totals_match_the_result(floor_raised) -> None:
    _, new, _ = floor_raised
    table = views.allocation_by_area(new)
    assert table.loc["total", "total"] == pytest.approx(new.summary["total_allocated"] / 1e9)
    flows = views.flows(new)
    assert flows.to_numpy().sum() == pytest.approx(new.summary["total_allocated"] / 1e9)


def test_shadow_sentences_put_the_raised_floor_in_words(floor_raised) -> None:
    _, new, _ = floor_raised
    sentences = views.shadow_sentences(new)
    one = money(1e9, new.scenario)
    assert sentences[0].startswith(f"each extra {one} on the cyber floor in 2026 costs")
    assert not any("budget" in s for s in sentences)
    assert "members spend their whole pledge" in views.budget_sentence(new)


def test_an_infeasible_result_gives_a_diagnosis_table(aspf: Scenario) -> None:
    result = solve(apply_edits(aspf, ["areas.cyber.floor=500bn"]))
    table = views.diagnosis_table(result)
    assert not result.ok
    assert table["change"].str.contains("lower the cyber floor in 2026").any()


def test_downloads_hold_every_result_table(floor_raised) -> None:
    import openpyxl

    _, new, _ = floor_raised
    text = download_files(new)["allocation.csv"].decode()
    assert text.splitlines()[0] == "member,area,year,amount"
    book = openpyxl.load_workbook(io.BytesIO(excel_bytes(new)), read_only=True)
    assert book.sheetnames == ["summary", *result_frames(new)]
    assert book["allocation"].max_row == len(new.allocation) + 1
    header = next(book["allocation"].iter_rows(max_row=1, values_only=True))
    assert header == ("member", "area", "year", "amount (USD bn)")
    amounts = [r[3] for r in book["allocation"].iter_rows(min_row=2, values_only=True)]
    assert sum(amounts) == pytest.approx(new.allocation["amount"].sum() / 1e9)


def test_downloads_are_the_engines_result_files_byte_for_byte(floor_raised, tmp_path) -> None:
    from engine import write_result

    _, new, _ = floor_raised
    write_result(new, tmp_path / "out")
    written = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert download_files(new) == written


#: Columns of projects.csv that only ``solve`` computes (extra MIP re-solves within a
#: time budget, "just below the line"); the app's fast re-solves leave them empty.
MARGINS = ["needed_value", "cost_cut", "margin_note"]


def test_downloads_equal_the_files_of_solve_out_project_tables_included(
    aspf: Scenario, default_scenario_path: Path, repo_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "optimise.py", "solve", str(default_scenario_path), "--out", str(out)],
        cwd=repo_root,
        check=True,
        capture_output=True,
    )
    files = download_files(solve(aspf))
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(files) == sorted(written)
    assert {"projects.csv", "project_members.csv"} <= set(files)  # ASPF has projects
    for name, data in files.items():
        if name == "summary.json":  # the same figures, but not the same seconds
            ours, theirs = json.loads(data), json.loads(written[name])
            for key in ("solve_seconds", "build_seconds"):
                ours.pop(key), theirs.pop(key)
            assert ours == theirs
        elif name == "projects.csv":
            ours, theirs = (pd.read_csv(io.BytesIO(b)) for b in (data, written[name]))
            assert list(ours.columns) == list(theirs.columns)
            pd.testing.assert_frame_equal(ours.drop(columns=MARGINS), theirs.drop(columns=MARGINS))
        else:
            assert data == written[name], name


def test_plain_text_is_not_read_as_markdown() -> None:
    assert views.plain("capacity_building costs $2bn [x]") == (
        "capacity\\_building costs \\$2bn \\[x\\]"
    )


def test_project_table_lists_each_project_once_with_its_cost_in_the_fund_unit(
    aspf: Scenario,
) -> None:
    result = solve(aspf)
    table = views.projects_table(result)
    assert sorted(table["project"]) == sorted(p.id for p in aspf.projects)
    first = aspf.projects[0]
    row = table.set_index("project").loc[first.id]
    total_cost = sum(first.cost.values()) if isinstance(first.cost, dict) else first.cost
    assert row["cost"] == pytest.approx(total_cost / 1e9)
    assert row["funded"] == result.projects.set_index("project").loc[first.id, "funded"].any()


def test_project_changes_name_a_project_dropped_by_an_edit(aspf: Scenario) -> None:
    base = solve(aspf)
    funded = views.projects_table(base).query("funded")["project"]
    assert not funded.empty
    dropped = funded.iloc[0]
    edited = apply_edits(aspf, [f"projects.{dropped}.value=0"])
    changes = views.project_changes(compare(base, solve(edited)), edited)
    assert dropped in set(changes.loc[changes["status"] == "no longer funded", "project"])
