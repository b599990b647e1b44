"""Exact ranging of an area's priority: how far the costs of a plan's LP may move along a
direction while the plan stays optimal, whatever the degeneracy.

A solver's ranging (HiGHS's ``getRanging``) reports how far one cost may move before the
optimal *basis* changes. An area's priority moves many costs at once (its value columns
in every year), and when the plan is degenerate (more bounds tight than a basis needs,
common in allocation plans where floors, ceilings and budgets all bind) the basis
changes long before the plan does. Here the range is that of the plan itself, found by
two small LPs over its optimality conditions (maximisation ``max c x : L <= A x <= U,
l <= x <= u``): row duals ``y`` must exist with every reduced cost ``c + t d - A^T y``
<= 0 where the plan sits at a lower bound, >= 0 at an upper bound and 0 between, and
every ``y_i`` <= 0, >= 0 or 0 likewise for its row's activity; the LPs push ``t`` down
and up. Columns and rows are the model's (model units); see
:mod:`engine.analysis.sensitivity`.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from engine.formulation.core import PlanModel
from engine.results.schema import PlanArrays
from engine.solving.backends import SolverOptions, new_highs, pass_model

#: A plan's value within this of a bound (model units, relative above 1) sits at it.
AT_BOUND = 1e-7

_INF = highspy.kHighsInf


def _sides(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Where each value sits: +1 at its lower bound only, -1 at its upper bound only,
    0 strictly between, NaN at both (fixed)."""
    with np.errstate(invalid="ignore"):
        at_lo = np.isfinite(lower) & (np.abs(value - lower) <= AT_BOUND * (1 + np.abs(lower)))
        at_hi = np.isfinite(upper) & (np.abs(value - upper) <= AT_BOUND * (1 + np.abs(upper)))
    side = np.where(at_lo, 1.0, np.where(at_hi, -1.0, 0.0))
    side[at_lo & at_hi] = np.nan
    return side


def _matrix(model: PlanModel) -> sp.csr_matrix:
    return sp.csr_matrix(
        (model.row_vals, model.row_cols, model.row_start), shape=(model.n_rows, model.n_cols)
    )


def _cost(model: PlanModel) -> np.ndarray:
    cost = np.zeros(model.n_cols)
    for j, v in model.objective.items():
        cost[j] = v
    return cost


def _lp(
    matrix: sp.csc_matrix,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = matrix.shape
    lp.col_cost_ = np.zeros(matrix.shape[1])
    lp.col_lower_, lp.col_upper_ = col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    return lp


def _extremes(h: highspy.Highs, col: int) -> tuple[float, float]:
    """The least and the greatest value of column ``col`` over the LP loaded in ``h``
    (infinite where unbounded, NaN where infeasible: solver round-off only)."""
    ends = []
    for sense in (1.0, -1.0):
        h.changeColCost(col, sense)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            ends.append(float(h.getSolution().col_value[col]))
        elif status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            ends.append(-sense * np.inf)
        else:
            ends.append(float("nan"))
    h.changeColCost(col, 0.0)
    return ends[0], ends[1]


class CostRanges:
    """How far the costs may move along a direction while the plan stays optimal (one
    HiGHS model; each direction changes only the coefficients of ``t``)."""

    def __init__(self, model: PlanModel, arrays: PlanArrays) -> None:
        col_side = _sides(arrays.col_value[: model.n_cols], model.col_lb, model.col_ub)
        row_side = _sides(arrays.row_value[: model.n_rows], model.row_lo, model.row_hi)
        self.cols = np.flatnonzero(~np.isnan(col_side))
        self.cost = _cost(model)
        side, c = col_side[self.cols], self.cost[self.cols]
        # Constraints per column: A^T y - t d >= c at a lower bound, <= c at an upper
        # bound, = c between. Variables y_i: <= 0 where the row sits at its lower bound,
        # >= 0 at its upper bound, 0 between, free when fixed; then t.
        free = np.isnan(row_side)
        at = _matrix(model).T.tocsr()[self.cols]
        matrix = sp.hstack([at, sp.csc_matrix((len(self.cols), 1))], format="csc")
        lp = _lp(
            matrix,
            np.append(np.where(free | (row_side > 0), -_INF, 0.0), -_INF),
            np.append(np.where(free | (row_side < 0), _INF, 0.0), _INF),
            np.where(side >= 0, c, -_INF),
            np.where(side <= 0, c, _INF),
        )
        self.h = new_highs(SolverOptions())
        pass_model(self.h, lp)
        self.t = model.n_rows
        self._row = np.full(model.n_cols, -1)
        self._row[self.cols] = np.arange(len(self.cols))
        self._set: list[int] = []

    def range(self, direction: np.ndarray) -> tuple[float, float]:
        """The interval of ``t`` over which the plan stays optimal for the costs
        ``cost + t * direction``."""
        for k in self._set:
            self.h.changeCoeff(k, self.t, 0.0)
        rows = self._row[np.flatnonzero(direction)]
        keep = rows >= 0
        self._set = rows[keep].tolist()
        for k, d in zip(self._set, direction[np.flatnonzero(direction)][keep], strict=True):
            self.h.changeCoeff(k, self.t, -float(d))
        return _extremes(self.h, self.t)
