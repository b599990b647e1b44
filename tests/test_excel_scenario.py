"""Excel scenarios: the shipped workbook equals the YAML, round trips are exact, and a bad
cell is reported with its sheet and cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from engine.errors import OutputError, ScenarioError
from engine.files.excel import scenario_workbook, write_workbook_scenario
from engine.files.scenario_files import load_scenario, save_scenario
from engine.scenario.validate import validate_scenario
from tests.cli_runs import run_many

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "datasets" / "scenarios"


def _odd_scenario():
    """Per-year pledges, caps, an empty opt_in, shares and amounts that are not round."""
    return validate_scenario(
        {
            "fund": {
                "name": "Odd fund",
                "currency": "EUR",
                "unit": "m",
                "years": [2026, 2027, 2029],
                "carry_over": True,
            },
            "members": [
                {"id": "AAA", "name": "A", "pledge": {2026: "10.1m", 2027: 1e6 * (0.1 + 0.2)}},
                {"id": "BBB", "pledge": 7_000_001.000000001, "opt_in": ["cyber"]},
                {"id": "CCC", "pledge": "3m", "opt_in": []},
                {"id": "DDD", "pledge": "2m", "opt_out": ["space"], "caps": {"cyber": "1.25m"}},
            ],
            "areas": [
                {
                    "id": "cyber",
                    "priority": 1.3,
                    "floor": "12.5%",
                    "absorption": "30%",
                    "value_curve": [{"up_to": "3m", "marginal": 1}, {"marginal": 0.1}],
                },
                {"id": "space", "name": "Space", "ceiling": "4.4m", "hard": True},
            ],
            "policies": [
                {"id": "both", "areas": ["cyber", "space"], "at_most": "95%", "per": "horizon"},
                {"id": "money", "members": ["AAA"], "at_least": "0.5m"},
            ],
            "objective": {"discount_rate": "3%", "tie_break": "none"},
        }
    )


@pytest.mark.parametrize("name", ["aspf-2026", "nif", "diana"])
def test_yaml_to_workbook_and_back_gives_the_same_scenario(tmp_path, name):
    path = SCENARIOS / f"{name}.yaml"
    scenario = load_scenario(path)
    save_scenario(scenario, tmp_path / "plan.xlsx")
    assert load_scenario(tmp_path / "plan.xlsx") == scenario


def test_shipped_workbook_is_the_shipped_yaml():
    assert load_scenario(SCENARIOS / "aspf-2026.xlsx") == load_scenario(
        SCENARIOS / "aspf-2026.yaml"
    )


def test_round_trip_is_exact_for_awkward_numbers_and_empty_lists(tmp_path):
    scenario = _odd_scenario()
    write_workbook_scenario(scenario, tmp_path / "odd.xlsx")
    back = load_scenario(tmp_path / "odd.xlsx")
    assert back == scenario
    assert back.member("CCC").opt_in == []
    assert back.member("AAA").pledges[2027] == 1e6 * (0.1 + 0.2)


def test_amounts_are_numbers_in_the_funds_unit(tmp_path):
    write_workbook_scenario(load_scenario(SCENARIOS / "aspf-2026.yaml"), tmp_path / "a.xlsx")
    members = load_workbook(tmp_path / "a.xlsx")["members"]
    assert members["C1"].value.startswith("pledge (USD bn")
    germany = next(r for r in members.iter_rows(values_only=True) if r[0] == "DEU")
    assert germany[2] == pytest.approx(18.893)


def test_per_year_pledge_columns_are_read(tmp_path):
    write_workbook_scenario(_odd_scenario(), tmp_path / "odd.xlsx")
    headers = [c.value for c in load_workbook(tmp_path / "odd.xlsx")["members"][1]]
    assert "pledge 2026 (EUR m)" in headers
    assert "pledge 2029 (EUR m)" in headers


def _broken(tmp_path: Path, edit) -> str:
    book = scenario_workbook(load_scenario(SCENARIOS / "aspf-2026.yaml"))
    edit(book)
    book.save(tmp_path / "bad.xlsx")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "bad.xlsx")
    return str(caught.value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda b: b["areas"].__setitem__("D9", -3),
            "sheet 'areas', cell D9 (areas[cyber].floor): must not be negative; the cell holds -3",
        ),
        (lambda b: b["areas"].__setitem__("C3", "high"), "sheet 'areas', cell C3 (areas[ai]"),
        (
            lambda b: b["members"].__setitem__("E7", "cyberr"),
            "sheet 'members', cell E7 (members[DEU].opt_out): unknown area 'cyberr'",
        ),
        (
            lambda b: b["members"].__setitem__("C8", "lots"),
            "sheet 'members', cell C8: expected an amount",
        ),
        (
            lambda b: b["areas"].__setitem__("D9", "=3+4"),
            "sheet 'areas', cell D9: holds the formula '=3+4' with no saved result",
        ),
        (
            lambda b: b["areas"].__setitem__("H1", "colour"),
            "sheet 'areas', cell H1: unknown column",
        ),
        (lambda b: b.create_sheet("Sheet2"), "sheet 'Sheet2': unknown sheet"),
        (
            lambda b: b["value_curves"].__setitem__("C3", 2),
            "sheet 'value_curves', row 2 (areas[capability].value_curve): marginal values",
        ),
        (
            lambda b: b["fund"].__setitem__("B5", "2026-20x0"),
            "sheet 'fund', cell B5: expected years",
        ),
        (
            lambda b: b["fund"].__setitem__("B5", "2030-2026"),
            "sheet 'fund', cell B5: expected years such as 2026, 2027, 2028 or 2026-2030; "
            "the cell holds '2030-2026'",
        ),
        (lambda b: b["members"].__setitem__("A8", "DEU"), "sheet 'members', row 8"),
        (
            lambda b: b["policies"].__setitem__("E2", 1.5),
            "cell E2 (policies[emerging_tech].at_least): a share must lie between 0% and 100%; "
            "the cell holds 150%",
        ),
        (
            lambda b: b["projects"].__setitem__("D2", "{2026: 2bn, 2027: [}"),
            "sheet 'projects', cell D2: not a valid list or map",
        ),
        (
            lambda b: b["projects"].__setitem__("C3", "capabilty"),
            "sheet 'projects', cell C3 (projects[air_defence_c2].area): unknown area",
        ),
        (lambda b: b.remove(b["fund"]), "sheet 'fund': sheet is missing"),
        (
            lambda b: b["members"].__setitem__("C1", "pledge (USD m a year)"),
            "sheet 'members', cell C1: header 'pledge (USD m a year)' states another currency "
            "or unit than the fund's (USD bn, sheet 'fund'); the cells are read in USD bn",
        ),
        (
            lambda b: b["areas"].__setitem__("D1", "floor (EUR bn or %)"),
            "sheet 'areas', cell D1: header 'floor (EUR bn or %)' states another currency",
        ),
    ],
)
def test_a_bad_cell_names_its_sheet_and_cell(tmp_path, edit, expected):
    assert expected in _broken(tmp_path, edit)


@pytest.mark.parametrize("header", ["pledge (USD billions a year)", "pledge", "pledge (a year)"])
def test_a_header_in_the_funds_unit_or_stating_none_is_read(tmp_path, header):
    book = scenario_workbook(load_scenario(SCENARIOS / "aspf-2026.yaml"))
    book["members"]["C1"] = header
    book.save(tmp_path / "ok.xlsx")
    assert load_scenario(tmp_path / "ok.xlsx") == load_scenario(SCENARIOS / "aspf-2026.yaml")


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "plan.xlsx"
    path.write_text("name,pledge\n")
    with pytest.raises(ScenarioError, match="is not an Excel workbook"):
        load_scenario(path)


def test_sheets_for_notes_are_ignored(tmp_path):
    book = scenario_workbook(load_scenario(SCENARIOS / "aspf-2026.yaml"))
    book.create_sheet("notes from the secretariat")["A1"] = "anything"
    book.save(tmp_path / "plan.xlsx")
    assert load_scenario(tmp_path / "plan.xlsx") == load_scenario(SCENARIOS / "aspf-2026.yaml")


def test_text_amounts_with_units_are_accepted(tmp_path):
    book = scenario_workbook(load_scenario(SCENARIOS / "aspf-2026.yaml"))
    book["areas"]["D9"] = "6bn"
    book.save(tmp_path / "plan.xlsx")
    assert load_scenario(tmp_path / "plan.xlsx").area("cyber").floor.amount == 6e9


def test_writing_to_a_folder_that_cannot_exist_raises_output_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError):
        write_workbook_scenario(_odd_scenario(), tmp_path / "file" / "plan.xlsx")


@pytest.mark.slow
def test_cli_solves_a_workbook_like_its_yaml():
    files = [f"datasets/scenarios/aspf-2026.{ext}" for ext in ("xlsx", "yaml")]
    runs = run_many([("optimise.py", ["solve", path, "--json"]) for path in files])
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    summaries = [json.loads(r.stdout) for r in runs]
    for key in ("objective", "total_allocated", "scenario_sha256"):
        assert summaries[0][key] == summaries[1][key]


@pytest.mark.slow
def test_cli_convert_round_trips_yaml_and_excel(tmp_path):
    to_excel, back = run_many(
        [
            ("optimise.py", ["convert", "aspf-2026", str(tmp_path / "plan.xlsx")]),
            ("optimise.py", ["convert", str(tmp_path / "plan.xlsx"), str(tmp_path / "plan.yaml")]),
        ]
    )
    assert to_excel.returncode == 0, to_excel.stderr
    assert back.returncode == 0, back.stderr
    assert load_scenario(tmp_path / "plan.yaml") == load_scenario(SCENARIOS / "aspf-2026.yaml")


@pytest.mark.slow
def test_cli_convert_refuses_an_unknown_suffix_and_a_bad_workbook(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    suffix, workbook = run_many(
        [
            ("optimise.py", ["convert", "aspf-2026", str(tmp_path / "plan.txt")]),
            ("optimise.py", ["convert", str(tmp_path / "bad.xlsx"), str(tmp_path / "plan.yaml")]),
        ]
    )
    assert suffix.returncode == 2
    assert "cannot write '.txt' files" in suffix.stderr
    assert workbook.returncode == 2
    assert "Traceback" not in workbook.stderr


@pytest.mark.slow
def test_cli_convert_refuses_to_write_over_its_source(tmp_path):
    source = tmp_path / "plan.yaml"
    text = "# the planner's notes\n" + (SCENARIOS / "aspf-2026.yaml").read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    (run,) = run_many([("optimise.py", ["convert", str(source), str(source)])])
    assert run.returncode == 2
    assert "the file to write is the scenario being read" in run.stderr
    assert source.read_text(encoding="utf-8") == text


def test_policy_paths_and_forecast_pledges_round_trip_with_what_the_author_set(tmp_path):
    data = yaml.safe_load((SCENARIOS / "aspf-2026.yaml").read_text(encoding="utf-8"))
    data["paths"] = {
        "hague-uk-leaves": {
            "extends": "hague-2035",
            "base": "trend",
            "leave": {"GBR": 2028},
            "rate_change": {"DEU": {"factor": 1.5, "from_year": 2027}},
        }
    }
    data["pledges"] = {"from_forecast": {"path": "hague-2035", "quantile": 0.1}}
    scenario = validate_scenario(data)
    write_workbook_scenario(scenario, tmp_path / "paths.xlsx")
    back = load_scenario(tmp_path / "paths.xlsx")
    assert back == scenario
    # An explicit default (base: trend) still overrides the path it extends.
    assert "base" in back.paths["hague-uk-leaves"].model_fields_set
    assert back.pledges.from_forecast.quantile == 0.1


def test_a_bad_cell_on_a_named_sheet_names_its_cell(tmp_path):
    data = yaml.safe_load((SCENARIOS / "aspf-2026.yaml").read_text(encoding="utf-8"))
    data["paths"] = {"uk-leaves": {"extends": "trend", "leave": {"GBR": 2028}}}
    book = scenario_workbook(validate_scenario(data))
    book["paths"]["H2"] = "soon"
    book["paths"]["J2"] = "{GB: 2028}"
    book.save(tmp_path / "bad.xlsx")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "bad.xlsx")
    assert "sheet 'paths', cell H2 (paths.uk-leaves.target_year)" in str(caught.value)
