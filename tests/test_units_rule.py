"""One rule for a plain number (issue 14): an amount given as a plain number is in the fund's
currency in YAML, JSON, ``--set`` and the app's edit box alike (the format's contract), and a
typed plain amount too small to be meant so (``--set areas.cyber.floor=12`` in a fund counted
in bn) is refused as ambiguous instead of giving a plan without the edit; a workbook's cells
are in the unit its
headers state; scenarios write amounts back with their unit, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from engine import ScenarioError, edit_scenario, load_with_edits
from engine.files.excel import write_workbook_scenario
from engine.files.scenario_files import dump_scenario_yaml, load_scenario, save_scenario
from engine.scenario.fields import in_currency, money_text
from engine.scenario.units import parse_money, parse_share
from engine.scenario.validate import validate_scenario

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


def _fund(unit: str = "bn", **amounts: object) -> dict:
    return {
        "fund": {"name": "F", "currency": "USD", "unit": unit, "years": [2026, 2027]},
        "members": [{"id": "DEU", "pledge": amounts.get("pledge", 10e9)}],
        "areas": [
            {
                "id": "cyber",
                "floor": amounts.get("floor", 2e9),
                "value_curve": [
                    {"up_to": amounts.get("up_to", 5e9), "marginal": 1},
                    {"marginal": 0},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    "edit",
    [
        "areas.cyber.floor=12",
        "members.DEU.pledge=20",
        "areas.cyber.value_curve=[{up_to: 12, marginal: 1}, {marginal: 0}]",
    ],
)
def test_a_plain_edit_too_small_to_be_meant_in_the_currency_is_refused(edit):
    base = load_with_edits(ASPF)
    for attempt in (lambda: load_with_edits(ASPF, [edit]), lambda: edit_scenario(base, [edit])):
        with pytest.raises(ScenarioError, match=r"ambiguous.*write (12|20)bn"):
            attempt()


def test_a_plain_edit_in_the_currency_and_an_edit_with_a_unit_agree():
    base = load_with_edits(ASPF)
    plain = edit_scenario(base, ["areas.cyber.floor=12000000000"])
    with_unit = edit_scenario(base, ["areas.cyber.floor=12bn"])
    assert plain.area("cyber").floor.amount == with_unit.area("cyber").floor.amount == 12e9
    assert edit_scenario(base, ["areas.cyber.floor=0"]).area("cyber").floor.amount == 0


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("unit", ["bn", "m", "k"])
def test_plain_numbers_in_a_file_are_in_the_currency_whatever_the_funds_unit(
    tmp_path, suffix, unit
):
    path = tmp_path / f"f{suffix}"
    data = _fund(unit, pledge=10e9, floor=2.5e6, up_to="5000")
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    scenario = load_scenario(path)
    assert scenario.member("DEU").pledges == {2026: 10e9, 2027: 10e9}
    assert scenario.area("cyber").floor.amount == 2.5e6
    assert scenario.area("cyber").value_curve[0].up_to == 5000


@pytest.mark.parametrize("field", ["pledge", "floor", "up_to"])
def test_a_small_plain_amount_in_a_file_is_read_in_the_currency(tmp_path, field):
    # Only typed edits are checked for ambiguity: a file's plain numbers are the currency.
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(_fund("bn", **{field: 12})))
    scenario = load_scenario(path)
    read = {
        "pledge": scenario.member("DEU").pledges[2026],
        "floor": scenario.area("cyber").floor.amount,
        "up_to": scenario.area("cyber").value_curve[0].up_to,
    }
    assert read[field] == 12


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
    scenario = validate_scenario(data)
    assert scenario.member("DEU").pledges[2026] == 3815712806.73
    assert validate_scenario(scenario.to_input(), plain="fund") == scenario
    assert validate_scenario(scenario.to_input()) == scenario
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


@pytest.mark.parametrize(
    ("parse", "text"), [(parse_money, "1e400"), (parse_money, "1e400bn"), (parse_share, "1e400%")]
)
def test_an_amount_too_large_for_a_float_is_refused_as_written(parse, text):
    said = "is too large for any fund" if parse is parse_money else "must be a finite number"
    with pytest.raises(ValueError, match=rf"{said}, got '{text}'"):
        parse(text)
