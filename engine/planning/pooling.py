"""Members pooled in the recourse: one column per area and year for a group of members.

In the later years a member's money meets only its own budget rows and the areas' funding
rows (``x[m,a,t]``: +1 in ``budget[m,t]``, -1 in ``funding[a,t]``; carry-over ``c[m,t]``
from one budget row to the next). Members that join the same areas, with no cap, cost,
project payment or member policy on that money, are interchangeable there: the
programme only sees the group's money to each area and the group's budgets. So a group's
flows become one column per area and year (the first member's, the *lead*), its budget
rows one row per year (their sum) and its carry-over one column per year.

This is exact. A group plan (money ``X[a,t]`` to each area, spent ``G_t = sum_a X[a,t]``)
within the summed budgets splits into member plans within each member's own budget: a
member's money at hand in year t is its pledge plus what it carried in (its first-year
carry-over is its own, kept per member). Spending ``G_t`` pro rata to the money at hand
never overdraws a member, since the group's money at hand covers ``G_t`` (the summed
budget rows say so year by year), and ``x[m,a,t] = X[a,t] * share_m`` meets every funding
row because every member of the group may fund every area of the group.
:func:`unpool` makes that split after the solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.formulation.core import PlanModel
from engine.formulation.rows import RowKind


@dataclass(frozen=True)
class Pool:
    """A group of members pooled over ``years`` (model columns and rows of future 0's
    model; every future's model has the same)."""

    members: tuple[str, ...]  # the first is the lead, whose columns and rows hold the group's
    years: tuple[int, ...]
    flows: dict[tuple[str, str, int], int]  # (member, area, year) -> column
    carry: dict[tuple[str, int], int]  # (member, year) -> carry column, pooled years
    carry_in: dict[str, int]  # member -> carry column into the first pooled year
    budget: dict[tuple[str, int], int]  # (member, year) -> budget row

    @property
    def lead(self) -> str:
        """The member whose columns and rows hold the group's."""
        return self.members[0]


@dataclass
class _Model:
    """What pooling reads of future 0's model."""

    model: PlanModel
    csc: sp.csc_matrix
    shared: np.ndarray  # bool per column
    plain: np.ndarray  # bool per column: cost 0 and bounds [0, inf) in every future
    budget: dict[tuple[str, int], int]
    funding: dict[tuple[str, int], int]

    def touches(self, j: int, expected: dict[int, float]) -> bool:
        """Column ``j`` has exactly these coefficients (row -> value)."""
        a, b = self.csc.indptr[j], self.csc.indptr[j + 1]
        got = dict(zip(self.csc.indices[a:b].tolist(), self.csc.data[a:b].tolist(), strict=True))
        return got == expected


def _candidate(info: _Model, member: str) -> tuple | None:
    """The member's signature when its later-year money can be pooled (None: not)."""
    model = info.model
    years = model.scenario.fund.years
    flows = {(a, t): j for (m, a, t), j in model.x.items() if m == member}
    pooled = [t for t in years if any(not info.shared[j] for (_a, y), j in flows.items() if y == t)]
    if not pooled or pooled != list(years[years.index(pooled[0]) :]):
        return None
    carry = {t: j for (m, t), j in model.carry.items() if m == member}
    for (a, t), j in flows.items():
        if t in pooled and not (
            not info.shared[j]
            and info.plain[j]
            and info.touches(j, {info.budget[member, t]: 1.0, info.funding[a, t]: -1.0})
        ):
            return None
    for t, j in carry.items():
        if t not in pooled:
            continue
        after = info.budget[member, years[years.index(t) + 1]]
        if info.shared[j] or not info.plain[j]:
            return None
        if not info.touches(j, {info.budget[member, t]: 1.0, after: -1.0}):
            return None
    before = years.index(pooled[0]) - 1
    carry_in = carry.get(years[before]) if before >= 0 else None
    for t in pooled:
        i = info.budget[member, t]
        row = model.row_cols[model.row_start[i] : model.row_start[i + 1]].tolist()
        own = {j for (_a, y), j in flows.items() if y == t}
        before_t = years[: years.index(t)][-1:]  # the year before t, if any
        own |= {carry[y] for y in (t, *before_t) if y in carry}
        if set(row) != own:  # a budget row seeing any other column keeps the member apart
            return None
    areas = tuple(sorted((a, t) for (a, t) in flows if t in pooled))
    return areas, tuple(pooled), tuple(t for t in carry if t in pooled), carry_in is not None


def find_pools(
    models: list[PlanModel], shared: np.ndarray, csc: sp.csc_matrix, plain: np.ndarray
) -> list[Pool]:
    """The groups of at least two members whose later-year money can be pooled (see the
    module's docstring), from future 0's model ``csc`` (its coefficients by column)."""
    model = models[0]
    rows = model.rows
    hard = [m for m in models if not np.isneginf(m.row_lo[_budget_rows(model)]).all()]
    if hard:  # a budget row with a lower bound is not a plain budget
        return []
    info = _Model(
        model,
        csc,
        shared,
        plain,
        {(str(r.member), r.year or 0): i for i, r in enumerate(rows) if r.kind is RowKind.BUDGET},
        {(str(r.area), r.year or 0): i for i, r in enumerate(rows) if r.kind is RowKind.FUNDING},
    )
    groups: dict[tuple, list[str]] = {}
    for member in dict.fromkeys(m for (m, _a, _t) in model.x):
        signature = _candidate(info, member)
        if signature is not None:
            groups.setdefault(signature, []).append(member)
    years = model.scenario.fund.years
    pools = []
    for (_areas, pooled, _carried, _has_in), members in groups.items():
        if len(members) < 2:
            continue
        before = years.index(pooled[0]) - 1
        pools.append(
            Pool(
                members=tuple(members),
                years=pooled,
                flows={k: j for k, j in model.x.items() if k[0] in members and k[2] in pooled},
                carry={k: j for k, j in model.carry.items() if k[0] in members and k[1] in pooled},
                carry_in={
                    m: model.carry[m, years[before]]
                    for m in members
                    if before >= 0 and (m, years[before]) in model.carry
                },
                budget={(m, t): info.budget[m, t] for m in members for t in pooled},
            )
        )
    return pools


def _budget_rows(model: PlanModel) -> np.ndarray:
    return np.array([i for i, r in enumerate(model.rows) if r.kind is RowKind.BUDGET], dtype=int)


def pool_rows(n_rows: int, pools: list[Pool]) -> tuple[sp.csr_matrix, np.ndarray]:
    """The row aggregation: ``R`` (n_rows x n_rows; a pooled budget row is summed into
    its lead's, the others become empty) and which rows are gone."""
    target = np.arange(n_rows)
    for pool in pools:
        for (_m, t), i in pool.budget.items():
            target[i] = pool.budget[pool.lead, t]
    gone = target != np.arange(n_rows)
    aggregate = sp.csr_matrix(
        (np.ones(n_rows), (target, np.arange(n_rows))), shape=(n_rows, n_rows)
    )
    return aggregate, gone


def pooled_columns(pools: list[Pool]) -> list[int]:
    """The columns the pools drop (every member's but the lead's)."""
    return [
        j
        for pool in pools
        for key, j in [*pool.flows.items(), *pool.carry.items()]
        if key[0] != pool.lead
    ]


def unpool(solutions: np.ndarray, pools: list[Pool], models: list[PlanModel]) -> None:
    """Split each pool's money into its members' (in place on ``solutions``, futures x
    model columns): pro rata to each member's money at hand, year by year (see the
    module's docstring). The lead's columns hold the group's on entry."""
    for pool in pools:
        members = pool.members
        at_hand = np.stack(
            [
                solutions[:, pool.carry_in[m]] if m in pool.carry_in else np.zeros(len(models))
                for m in members
            ],
            axis=1,
        )
        for t in pool.years:
            rows = [pool.budget[m, t] for m in members]
            at_hand = at_hand + np.array([mod.row_hi[rows] for mod in models])
            total = at_hand.sum(axis=1, keepdims=True)
            share = np.divide(
                at_hand, total, out=np.full_like(at_hand, 1.0 / len(members)), where=total > 0
            )
            areas = [a for (m, a, y) in pool.flows if m == pool.lead and y == t]
            group = np.stack([solutions[:, pool.flows[pool.lead, a, t]] for a in areas], axis=1)
            for i, m in enumerate(members):
                for q, a in enumerate(areas):
                    solutions[:, pool.flows[m, a, t]] = group[:, q] * share[:, i]
            at_hand = np.maximum(at_hand - group.sum(axis=1, keepdims=True) * share, 0.0)
            if (pool.lead, t) in pool.carry:
                for i, m in enumerate(members):
                    solutions[:, pool.carry[m, t]] = at_hand[:, i]
