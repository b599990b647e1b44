"""The go/no-go part of the docs' formulation (docs/projects.md): projects pooled and
joint, coalitions, needs, exclusions, staged calls and shared resources, as rows over the
flows of :mod:`tests.docs_oracle`.
"""

from __future__ import annotations

from typing import Any

from tests.docs_lp import Lp, add
from tests.docs_reading import amount, pledges, share


def _is_joint(project: dict[str, Any], data: dict[str, Any]) -> bool:
    """Paid by member shares (docs/projects.md) rather than from the area's pooled money."""
    named = {p for rule in data.get("burden_sharing") or [] for p in rule["projects"]}
    named |= {p for rule in data.get("industrial_return") or [] for p in rule.get("projects") or []}
    keys = ("members", "coalition", "workshare")
    return any(project.get(k) is not None for k in keys) or project["id"] in named


def _joint_shares(
    lp: Lp, project: dict[str, Any], cost: dict, go: tuple[int, int], x: dict, unit: float
) -> tuple[dict[tuple[str, str, int], dict[int, float]], dict[str, int]]:
    """Member shares q summing to z, and the coalition rule; returns each member's payments
    to the project by (member, area, t), and the share columns by member."""
    z, y = go
    area, listed = project["area"], project.get("members")
    payers = sorted(
        {m for (m, a, _), _col in x.items() if a == area and (listed is None or m in listed)}
    )
    payers = [m for m in payers if all((m, area, t) in x for t in cost)]
    shares = {m: lp.column(upper=1.0) for m in payers}
    lp.row({**{q: 1.0 for q in shares.values()}, z: -1.0}, lo=0.0, hi=0.0)
    payments = {(m, area, t): {q: c} for m, q in shares.items() for t, c in cost.items()}
    rule = project.get("coalition") or {}
    if rule.get("min_members") is not None:
        stake = share(rule.get("min_stake", 0.01))
        joins = []
        for q in shares.values():
            j = lp.column(upper=1.0)
            lp.integer[j] = 1
            lp.row({q: 1.0, j: -stake}, lo=0.0)
            lp.row({q: 1.0, j: -1.0}, hi=0.0)
            joins.append(j)
        lp.row({**dict.fromkeys(joins, 1.0), y: -float(rule["min_members"])}, lo=0.0)
    if rule.get("min_amount") is not None:
        profile = sum(cost.values())
        lp.row({z: profile, y: -amount(rule["min_amount"], unit)}, lo=0.0)
    return payments, shares


def _unit(lp: Lp, weight: float, min_share: Any) -> tuple[int, int]:
    """A go/no-go unit's funded share z (valued ``weight``) and go binary y."""
    z = lp.column(upper=1.0, value=weight)
    y = lp.column(upper=1.0)
    lp.integer[y] = 1
    low = share(min_share) if min_share is not None else 1.0
    lp.row({z: 1.0, y: -low}, lo=0.0)
    lp.row({z: 1.0, y: -1.0}, hi=0.0)
    return z, y


def _calls(
    lp: Lp,
    data: dict[str, Any],
    years: list[int],
    unit: float,
    disc: list,
    prio: dict,
    spent: dict,
    occupied: list,
) -> None:
    """Staged calls: each application's stages as pooled units, each needing the one
    before; per call, stage and year at most ``max_count`` grants and ``budget`` money."""
    for call in data.get("calls") or []:
        limits: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
        for app in call.get("applications") or []:
            area, before = app.get("area") or call["area"], None
            for k, stage in enumerate(call["stages"]):
                year = int(app["year"]) + k
                grant = amount(
                    (app.get("request") or [stage["grant"]] * len(call["stages"]))[k], unit
                )
                if year not in years or grant <= 0:
                    break
                t = years.index(year)
                z, y = _unit(
                    lp, prio[area] * disc[t] * float(app["value"][k]), stage.get("min_share")
                )
                spent[area, t] = add(spent.get((area, t), {}), {z: grant})
                occupied.append((y, {t}, stage.get("uses") or {}))
                if before is not None:
                    lp.row({y: 1.0, before: -1.0}, hi=0.0)
                limits.setdefault((k, t), []).append((z, y, grant))
                before = y
        for (k, _t), units in limits.items():
            stage = call["stages"][k]
            if stage.get("max_count") is not None:
                lp.row({y: 1.0 for _, y, _ in units}, hi=float(stage["max_count"]))
            if stage.get("budget") is not None:
                lp.row({z: g for z, _, g in units}, hi=amount(stage["budget"], unit))


def _resources(lp: Lp, data: dict[str, Any], years: list[int], occupied: list) -> None:
    """``capacity[r,t]``: what the units that go ahead and cost something in t occupy."""
    for resource in data.get("resources") or []:
        capacity = resource["capacity"]
        for t, year in enumerate(years):
            cap = (
                capacity.get(year, capacity.get(str(year)))
                if isinstance(capacity, dict)
                else capacity
            )
            terms = {
                y: float(uses[resource["id"]])
                for y, when, uses in occupied
                if t in when and resource["id"] in uses
            }
            if cap is not None and terms:
                lp.row(terms, hi=float(cap))


def projects(
    lp: Lp, data: dict[str, Any], years: list[int], unit: float, disc: list, prio: dict, x: dict
) -> dict:
    """Go/no-go projects and staged calls; returns their money by (area, t)."""
    spent: dict[tuple[str, int], dict[int, float]] = {}
    paid: dict[tuple[str, str, int], dict[int, float]] = {}
    go: dict[str, int] = {}
    occupied: list[tuple[int, set[int], dict[str, Any]]] = []
    funded: dict[str, tuple[int, float]] = {}
    paying: dict[tuple[str, str], int] = {}
    for project in data.get("projects") or []:
        cost = {years.index(int(y)): amount(c, unit) for y, c in project["cost"].items()}
        first = min(t for t, c in cost.items() if c > 0)
        weight = prio[project["area"]] * disc[first] * float(project["value"])
        z, y = _unit(lp, weight, project.get("min_share"))
        go[project["id"]] = y
        occupied.append((y, {t for t, c in cost.items() if c > 0}, project.get("uses") or {}))
        funded[project["id"]] = (z, sum(cost.values()))
        if _is_joint(project, data):
            payments, shares = _joint_shares(lp, project, cost, (z, y), x, unit)
            for key, terms in payments.items():
                paid[key] = add(paid.get(key, {}), terms)
            paying |= {(m, project["id"]): q for m, q in shares.items()}
        for t, c in cost.items():
            spent[project["area"], t] = add(spent.get((project["area"], t), {}), {z: c})
    _calls(lp, data, years, unit, disc, prio, spent, occupied)
    _resources(lp, data, years, occupied)
    _area_coalitions(lp, data, years, unit, x)
    _industrial_return(lp, data, funded, paying)
    _burden_sharing(lp, data, funded, paying)
    for key, terms in paid.items():  # a member's project payments come out of its flow
        lp.row({**terms, x[key]: -1.0}, hi=0.0)
    for project in data.get("projects") or []:
        for needed in project.get("needs") or []:
            lp.row({go[project["id"]]: 1.0, go[needed]: -1.0}, hi=0.0)
    for rule in data.get("exclusions") or []:
        lp.row(
            dict.fromkeys((go[p] for p in rule["projects"]), 1.0), hi=float(rule.get("at_most", 1))
        )
    return spent


def _area_coalitions(lp: Lp, data: dict[str, Any], years: list[int], unit: float, x: dict) -> None:
    """An area funded only when launched, by members that joined (docs/projects.md)."""
    for rule in data.get("area_coalitions") or []:
        area = rule["area"]
        launch = lp.column(upper=1.0)
        lp.integer[launch] = 1
        joins: dict[int, float] = {}
        for member in data["members"]:
            flows = [x[key] for t in range(len(years)) if (key := (member["id"], area, t)) in x]
            if not flows:
                continue
            j = lp.column(upper=1.0)
            lp.integer[j] = 1
            joins[j] = 1.0
            most = sum(pledges(member.get("pledge", 0), years, unit))
            for col in flows:
                lp.row({col: 1.0, j: -most}, hi=0.0)
            lp.row({j: 1.0, launch: -1.0}, hi=0.0)
            least = amount(rule.get("min_contribution", 0), unit)
            if least > 0:
                lp.row({**dict.fromkeys(flows, 1.0), j: -least}, lo=0.0)
        if rule.get("min_members") is not None:
            lp.row({**joins, launch: -float(rule["min_members"])}, lo=0.0)
        if rule.get("min_amount") is not None:
            area_money = {col: 1.0 for (_, a, _), col in x.items() if a == area}
            lp.row({**area_money, launch: -amount(rule["min_amount"], unit)}, lo=0.0)


def _payments(members: list[str], units: list[str], paying: dict, funded: dict) -> dict:
    """Each member's payments to these projects over the horizon, as terms in q."""
    return {m: {paying[m, p]: funded[p][1] for p in units if (m, p) in paying} for m in members}


def _industrial_return(lp: Lp, data: dict[str, Any], funded: dict, paying: dict) -> None:
    """Each member's workshare of the funded projects at least (ratio - tolerance) x its pay."""
    by_id = {p["id"]: p for p in data.get("projects") or []}
    for rule in data.get("industrial_return") or []:
        units = rule.get("projects") or [p for p, q in by_id.items() if q.get("workshare")]
        named = sorted({m for p in units for m in by_id[p].get("workshare") or {}})
        members = rule.get("members") or named
        ratio = max(share(rule.get("min_ratio", 1.0)) - share(rule.get("tolerance", 0.0)), 0.0)
        for m, pays in _payments(members, units, paying, funded).items():
            if not pays:
                continue
            returns: dict[int, float] = {}
            for p in units:
                work = share((by_id[p].get("workshare") or {}).get(m, 0))
                returns = add(returns, {funded[p][0]: work * funded[p][1]})
            lp.row(add(returns, pays, -ratio), lo=0.0)


def _burden_sharing(lp: Lp, data: dict[str, Any], funded: dict, paying: dict) -> None:
    """Each keyed member's share of a programme's cost within tolerance of its key share."""
    for rule in data.get("burden_sharing") or []:
        units, key = rule["projects"], {m: float(v) for m, v in rule["key"].items()}
        total = {funded[p][0]: funded[p][1] for p in units}
        tolerance = share(rule.get("tolerance", 0.05))
        for m, pays in _payments(list(key), units, paying, funded).items():
            low, high = (
                key[m] / sum(key.values()) - tolerance,
                key[m] / sum(key.values()) + tolerance,
            )
            if low > 0:
                lp.row(add(pays, total, -low), lo=0.0)
            if high < 1:
                lp.row(add(pays, total, -high), hi=0.0)
