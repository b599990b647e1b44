"""Fast re-solves: keep the built model and its HiGHS basis, change numbers in place.

A what-if edit or a batch scenario usually changes only bounds, right-hand sides,
costs or coefficients. :class:`Resolver` builds the new scenario's model (cheap: arrays),
and when its structure (variables, rows, sparsity) matches the model already loaded in
HiGHS, it pushes only the changed numbers and re-solves from the previous basis.
Otherwise it loads the new model cold. Results are identical either way.

With go/no-go projects (a MIP) the previous plan's decisions are tried first: the LP with
them fixed gives a plan, the LP relaxation (integrality dropped) an upper bound on every
plan; when the two meet, those decisions are optimal for the new scenario and no MIP is
run. Among equally good decisions that keeps the previous ones, so a what-if shows only
the consequences of the edit; otherwise the MIP decides, as on a cold solve.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from engine.formulation.build import build_model
from engine.formulation.core import PlanModel
from engine.formulation.patch import patch_bounds
from engine.formulation.projects import fix_integers
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.solving.backends import (
    Solution,
    SolverOptions,
    SolveStatus,
    highs_lp,
    highs_solution,
    new_highs,
    pass_model,
)
from engine.solving.solved import Solved
from engine.solving.stages import solve_stages
from engine.solving.tiebreak import TieBounds, allocation_targets, tie_break_model

#: Relative distance between the plan with the previous go/no-go decisions and the LP
#: relaxation's bound under which those decisions are kept (solver round-off, not a gap).
KEEP_TOLERANCE = 1e-9


#: LPs with at least this many rows are solved cold by interior point with crossover
#: (unless the options name a HiGHS solver): at 208k rows the dual simplex ran over
#: 5 minutes against 82 CPU s (benchmarks/RESULTS_lp.md). Re-solves use the simplex
#: from the crossover's basis.
IPM_ROWS = 50_000


class _Loaded:
    """A model loaded in a live ``Highs`` object, with the arrays it was loaded from."""

    def __init__(self, model: PlanModel, options: SolverOptions) -> None:
        self.h = new_highs(options)
        pass_model(self.h, highs_lp(model))
        self._remember(model)
        chosen = any(name == "solver" for name, _ in options.highs_options)
        self._interior = not model.integer and model.n_rows >= IPM_ROWS and not chosen
        if self._interior:
            self.h.setOptionValue("solver", "ipm")
            self.h.setOptionValue("run_crossover", "on")

    def _remember(self, model: PlanModel) -> None:
        self.names = model.col_names
        self.row_start, self.row_cols = model.row_start, model.row_cols
        self.row_vals = model.row_vals
        self.col_lb, self.col_ub = model.col_lb, model.col_ub
        self.row_lo, self.row_hi = model.row_lo, model.row_hi
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
        self.update_bounds(model.col_lb, model.col_ub, model.row_lo, model.row_hi)
        cost = _cost(model)
        changed = np.flatnonzero(cost != self.cost)
        if len(changed):
            self.h.changeColsCost(len(changed), changed.astype(np.int32), cost[changed])
            self.cost = cost
        vals = model.row_vals
        moved = np.flatnonzero(vals != self.row_vals)
        if len(moved):
            row_of = np.searchsorted(self.row_start, moved, side="right") - 1
            for k, i in zip(moved, row_of, strict=True):
                self.h.changeCoeff(int(i), int(self.row_cols[k]), float(vals[k]))
            self.row_vals = vals

    def update_bounds(
        self, col_lb: np.ndarray, col_ub: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray
    ) -> None:
        """Push the column and row bounds that differ from the loaded ones."""
        cols = np.flatnonzero((col_lb != self.col_lb) | (col_ub != self.col_ub))
        if len(cols):
            self.h.changeColsBounds(len(cols), cols.astype(np.int32), col_lb[cols], col_ub[cols])
        rows = np.flatnonzero((row_lo != self.row_lo) | (row_hi != self.row_hi))
        if len(rows):
            self.h.changeRowsBounds(len(rows), rows.astype(np.int32), row_lo[rows], row_hi[rows])
        self.col_lb, self.col_ub, self.row_lo, self.row_hi = col_lb, col_ub, row_lo, row_hi

    def run(self, duals: bool = True) -> Solution:
        start = time.perf_counter()
        self.h.run()
        if self._interior:  # later runs start from the crossover's basis
            self.h.setOptionValue("solver", "choose")
            self._interior = False
        return highs_solution(self.h, time.perf_counter() - start, duals=duals)


def _cost(model: PlanModel) -> np.ndarray:
    cost = np.zeros(model.n_cols)
    if model.objective:
        idx = np.fromiter(model.objective.keys(), dtype=int)
        cost[idx] = np.fromiter(model.objective.values(), dtype=float)
    return cost


#: Recent results whose solver bases are kept for what-ifs against them.
MAX_ANCHORS = 8


class _Anchor:
    """A result's allocation frame (held, so its ``id`` stays unique while kept), the HiGHS
    bases (per loaded model) it was solved from, and its flows as tie-break targets once
    read with the flow map ``x``."""

    def __init__(self, allocation: pd.DataFrame, bases: list[tuple[_Loaded, object]]) -> None:
        self.allocation, self.bases = allocation, bases
        self.x: dict | None = None
        self.flows: dict[int, float] | None = None

    def restore(self, slots: list[_Loaded]) -> None:
        """Set the kept bases in the models still loaded (same structure by construction:
        a loaded model whose structure changes is replaced, not updated)."""
        for slot, basis in self.bases:
            if any(slot is s for s in slots):
                slot.h.setBasis(basis)


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
        self._relaxed: _Loaded | None = None
        self._anchors: dict[int, _Anchor] = {}
        # What the loaded tie-break LP was built on: the value slot, its column names
        # (the structure, checked on every load) and the reference's columns.
        self._tie_base: _Loaded | None = None
        self._tie_names: list[str] | None = None
        self._tie_cols = np.zeros(0, dtype=int)
        # The go/no-go decisions of the last plan, with the column names they index.
        self._decisions: tuple[list[str], np.ndarray] | None = None
        self._model: PlanModel | None = None
        # The last model as built (before go/no-go decisions were fixed), for patching.
        self._built: PlanModel | None = None
        #: The scenario of the last solve (the model, ranging and basis belong to it).
        self.last_scenario: Scenario | None = None
        # The anchor of this solve's reference, when its bases were kept.
        self._anchor: _Anchor | None = None

    def _load(self, slot: _Loaded | None, model: PlanModel) -> tuple[_Loaded, bool]:
        if slot is not None and slot.same_structure(model):
            slot.update(model)
            slot.names = model.col_names
            return slot, True
        return _Loaded(model, self.options), False

    def solve(
        self,
        scenario: Scenario,
        reference: pd.DataFrame | None = None,
        content_sha256: str | None = None,
    ) -> Result:
        """Allocate ``scenario``; among optimal plans return the one closest to
        ``reference`` (an allocation frame) or, without one, to pro rata by priority.
        ``content_sha256``: the scenario's :func:`engine.solving.tiebreak.scenario_sha256` when the
        caller has computed it already (a batch's scenario id), to skip hashing again."""
        solved = self.solve_arrays(scenario, reference, content_sha256)
        result = solved.result()
        if result.ok:
            self._remember_anchor(result.allocation, solved.model)
        return result

    def solve_arrays(
        self,
        scenario: Scenario,
        reference: pd.DataFrame | None = None,
        content_sha256: str | None = None,
    ) -> Solved:
        """:meth:`solve` without building the result's frames (a batch stores a few
        columns of them, read straight from the arrays): the stages of
        :func:`engine.solving.stages.solve_stages`, this resolver their HiGHS backend."""
        anchor = self._anchors.pop(id(reference), None)
        self._anchor = None
        if anchor is not None and anchor.allocation is reference:
            anchor.restore(self._slots())
            self._anchors[id(reference)] = anchor  # most recently used last
            self._anchor = anchor
        self.last_scenario = scenario
        self.last_mode = "cold"  # until a stage re-solves warm (a MIP search starts afresh)
        return solve_stages(self, scenario, reference, content_sha256)

    # The stages' backend (see engine.solving.stages.Backend).

    def build(self, scenario: Scenario) -> PlanModel:
        """The last model patched to ``scenario`` when only bounds differ, else built."""
        patched = patch_bounds(self._built, scenario) if self._built is not None else None
        self._built = patched or build_model(scenario)
        return self._built

    def solve_value(self, model: PlanModel) -> Solution:
        """The value LP, warm from the loaded one when the structure is the same."""
        self._value, warm = self._load(self._value, model)
        self.last_mode = "warm" if warm else "cold"
        return self._value.run()

    def value_solved(
        self, built: PlanModel, model: PlanModel, mip: Solution | None, solution: Solution
    ) -> None:
        """Keep the model, and the go/no-go decisions of an optimal plan for next time."""
        self._model = model
        self._decisions = None
        if mip is not None and solution.status is SolveStatus.OPTIMAL:
            ints = sorted(built.integer)
            self._decisions = (built.col_names, np.round(solution.col_value[ints]))

    def reference_flows(
        self, model: PlanModel, reference: pd.DataFrame | None
    ) -> dict[int, float] | None:
        """The reference's flows, kept with its anchor while the flow map is the same."""
        anchor = self._anchor
        if anchor is None or reference is None or anchor.allocation is not reference:
            return None
        if anchor.x is not model.x or anchor.flows is None:
            anchor.x, anchor.flows = model.x, allocation_targets(model, reference)
        return anchor.flows

    def _slots(self) -> list[_Loaded]:
        return [s for s in (self._value, self._relaxed) if s is not None]

    def _remember_anchor(self, allocation: pd.DataFrame, model: PlanModel) -> None:
        """Keep the bases that produced ``allocation``: a later solve that takes it as its
        reference (a what-if against this baseline) starts its value LPs from them. The
        tie-break LP keeps its last basis: the baseline's own tie-break aimed at other
        targets and measured twice the iterations as a start."""
        bases = [(s, s.h.getBasis()) for s in self._slots()]
        self._anchors[id(allocation)] = _Anchor(allocation, bases)
        while len(self._anchors) > MAX_ANCHORS:
            self._anchors.pop(next(iter(self._anchors)))

    def solve_tie_break(
        self, model: PlanModel, first: Solution, reference: dict[int, float], bounds: TieBounds
    ) -> Solution:
        """Solve the tie-break LP; when only its bounds changed (the value LP kept its
        structure and the reference its columns), push them without building the model."""
        cols = np.fromiter(reference.keys(), dtype=int, count=len(reference))
        base = self._tie_base
        if (
            self._tie is not None
            and base is not None
            and base is self._value
            and base.names is self._tie_names
            and np.array_equal(cols, self._tie_cols)
        ):
            self._tie.update_bounds(bounds.col_lb, bounds.col_ub, bounds.row_lo, bounds.row_hi)
            return self._tie.run(duals=False)  # the plan's duals are the value LP's
        tie = tie_break_model(model, first, reference, bounds)
        self._tie, _ = self._load(self._tie, tie)
        self._tie_base, self._tie_names, self._tie_cols = self._value, model.col_names, cols
        return self._tie.run(duals=False)

    def keep_decisions(self, built: PlanModel) -> tuple[PlanModel, Solution, Solution] | None:
        """The LP with the previous plan's go/no-go decisions fixed, a MIP-like solution
        and the LP's solution, when those decisions are provably optimal for ``built``;
        None when there are none to keep, margins are wanted, or the proof fails."""
        if (
            not built.integer
            or self._decisions is None
            or self.options.project_margins
            or self.options.solver != "highs"
        ):
            return None
        names, values = self._decisions
        if names is not built.col_names and names != built.col_names:
            return None
        ints = sorted(built.integer)
        current = np.zeros(built.n_cols)
        current[ints] = values
        fixed = fix_integers(built, current)
        self._relaxed, _ = self._load(self._relaxed, replace(built, integer=set()))
        bound = self._relaxed.run()
        self._value, _ = self._load(self._value, fixed)
        plan = self._value.run()
        optimal = SolveStatus.OPTIMAL
        if bound.status is not optimal or plan.status is not optimal:
            return None
        gap = (bound.objective - plan.objective) / max(1.0, abs(bound.objective))
        if gap > KEEP_TOLERANCE:
            return None
        fixed.projects = replace(built.projects, margins={})
        mip = replace(plan, mip_gap=max(gap, 0.0), seconds=bound.seconds)
        self.last_mode = "warm"
        return fixed, mip, plan

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
