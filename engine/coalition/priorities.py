"""Members' priorities as numbers, and the fund's area priorities that aggregate them.

Each member's weights over the areas it joined sum to one: its stated weights or swing
points normalised, the AHP weights of its comparisons, or (when it states none) the
areas' own priorities over the areas it joined. The fund values a plan as the sum over
members of ``lambda_m * V_m``, ``V_m`` the member's value of the plan by its weights and
``lambda_m`` its share under ``objective.member_weights``: ``pledge`` (share of the
pledges over the horizon, the default once any member states priorities) or ``equal``
(among members that pledge). Value curves are per area, so that sum is the usual
objective with area priority ``p_a = c * sum_m lambda_m * w_m[a]``; ``c`` keeps the sum
of the priorities as written, so values stay on the scale of the scenario's figures.

When no member states priorities and no rule is given, the area priorities are the
scenario's own, untouched: every scenario written before members had priorities solves
to the same plan.
"""

from __future__ import annotations

from functools import lru_cache

from engine.coalition.ahp import AHPResult, ahp
from engine.scenario.schema import Member, Scenario


def uses_member_priorities(scenario: Scenario) -> bool:
    """Whether the fund's objective aggregates members' priorities (not the areas' own)."""
    if scenario.objective.member_weights is not None:
        return True
    return any(m.priorities is not None for m in scenario.members)


@lru_cache(maxsize=256)
def _ahp(comparisons: tuple[tuple[str, str, float], ...]) -> AHPResult:
    items: dict[str, None] = {}
    for a, b, _ in comparisons:
        items.setdefault(a)
        items.setdefault(b)
    return ahp(list(items), comparisons)


def _ahp_weights(comparisons: tuple[tuple[str, str, float], ...]) -> tuple[tuple[str, float], ...]:
    return tuple(_ahp(comparisons).weight_of().items())


def consistency_ratio(member: Member) -> float | None:
    """Saaty's consistency ratio of the member's pairwise comparisons (None when it
    states its priorities another way, or not at all)."""
    p = member.priorities
    if p is None or p.pairwise is None:
        return None
    return _ahp(tuple(p.pairwise)).cr


def stated_weights(member: Member) -> dict[str, float] | None:
    """The member's own weights by area, summing to one (None when it states none).
    Pairwise comparisons must be complete (validation checks it)."""
    p = member.priorities
    if p is None:
        return None
    if p.pairwise is not None:
        return dict(_ahp_weights(tuple(p.pairwise)))
    raw = dict(p.weights if p.weights is not None else p.swing or {})
    total = sum(raw.values())
    return {a: v / total for a, v in raw.items()} if total > 0 else {a: 0.0 for a in raw}


def member_weights(scenario: Scenario, member: Member) -> dict[str, float]:
    """The member's weight on every area of the scenario (zero where it did not join or
    gives none), summing to one unless it joined no area valued at all."""
    own = stated_weights(member)
    if own is None:
        joined = {a.id: a.priority for a in scenario.areas if member.joins(a.id)}
        total = sum(joined.values())
        own = {a: v / total for a, v in joined.items()} if total > 0 else {}
    return {a.id: own.get(a.id, 0.0) if member.joins(a.id) else 0.0 for a in scenario.areas}


def aggregation_weights(scenario: Scenario) -> dict[str, float]:
    """Each member's share ``lambda_m`` in the fund's objective (summing to one over the
    members that pledge; zero for those that pledge nothing)."""
    rule = scenario.objective.member_weights or "pledge"
    totals = {m.id: sum(m.pledges.values()) for m in scenario.members}
    if rule == "equal":
        totals = {k: 1.0 if v > 0 else 0.0 for k, v in totals.items()}
    grand = sum(totals.values())
    return {k: v / grand if grand > 0 else 0.0 for k, v in totals.items()}


def area_priorities(scenario: Scenario) -> dict[str, float]:
    """The priority of each area in the fund's objective (see the module)."""
    written = {a.id: a.priority for a in scenario.areas}
    if not uses_member_priorities(scenario):
        return written
    lam = aggregation_weights(scenario)
    agg = dict.fromkeys(written, 0.0)
    for m in scenario.members:
        if lam[m.id] <= 0:
            continue
        for a, w in member_weights(scenario, m).items():
            agg[a] += lam[m.id] * w
    total = sum(agg.values())
    scale = sum(written.values()) / total if total > 0 else 0.0
    return {a: v * scale for a, v in agg.items()}


def priority_key(scenario: Scenario) -> tuple | None:
    """What of the members' priorities shapes the objective (None when they do not):
    part of the structure key of a built model (engine.formulation.patch)."""
    if not uses_member_priorities(scenario):
        return None
    return tuple(sorted(area_priorities(scenario).items()))
