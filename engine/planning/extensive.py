"""The extensive form of the two-stage programme, stacked from each future's PlanModel.

Every future's model has the same columns and rows (the futures differ in pledges, so in
the budget rows' right-hand sides). The extensive form puts their rows side by side,
block-diagonal, with one shared set of columns for the first stage (non-anticipative:
the first year's money ``x[m,a,t0]`` and every go/no-go, share and commitment column of
the projects, :func:`first_stage`) and one copy of every other column per future (the
recourse). The rules are therefore exactly the deterministic model's, row for row
(:func:`~engine.planning.layout.plain_layout`); with ``reduce=True`` the stack is the
smaller form of the same optimum (:func:`~engine.planning.layout.reduced_layout`:
members pooled, later years' flows aggregated, what the shared first stage fixes kept
once), each future's solution recovered over its own model's columns
(:meth:`Extensive.solutions`). To these it adds, by
:class:`~engine.planning.rules.FloorRule`, shortfall columns on the floor rows (soft,
chance), the chance binaries and rows, and by :class:`~engine.planning.rules.Risk` the
CVaR columns and rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import scipy.sparse as sp

from engine.formulation.build import build_model
from engine.formulation.core import INF, PlanModel
from engine.formulation.patch import patch_bounds, structure_key
from engine.formulation.rows import RowKind
from engine.planning.futures import Futures
from engine.planning.layout import Layout, plain_layout, reduced_layout
from engine.planning.rules import FloorRule, Risk
from engine.scenario.schema import Scenario


def first_stage(model: PlanModel) -> np.ndarray:
    """The non-anticipative columns, sorted: the first year's flows and every column of
    the go/no-go part (decisions, funded shares, members' shares and joins)."""
    t0 = model.scenario.fund.years[0]
    cols = {j for (_m, _a, t), j in model.x.items() if t == t0}
    cols |= set(model.integer)
    maps = model.projects
    if maps is not None:
        for group in (maps.go, maps.share, maps.member_share, maps.member_joins, maps.area_launch):
            cols |= set(group.values())
    return np.array(sorted(cols), dtype=np.int64)


def future_models(scenario: Scenario, futures: Futures) -> list[PlanModel]:
    """One model per future: the first built, the others patched (or built anew where a
    pledge is more than a bound, e.g. priorities weighted by pledge). Raises ValueError
    if a future's model differs in shape (it cannot: only pledges differ)."""
    first = build_model(futures.scenario(scenario, 0))
    first = replace(first, structure_key=structure_key(first.scenario))
    models = [first]
    for k in range(1, len(futures)):
        sc = futures.scenario(scenario, k)
        model = patch_bounds(first, sc) or build_model(sc)
        same = model.col_names == first.col_names and np.array_equal(
            model.row_start, first.row_start
        )
        if not same:
            raise ValueError(f"future {k}: its model differs in shape from future 0's")
        models.append(model)
    return models


def objective_vector(model: PlanModel) -> np.ndarray:
    """The model's objective as a dense vector over its columns."""
    cost = np.zeros(model.n_cols)
    for j, c in model.objective.items():
        cost[j] += c
    return cost


@dataclass
class Extensive:
    """The extensive form's arrays and where each future's columns and rows went."""

    probs: np.ndarray
    first: np.ndarray
    #: ``colmap[k, j]``: the extensive column of future k's column j (-1: reduced away,
    #: recovered by :meth:`solutions`).
    colmap: np.ndarray
    n_rows: int  # rows of each future's model
    #: ``rowmap[k, i]``: the extensive row of future k's row i (-1: reduced away); in the
    #: plain layout future k's row i is row ``k * n_rows + i``.
    rowmap: np.ndarray
    layout: Layout
    cost: np.ndarray
    col_lb: np.ndarray
    col_ub: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    matrix: sp.csr_matrix
    integer: np.ndarray  # extensive columns restricted to integers
    #: Per future objective over its own columns ``(futures, n_cols)``.
    local_cost: np.ndarray
    floor_rows: np.ndarray  # local indices of the floor rows
    floor_areas: list[str]
    shortfall: np.ndarray | None  # ``(futures, floors)`` extensive columns
    penalty: float  # charged per unit of shortfall in a future's value
    chance: np.ndarray | None = None  # ``(futures, areas)`` binaries allowing a shortfall
    tail: np.ndarray | None = None  # CVaR's ``u_k`` columns

    @property
    def n_futures(self) -> int:
        """How many futures."""
        return len(self.probs)

    def value_terms(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Future k's value ``V_k`` as (extensive columns, coefficients)."""
        cols, vals = self.colmap[k], self.local_cost[k]
        keep = (vals != 0) & (cols >= 0)  # reduced-away columns cost nothing
        cols, vals = cols[keep], vals[keep]
        if self.shortfall is not None:
            cols = np.concatenate([cols, self.shortfall[k]])
            vals = np.concatenate([vals, np.full(self.shortfall.shape[1], -self.penalty)])
        return cols, vals

    def solutions(self, values: np.ndarray, models: list[PlanModel]) -> np.ndarray:
        """Each future's solution over its own model's columns ``(futures, n_cols)``,
        the reduced-away columns recovered (``models``: the futures' models it was built
        from)."""
        local = np.where(self.colmap >= 0, values[np.maximum(self.colmap, 0)], 0.0)
        self.layout.recover(local, models)
        return local


@dataclass
class _Parts:
    """Triplets and bounds while the extensive form grows."""

    rows: list[np.ndarray]
    cols: list[np.ndarray]
    vals: list[np.ndarray]
    row_lo: list[np.ndarray]
    row_hi: list[np.ndarray]
    n_cols: int
    n_rows: int
    col_lb: list[np.ndarray]
    col_ub: list[np.ndarray]
    cost: list[np.ndarray]
    chance: np.ndarray | None = None

    def columns(self, n: int, lb: float, ub: float, cost: np.ndarray | float = 0.0) -> np.ndarray:
        """Append ``n`` columns; returns their indices."""
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.n_cols += n
        self.col_lb.append(np.full(n, lb))
        self.col_ub.append(np.full(n, ub))
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (n,)).copy())
        return idx

    def entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Coefficients at existing or new rows."""
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))

    def new_rows(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Append rows with these bounds; returns their indices."""
        idx = np.arange(self.n_rows, self.n_rows + len(lo))
        self.n_rows += len(lo)
        self.row_lo.append(np.asarray(lo, dtype=float))
        self.row_hi.append(np.asarray(hi, dtype=float))
        return idx


def _stack(models: list[PlanModel], layout: Layout) -> tuple[_Parts, np.ndarray, np.ndarray]:
    """The futures' rows side by side as ``layout`` says: triplets, the column map and
    the row map."""
    n, base = len(models), models[0]
    shared, recourse, once, each = layout.shared, layout.recourse, layout.once, layout.each
    colmap = np.full((n, base.n_cols), -1, dtype=np.int64)
    colmap[:, shared] = np.arange(len(shared))
    colmap[:, recourse] = (
        len(shared) + np.arange(n)[:, None] * len(recourse) + np.arange(len(recourse))
    )
    rowmap = np.full((n, base.n_rows), -1, dtype=np.int64)
    rowmap[:, once] = np.arange(len(once))
    rowmap[:, each] = len(once) + np.arange(n)[:, None] * len(each) + np.arange(len(each))
    parts = _Parts([], [], [], [], [], 0, 0, [], [], [])
    parts.col_lb.append(np.max([m.col_lb[shared] for m in models], axis=0))
    parts.col_ub.append(np.min([m.col_ub[shared] for m in models], axis=0))
    parts.cost.append(np.zeros(len(shared)))
    parts.n_cols = len(shared)
    block = layout.matrices[0][once].tocoo()
    parts.entries(rowmap[0, once][block.row], colmap[0, block.col], block.data)
    # A row kept once binds the same columns in every future: the tightest bounds hold.
    parts.row_lo.append(layout.row_lo[:, once].max(axis=0, initial=-INF))
    parts.row_hi.append(layout.row_hi[:, once].min(axis=0, initial=INF))
    blocks: dict[int, sp.coo_matrix] = {}
    for k, m in enumerate(models):
        parts.col_lb.append(m.col_lb[recourse])
        parts.col_ub.append(m.col_ub[recourse])
        parts.cost.append(np.zeros(len(recourse)))
        parts.n_cols += len(recourse)
        matrix = layout.matrices[k]
        block = blocks.setdefault(id(matrix), matrix[each].tocoo())
        parts.entries(rowmap[k, each][block.row], colmap[k, block.col], block.data)
        parts.row_lo.append(layout.row_lo[k, each])
        parts.row_hi.append(layout.row_hi[k, each])
    parts.n_rows = len(once) + n * len(each)
    return parts, colmap, rowmap


def _floors(model: PlanModel) -> tuple[np.ndarray, list[str]]:
    rows = [i for i, r in enumerate(model.rows) if r.kind is RowKind.FLOOR]
    return np.array(rows, dtype=np.int64), [str(model.rows[i].area) for i in rows]


def _big_m(models: list[PlanModel], floor_rows: np.ndarray) -> np.ndarray:
    """A bound on each floor's shortfall per future ``(futures, floors)``: the floor
    amount plus its negative terms (a share of the year's total) times the money pledged
    up to that year."""
    base = models[0]
    years = base.scenario.fund.years
    budget = [i for i, r in enumerate(base.rows) if r.kind is RowKind.BUDGET]
    year_of = np.array([years.index(cast(int, base.rows[i].year)) for i in budget])
    out = np.zeros((len(models), len(floor_rows)))
    for k, m in enumerate(models):
        per_year = np.bincount(year_of, weights=m.row_hi[budget], minlength=len(years))
        cum = np.cumsum(per_year)
        for f, i in enumerate(floor_rows):
            a, b = m.row_start[i], m.row_start[i + 1]
            negative = -m.row_vals[a:b][m.row_vals[a:b] < 0].sum()
            t = years.index(base.rows[i].year)
            out[k, f] = max(m.row_lo[i], 0.0) + negative * cum[t] + 1.0
    return out


def _add_floor_terms(
    parts: _Parts, models: list[PlanModel], floors: FloorRule, probs: np.ndarray, rowmap: np.ndarray
) -> np.ndarray | None:
    """Shortfall columns on every floor row (soft, chance) and the chance rows."""
    floor_rows, areas = _floors(models[0])
    if floors.mode == "hard" or not len(floor_rows):
        return None
    n, nf = len(models), len(floor_rows)
    short = parts.columns(n * nf, 0.0, INF).reshape(n, nf)
    rows = rowmap[:, floor_rows]
    parts.entries(rows.ravel(), short.ravel(), np.ones(n * nf))
    if floors.mode != "chance":
        return short
    names = sorted(set(areas))
    allow = parts.columns(n * len(names), 0.0, 1.0).reshape(n, len(names))
    big = _big_m(models, floor_rows)
    link = parts.new_rows(np.full(n * nf, -INF), np.zeros(n * nf)).reshape(n, nf)
    area_col = allow[:, [names.index(a) for a in areas]]
    parts.entries(link.ravel(), short.ravel(), np.ones(n * nf))
    parts.entries(link.ravel(), area_col.ravel(), -big.ravel())
    budget = parts.new_rows(np.full(len(names), -INF), np.full(len(names), 1 - floors.probability))
    parts.entries(np.repeat(budget, n), allow.T.ravel(), np.tile(probs, len(names)))
    parts.chance = allow
    return short


def build_extensive(
    models: list[PlanModel],
    floors: FloorRule,
    risk: Risk,
    first: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    reduce: bool = False,
) -> Extensive:
    """The extensive form over ``models`` (one per future, equally likely by default):
    ``first`` are the shared columns (default :func:`first_stage`; empty: every future
    decides alone, the wait-and-see programme). ``reduce``: the smaller form of the same
    optimum (:func:`engine.planning.layout.reduced_layout`; its columns and rows are no
    longer each future's model's one for one, see ``colmap``, ``rowmap`` and
    :meth:`Extensive.solutions`); otherwise future k's row i is row ``k * n_rows + i``."""
    n = len(models)
    first = first_stage(models[0]) if first is None else np.asarray(first, dtype=np.int64)
    probs = np.full(n, 1.0 / n) if probs is None else np.asarray(probs, dtype=float)
    local_cost = np.array([objective_vector(m) for m in models])
    layout = reduced_layout(models, first, local_cost) if reduce else plain_layout(models, first)
    parts, colmap, rowmap = _stack(models, layout)
    short = _add_floor_terms(parts, models, floors, probs, rowmap)
    floor_rows, areas = _floors(models[0])
    empty = np.zeros(0)
    ext = Extensive(
        probs=probs,
        first=first,
        colmap=colmap,
        n_rows=models[0].n_rows,
        rowmap=rowmap,
        layout=layout,
        cost=empty,
        col_lb=empty,
        col_ub=empty,
        row_lo=empty,
        row_hi=empty,
        matrix=sp.csr_matrix((0, 0)),
        integer=np.zeros(0, dtype=np.int64),
        local_cost=local_cost,
        floor_rows=floor_rows,
        floor_areas=areas,
        shortfall=short,
        penalty=floors.charged,
    )
    cost = _risk_terms(parts, ext, risk)
    ext.cost = cost
    ext.col_lb = np.concatenate(parts.col_lb)
    ext.col_ub = np.concatenate(parts.col_ub)
    ext.row_lo = np.concatenate(parts.row_lo)
    ext.row_hi = np.concatenate(parts.row_hi)
    ext.matrix = sp.csr_matrix(
        (np.concatenate(parts.vals), (np.concatenate(parts.rows), np.concatenate(parts.cols))),
        shape=(parts.n_rows, parts.n_cols),
    )
    integer = [colmap[:, sorted(models[0].integer)].ravel()]
    ext.chance = parts.chance
    if parts.chance is not None:
        integer.append(parts.chance.ravel())
    ext.integer = np.unique(np.concatenate(integer)).astype(np.int64)
    return ext


def _risk_terms(parts: _Parts, ext: Extensive, risk: Risk) -> np.ndarray:
    """The objective ``(1 - w) sum_k p_k V_k + w (eta - sum_k p_k u_k / alpha)``: its
    dense cost vector, after adding the CVaR columns and rows when ``w > 0``."""
    n = ext.n_futures
    tail = None
    if risk.weight > 0:
        eta = parts.columns(1, -INF, INF, risk.weight)
        tail = parts.columns(n, 0.0, INF, -risk.weight * ext.probs / risk.alpha)
        rows = parts.new_rows(np.zeros(n), np.full(n, INF))
        for k in range(n):
            cols, vals = ext.value_terms(k)
            parts.entries(np.full(len(cols), rows[k]), cols, vals)
        parts.entries(rows, tail, np.ones(n))
        parts.entries(rows, np.full(n, eta[0]), -np.ones(n))
    cost = np.concatenate(parts.cost)
    if risk.weight < 1:
        for k in range(n):
            cols, vals = ext.value_terms(k)
            np.add.at(cost, cols, (1 - risk.weight) * ext.probs[k] * vals)
    ext.tail = tail
    return cost
