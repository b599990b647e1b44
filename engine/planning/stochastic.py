"""One plan for many futures: the two-stage stochastic programme, solved by HiGHS.

The first year's allocation and every go/no-go decision are taken once, identical in
every future (one shared set of columns, :func:`engine.planning.extensive.first_stage`);
later years are recourse, chosen per future under the same budget, floor, ceiling,
absorption and coalition rules (each future's rows are its own PlanModel's). Floors
follow a :class:`~engine.planning.rules.FloorRule` (soft by default, see
:mod:`engine.planning.rules` for why), the objective a :class:`~engine.planning.rules.Risk`
(expected value, CVaR or both). :func:`solve_stochastic` solves the extensive form in
process, by default in its reduced form of the same optimum
(:func:`engine.planning.layout.reduced_layout`); a future's *value* ``V_k`` is its value
points minus the soft floors' penalty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.formulation.core import PlanModel
from engine.planning.extensive import Extensive, build_extensive, future_models
from engine.planning.futures import Futures
from engine.planning.measures import floor_areas, floor_met, over_pledge
from engine.planning.rules import FloorRule, Risk, cvar
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, SolveStatus, highs_outcome, new_highs, pass_model

#: MIP gap of the programme (tighter than a single plan's: futures share the gap).
MIP_GAP = 1e-6


def highs_extensive(ext: Extensive, fixed: np.ndarray | None = None):
    """The extensive form as a ``highspy.HighsLp`` (maximisation); ``fixed`` gives the
    first stage's values (then its columns are fixed and no longer integer)."""
    import highspy

    lb, ub = ext.col_lb.copy(), ext.col_ub.copy()
    integer = ext.integer
    if fixed is not None:
        n = len(ext.first)
        lb[:n] = ub[:n] = fixed
        integer = integer[integer >= n]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ext.matrix.shape[1], ext.matrix.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = ext.cost, lb, ub
    lp.row_lower_, lp.row_upper_ = ext.row_lo, ext.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = ext.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = ext.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = ext.matrix.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.sense_ = highspy.ObjSense.kMaximize
    if len(integer):
        kinds = np.full(lp.num_col_, highspy.HighsVarType.kContinuous)
        kinds[integer] = highspy.HighsVarType.kInteger
        lp.integrality_ = list(kinds)
    return lp


def run_extensive(
    ext: Extensive, options: SolverOptions | None = None, fixed: np.ndarray | None = None
) -> tuple[SolveStatus, float, np.ndarray, float, str]:
    """Solve the extensive form: status, objective, column values, seconds, HiGHS's words."""
    opts = options or SolverOptions(mip_gap=MIP_GAP)
    h = new_highs(opts)
    start = time.perf_counter()
    pass_model(h, highs_extensive(ext, fixed))
    h.run()
    seconds = time.perf_counter() - start
    status, _stop, words = highs_outcome(h)
    values = np.asarray(h.getSolution().col_value, dtype=float)
    if status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        values = np.zeros(ext.matrix.shape[1])
    return status, float(h.getInfo().objective_function_value), values, seconds, words


@dataclass
class StochasticPlan:
    """A plan made for many futures: its shared first stage and each future's recourse."""

    scenario: Scenario
    futures: Futures
    floors: FloorRule
    risk: Risk
    status: SolveStatus
    objective: float
    seconds: float
    models: list[PlanModel]
    first: np.ndarray  # the model's first-stage columns
    first_values: np.ndarray
    #: ``(futures, n_cols)``: each future's solution over its own model's columns.
    solutions: np.ndarray
    #: ``V_k``: each future's value points less the soft floors' penalty.
    values: np.ndarray
    floor_met: np.ndarray  # (futures, areas of floor_areas)
    over_pledge: np.ndarray  # (futures, members)
    solver_status: str = ""

    @property
    def ok(self) -> bool:
        """Whether there is a plan."""
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    @property
    def model(self) -> PlanModel:
        """Future 0's model (its maps name the columns of every future)."""
        return self.models[0]

    @property
    def expected(self) -> float:
        """Expected value over the futures that built the plan."""
        return float(self.values.mean())

    def cvar(self, alpha: float = 0.1) -> float:
        """CVaR of value at ``alpha`` over the futures that built the plan."""
        return cvar(self.values, alpha)

    def allocation(self) -> pd.DataFrame:
        """The committed first year: ``member, area, year, amount`` (fund units)."""
        t0 = self.scenario.fund.years[0]
        at = dict(zip(self.first.tolist(), self.first_values.tolist(), strict=True))
        rows = [(m, a, t, at[j]) for (m, a, t), j in self.model.x.items() if t == t0]
        return pd.DataFrame(rows, columns=["member", "area", "year", "amount"])

    def decisions(self) -> pd.DataFrame:
        """Go/no-go decisions of the first stage: ``project, go``."""
        maps = self.model.projects
        if maps is None:
            return pd.DataFrame(columns=["project", "go"])
        at = dict(zip(self.first.tolist(), self.first_values.tolist(), strict=True))
        return pd.DataFrame(
            [(u, round(at[j])) for u, j in maps.go.items()], columns=["project", "go"]
        )

    def recourse(self) -> pd.DataFrame:
        """Each future's later years in long form: ``future, member, area, year, amount``
        (non-zero amounts only)."""
        t0 = self.scenario.fund.years[0]
        keys = [(k, j) for k, j in self.model.x.items() if k[2] != t0]
        cols = np.array([j for _k, j in keys], dtype=np.int64)
        amounts = self.solutions[:, cols]
        future, which = np.nonzero(np.abs(amounts) > 1e-9)
        return pd.DataFrame(
            {
                "future": future,
                "member": [keys[i][0][0] for i in which],
                "area": [keys[i][0][1] for i in which],
                "year": [keys[i][0][2] for i in which],
                "amount": amounts[future, which],
            }
        )

    def floor_probability(self) -> dict[str, float]:
        """Share of the building futures in which each area met all its floors."""
        areas = floor_areas(self.model)
        return {a: float(self.floor_met[:, i].mean()) for i, a in enumerate(areas)}


def local_solutions(ext: Extensive, values: np.ndarray, models: list[PlanModel]) -> np.ndarray:
    """Each future's solution over its own model's columns ``(futures, n_cols)``."""
    return ext.solutions(values, models)


def future_values(ext: Extensive, values: np.ndarray) -> np.ndarray:
    """``V_k`` per future from the extensive solution."""
    out = np.zeros(ext.n_futures)
    for k in range(ext.n_futures):
        cols, vals = ext.value_terms(k)
        out[k] = float(values[cols] @ vals)
    return out


def solve_stochastic(
    scenario: Scenario,
    futures: Futures,
    floors: FloorRule | None = None,
    risk: Risk | None = None,
    options: SolverOptions | None = None,
    fixed: np.ndarray | None = None,
    models: list[PlanModel] | None = None,
    first: np.ndarray | None = None,
    reduce: bool = True,
) -> StochasticPlan:
    """The two-stage plan of ``scenario`` over ``futures`` (equally likely).

    ``fixed`` fixes the first stage (another plan's, to score it on these futures);
    ``models`` reuses the futures' models of an earlier call; ``first`` overrides the
    shared columns (empty: each future decides alone, the wait-and-see programme);
    ``reduce`` solves the smaller extensive form of the same optimum when there are two
    futures or more (:func:`engine.planning.layout.reduced_layout`; False: every future's
    model as it is).
    """
    floors, risk = floors or FloorRule(), risk or Risk()
    models = models or future_models(scenario, futures)
    # One future has nothing to share: its reduction would cost more than it saves.
    ext = build_extensive(models, floors, risk, first, reduce=reduce and len(models) > 1)
    status, objective, values, seconds, words = run_extensive(ext, options, fixed)
    local = local_solutions(ext, values, models)
    return StochasticPlan(
        scenario=scenario,
        futures=futures,
        floors=floors,
        risk=risk,
        status=status,
        objective=objective,
        seconds=seconds,
        models=models,
        first=ext.first,
        first_values=values[: len(ext.first)].copy(),
        solutions=local,
        values=future_values(ext, values),
        floor_met=floor_met(models, local),
        over_pledge=over_pledge(models, local),
        solver_status=words,
    )


def solve_deterministic(
    scenario: Scenario,
    futures: Futures,
    k: int,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
    model: PlanModel | None = None,
) -> StochasticPlan:
    """The plan for future ``k`` alone (as if it were known): the deterministic model of
    that future under the same floor rule; ``model``: that future's model, else built."""
    return solve_stochastic(
        scenario,
        futures.subset(slice(k, k + 1)),
        floors,
        Risk(),
        options,
        models=None if model is None else [model],
    )
