"""The diagnosis of an infeasible floor speaks of the members who joined in plain English."""

from __future__ import annotations

from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve


def _floor_message(deu_pledge: object) -> str:
    data = {
        "fund": {"name": "F", "unit": "bn", "years": [2026, 2027]},
        "members": [
            {"id": "DEU", "pledge": deu_pledge},
            {"id": "FRA", "pledge": "5bn", "opt_out": ["cyber"]},
        ],
        "areas": [{"id": "cyber", "floor": "3bn"}, {"id": "space"}],
    }
    result = solve(validate_scenario(data))
    assert not result.ok
    floors = result.diagnosis[result.diagnosis["name"].str.startswith("floor[cyber,")]
    return " | ".join(floors["message"])


def test_one_member_who_joined_is_counted_in_the_singular() -> None:
    message = _floor_message("1bn")
    assert "the 1 member who joined cyber can give at most $1bn" in message
    assert "members who joined" not in message


def test_members_who_joined_but_pledge_nothing_that_year_are_named() -> None:
    message = _floor_message({2026: 0, 2027: "5bn"})
    assert "the 1 member who joined cyber (DEU) pledges nothing that year" in message
