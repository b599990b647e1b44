"""Solver back-ends behind one interface: HiGHS in-process (default) and CBC through PuLP.

Each back-end translates its own status codes and dual-sign conventions here, in one
place, into :class:`SolveStatus` and a :class:`Solution` whose ``row_dual`` is always
``d objective / d rhs`` (value points per model unit of money) for the maximisation.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pulp

from engine.errors import SolverUnavailableError
from engine.formulation.core import INF, PlanModel


class SolveStatus(StrEnum):
    """Outcome of a solve, in the engine's own vocabulary."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a plan, optimality not proven: see Solution.stop for why
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    #: The solver proved there is no optimal plan without telling which (HiGHS's presolve
    #: or MIP): not diagnosed as infeasible.
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    NO_SOLUTION = "no_solution"  # stopped before any plan was found


class StopReason(StrEnum):
    """Why a solver stopped before proving optimality (worded to start a message)."""

    TIME_LIMIT = "time limit reached"
    ITERATION_LIMIT = "iteration limit reached"
    SOLUTION_LIMIT = "solution limit reached"
    NODE_LIMIT = "node limit reached"
    INTERRUPT = "interrupted"
    OBJECTIVE_BOUND = "objective bound reached"
    OBJECTIVE_TARGET = "objective target reached"
    MEMORY_LIMIT = "memory limit reached"
    ERROR = "solver error"
    UNKNOWN = "stopped for a reason the solver did not give"


#: Every ``highspy.HighsModelStatus`` by name: the outcome, or None where it depends on
#: whether a feasible point exists (FEASIBLE with one, NO_SOLUTION without), and why the
#: solver stopped short of optimality.
HIGHS_STATUS: dict[str, tuple[SolveStatus | None, StopReason | None]] = {
    "kNotset": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kLoadError": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kModelError": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kPresolveError": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kSolveError": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kPostsolveError": (SolveStatus.NO_SOLUTION, StopReason.ERROR),
    "kModelEmpty": (SolveStatus.OPTIMAL, None),  # nothing to decide
    "kOptimal": (SolveStatus.OPTIMAL, None),
    "kInfeasible": (SolveStatus.INFEASIBLE, None),
    "kUnboundedOrInfeasible": (SolveStatus.INFEASIBLE_OR_UNBOUNDED, None),
    "kUnbounded": (SolveStatus.UNBOUNDED, None),
    "kObjectiveBound": (None, StopReason.OBJECTIVE_BOUND),
    "kObjectiveTarget": (None, StopReason.OBJECTIVE_TARGET),
    "kTimeLimit": (None, StopReason.TIME_LIMIT),
    "kIterationLimit": (None, StopReason.ITERATION_LIMIT),
    "kUnknown": (None, StopReason.UNKNOWN),
    "kSolutionLimit": (None, StopReason.SOLUTION_LIMIT),
    "kInterrupt": (None, StopReason.INTERRUPT),
    "kMemoryLimit": (None, StopReason.MEMORY_LIMIT),
    "kHighsInterrupt": (None, StopReason.INTERRUPT),
}


def classify_highs(name: str, has_plan: bool) -> tuple[SolveStatus, StopReason | None]:
    """The outcome of a HiGHS model status (by name) given whether a feasible point exists;
    a status newer than this table is a stop for an unknown reason."""
    status, stop = HIGHS_STATUS.get(name, (None, StopReason.UNKNOWN))
    if status is None:
        status = SolveStatus.FEASIBLE if has_plan else SolveStatus.NO_SOLUTION
    return status, stop


def stop_message(solution: Solution) -> str:
    """What a planner is told about a solve that is not a proven optimum ("" when it is)."""
    status, stop = solution.status, solution.stop
    if status is SolveStatus.FEASIBLE:
        return f"{stop or StopReason.UNKNOWN}: the best plan found, optimality not proven"
    if status is SolveStatus.INFEASIBLE_OR_UNBOUNDED:
        return (
            "infeasible or unbounded: the solver proved there is no optimal plan but not "
            f"which ({solution.solver_status})"
        )
    if status is SolveStatus.NO_SOLUTION and stop is not None:
        return f"the solver stopped without a plan ({stop})"
    if status is SolveStatus.OPTIMAL:
        return ""
    return f"the solver stopped without a plan ({status.value})"


@dataclass(frozen=True)
class SolverOptions:
    """How to solve: which solver, a time limit in seconds, threads."""

    solver: str = "highs"
    time_limit: float | None = None
    threads: int | None = None
    #: Relative MIP gap at which a plan counts as proven optimal (both solvers).
    mip_gap: float = 1e-4
    #: Also compute how much more value each unselected project needs ("just below the
    #: line"): extra MIP re-solves, so off for fast re-solves (what-if, batch).
    project_margins: bool = False
    #: Extra HiGHS options as (name, value) pairs, e.g. (("solver", "ipm"),) for very
    #: large LPs where interior point beats the default dual simplex.
    highs_options: tuple[tuple[str, object], ...] = ()


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
    #: Relative gap between the plan and the best bound (MIPs only; None for LPs).
    mip_gap: float | None = None
    #: Why the solver stopped short of a proven optimum (None when it did not).
    stop: StopReason | None = None
    #: The solver's own words for its status (HiGHS's model status, CBC's result line).
    solver_status: str = ""


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
    lp.col_lower_ = model.col_lb
    lp.col_upper_ = model.col_ub
    lp.row_lower_ = model.row_lo
    lp.row_upper_ = model.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = model.row_start.astype(np.int32)
    lp.a_matrix_.index_ = model.row_cols.astype(np.int32)
    lp.a_matrix_.value_ = model.row_vals
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = model.n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    if model.integer:
        kinds = highspy.HighsVarType
        lp.integrality_ = [
            kinds.kInteger if j in model.integer else kinds.kContinuous for j in range(model.n_cols)
        ]
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
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    for name, value in options.highs_options:
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise SolverUnavailableError(
                f"--highs {name}={value}: not a HiGHS option or not a valid value for it"
            )
    _match_scheduler(highspy, h.getOptionValue("threads"))
    return h


#: Threads of HiGHS's process-wide scheduler when a solve asked for a number (None: the
#: scheduler was made, if at all, with HiGHS's default, which later solves of any count run on).
_scheduler_threads: int | None = None


def _match_scheduler(highspy, threads: int) -> None:
    """Rebuild HiGHS's global thread scheduler when a solve asks for another thread count.

    HiGHS makes one scheduler per process at its first run and refuses (run() errors, no
    plan) any later solve whose ``threads`` option differs from it; a long-lived process
    (the app, a batch worker, the test suite) would then fail every such solve after the
    first. Solves with the default thread count (0) run on whatever scheduler exists.
    """
    global _scheduler_threads
    if threads and threads != _scheduler_threads:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads = threads


def highs_outcome(h) -> tuple[SolveStatus, StopReason | None, str]:
    """HiGHS's model status as the engine's status, the reason it stopped short of a
    proven optimum, and HiGHS's own words for it."""
    status = h.getModelStatus()
    has_plan = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    outcome, stop = classify_highs(status.name, has_plan)
    return outcome, stop, h.modelStatusToString(status)


def highs_status(h) -> SolveStatus:
    """Translate HiGHS's model status (and whether a primal solution exists)."""
    return highs_outcome(h)[0]


def highs_solution(h, seconds: float, mip: bool = False, duals: bool = True) -> Solution:
    """Read a Solution off a solved ``Highs`` object (a MIP has a gap and no duals).

    ``duals=False`` leaves the duals at zero (reading each vector costs ~0.1 ms per 4,000
    entries): for LPs whose duals nobody reads, such as the tie-break's."""
    status, stop, words = highs_outcome(h)
    sol = h.getSolution()
    if mip:
        info = h.getInfo()
        n_cols, n_rows = h.getNumCol(), h.getNumRow()
        has_plan = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
        return Solution(
            status=status,
            objective=float(info.objective_function_value),
            col_value=np.asarray(sol.col_value, dtype=float) if has_plan else np.zeros(n_cols),
            col_dual=np.zeros(n_cols),
            row_value=np.asarray(sol.row_value, dtype=float) if has_plan else np.zeros(n_rows),
            row_dual=np.zeros(n_rows),
            seconds=seconds,
            solver="highs",
            mip_gap=float(info.mip_gap) if has_plan and np.isfinite(info.mip_gap) else None,
            stop=stop,
            solver_status=words,
        )
    # With the sense set to maximise, HiGHS's duals are d objective / d rhs already
    # (PuLP's interface negates the objective and so flips them); the tests check this
    # against finite differences.
    col_value = np.asarray(sol.col_value, dtype=float)
    row_value = np.asarray(sol.row_value, dtype=float)
    return Solution(
        status=status,
        objective=float(h.getInfo().objective_function_value),
        col_value=col_value,
        col_dual=np.asarray(sol.col_dual, dtype=float) if duals else np.zeros(len(col_value)),
        row_value=row_value,
        row_dual=np.asarray(sol.row_dual, dtype=float) if duals else np.zeros(len(row_value)),
        seconds=seconds,
        solver="highs",
        stop=stop,
        solver_status=words,
    )


def pass_model(h, lp) -> None:
    """Load ``lp`` (a ``HighsLp``) into ``h``; raises RuntimeError if HiGHS refuses it.

    A refused model leaves ``h`` empty, and an empty model solves to "optimal" with no
    columns: a wrong plan, not an error, unless it is caught here (an engine bug, e.g. a
    row naming one column twice)."""
    import highspy

    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model the engine built (an engine bug)")


def solve_highs(model: PlanModel, options: SolverOptions) -> tuple[Solution, object]:
    """Solve with HiGHS in-process; returns the solution and the live ``Highs`` object
    (kept for warm-started re-solves and ranging)."""
    h = new_highs(options)
    start = time.perf_counter()
    pass_model(h, highs_lp(model))
    h.run()
    return highs_solution(h, time.perf_counter() - start, mip=bool(model.integer)), h


def _cbc_bound(log: str) -> float | None:
    """The best bound CBC reports in its log when it stops early (None if absent)."""
    match = re.search(r"^(?:Upper|Lower) bound:\s+(\S+)", log, re.MULTILINE)
    return float(match.group(1)) if match else None


#: CBC's "Result - Stopped on ..." words and the reason they give (CBC's own list: time,
#: iterations, solutions, nodes, ctrl-c, user event; gap and difficulties are not limits).
_CBC_STOPS = (
    ("time", StopReason.TIME_LIMIT),
    ("iteration", StopReason.ITERATION_LIMIT),
    ("solution", StopReason.SOLUTION_LIMIT),
    ("nodes", StopReason.NODE_LIMIT),
    ("ctrl-c", StopReason.INTERRUPT),
    ("user", StopReason.INTERRUPT),
)


def _cbc_result(log: str) -> str:
    """CBC's result line (``Stopped on time limit``, ``Optimal solution found``), or ""."""
    match = re.search(r"^Result - (.+?)\s*$", log, re.MULTILINE)
    return match.group(1) if match else ""


def _cbc_stop(words: str) -> StopReason:
    """Why CBC stopped early, from its result line."""
    low = words.lower()
    return next((reason for key, reason in _CBC_STOPS if key in low), StopReason.UNKNOWN)


def solve_cbc(model: PlanModel, options: SolverOptions) -> Solution:
    """Solve the model's PuLP form with CBC (shipped with PuLP)."""
    mip = bool(model.integer)
    with tempfile.TemporaryDirectory(prefix="cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        with warnings.catch_warnings():
            # PuLP 3.x deprecates its bundled CBC in favour of the cbcbox package, whose
            # build did not report duals here; the bundled one does (pulp is pinned < 4).
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=options.time_limit,
                threads=options.threads,
                gapRel=options.mip_gap if mip else None,
                logPath=log_path if mip else None,
            )
        if not solver.available():
            raise SolverUnavailableError("CBC is not available here; use --solver highs")
        problem, variables, carriers = model.to_pulp()
        start = time.perf_counter()
        code = problem.solve(solver)
        seconds = time.perf_counter() - start
        log = Path(log_path).read_text(errors="replace") if os.path.exists(log_path) else ""
    status = {
        pulp.LpStatusOptimal: SolveStatus.OPTIMAL,
        pulp.LpStatusInfeasible: SolveStatus.INFEASIBLE,
        pulp.LpStatusUnbounded: SolveStatus.UNBOUNDED,
    }.get(code, SolveStatus.NO_SOLUTION)
    if status is SolveStatus.OPTIMAL and problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = SolveStatus.FEASIBLE
    words = _cbc_result(log) or pulp.LpStatus.get(code, str(code))
    stop = _cbc_stop(words) if status in (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION) else None
    values = np.array([v.varValue or 0.0 for v in variables])
    reduced = np.array([v.dj or 0.0 for v in variables])
    pi = {c.name: c.pi for c in problem.constraints()}
    duals = np.array([sum(pi[n] or 0.0 for n in names) for names in carriers])
    starts, cols, vals = model.row_start, model.row_cols, model.row_vals
    activity = np.add.reduceat(values[cols] * vals, starts[:-1]) if len(cols) else np.zeros(0)
    activity[np.diff(starts) == 0] = 0.0
    objective = float(pulp.value(problem.objective) or 0.0)
    gap = None
    if mip and status is SolveStatus.OPTIMAL:
        gap = 0.0
    elif mip and status is SolveStatus.FEASIBLE:
        bound = _cbc_bound(log)
        gap = abs(bound - objective) / max(abs(objective), 1e-10) if bound is not None else None
    if mip:
        reduced, duals = np.zeros_like(reduced), np.zeros_like(duals)
    return Solution(
        status,
        objective,
        values,
        reduced,
        activity,
        duals,
        seconds,
        "cbc",
        gap,
        stop=stop,
        solver_status=words,
    )


def parse_highs_options(pairs: list[str]) -> tuple[tuple[str, object], ...]:
    """``["solver=ipm", "threads=2"]`` as typed (name, value) pairs for
    :attr:`SolverOptions.highs_options`; only the options of
    :data:`engine.solving.highs_options.ALLOWED` (algorithm, tolerances, threads, limits,
    presolve, parallel, seed), each in its range. Raises ScenarioError (exit 2) otherwise."""
    from engine.solving.highs_options import parse_pairs

    return parse_pairs(pairs)


def check_solver(name: str) -> None:
    """Raise SolverUnavailableError with the choices when ``name`` is not a solver."""
    if name not in SOLVERS:
        raise SolverUnavailableError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")


__all__ = [
    "HIGHS_STATUS",
    "INF",
    "SOLVERS",
    "Solution",
    "SolveStatus",
    "SolverOptions",
    "StopReason",
    "solve_cbc",
    "solve_highs",
    "stop_message",
]
