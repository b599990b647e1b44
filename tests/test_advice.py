"""Advice after an impossible edit: the edited rule at the nearest round figure that works.

The scenario's threshold is known by hand: only DEU (10bn a year) and POL (4.55bn a year)
join cyber, so a cyber floor has a plan up to 14.55bn, and the advice must round *down* to
14.5bn (three significant figures), never to a 14.6bn that has no plan.
"""

from __future__ import annotations

import pytest

import engine

SCENARIO = {
    "fund": {"name": "Advice fund", "currency": "USD", "unit": "bn", "years": [2026, 2027]},
    "members": [
        {"id": "DEU", "pledge": "10bn"},
        {"id": "POL", "pledge": "4.55bn"},
        {"id": "FRA", "pledge": "8bn", "opt_out": ["cyber"]},
    ],
    "areas": [
        {"id": "cyber", "priority": 1.0, "floor": "2bn"},
        {"id": "space", "priority": 2.0, "ceiling": "30%"},
        {"id": "training", "priority": 0.5},
    ],
}


@pytest.fixture
def base() -> engine.Scenario:
    return engine.scenario_from_data(SCENARIO, "advice.yaml")


def test_an_impossible_floor_is_advised_at_the_highest_round_figure_with_a_plan(base):
    advice = engine.advise_edits(base, ["areas.cyber.floor=20bn"])
    assert [(a.path, a.asked, a.text) for a in advice] == [("areas.cyber.floor", "20bn", "14.5bn")]
    assert engine.has_plan(engine.edit_scenario(base, [advice[0].edit]))
    assert not engine.has_plan(engine.edit_scenario(base, ["areas.cyber.floor=14.6bn"]))


def test_advice_rounds_towards_a_plan_when_the_threshold_sits_between_round_figures(base):
    # 14.55bn has a plan and 14.56bn has none: the round figure must be below, not nearest.
    assert engine.has_plan(engine.edit_scenario(base, ["areas.cyber.floor=14.55bn"]))
    assert not engine.has_plan(engine.edit_scenario(base, ["areas.cyber.floor=14.56bn"]))
    (advice,) = engine.advise_edits(base, ["areas.cyber.floor=14.7bn"])
    assert advice.text == "14.5bn"


def test_several_edits_are_moved_back_together_and_each_rounded_towards_the_baseline(base):
    # The floor rises to 14bn while POL's pledge falls to 3bn: 13bn can reach cyber. Moving
    # both back by the same fraction f: 2 + 12 f <= 10 + 4.55 - 1.55 f, so f <= 0.9262:
    # floor 13.114bn and POL 3.114bn, rounded towards the baseline to 13.1bn and 3.12bn.
    advice = engine.advise_edits(base, ["areas.cyber.floor=14bn", "members.POL.pledge=3bn"])
    assert [(a.path, a.text) for a in advice] == [
        ("areas.cyber.floor", "13.1bn"),
        ("members.POL.pledge", "3.12bn"),
    ]
    assert engine.has_plan(engine.edit_scenario(base, [a.edit for a in advice]))


def test_no_advice_when_the_edited_scenario_has_a_plan(base):
    assert engine.advise_edits(base, ["areas.cyber.floor=3bn"]) == []


def test_no_advice_for_an_edit_without_in_between(base):
    assert (
        engine.advise_edits(base, ["members.DEU.opt_out=[cyber]", "areas.cyber.floor=14bn"]) == []
    )


def test_explain_on_the_command_line_advises_the_edited_rule_first(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    optimise = Path(__file__).resolve().parent.parent / "optimise.py"
    done = subprocess.run(
        [sys.executable, str(optimise), "explain", "aspf-2026", "--set", "areas.cyber.floor=60bn"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "--set areas.cyber.floor=56.4bn (instead of 60bn)" in " ".join(done.stdout.split())
