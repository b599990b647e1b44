"""``--set PATH=VALUE`` edits: new validated scenarios, inputs untouched, clear errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from engine.api import load_with_edits
from engine.errors import ScenarioError
from engine.files.scenario_files import save_scenario
from engine.scenario.edits import Edit, _apply, apply_edits, apply_edits_to_data, parse_edit
from engine.scenario.schema import Scenario, scenario_sha256
from engine.scenario.validate import validate_scenario
from tests.scenario_factory import tiny_scenario


@pytest.fixture
def sc() -> Scenario:
    return validate_scenario(tiny_scenario())


def test_area_floor_edit_sets_money(sc: Scenario) -> None:
    out = apply_edits(sc, ["areas.cyber.floor=12bn"])
    assert out.area("cyber").floor.amount == pytest.approx(12e9)
    assert sc.area("cyber").floor.amount == pytest.approx(4e9)  # input unchanged


def test_share_and_list_edits(sc: Scenario) -> None:
    out = apply_edits(sc, ["areas.ai.ceiling=30%", "members.DEU.opt_out=[space, ai]"])
    assert out.area("ai").ceiling.share == pytest.approx(0.30)
    assert out.member("DEU").opt_out == ["space", "ai"]
    assert not out.member("DEU").joins("ai")


def test_pledge_edit_per_year_and_flat(sc: Scenario) -> None:
    flat = apply_edits(sc, ["members.FRA.pledge=20bn"])
    assert flat.member("FRA").pledges == {2026: 20e9, 2027: 20e9}
    per_year = apply_edits(sc, ["members.DEU.pledge={2026: 1bn, 2027: 2bn}"])
    assert per_year.member("DEU").pledges == {2026: 1e9, 2027: 2e9}


def test_fund_and_new_sections(sc: Scenario) -> None:
    out = apply_edits(
        sc,
        [
            "fund.carry_over=true",
            "policies=[{id: tech, areas: [ai], at_least: 10%}]",
            "objective.discount_rate=3%",
        ],
    )
    assert out.fund.carry_over is True
    assert out.policies[0].at_least.share == pytest.approx(0.10)
    assert out.objective.discount_rate == pytest.approx(0.03)


def test_later_edits_win(sc: Scenario) -> None:
    out = apply_edits(sc, ["areas.cyber.floor=1bn", "areas.cyber.floor=2bn"])
    assert out.area("cyber").floor.amount == pytest.approx(2e9)


def test_no_edits_returns_the_same_scenario(sc: Scenario) -> None:
    assert apply_edits(sc, []) is sc


def test_edit_changes_the_scenario_hash(sc: Scenario) -> None:
    same = apply_edits(sc, ["areas.cyber.floor=4bn"])
    other = apply_edits(sc, ["areas.cyber.floor=5bn"])
    assert scenario_sha256(same) == scenario_sha256(sc)
    assert scenario_sha256(other) != scenario_sha256(sc)


def test_data_edits_do_not_touch_the_input() -> None:
    data = tiny_scenario()
    out = apply_edits_to_data(data, ["areas.cyber.floor=9bn"])
    assert data["areas"][0]["floor"] == "4bn"
    assert out["areas"][0]["floor"] == "9bn"


def _deep_copy_then_edit(data: dict, edits: list[str]) -> dict:
    """The plain reference: copy everything, then change it in place."""
    out = copy.deepcopy(data)
    for text in edits:
        _apply(out, parse_edit(text), {}, {})
    return out


@pytest.mark.parametrize(
    "edits",
    [
        ["members.DEU.pledge=1bn", "members.FRA.pledge=2bn", "members.DEU.opt_out=[space]"],
        [
            "members.DEU.pledge=1bn",
            "members=[{id: ITA, pledge: 5bn}, {id: DEU, pledge: 7bn}]",
            "members.DEU.pledge=3bn",
            "members.ITA.opt_out=[cyber]",
        ],
        ["areas.cyber.floor=9bn", "areas=[]", "fund.name=x", "areas.new.floor=1bn"],
    ],
)
def test_edits_give_what_copying_everything_first_gives_and_leave_the_input(edits) -> None:
    data = tiny_scenario()
    before = copy.deepcopy(data)
    try:
        expected = _deep_copy_then_edit(data, edits)
    except ScenarioError as error:
        with pytest.raises(ScenarioError, match=re.escape(error.problems[0])):
            apply_edits_to_data(data, edits)
    else:
        assert apply_edits_to_data(data, edits) == expected
    assert data == before


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("areas.cyber.floor=12bn", "areas.cyber.floor", "12bn"),
        ("fund.years=[2026, 2027]", "fund.years", [2026, 2027]),
        (" members.DEU.pledge = 3e9", "members.DEU.pledge", "3e9"),
        ("fund.carry_over=", "fund.carry_over", None),
        ("fund.name=a=b", "fund.name", "a=b"),
    ],
)
def test_parse_edit_reads_values_as_yaml(text: str, path: str, value) -> None:
    assert parse_edit(text) == Edit(path, value)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ("nonsense", ["expected PATH=VALUE"]),
        ("=5", ["expected PATH=VALUE"]),
        ("areas.moon.floor=1bn", ["no item with id 'moon'", "known: cyber, space, ai"]),
        ("areas.cyber=1bn", ["give a field of areas[cyber]"]),
        ("fund.name.x=1", ["fund.name is a value"]),
        ("areas.cyber.floor=[1, 2", ["not readable"]),
        ("areas.cyber.floor=lots", ["areas[cyber].floor", "lots"]),
        ("areas.cyber.flor=1bn", ["areas[cyber].flor", "unknown field"]),
        ("members.DEU.opt_in=[moon]", ["members[DEU].opt_in", "moon"]),
    ],
)
def test_bad_edit_raises_a_message_naming_the_edit_and_field(
    sc: Scenario, edit: str, words: list[str]
) -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_edits(sc, [edit])
    for word in words:
        assert word in str(caught.value)


def test_a_value_curve_segment_is_edited_by_its_position(sc: Scenario) -> None:
    edited = apply_edits(sc, ["areas.cyber.value_curve.1.marginal=0.3"])
    assert [s.marginal for s in edited.area("cyber").value_curve] == [1.0, 0.3]
    assert [s.marginal for s in sc.area("cyber").value_curve] == [1.0, 0.2]
    with pytest.raises(ScenarioError, match=r"value_curve has 2 item\(s\), numbered from 0 to 1"):
        apply_edits(sc, ["areas.cyber.value_curve.2.marginal=0.3"])


def test_load_with_edits_validates_once_after_editing(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    save_scenario(validate_scenario(tiny_scenario()), path)
    # The edit fixes what would be invalid alone: a floor above the ceiling is lowered.
    out = load_with_edits(path, ["areas.space.floor=5bn", "areas.space.ceiling=6bn"])
    assert out.area("space").floor.amount == pytest.approx(5e9)
    with pytest.raises(ScenarioError) as caught:
        load_with_edits(path, ["areas.space.floor=5bn"])
    assert str(path) in str(caught.value)
    assert "areas[space].floor" in str(caught.value)


def test_an_area_coalition_is_edited_by_its_area(tmp_path: Path) -> None:
    # Area coalitions have no id: an edit names them by the area they rule.
    path = tmp_path / "coalition.yaml"
    path.write_text(
        "fund: {name: T, unit: m, years: [2026]}\n"
        "members: [{id: NOR, pledge: 400m}, {id: SWE, pledge: 300m}]\n"
        "areas: [{id: air}, {id: arctic}]\n"
        "area_coalitions: [{area: arctic, min_members: 2, min_contribution: 60m}]\n"
    )
    edited = load_with_edits(path, ["area_coalitions.arctic.min_amount=250m"])
    assert edited.area_coalitions[0].min_amount == 250e6
    with pytest.raises(ScenarioError, match=r"no item with id 'nope' \(known: arctic\)"):
        load_with_edits(path, ["area_coalitions.nope.min_amount=250m"])


def test_a_call_stage_is_edited_by_its_name(tmp_path: Path) -> None:
    # Stages have no id: an edit names them by their name.
    path = tmp_path / "calls.yaml"
    path.write_text(
        "fund: {name: C, currency: GBP, unit: m, years: [2026]}\n"
        "members: [{id: GBR, pledge: 100m}]\n"
        "areas: [{id: innov}]\n"
        "calls:\n"
        "  - id: ch\n"
        "    area: innov\n"
        "    stages: [{name: s1, grant: 10m, max_count: 3}, {name: s2, grant: 30m}]\n"
        "    applications: [{id: a1, year: 2026, value: [15, 50]}]\n"
    )
    edited = load_with_edits(path, ["calls.ch.stages.s1.max_count=1"])
    assert edited.calls[0].stages[0].max_count == 1
    with pytest.raises(ScenarioError, match=r"no item with id 'zz' \(known: s1, s2\)"):
        load_with_edits(path, ["calls.ch.stages.zz.max_count=1"])
