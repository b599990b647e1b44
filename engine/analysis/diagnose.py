"""Explain an infeasible scenario in the planner's terms, by elastic relaxation.

Every soft constraint (floors, ceilings, absorption limits, policies not marked ``hard``)
gets a penalised slack; member budgets, opt-outs and hard constraints stay fixed. The
least total relaxation that restores feasibility names the constraints in conflict and
by how much each must move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.core import INF, PlanModel
from engine.formulation.rows import RowKind
from engine.results.describe import describe_row, money
from engine.results.schema import DIAGNOSIS
from engine.results.wording import count_noun
from engine.solving.backends import (
    SolverOptions,
    SolveStatus,
    highs_lp,
    highs_status,
    new_highs,
    pass_model,
)

#: Relaxations smaller than this many model units are solver noise.
_TINY = 1e-7


def _elastic_columns(model: PlanModel) -> list[tuple[int, float]]:
    """(row, direction) for each slack: +1 lowers a lower bound, -1 raises an upper one."""
    cols = []
    for i, row in enumerate(model.rows):
        if not row.soft:
            continue
        if model.row_lo[i] > -INF:
            cols.append((i, 1.0))
        if model.row_hi[i] < INF:
            cols.append((i, -1.0))
    return cols


def area_capacity(model: PlanModel, area: str, year: int) -> float:
    """Most money (currency units) the members who joined ``area`` could give in ``year``,
    counting carry-over of earlier pledges and their caps."""
    sc = model.scenario
    total = 0.0
    for m in sc.members:
        if (m.id, area, year) not in model.x:
            continue
        available = m.pledges[year]
        if sc.fund.carry_over:
            available = sum(v for t, v in m.pledges.items() if t <= year)
        cap = m.caps.get(area)
        total += min(available, cap) if cap is not None else available
    return total


def _message(model: PlanModel, i: int, direction: float, amount: float) -> str:
    row = model.rows[i]
    sc = model.scenario
    label = describe_row(row, sc)
    bound = (model.row_lo[i] if direction > 0 else model.row_hi[i]) * model.scale
    verb = "lower" if direction > 0 else "raise"
    text = f"{verb} {label} by {money(amount, sc)}"
    if row.kind in (RowKind.FLOOR, RowKind.CEILING) and bound:
        text += f" (from {money(bound, sc)} to {money(bound - direction * amount, sc)})"
    if row.kind is RowKind.FLOOR and row.area and row.year is not None:
        capacity = area_capacity(model, row.area, row.year)
        if capacity < bound:  # the members who joined cannot reach the floor
            joined = [m.id for m in sc.members if (m.id, row.area, row.year) in model.x]
            carried = " with money carried over" if sc.fund.carry_over else ""
            if not joined:
                text += f"; no member joined {row.area}"
            elif capacity <= 0:
                verb = "pledges" if len(joined) == 1 else "pledge"
                text += (
                    f"; the {count_noun(len(joined), 'member')} who joined {row.area} "
                    f"({', '.join(joined[:4])}) {verb} nothing that year{carried}"
                )
            else:
                text += (
                    f"; the {count_noun(len(joined), 'member')} who joined {row.area} can give "
                    f"at most {money(capacity, sc)} that year{carried}"
                )
            text += _joiners(model, row.area, row.year, amount)
        else:  # more members would not help: other rules hold the area back
            text += (
                f"; its members could give up to {money(capacity, sc)}, but other rules "
                "(ceilings, absorption limits, policies or other floors) hold it back"
            )
    return text


def _joiners(model: PlanModel, area: str, year: int, amount: float) -> str:
    """``, or have 2 more members join cyber (e.g. DEU, FRA)``: the fewest members who
    stay out of ``area`` whose pledges that year would cover ``amount``."""
    sc = model.scenario
    outside = sorted(
        (m for m in sc.members if not m.joins(area) and m.pledges[year] > 0),
        key=lambda m: (-m.pledges[year], m.id),
    )
    total, chosen = 0.0, []
    for m in outside:
        if total >= amount:
            break
        total += m.pledges[year]
        chosen.append(m.id)
    if not chosen or total < amount:
        return ""
    members = "member" if len(chosen) == 1 else "members"
    return f", or have {len(chosen)} more {members} join {area} (e.g. {', '.join(chosen[:4])})"


def diagnose(model: PlanModel, options: SolverOptions | None = None) -> pd.DataFrame:
    """Smallest relaxations (L1, in money) that make the scenario feasible, largest first.

    Columns: name, kind, label, relax_by (currency units), message. An empty frame with a
    single explanatory row is returned when even full relaxation leaves it infeasible.
    """
    import highspy

    options = options or SolverOptions()
    h = new_highs(SolverOptions(time_limit=options.time_limit))
    pass_model(h, highs_lp(model, objective={}))
    slacks = _elastic_columns(model)
    if slacks:
        n = len(slacks)
        h.addCols(
            n,
            np.full(n, -1.0),
            np.zeros(n),
            np.full(n, highspy.kHighsInf),
            n,
            np.arange(n, dtype=np.int32),
            np.array([i for i, _ in slacks], dtype=np.int32),
            np.array([d for _, d in slacks], dtype=float),
        )
    h.run()
    columns = list(DIAGNOSIS)
    if highs_status(h) is not SolveStatus.OPTIMAL:
        hard = [r.name for r in model.rows if r.kind.relaxable and not r.soft]
        detail = f" (hard constraints: {', '.join(hard[:8])})" if hard else ""
        text = (
            "the scenario is infeasible even with every soft floor, ceiling, absorption limit "
            "and policy relaxed: members' budgets, opt-outs and hard constraints conflict" + detail
        )
        return pd.DataFrame([("", "hard", "hard constraints", float("nan"), text)], columns=columns)
    values = np.asarray(h.getSolution().col_value)[model.n_cols :]
    out = []
    for (i, direction), v in zip(slacks, values, strict=True):
        if v > _TINY:
            row = model.rows[i]
            amount = v * model.scale
            out.append(
                (
                    row.name,
                    row.kind.value,
                    describe_row(row, model.scenario),
                    amount,
                    _message(model, i, direction, amount),
                )
            )
    frame = pd.DataFrame(out, columns=columns)
    return frame.sort_values("relax_by", ascending=False, kind="stable").reset_index(drop=True)
