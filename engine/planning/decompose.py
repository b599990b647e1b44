"""A Benders-type decomposition of the two-stage programme (L-shaped, multi-cut by group).

For many futures the extensive form is one large MIP. Here the first stage is decided by
a small master problem and each future's recourse is a warm LP re-solve with the first
stage fixed (:class:`engine.planning.evaluate.RecourseScorer`), run on a pool of workers
(:mod:`engine.planning.pool`: in process, local processes or a Dask cluster):

- the master holds the full model of a few futures ``S`` (to start, the future with the
  least money; so every first-stage rule is in it), and for every group ``g`` of the other
  futures a value ``theta_g`` bounded by cuts ``theta_g <= sum_k [Q_k(y^) + g_k (y - y^)]``
  over the group's futures, where ``Q_k(y^)`` is the future's recourse value at the
  master's first stage ``y^`` and ``g_k`` its gradient (the reduced costs of the fixed
  first-stage columns). A future's value is concave in the (relaxed) first stage, so every
  cut is valid and the master's objective is an upper bound; the value of ``y^`` in every
  future is a lower bound. One group per future is the multi-cut method, one group in all
  the single-cut one; groups in between keep the master small (its cuts grow with the
  groups, not the futures) with few iterations;
- a future whose recourse has no plan at ``y^`` joins ``S`` (its rules then hold in the
  master; its group's cuts are dropped), so the plan returned is feasible in every future;
- it stops when the bounds agree to ``tolerance`` (relative): the same optimum as the
  extensive form. The master lives in one HiGHS object and takes each round's cuts in
  place (a warm re-solve); the driver holds the futures' pledges and the cuts, the workers
  one LP each, so memory is flat in the number of futures processed.

Expected value with soft floors (the default) only: CVaR and chance constraints couple the
futures in one row and stay with the extensive form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.formulation.build import build_model
from engine.formulation.core import INF
from engine.planning.evaluate import RecourseScorer, joined
from engine.planning.extensive import build_extensive, first_stage
from engine.planning.futures import Futures
from engine.planning.pool import (
    GroupReply,
    Pool,
    Subproblems,
    open_pool,
    peak_rss_mb,
    solve_group,
)
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import StochasticPlan, highs_extensive
from engine.planning.tasks import pooled_recourse
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, SolveStatus, highs_outcome, new_highs, pass_model

#: Groups of futures with one cut each per round (multi-cut by group).
DEFAULT_GROUPS = 50
#: Rounds a cut may stay slack in the LP phase before it is dropped.
CUT_AGE = 5


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
    #: Per round: ``iteration, phase (lp|mip), bound, value, cuts, futures_solved,
    #: seconds, driver_rss_mb, worker_rss_mb`` (peak resident memory so far).
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)
    workers: int = 1

    @property
    def gap(self) -> float:
        """Relative gap between the bounds."""
        return (self.bound - self.objective) / max(1.0, abs(self.bound))


class _Master:
    """The master problem in one HiGHS object: the held futures' extensive form (weights
    1/N), one ``theta_g`` per group, and the cuts, added in place."""

    def __init__(
        self, work: Subproblems, held: list[int], upper: np.ndarray, floors: FloorRule
    ) -> None:
        import highspy

        n = len(work.futures)
        models = [build_model(work.futures.scenario(work.scenario, k)) for k in held]
        ext = build_extensive(models, floors, Risk(), probs=np.full(len(held), 1.0 / n))
        self.n_first, self.integer = len(ext.first), ext.integer
        self.h = new_highs(work.options or SolverOptions())
        pass_model(self.h, highs_extensive(ext))
        base = ext.matrix.shape[1]
        empty = np.zeros(0, dtype=np.int32)
        self.h.addCols(
            len(upper), np.full(len(upper), 1.0 / n), np.full(len(upper), -INF), upper, 0,
            empty, empty, np.zeros(0),
        )  # fmt: skip
        self.theta = base + np.arange(len(upper), dtype=np.int32)
        self.first_cut = ext.matrix.shape[0]
        self.kinds = highspy.HighsVarType
        self.relax(True)

    def relax(self, relaxed: bool) -> None:
        """Binaries relaxed (the first phase) or integer."""
        if len(self.integer):
            kind = self.kinds.kContinuous if relaxed else self.kinds.kInteger
            idx = self.integer.astype(np.int32)
            self.h.changeColsIntegrality(len(idx), idx, np.full(len(idx), kind))

    def add_cut(self, group: int, gradient: np.ndarray, rhs: float) -> None:
        """``theta_group - gradient . y <= rhs``."""
        nz = np.flatnonzero(gradient).astype(np.int32)
        idx = np.concatenate([[self.theta[group]], nz]).astype(np.int32)
        vals = np.concatenate([[1.0], -gradient[nz]])
        self.h.addRow(-INF, rhs, len(idx), idx, vals)

    def binding(self, rhs: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
        """After a solve: which cuts (in the order added, right-hand sides ``rhs``) hold
        with equality."""
        solution = self.h.getSolution()
        activity = np.asarray(solution.row_value, dtype=float)[self.first_cut :]
        return rhs - activity <= tolerance * np.maximum(1.0, np.abs(rhs))

    def drop_cuts(self, keep: np.ndarray) -> None:
        """Delete the cuts not in ``keep`` (a mask in the order added)."""
        rows = (self.first_cut + np.flatnonzero(~keep)).astype(np.int32)
        if len(rows):
            self.h.deleteRows(len(rows), rows)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        """The master's objective, first stage and thetas; raises ValueError without one."""
        self.h.run()
        status, _stop, words = highs_outcome(self.h)
        if status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            raise ValueError(f"the master problem has no plan ({words})")
        values = np.asarray(self.h.getSolution().col_value, dtype=float)
        objective = float(self.h.getInfo().objective_function_value)
        return objective, values[: self.n_first].copy(), values[self.theta]


@dataclass
class _State:
    work: Subproblems
    floors: FloorRule
    held: list[int]
    groups: list[list[int]]
    bounds: np.ndarray  # each future's value with the first stage free
    cuts: list[tuple[int, np.ndarray, float]] = field(default_factory=list)
    ages: list[int] = field(default_factory=list)  # rounds since each cut last held
    relaxed: bool = True  # the master's binaries relaxed (first phase)
    best: float = -np.inf
    best_y: np.ndarray | None = None
    bound: float = np.inf
    solved: int = 0
    rows: list[dict] = field(default_factory=list)
    master: _Master | None = None

    def build_master(self) -> _Master:
        """The master anew (after a future joined): the groups' bounds and kept cuts."""
        upper = np.array([self.bounds[g].sum() for g in self.groups])
        master = _Master(self.work, self.held, upper, self.floors)
        master.relax(self.relaxed)
        for group, gradient, rhs in self.cuts:
            master.add_cut(group, gradient, rhs)
        self.master = master
        return master

    def prune(self, binding: np.ndarray, max_age: int) -> None:
        """Age the cuts (``binding``: held at the last master solution) and drop those
        slack for more than ``max_age`` rounds: dropping a valid cut only relaxes the
        master, and keeps it (and the driver's memory) from growing round by round."""
        assert self.master is not None
        self.ages = [0 if b else a + 1 for a, b in zip(self.ages, binding, strict=True)]
        keep = np.array([a <= max_age for a in self.ages], dtype=bool)
        self.master.drop_cuts(keep)
        self.cuts = [c for c, k in zip(self.cuts, keep, strict=True) if k]
        self.ages = [a for a, k in zip(self.ages, keep, strict=True) if k]

    def join(self, joined: list[int]) -> None:
        """Move futures into the master; drop the cuts of the groups they left."""
        self.held += joined
        left = {i for i, g in enumerate(self.groups) if set(g) & set(joined)}
        self.groups = [[k for k in g if k not in joined] for g in self.groups]
        kept = [i for i, c in enumerate(self.cuts) if c[0] not in left]
        self.cuts = [self.cuts[i] for i in kept]
        self.ages = [self.ages[i] for i in kept]
        self.build_master()


def _groups(free: list[int], count: int) -> list[list[int]]:
    return [g.tolist() for g in np.array_split(np.array(free, dtype=int), count) if len(g)]


def solve_benders(
    scenario: Scenario,
    futures: Futures,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
    tolerance: float = 1e-6,
    max_iterations: int = 200,
    scheduler: str | None = None,
    groups: int = DEFAULT_GROUPS,
    pool: Pool | None = None,
) -> Decomposed:
    """The expected-value two-stage plan by the L-shaped method, multi-cut by ``groups``
    of futures (see the module's docstring), its re-solves on ``scheduler``'s pool (None:
    in process; ``local[:N]``; a Dask address), or on ``pool``, an open pool whose work's
    futures begin with ``futures`` (it stays open). Two phases: cuts from the master's LP
    relaxation first (cheap masters), then the master as a MIP until the bounds agree;
    every cut stays valid. Raises ValueError for rules it does not decompose, a future
    with no plan at all or a ``pool`` of other work, BatchError for a scheduler it
    cannot reach."""
    floors = floors or FloorRule()
    if floors.mode != "soft":
        raise ValueError("the decomposition takes soft floors (hard: use the extensive form)")
    start = time.perf_counter()
    held = [int(np.argmin(futures.totals().sum(axis=1)))]
    n_first = len(first_stage(build_model(futures.scenario(scenario, held[0]))))
    work = Subproblems(scenario, futures, floors.penalty, n_first, options)
    if pool is not None:
        check_pool(pool, scenario, futures, floors.penalty, options)
    free = [k for k in range(len(futures)) if k not in held]
    own = pool is None
    pool = open_pool(scheduler, work) if pool is None else pool
    try:
        state = _State(work, floors, held, _groups(free, groups), np.zeros(len(futures)))
        replies = pool.map(solve_group, [(None, g) for g in state.groups])
        state.bounds[free] = _joined([r.values for r in replies])
        if not np.isfinite(state.bounds[free]).all():
            bad = free[int(np.argmin(np.isfinite(state.bounds[free])))]
            raise ValueError(f"future {bad} has no plan under any first stage")
        state.solved = len(free)
        state.build_master()
        iteration = 0
        while iteration < max_iterations:
            iteration += 1
            if _iterate(state, pool, tolerance, iteration, start):
                break
        workers = pool.workers
    finally:
        if own:
            pool.close()
    if state.best_y is None:
        raise ValueError(f"no plan within {max_iterations} iterations")
    return Decomposed(
        state.best_y,
        state.best,
        state.bound,
        iteration,
        len(state.cuts),
        state.held,
        time.perf_counter() - start,
        pd.DataFrame(state.rows),
        workers,
    )


def check_pool(
    pool: Pool,
    scenario: Scenario,
    futures: Futures,
    penalty: float,
    options: SolverOptions | None,
) -> None:
    """Raise ValueError unless ``pool``'s workers re-solve ``futures`` (its first futures)
    of ``scenario`` under this penalty and these options."""
    theirs, n = pool.work, len(futures)
    same = (
        theirs.scenario == scenario
        and (theirs.penalty, theirs.options) == (penalty, options)
        and theirs.futures.members == futures.members
        and len(theirs.futures) >= n
        and np.array_equal(theirs.futures.pledges[:n], futures.pledges)
    )
    if not same:
        raise ValueError("the pool's workers hold other work than these futures'")


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _iterate(state: _State, pool: Pool, tolerance: float, iteration: int, start: float) -> bool:
    """One master solve and one recourse re-solve per free future; True when done."""
    assert state.master is not None
    n = len(state.work.futures)
    objective, y, theta = state.master.solve()
    active = state.master.binding(np.array([c[2] for c in state.cuts]))
    replies = pool.map(solve_group, [(y, g) for g in state.groups])
    state.solved += sum(len(g) for g in state.groups)
    values = _joined([r.values for r in replies])
    futures = _joined([np.asarray(g, dtype=int) for g in state.groups]).astype(int)
    joined = futures[~np.isfinite(values)].tolist()
    if joined:
        state.join(joined)
        return False
    q = np.array([float(r.values.sum()) for r in replies])
    total = objective + float((q - theta).sum()) / n
    converged = objective - total <= tolerance * max(1.0, abs(objective))
    if state.relaxed:
        # The LP phase keeps its recent cuts; the MIP phase starts with the binding ones.
        state.prune(active, 0 if converged else CUT_AGE)
    for i, r in enumerate(replies):
        if theta[i] > q[i] + tolerance * max(1.0, abs(q[i])):
            state.cuts.append((i, r.gradient, q[i] - float(r.gradient @ y)))
            state.ages.append(0)
            state.master.add_cut(*state.cuts[-1])
    _trace(state, iteration, objective, total, replies, start)
    if state.relaxed:
        if converged:  # the LP phase is over: binaries from now on
            state.relaxed = False
            state.master.relax(False)
        return False
    state.bound = objective
    if total > state.best:
        state.best, state.best_y = total, y.copy()
    return state.bound - state.best <= tolerance * max(1.0, abs(state.bound))


def _trace(
    state: _State,
    iteration: int,
    objective: float,
    total: float,
    replies: list[GroupReply],
    start: float,
) -> None:
    state.rows.append(
        {
            "iteration": iteration,
            "phase": "lp" if state.relaxed else "mip",
            "bound": objective,
            "value": total,
            "cuts": len(state.cuts),
            "futures_solved": state.solved,
            "seconds": time.perf_counter() - start,
            "worker_cpu_seconds": sum(r.cpu_seconds for r in replies),
            "driver_rss_mb": peak_rss_mb(),
            "worker_rss_mb": max((r.rss_mb for r in replies), default=float("nan")),
        }
    )


def plan_from_first_stage(
    scenario: Scenario,
    futures: Futures,
    first_values: np.ndarray,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
    seconds: float = 0.0,
    pool: Pool | None = None,
) -> StochasticPlan:
    """The plan of a first stage found by decomposition, with each future's recourse
    (one warm LP per future), in the form :func:`solve_stochastic` returns. On ``pool``
    (whose work's futures begin with ``futures``) the re-solves run on its workers and
    the plan keeps future 0's model only (it names every future's columns), not one
    model per future. Raises ValueError where a future has no plan at ``first_values``."""
    floors = floors or FloorRule()
    if pool is None:
        scorer = RecourseScorer(scenario, futures, first_values, floors.penalty, options)
        models = [scorer.model_for(k) for k in range(len(futures))]
        part = scorer.measure(models, keep=True)
    else:
        check_pool(pool, scenario, futures, floors.penalty, options)
        parts = pooled_recourse(pool, first_values, np.arange(len(futures)), keep=True)
        models = [build_model(futures.scenario(scenario, 0))]
        part = joined(parts)
    if not part.feasible.all():
        k = int(np.argmin(part.feasible))
        raise ValueError(f"future {k} has no plan under the decomposed first stage")
    assert part.solutions is not None
    return StochasticPlan(
        scenario=scenario,
        futures=futures,
        floors=floors,
        risk=Risk(),
        status=SolveStatus.OPTIMAL,
        objective=float(part.values.mean()),
        seconds=seconds,
        models=models,
        first=first_stage(models[0]),
        first_values=np.asarray(first_values, dtype=float),
        solutions=part.solutions,
        values=part.values,
        floor_met=part.floor_met,
        over_pledge=part.over_pledge,
        solver_status="benders",
    )
