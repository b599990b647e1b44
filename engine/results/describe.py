"""Plain-language names of constraints, for messages, reports and the app."""

from __future__ import annotations

from collections.abc import Mapping

from engine.formulation.core import Row
from engine.scenario.schema import PolicyConstraint, Scenario
from engine.scenario.units import format_money

_KIND_WORDS = {
    "budget": "budget",
    "floor": "floor",
    "ceiling": "ceiling",
    "absorption_up": "absorption limit (growth)",
    "absorption_down": "absorption limit (cut)",
}


def describe_row(
    row: Row, scenario: Scenario, policies: Mapping[str, PolicyConstraint] | None = None
) -> str:
    """E.g. ``the cyber floor in 2026`` or ``Germany's budget in 2027``.

    ``policies`` (the scenario's policies by id) saves a search per row when labelling
    every row of a model with thousands of policies.
    """
    year = f" in {row.year}" if row.year is not None else " over the horizon"
    if row.kind == "budget" and row.member:
        name = scenario.member(row.member).name or row.member
        return f"{name}'s budget{year}"
    if row.area and row.kind in _KIND_WORDS:
        return f"the {row.area} {_KIND_WORDS[row.kind]}{year}"
    if row.policy:
        policy = (
            policies[row.policy]
            if policies is not None
            else next(p for p in scenario.policies if p.id == row.policy)
        )
        side = "minimum" if row.kind == "policy_min" else "maximum"
        return f"policy '{policy.label or policy.id}' ({side}){year}"
    return row.name


def money(amount: float, scenario: Scenario) -> str:
    """An amount in currency units, formatted in the fund's unit (``$12.5bn``)."""
    return format_money(amount, scenario.fund.currency, scenario.fund.unit)


def shadow_sentence(label: str, shadow_price: float, scenario: Scenario) -> str:
    """E.g. ``each extra $1bn on the cyber floor in 2026 costs 0.80 value points``.

    ``shadow_price`` is in value points per currency unit (as in the constraints frame).
    """
    from engine.scenario.units import UNIT_FACTORS

    per_unit = shadow_price * UNIT_FACTORS[scenario.fund.unit]
    one = money(UNIT_FACTORS[scenario.fund.unit], scenario)
    verb = "adds" if per_unit >= 0 else "costs"
    return f"each extra {one} on {label} {verb} {abs(per_unit):.3g} value points"
