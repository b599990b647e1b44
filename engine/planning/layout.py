"""Where each future's columns and rows go in the extensive form, and the exact reductions
that make it smaller once the first stage is shared.

:func:`plain_layout` stacks every future's model as it is: the first stage shared, every
other column and every row once per future. :func:`reduced_layout` gives the same optimum
with fewer rows and columns. Its reductions, in the order applied, each checked on the
models (a model without the structure keeps its rows and columns):

1. pooled members (:mod:`engine.planning.pooling`): interchangeable members' later-year
   money is one column per area and year, their budgets one row per year;
2. shared determined columns: a column that an equality row fixes from shared columns (a
   first year's area funding, its total), or whose rows see only shared columns and it
   (the first year's value pieces), takes the same value in every future, so it is shared;
3. shifted lower bounds: a column whose row says it is at least a non-negative
   combination of shared columns (a member's project payments out of its money to the
   area, the projects' costs out of an area's funding) is replaced by its excess over
   that bound, and the row is gone;
4. aggregated flows (:mod:`engine.planning.transport`): a later year's member-to-area
   flows become each budget's spend under Gale's supply-demand conditions;
5. eliminated carries: a carry-over column in exactly two ``<=`` rows, the first otherwise
   over shared columns (the first year's budget), is eliminated (Fourier-Motzkin): the
   first row, without it, is kept once and the second absorbs the first;
6. rows kept once: a row that sees only shared columns binds the same columns in every
   future, so it is kept once, its bounds the tightest over the futures (the go/no-go
   rules, the first year's funding, value, ceiling and policy rows, the first year's
   budgets).

:meth:`Layout.recover` undoes 5, 4, 3 and 1 on each future's solution, in that order, so
that every future has a solution over its own model's columns meeting its own rows.
Floor rows always stay per future (soft and chance floors add a shortfall per future).
Rows a reduction emptied may hold the conditions of a later one (step 4); the row map of
the extensive form says where each model row went.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from engine.formulation.core import PlanModel
from engine.formulation.rows import RowKind
from engine.planning.pooling import Pool, find_pools, pool_rows, pooled_columns, unpool
from engine.planning.transport import Transport, Year, aggregate


@dataclass(frozen=True)
class Carry:
    """An eliminated column: the slack of its first row (``coef`` its coefficient there),
    whose other terms are ``cols``/``vals``, with bound ``hi`` per future."""

    col: int
    coef: float
    cols: np.ndarray
    vals: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class Shift:
    """A column replaced by its excess over a lower bound on shared columns: the column's
    value is the solved one plus ``cols . vals``."""

    col: int
    cols: np.ndarray
    vals: np.ndarray


@dataclass
class Layout:
    """The futures' models laid out for stacking (model indices, future 0's numbering)."""

    #: Per future: its rows' coefficients (model rows x model columns), after reduction.
    matrices: list[sp.csr_matrix]
    row_lo: np.ndarray  # (futures, model rows)
    row_hi: np.ndarray
    shared: np.ndarray  # columns shared by all futures, the first stage first
    recourse: np.ndarray  # columns with a copy per future
    once: np.ndarray  # rows kept once (over shared columns only)
    each: np.ndarray  # rows with a copy per future
    pools: list[Pool] = field(default_factory=list)
    carries: list[Carry] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    transports: list[Transport] = field(default_factory=list)

    def recover(self, solutions: np.ndarray, models: list[PlanModel]) -> None:
        """Fill the columns the reductions took out (in place on ``solutions``, futures x
        model columns): each eliminated carry at its row's slack, then each pool's money
        split among its members."""
        for c in self.carries:
            slack = (c.hi - solutions[:, c.cols] @ c.vals) / c.coef
            solutions[:, c.col] = np.maximum(slack, 0.0)
        for transport in self.transports:
            transport.recover(solutions)
        for shift in self.shifts:
            solutions[:, shift.col] += solutions[:, shift.cols] @ shift.vals
        unpool(solutions, self.pools, models)


def _matrix(model: PlanModel) -> sp.csr_matrix:
    return sp.csr_matrix(
        (model.row_vals, model.row_cols, model.row_start), shape=(model.n_rows, model.n_cols)
    )


def plain_layout(models: list[PlanModel], first: np.ndarray) -> Layout:
    """Every future's model as it is: ``first`` shared, everything else per future."""
    base = models[0]
    return Layout(
        matrices=[_matrix(m) for m in models],
        row_lo=np.array([m.row_lo for m in models]),
        row_hi=np.array([m.row_hi for m in models]),
        shared=np.asarray(first, dtype=np.int64),
        recourse=np.setdiff1d(np.arange(base.n_cols), first),
        once=np.zeros(0, dtype=np.int64),
        each=np.arange(base.n_rows),
    )


def _same_structure(models: list[PlanModel]) -> bool:
    base = models[0]
    return all(
        np.array_equal(m.row_start, base.row_start)
        and np.array_equal(m.row_cols, base.row_cols)
        and np.array_equal(m.row_vals, base.row_vals)
        for m in models[1:]
    )


def _across(values: np.ndarray) -> np.ndarray:
    """Per entry: the same in every future (rows of ``values`` are futures)."""
    return (values == values[0]).all(axis=0)


@dataclass
class _Work:
    """The reduction while it runs (one matrix for every future)."""

    matrix: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    shared: np.ndarray  # bool per column
    gone_cols: np.ndarray  # bool per column
    gone_rows: np.ndarray  # bool per row
    floor: np.ndarray  # bool per row
    same_col: np.ndarray  # cost and bounds the same in every future
    nonnegative: np.ndarray  # lower bound >= 0 in every future
    plain_col: np.ndarray  # cost 0 and bounds [0, inf) in every future

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.matrix.indptr[i], self.matrix.indptr[i + 1]
        return self.matrix.indices[a:b], self.matrix.data[a:b]

    def same_row(self) -> np.ndarray:
        return _across(self.row_lo) & _across(self.row_hi) & ~self.floor & ~self.gone_rows


def _start(models: list[PlanModel], first: np.ndarray, cost: np.ndarray) -> _Work:
    lb = np.array([m.col_lb for m in models])
    ub = np.array([m.col_ub for m in models])
    shared = np.zeros(models[0].n_cols, dtype=bool)
    shared[first] = True
    return _Work(
        matrix=_matrix(models[0]).copy(),  # the model's arrays are read-only
        row_lo=np.array([m.row_lo for m in models]),
        row_hi=np.array([m.row_hi for m in models]),
        shared=shared,
        gone_cols=np.zeros(models[0].n_cols, dtype=bool),
        gone_rows=np.zeros(models[0].n_rows, dtype=bool),
        floor=np.array([r.kind is RowKind.FLOOR for r in models[0].rows]),
        same_col=_across(cost) & _across(lb) & _across(ub),
        nonnegative=np.asarray((lb >= 0).all(axis=0)),
        plain_col=(cost == 0).all(axis=0)
        & (lb == 0).all(axis=0)
        & np.isposinf(ub).all(axis=0)
        & ~np.isin(np.arange(models[0].n_cols), sorted(models[0].integer)),
    )


def _pool(work: _Work, models: list[PlanModel]) -> list[Pool]:
    """Pool interchangeable members (rows summed into the lead's, columns dropped)."""
    pools = find_pools(models, work.shared, work.matrix.tocsc(), work.plain_col)
    if not pools:
        return []
    aggregate, gone = pool_rows(models[0].n_rows, pools)
    dropped = np.zeros(models[0].n_cols, dtype=bool)
    dropped[pooled_columns(pools)] = True
    keep = sp.diags((~dropped).astype(float))
    work.matrix = (aggregate @ work.matrix @ keep).tocsr()
    work.matrix.eliminate_zeros()
    # Budget rows have no lower bound (find_pools checks), so the sums are finite.
    work.row_hi = np.where(gone, np.inf, (aggregate @ work.row_hi.T).T)
    work.row_lo = np.where(gone, -np.inf, work.row_lo)
    work.gone_rows |= gone
    work.gone_cols |= dropped
    return pools


def _closed(work: _Work, csc: sp.csc_matrix, out: np.ndarray, same: np.ndarray) -> bool:
    """Columns ``out`` (same cost and bounds in every future) appear only in rows that are
    the same in every future and see no other unshared column."""
    if not work.same_col[out].all():
        return False
    rows = np.unique(np.concatenate([csc.indices[csc.indptr[j] : csc.indptr[j + 1]] for j in out]))
    if not same[rows].all():
        return False
    seen = np.unique(np.concatenate([work.row(r)[0] for r in rows]))
    return set(seen[~work.shared[seen]].tolist()) == set(out.tolist())


def _promote(work: _Work) -> None:
    """Share the columns every future gives the same value (see the module's docstring),
    until none is left."""
    csc = work.matrix.tocsc()
    changed = True
    while changed:
        changed = False
        same = work.same_row()
        for i in np.flatnonzero(same).tolist():
            cols, _vals = work.row(i)
            out = cols[~work.shared[cols]]
            if not len(out):
                continue
            determined = len(out) == 1 and work.row_lo[0, i] == work.row_hi[0, i]
            if determined or _closed(work, csc, out, same):
                work.shared[out] = True
                changed = True


def _once(work: _Work) -> np.ndarray:
    """Rows over shared columns only (and at least one), floors aside."""
    out = np.zeros(len(work.floor), dtype=bool)
    for i in range(len(out)):
        cols, _vals = work.row(i)
        out[i] = len(cols) > 0 and bool(work.shared[cols].all())
    return out & ~work.floor & ~work.gone_rows


def _eliminable(work: _Work, csc: sp.csc_matrix, j: int) -> tuple[int, int] | None:
    """Rows (first, second) of a carry column ``j`` that can be eliminated: cost 0,
    bounds [0, inf), exactly two rows, both ``<=``, +coefficient in the first (whose other
    columns are all shared), -coefficient in the second."""
    a, b = csc.indptr[j], csc.indptr[j + 1]
    if b - a != 2 or work.shared[j] or work.gone_cols[j] or not work.plain_col[j]:
        return None
    rows, vals = csc.indices[a:b], csc.data[a:b]
    if vals[0] < 0:
        rows, vals = rows[::-1], vals[::-1]
    if not vals[0] > 0 > vals[1] or not np.isneginf(work.row_lo[:, rows]).all():
        return None
    if work.floor[rows].any():
        return None
    cols, _ = work.row(int(rows[0]))
    others = cols[cols != j]
    if not len(others) or not work.shared[others].all():
        return None
    return int(rows[0]), int(rows[1])


def _eliminate(work: _Work) -> list[Carry]:
    """Fourier-Motzkin on every eliminable carry (see the module's docstring)."""
    csc = work.matrix.tocsc()
    found = [(j, r) for j in range(csc.shape[1]) if (r := _eliminable(work, csc, j)) is not None]
    if not found:
        return []
    lil = work.matrix.tolil()
    carries = []
    for j, (first, second) in found:
        row = dict(zip(lil.rows[first], lil.data[first], strict=True))
        coef = row.pop(j)
        other = dict(zip(lil.rows[second], lil.data[second], strict=True))
        ratio = -other.pop(j) / coef
        for c, v in row.items():
            other[c] = other.get(c, 0.0) + ratio * v
        carries.append(
            Carry(j, coef, np.array(list(row), dtype=np.int64), np.array(list(row.values())),
                  work.row_hi[:, first].copy())
        )  # fmt: skip
        work.row_hi[:, second] += ratio * work.row_hi[:, first]
        for i, entries in ((first, row), (second, other)):
            order = sorted(entries)
            lil.rows[i], lil.data[i] = order, [entries[c] for c in order]
        work.gone_cols[j] = True
    work.matrix = lil.tocsr()
    return carries


def _lower_bound(work: _Work, i: int) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Row ``i`` as ``x >= cols . vals`` (``x`` its only unshared column, plain; the
    others shared, non-negative, with positive coefficients; ``<= 0`` in every future)."""
    if work.gone_rows[i] or work.floor[i]:
        return None
    if not (np.isneginf(work.row_lo[:, i]).all() and (work.row_hi[:, i] == 0).all()):
        return None
    cols, vals = work.row(i)
    out = ~work.shared[cols]
    if out.sum() != 1 or not (vals[~out] > 0).all() or not work.nonnegative[cols[~out]].all():
        return None
    j, coef = int(cols[out][0]), float(vals[out][0])
    if coef >= 0 or not work.plain_col[j] or work.gone_cols[j]:
        return None
    return j, cols[~out].copy(), vals[~out] / -coef


def _shift(work: _Work) -> list[Shift]:
    """Replace each column with a lower bound over shared columns (a member's project
    payments out of its money to the area) by its excess over that bound: the bound's row
    is gone, and every other row of the column sees the bound's terms instead."""
    lil, csc = work.matrix.tolil(), work.matrix.tocsc()
    shifts: list[Shift] = []
    taken: set[int] = set()
    # A shift adds shared columns only, so a column's rows stay those it started in, and
    # a bound's row (one unshared column) never sees another shifted column.
    for i in range(work.matrix.shape[0]):
        found = _lower_bound(work, i)
        if found is None or found[0] in taken:
            continue
        j, cols, vals = found
        taken.add(j)
        work.gone_rows[i] = True
        lil.rows[i], lil.data[i] = [], []
        for r in csc.indices[csc.indptr[j] : csc.indptr[j + 1]].tolist():
            if r == i:
                continue
            row = dict(zip(lil.rows[r], lil.data[r], strict=True))
            for c, v in zip(cols.tolist(), vals.tolist(), strict=True):
                row[c] = row.get(c, 0.0) + row[j] * v
            order = sorted(row)
            lil.rows[r], lil.data[r] = order, [row[c] for c in order]
        shifts.append(Shift(j, cols, vals))
    work.matrix = lil.tocsr()
    return shifts


def _year_flows(work: _Work, model: PlanModel, t: int) -> list[tuple[int, int, int]] | None:
    """Year ``t``'s flows as ``(budget row, funding row, column)`` when every one of them
    is unshared, plain and only in its budget (+1) and funding (-1, an equality) rows."""
    csc = work.matrix.tocsc()
    flows = []
    for (_m, _a, y), j in model.x.items():
        if y != t or work.gone_cols[j]:
            continue
        a, b = csc.indptr[j], csc.indptr[j + 1]
        rows, vals = csc.indices[a:b], csc.data[a:b]
        if work.shared[j] or not work.plain_col[j] or sorted(vals.tolist()) != [-1.0, 1.0]:
            return None
        supply, demand = int(rows[vals > 0][0]), int(rows[vals < 0][0])
        kinds = (model.rows[supply].kind, model.rows[demand].kind)
        if kinds != (RowKind.BUDGET, RowKind.FUNDING):
            return None
        if not (work.row_lo[:, demand] == work.row_hi[:, demand]).all():
            return None
        flows.append((supply, demand, j))
    return flows or None


def _transport(work: _Work, model: PlanModel) -> list[Transport]:
    """Aggregate every later year's flows (:mod:`engine.planning.transport`)."""
    out = []
    for t in model.scenario.fund.years:
        flows = _year_flows(work, model, t)
        if flows is None:
            continue
        spare = np.flatnonzero(work.gone_rows).tolist()
        year = Year(flows, spare, work.matrix.tolil(), work.row_lo, work.row_hi, work.nonnegative)
        done = aggregate(year)
        if done is None:
            continue
        transport, rows, cols = done
        work.matrix = year.matrix.tocsr()
        work.gone_rows[spare] = work.matrix.getnnz(axis=1)[spare] == 0  # spares now used
        work.gone_rows[rows] = True
        work.gone_cols[cols] = True
        out.append(transport)
    return out


def reduced_layout(models: list[PlanModel], first: np.ndarray, cost: np.ndarray) -> Layout:
    """The smaller layout of the module's docstring (``cost``: each future's objective
    over its model's columns, futures x columns); the plain one when the futures' models
    differ in their coefficients."""
    first = np.asarray(first, dtype=np.int64)
    if not _same_structure(models):
        return plain_layout(models, first)
    work = _start(models, first, cost)
    pools = _pool(work, models)
    _promote(work)
    shifts = _shift(work)
    transports = _transport(work, models[0])
    carries = _eliminate(work)
    once = _once(work)
    each = ~once & ~work.gone_rows
    promoted = np.flatnonzero(work.shared & ~np.isin(np.arange(len(work.shared)), first))
    return Layout(
        matrices=[work.matrix] * len(models),
        row_lo=work.row_lo,
        row_hi=work.row_hi,
        shared=np.concatenate([first, promoted]),
        recourse=np.flatnonzero(~work.shared & ~work.gone_cols),
        once=np.flatnonzero(once),
        each=np.flatnonzero(each),
        pools=pools,
        carries=carries,
        shifts=shifts,
        transports=transports,
    )
