"""Solver back-ends behind one interface: HiGHS in-process (default) and CBC through PuLP.

Each back-end translates its own status codes and dual-sign conventions here, in one
place, into :class:`SolveStatus` and a :class:`Solution` whose ``row_dual`` is always
``d objective / d rhs`` (value points per model unit of money) for the maximisation.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pulp

from engine.errors import SolverUnavailableError
from engine.model import INF, PlanModel


class SolveStatus(StrEnum):
    """Outcome of a solve, in the engine's own vocabulary."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a plan, but optimality not proven (time limit)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped before any plan was found


@dataclass(frozen=True)
class SolverOptions:
    """How to solve: which solver, a time limit in seconds, threads."""

    solver: str = "highs"
    time_limit: float | None = None
    threads: int | None = None


@dataclass(frozen=True)
class Solution:
    """Raw numbers of one solve, indexed like the model's columns and rows."""

    status: SolveStatus
    objective: float
    col_value: np.ndarray
    col_dual: np.ndarray
    row_value: np.ndarray
    row_dual: np.ndarray
    seconds: float
    solver: str


SOLVERS = ("highs", "cbc")


def highs_lp(model: PlanModel, objective: dict[int, float] | None = None):
    """The model as a ``highspy.HighsLp`` (maximisation), passed to HiGHS in bulk."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = model.n_rows
    cost = np.zeros(model.n_cols)
    for j, c in (objective if objective is not None else model.objective).items():
        cost[j] = c
    lp.col_cost_ = cost
    lp.col_lower_ = np.asarray(model.col_lb, dtype=float)
    lp.col_upper_ = np.asarray(model.col_ub, dtype=float)
    lp.row_lower_ = np.asarray(model.row_lo, dtype=float)
    lp.row_upper_ = np.asarray(model.row_hi, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.asarray(model.row_start, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(model.row_cols, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(model.row_vals, dtype=float)
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = model.n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    return lp


_BANNER_SHOWN = False


def _quiet(make):
    """Call ``make`` with the C-level stdout muted: HiGHS prints a banner on its first
    construction in a process, before any option can switch logging off."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return make()
    _BANNER_SHOWN = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return make()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(options: SolverOptions):
    """A quiet ``highspy.Highs`` configured from the options."""
    try:
        import highspy
    except ImportError as error:  # pragma: no cover - highspy is a hard dependency
        raise SolverUnavailableError(
            "HiGHS is not installed: pip install highspy, or use --solver cbc"
        ) from error
    h = _quiet(highspy.Highs)
    h.setOptionValue("output_flag", False)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    return h


def highs_status(h) -> SolveStatus:
    """Translate HiGHS's model status (and whether a primal solution exists)."""
    import highspy

    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        return SolveStatus.OPTIMAL
    if status == ms.kInfeasible:
        return SolveStatus.INFEASIBLE
    if status in (ms.kUnbounded,):
        return SolveStatus.UNBOUNDED
    if status == ms.kUnboundedOrInfeasible:
        return SolveStatus.INFEASIBLE
    has_plan = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    return SolveStatus.FEASIBLE if has_plan else SolveStatus.NO_SOLUTION


def highs_solution(h, seconds: float) -> Solution:
    """Read a Solution off a solved ``Highs`` object."""
    status = highs_status(h)
    sol = h.getSolution()
    # With the sense set to maximise, HiGHS's duals are d objective / d rhs already
    # (PuLP's interface negates the objective and so flips them); the tests check this
    # against finite differences.
    return Solution(
        status=status,
        objective=float(h.getInfo().objective_function_value),
        col_value=np.asarray(sol.col_value, dtype=float),
        col_dual=np.asarray(sol.col_dual, dtype=float),
        row_value=np.asarray(sol.row_value, dtype=float),
        row_dual=np.asarray(sol.row_dual, dtype=float),
        seconds=seconds,
        solver="highs",
    )


def solve_highs(model: PlanModel, options: SolverOptions) -> tuple[Solution, object]:
    """Solve with HiGHS in-process; returns the solution and the live ``Highs`` object
    (kept for warm-started re-solves and ranging)."""
    h = new_highs(options)
    start = time.perf_counter()
    h.passModel(highs_lp(model))
    h.run()
    return highs_solution(h, time.perf_counter() - start), h


def solve_cbc(model: PlanModel, options: SolverOptions) -> Solution:
    """Solve the model's PuLP form with CBC (shipped with PuLP)."""
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=options.time_limit, threads=options.threads)
    if not solver.available():
        raise SolverUnavailableError("CBC is not available here; use --solver highs")
    problem, variables, carriers = model.to_pulp()
    start = time.perf_counter()
    code = problem.solve(solver)
    seconds = time.perf_counter() - start
    status = {
        pulp.LpStatusOptimal: SolveStatus.OPTIMAL,
        pulp.LpStatusInfeasible: SolveStatus.INFEASIBLE,
        pulp.LpStatusUnbounded: SolveStatus.UNBOUNDED,
    }.get(code, SolveStatus.NO_SOLUTION)
    if status is SolveStatus.OPTIMAL and problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = SolveStatus.FEASIBLE
    values = np.array([v.varValue or 0.0 for v in variables])
    reduced = np.array([v.dj or 0.0 for v in variables])
    cons = problem.constraints
    duals = np.array([sum(cons[n].pi or 0.0 for n in names) for names in carriers])
    starts = np.asarray(model.row_start)
    cols = np.asarray(model.row_cols, dtype=int)
    vals = np.asarray(model.row_vals, dtype=float)
    activity = np.add.reduceat(values[cols] * vals, starts[:-1]) if len(cols) else np.zeros(0)
    activity[np.diff(starts) == 0] = 0.0
    objective = float(pulp.value(problem.objective) or 0.0)
    return Solution(status, objective, values, reduced, activity, duals, seconds, "cbc")


def check_solver(name: str) -> None:
    """Raise SolverUnavailableError with the choices when ``name`` is not a solver."""
    if name not in SOLVERS:
        raise SolverUnavailableError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")


__all__ = ["INF", "SOLVERS", "Solution", "SolveStatus", "SolverOptions", "solve_cbc", "solve_highs"]
