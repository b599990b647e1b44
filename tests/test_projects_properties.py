"""Property tests of the go/no-go part on random small scenarios (seeded by hypothesis).

Every plan must honour: profiles funded in full (or at one share within the allowed range
in every year), no stage k without stage k-1 the year before, per-stage counts and shared
capacities, dependencies and exclusions, coalition thresholds with commitments over the
whole profile, juste retour, burden sharing, and money conservation between members,
areas and projects.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions
from engine.solving.pipeline import solve

YEARS = [2026, 2027, 2028]
MEMBERS = ["AAA", "BBB", "CCC", "DDD"]
EPS = 1e-6


@st.composite
def scenarios(draw) -> dict:
    """A small random scenario with projects, a staged call and coalition rules."""
    members = [
        {"id": m, "pledge": f"{draw(st.integers(2, 10))}m"}
        for m in MEMBERS[: draw(st.integers(2, 4))]
    ]
    if draw(st.booleans()):
        members[0]["opt_out"] = ["a2"]
    areas = []
    for a in ("a1", "a2"):
        area = {"id": a, "priority": draw(st.sampled_from([0.5, 1.0, 1.5]))}
        if draw(st.booleans()):
            area["value_curve"] = [{"up_to": "3m", "marginal": 1.0}, {"marginal": 0.2}]
        areas.append(area)
    ids = [m["id"] for m in members]
    projects = []
    for i in range(draw(st.integers(2, 6))):
        years = draw(st.lists(st.sampled_from(YEARS), min_size=1, max_size=3, unique=True))
        p = {
            "id": f"p{i}",
            "area": draw(st.sampled_from(["a1", "a2"])),
            "cost": {y: f"{draw(st.integers(1, 8)) / 2}m" for y in years},
            "value": draw(st.integers(0, 12)),
        }
        if draw(st.booleans()):
            p["min_share"] = draw(st.sampled_from(["30%", "50%", "80%"]))
        if i and draw(st.integers(0, 3)) == 0:
            p["needs"] = [f"p{draw(st.integers(0, i - 1))}"]
        if draw(st.integers(0, 2)) == 0:
            p["coalition"] = {"min_members": draw(st.integers(1, len(ids))), "min_stake": "10%"}
        if draw(st.integers(0, 3)) == 0:
            p["workshare"] = {m: f"{100 // len(ids)}%" for m in ids}
        projects.append(p)
    data = {
        "fund": {"name": "t", "currency": "EUR", "unit": "m", "years": YEARS},
        "members": members,
        "areas": areas,
        "projects": projects,
        "resources": [{"id": "lab", "capacity": draw(st.integers(1, 3))}],
        "calls": [
            {
                "id": "call",
                "area": "a1",
                "stages": [
                    {"grant": "1m", "max_count": draw(st.integers(1, 3)), "uses": {"lab": 1}},
                    {"grant": "2m", "min_share": "50%", "max_count": draw(st.integers(0, 2))},
                ],
                "applications": [
                    {
                        "id": f"app{j}",
                        "year": draw(st.sampled_from(YEARS)),
                        "value": [draw(st.integers(0, 4)), draw(st.integers(0, 8))],
                    }
                    for j in range(draw(st.integers(1, 6)))
                ],
            }
        ],
    }
    if len(projects) >= 2 and draw(st.booleans()):
        data["exclusions"] = [{"id": "ex", "projects": ["p0", "p1"]}]
    if any("workshare" in p for p in projects):
        data["industrial_return"] = [{"id": "jr", "min_ratio": "90%", "tolerance": "10%"}]
    coalition = [p for p in projects if "coalition" in p]
    if coalition and draw(st.booleans()):
        # Only members who may fund the programme can carry a key share.
        able = [m["id"] for m in members if coalition[0]["area"] not in m.get("opt_out", [])]
        key = {m: draw(st.integers(1, 5)) for m in able}
        data["burden_sharing"] = [
            {"id": "bs", "projects": [coalition[0]["id"]], "key": key, "tolerance": "15%"}
        ]
    if draw(st.integers(0, 3)) == 0:
        data["area_coalitions"] = [
            {
                "area": "a2",
                "min_members": draw(st.integers(1, 4)),
                "min_contribution": draw(st.sampled_from(["1m", "10m", "25m"])),
            }
        ]
    if draw(st.booleans()):
        data["fund"]["carry_over"] = True
    return data


def _units(result) -> pd.DataFrame:
    p = result.projects
    return p.groupby(["project", "stage"], dropna=False, sort=False).agg(
        funded=("funded", "first"), share=("share", "first")
    )


def check_plan(data: dict, result) -> None:
    """Assert every go/no-go rule on a solved plan."""
    p = result.projects
    pm = result.project_members
    units = _units(result).reset_index()
    funded = {
        (r.project, None if pd.isna(r.stage) else int(r.stage))
        for r in units.itertuples()
        if r.funded
    }
    specs = {q["id"]: q for q in data["projects"]}

    # Profiles: one share in every year, full unless partial funding is allowed.
    for (project, stage), group in p.groupby(["project", "stage"], dropna=False):
        ratios = (group["amount"] / group["cost"]).to_numpy()
        assert ratios.max() - ratios.min() <= EPS
        if group["funded"].iat[0]:
            spec = specs.get(project)
            low = spec.get("min_share") if spec else ("50%" if stage == 2 else None)
            minimum = float(low.rstrip("%")) / 100 if low else 1.0
            assert minimum - EPS <= ratios[0] <= 1 + EPS
        else:
            assert ratios.max() <= EPS

    # Stages: stage 2 only after stage 1 the year before; counts and capacity per year.
    call = data["calls"][0]
    years = {a["id"]: a["year"] for a in call["applications"]}
    staged = p[p["call"].notna() & p["funded"]]
    for r in staged.itertuples():
        assert r.year == years[r.project] + int(r.stage) - 1
        if r.stage == 2:
            assert (r.project, 1) in funded
    for (stage, _year), group in staged.groupby(["stage", "year"]):
        assert len(group) <= call["stages"][int(stage) - 1]["max_count"]
        if stage == 1:
            assert len(group) <= data["resources"][0]["capacity"]

    # Dependencies and exclusions.
    for q in data["projects"]:
        for need in q.get("needs", []):
            if (q["id"], None) in funded:
                assert (need, None) in funded
    for ex in data.get("exclusions", []):
        assert sum((x, None) in funded for x in ex["projects"]) <= ex.get("at_most", 1)

    # Member contributions add up to each funded project's amount, year by year.
    paid = pm.assign(stage=pm["stage"].fillna(0)).groupby(["project", "stage", "year"])
    paid = paid["amount"].sum()
    done = p[p["funded"]]
    for r in done.assign(stage=done["stage"].fillna(0)).itertuples():
        assert paid.get((r.project, r.stage, r.year), 0.0) == pytest.approx(r.amount, abs=1.0)

    # Coalitions: k members with at least the stake, each on a constant share of the profile.
    for q in data["projects"]:
        if "coalition" not in q or (q["id"], None) not in funded:
            continue
        mine = pm[pm["project"] == q["id"]]
        cost = p[p["project"] == q["id"]].set_index("year")["cost"]
        shares = mine.assign(s=mine["amount"] / mine["year"].map(cost)).groupby("member")["s"]
        assert (shares.max() - shares.min()).max() <= 1e-6
        assert (shares.first() >= 0.10 - 1e-6).sum() >= q["coalition"]["min_members"]

    # Money: projects within their area's funding and within members' flows.
    area_amount = result.areas.set_index(["area", "year"])["amount"]
    spent = p.groupby(["area", "year"])["amount"].sum()
    for key, amount in spent.items():
        assert amount <= area_amount[key] + 1.0
    flows = result.allocation.groupby(["member", "year"])["amount"].sum()
    given = pm.groupby(["member", "year"])["amount"].sum()
    for key, amount in given.items():
        assert amount <= flows.get(key, 0.0) + 1.0

    # Area coalitions: the area gets nothing, or enough members each give enough.
    for rule in data.get("area_coalitions", []):
        flows = result.allocation[result.allocation["area"] == rule["area"]]
        if flows["amount"].sum() > 1.0:
            given = flows.groupby("member")["amount"].sum()
            least = float(rule["min_contribution"].rstrip("m")) * 1e6 - 1.0
            assert (given >= least).sum() >= rule["min_members"]
            assert (given < least).sum() == 0

    # Juste retour and burden sharing, from the reported contributions.
    if data.get("industrial_return"):
        shared = [q["id"] for q in data["projects"] if "workshare" in q]
        total = p[p["project"].isin(shared)].groupby("project")["amount"].sum()
        pays = pm[pm["project"].isin(shared)].groupby("member")["amount"].sum()
        for m, paid_m in pays.items():
            ret = sum(
                float(specs[x]["workshare"][m].rstrip("%")) / 100 * amount
                for x, amount in total.items()
            )
            assert ret >= (0.9 - 0.1) * paid_m - 1.0
    for rule in data.get("burden_sharing", []):
        project = rule["projects"][0]
        if (project, None) not in funded:
            continue
        total = p[p["project"] == project]["amount"].sum()
        by_member = pm[pm["project"] == project].groupby("member")["amount"].sum()
        weight = sum(rule["key"].values())
        for m, k in rule["key"].items():
            assert abs(by_member.get(m, 0.0) / total - k / weight) <= 0.15 + 1e-6


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_random_plans_honour_every_go_no_go_rule_with_highs(data):
    result = solve(validate_scenario(data), SolverOptions(mip_gap=1e-9))
    assert result.ok
    assert result.summary["proven_optimal"] is True
    check_plan(data, result)


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_cbc_and_highs_find_the_same_optimum_on_random_scenarios(data):
    sc = validate_scenario(data)
    highs = solve(sc, SolverOptions(mip_gap=1e-9))
    cbc = solve(sc, SolverOptions(solver="cbc", mip_gap=1e-9))
    assert cbc.ok
    check_plan(data, cbc)
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-6, abs=1e-6)
