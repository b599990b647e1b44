"""An independent formulation of the scenario format, written from the docs alone.

It reads a scenario *file* (YAML or JSON) with plain ``yaml``/``json``, parses amounts
and shares itself and builds the programme of docs/scenario-format.md ("The optimisation
problem"), docs/projects.md (pooled go/no-go projects, ``min_share``, ``needs``,
``exclusions``) and docs/coalition.md (members' ``weights``/``swing`` priorities and
``member_weights``) with scipy: :func:`scipy.optimize.linprog` for an LP,
:func:`scipy.optimize.milp` when there are projects. It imports nothing from ``engine``,
so an agreement with the engine is a check of the docs as much as of the engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import lil_matrix

#: Money suffixes of the docs ("Numbers"), as multiples of one currency unit.
SUFFIXES = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "tn": 1e12}
UNITS = {"k": 1e3, "m": 1e6, "bn": 1e9}
_AMOUNT = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*$")


def amount(value: Any, unit: float) -> float:
    """An amount (``12.5m``, ``98bn`` or a plain number of currency units) in fund units."""
    if isinstance(value, int | float):
        return float(value) / unit
    match = _AMOUNT.match(str(value).lower())
    if match is None or match.group(2) not in {"", *SUFFIXES}:
        raise ValueError(f"not an amount: {value!r}")
    return float(match.group(1)) * SUFFIXES.get(match.group(2), 1.0) / unit


def share(value: Any) -> float:
    """A share written ``25%`` or ``0.25``, as a fraction."""
    text = str(value).strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def limit(value: Any, unit: float) -> tuple[str, float]:
    """A floor, ceiling or policy bound: ``("share", s)`` or ``("amount", fund units)``.

    Written ``25%``, an amount, or in the schema's object form ``{share: 0.25}`` /
    ``{amount: N}`` (N plain currency units).
    """
    if isinstance(value, dict):
        if value.get("share") is not None:
            return "share", float(value["share"])
        return "amount", float(value["amount"]) / unit
    if isinstance(value, str) and value.strip().endswith("%"):
        return "share", share(value)
    return "amount", amount(value, unit)


def read_file(path: Path) -> dict[str, Any]:
    """The scenario data of a YAML or JSON file."""
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    return dict(data)


def pledges(pledge: Any, years: list[int], unit: float) -> list[float]:
    """A member's pledge per horizon year: one amount every year, or per year stepped forward."""
    if not isinstance(pledge, dict):
        return [amount(pledge, unit)] * len(years)
    given = {int(year): amount(value, unit) for year, value in pledge.items()}
    if years[0] not in given:
        raise ValueError("the first year of the horizon must be listed")
    return [given[max(y for y in given if y <= year)] for year in years]


def joined(member: dict[str, Any], areas: list[str]) -> list[str]:
    """The areas a member's money may go to (opt_in, or every area but its opt_out)."""
    if member.get("opt_in") is not None:
        return [a for a in areas if a in member["opt_in"]]
    return [a for a in areas if a not in member.get("opt_out", [])]


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()} if total > 0 else dict(weights)


def pairwise_weights(comparisons: list[list[Any]]) -> dict[str, float]:
    """AHP weights: the principal eigenvector of the reciprocal matrix, summing to one.

    ``[a, b, 3]`` says a matters 3 times as much as b; ratios may be written ``1/3``.
    """
    names = sorted({c[0] for c in comparisons} | {c[1] for c in comparisons})
    matrix = np.eye(len(names))
    for first, second, ratio in comparisons:
        top, _, bottom = str(ratio).partition("/")
        value = float(top) / float(bottom or 1)
        i, j = names.index(first), names.index(second)
        matrix[i, j], matrix[j, i] = value, 1 / value
    values, vectors = np.linalg.eig(matrix)
    principal = np.abs(np.real(vectors[:, int(np.argmax(np.real(values)))]))
    return dict(zip(names, principal / principal.sum(), strict=True))


def fund_priorities(data: dict[str, Any], years: list[int], unit: float) -> dict[str, float]:
    """The areas' priorities after members' own (docs/coalition.md, "The fund's objective").

    Untouched when no member states priorities and no ``member_weights`` rule is given.
    """
    written = {a["id"]: float(a.get("priority", 1.0)) for a in data["areas"]}
    rule = (data.get("objective") or {}).get("member_weights")
    stated = [m for m in data["members"] if m.get("priorities")]
    if not stated and rule is None:
        return written
    ids = list(written)
    totals = {m["id"]: sum(pledges(m.get("pledge", 0), years, unit)) for m in data["members"]}
    paying = [m for m in data["members"] if totals[m["id"]] > 0]
    grand = sum(totals.values())
    mixed = dict.fromkeys(ids, 0.0)
    for member in paying:
        lam = 1 / len(paying) if rule == "equal" else totals[member["id"]] / grand
        prio = member.get("priorities") or {}
        raw = prio.get("weights") or prio.get("swing")
        if prio.get("pairwise"):
            raw = pairwise_weights(prio["pairwise"])
        if raw is None:
            raw = {a: written[a] for a in joined(member, ids)}
        for area, w in _normalised({k: float(v) for k, v in raw.items()}).items():
            mixed[area] += lam * w
    scale = sum(written.values()) / sum(mixed.values())
    return {a: scale * mixed[a] for a in ids}


@dataclass
class _Lp:
    """The programme as rows ``lo <= A x <= hi`` over named columns, grown as lists."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    #: Each area-year's value ``V_a`` as terms (before priority and discount).
    values: dict[tuple[str, int], dict[int, float]] = field(default_factory=dict)

    def column(self, lower: float = 0.0, upper: float = np.inf, value: float = 0.0) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        self.cost.append(value)
        self.integer.append(0)
        return len(self.cost) - 1

    def row(self, terms: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append((terms, lo, hi))


def _add(terms: dict[int, float], more: dict[int, float], factor: float = 1.0) -> dict[int, float]:
    out = dict(terms)
    for col, coef in more.items():
        out[col] = out.get(col, 0.0) + factor * coef
    return out


@dataclass(frozen=True)
class Optimum:
    """The oracle's answer: ``objective`` in value points, or ``None`` when infeasible."""

    feasible: bool
    objective: float | None


def _flows(lp: _Lp, data: dict[str, Any], years: list[int], unit: float) -> dict:
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
    lp: _Lp, group: dict[int, float], total: dict[int, float], key: str, bound: Any, unit: float
) -> None:
    """``group >= bound`` (key ``at_least``) or ``<=`` (``at_most``), amount or share of total."""
    kind, number = limit(bound, unit)
    terms, rhs = (_add(group, total, -number), 0.0) if kind == "share" else (group, number)
    if key == "at_least":
        lp.row(terms, lo=rhs)
    else:
        lp.row(terms, hi=rhs)


def _area_rules(lp: _Lp, data: dict[str, Any], funding: dict, totals: list, unit: float) -> None:
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
                lp.row(_add(now, before, -(1 - r)), lo=0.0)
                lp.row(_add(now, before, -(1 + r)), hi=0.0)


def _policies(lp: _Lp, data: dict[str, Any], x: dict, totals: list, unit: float) -> None:
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
                total = _add(total, totals[t])
            for key in ("at_least", "at_most"):
                if policy.get(key) is not None:
                    _bound_rows(lp, group, total, key, policy[key], unit)


def _value(
    lp: _Lp, area: dict[str, Any], pooled: dict[int, float], weight: float, unit: float
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
    lp.row(_add(pieces, pooled, -1.0), hi=0.0)
    return value


def _is_joint(project: dict[str, Any], data: dict[str, Any]) -> bool:
    """Paid by member shares (docs/projects.md) rather than from the area's pooled money."""
    named = {p for rule in data.get("burden_sharing") or [] for p in rule["projects"]}
    named |= {p for rule in data.get("industrial_return") or [] for p in rule.get("projects") or []}
    keys = ("members", "coalition", "workshare")
    return any(project.get(k) is not None for k in keys) or project["id"] in named


def _joint_shares(
    lp: _Lp, project: dict[str, Any], cost: dict, go: tuple[int, int], x: dict, unit: float
) -> dict[tuple[str, str, int], dict[int, float]]:
    """Member shares q summing to z, and the coalition rule; returns each member's payments
    to the project by (member, area, t)."""
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
    return payments


def _projects(
    lp: _Lp, data: dict[str, Any], years: list[int], unit: float, disc: list, prio: dict, x: dict
) -> dict:
    """Go/no-go projects: share z and go y each; returns project money by (area, t)."""
    spent: dict[tuple[str, int], dict[int, float]] = {}
    paid: dict[tuple[str, str, int], dict[int, float]] = {}
    go: dict[str, int] = {}
    for project in data.get("projects") or []:
        cost = {years.index(int(y)): amount(c, unit) for y, c in project["cost"].items()}
        first = min(t for t, c in cost.items() if c > 0)
        z = lp.column(
            upper=1.0, value=prio[project["area"]] * disc[first] * float(project["value"])
        )
        y = go[project["id"]] = lp.column(upper=1.0)
        lp.integer[y] = 1
        low = share(project["min_share"]) if project.get("min_share") is not None else 1.0
        lp.row({z: 1.0, y: -low}, lo=0.0)
        lp.row({z: 1.0, y: -1.0}, hi=0.0)
        if _is_joint(project, data):
            for key, terms in _joint_shares(lp, project, cost, (z, y), x, unit).items():
                paid[key] = _add(paid.get(key, {}), terms)
        for t, c in cost.items():
            spent[project["area"], t] = _add(spent.get((project["area"], t), {}), {z: c})
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


def build(data: dict[str, Any]) -> _Lp:
    """The programme of a scenario's data, as in the docs (maximise ``cost @ columns``)."""
    years = [int(y) for y in data["fund"]["years"]]
    unit = UNITS[data["fund"].get("unit", "bn")]
    rate = share((data.get("objective") or {}).get("discount_rate", 0))
    disc = [1 / (1 + rate) ** (y - years[0]) for y in years]
    prio = fund_priorities(data, years, unit)
    lp = _Lp()
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
    spent = _projects(lp, data, years, unit, disc, prio, x)
    for area in data["areas"]:
        for t in range(len(years)):
            pooled = _add(funding[area["id"], t], spent.get((area["id"], t), {}), -1.0)
            if (area["id"], t) in spent:
                lp.row(pooled, lo=0.0)
            lp.values[area["id"], t] = _value(lp, area, pooled, prio[area["id"]] * disc[t], unit)
    return lp


def _participation(lp: _Lp, data: dict[str, Any], keep: dict[str, float]) -> None:
    """``participation[m]: V_m >= keep[m]``, V_m the plan's value by m's own weights
    (docs/coalition.md, "Stability"; the LP part: areas' value, no projects)."""
    years = [int(y) for y in data["fund"]["years"]]
    rate = share((data.get("objective") or {}).get("discount_rate", 0))
    for member_id, least in keep.items():
        terms: dict[int, float] = {}
        for area, w in member_weights(data, member_id).items():
            for t, year in enumerate(years):
                weight = w / (1 + rate) ** (year - years[0])
                terms = _add(terms, lp.values[area, t], weight)
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


def member_weights(data: dict[str, Any], member_id: str) -> dict[str, float]:
    """A member's own weights over the areas it joined, summing to one (docs/coalition.md):
    stated weights, swing points or pairwise comparisons, else the areas' priorities."""
    member = next(m for m in data["members"] if m["id"] == member_id)
    ids = [a["id"] for a in data["areas"]]
    prio = member.get("priorities") or {}
    raw = prio.get("weights") or prio.get("swing")
    if prio.get("pairwise"):
        raw = pairwise_weights(prio["pairwise"])
    if raw is None:
        written = {a["id"]: float(a.get("priority", 1.0)) for a in data["areas"]}
        raw = {a: written[a] for a in joined(member, ids)}
    return _normalised({k: float(v) for k, v in raw.items()})


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
