"""A later year's member-to-area flows aggregated: each budget's spend and the areas'
funding, under Gale's conditions instead of one column per member and area.

In a later year the flows ``x[m,a,t] >= 0`` (lower bounds already shifted out,
:func:`engine.planning.layout`) only carry money from a budget row (+1) to an area's
funding row (-1). Such a plan exists for given spends ``S_m`` (each budget's money out)
and demands ``d_a`` (each funding row's other terms) if and only if the totals agree and,
for every set Z of areas, ``sum_{a in Z} d_a <= sum_{m joining some area of Z} S_m``
(Gale's supply-demand theorem). Only the sets Z that some budget cannot reach at all
matter, the largest for each such group: the intersections of the budgets' unreachable
sets, few when few members opt out. So a year's flows become one spend column per budget
(``S_m``, held in its first flow's column), one total row and one row per such set (held
in funding rows that no longer need their own: an area whose demand is non-negative by
its terms); the other funding rows keep ``d_a >= 0``. After the solve,
:meth:`Transport.recover` finds each future's flows from the spends and demands (a small
feasibility LP per future, exact by the same theorem).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.solving.backends import SolverOptions, new_highs

#: The most sets of areas a year may need (more: the year keeps its flows).
MAX_SETS = 32
#: Relative (and absolute, in model units) room a budget gets when its flows are
#: recovered: the programme's spends and demands agree to the solver's tolerance only.
SLACK = 1e-9


@dataclass(frozen=True)
class Transport:
    """One year's aggregated flows (model indices of future 0's model)."""

    spend: np.ndarray  # per budget: the column holding its spend
    arcs: np.ndarray  # (flows, 3): budget index, area index, column
    terms: list[tuple[np.ndarray, np.ndarray]]  # per area: its funding row's other terms
    rhs: np.ndarray  # (futures, areas): the funding rows' right-hand sides

    def recover(self, solutions: np.ndarray) -> None:
        """Each future's flows from its spends and demands (in place on ``solutions``):
        a feasibility LP per future, spends as upper bounds (the budget rows allow less)
        and demands met exactly."""
        import highspy

        supply, area, cols = self.arcs[:, 0], self.arcs[:, 1], self.arcs[:, 2]
        n_s, n_rows = len(self.spend), len(self.spend) + len(self.terms)
        h = new_highs(SolverOptions())
        h.addRows(n_rows, np.zeros(n_rows), np.zeros(n_rows), 0, *_no_entries())
        index = np.stack([supply, n_s + area], axis=1).ravel().astype(np.int32)
        starts = np.arange(0, 2 * len(cols), 2, dtype=np.int32)
        h.addCols(
            len(cols), np.zeros(len(cols)), np.zeros(len(cols)),
            np.full(len(cols), highspy.kHighsInf), len(index), starts, index,
            np.ones(len(index)),
        )  # fmt: skip
        spend = np.maximum(solutions[:, self.spend], 0.0)
        demand = np.stack([solutions[:, c] @ v for c, v in self.terms], axis=1) - self.rhs
        demand = np.maximum(demand, 0.0)
        rows = np.arange(n_rows, dtype=np.int32)
        # The solve meets the totals to its tolerance: a budget may give that much more.
        spend = spend * (1 + SLACK) + SLACK
        for k in range(solutions.shape[0]):
            lo = np.concatenate([np.zeros(n_s), demand[k]])
            hi = np.concatenate([spend[k], demand[k]])
            h.changeRowsBounds(n_rows, rows, lo, hi)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"future {k}: its flows could not be recovered")
            solutions[k, cols] = np.asarray(h.getSolution().col_value)


def _no_entries() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)


def _sets(reach: list[set[int]], n_areas: int) -> list[frozenset[int]] | None:
    """The sets of areas whose Gale condition is not implied: every non-empty
    intersection of the budgets' unreachable sets (None: more than :data:`MAX_SETS`)."""
    every = set(range(n_areas))
    found = {frozenset(every - r) for r in reach if every - r}
    frontier = list(found)
    while frontier:
        grown = []
        for a in frontier:
            for b in list(found):
                c = a & b
                if c and c not in found:
                    found.add(c)
                    grown.append(c)
        if len(found) > MAX_SETS:
            return None
        frontier = grown
    return sorted(found, key=sorted)


@dataclass
class Year:
    """One year's flows, as the layout hands them over: ``(budget row, funding row,
    column)`` each, and the matrix and row bounds to rewrite."""

    flows: list[tuple[int, int, int]]
    spare: list[int]  # empty rows (reduced away) that may hold the new conditions
    matrix: sp.lil_matrix
    row_lo: np.ndarray  # (futures, rows), rewritten in place
    row_hi: np.ndarray
    nonnegative: np.ndarray  # bool per column: lower bound >= 0 in every future

    def entries(self, i: int) -> dict[int, float]:
        return dict(zip(self.matrix.rows[i], self.matrix.data[i], strict=True))

    def write(self, i: int, entries: dict[int, float], lo: np.ndarray, hi: np.ndarray) -> None:
        order = sorted(c for c, v in entries.items() if v != 0)
        self.matrix.rows[i], self.matrix.data[i] = order, [entries[c] for c in order]
        self.row_lo[:, i], self.row_hi[:, i] = lo, hi


def aggregate(year: Year) -> tuple[Transport, list[int], list[int]] | None:
    """Rewrite one year's flows as the module's docstring says; returns the transport
    (to recover the flows), the rows now empty and the columns that are gone, and uses
    spare rows too (the caller sees which: no longer empty). None: the year keeps its
    flows (too many sets, or too few rows to hold them)."""
    budgets = sorted({s for s, _d, _j in year.flows})
    areas = sorted({d for _s, d, _j in year.flows})
    at_s, at_a = {s: i for i, s in enumerate(budgets)}, {d: i for i, d in enumerate(areas)}
    reach: list[set[int]] = [set() for _ in budgets]
    for s, d, _j in year.flows:
        reach[at_s[s]].add(at_a[d])
    sets = _sets(reach, len(areas))
    flow_cols = {j for _s, _d, j in year.flows}
    terms = [{c: v for c, v in year.entries(d).items() if c not in flow_cols} for d in areas]
    rhs = year.row_lo[:, areas].copy()
    implied = [
        all(v > 0 for v in t.values()) and bool(year.nonnegative[list(t)].all())
        and bool((rhs[:, i] <= 0).all())
        for i, t in enumerate(terms)
    ]  # fmt: skip
    free = [d for d, ok in zip(areas, implied, strict=True) if ok]
    if sets is None or len(free) + len(year.spare) < 1 + len(sets):
        return None
    groups = [frozenset(range(len(areas))), *sets]
    slots = (free + year.spare)[: len(groups)]
    spend = [min(j for s, _d, j in year.flows if s == b) for b in budgets]
    for b, col in zip(budgets, spend, strict=True):
        kept = {c: v for c, v in year.entries(b).items() if c not in flow_cols}
        year.write(b, {**kept, col: 1.0}, year.row_lo[:, b], year.row_hi[:, b])
    inf = np.full(len(rhs), np.inf)
    for i, d in enumerate(areas):
        if not implied[i]:  # its demand stays non-negative by its own row
            year.write(d, terms[i], rhs[:, i], inf)
    for row, group in zip(slots, groups, strict=True):
        entries: dict[int, float] = {}
        for i in group:
            for c, v in terms[i].items():
                entries[c] = entries.get(c, 0.0) + v
        for b, col in enumerate(spend):
            if reach[b] & group:
                entries[col] = entries.get(col, 0.0) - 1.0
        total = rhs[:, sorted(group)].sum(axis=1)
        equality = len(group) == len(areas)  # the totals agree; the others are Gale's
        year.write(row, entries, total if equality else -inf, total)
    gone_rows = [d for d in free if d not in slots]
    for row in gone_rows:
        year.write(row, {}, -inf, inf)
    arcs = np.array([(at_s[s], at_a[d], j) for s, d, j in year.flows], dtype=np.int64)
    transport = Transport(
        spend=np.array(spend, dtype=np.int64),
        arcs=arcs,
        terms=[(np.array(list(t), dtype=np.int64), np.array(list(t.values()))) for t in terms],
        rhs=rhs,
    )
    return transport, gone_rows, sorted(flow_cols - set(spend))
