"""A member alone: the one-member scenario of what it could buy with its own pledge.

The member keeps its pledge, opt-ins or opt-outs, caps and the rules written for it alone
(policies naming only it, in money). It sees the areas it joined with the same value
curves and absorption rates, valued by its own weights (engine.coalition.priorities).
The fund's own rules are left out: area floors and ceilings, policies over the fund or
several members, rules shared among members (industrial return, burden sharing,
workshares). Go/no-go items stay when the member could fund them alone: projects open to
it in an area it joined, without a coalition of two or more members (and those that
need a project that left); staged calls in areas it joined; an area that needs a
coalition of two or more members to launch is out of its reach.
"""

from __future__ import annotations

from engine.coalition.priorities import member_weights
from engine.scenario.schema import Area, Member, PolicyConstraint, Project, Scenario


def _alone_areas(scenario: Scenario, member: Member) -> list[Area]:
    weights = member_weights(scenario, member)
    blocked = {
        c.area for c in scenario.area_coalitions if c.min_members is not None and c.min_members > 1
    }
    return [
        a.model_copy(
            update={"priority": weights[a.id], "floor": None, "ceiling": None, "hard": False}
        )
        for a in scenario.areas
        if member.joins(a.id) and a.id not in blocked
    ]


def _alone_policies(scenario: Scenario, member: Member, areas: set[str]) -> list[PolicyConstraint]:
    kept = []
    for p in scenario.policies:
        if p.members != [member.id]:
            continue
        if any(limit is not None and limit.share is not None for limit in (p.at_least, p.at_most)):
            continue
        where = [a for a in (p.areas if p.areas is not None else sorted(areas)) if a in areas]
        if where:
            kept.append(p.model_copy(update={"areas": where}))
    return kept


def _alone_projects(scenario: Scenario, member: Member, areas: set[str]) -> list[Project]:
    def reachable(p: Project) -> bool:
        if p.area not in areas or (p.members is not None and member.id not in p.members):
            return False
        rule = p.coalition
        return rule is None or rule.min_members is None or rule.min_members <= 1

    kept = {p.id: p for p in scenario.projects if reachable(p)}
    changed = True
    while changed:  # a project that needs one out of reach is out of reach too
        gone = [k for k, p in kept.items() if any(n not in kept for n in p.needs)]
        for k in gone:
            del kept[k]
        changed = bool(gone)
    return [p.model_copy(update={"workshare": {}}) for p in kept.values()]


def standalone_scenario(scenario: Scenario, member_id: str) -> Scenario:
    """The validated one-member scenario of ``member_id`` alone (see the module)."""
    member = scenario.member(member_id)
    areas = _alone_areas(scenario, member)
    ids = {a.id for a in areas}
    projects = _alone_projects(scenario, member, ids)
    kept = {p.id for p in projects}
    calls = []
    for c in scenario.calls:
        apps = [app for app in c.applications if (app.area or c.area) in ids]
        if c.area in ids and apps:
            calls.append(c.model_copy(update={"applications": apps}))
    exclusions = [
        e.model_copy(update={"projects": [p for p in e.projects if p in kept]})
        for e in scenario.exclusions
        if sum(p in kept for p in e.projects) >= 2
    ]
    used = {r for p in projects for r in p.uses} | {
        r for c in calls for s in c.stages for r in s.uses
    }
    alone = scenario.model_copy(
        update={
            "fund": scenario.fund.model_copy(
                update={"name": f"{scenario.fund.name}: {member_id} alone"}
            ),
            "members": [member.model_copy(update={"priorities": None})],
            "areas": areas,
            "policies": _alone_policies(scenario, member, ids),
            # Only the value matters alone: no tie-break among equally good plans.
            "objective": scenario.objective.model_copy(
                update={"member_weights": None, "tie_break": "none"}
            ),
            "projects": projects,
            "calls": calls,
            "resources": [r for r in scenario.resources if r.id in used],
            "exclusions": exclusions,
            "area_coalitions": [c for c in scenario.area_coalitions if c.area in ids],
            "industrial_return": [],
            "burden_sharing": [],
            "paths": {},
            "pledges": None,
        }
    )
    alone.remember_written(None)
    return alone
