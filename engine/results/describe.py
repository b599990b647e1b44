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


#: Words for the go/no-go families' rows, by kind, from the keys in the row's name
#: (``area_stake[arctic,AAA]``: ``{0}`` is arctic, ``{1}`` AAA).
_KEYED_WORDS = {
    "projects_within_area": "the {0} projects' cost within {0}'s funding in {1}",
    "member_projects": "{0}'s share of the {1} projects within its money for {1} in {2}",
    "area_commit": "{1}'s commitment to the {0} area coalition in {2}",
    "area_joins": "whether {1} joins the {0} area coalition",
    "area_stake": "{1}'s minimum stake in the {0} area coalition",
    "area_coalition": "the {0} area coalition's minimum number of members",
    "area_amount": "the {0} area coalition's minimum amount",
    "commit": "{1}'s commitment to project {0}",
    "stake": "{1}'s minimum stake in project {0}",
    "coalition": "project {0}'s minimum number of members",
    "coalition_amount": "project {0}'s coalition minimum amount",
    "needs": "project {0}'s need for {1}",
    "exclusion": "exclusion {0} (at most one of its projects)",
    "stage_count": "the number of grants of call {0}, stage {1}, in {2}",
    "stage_budget": "the budget of call {0}, stage {1}, in {2}",
    "capacity": "the capacity of {0} in {1}",
    "industrial_return": "{1}'s industrial return under {0}",
    "burden_min": "{1}'s lower burden-sharing bound under {0}",
    "burden_max": "{1}'s upper burden-sharing bound under {0}",
    "min_share": "project {0}'s minimum share",
    "share_if_go": "project {0}'s share (only if it goes ahead)",
    "project_shares": "the members' shares of project {0}",
    "participation": "{0}'s participation (its value in the fund at least alone)",
}


def _keyed_words(row: Row) -> str | None:
    template = _KEYED_WORDS.get(row.kind.value)
    head, _, rest = row.name.partition("[")
    if template is None or head != row.kind.value or not rest.endswith("]"):
        return None
    try:
        return template.format(*rest[:-1].split(","))
    except IndexError:  # a name of another shape than the family's: keep it as written
        return None


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
    return _keyed_words(row) or row.name


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
