"""Fast re-solves: keep the built model and its HiGHS basis, change numbers in place.

A what-if edit or a batch scenario usually changes only bounds, right-hand sides,
costs or coefficients. :class:`Resolver` builds the new scenario's model (cheap: arrays),
and when its structure (variables, rows, sparsity) matches the model already loaded in
HiGHS, it pushes only the changed numbers and re-solves from the previous basis.
Otherwise it loads the new model cold. Results are identical either way.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from engine.model import PlanModel, build_model
from engine.patch import patch_bounds
from engine.project_solve import solve_integers, with_mip
from engine.result import Result
from engine.scenario import Scenario
from engine.solvers import Solution, SolverOptions, highs_lp, highs_solution, new_highs


class _Loaded:
    """A model loaded in a live ``Highs`` object, with the arrays it was loaded from."""

    def __init__(self, model: PlanModel, options: SolverOptions) -> None:
        self.h = new_highs(options)
        self.h.passModel(highs_lp(model))
        self._remember(model)

    def _remember(self, model: PlanModel) -> None:
        self.names = model.col_names
        self.row_start = np.asarray(model.row_start)
        self.row_cols = np.asarray(model.row_cols)
        self.row_vals = np.asarray(model.row_vals, dtype=float)
        self.col_lb = np.asarray(model.col_lb, dtype=float)
        self.col_ub = np.asarray(model.col_ub, dtype=float)
        self.row_lo = np.asarray(model.row_lo, dtype=float)
        self.row_hi = np.asarray(model.row_hi, dtype=float)
        self.cost = _cost(model)

    def same_structure(self, model: PlanModel) -> bool:
        return (
            len(model.row_cols) == len(self.row_cols)
            and model.col_names == self.names
            and np.array_equal(model.row_start, self.row_start)
            and np.array_equal(model.row_cols, self.row_cols)
        )

    def update(self, model: PlanModel) -> None:
        """Push only the numbers that differ; HiGHS keeps its basis for the warm start."""
        col_lb = np.asarray(model.col_lb, dtype=float)
        col_ub = np.asarray(model.col_ub, dtype=float)
        cols = np.flatnonzero((col_lb != self.col_lb) | (col_ub != self.col_ub))
        if len(cols):
            self.h.changeColsBounds(len(cols), cols.astype(np.int32), col_lb[cols], col_ub[cols])
        row_lo = np.asarray(model.row_lo, dtype=float)
        row_hi = np.asarray(model.row_hi, dtype=float)
        rows = np.flatnonzero((row_lo != self.row_lo) | (row_hi != self.row_hi))
        if len(rows):
            self.h.changeRowsBounds(len(rows), rows.astype(np.int32), row_lo[rows], row_hi[rows])
        cost = _cost(model)
        changed = np.flatnonzero(cost != self.cost)
        if len(changed):
            self.h.changeColsCost(len(changed), changed.astype(np.int32), cost[changed])
        vals = np.asarray(model.row_vals, dtype=float)
        moved = np.flatnonzero(vals != self.row_vals)
        if len(moved):
            row_of = np.searchsorted(self.row_start, moved, side="right") - 1
            for k, i in zip(moved, row_of, strict=True):
                self.h.changeCoeff(int(i), int(self.row_cols[k]), float(vals[k]))
        self._remember(model)

    def run(self) -> Solution:
        start = time.perf_counter()
        self.h.run()
        return highs_solution(self.h, time.perf_counter() - start)


def _cost(model: PlanModel) -> np.ndarray:
    cost = np.zeros(model.n_cols)
    if model.objective:
        idx = np.fromiter(model.objective.keys(), dtype=int)
        cost[idx] = np.fromiter(model.objective.values(), dtype=float)
    return cost


class Resolver:
    """Solve a sequence of related scenarios with HiGHS, warm-starting each from the last.

    ``last_mode`` tells whether the last solve was ``"warm"`` (numbers changed in place)
    or ``"cold"`` (model loaded anew because its structure changed).
    """

    def __init__(self, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()
        self.last_mode = "cold"
        self._value: _Loaded | None = None
        self._tie: _Loaded | None = None
        self._model: PlanModel | None = None
        # The last model as built (before go/no-go decisions were fixed), for patching.
        self._built: PlanModel | None = None
        #: The scenario of the last solve (the model, ranging and basis belong to it).
        self.last_scenario: Scenario | None = None

    def _load(self, slot: _Loaded | None, model: PlanModel) -> tuple[_Loaded, bool]:
        if slot is not None and slot.same_structure(model):
            slot.update(model)
            return slot, True
        return _Loaded(model, self.options), False

    def solve(self, scenario: Scenario, reference: pd.DataFrame | None = None) -> Result:
        """Allocate ``scenario``; among optimal plans return the one closest to
        ``reference`` (an allocation frame) or, without one, to pro rata by priority."""
        from engine.solve import break_ties, extract

        self.last_scenario = scenario
        start = time.perf_counter()
        built = patch_bounds(self._built, scenario) if self._built is not None else None
        model = self._built = built or build_model(scenario)
        build_seconds = time.perf_counter() - start
        model, mip = solve_integers(model, self.options)
        if mip is not None and model.integer:  # the MIP found no plan
            return extract(model, mip, mip, build_seconds)
        self._value, warm = self._load(self._value, model)
        self._model = model
        self.last_mode = "warm" if warm else "cold"
        solution = self._value.run()

        def run_tie_break(tb: PlanModel) -> Solution:
            self._tie, _ = self._load(self._tie, tb)
            return self._tie.run()

        plan = break_ties(model, solution, reference, run_tie_break)
        return extract(model, with_mip(solution, mip), with_mip(plan, mip), build_seconds)

    @property
    def model(self) -> PlanModel:
        """The model of the last solve; raises RuntimeError before any solve."""
        if self._model is None:
            raise RuntimeError("nothing solved yet")
        return self._model

    def ranging(self):
        """HiGHS's ranging (sensitivity) of the last value-maximising solve."""
        if self._value is None:
            raise RuntimeError("nothing solved yet")
        _status, ranging = self._value.h.getRanging()
        return ranging
