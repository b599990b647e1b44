"""A Benders-type decomposition of the two-stage programme (multi-cut L-shaped method).

For many futures the extensive form is one large MIP. Here the first stage is decided by
a small master problem and each future's recourse is a warm LP re-solve with the first
stage fixed (:class:`engine.planning.evaluate.RecourseScorer`):

- the master holds the full model of a few futures ``S`` (to start, the future with the
  least money; so every first-stage rule is in it), and for every other future k a value
  ``theta_k`` bounded by cuts ``theta_k <= Q_k(y^) + g_k (y - y^)``, where ``Q_k(y^)`` is
  the future's recourse value at the master's first stage ``y^`` and ``g_k`` its gradient
  (the reduced costs of the fixed first-stage columns). A future's value is concave in
  the (relaxed) first stage, so every cut is valid and the master's objective is an upper
  bound; the value of ``y^`` in every future is a lower bound;
- a future whose recourse has no plan at ``y^`` joins ``S`` (its rules then hold in the
  master), so the plan returned is feasible in every future;
- it stops when the bounds agree to ``tolerance`` (relative): the same optimum as the
  extensive form, reached through per-future LPs whose memory does not grow with the
  futures processed.

Expected value with soft floors (the default) only: CVaR and chance constraints couple the
futures in one row and stay with the extensive form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from engine.formulation.core import INF, PlanModel
from engine.planning.evaluate import RecourseScorer
from engine.planning.extensive import Extensive, build_extensive, first_stage, future_models
from engine.planning.futures import Futures
from engine.planning.measures import floor_met, over_pledge
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import StochasticPlan, run_extensive
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, SolveStatus


@dataclass
class Decomposed:
    """The first stage found by decomposition and how it got there."""

    first_values: np.ndarray
    objective: float  # the plan's expected value over the futures (lower bound)
    bound: float  # the master's upper bound
    iterations: int
    cuts: int
    held: list[int]  # futures whose full model is in the master
    seconds: float

    @property
    def gap(self) -> float:
        """Relative gap between the bounds."""
        return (self.bound - self.objective) / max(1.0, abs(self.bound))


@dataclass
class _Cuts:
    future: list[int]
    coef: list[np.ndarray]
    rhs: list[float]


def _master(
    models: list[PlanModel], held: list[int], floors: FloorRule, upper: np.ndarray, cuts: _Cuts
) -> tuple[Extensive, np.ndarray]:
    """The master: the held futures' extensive form (weights 1/N) plus ``theta_k``."""
    n = len(models)
    probs = np.full(len(held), 1.0 / n)
    ext = build_extensive([models[k] for k in held], floors, Risk(), probs=probs)
    free = [k for k in range(n) if k not in held]
    n0, n_s = ext.matrix.shape[1], len(ext.first)
    theta = {k: n0 + i for i, k in enumerate(free)}
    keep = [i for i, k in enumerate(cuts.future) if k in theta]
    rows = len(keep)
    data, ri, ci = [], [], []
    for r, i in enumerate(keep):
        coef = cuts.coef[i]
        nz = np.flatnonzero(coef)
        data += [1.0, *(-coef[nz]).tolist()]
        ri += [r] * (1 + len(nz))
        ci += [theta[cuts.future[i]], *nz.tolist()]
    block = sp.csr_matrix((data, (ri, ci)), shape=(rows, n0 + len(free)))
    wide = sp.hstack([ext.matrix, sp.csr_matrix((ext.matrix.shape[0], len(free)))])
    master = replace(
        ext,
        cost=np.concatenate([ext.cost, np.full(len(free), 1.0 / n)]),
        col_lb=np.concatenate([ext.col_lb, np.full(len(free), -INF)]),
        col_ub=np.concatenate([ext.col_ub, upper[free]]),
        row_lo=np.concatenate([ext.row_lo, np.full(rows, -INF)]),
        row_hi=np.concatenate([ext.row_hi, [cuts.rhs[i] for i in keep]]),
        matrix=sp.csr_matrix(sp.vstack([wide, block])),
    )
    assert n_s == len(master.first)
    return master, np.array([theta[k] for k in free], dtype=np.int64)


def solve_benders(
    scenario: Scenario,
    futures: Futures,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
    tolerance: float = 1e-6,
    max_iterations: int = 200,
    models: list[PlanModel] | None = None,
) -> Decomposed:
    """The expected-value two-stage plan by the multi-cut L-shaped method (see the
    module's docstring). Two phases: cuts from the master's LP relaxation first (cheap
    masters), then the master as a MIP until the bounds agree; every cut stays valid.
    Raises ValueError for rules it does not decompose."""
    floors = floors or FloorRule()
    if floors.mode != "soft":
        raise ValueError("the decomposition takes soft floors (hard: use the extensive form)")
    start = time.perf_counter()
    models = models or future_models(scenario, futures)
    n_first = len(first_stage(models[0]))
    one = futures.subset(slice(0, 1))
    scorer = RecourseScorer(scenario, one, np.zeros(n_first), floors.penalty, options)
    state = _State(
        models=models,
        held=[int(np.argmin(futures.totals().sum(axis=1)))],
        upper=np.array([scorer.unfixed_bound(m) for m in models]),
        cuts=_Cuts([], [], []),
        relaxed=bool(models[0].integer),
    )
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        if _iterate(state, scorer, floors, options, tolerance):
            break
    if state.best_y is None:
        raise ValueError(f"no plan within {max_iterations} iterations")
    return Decomposed(
        state.best_y,
        state.best,
        state.bound,
        iteration,
        len(state.cuts.rhs),
        state.held,
        time.perf_counter() - start,
    )


@dataclass
class _State:
    models: list[PlanModel]
    held: list[int]
    upper: np.ndarray
    cuts: _Cuts
    relaxed: bool  # the master's binaries relaxed (first phase)
    best: float = -np.inf
    best_y: np.ndarray | None = None
    bound: float = np.inf


def _iterate(
    state: _State,
    scorer: RecourseScorer,
    floors: FloorRule,
    options: SolverOptions | None,
    tolerance: float,
) -> bool:
    """One master solve and one recourse re-solve per free future; True when done."""
    models, n = state.models, len(state.models)
    master, theta = _master(models, state.held, floors, state.upper, state.cuts)
    if state.relaxed:
        master = replace(master, integer=np.zeros(0, dtype=np.int64))
    status, objective, values, _s, words = run_extensive(master, options)
    if status.value not in ("optimal", "feasible"):
        raise ValueError(f"the master problem has no plan ({words})")
    y = values[: len(master.first)]
    scorer.fix(y)
    free = [k for k in range(n) if k not in state.held]
    total, joined = objective - float(values[theta].sum()) / n, []
    for i, k in enumerate(free):
        feasible, q, _ = scorer.solve_one(models[k])
        if not feasible:
            joined.append(k)
            continue
        total += q / n
        if values[theta[i]] > q + tolerance * max(1.0, abs(q)):
            g = scorer.gradient()
            state.cuts.future.append(k)
            state.cuts.coef.append(g)
            state.cuts.rhs.append(q - float(g @ y))
    if joined:
        state.held += joined
        return False
    converged = objective - total <= tolerance * max(1.0, abs(objective))
    if state.relaxed:
        state.relaxed = not converged  # the LP phase is over: binaries from now on
        return False
    state.bound = objective
    if total > state.best:
        state.best, state.best_y = total, y.copy()
    return state.bound - state.best <= tolerance * max(1.0, abs(state.bound))


def plan_from_first_stage(
    scenario: Scenario,
    futures: Futures,
    first_values: np.ndarray,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
    seconds: float = 0.0,
) -> StochasticPlan:
    """The plan of a first stage found by decomposition, with each future's recourse
    (one warm LP per future), in the form :func:`solve_stochastic` returns."""
    floors = floors or FloorRule()
    scorer = RecourseScorer(scenario, futures, first_values, floors.penalty, options)
    n = len(futures)
    models = [scorer.model_for(k) for k in range(n)]
    solutions = np.zeros((n, models[0].n_cols))
    values = np.zeros(n)
    for k, model in enumerate(models):
        feasible, values[k], solutions[k] = scorer.solve_one(model)
        if not feasible:
            raise ValueError(f"future {k} has no plan under the decomposed first stage")
    return StochasticPlan(
        scenario=scenario,
        futures=futures,
        floors=floors,
        risk=Risk(),
        status=SolveStatus.OPTIMAL,
        objective=float(values.mean()),
        seconds=seconds,
        models=models,
        first=first_stage(models[0]),
        first_values=np.asarray(first_values, dtype=float),
        solutions=solutions,
        values=values,
        floor_met=floor_met(models, solutions),
        over_pledge=over_pledge(models, solutions),
        solver_status="benders",
    )
