"""Seeded coalition-fund scenarios for benchmarks, as plain scenario data.

``generate(members, areas, years, seed)`` returns a dict in the scenario file format
(amounts in currency units, shares as ``"12.5%"``): heavy-tailed pledges like defence
budgets (a few large members, some pledging nothing), opt-outs, money floors, share
ceilings, absorption limits, three-piece value curves, group policies per year and over
the horizon, and a burden-sharing-like concentration rule for each member and area it
joined (``x[m,a,t] <= share * T[t]``: one row per member, area and year, the density
the design notes describe).

Sizes used by the benchmark: small 31x14x5, medium 31x40x10, large 60x200x20.
"""

from __future__ import annotations

import string
from itertools import product
from typing import Any

import numpy as np

SIZES: dict[str, tuple[int, int, int]] = {
    "small": (31, 14, 5),
    "medium": (31, 40, 10),
    "large": (60, 200, 20),
}

#: Yearly fund size per 31 members, in currency units (the ASPF's $98bn).
FUND_PER_31 = 98e9


def member_ids(n: int) -> list[str]:
    """``n`` distinct ISO-3166-like ids (three capital letters), in a fixed order."""
    letters = string.ascii_uppercase
    return ["".join(p) for p in product("MNP", letters, letters)][:n]


def generate(
    members: int, areas: int, years: int, seed: int, burden_sharing: float = 1.0
) -> dict[str, Any]:
    """A feasible scenario of the given size as plain data (validate it before use).

    ``burden_sharing`` is the fraction of (member, joined area) pairs that get a
    concentration rule (one policy, hence one row per year).
    """
    rng = np.random.default_rng(seed)
    horizon = list(range(2026, 2026 + years))
    total = FUND_PER_31 * members / 31
    weights = rng.lognormal(0.0, 1.2, members)
    weights[rng.random(members) < 0.1] = 0.0
    if weights.sum() == 0:
        weights[0] = 1.0
    weights /= weights.sum()
    growth = rng.uniform(0.0, 0.05, members)
    area_ids = [f"area_{k:03d}" for k in range(areas)]
    fair = total / areas

    member_rows = []
    joined: dict[str, list[str]] = {}
    for i, mid in enumerate(member_ids(members)):
        base = total * weights[i]
        pledge = {t: round(base * (1 + growth[i]) ** k, 0) for k, t in enumerate(horizon)}
        out = [a for a in area_ids if rng.random() < 0.1]
        joined[mid] = [a for a in area_ids if a not in out]
        row: dict[str, Any] = {"id": mid, "pledge": pledge if base > 0 else 0}
        if out:
            row["opt_out"] = out
        member_rows.append(row)

    area_rows = []
    for a in area_ids:
        row = {
            "id": a,
            "priority": round(float(rng.uniform(0.5, 1.5)), 3),
            "value_curve": [
                {"up_to": round(fair * rng.uniform(0.5, 1.0), 0), "marginal": 1.0},
                {
                    "up_to": round(fair * rng.uniform(1.6, 2.4), 0),
                    "marginal": round(float(rng.uniform(0.4, 0.6)), 3),
                },
                {"marginal": round(float(rng.uniform(0.05, 0.15)), 3)},
            ],
        }
        draw = rng.random(3)
        if draw[0] < 0.2:
            row["floor"] = round(fair * rng.uniform(0.2, 0.5), 0)
        if draw[1] < 0.2:
            row["ceiling"] = f"{100 * rng.uniform(2.0, 3.0) / areas:.4f}%"
        if draw[2] < 0.3 and years > 1:
            row["absorption"] = round(float(rng.uniform(0.1, 0.3)), 3)
        area_rows.append(row)

    policies: list[dict[str, Any]] = []
    for g in range(max(1, areas // 10)):
        group = sorted(rng.choice(area_ids, size=min(5, areas), replace=False).tolist())
        policies.append(
            {
                "id": f"group_{g}",
                "areas": group,
                "at_least": f"{100 * rng.uniform(0.5, 0.9) * len(group) / areas:.4f}%",
            }
        )
    policies.append(
        {
            "id": "horizon_min",
            "areas": area_ids[: max(1, areas // 5)],
            "at_least": "10%",
            "per": "horizon",
        }
    )
    for i, mid in enumerate(member_ids(members)):
        if weights[i] == 0:
            continue
        for a in joined[mid]:
            if rng.random() >= burden_sharing:
                continue
            policies.append(
                {
                    "id": f"share_{mid.lower()}_{a}",
                    "members": [mid],
                    "areas": [a],
                    "at_most": f"{100 * rng.uniform(1.0, 2.0) / areas:.4f}%",
                }
            )

    return {
        "fund": {
            "name": f"Generated fund {members}x{areas}x{years} (seed {seed})",
            "currency": "USD",
            "unit": "bn",
            "years": horizon,
            "carry_over": True,
        },
        "members": member_rows,
        "areas": area_rows,
        "policies": policies,
        "objective": {"discount_rate": 0.02},
    }
