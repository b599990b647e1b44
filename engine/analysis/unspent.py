"""Why pledged money is left unallocated, member by member and year, in planner's words.

A plan may leave money idle and still be optimal. The reasons the scenario's rules give are
read off the solved plan: each area the member may fund is full (a ceiling, absorption limit,
policy maximum or the member's own cap is met), not funded at all (an area coalition that did
not form), held back by another rule's share floor (more money anywhere raises the total, and
with it an amount the floor's own areas cannot reach), or takes no more because more money
there adds no value (its value curve ends).
"""

from __future__ import annotations

import pandas as pd

from engine.results.money import money_as
from engine.results.schema import Result
from engine.scenario.projects import AreaCoalition
from engine.scenario.schema import Member, Scenario
from engine.scenario.units import UNIT_FACTORS

#: The columns of :func:`unspent_reasons`.
UNSPENT = ("member", "year", "unspent", "reason")
#: Row kinds that stop an area-year taking more money.
_UPPER = ("ceiling", "absorption_up", "policy_max")
#: Row kinds whose share form ties the year's total to what their own areas receive.
_SHARE_FLOORS = ("floor", "policy_min")


def _binding_limits(result: Result) -> pd.DataFrame:
    c = result.constraints
    if c.empty:
        return c
    return c[c["binding"] & c["kind"].isin(_UPPER)]


def _binding_share_floors(result: Result, scenario: Scenario) -> list[tuple[pd.Series, float]]:
    """Binding share floors that cost value, with their shares, the costliest first.

    Only a priced floor holds spending down: one whose relaxing gains nothing is met at the
    margin by chance, and the money stays idle for another reason.
    """
    c = result.constraints
    if c.empty:
        return []
    unit = UNIT_FACTORS[scenario.fund.unit]
    rows = c[c["binding"] & c["kind"].isin(_SHARE_FLOORS) & (c["shadow_price"].abs() * unit > 1e-9)]
    areas = {a.id: a for a in scenario.areas}
    policies = {p.id: p for p in scenario.policies}
    found = []
    for _, row in rows.iloc[(-rows["shadow_price"].abs()).argsort(kind="stable")].iterrows():
        limit = (
            areas[row["area"]].floor if row["kind"] == "floor" else policies[row["policy"]].at_least
        )
        if limit is not None and limit.share is not None:
            found.append((row, limit.share))
    return found


def _share_floor_words(row: pd.Series, share: float, scenario: Scenario) -> str:
    over = "the total" if pd.notna(row["year"]) else "the total over all years"
    if row["kind"] == "floor":
        return f"the share floor of {row['area']} ({share * 100:g}% of {over})"
    policy = next(p for p in scenario.policies if p.id == row["policy"])
    return f"the share minimum of policy '{policy.label or policy.id}' ({share * 100:g}% of {over})"


def _held_by(row: pd.Series, area: str, year: int, member: Member, scenario: Scenario) -> bool:
    """Whether ``member``'s money for ``area`` in ``year`` raises the total ``row`` takes a
    share of without counting towards the floor itself."""
    if pd.notna(row["year"]) and row["year"] != year:
        return False
    if row["kind"] == "floor":
        return row["area"] != area
    policy = next(p for p in scenario.policies if p.id == row["policy"])
    counted = (policy.areas is None or area in policy.areas) and (
        policy.members is None or member.id in policy.members
    )
    return not counted


def _area_state(
    area: str,
    year: int,
    member: Member,
    scenario: Scenario,
    limits: pd.DataFrame,
    floors: list[tuple[pd.Series, float]],
    result: Result,
) -> str:
    """What stops ``area`` taking more of ``member``'s money in ``year``."""
    here = limits[(limits["area"] == area) & (limits["year"] == year)]
    if not here.empty:
        return f"{area} is at {here['label'].iloc[0]}"
    for _, row in limits[limits["kind"] == "policy_max"].iterrows():
        policy = next(p for p in scenario.policies if p.id == row["policy"])
        in_year = row["year"] is None or pd.isna(row["year"]) or row["year"] == year
        covers = (policy.areas is None or area in policy.areas) and (
            policy.members is None or member.id in policy.members
        )
        if in_year and covers:
            return f"{area} is at {row['label']}"
    cap = member.caps.get(area)
    if cap is not None:
        given = result.allocation
        paid = given[
            (given["member"] == member.id) & (given["area"] == area) & (given["year"] == year)
        ]["amount"].sum()
        if paid >= cap * (1 - 1e-9):
            return f"{area} is at {member.id}'s cap"
    rule = next((c for c in scenario.area_coalitions if c.area == area), None)
    if rule is not None:
        funded = result.areas
        amount = funded[(funded["area"] == area) & (funded["year"] == year)]["amount"].sum()
        if amount <= 0:
            return f"{area} is not funded: {_coalition_words(rule, scenario)}"
    for row, share in floors:
        if _held_by(row, area, year, member, scenario):
            words = _share_floor_words(row, share, scenario)
            return f"{words} caps what can be spent on {area}"
    return f"more for {area} adds no value"


def _coalition_words(rule: AreaCoalition, scenario: Scenario) -> str:
    """Why an area coalition did not form, as far as the scenario alone tells."""
    able = sum(m.joins(rule.area) for m in scenario.members)
    if rule.min_members is not None and able < rule.min_members:
        return (
            f"its area coalition needs {rule.min_members} members and only {able} may fund it, "
            "so it can never form"
        )
    return "its area coalition (area_coalitions) did not form in this plan"


def unspent_reasons(result: Result, scenario: Scenario, tolerance: float = 1e-6) -> pd.DataFrame:
    """Each member-year whose pledged money is not all allocated, and why.

    Columns :data:`UNSPENT`: ``unspent`` in currency units; ``reason`` says, for every area
    the member may fund, what stops it taking more (``cyber is at the cyber ceiling in
    2026``). Money below ``tolerance`` fund units is not reported. An empty frame when
    everything pledged is allocated (or the plan is not solved).
    """
    members = result.members
    if members.empty:
        return pd.DataFrame(columns=list(UNSPENT))
    unit = UNIT_FACTORS[scenario.fund.unit]
    limits = _binding_limits(result)
    floors = _binding_share_floors(result, scenario)
    rows = []
    for m in scenario.members:
        mine = members[(members["member"] == m.id) & (members["unspent"] > tolerance * unit)]
        areas = [a.id for a in scenario.areas if m.joins(a.id)]
        for rec in mine.itertuples(index=False):
            if not areas:
                reason = f"{m.id} joins no area"
            else:
                states = [
                    _area_state(a, rec.year, m, scenario, limits, floors, result) for a in areas
                ]
                only = len(areas) < len(scenario.areas)
                reason = (f"it may fund only {', '.join(areas)}: " if only else "") + "; ".join(
                    states
                )
            rows.append((m.id, int(rec.year), float(rec.unspent), reason))
    return pd.DataFrame(rows, columns=list(UNSPENT))


def describe_unspent(result: Result, scenario: Scenario, limit: int = 5) -> list[str]:
    """Lines for a planner, one per member-year with unspent money (the largest ``limit``)."""
    frame = unspent_reasons(result, scenario)
    frame = frame.sort_values("unspent", ascending=False, kind="stable").head(limit)
    return [
        f"{r.member} {r.year}: {money_as(r.unspent, scenario)} unspent; {r.reason}"
        for r in frame.itertuples(index=False)
    ]
