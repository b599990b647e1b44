"""One rule for a plain number: an amount given as a plain number is in the fund's unit,
in YAML, JSON, a workbook and ``--set`` alike (issue 14); scenarios write amounts back with
their unit, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from engine import edit_scenario, load_with_edits
from engine.files.excel import write_workbook_scenario
from engine.files.scenario_files import dump_scenario_yaml, load_scenario, save_scenario
from engine.scenario.fields import in_currency, money_text
from engine.scenario.units import parse_money
from engine.scenario.validate import validate_scenario

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


def _fund(unit: str = "bn", **amounts: object) -> dict:
    return {
        "fund": {"name": "F", "currency": "USD", "unit": unit, "years": [2026, 2027]},
        "members": [{"id": "DEU", "pledge": amounts.get("pledge", 10)}],
        "areas": [
            {
                "id": "cyber",
                "floor": amounts.get("floor", 2),
                "value_curve": [{"up_to": amounts.get("up_to", 5), "marginal": 1}, {"marginal": 0}],
            }
        ],
    }


def test_a_plain_edit_of_a_floor_is_in_the_funds_unit():
    base = load_with_edits(ASPF)
    for edited in (
        load_with_edits(ASPF, ["areas.cyber.floor=12"]),
        edit_scenario(base, ["areas.cyber.floor=12"]),
    ):
        assert edited.area("cyber").floor.amount == 12e9
    assert edit_scenario(base, ["members.DEU.pledge=20"]).member("DEU").pledges[2027] == 20e9


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize(("unit", "factor"), [("bn", 1e9), ("m", 1e6), ("k", 1e3)])
def test_plain_numbers_in_a_file_are_in_the_funds_unit(tmp_path, suffix, unit, factor):
    path = tmp_path / f"f{suffix}"
    data = _fund(unit, pledge=10, floor=2.5, up_to="5")
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    scenario = load_scenario(path)
    assert scenario.member("DEU").pledges == {2026: 10 * factor, 2027: 10 * factor}
    assert scenario.area("cyber").floor.amount == 2.5 * factor
    assert scenario.area("cyber").value_curve[0].up_to == 5 * factor


def test_amounts_with_a_unit_mean_the_same_whatever_the_funds_unit(tmp_path):
    data = _fund("m", pledge="2bn", floor="300k", up_to="1.5bn")
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(tmp_path / "f.yaml")
    assert scenario.member("DEU").pledges[2026] == 2e9
    assert scenario.area("cyber").floor.amount == 3e5


def test_a_workbook_project_cost_typed_as_plain_numbers_is_in_the_funds_unit(tmp_path):
    save_scenario(load_with_edits(ASPF), tmp_path / "plan.xlsx")
    book = load_workbook(tmp_path / "plan.xlsx")
    sheet = book["projects"]
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if str(h).startswith("cost"))
    sheet.cell(row=2, column=column + 1).value = "{2026: 2, 2027: 4}"
    book.save(tmp_path / "plan.xlsx")
    project = load_scenario(tmp_path / "plan.xlsx").projects[0]
    assert project.cost == {2026: 2e9, 2027: 4e9}


def test_the_workbook_writes_project_costs_in_the_funds_unit(tmp_path):
    save_scenario(load_with_edits(ASPF), tmp_path / "plan.xlsx")
    sheet = load_workbook(tmp_path / "plan.xlsx")["projects"]
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if str(h).startswith("cost"))
    cost = yaml.safe_load(sheet.cell(row=2, column=column + 1).value)
    assert all(isinstance(v, str) and v.endswith("bn") for v in cost.values()), cost


def test_a_workbook_converted_back_to_yaml_keeps_the_files_own_form(tmp_path):
    write_workbook_scenario(load_scenario(ASPF), tmp_path / "plan.xlsx")
    text = dump_scenario_yaml(load_scenario(tmp_path / "plan.xlsx"))
    data = yaml.safe_load(text)
    assert data["fund"]["currency"] == "USD"
    assert data["fund"]["unit"] == "bn"
    capability = next(a for a in data["areas"] if a["id"] == "capability")
    assert capability["floor"] == "15bn"
    assert next(m for m in data["members"] if m["id"] == "DEU")["pledge"]["2026"] == "18.893bn"
    assert "15000000000" not in text


@pytest.mark.parametrize("amount", [3815712806.73, 0.1 + 0.2, 155e6, 2.9408e9, 7_000_001.000000001])
@pytest.mark.parametrize("unit", ["bn", "m", "k"])
def test_amounts_written_with_their_unit_read_back_exactly(amount, unit):
    assert parse_money(money_text(amount, unit)) == amount


def test_a_scenario_written_and_read_back_is_the_same_under_the_rule(tmp_path):
    data = _fund("bn", pledge=3815712806.73, floor="2.9408bn")
    scenario = validate_scenario(data)  # built in code: plain numbers in currency units
    assert scenario.member("DEU").pledges[2026] == 3815712806.73
    assert validate_scenario(scenario.to_input(), plain="fund") == scenario
    save_scenario(scenario, tmp_path / "s.json")
    save_scenario(scenario, tmp_path / "s.yaml")
    assert load_scenario(tmp_path / "s.json") == scenario == load_scenario(tmp_path / "s.yaml")


def test_plain_text_amounts_follow_the_rule_and_other_values_pass_unchanged():
    assert in_currency("12", 1e9) == 12e9
    assert in_currency("1,500", 1e6) == 1.5e9
    assert in_currency(0.155, 1e9) == 155e6
    assert in_currency("12bn", 1e6) == "12bn"
    assert in_currency("10%", 1e9) == "10%"
    assert in_currency(True, 1e9) is True
    assert in_currency(12, None) == 12
