"""HiGHS options pass through: interior point gives the same plan value; typos are errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import SolverUnavailableError
from engine.files.scenario_files import load_scenario
from engine.solving.backends import SolverOptions, parse_highs_options
from engine.solving.pipeline import solve

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
