"""The nearest plan that works: edits scaled back towards the baseline by bisection."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.analysis.nearest import STEPS, blend, has_plan, nearest_feasible
from engine.files.scenario_files import load_scenario
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario
from engine.solving.pipeline import solve


@pytest.fixture(scope="module")
def aspf(default_scenario_path: Path) -> Scenario:
    return load_scenario(default_scenario_path)


def test_an_impossible_floor_is_lowered_to_the_highest_floor_that_works(aspf: Scenario) -> None:
    impossible = apply_edits(aspf, ["areas.cyber.floor=500bn"])
    assert not has_plan(impossible)
    nearest = nearest_feasible(aspf, impossible)
    assert nearest is not None
    floor = nearest.scenario.area("cyber").floor.amount
    assert 5e9 < floor < 500e9
    assert solve(nearest.scenario).ok
    a_little_more = blend(aspf, impossible, nearest.fraction + 2.0 ** -(STEPS - 2))
    assert not has_plan(a_little_more)


def test_several_edits_are_scaled_back_together(aspf: Scenario) -> None:
    impossible = apply_edits(aspf, ["areas.cyber.floor=60bn", "areas.ukraine.floor=30bn"])
    nearest = nearest_feasible(aspf, impossible)
    assert nearest is not None
    cyber = nearest.scenario.area("cyber").floor.amount
    ukraine = nearest.scenario.area("ukraine").floor.amount
    assert cyber - 5e9 == pytest.approx(nearest.fraction * 55e9)
    assert ukraine - 8e9 == pytest.approx(nearest.fraction * 22e9)
    assert has_plan(nearest.scenario)


def test_shares_are_blended_as_shares(aspf: Scenario) -> None:
    edited = apply_edits(aspf, ["areas.capability.ceiling=20%"])
    halfway = blend(aspf, edited, 0.5)
    assert halfway.area("capability").ceiling.share == pytest.approx(0.30)


def test_edits_that_change_more_than_numbers_get_no_suggestion(aspf: Scenario) -> None:
    edited = apply_edits(aspf, ["members.DEU.opt_out=[cyber]", "areas.cyber.floor=500bn"])
    assert blend(aspf, edited, 0.5) is None
    assert nearest_feasible(aspf, edited) is None
