"""One visible pipeline: build, solve, break ties, extract. ``solve(scenario) -> Result``."""

from __future__ import annotations

import time

import pandas as pd

from engine.formulation.build import build_model
from engine.results.extract import extract
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.solving.backends import (
    SolverOptions,
    SolveStatus,
    check_solver,
    highs_lp,
    highs_status,
    new_highs,
    solve_cbc,
)
from engine.solving.mip import solve_integers, with_mip
from engine.solving.resolver import Resolver
from engine.solving.tiebreak import break_ties, tie_break_model


def solve(
    scenario: Scenario,
    options: SolverOptions | None = None,
    reference: pd.DataFrame | None = None,
) -> Result:
    """Allocate the scenario's money; returns a :class:`Result` (never raises on infeasible).

    ``reference`` is an earlier allocation frame: among optimal plans the one closest to it
    is returned (a what-if's baseline); otherwise the closest to pro rata by priority.
    Raises SolverUnavailableError for an unknown or missing solver.
    """
    options = options or SolverOptions()
    check_solver(options.solver)
    if options.solver == "highs":
        return Resolver(options).solve(scenario, reference)
    start = time.perf_counter()
    model = build_model(scenario)
    build_seconds = time.perf_counter() - start
    model, mip = solve_integers(model, options)
    if mip is not None and model.integer:  # the MIP found no plan
        return extract(model, mip, mip, build_seconds)
    solution = solve_cbc(model, options)
    plan = break_ties(
        model,
        solution,
        reference,
        lambda m, first, ref, bounds: solve_cbc(tie_break_model(m, first, ref, bounds), options),
    )
    return extract(model, with_mip(solution, mip), with_mip(plan, mip), build_seconds)


def has_plan(scenario: Scenario, options: SolverOptions | None = None) -> bool:
    """Whether any plan meets every constraint (HiGHS, no objective, go/no-go decisions
    integral): cheaper than :func:`solve` when only feasibility matters."""
    highs = new_highs(options or SolverOptions())
    highs.passModel(highs_lp(build_model(scenario), objective={}))
    highs.run()
    return highs_status(highs) in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
