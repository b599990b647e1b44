"""Random small scenarios as plain data, feasible by construction, for property tests.

:func:`random_scenario` draws a fund, members, areas and policies from a seed, then draws a
*witness* plan (each member spends part of its pledge over the areas it joined) and sets
every floor, ceiling, cap, absorption rate and policy bound so that the witness satisfies
it. The scenario is therefore feasible whatever the seed, and the bounds sit close enough
to the witness to bind often. :func:`scenario_seeds` is the matching hypothesis strategy.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from hypothesis import strategies as st

MEMBER_IDS = ("AUT", "BEL", "CAN", "DEU", "DNK", "ESP", "FIN", "FRA")
AREA_IDS = ("cyber", "space", "ai", "energy", "training", "ukraine")
UNITS = {"bn": 1e9, "m": 1e6}


def _down(value: float) -> float:
    """Round a lower bound down (fund units), so the witness still meets it."""
    return math.floor(value * 1e6) / 1e6


def _up(value: float) -> float:
    """Round an upper bound up (fund units)."""
    return math.ceil(value * 1e6) / 1e6


def _share_down(value: float) -> float:
    return max(0.0, math.floor(value * 1e6) / 1e6)


def _share_up(value: float) -> float:
    return min(1.0, math.ceil(value * 1e6) / 1e6)


def _pledge_field(rng: random.Random, per_year: dict[int, float], unit: str) -> Any:
    """One of the pledge forms the format accepts, all meaning ``per_year``."""
    scale = UNITS[unit]
    values = list(per_year.values())
    years = list(per_year)
    if all(v == values[0] for v in values):
        return rng.choice(
            [
                values[0] * scale,
                f"{values[0]:g}{unit}",
                0 if values[0] == 0 else f"{values[0] * scale:.0f}",
            ]
        )
    # A dict may leave out years: a missing year repeats the previous pledge.
    out: dict[int, Any] = {}
    for i, t in enumerate(years):
        if i and per_year[t] == per_year[years[i - 1]] and rng.random() < 0.5:
            continue
        out[t] = per_year[t] * scale if rng.random() < 0.5 else f"{per_year[t]:g}{unit}"
    return out


def _value_curve(rng: random.Random, scale: float) -> list[dict[str, Any]]:
    n = rng.randint(1, 3)
    ends = sorted(rng.sample(range(1, 40), n))
    marginals = sorted((round(rng.uniform(0.0, 1.5), 3) for _ in range(n)), reverse=True)
    curve: list[dict[str, Any]] = [
        {"up_to": e / 4 * scale, "marginal": m} for e, m in zip(ends, marginals, strict=True)
    ]
    if rng.random() < 0.7:
        del curve[-1]["up_to"]
    return curve


def random_scenario(seed: int) -> dict[str, Any]:
    """A feasible scenario of 2-6 members, 2-6 areas and 1-4 years, as plain data.

    Amounts are in currency units (numbers) or strings such as ``2.5bn``; the result
    passes :func:`engine.scenario.validate_scenario`.
    """
    rng = random.Random(seed)
    unit = rng.choice(list(UNITS))
    scale = UNITS[unit]
    first = rng.choice([2026, 2027])
    years = [first]
    for _ in range(rng.randint(0, 3)):
        years.append(years[-1] + rng.choice([1, 1, 1, 2]))
    member_ids = sorted(rng.sample(MEMBER_IDS, rng.randint(2, 6)))
    area_ids = rng.sample(AREA_IDS, rng.randint(2, 6))

    # Pledges in fund units, 3 decimals, some members pledging nothing.
    pledges: dict[str, dict[int, float]] = {}
    for m in member_ids:
        if rng.random() < 0.2:
            pledges[m] = dict.fromkeys(years, 0.0)
        elif rng.random() < 0.5:
            flat = round(rng.uniform(0.5, 10.0), 3)
            pledges[m] = dict.fromkeys(years, flat)
        else:
            pledges[m] = {t: round(rng.uniform(0.5, 10.0), 3) for t in years}

    joins: dict[str, list[str]] = {}
    members: list[dict[str, Any]] = []
    for m in member_ids:
        entry: dict[str, Any] = {"id": m, "pledge": _pledge_field(rng, pledges[m], unit)}
        mode = rng.random()
        if mode < 0.3:
            chosen = rng.sample(area_ids, rng.randint(1, len(area_ids)))
            entry["opt_in"] = chosen
            joins[m] = chosen
        elif mode < 0.6:
            out = rng.sample(area_ids, rng.randint(0, len(area_ids) - 1))
            entry["opt_out"] = out
            joins[m] = [a for a in area_ids if a not in out]
        else:
            joins[m] = list(area_ids)
        members.append(entry)

    # The witness plan: x[m][a][t] in fund units.
    x: dict[tuple[str, str, int], float] = {}
    for m in member_ids:
        for t in years:
            spend = pledges[m][t] * rng.uniform(0.0, 0.999)
            weights = [rng.random() for _ in joins[m]]
            total_w = sum(weights) or 1.0
            for a, w in zip(joins[m], weights, strict=True):
                x[m, a, t] = spend * w / total_w
    funding = {
        (a, t): sum(x.get((m, a, t), 0.0) for m in member_ids) for a in area_ids for t in years
    }
    total = {t: sum(funding[a, t] for a in area_ids) for t in years}

    for entry in members:
        m = entry["id"]
        caps = {}
        for a in joins[m]:
            if rng.random() < 0.25 and any(pledges[m][t] > 0 for t in years):
                caps[a] = _up(max(x[m, a, t] for t in years) * rng.uniform(1.0, 1.5)) * scale
        if caps:
            entry["caps"] = caps

    areas: list[dict[str, Any]] = []
    for a in area_ids:
        entry = {"id": a, "priority": round(rng.choice([0.0, 0.5, 1.0, rng.uniform(0, 2)]), 3)}
        amounts = [funding[a, t] for t in years]
        shares = [funding[a, t] / total[t] for t in years if total[t] > 1e-9]
        if rng.random() < 0.4:
            if rng.random() < 0.5 or not shares:
                entry["floor"] = _down(min(amounts) * rng.uniform(0.5, 1.0)) * scale
            else:
                entry["floor"] = f"{_share_down(min(shares) * rng.uniform(0.5, 1.0)) * 100:.4f}%"
        if rng.random() < 0.4:
            if rng.random() < 0.5 or not shares:
                entry["ceiling"] = _up(max(amounts) * rng.uniform(1.0, 1.3)) * scale
            else:
                entry["ceiling"] = f"{_share_up(max(shares) * rng.uniform(1.0, 1.3)) * 100:.4f}%"
        needed = 0.0
        for prev, now in itertools.pairwise(amounts):
            if prev > 1e-9:
                needed = max(needed, abs(now / prev - 1.0))
            elif now > 1e-9:
                needed = math.inf
        if len(years) > 1 and needed <= 0.9 and rng.random() < 0.4:
            entry["absorption"] = _share_up(needed + rng.uniform(0.001, 0.1))
        if rng.random() < 0.6:
            entry["value_curve"] = _value_curve(rng, scale)
        areas.append(entry)

    policies: list[dict[str, Any]] = []
    for k in range(rng.randint(0, 2)):
        group = rng.sample(area_ids, rng.randint(1, len(area_ids))) if rng.random() < 0.8 else None
        who = (
            rng.sample(member_ids, rng.randint(1, len(member_ids))) if rng.random() < 0.3 else None
        )
        per = rng.choice(["year", "horizon"])
        in_group = set(group or area_ids)
        in_who = set(who or member_ids)
        periods = [[t] for t in years] if per == "year" else [years]
        sums = [
            sum(v for (m, a, t), v in x.items() if a in in_group and m in in_who and t in ys)
            for ys in periods
        ]
        totals = [sum(total[t] for t in ys) for ys in periods]
        shares = [s / tt for s, tt in zip(sums, totals, strict=True) if tt > 1e-9]
        policy: dict[str, Any] = {"id": f"rule_{k}", "per": per}
        if group is not None:
            policy["areas"] = group
        if who is not None:
            policy["members"] = who
        as_share = rng.random() < 0.5 and shares
        side = rng.choice(["at_least", "at_most", "both"])
        if side in ("at_least", "both"):
            policy["at_least"] = (
                f"{_share_down(min(shares) * rng.uniform(0.5, 1.0)) * 100:.4f}%"
                if as_share
                else _down(min(sums) * rng.uniform(0.5, 1.0)) * scale
            )
        if side in ("at_most", "both"):
            policy["at_most"] = (
                f"{_share_up(max(shares) * rng.uniform(1.0, 1.3)) * 100:.4f}%"
                if as_share
                else _up(max(sums) * rng.uniform(1.0, 1.3)) * scale
            )
        policies.append(policy)

    data: dict[str, Any] = {
        "fund": {
            "name": f"Random fund {seed}",
            "currency": rng.choice(["USD", "EUR"]),
            "unit": unit,
            "years": years,
            "carry_over": rng.random() < 0.5,
        },
        "members": members,
        "areas": areas,
        "objective": {"discount_rate": rng.choice([0.0, 0.0, 0.03])},
    }
    if policies:
        data["policies"] = policies
    return data


#: Hypothesis strategy of scenario seeds; pair with ``settings(derandomize=True)``.
scenario_seeds = st.integers(min_value=0, max_value=2**31 - 1)

#: Hypothesis strategy of random feasible scenarios as plain data.
scenarios = scenario_seeds.map(random_scenario)


def tiny_scenario(**fund: Any) -> dict[str, Any]:
    """A hand-sized scenario (2 members, 3 areas, 2 years, unit bn) for exact checks."""
    data: dict[str, Any] = {
        "fund": {"name": "Tiny fund", "unit": "bn", "years": [2026, 2027], **fund},
        "members": [
            {"id": "DEU", "name": "Germany", "pledge": "10bn"},
            {
                "id": "FRA",
                "name": "France",
                "pledge": {2026: "6bn", 2027: "4bn"},
                "opt_out": ["space"],
            },
            {"id": "USA", "name": "United States", "pledge": 0},
        ],
        "areas": [
            {
                "id": "cyber",
                "priority": 1.3,
                "floor": "4bn",
                "value_curve": [{"up_to": "5bn", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "space",
                "priority": 1.0,
                "ceiling": "3bn",
                "value_curve": [{"up_to": "2bn", "marginal": 1.0}, {"marginal": 0.5}],
            },
            {
                "id": "ai",
                "priority": 0.9,
                "value_curve": [{"up_to": "4bn", "marginal": 1.0}, {"marginal": 0.1}],
            },
        ],
    }
    return data
