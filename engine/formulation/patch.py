"""Patch a built model for a scenario that differs only in amounts that are bounds.

A what-if or a batch scenario usually changes pledges, money floors and ceilings, caps
or money limits of policies. Those are right-hand sides and column bounds of the same
LP, so the new model is the old one with a few numbers changed: no rebuild (which costs
~10 microseconds of Python per row). Anything else (a share, a priority, an opt-out, the
years, any change to the go/no-go sections) returns None, and the caller builds the model
anew. Unchanged go/no-go sections are patched too, except area coalitions when pledges
move (a member's pledges are a coefficient of its commitment rows there).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.coalition.priorities import priority_key
from engine.formulation.core import PlanModel
from engine.formulation.rows import RowKind
from engine.scenario.schema import Area, Limit, Member, PolicyConstraint, Scenario

_PROJECT_SECTIONS = (
    "projects",
    "calls",
    "resources",
    "exclusions",
    "area_coalitions",
    "industrial_return",
    "burden_sharing",
)


def _shape(limit: Limit | None) -> object:
    """A limit with its money amount blanked out (shares and absence stay structural)."""
    if limit is None or limit.amount is None:
        return limit
    return "money"


def _without(item: Area | PolicyConstraint, *amounts: str) -> tuple:
    """The item's fields except ``amounts``, whose money amounts are blanked out."""
    return tuple(
        _shape(value) if name in amounts else value for name, value in item.__dict__.items()
    )


def _area_key(a: Area) -> tuple:
    return _without(a, "floor", "ceiling")


def _member_key(m: Member) -> tuple:
    pledges = m.pledges
    return (
        m.id,
        m.name,
        m.opt_in,
        tuple(m.opt_out),
        tuple(sorted(m.caps)),
        any(v > 0 for v in pledges.values()),
        tuple(sorted(pledges)),
    )


def _policy_key(p: PolicyConstraint) -> tuple:
    return _without(p, "at_least", "at_most")


def _pledge_totals(scenario: Scenario) -> list[float]:
    return [sum(m.pledges.values()) for m in scenario.members]


def structure_key(scenario: Scenario) -> tuple:
    """Everything of ``scenario`` that shapes its LP: all but the amounts that are bounds."""
    pledges = _pledge_totals(scenario) if scenario.area_coalitions else None
    return (
        scenario.fund,
        scenario.objective,
        tuple(getattr(scenario, s) for s in _PROJECT_SECTIONS),
        pledges,
        [_area_key(a) for a in scenario.areas],
        [_member_key(m) for m in scenario.members],
        [_policy_key(p) for p in scenario.policies],
        priority_key(scenario),  # members' priorities (and pledges, by pledge weight)
    )


def _budget_rows(model: PlanModel) -> np.ndarray:
    """The row of each member's budget in each year (members x years; -1 where none)."""
    row_at = model.row_at()
    sc = model.scenario
    return np.array(
        [
            [row_at.get((RowKind.BUDGET, None, m.id, t, None), -1) for t in sc.fund.years]
            for m in sc.members
        ],
        dtype=int,
    ).reshape(len(sc.members), len(sc.fund.years))


def patch_bounds(model: PlanModel, scenario: Scenario) -> PlanModel | None:
    """``model`` re-targeted at ``scenario`` with its bounds updated, or None when the
    scenarios differ in more than bounds (then build the model anew)."""
    key = structure_key(scenario)
    if key != (model.structure_key or structure_key(model.scenario)):
        return None
    scale = model.scale
    row_at = model.row_at()
    lo, hi, col_ub = model.row_lo.copy(), model.row_hi.copy(), model.col_ub.copy()
    years = scenario.fund.years
    budget = model.derived("budget_rows", model.rows, lambda: _budget_rows(model))
    pledges = np.array([[p[t] for t in years] for p in (m.pledges for m in scenario.members)])
    hi[budget[budget >= 0]] = pledges[budget >= 0] / scale
    for m in scenario.members:
        for area, cap in m.caps.items():
            for t in years:
                j = model.x.get((m.id, area, t))
                if j is not None:
                    col_ub[j] = cap / scale
    for a in scenario.areas:
        for t in years:
            if a.floor is not None and a.floor.amount is not None:
                lo[row_at[RowKind.FLOOR, a.id, None, t, None]] = a.floor.amount / scale
            if a.ceiling is not None and a.ceiling.amount is not None:
                hi[row_at[RowKind.CEILING, a.id, None, t, None]] = a.ceiling.amount / scale
    for p in scenario.policies:
        periods: list[int | None] = list(years) if p.per == "year" else [None]
        for y in periods:
            if p.at_least is not None and p.at_least.amount is not None:
                lo[row_at[RowKind.POLICY_MIN, None, None, y, p.id]] = p.at_least.amount / scale
            if p.at_most is not None and p.at_most.amount is not None:
                hi[row_at[RowKind.POLICY_MAX, None, None, y, p.id]] = p.at_most.amount / scale
    return replace(model, scenario=scenario, row_lo=lo, row_hi=hi, col_ub=col_ub, structure_key=key)
