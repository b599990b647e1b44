"""One visible pipeline: build, solve, break ties, extract. ``solve(scenario) -> Result``.

Both solvers run the same stages (:func:`engine.solving.stages.solve_stages`): HiGHS
through a :class:`~engine.solving.resolver.Resolver` (its warm state, fresh here), CBC
through the stateless :class:`~engine.solving.stages.CbcBackend`."""

from __future__ import annotations

import pandas as pd

from engine.formulation.build import build_model
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.solving.backends import (
    SolverOptions,
    SolveStatus,
    check_solver,
    highs_lp,
    highs_status,
    new_highs,
    pass_model,
)
from engine.solving.resolver import Resolver
from engine.solving.stages import CbcBackend, solve_stages


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
    return solve_stages(CbcBackend(options), scenario, reference).result()


def has_plan(scenario: Scenario, options: SolverOptions | None = None) -> bool:
    """Whether any plan meets every constraint (HiGHS, no objective, go/no-go decisions
    integral): cheaper than :func:`solve` when only feasibility matters."""
    highs = new_highs(options or SolverOptions())
    pass_model(highs, highs_lp(build_model(scenario), objective={}))
    highs.run()
    return highs_status(highs) in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
