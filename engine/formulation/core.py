"""Build the allocation LP of a scenario with PuLP, one ``define_<family>`` per constraint family.

Variables (money in the fund's unit, e.g. $bn, so the solver sees numbers near 1):

- ``x[m,a,t] >= 0``: money from member m to area a in year t, only where m joined a;
- ``F[a,t] >= 0``: area funding, ``F[a,t] = sum_m x[m,a,t]`` (row ``funding[a,t]``);
- ``T[t] >= 0``: the year's total, ``T[t] = sum_a F[a,t]`` (row ``total[t]``);
- ``c[m,t] >= 0``: unspent money a member carries into the next year (if the fund allows);
- ``s[a,t,k]``: the k-th piece of an area's concave value curve.

Every row is named after the domain (``budget[DEU,2027]``, ``floor[cyber,2026]``) and
described by a :class:`Row`, so duals, slacks and diagnoses read in the planner's words.
The model keeps explicit maps from domain keys to columns; names are never parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from itertools import pairwise
from typing import Any

import numpy as np
import pulp

from engine.coalition.priorities import area_priorities
from engine.formulation.rows import Row, RowKey, RowKind, row_keys
from engine.scenario.schema import Limit, Scenario

INF = float("inf")


@dataclass
class ModelKeys:
    """The maps from domain keys to columns that the builder grows and the model keeps."""

    scenario: Scenario
    scale: float
    x: dict[tuple[str, str, int], int] = field(default_factory=dict)
    funding: dict[tuple[str, int], int] = field(default_factory=dict)
    total: dict[int, int] = field(default_factory=dict)
    carry: dict[tuple[str, int], int] = field(default_factory=dict)
    objective: dict[int, float] = field(default_factory=dict)
    #: Columns restricted to integer values (binaries of projects, stages, coalitions).
    integer: set[int] = field(default_factory=set)
    #: Project money drawn from an area's funding per (area, year): (column, coefficient)
    #: terms, kept out of the area's own value curve (projects earn their own value).
    project_spend: dict[tuple[str, int], list[tuple[int, float]]] = field(default_factory=dict)
    #: The columns whose objective coefficient is an area's priority times a number, by
    #: area (its funding or value pieces, and its projects' funded shares): scaling the
    #: area's priority scales exactly these costs (sensitivity ranges it by this index).
    value_columns: dict[str, list[int]] = field(default_factory=dict)
    #: The pieces ``s[a,t,k]`` of the areas' value curves, by (area, year, piece).
    pieces: dict[tuple[str, int, int], int] = field(default_factory=dict)
    #: engine.formulation.projects.ProjectMaps when the scenario has go/no-go sections.
    projects: Any = None


@dataclass
class ModelBuilder(ModelKeys):
    """The LP while it grows: columns and rows appended to lists by the ``define_*``
    families, then :meth:`freeze` makes the :class:`PlanModel` once."""

    col_names: list[str] = field(default_factory=list)
    col_lb: list[float] = field(default_factory=list)
    col_ub: list[float] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)
    row_hi: list[float] = field(default_factory=list)
    row_start: list[int] = field(default_factory=lambda: [0])
    row_cols: list[int] = field(default_factory=list)
    row_vals: list[float] = field(default_factory=list)

    def add_column(
        self, name: str, low: float = 0.0, up: float | None = None, integer: bool = False
    ) -> int:
        """Create a variable (integer if asked); returns its column index."""
        self.col_names.append(name)
        self.col_lb.append(low)
        self.col_ub.append(INF if up is None else up)
        if integer:
            self.integer.add(len(self.col_names) - 1)
        return len(self.col_names) - 1

    def add_row(self, row: Row, terms: list[tuple[int, float]], sense: int, rhs: float) -> int:
        """Add ``sum coef * col (sense) rhs`` with sense 1 (>=), -1 (<=) or 0 (=)."""
        self.rows.append(row)
        self.row_lo.append(-INF if sense < 0 else rhs)
        self.row_hi.append(INF if sense > 0 else rhs)
        if terms:
            cols, vals = zip(*terms, strict=True)
            self.row_cols.extend(cols)
            self.row_vals.extend(vals)
        self.row_start.append(len(self.row_cols))
        return len(self.rows) - 1

    def freeze(self) -> PlanModel:
        """The built model, its numbers as read-only numpy arrays (copies, patches and the
        solver interfaces move arrays, not Python lists; a change is a copy)."""
        _check_distinct_columns(self.rows, self.row_start, self.row_cols)
        keys = {f.name: getattr(self, f.name) for f in fields(ModelKeys)}
        return PlanModel(
            **keys,
            col_names=list(self.col_names),
            col_lb=_frozen(self.col_lb, float),
            col_ub=_frozen(self.col_ub, float),
            rows=list(self.rows),
            row_lo=_frozen(self.row_lo, float),
            row_hi=_frozen(self.row_hi, float),
            row_start=_frozen(self.row_start, np.int64),
            row_cols=_frozen(self.row_cols, np.int64),
            row_vals=_frozen(self.row_vals, float),
        )


def _check_distinct_columns(rows: list[Row], starts: list[int], cols: list[int]) -> None:
    """Raise ValueError when a row names a column twice: HiGHS refuses such a model as a
    whole (``passModel`` fails and leaves an empty model that reads as optimal)."""
    if not cols:
        return
    row_of = np.repeat(np.arange(len(rows)), np.diff(np.asarray(starts)))
    keys = row_of * (max(cols) + 1) + np.asarray(cols)
    unique, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"row {rows[int(unique[counts > 1][0] // (max(cols) + 1))].name} names a column twice"
        )


def _frozen(values: list, dtype: Any) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


@dataclass(kw_only=True)
class PlanModel(ModelKeys):
    """The built LP, held as arrays, with the maps from domain keys to columns and rows.

    Column ``j`` has name ``col_names[j]`` and bounds ``col_lb[j]..col_ub[j]``; row ``i``
    has identity ``rows[i]``, bounds ``row_lo[i]..row_hi[i]`` and its coefficients in CSR
    form (``row_start``, ``row_cols``, ``row_vals``), all numpy arrays (made by
    :meth:`ModelBuilder.freeze`; copies are made with ``dataclasses.replace``). Money is in
    units of ``scale`` currency units. :meth:`to_pulp` gives the same model as a PuLP
    problem (for CBC and for LP/MPS files); HiGHS receives the arrays in bulk.
    """

    col_names: list[str]
    col_lb: np.ndarray
    col_ub: np.ndarray
    rows: list[Row]
    row_lo: np.ndarray
    row_hi: np.ndarray
    row_start: np.ndarray
    row_cols: np.ndarray
    row_vals: np.ndarray
    #: Data derived from the rows or the flow map and the scenario's names (row index,
    #: labels, flow indices), computed once and shared by copies that keep the same rows
    #: or flows (``dataclasses.replace``, bound patches, which never change names); see
    #: :meth:`derived`.
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: engine.formulation.patch.structure_key of ``scenario`` once a patch has computed it.
    structure_key: Any = field(default=None, compare=False, repr=False)

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return len(self.col_names)

    @property
    def n_rows(self) -> int:
        """Number of constraints."""
        return len(self.rows)

    def row_index(self, name: str) -> int:
        """Index of the row with this domain name; raises KeyError."""
        return self.row_indices()[name]

    def row_indices(self) -> dict[str, int]:
        """Row index by domain name (built once per set of rows)."""
        return self.derived(
            "index", self.rows, lambda: {r.name: i for i, r in enumerate(self.rows)}
        )

    def row_at(self) -> dict[RowKey, int]:
        """Index of each allocation row by its keys (:meth:`Row.key`), built once per set
        of rows: ``model.row_at()[RowKind.FLOOR, "cyber", None, 2026, None]``."""
        return self.derived("keys", self.rows, lambda: row_keys(self.rows))

    def derived(self, key: str, source: list | dict, compute: Callable[[], Any]) -> Any:
        """``compute()``, cached while ``source`` (``rows`` or ``x``) is this very object,
        unchanged in length (an entry made for other rows, or before rows were added, is
        recomputed)."""
        entry = self.cache.get(key)
        if entry is None or entry[0] is not source or entry[1] != len(source):
            entry = (source, len(source), compute())
            self.cache[key] = entry
        return entry[2]

    def to_pulp(self) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[list[str]]]:
        """The same LP as a PuLP problem (maximisation), rows named after the domain.

        Returns the problem, its variables in column order, and for each row the names
        of the PuLP constraints that carry it (two for a ranged row).
        """
        problem = pulp.LpProblem("allocation", pulp.LpMaximize)
        variables = [
            problem.add_variable(
                n,
                lowBound=lo,
                upBound=None if up == INF else up,
                cat=pulp.LpInteger if j in self.integer else pulp.LpContinuous,
            )
            for j, (n, lo, up) in enumerate(
                zip(self.col_names, self.col_lb, self.col_ub, strict=True)
            )
        ]
        problem.setObjective(
            pulp.LpAffineExpression([(variables[j], c) for j, c in self.objective.items()])
        )
        carriers: list[list[str]] = []
        for i in range(self.n_rows):
            lo, hi = self.row_lo[i], self.row_hi[i]
            a, b = self.row_start[i], self.row_start[i + 1]
            expr = pulp.LpAffineExpression(
                [
                    (variables[j], c)
                    for j, c in zip(self.row_cols[a:b], self.row_vals[a:b], strict=True)
                ]
            )
            names = []
            if lo == hi:
                names.append(f"r{i}")
                problem.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, names[-1], lo))
            if lo != hi and lo > -INF:
                names.append(f"r{i}_lo")
                problem.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, names[-1], lo))
            if lo != hi and hi < INF:
                names.append(f"r{i}_hi")
                problem.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, names[-1], hi))
            carriers.append(names)
        return problem, variables, carriers


def discount_factors(scenario: Scenario) -> dict[int, float]:
    """Weight of each year's value: ``1 / (1 + r) ** (year - first year)``."""
    first = scenario.fund.years[0]
    rate = scenario.objective.discount_rate
    return {t: 1.0 / (1.0 + rate) ** (t - first) for t in scenario.fund.years}


def define_flows(model: ModelBuilder) -> None:
    """Columns ``x[m,a,t]`` where member m joined area a and pledges something."""
    sc = model.scenario
    for m in sc.members:
        if not any(v > 0 for v in m.pledges.values()):
            continue
        for a in sc.areas:
            if not m.joins(a.id):
                continue
            cap = m.caps.get(a.id)
            up = None if cap is None else cap / model.scale
            for t in sc.fund.years:
                model.x[m.id, a.id, t] = model.add_column(f"x_{m.id}_{a.id}_{t}", 0.0, up)


def define_funding(model: ModelBuilder) -> None:
    """``F[a,t] = sum_m x[m,a,t]`` and ``T[t] = sum_a F[a,t]``."""
    sc = model.scenario
    by_area: dict[tuple[str, int], list[int]] = {}
    for (_m, area, t), j in model.x.items():
        by_area.setdefault((area, t), []).append(j)
    for t in sc.fund.years:
        for a in sc.areas:
            model.funding[a.id, t] = model.add_column(f"F_{a.id}_{t}")
        model.total[t] = model.add_column(f"T_{t}")
    for t in sc.fund.years:
        for a in sc.areas:
            f = model.funding[a.id, t]
            terms = [(f, 1.0)] + [(j, -1.0) for j in by_area.get((a.id, t), [])]
            model.add_row(
                Row(f"funding[{a.id},{t}]", RowKind.FUNDING, area=a.id, year=t), terms, 0, 0.0
            )
        terms = [(model.total[t], 1.0)] + [(model.funding[a.id, t], -1.0) for a in sc.areas]
        model.add_row(Row(f"total[{t}]", RowKind.TOTAL, year=t), terms, 0, 0.0)


def define_budgets(model: ModelBuilder) -> None:
    """``sum_a x[m,a,t] + c[m,t] - c[m,t-1] <= pledge[m,t]`` for every member and year."""
    sc = model.scenario
    years = sc.fund.years
    by_member: dict[tuple[str, int], list[int]] = {}
    for (member, _a, t), j in model.x.items():
        by_member.setdefault((member, t), []).append(j)
    for m in sc.members:
        if not any((m.id, t) in by_member for t in years):
            continue
        if sc.fund.carry_over:
            for t in years[:-1]:
                model.carry[m.id, t] = model.add_column(f"c_{m.id}_{t}")
        for i, t in enumerate(years):
            terms = [(j, 1.0) for j in by_member.get((m.id, t), [])]
            if (m.id, t) in model.carry:
                terms.append((model.carry[m.id, t], 1.0))
            if i > 0 and (m.id, years[i - 1]) in model.carry:
                terms.append((model.carry[m.id, years[i - 1]], -1.0))
            rhs = m.pledges[t] / model.scale
            model.add_row(
                Row(f"budget[{m.id},{t}]", RowKind.BUDGET, member=m.id, year=t), terms, -1, rhs
            )


def _limit_row(
    model: ModelBuilder, row: Row, cols: list[int], limit: Limit, sense: int, t: int | None
) -> None:
    """``sum cols (sense) amount`` or ``sum cols - share * T (sense) 0``."""
    terms = [(j, 1.0) for j in cols]
    if limit.share is not None:
        years = model.scenario.fund.years if t is None else [t]
        terms += [(model.total[y], -limit.share) for y in years]
        model.add_row(row, terms, sense, 0.0)
    else:
        model.add_row(row, terms, sense, (limit.amount or 0.0) / model.scale)


def define_area_limits(model: ModelBuilder) -> None:
    """Floors and ceilings per area and year, in money or as shares of the year's total."""
    sc = model.scenario
    for a in sc.areas:
        for t in sc.fund.years:
            f = [model.funding[a.id, t]]
            soft = not a.hard
            if a.floor is not None:
                row = Row(f"floor[{a.id},{t}]", RowKind.FLOOR, area=a.id, year=t, soft=soft)
                _limit_row(model, row, f, a.floor, 1, t)
            if a.ceiling is not None:
                row = Row(f"ceiling[{a.id},{t}]", RowKind.CEILING, area=a.id, year=t, soft=soft)
                _limit_row(model, row, f, a.ceiling, -1, t)


def define_absorption(model: ModelBuilder) -> None:
    """Year-on-year change of an area's funding within its absorption rate."""
    sc = model.scenario
    years = sc.fund.years
    for a in sc.areas:
        if a.absorption is None:
            continue
        r = a.absorption
        for prev, t in pairwise(years):
            now, before = model.funding[a.id, t], model.funding[a.id, prev]
            soft = not a.hard
            up = Row(
                f"absorption_up[{a.id},{t}]", RowKind.ABSORPTION_UP, area=a.id, year=t, soft=soft
            )
            model.add_row(up, [(now, 1.0), (before, -(1.0 + r))], -1, 0.0)
            down = Row(
                f"absorption_down[{a.id},{t}]",
                RowKind.ABSORPTION_DOWN,
                area=a.id,
                year=t,
                soft=soft,
            )
            model.add_row(down, [(now, 1.0), (before, -(1.0 - r))], 1, 0.0)


def define_policies(model: ModelBuilder) -> None:
    """Named rules over groups of areas and members, per year or over the horizon."""
    sc = model.scenario
    member_pos = {m.id: i for i, m in enumerate(sc.members)}
    area_pos = {a.id: i for i, a in enumerate(sc.areas)}
    for p in sc.policies:
        areas = set(p.areas) if p.areas is not None else {a.id for a in sc.areas}
        periods: list[int | None] = list(sc.fund.years) if p.per == "year" else [None]
        # Flows are looked up by key in scenario order: scanning every flow for every rule
        # and year made one rule per member and area cost O(rules x flows).
        who = sorted(set(p.members or ()), key=member_pos.__getitem__)
        where = sorted(areas, key=area_pos.__getitem__)
        for t in periods:
            years = sc.fund.years if t is None else [t]
            if p.members is None:
                cols = [model.funding[a, y] for a in sorted(areas) for y in years]
            else:
                keys = ((m, a, y) for m in who for a in where for y in years)
                cols = [model.x[k] for k in keys if k in model.x]
            suffix = "" if t is None else f",{t}"
            for kind, limit, sense in (
                (RowKind.POLICY_MIN, p.at_least, 1),
                (RowKind.POLICY_MAX, p.at_most, -1),
            ):
                if limit is None:
                    continue
                row = Row(f"{kind}[{p.id}{suffix}]", kind, year=t, policy=p.id, soft=not p.hard)
                _limit_row(model, row, cols, limit, sense, t)


def define_value(model: ModelBuilder) -> None:
    """Objective: priority-weighted, discounted value with diminishing returns.

    Without a value curve an area's value is linear (one point per fund unit). With a
    curve, pieces ``s[a,t,k]`` with decreasing marginals fill in order because the LP
    maximises; row ``value[a,t]`` keeps ``sum_k s[a,t,k] <= F[a,t]``.
    """
    sc = model.scenario
    disc = discount_factors(sc)
    priority = area_priorities(sc)  # the areas' own unless members state theirs
    for a in sc.areas:
        valued = model.value_columns.setdefault(a.id, [])
        for t in sc.fund.years:
            weight = priority[a.id] * disc[t]
            f = model.funding[a.id, t]
            spend = model.project_spend.get((a.id, t), [])
            # A project's funded share earns value x the area's priority (define_units).
            valued += [j for j, _c in spend if j not in valued]
            if a.value_curve is None:
                valued.append(f)
                model.objective[f] = model.objective.get(f, 0.0) + weight
                for j, c in spend:
                    model.objective[j] = model.objective.get(j, 0.0) - weight * c
                continue
            pieces, start = [], 0.0
            for k, seg in enumerate(a.value_curve):
                width = None if seg.up_to is None else (seg.up_to - start) / model.scale
                j = model.add_column(f"s_{a.id}_{t}_{k}", 0.0, width)
                model.pieces[a.id, t, k] = j
                model.objective[j] = weight * seg.marginal
                pieces.append((j, 1.0))
                valued.append(j)
                start = seg.up_to or start
            model.add_row(
                Row(f"value[{a.id},{t}]", RowKind.VALUE, area=a.id, year=t),
                [*pieces, (f, -1.0), *spend],
                -1,
                0.0,
            )


def flow_index(model: PlanModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per flow: its column, member index, year index and area priority."""
    sc = model.scenario
    member = {m.id: i for i, m in enumerate(sc.members)}
    year = {t: i for i, t in enumerate(sc.fund.years)}
    priority = area_priorities(sc)
    keys = list(model.x)
    return (
        np.fromiter(model.x.values(), dtype=int, count=len(keys)),
        np.array([member[m] for m, _, _ in keys], dtype=int),
        np.array([year[t] for _, _, t in keys], dtype=int),
        np.array([priority[a] for _, a, _ in keys], dtype=float),
    )
