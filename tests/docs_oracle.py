"""An independent formulation of the scenario format, written from the docs alone.

It reads a scenario *file* (YAML or JSON) with plain ``yaml``/``json``
(:mod:`tests.docs_reading` parses amounts, shares, pledges and priorities itself), builds
the programme of docs/scenario-format.md ("The optimisation problem"), the go/no-go part
of docs/projects.md (:mod:`tests.docs_oracle_projects`) and the members' priorities,
value alone and participation rows of docs/coalition.md, and solves it with scipy:
:func:`scipy.optimize.linprog` for an LP, :func:`scipy.optimize.milp` when there are
go/no-go sections. It imports nothing from ``engine``, so an agreement with the engine is
a check of the docs as much as of the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import lil_matrix

from tests.docs_lp import Lp, add
from tests.docs_oracle_projects import projects
from tests.docs_reading import (
    UNITS,
    amount,
    fund_priorities,
    joined,
    limit,
    member_weights,
    pledges,
    read_file,
    share,
)

__all__ = [
    "Optimum",
    "joined",
    "pledges",
    "read_file",
    "solve_data",
    "solve_file",
    "standalone_data",
]


@dataclass(frozen=True)
class Optimum:
    """The oracle's answer: ``objective`` in value points, or ``None`` when infeasible."""

    feasible: bool
    objective: float | None


def _flows(lp: Lp, data: dict[str, Any], years: list[int], unit: float) -> dict:
    """Columns x[m,a,t] (capped) and c[m,t], and the budget rows; returns x by key."""
    areas = [a["id"] for a in data["areas"]]
    carry = bool(data["fund"].get("carry_over", False))
    x: dict[tuple[str, str, int], int] = {}
    for member in data["members"]:
        pledge = pledges(member.get("pledge", 0), years, unit)
        if max(pledge) <= 0:
            continue
        caps = {a: amount(v, unit) for a, v in (member.get("caps") or {}).items()}
        for area in joined(member, areas):
            for t in range(len(years)):
                x[member["id"], area, t] = lp.column(upper=caps.get(area, np.inf))
        carried = [lp.column() if carry and t < len(years) - 1 else None for t in range(len(years))]
        for t in range(len(years)):
            terms = {x[key]: 1.0 for key in x if key[0] == member["id"] and key[2] == t}
            if carried[t] is not None:
                terms[carried[t]] = 1.0
            if t > 0 and carried[t - 1] is not None:
                terms[carried[t - 1]] = -1.0
            lp.row(terms, hi=pledge[t])
    return x


def _bound_rows(
    lp: Lp, group: dict[int, float], total: dict[int, float], key: str, bound: Any, unit: float
) -> None:
    """``group >= bound`` (key ``at_least``) or ``<=`` (``at_most``), amount or share of total."""
    kind, number = limit(bound, unit)
    terms, rhs = (add(group, total, -number), 0.0) if kind == "share" else (group, number)
    if key == "at_least":
        lp.row(terms, lo=rhs)
    else:
        lp.row(terms, hi=rhs)


def _area_rules(lp: Lp, data: dict[str, Any], funding: dict, totals: list, unit: float) -> None:
    """Floors, ceilings and absorption of every area."""
    n_years = len(totals)
    for area in data["areas"]:
        for t in range(n_years):
            f = funding[area["id"], t]
            for key, sense in (("floor", "at_least"), ("ceiling", "at_most")):
                if area.get(key) is not None:
                    _bound_rows(lp, f, totals[t], sense, area[key], unit)
        if area.get("absorption") is not None:
            r = share(area["absorption"])
            for t in range(1, n_years):
                now, before = funding[area["id"], t], funding[area["id"], t - 1]
                lp.row(add(now, before, -(1 - r)), lo=0.0)
                lp.row(add(now, before, -(1 + r)), hi=0.0)


def _policies(lp: Lp, data: dict[str, Any], x: dict, totals: list, unit: float) -> None:
    """Every policy row: per year or per horizon, over areas and optionally members."""
    all_areas = [a["id"] for a in data["areas"]]
    periods = {"year": [[t] for t in range(len(totals))], "horizon": [list(range(len(totals)))]}
    for policy in data.get("policies") or []:
        # Leaving ``areas`` out means every area; ``areas: []`` is a group of no area.
        areas = all_areas if policy.get("areas") is None else policy["areas"]
        members = policy.get("members")
        for period in periods[policy.get("per", "year")]:
            group = {
                col: 1.0
                for (m, a, t), col in x.items()
                if a in areas and t in period and (members is None or m in members)
            }
            total: dict[int, float] = {}
            for t in period:
                total = add(total, totals[t])
            for key in ("at_least", "at_most"):
                if policy.get(key) is not None:
                    _bound_rows(lp, group, total, key, policy[key], unit)


def _value(
    lp: Lp, area: dict[str, Any], pooled: dict[int, float], weight: float, unit: float
) -> dict[int, float]:
    """The objective of one area-year, ``weight * V_a(pooled)`` (pieces when it has a
    curve); returns ``V_a`` as terms."""
    curve = area.get("value_curve")
    if not curve:
        for col, coef in pooled.items():
            lp.cost[col] += weight * coef
        return dict(pooled)
    pieces, value, start = {}, {}, 0.0
    for segment in curve:
        end = amount(segment["up_to"], unit) if segment.get("up_to") is not None else np.inf
        marginal = float(segment["marginal"])
        piece = lp.column(upper=end - start, value=weight * marginal)
        pieces[piece], value[piece] = 1.0, marginal
        start = end
    lp.row(add(pieces, pooled, -1.0), hi=0.0)
    return value


def build(data: dict[str, Any]) -> Lp:
    """The programme of a scenario's data, as in the docs (maximise ``cost @ columns``)."""
    years = [int(y) for y in data["fund"]["years"]]
    unit = UNITS[data["fund"].get("unit", "bn")]
    rate = share((data.get("objective") or {}).get("discount_rate", 0))
    disc = [1 / (1 + rate) ** (y - years[0]) for y in years]
    prio = fund_priorities(data, years, unit)
    lp = Lp()
    x = _flows(lp, data, years, unit)
    funding = {
        (a["id"], t): {
            col: 1.0 for (_, area, year), col in x.items() if area == a["id"] and year == t
        }
        for a in data["areas"]
        for t in range(len(years))
    }
    totals = [{col: 1.0 for (_, _, year), col in x.items() if year == t} for t in range(len(years))]
    _area_rules(lp, data, funding, totals, unit)
    _policies(lp, data, x, totals, unit)
    spent = projects(lp, data, years, unit, disc, prio, x)
    for area in data["areas"]:
        for t in range(len(years)):
            pooled = add(funding[area["id"], t], spent.get((area["id"], t), {}), -1.0)
            if (area["id"], t) in spent:
                lp.row(pooled, lo=0.0)
            lp.values[area["id"], t] = _value(lp, area, pooled, prio[area["id"]] * disc[t], unit)
    return lp


def _participation(lp: Lp, data: dict[str, Any], keep: dict[str, float]) -> None:
    """``participation[m]: V_m >= keep[m]``, V_m the plan's value by m's own weights
    (docs/coalition.md, "Stability"; the LP part: areas' value, no projects)."""
    years = [int(y) for y in data["fund"]["years"]]
    rate = share((data.get("objective") or {}).get("discount_rate", 0))
    for member_id, least in keep.items():
        terms: dict[int, float] = {}
        for area, w in member_weights(data, member_id).items():
            for t, year in enumerate(years):
                weight = w / (1 + rate) ** (year - years[0])
                terms = add(terms, lp.values[area, t], weight)
        lp.row(terms, lo=least)


def solve_data(data: dict[str, Any], keep: dict[str, float] | None = None) -> Optimum:
    """The maximum value of a scenario's data (an LP with linprog, a MIP with milp);
    with ``keep``, every member m in it valuing the plan at least ``keep[m]``."""
    lp = build(data)
    if keep:
        _participation(lp, data, keep)
    matrix = lil_matrix((max(len(lp.rows), 1), len(lp.cost)))
    lo, hi = np.full(matrix.shape[0], -np.inf), np.full(matrix.shape[0], np.inf)
    for i, (terms, row_lo, row_hi) in enumerate(lp.rows):
        for col, coef in terms.items():
            matrix[i, col] = coef
        lo[i], hi[i] = row_lo, row_hi
    cost = -np.array(lp.cost)
    if any(lp.integer):
        res = milp(
            cost,
            constraints=LinearConstraint(matrix.tocsr(), lo, hi),
            integrality=np.array(lp.integer),
            bounds=Bounds(lp.lower, lp.upper),
            options={"mip_rel_gap": 1e-9},
        )
        ok = res.status == 0
    else:
        a = matrix.tocsr()
        finite_hi, finite_lo = np.isfinite(hi), np.isfinite(lo)
        res = linprog(
            cost,
            A_ub=np.vstack([a[finite_hi].toarray(), -a[finite_lo].toarray()]),
            b_ub=np.concatenate([hi[finite_hi], -lo[finite_lo]]),
            bounds=list(zip(lp.lower, lp.upper, strict=True)),
            method="highs",
        )
        ok = res.status == 0
    if not ok:
        if res.status not in (2,) and "infeasible" not in str(res.message).lower():
            raise RuntimeError(f"oracle solve failed: {res.message}")
        return Optimum(False, None)
    return Optimum(True, -float(res.fun))


def solve_file(path: Path) -> Optimum:
    """The maximum value of a scenario file, by the docs' formulation."""
    return solve_data(read_file(path))


def standalone_data(data: dict[str, Any], member_id: str) -> dict[str, Any]:
    """The one-member scenario of "value alone": its pledge, opt-ins/opt-outs and caps, the
    policies naming only it written in money, the areas it joined (same curves and
    absorption, no floors or ceilings) weighted by its own weights; LP part only."""
    member = next(m for m in data["members"] if m["id"] == member_id)
    weights = member_weights(data, member_id)
    keep = set(joined(member, [a["id"] for a in data["areas"]]))
    areas = [
        {
            "id": a["id"],
            "priority": weights.get(a["id"], 0.0),
            **{k: a[k] for k in ("absorption", "value_curve") if a.get(k) is not None},
        }
        for a in data["areas"]
        if a["id"] in keep
    ]
    alone = {k: v for k, v in member.items() if k != "priorities"}
    policies = [
        {**p, "areas": [a for a in p.get("areas") or keep if a in keep]}
        for p in data.get("policies") or []
        if p.get("members") == [member_id]
        and all(limit(p[k], 1.0)[0] == "amount" for k in ("at_least", "at_most") if p.get(k))
    ]
    objective = {k: v for k, v in (data.get("objective") or {}).items() if k == "discount_rate"}
    return {
        "fund": data["fund"],
        "members": [alone],
        "areas": areas,
        "policies": policies,
        "objective": objective,
    }
