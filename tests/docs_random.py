"""Seeded random scenario data for the docs' formulation (tests/test_docs_formulation.py).

Every documented LP field appears: amounts with suffixes or as plain currency, per-year
pledges with gaps, members pledging nothing, opt_in/opt_out, caps, floors and ceilings as
amounts and shares, absorption, bounded and unbounded value curves, carry_over, policies
per year and per horizon with and without members, discount rates and member weights.
Floors and policies are drawn so that some files have no plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.docs_reading import UNITS, joined, pledges


def _money(rng: np.random.Generator, fund_units: float, unit: str) -> Any:
    """An amount of about ``fund_units`` written as the docs allow: suffix or plain currency."""
    value = round(float(fund_units), 2)
    style = rng.integers(3)
    if style == 0:
        return value * UNITS[unit]
    if style == 1:
        return f"{value:g}{unit}"
    scale = {"k": ("k", 1.0), "m": ("mn", 1.0), "bn": ("m", 1000.0)}[unit]
    return f"{value * scale[1]:g}{scale[0]}"


def _bound(
    rng: np.random.Generator, fund_units: float, unit: str, shares: tuple[float, float]
) -> Any:
    """A floor, ceiling or policy bound: an amount, or a share written with ``%``."""
    if rng.random() < 0.5:
        return f"{round(100 * rng.uniform(*shares))}%"
    return _money(rng, fund_units, unit)


def _curve(rng: np.random.Generator, size: float, unit: str) -> list[dict[str, Any]]:
    """A concave value curve; its last segment bounded or not."""
    ends = np.cumsum(rng.uniform(0.2, 1.0, size=rng.integers(1, 4)) * size)
    marginals = np.sort(rng.uniform(0.0, 2.0, size=len(ends)).round(2))[::-1]
    curve = [
        {"up_to": _money(rng, e, unit), "marginal": float(m)}
        for e, m in zip(ends, marginals, strict=True)
    ]
    if rng.random() < 0.5:
        curve[-1].pop("up_to")
    return curve


def random_scenario_data(seed: int) -> dict[str, Any]:
    """A random scenario's data (seeded): every documented LP field, some rules infeasible."""
    rng = np.random.default_rng(seed)
    unit = str(rng.choice(["k", "m", "bn"]))
    start = int(rng.integers(2025, 2030))
    years = sorted(
        {
            start,
            *(start + int(g) for g in rng.choice(6, size=rng.integers(0, 4), replace=False) + 1),
        }
    )
    areas = [f"a{i}" for i in range(int(rng.integers(1, 5)))]
    size = float(rng.uniform(1, 20))
    members = []
    for i in range(int(rng.integers(1, 5))):
        member: dict[str, Any] = {"id": "M" + "ABCDE"[i] + "X"}
        kind = rng.integers(4) if i else 2
        if kind == 0:
            member["pledge"] = 0
        elif kind == 1:
            listed = [
                years[0],
                *(y for y in range(years[0] + 1, years[-1] + 2) if rng.random() < 0.4),
            ]
            member["pledge"] = {y: _money(rng, rng.uniform(0, size), unit) for y in listed}
        else:
            member["pledge"] = _money(rng, rng.uniform(0.5, size), unit)
        if len(areas) > 1 and rng.random() < 0.4:
            picked = [
                str(a) for a in rng.choice(areas, size=rng.integers(1, len(areas)), replace=False)
            ]
            member["opt_in" if rng.random() < 0.5 else "opt_out"] = picked
        if rng.random() < 0.3:
            member["caps"] = {str(rng.choice(areas)): _money(rng, rng.uniform(0.1, size / 2), unit)}
        if rng.random() < 0.15:
            own = joined(member, areas) or areas
            member["priorities"] = {"weights": {str(rng.choice(own)): float(rng.integers(1, 4))}}
        members.append(member)
    area_rows = []
    for area in areas:
        row: dict[str, Any] = {"id": area, "priority": round(float(rng.uniform(0, 3)), 2)}
        if rng.random() < 0.3:
            row["floor"] = _bound(rng, rng.uniform(0, size / 2), unit, (0.0, 0.3))
        if rng.random() < 0.3:
            row["ceiling"] = _bound(rng, rng.uniform(size / 2, 2 * size), unit, (0.4, 1.0))
        if rng.random() < 0.3:
            row["absorption"] = (
                f"{round(100 * rng.uniform(0, 0.6))}%" if rng.random() < 0.5 else 0.25
            )
        if rng.random() < 0.5:
            row["value_curve"] = _curve(rng, size / 2, unit)
        area_rows.append(row)
    policies = []
    for k in range(int(rng.integers(0, 3))):
        policy: dict[str, Any] = {"id": f"p{k}", "per": str(rng.choice(["year", "horizon"]))}
        if rng.random() < 0.7:
            policy["areas"] = [
                str(a)
                for a in rng.choice(areas, size=rng.integers(1, len(areas) + 1), replace=False)
            ]
        if rng.random() < 0.4:
            policy["members"] = [str(rng.choice([m["id"] for m in members]))]
        key = "at_least" if rng.random() < 0.5 else "at_most"
        policy[key] = _bound(rng, rng.uniform(0, size), unit, (0.05, 0.6))
        policies.append(policy)
    data: dict[str, Any] = {
        "fund": {
            "name": f"random {seed}",
            "unit": unit,
            "years": years,
            "carry_over": bool(rng.random() < 0.5),
        },
        "members": members,
        "areas": area_rows,
        "policies": policies,
    }
    if rng.random() < 0.5:
        data["objective"] = {
            "discount_rate": f"{rng.integers(0, 10)}%" if rng.random() < 0.5 else 0.03
        }
    if rng.random() < 0.15:
        data["objective"] = {
            **data.get("objective", {}),
            "member_weights": str(rng.choice(["pledge", "equal"])),
        }
    return data


def random_project_data(seed: int) -> dict[str, Any]:
    """A random scenario with go/no-go projects: pooled and joint, min_share, needs,
    members, coalitions and an exclusion (docs/projects.md), over :func:`random_scenario_data`."""
    data = random_scenario_data(seed)
    rng = np.random.default_rng(10_000 + seed)
    years, unit = data["fund"]["years"], data["fund"]["unit"]
    areas = [a["id"] for a in data["areas"]]
    members = [m["id"] for m in data["members"]]
    projects: list[dict[str, Any]] = []
    for k in range(int(rng.integers(1, 5))):
        span = [y for y in years if rng.random() < 0.6] or [years[-1]]
        costs = {y: round(float(rng.uniform(0.5, 6)), 2) for y in span}
        project: dict[str, Any] = {
            "id": f"p{k}",
            "area": str(rng.choice(areas)),
            "cost": {y: _money(rng, cost, unit) for y, cost in costs.items()},
            "value": round(float(rng.uniform(0, 20)), 1),
        }
        if rng.random() < 0.4:
            project["min_share"] = f"{rng.integers(10, 90)}%"
        if projects and rng.random() < 0.3:
            project["needs"] = [str(rng.choice([p["id"] for p in projects]))]
        kind = rng.integers(4)
        if kind == 1:
            project["members"] = [
                str(m)
                for m in rng.choice(members, size=rng.integers(1, len(members) + 1), replace=False)
            ]
        elif kind == 2:
            project["coalition"] = {
                "min_members": int(rng.integers(1, 3)),
                "min_stake": f"{rng.integers(1, 40)}%",
            }
        elif kind == 3:
            need = rng.uniform(0.2, 0.9) * sum(costs.values())
            project["coalition"] = {"min_amount": _money(rng, need, unit)}
        projects.append(project)
    data["projects"] = projects
    if len(projects) > 1 and rng.random() < 0.5:
        data["exclusions"] = [{"id": "ex", "projects": [p["id"] for p in projects[:2]]}]
    _add_rules(rng, data)
    return data


def _add_rules(rng: np.random.Generator, data: dict[str, Any]) -> None:
    """Now and then: workshares with an industrial return rule, a burden-sharing key, an
    area coalition, a staged call and a shared resource."""
    years, unit = data["fund"]["years"], data["fund"]["unit"]
    members = [m["id"] for m in data["members"]]
    first = data["projects"][0]
    if rng.random() < 0.3:
        first["workshare"] = {m: f"{rng.integers(10, 50)}%" for m in members[:2]}
        rule = {"id": "jr", "min_ratio": f"{rng.integers(50, 110)}%", "tolerance": "5%"}
        data["industrial_return"] = [{**rule, "members": members} if rng.random() < 0.5 else rule]
    payers = [
        m["id"]
        for m in data["members"]
        if first["area"] in joined(m, [a["id"] for a in data["areas"]])
        and max(pledges(m.get("pledge", 0), years, 1.0)) > 0
        and m["id"] in (first.get("members") or members)
    ]
    if payers and rng.random() < 0.3:
        key = {m: float(rng.integers(1, 5)) for m in payers}
        data["burden_sharing"] = [
            {"id": "key", "projects": [first["id"]], "key": key, "tolerance": "15%"}
        ]
    if rng.random() < 0.25:
        rule = {"area": str(rng.choice([a["id"] for a in data["areas"]])), "min_members": 1}
        data["area_coalitions"] = [
            {**rule, "min_contribution": _money(rng, rng.uniform(0.1, 3), unit)}
        ]
    if rng.random() < 0.4:
        stages = [
            {
                "grant": _money(rng, 0.5, unit),
                "max_count": int(rng.integers(1, 3)),
                "uses": {"lab": 1},
            },
            {"grant": _money(rng, 2.0, unit), "min_share": "50%", "budget": _money(rng, 3.0, unit)},
        ]
        applications = [
            {
                "id": f"app{i}",
                "year": int(rng.choice(years)),
                "value": [round(float(v), 2) for v in rng.uniform(0, 5, 2)],
            }
            for i in range(int(rng.integers(1, 5)))
        ]
        area = str(rng.choice([a["id"] for a in data["areas"]]))
        data["calls"] = [
            {"id": "call", "area": area, "stages": stages, "applications": applications}
        ]
        data["resources"] = [{"id": "lab", "capacity": float(rng.integers(1, 3))}]
        first["uses"] = {"lab": 1}
