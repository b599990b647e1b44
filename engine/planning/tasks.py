"""The robust study's per-future solves as tasks on a pool (:mod:`engine.planning.pool`).

Two tasks, each on a group of futures of the pool's work (indices into its pledge cube):

- :func:`recourse_group`: a first stage fixed, each future's recourse re-solved warm on
  the worker's :class:`~engine.planning.evaluate.RecourseScorer` and measured (values,
  floors met, pledges exceeded; the columns' values on request): scoring a plan out of
  sample, the in-sample VSS, the recourse of the decomposition's plan;
- :func:`alone_group`: each future's own optimum (its deterministic MIP), for the EVPI.

A reply holds numbers per future, never a model, so the driver's memory is flat in the
futures. The driver's side (:func:`pooled_scores`, :func:`pooled_recourse`,
:func:`pooled_alone`) splits the futures into groups of :data:`TASK_FUTURES`, maps them on
the pool and puts the replies back in order: the same solves as in one process, so the
same results (up to the solver's tolerances: a warm LP starts from another basis).
"""

from __future__ import annotations

import time

import numpy as np

from engine.formulation.core import PlanModel
from engine.planning.evaluate import Recourse, Scores, scores_of
from engine.planning.futures import Futures
from engine.planning.pool import Pool, Subproblems, scorer_for
from engine.planning.rules import FloorRule
from engine.planning.stochastic import solve_deterministic
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions

#: Futures per task: enough that a task outweighs its round trip, few enough that the
#: workers share the futures evenly.
TASK_FUTURES = 20


def alone_value(
    scenario: Scenario,
    futures: Futures,
    k: int,
    floors: FloorRule,
    options: SolverOptions | None = None,
    model: PlanModel | None = None,
) -> float:
    """Future ``k``'s own optimum under ``floors`` (NaN where it has no plan); ``model``:
    its model, else built."""
    one = solve_deterministic(scenario, futures, k, floors, options, model)
    return one.objective if one.ok else np.nan


def recourse_group(
    work: Subproblems, first_values: np.ndarray, keep: bool, group: list[int]
) -> Recourse:
    """The task: the recourse of the futures ``group`` at ``first_values``, measured."""
    scorer = scorer_for(work)
    if not np.array_equal(first_values, scorer.first_values):
        scorer.fix(first_values)
    return scorer.recourse(group, keep)


def alone_group(
    work: Subproblems, floors: FloorRule, patched: bool, group: list[int]
) -> np.ndarray:
    """The task: each future of ``group`` alone (:func:`alone_value`), its model patched
    from the worker's base model (``patched``) or built."""
    scorer = scorer_for(work) if patched else None
    return np.array(
        [
            alone_value(
                work.scenario,
                work.futures,
                k,
                floors,
                work.options,
                None if scorer is None else scorer.model_for(k),
            )
            for k in group
        ]
    )


def _groups(index: np.ndarray) -> list[list[int]]:
    return [index[a : a + TASK_FUTURES].tolist() for a in range(0, len(index), TASK_FUTURES)]


def pooled_recourse(
    pool: Pool, first_values: np.ndarray, index: np.ndarray, keep: bool = False
) -> list[Recourse]:
    """The recourse of the pool's futures ``index`` at ``first_values``, group by group
    in order (``keep``: with the columns' values)."""
    y = np.asarray(first_values, dtype=float)
    return pool.map(recourse_group, [(y, keep, g) for g in _groups(index)])


def pooled_scores(
    pool: Pool, first_values: np.ndarray, index: np.ndarray, base: PlanModel
) -> Scores:
    """``first_values`` scored on the pool's futures ``index`` (``base``: any future's
    model, for the areas' names), as :func:`engine.planning.evaluate.score_first_stage`."""
    start = time.perf_counter()
    parts = pooled_recourse(pool, first_values, index)
    return scores_of(parts, base, pool.work.scenario, time.perf_counter() - start)


def pooled_alone(pool: Pool, floors: FloorRule, index: np.ndarray, patched: bool) -> np.ndarray:
    """Each of the pool's futures ``index`` alone under ``floors`` (NaN: no plan), its
    model patched from the workers' base model (``patched``, as a plan's own models are)
    or built (as for futures without models)."""
    parts = pool.map(alone_group, [(floors, patched, g) for g in _groups(index)])
    return np.concatenate(parts) if parts else np.zeros(0)
