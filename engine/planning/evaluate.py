"""Out of sample: a plan's first stage fixed, its recourse re-solved in fresh futures.

:class:`RecourseScorer` keeps one HiGHS LP of a single future with the first stage fixed
(so the go/no-go columns are numbers and the recourse is an LP) and, future by future,
changes only the bounds that differ (the members' budgets) and re-solves warm from the
last basis. Every plan is scored the same way: floors soft at the same penalty (so a
floor is met wherever the committed first stage lets the money reach it, and missed
floors are counted, not fatal); a future whose recourse has no plan at all (a committed
project's share above a member's pledge, say) is counted as infeasible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from engine.formulation.build import build_model
from engine.formulation.core import PlanModel
from engine.formulation.patch import patch_bounds, structure_key
from engine.planning.extensive import build_extensive
from engine.planning.futures import Futures
from engine.planning.measures import floor_areas, floor_met, over_pledge
from engine.planning.rules import DEFAULT_PENALTY, FloorRule, Risk, cvar
from engine.planning.stochastic import highs_extensive
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, SolveStatus, highs_outcome, new_highs, pass_model

#: Futures whose models and solutions are held at once while scoring (memory stays flat).
CHUNK = 50


@dataclass
class Scores:
    """A fixed first stage scored on futures."""

    #: Each future's value points less the floors' penalty (NaN where infeasible).
    values: np.ndarray
    feasible: np.ndarray  # (futures,) the recourse has a plan
    floor_met: np.ndarray  # (futures, areas) all of the area's floors met
    over_pledge: np.ndarray  # (futures, members) paid more than pledged
    areas: list[str]
    members: list[str]
    seconds: float

    @property
    def expected(self) -> float:
        """Mean value over the feasible futures."""
        return float(np.mean(self.values[self.feasible])) if self.feasible.any() else np.nan

    def cvar(self, alpha: float = 0.1) -> float:
        """CVaR of value at ``alpha`` over the feasible futures."""
        return cvar(self.values[self.feasible], alpha) if self.feasible.any() else np.nan

    @property
    def infeasible_share(self) -> float:
        """Share of futures in which the committed first stage leaves no plan."""
        return float(1.0 - self.feasible.mean())

    def floor_probability(self) -> dict[str, float]:
        """Share of futures in which each area met all its floors (infeasible: missed)."""
        met = self.floor_met & self.feasible[:, None]
        return {a: float(met[:, i].mean()) for i, a in enumerate(self.areas)}

    def over_pledge_probability(self) -> dict[str, float]:
        """Share of futures in which each member paid more than it pledged (zero)."""
        return {m: float(self.over_pledge[:, i].mean()) for i, m in enumerate(self.members)}


class RecourseScorer:
    """Warm re-solves of one future's recourse with the first stage fixed."""

    def __init__(
        self,
        scenario: Scenario,
        futures: Futures,
        first_values: np.ndarray,
        penalty: float = DEFAULT_PENALTY,
        options: SolverOptions | None = None,
    ) -> None:
        self.scenario, self.futures = scenario, futures
        base = build_model(futures.scenario(scenario, 0))
        self.base = replace(base, structure_key=structure_key(base.scenario))
        self.first_values = np.asarray(first_values, dtype=float)
        self.rule = FloorRule("soft", penalty=penalty)
        self.options = options or SolverOptions()
        self._load(self.base)

    def _load(self, model: PlanModel) -> None:
        """Pass the single-future LP of ``model`` with the first stage fixed."""
        self.ext = build_extensive([model], self.rule, Risk())
        self.h = new_highs(self.options)
        pass_model(self.h, highs_extensive(self.ext, self.first_values))
        self.loaded = model
        self.cols = self.ext.colmap[0]

    def _retarget(self, model: PlanModel) -> None:
        """Change the loaded LP's bounds to ``model``'s (same structure)."""
        old, n = self.loaded, model.n_rows
        rows = np.flatnonzero((model.row_lo != old.row_lo) | (model.row_hi != old.row_hi))
        if len(rows):
            self.h.changeRowsBounds(
                len(rows), rows.astype(np.int32), model.row_lo[rows], model.row_hi[rows]
            )
        fixed = np.zeros(model.n_cols, dtype=bool)
        fixed[self.ext.first] = True
        moved = (model.col_lb != old.col_lb) | (model.col_ub != old.col_ub)
        cols = np.flatnonzero(moved & ~fixed)
        if len(cols):
            ext_cols = self.cols[cols].astype(np.int32)
            self.h.changeColsBounds(len(cols), ext_cols, model.col_lb[cols], model.col_ub[cols])
        assert n == self.ext.n_rows
        self.loaded = model

    def fix(self, first_values: np.ndarray) -> None:
        """Fix the first stage at new values (the shared columns come first)."""
        self.first_values = np.asarray(first_values, dtype=float)
        n = len(self.first_values)
        idx = np.arange(n, dtype=np.int32)
        self.h.changeColsBounds(n, idx, self.first_values, self.first_values)

    def gradient(self) -> np.ndarray:
        """After a solve: d value / d first stage (the fixed columns' reduced costs)."""
        dual = np.asarray(self.h.getSolution().col_dual, dtype=float)
        return dual[: len(self.first_values)]

    def unfixed_bound(self, model: PlanModel) -> float:
        """The value of ``model``'s future with the first stage free and continuous (an
        upper bound on its value under any first stage)."""
        n = len(self.first_values)
        idx = np.arange(n, dtype=np.int32)
        self.prepare(model)
        self.h.changeColsBounds(n, idx, self.ext.col_lb[:n], self.ext.col_ub[:n])
        feasible, value, _ = self.solve_one(model, prepared=True)
        self.fix(self.first_values)
        return value if feasible else -np.inf

    def model_for(self, k: int) -> PlanModel:
        """Future k's model, patched from the base when only bounds differ."""
        sc = self.futures.scenario(self.scenario, k)
        return patch_bounds(self.base, sc) or build_model(sc)

    def prepare(self, model: PlanModel) -> None:
        """Make the loaded LP ``model``'s: bounds changed in place, or loaded anew."""
        same = model.objective == self.loaded.objective and np.array_equal(
            model.row_vals, self.loaded.row_vals
        )
        if same:
            self._retarget(model)
        else:
            self._load(model)

    def solve_one(self, model: PlanModel, prepared: bool = False) -> tuple[bool, float, np.ndarray]:
        """Re-solve the recourse for ``model``: feasible, value, local solution."""
        if not prepared:
            self.prepare(model)
        self.h.run()
        status, _stop, _words = highs_outcome(self.h)
        if status is not SolveStatus.OPTIMAL:
            return False, np.nan, np.zeros(model.n_cols)
        values = np.asarray(self.h.getSolution().col_value, dtype=float)
        return True, float(self.h.getInfo().objective_function_value), values[self.cols]

    def recourse(self, futures: list[int], keep: bool = False) -> Recourse:
        """Re-solve the recourse of ``futures`` (indices, in this order) and measure it
        (:meth:`measure`); their models are then forgotten."""
        return self.measure([self.model_for(k) for k in futures], keep)

    def measure(self, models: list[PlanModel], keep: bool = False) -> Recourse:
        """Re-solve the recourse of each of ``models`` in turn and measure it; ``keep``:
        with the futures' column values."""
        n = len(models)
        values, feasible = np.full(n, np.nan), np.zeros(n, dtype=bool)
        solutions = np.zeros((n, self.base.n_cols))
        for i, model in enumerate(models):
            feasible[i], values[i], solutions[i] = self.solve_one(model)
        return Recourse(
            values=values,
            feasible=feasible,
            floor_met=floor_met(models, solutions),
            over_pledge=over_pledge(models, solutions),
            solutions=solutions if keep else None,
        )

    def score(self) -> Scores:
        """Every future's recourse, value and measures (:data:`CHUNK` models at a time)."""
        start = time.perf_counter()
        n = len(self.futures)
        parts = [self.recourse(list(range(a, min(a + CHUNK, n)))) for a in range(0, n, CHUNK)]
        return scores_of(parts, self.base, self.scenario, time.perf_counter() - start)


@dataclass
class Recourse:
    """The recourse of a group of futures at a fixed first stage, measured."""

    values: np.ndarray  # (futures,) value less the floors' penalty; NaN: no plan
    feasible: np.ndarray  # (futures,)
    floor_met: np.ndarray  # (futures, areas of floor_areas)
    over_pledge: np.ndarray  # (futures, members)
    solutions: np.ndarray | None = None  # (futures, n_cols) when kept


def joined(parts: list[Recourse]) -> Recourse:
    """Consecutive groups' recourse as one (column values only if every group kept them)."""
    kept = [p.solutions for p in parts if p.solutions is not None]
    return Recourse(
        values=np.concatenate([p.values for p in parts]),
        feasible=np.concatenate([p.feasible for p in parts]),
        floor_met=np.concatenate([p.floor_met for p in parts]),
        over_pledge=np.concatenate([p.over_pledge for p in parts]),
        solutions=np.concatenate(kept) if len(kept) == len(parts) else None,
    )


def scores_of(parts: list[Recourse], base: PlanModel, scenario: Scenario, seconds: float) -> Scores:
    """The scores of consecutive groups' recourse (``base``: any future's model, for the
    areas' names; ``seconds``: the time it took)."""
    every = joined(parts)
    return Scores(
        values=every.values,
        feasible=every.feasible,
        floor_met=every.floor_met,
        over_pledge=every.over_pledge,
        areas=floor_areas(base),
        members=[m.id for m in scenario.members],
        seconds=seconds,
    )


def score_first_stage(
    scenario: Scenario,
    futures: Futures,
    first_values: np.ndarray,
    penalty: float = DEFAULT_PENALTY,
    options: SolverOptions | None = None,
) -> Scores:
    """Score a first stage (the values of :func:`engine.planning.extensive.first_stage`'s
    columns) on ``futures`` by warm re-solves of each future's recourse."""
    return RecourseScorer(scenario, futures, first_values, penalty, options).score()
