"""An independent oracle: brute-force enumeration of project subsets gives the MIP's optimum.

The cases are built so that the optimum of a subset S has a closed form: one area with a
linear value (1 point per EUR 1m, no discount), no carry-over, so all pledged money is
spent and ``value(S) = sum of pledges - cost of S + value of S`` (money in millions).
S is feasible when each year's cost fits the year's pledges and S honours dependencies,
the exclusion, stage order (stage 2 only after stage 1 the year before), the per-year
count of first stages and the test-centre capacity. Enumeration never touches the model.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions
from engine.solving.pipeline import solve

YEARS = [2026, 2027, 2028]


def _case(seed: int) -> tuple[dict, list[dict], dict]:
    """A random small scenario, its units (for enumeration) and its rules."""
    rng = np.random.default_rng(seed)
    pledges = {"AAA": int(rng.integers(2, 6)), "BBB": int(rng.integers(1, 5))}
    n_projects = int(rng.integers(4, 8))
    projects = []
    for i in range(n_projects):
        years = sorted(rng.choice(YEARS, size=int(rng.integers(1, 4)), replace=False).tolist())
        cost = {int(y): float(rng.integers(1, 9)) / 2 for y in years}
        projects.append(
            {
                "id": f"p{i}",
                "area": "a",
                "cost": {y: f"{c}m" for y, c in cost.items()},
                "value": float(rng.integers(0, 16)) / 2,
            }
        )
    projects[-1]["needs"] = ["p0"]
    apps = [
        {
            "id": f"app{j}",
            "year": int(rng.choice(YEARS[:2])),
            "value": [float(rng.integers(0, 4)) / 2, float(rng.integers(0, 8)) / 2],
        }
        for j in range(int(rng.integers(1, 4)))
    ]
    max_first = int(rng.integers(1, 3))
    capacity = int(rng.integers(1, 3))
    data = {
        "fund": {"name": "oracle", "currency": "EUR", "unit": "m", "years": YEARS},
        "members": [{"id": m, "pledge": f"{p}m"} for m, p in pledges.items()],
        "areas": [{"id": "a"}],
        "projects": projects,
        "exclusions": [{"id": "one_of", "projects": ["p1", "p2"]}],
        "resources": [{"id": "lab", "capacity": capacity}],
        "calls": [
            {
                "id": "call",
                "area": "a",
                "stages": [
                    {"grant": "1m", "max_count": max_first},
                    {"grant": "1.5m", "uses": {"lab": 1}},
                ],
                "applications": apps,
            }
        ],
    }
    units = [
        {
            "key": p["id"],
            "cost": {int(y): float(c[:-1]) for y, c in p["cost"].items()},
            "value": p["value"],
        }
        for p in projects
    ]
    for a in apps:
        units.append({"key": f"{a['id']}_s1", "cost": {a["year"]: 1.0}, "value": a["value"][0]})
        units.append({"key": f"{a['id']}_s2", "cost": {a["year"] + 1: 1.5}, "value": a["value"][1]})
    rules = {"budget": sum(pledges.values()), "max_first": max_first, "capacity": capacity}
    return data, units, rules


def _feasible(chosen: set[str], units: list[dict], rules: dict) -> bool:
    by_key = {u["key"]: u for u in units}
    for t in YEARS:
        if sum(by_key[k]["cost"].get(t, 0.0) for k in chosen) > rules["budget"] + 1e-9:
            return False
        first = [k for k in chosen if k.endswith("_s1") and t in by_key[k]["cost"]]
        second = [k for k in chosen if k.endswith("_s2") and t in by_key[k]["cost"]]
        if len(first) > rules["max_first"] or len(second) > rules["capacity"]:
            return False
    last = f"p{sum(1 for u in units if u['key'].startswith('p')) - 1}"
    if last in chosen and "p0" not in chosen:
        return False
    if {"p1", "p2"} <= chosen:
        return False
    return all(k.replace("_s2", "_s1") in chosen for k in chosen if k.endswith("_s2"))


def brute_force(units: list[dict], rules: dict) -> float:
    """Best ``pledges - cost + value`` over every feasible subset (millions, points)."""
    total = rules["budget"] * len(YEARS)
    keys = [u["key"] for u in units]
    by_key = {u["key"]: u for u in units}
    best = -np.inf
    for r in range(len(keys) + 1):
        for subset in itertools.combinations(keys, r):
            chosen = set(subset)
            if _feasible(chosen, units, rules):
                gain = sum(by_key[k]["value"] - sum(by_key[k]["cost"].values()) for k in chosen)
                best = max(best, total + gain)
    return best


@pytest.mark.parametrize("seed", range(30))
def test_highs_optimum_equals_brute_force_over_project_subsets(seed):
    data, units, rules = _case(seed)
    result = solve(validate_scenario(data), SolverOptions(mip_gap=1e-9))
    assert result.summary["proven_optimal"] is True
    assert result.objective == pytest.approx(brute_force(units, rules), abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_cbc_optimum_equals_brute_force_over_project_subsets(seed):
    data, units, rules = _case(seed)
    result = solve(validate_scenario(data), SolverOptions(solver="cbc", mip_gap=1e-9))
    assert result.summary["proven_optimal"] is True
    assert result.objective == pytest.approx(brute_force(units, rules), abs=1e-6)


def test_brute_force_oracle_sees_the_budget_bind():
    """The oracle is not trivial: in some case the budget rules out the best-valued set."""
    binding = 0
    for seed in range(30):
        _, units, rules = _case(seed)
        loose = dict(rules, budget=1e9, max_first=99, capacity=99)
        tight_gain = brute_force(units, rules) - rules["budget"] * len(YEARS)
        loose_gain = brute_force(units, loose) - loose["budget"] * len(YEARS)
        binding += tight_gain < loose_gain - 1e-6
    assert binding >= 5
