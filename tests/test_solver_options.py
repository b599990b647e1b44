"""HiGHS options pass through (interior point gives the same plan value; typos are errors),
and HiGHS and CBC run the same stages to the same tie-broken plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import SolverUnavailableError
from engine.files.scenario_files import load_scenario
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, SolveStatus, parse_highs_options
from engine.solving.pipeline import solve
from engine.solving.stages import CbcBackend, solve_stages

ROOT = Path(__file__).resolve().parents[1]


def test_highs_options_are_typed():
    assert parse_highs_options(["solver=ipm", "time_limit=2.5", "threads=1", "presolve=off"]) == (
        ("solver", "ipm"),
        ("time_limit", 2.5),
        ("threads", 1),
        ("presolve", "off"),
    )


def test_interior_point_finds_the_same_value_as_simplex():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    simplex = solve(sc)
    ipm = solve(sc, SolverOptions(highs_options=(("solver", "ipm"),)))
    assert ipm.objective == pytest.approx(simplex.objective, rel=1e-9)


def test_solves_with_other_thread_counts_in_one_process_all_find_the_plan():
    # HiGHS keeps one thread scheduler per process; a later solve asking for another
    # thread count used to stop with no plan (the app and batch workers are long-lived).
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    first = solve(sc)
    for threads in (1, 2, 1):
        again = solve(sc, SolverOptions(highs_options=(("solver", "ipm"), ("threads", threads))))
        assert again.status == SolveStatus.OPTIMAL
        assert again.objective == pytest.approx(first.objective, rel=1e-9)
    assert solve(sc, SolverOptions(threads=2)).objective == pytest.approx(first.objective)


def test_an_unknown_highs_option_is_a_clear_error():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    with pytest.raises(SolverUnavailableError, match="solverr"):
        solve(sc, SolverOptions(highs_options=(("solverr", "ipm"),)))
    proc = subprocess.run(
        [sys.executable, "optimise.py", "solve", "nif", "--highs", "solverr=ipm"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "solverr" in proc.stderr
    assert "Traceback" not in proc.stderr


class _Spy:
    """A backend that records the stages it is asked for, solving with CBC."""

    def __init__(self, options: SolverOptions) -> None:
        self.inner = CbcBackend(options)
        self.calls: list[str] = []

    @property
    def options(self) -> SolverOptions:
        return self.inner.options

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)

        def record(*args):
            self.calls.append(name)
            return method(*args)

        return record


STAGES = [
    "build",
    "keep_decisions",
    "solve_value",
    "value_solved",
    "reference_flows",
    "solve_tie_break",
]


def test_both_solvers_run_the_same_stages_in_order(tiny: Scenario):
    spy = _Spy(SolverOptions(solver="cbc"))
    solve_stages(spy, tiny)
    assert spy.calls == STAGES


def test_a_mip_without_a_plan_stops_after_the_go_no_go_stage():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "diana.yaml")
    impossible = apply_edits(sc, [f"areas.{sc.areas[0].id}.floor=1000000bn"])
    spy = _Spy(SolverOptions(solver="cbc"))
    solved = solve_stages(spy, impossible)
    assert solved.plan.status is SolveStatus.INFEASIBLE
    assert spy.calls == ["build", "keep_decisions"]
    assert solve(impossible).status is SolveStatus.INFEASIBLE  # HiGHS: the same outcome


def _largest_gap(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> float:
    both = a.merge(b, on=keys, how="outer").fillna(0.0)
    return float(np.abs(both["amount_x"] - both["amount_y"]).max())


def test_cbc_and_highs_give_the_same_tie_broken_plan():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    highs, cbc = solve(sc), solve(sc, SolverOptions(solver="cbc"))
    assert cbc.status is highs.status is SolveStatus.OPTIMAL
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-9)
    scale = float(highs.allocation["amount"].abs().max())
    assert (
        _largest_gap(highs.allocation, cbc.allocation, ["member", "area", "year"]) <= 1e-6 * scale
    )


def test_cbc_and_highs_take_the_same_go_no_go_decisions_and_area_plan():
    # Member-level flows may differ by an exchange between members with equal value: the
    # two solvers' duals on this degenerate LP pin different optimal faces.
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "diana.yaml")
    highs, cbc = solve(sc), solve(sc, SolverOptions(solver="cbc"))
    assert cbc.status is highs.status is SolveStatus.OPTIMAL
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-6)
    decisions = highs.projects.merge(cbc.projects, on=["project", "stage"])
    assert (decisions["funded_x"] == decisions["funded_y"]).all()
    scale = float(highs.areas["amount"].abs().max())
    assert _largest_gap(highs.areas, cbc.areas, ["area", "year"]) <= 1e-6 * scale


def test_cbc_keeps_a_what_if_closest_to_its_baseline_like_highs(random_small: Scenario):
    base = solve(random_small)
    member = random_small.members[0]
    edited = apply_edits(
        random_small, [f"members.{member.id}.pledge={max(member.pledges.values()) * 1.1}"]
    )
    highs = solve(edited, reference=base.allocation)
    cbc = solve(edited, SolverOptions(solver="cbc"), reference=base.allocation)
    assert cbc.status is highs.status
    scale = max(float(highs.allocation["amount"].abs().max()), 1.0)
    assert (
        _largest_gap(highs.allocation, cbc.allocation, ["member", "area", "year"]) <= 1e-6 * scale
    )
