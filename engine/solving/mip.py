"""The go/no-go stage of a solve: the MIP, then the LP with the decisions fixed.

:func:`solve_integers` solves a model with integer columns (HiGHS's MIP solver by
default, CBC on request), fixes every integer at the plan's value and returns that LP
(with the MIP's status, gap and the "just below the line" margins), so that the rest of
the pipeline (tie-break, shadow prices, extraction) runs on an LP as before. Shadow
prices of a MIP plan are therefore those of the LP part given the go/no-go decisions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from engine.formulation.core import PlanModel
from engine.formulation.projects import ProjectMaps, fix_integers, scale_unit_cost
from engine.solving.backends import (
    Solution,
    SolverOptions,
    SolveStatus,
    highs_lp,
    highs_outcome,
    new_highs,
    pass_model,
    solve_cbc,
    solve_highs,
)

#: Unselected projects whose margin is computed (best value per cost first).
MARGIN_CANDIDATES = 5
#: Time for all margin re-solves together: this multiple of the first MIP's time, at least
#: MARGIN_MIN_SECONDS, at most MARGIN_MAX_SECONDS and never more than the time limit.
MARGIN_TIME_FACTOR = 10.0
MARGIN_MIN_SECONDS = 2.0
MARGIN_MAX_SECONDS = 30.0
#: Relative cost change of the finite difference behind ``Margin.cost_cut``.
COST_STEP = 1e-4


@dataclass(frozen=True)
class Margin:
    """How much more value (points, the project's own ``value`` units) an unselected
    project needs to be selected, or alternatively how much less its whole profile must
    cost (currency units; a first-order estimate at the plan with the project forced in);
    ``note`` says whether the value is exact."""

    needed_value: float
    note: str
    cost_cut: float = float("nan")


def cost_slope(model: PlanModel, key: str, values: np.ndarray, options: SolverOptions) -> float:
    """Objective gained per currency unit cut from unit ``key``'s whole cost, at the plan
    ``values`` with its go/no-go decisions fixed (finite difference of the LP)."""
    unit = model.projects.units[key]
    fixed = fix_integers(model, values)
    cheaper = scale_unit_cost(fixed, key, 1.0 - COST_STEP)
    base, _ = solve_highs(fixed, options)
    cut, _ = solve_highs(cheaper, options)
    if base.status is not SolveStatus.OPTIMAL or cut.status is not SolveStatus.OPTIMAL:
        return float("nan")
    return (cut.objective - base.objective) / (COST_STEP * unit.total_cost)


def _cost_cut(loss: float, slope: float, cost: float) -> float:
    """Currency units to cut for ``loss`` points at ``slope`` points per unit: infinite
    when no cut up to the whole cost would do, NaN when the slope is unknown."""
    if np.isnan(slope):
        return float("nan")
    if loss <= 0:
        return 0.0
    return loss / slope if slope > 0 and loss / slope < cost else float("inf")


def _run(model: PlanModel, options: SolverOptions) -> Solution:
    if options.solver == "cbc":
        return solve_cbc(model, options)
    solution, _ = solve_highs(model, options)
    return solution


def _has_plan(solution: Solution) -> bool:
    return solution.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def margins(
    model: PlanModel, mip: Solution, options: SolverOptions, top: int = MARGIN_CANDIDATES
) -> dict[str, Margin]:
    """For the ``top`` unselected units with the best value per cost, the extra value
    needed for selection: the objective lost when the unit is forced in, divided by its
    weight per value point, and the cost cut that would do instead. Re-solves with HiGHS
    within a time budget (candidates left when it runs out get no margin);
    a re-solve stopped at its time limit gives an upper bound, an infeasible one means the
    unit cannot be selected at all. Both solves stop at ``options.mip_gap``, so "exact"
    holds within that relative tolerance of the objective."""
    maps: ProjectMaps = model.projects
    chosen = [
        u
        for u in maps.units.values()
        if mip.col_value[maps.go[u.key]] < 0.5 and u.weight > 0 and u.value > 0
    ]
    chosen.sort(key=lambda u: (-u.weight / u.total_cost, u.key))
    if not chosen or top <= 0:
        return {}
    budget = min(max(MARGIN_MIN_SECONDS, MARGIN_TIME_FACTOR * mip.seconds), MARGIN_MAX_SECONDS)
    if options.time_limit is not None:
        budget = min(budget, options.time_limit)
    deadline = time.perf_counter() + budget
    h = new_highs(options)
    pass_model(h, highs_lp(model))
    out = {}
    for u in chosen[:top]:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        h.setOptionValue("time_limit", left)
        z = maps.go[u.key]
        h.changeColBounds(z, 1.0, 1.0)
        h.run()
        status, stop, _ = highs_outcome(h)
        info = h.getInfo()
        per_point = u.weight / u.value
        if status is SolveStatus.INFEASIBLE:
            out[u.key] = Margin(
                float("inf"),
                "cannot be selected at any value: with it funded, no plan meets the scenario's "
                "rules (see its coalition, exclusions and floors)",
            )
        elif status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            loss = max(mip.objective - float(info.objective_function_value), 0.0)
            slope = cost_slope(model, u.key, np.asarray(h.getSolution().col_value), options)
            out[u.key] = Margin(
                loss / per_point,
                "exact" if status is SolveStatus.OPTIMAL else f"upper bound (re-solve: {stop})",
                _cost_cut(loss, slope, u.total_cost),
            )
        h.changeColBounds(z, 0.0, 1.0)
    return out


def solve_integers(model: PlanModel, options: SolverOptions) -> tuple[PlanModel, Solution | None]:
    """Solve the go/no-go decisions of a model with integer columns.

    Returns ``(model, None)`` unchanged for a pure LP. Otherwise returns the LP with the
    integers fixed at the MIP plan (its ``projects`` maps carry the margins) and the MIP
    solution; when the MIP found no plan, the model is returned unchanged with it.
    """
    if not model.integer:
        return model, None
    mip = _run(model, options)
    if not _has_plan(mip):
        return model, mip
    fixed = fix_integers(model, mip.col_value)
    wanted = options.project_margins and mip.status is SolveStatus.OPTIMAL
    found = margins(model, mip, options) if wanted else {}
    fixed.projects = replace(model.projects, margins=found)
    return fixed, mip


def with_mip(solution: Solution, mip: Solution | None) -> Solution:
    """The LP's solution labelled with the MIP's status and gap (unchanged for an LP)."""
    if mip is None or not _has_plan(solution):
        return solution
    return replace(
        solution,
        status=mip.status,
        mip_gap=mip.mip_gap,
        seconds=solution.seconds + mip.seconds,
        stop=mip.stop,
        solver_status=mip.solver_status,
    )
