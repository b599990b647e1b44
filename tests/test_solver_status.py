"""Every HiGHS model status has a meaning, and a stop is named for what stopped it."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from engine.files.scenario_files import load_scenario
from engine.formulation.core import ModelBuilder, Row
from engine.scenario.schema import Scenario
from engine.solving.backends import (
    HIGHS_STATUS,
    Solution,
    SolverOptions,
    SolveStatus,
    StopReason,
    _cbc_stop,
    classify_highs,
    new_highs,
    pass_model,
    solve_highs,
    stop_message,
)
from engine.solving.pipeline import solve
from engine.solving.solved import Solved
from tests.conftest import SCENARIOS

LIMITS = {
    "kTimeLimit": StopReason.TIME_LIMIT,
    "kIterationLimit": StopReason.ITERATION_LIMIT,
    "kSolutionLimit": StopReason.SOLUTION_LIMIT,
    "kInterrupt": StopReason.INTERRUPT,
    "kHighsInterrupt": StopReason.INTERRUPT,
    "kObjectiveBound": StopReason.OBJECTIVE_BOUND,
    "kObjectiveTarget": StopReason.OBJECTIVE_TARGET,
    "kMemoryLimit": StopReason.MEMORY_LIMIT,
    "kUnknown": StopReason.UNKNOWN,
}


def test_every_highs_model_status_is_mapped():
    assert set(highspy.HighsModelStatus.__members__) <= set(HIGHS_STATUS)


def test_unbounded_or_infeasible_is_not_reported_as_infeasible():
    for has_plan in (False, True):
        status, _ = classify_highs("kUnboundedOrInfeasible", has_plan)
        assert status is SolveStatus.INFEASIBLE_OR_UNBOUNDED


@pytest.mark.parametrize(("name", "reason"), sorted(LIMITS.items()))
def test_a_stop_with_a_plan_is_feasible_and_named_for_its_own_limit(name, reason):
    assert classify_highs(name, has_plan=True) == (SolveStatus.FEASIBLE, reason)
    assert classify_highs(name, has_plan=False) == (SolveStatus.NO_SOLUTION, reason)
    message = stop_message(_solution(SolveStatus.FEASIBLE, reason))
    assert message.startswith(str(reason))
    assert ("time limit" in message) == (name == "kTimeLimit")


def test_errors_and_an_empty_model_are_not_plans_at_a_limit():
    for name in ("kNotset", "kLoadError", "kModelError", "kPresolveError", "kSolveError"):
        assert classify_highs(name, has_plan=True) == (SolveStatus.NO_SOLUTION, StopReason.ERROR)
    assert classify_highs("kModelEmpty", has_plan=True) == (SolveStatus.OPTIMAL, None)


def test_a_time_limit_keeps_its_message():
    message = stop_message(_solution(SolveStatus.FEASIBLE, StopReason.TIME_LIMIT))
    assert message == "time limit reached: the best plan found, optimality not proven"


def test_highs_proving_infeasible_or_unbounded_is_reported_so_without_a_diagnosis(
    tiny: Scenario,
):
    # max x with y >= 1 and y <= 0: HiGHS stops at "infeasible or unbounded" when allowed to.
    model = ModelBuilder(tiny, scale=1.0)
    x, y = model.add_column("x"), model.add_column("y", low=-float("inf"))
    model.objective[x] = 1.0
    model.add_row(Row("low", "budget"), [(y, 1.0)], 1, 1.0)
    model.add_row(Row("high", "budget"), [(y, 1.0)], -1, 0.0)
    frozen = model.freeze()
    options = SolverOptions(highs_options=(("allow_unbounded_or_infeasible", True),))
    solution, _ = solve_highs(frozen, options)
    assert solution.status is SolveStatus.INFEASIBLE_OR_UNBOUNDED
    assert solution.solver_status == "Primal infeasible or unbounded"
    result = Solved(frozen, solution, solution, 0.0).result()
    assert result.status is SolveStatus.INFEASIBLE_OR_UNBOUNDED
    assert not result.ok
    assert result.diagnosis.empty
    assert result.summary["message"].startswith("infeasible or unbounded")
    assert result.summary["solver_status"] == "Primal infeasible or unbounded"


def test_an_unbounded_mip_is_not_reported_as_infeasible(tiny: Scenario):
    # HiGHS's MIP solver answers "infeasible or unbounded" for max z, z >= 0 integer.
    model = ModelBuilder(tiny, scale=1.0)
    z = model.add_column("z", integer=True)
    model.objective[z] = 1.0
    solution, _ = solve_highs(model.freeze(), SolverOptions())
    assert solution.status is SolveStatus.INFEASIBLE_OR_UNBOUNDED
    assert "infeasible or unbounded" in solution.solver_status.lower()


def test_an_iteration_limit_with_a_plan_is_named_an_iteration_limit():
    sc = load_scenario(SCENARIOS / "nif.yaml")
    options = SolverOptions(highs_options=(("presolve", "off"), ("simplex_iteration_limit", 1)))
    result = solve(sc, options)
    assert result.status is SolveStatus.FEASIBLE
    assert result.ok
    assert result.summary["solver_status"] == "Iteration limit reached"
    assert result.summary["message"].startswith("iteration limit reached")
    assert "time limit" not in result.summary["message"]


def test_a_mip_stopped_by_its_node_limit_without_a_plan_names_the_limit():
    sc = load_scenario(SCENARIOS / "diana.yaml")
    result = solve(sc, SolverOptions(highs_options=(("mip_max_nodes", 0),)))
    assert result.status is SolveStatus.NO_SOLUTION
    assert result.summary["solver_status"] == "Solution limit reached"
    assert result.summary["message"] == "the solver stopped without a plan (solution limit reached)"


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_an_optimal_solve_keeps_the_solvers_words_and_no_message(solver):
    result = solve(load_scenario(SCENARIOS / "nif.yaml"), SolverOptions(solver=solver))
    assert result.status is SolveStatus.OPTIMAL
    assert result.summary["solver_status"] == "Optimal"
    assert result.summary["message"] == ""


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Stopped on time limit", StopReason.TIME_LIMIT),
        ("Stopped on iterations", StopReason.ITERATION_LIMIT),
        ("Stopped on solutions", StopReason.SOLUTION_LIMIT),
        ("Stopped on nodes", StopReason.NODE_LIMIT),
        ("Stopped on ctrl-c", StopReason.INTERRUPT),
        ("Stopped on user event", StopReason.INTERRUPT),
        ("Stopped on difficulties", StopReason.UNKNOWN),
    ],
)
def test_cbc_stops_are_named_from_its_result_line(line, reason):
    assert _cbc_stop(line) is reason


def _solution(status: SolveStatus, stop: StopReason | None) -> Solution:
    empty = np.zeros(0)
    return Solution(status, 0.0, empty, empty, empty, empty, 0.0, "highs", stop=stop)


def test_a_model_highs_refuses_is_an_error_not_an_empty_optimal_plan():
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 1, 1
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.ones(1), np.zeros(1), np.ones(1)
    lp.row_lower_, lp.row_upper_ = np.zeros(1), np.ones(1)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    # one row naming the column twice: HiGHS refuses the whole model
    lp.a_matrix_.start_, lp.a_matrix_.index_ = np.array([0, 2]), np.array([0, 0])
    lp.a_matrix_.value_ = np.ones(2)
    with pytest.raises(RuntimeError, match="refused the model"):
        pass_model(new_highs(SolverOptions()), lp)
