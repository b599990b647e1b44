"""Scenario validation: every bad input is one ScenarioError naming file, field and value;
every valid form of a field reads back to the same scenario."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.files.scenario_files
from engine.errors import ScenarioError
from engine.files.scenario_files import load_scenario, save_scenario
from engine.scenario.validate import replace_pledges, scenario_json_schema, validate_scenario
from tests.scenario_factory import random_scenario, scenario_seeds, tiny_scenario


def problems_of(data: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(data, source="case.yaml")
    assert str(caught.value).startswith("case.yaml: ")
    return str(caught.value)


def edited(**changes: Any) -> dict[str, Any]:
    """The tiny scenario with top-level sections replaced or patched by callables."""
    data = tiny_scenario()
    for key, change in changes.items():
        if callable(change):
            change(data)
        else:
            data[key] = change
    return data


def _area(data: dict[str, Any], area_id: str) -> dict[str, Any]:
    return next(a for a in data["areas"] if a["id"] == area_id)


def _member(data: dict[str, Any], member_id: str) -> dict[str, Any]:
    return next(m for m in data["members"] if m["id"] == member_id)


def _set(where, key, value):
    def change(data):
        where(data)[key] = value

    return change


CYBER = lambda d: _area(d, "cyber")  # noqa: E731
DEU = lambda d: _member(d, "DEU")  # noqa: E731
FUND = lambda d: d["fund"]  # noqa: E731

BAD = {
    "typo in an area": (_set(CYBER, "florr", "1bn"), "areas[cyber].florr", "unknown field"),
    "typo in the fund": (_set(FUND, "carry_ovr", True), "fund.carry_ovr", "unknown field"),
    "negative pledge": (_set(DEU, "pledge", -1), "members[DEU].pledge", "negative"),
    "negative pledge text": (_set(DEU, "pledge", "-2bn"), "members[DEU].pledge", "negative"),
    "pledge not an amount": (_set(DEU, "pledge", "lots"), "members[DEU].pledge", "lots"),
    "NaN pledge": (_set(DEU, "pledge", float("nan")), "members[DEU].pledge", "finite"),
    "infinite floor": (_set(CYBER, "floor", float("inf")), "areas[cyber].floor", "finite"),
    "floor by year": (
        _set(CYBER, "floor", {2026: "1bn", 2027: "2bn"}),
        "areas[cyber].floor",
        "a limit given by year is not part of the format (got years 2026, 2027)",
    ),
    "overflowing pledge": (_set(DEU, "pledge", "1e300bn"), "members[DEU].pledge", "too large"),
    "share above 100%": (_set(CYBER, "ceiling", "120%"), "areas[cyber].ceiling", "100%"),
    "negative absorption": (_set(CYBER, "absorption", -0.1), "areas[cyber].absorption", "-0.1"),
    "floor above ceiling": (_set(CYBER, "ceiling", "1bn"), "areas[cyber].floor", "ceiling"),
    "negative priority": (_set(CYBER, "priority", -1), "areas[cyber].priority", "-1"),
    "both opt_in and opt_out": (
        lambda d: DEU(d).update(opt_in=["cyber"], opt_out=["ai"]),
        "members[DEU]",
        "opt_in or opt_out",
    ),
    "unknown area in opt_in": (
        _set(DEU, "opt_in", ["atlantis"]),
        "members[DEU].opt_in",
        "atlantis",
    ),
    "unknown area in caps": (_set(DEU, "caps", {"moon": "1bn"}), "members[DEU].caps", "moon"),
    "bad member id": (_set(DEU, "id", "Germany"), "members[Germany].id", "Germany"),
    "years not increasing": (_set(FUND, "years", [2027, 2026]), "fund.years", "increasing"),
    "empty horizon": (_set(FUND, "years", []), "fund.years", "is empty; give at least one"),
    "no members": (lambda d: d.update(members=[]), "members", "is empty; give at least one"),
    "pledges start late": (
        _set(DEU, "pledge", {2027: "1bn"}),
        "members[DEU].pledge",
        "no pledge for 2026",
    ),
    "increasing marginals": (
        _set(CYBER, "value_curve", [{"up_to": "1bn", "marginal": 0.5}, {"marginal": 1.0}]),
        "areas[cyber].value_curve",
        "diminishing",
    ),
    "open segment first": (
        _set(CYBER, "value_curve", [{"marginal": 1.0}, {"up_to": "2bn", "marginal": 0.5}]),
        "areas[cyber].value_curve",
        "up_to",
    ),
    "currency lowercase": (_set(FUND, "currency", "usd"), "fund.currency", "usd"),
    "unknown unit": (_set(FUND, "unit", "trillion"), "fund.unit", "trillion"),
    "path leave of a non-member": (
        lambda d: d.update(paths={"p": {"leave": {"ZZZ": 2028}}}),
        "paths.p.leave.ZZZ",
        "not a member of this fund",
    ),
    "path leave before the fund starts": (
        lambda d: d.update(paths={"p": {"leave": {"DEU": 1900}}}),
        "paths.p.leave.DEU",
        "before the fund's first year",
    ),
    "path rate change of a non-member": (
        lambda d: d.update(paths={"p": {"rate_change": {"ZZZ": {"factor": 2, "from_year": 2027}}}}),
        "paths.p.rate_change.ZZZ",
        "not a member of this fund",
    ),
    "negative forecast seed": (
        lambda d: d.update(
            pledges={"from_forecast": {"path": "trend", "quantile": 0.5, "seed": -1}}
        ),
        "pledges.from_forecast.seed",
        "greater than or equal to 0",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_field_is_reported_with_its_path(case: str) -> None:
    change, path, word = BAD[case]
    message = problems_of(edited(x=change))
    assert path in message
    assert word in message


def test_duplicate_ids_are_reported() -> None:
    data = tiny_scenario()
    data["members"].append(dict(data["members"][0]))
    data["areas"].append(dict(data["areas"][0]))
    message = problems_of(data)
    assert "members[DEU]: duplicate id" in message
    assert "areas[cyber]: duplicate id" in message


def test_policy_references_and_bounds_are_checked() -> None:
    data = tiny_scenario()
    data["policies"] = [
        {"id": "p1", "areas": ["cyber", "moon"], "members": ["XYZ"], "at_least": "1bn"},
        {"id": "p2", "areas": ["ai"], "at_least": "5bn", "at_most": "1bn"},
    ]
    message = problems_of(data)
    assert "3 problems" in message
    assert "policies[p1].areas: unknown area 'moon'" in message
    assert "policies[p1].members: unknown member 'XYZ'" in message
    assert "policies[p2].at_least" in message


@pytest.mark.parametrize(("share", "refused"), [("60%", True), ("50%", False)])
def test_share_floors_adding_up_to_more_than_the_whole_are_refused(share, refused) -> None:
    data = tiny_scenario()
    for area in data["areas"][:2]:
        area.pop("ceiling", None)
        area["floor"] = share
    for area in data["areas"][2:]:
        area.pop("floor", None)
    if not refused:
        validate_scenario(data)
        return
    message = problems_of(data)
    assert "the floors given as shares add up to 120%" in message
    assert "only allocating nothing would meet them" in message


def test_policy_needs_a_bound() -> None:
    data = tiny_scenario()
    data["policies"] = [{"id": "p3", "areas": ["ai"]}]
    assert "policies[p3]: give at_least or at_most" in problems_of(data)


def test_every_problem_is_listed_at_once() -> None:
    data = tiny_scenario()
    data["members"][0]["pledge"] = -1
    data["areas"][1]["ceiling"] = "200%"
    message = problems_of(data)
    assert "members[DEU].pledge" in message
    assert "areas[space].ceiling" in message


def test_bounds_out_of_order_are_listed_beside_type_errors() -> None:
    data = tiny_scenario()
    data["members"][0]["pledge"] = "lots"
    data["areas"][0]["ceiling"] = "1bn"  # below its floor
    data["policies"] = [{"id": "p", "areas": ["ai"], "at_least": "5bn", "at_most": "1bn"}]
    message = problems_of(data)
    assert "members[DEU].pledge" in message
    assert "policies[p].at_least: 5bn is above at_most 1bn" in message
    assert "is above the ceiling 1bn" in message.split("areas[cyber].floor:")[1]


def test_unknown_references_are_listed_beside_type_errors() -> None:
    # The reference checks need a validated scenario; a type error elsewhere must not hide them.
    data = tiny_scenario()
    data["members"][0]["pledge"] = "lots"
    data["members"][1]["opt_out"] = ["spacee"]
    data["members"][2]["caps"] = {"cyberr": "1bn"}
    data["policies"] = [{"id": "p", "label": "P", "areas": ["aii"], "members": ["GBR"],
                         "at_most": "1bn"}]  # fmt: skip
    message = problems_of(data)
    assert "members[DEU].pledge" in message
    for problem in (
        "members[FRA].opt_out: unknown area 'spacee'",
        "members[USA].caps: unknown area 'cyberr'",
        "policies[p].areas: unknown area 'aii'",
        "policies[p].members: unknown member 'GBR'",
    ):
        assert message.count(problem) == 1, message


def test_a_plain_amount_overflowing_in_the_workbook_unit_is_too_large_not_infinite() -> None:
    data = edited(x=_set(DEU, "pledge", 1e308))
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(data, source="case.xlsx", plain="fund")
    assert "members[DEU].pledge: an amount is too large for any fund, got 1e+308 (bn)" in str(
        caught.value
    )


def test_a_bad_year_of_a_pledge_map_is_one_problem_naming_the_year() -> None:
    # The other branch of the pledge's union (one amount) must not add "expected an amount".
    data = tiny_scenario()
    years = data["fund"]["years"]
    data["members"][0]["pledge"] = {years[0]: "10bn", years[-1]: "abc"}
    message = problems_of(data)
    assert f"members[DEU].pledge[{years[-1]}]" in message
    assert "problems" not in message  # one problem, not two


@pytest.mark.parametrize("data", [None, [], "fund: x", 3])
def test_top_level_must_be_a_mapping(data: Any) -> None:
    assert "(top level)" in problems_of(data)


def test_missing_sections_are_named() -> None:
    message = problems_of({"fund": {"name": "x", "years": [2026]}})
    assert "members: is required but missing" in message
    assert "areas: is required but missing" in message


@pytest.mark.parametrize(
    ("pledge", "expected"),
    [
        ("12.5bn", [12.5e9, 12.5e9]),
        (3e9, [3e9, 3e9]),
        ("300k", [3e5, 3e5]),
        ("1,500m", [1.5e9, 1.5e9]),
        ({2026: "2bn", 2027: "3bn"}, [2e9, 3e9]),
        ({2026: "2bn"}, [2e9, 2e9]),  # a missing year repeats the last pledge
        (0, [0.0, 0.0]),
    ],
)
def test_pledge_forms_normalise_to_one_amount_per_year(pledge: Any, expected: list[float]) -> None:
    data = tiny_scenario()
    data["members"][0]["pledge"] = pledge
    sc = validate_scenario(data)
    assert list(sc.member("DEU").pledges.values()) == pytest.approx(expected)


def test_limits_read_as_money_or_share() -> None:
    data = tiny_scenario()
    _area(data, "ai")["floor"] = "25%"
    _area(data, "ai")["ceiling"] = "7.5bn"
    sc = validate_scenario(data)
    assert sc.area("ai").floor.share == pytest.approx(0.25)
    assert sc.area("ai").ceiling.amount == pytest.approx(7.5e9)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(scenario_seeds)
def test_scenario_round_trips_through_its_file_format(seed: int) -> None:
    sc = validate_scenario(random_scenario(seed))
    assert validate_scenario(sc.to_input()) == sc
    assert validate_scenario(json.loads(json.dumps(sc.to_input()))) == sc


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_saved_scenario_loads_back_equal(tmp_path: Path, suffix: str) -> None:
    sc = validate_scenario(tiny_scenario())
    path = tmp_path / f"tiny{suffix}"
    save_scenario(sc, path)
    assert load_scenario(path) == sc


def test_json_nan_is_refused_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    text = json.dumps(tiny_scenario()).replace('"pledge": "10bn"', '"pledge": NaN')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="NaN") as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x" * 2000, encoding="utf-8")
    monkeypatch.setattr(engine.files.scenario_files, "MAX_SCENARIO_BYTES", 1000)
    with pytest.raises(ScenarioError, match="limit is 1,000 bytes") as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "word"),
    [
        ("bad.yaml", "fund: [1, 2\nmembers: {", "not valid YAML"),
        ("bad.json", "{'fund': 1}", "not valid JSON"),
        ("latin.yaml", b"fund: caf\xe9\n", "not UTF-8"),
        ("scenario.txt", "fund: {}", "unsupported file type"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, name: str, content, word: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError, match=word) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nothing.yaml")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="folder"):
        load_scenario(folder)


def test_json_schema_describes_the_format() -> None:
    schema = scenario_json_schema()
    json.dumps(schema)
    assert {"fund", "members", "areas"} <= set(schema["required"])
    assert "policies" in schema["properties"]


def test_a_year_written_as_its_digits_is_read_and_the_schema_says_so() -> None:
    data = tiny_scenario()
    data["fund"]["years"] = [str(y) for y in data["fund"]["years"]]
    assert validate_scenario(data) == validate_scenario(tiny_scenario())
    year = scenario_json_schema()["$defs"]["Fund"]["properties"]["years"]["items"]
    assert {"type": "integer"} in year["anyOf"]
    [text] = [t for t in year["anyOf"] if t.get("type") == "string"]
    assert re.fullmatch(text["pattern"], "2026")
    assert not re.fullmatch(text["pattern"], "soon")


# A factor of 0 or one that keeps pledges at fund scale: a plain pledge of a few dollars is
# refused as ambiguous by the file format (engine.scenario.fields), not by replace_pledges.
@given(seed=scenario_seeds, factor=st.just(0.0) | st.floats(1e-3, 3), flat=st.booleans())
@settings(max_examples=40, deadline=None)
def test_replacing_pledges_gives_what_validating_the_edited_file_gives(
    seed: int, factor: float, flat: bool
) -> None:
    data = random_scenario(seed)
    base = validate_scenario(data)
    first = base.members[0]
    new = (
        round(sum(first.pledges.values()) * factor, 2)
        if flat
        else {t: round(v * factor, 2) for t, v in first.pledges.items()}
    )
    edited_data = {**data, "members": [{**data["members"][0], "pledge": new}, *data["members"][1:]]}
    assert replace_pledges(base, {first.id: new}) == validate_scenario(edited_data)


@pytest.mark.parametrize(
    ("pledges", "expected"),
    [
        ({"DEU": -1}, "members[DEU].pledge: must not be negative"),
        ({"DEU": float("nan")}, "members[DEU].pledge:"),
        ({"DEU": {2030: 1e9}}, "members[DEU].pledge: no pledge for 2026"),
        ({"XXX": 1e9}, "no member 'XXX'"),
    ],
)
def test_replacing_pledges_refuses_what_a_file_may_not_say(pledges, expected: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(expected)):
        replace_pledges(validate_scenario(tiny_scenario()), pledges)


def test_ids_and_currency_of_the_wrong_form_say_what_form_is_expected() -> None:
    data = tiny_scenario()
    data["fund"]["currency"] = "eur"
    data["members"][0]["id"] = "De"
    data["areas"][0]["id"] = "Cyber"
    message = problems_of(data)
    assert "fund.currency: must be three capital letters, a currency code such as EUR" in message
    assert "members[De].id: must be three capital letters, a country code such as DEU" in message
    assert "areas[Cyber].id: must start with a lower-case letter" in message
    assert "pattern" not in message
