"""The reduced extensive form (engine.planning.layout, engine.planning.pooling) against the
plain one, row for row each future's model: the same optimum, the same go/no-go and the
same value in every future, under every floor rule and objective; each future's recovered
solution meets every row of its own model; and members are pooled only where that is
exact. The plain form itself is checked against an independent scipy model in
tests/test_robust.py."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import scenario_path
from engine import load_with_edits, scenario_from_data
from engine.formulation.rows import RowKind
from engine.planning.extensive import build_extensive, future_models
from engine.planning.futures import Futures, draw_futures
from engine.planning.measures import TOLERANCE
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import solve_stochastic

YEARS = (2026, 2027, 2028)
#: Members and the areas they stay out of: CCC and EEE are interchangeable with each
#: other (AAA pays the joint project, so it is kept apart), DDD and FFF with each other;
#: GGG stays out of two areas (Gale's conditions then need the sets {beta} and
#: {beta, gamma}).
MEMBERS = {
    "AAA": [],
    "CCC": [],
    "EEE": [],
    "BBB": ["beta"],
    "DDD": ["beta"],
    "FFF": ["beta"],
    "GGG": ["beta", "gamma"],
}
FIRST_YEAR = {"AAA": 6.0, "CCC": 3.0, "EEE": 2.0, "BBB": 4.0, "DDD": 1.5, "FFF": 1.0, "GGG": 2.0}


def pooled_data(project: bool = True, caps: bool = False) -> dict:
    """Six members, three areas, three years, carry-over; a joint project paid by AAA and
    BBB (``project``); CCC's money to alpha capped (``caps``: CCC cannot be pooled)."""
    members = [
        {"id": m, "pledge": f"{FIRST_YEAR[m]}bn", **({"opt_out": out} if out else {})}
        for m, out in MEMBERS.items()
    ]
    if caps:
        members[1]["caps"] = {"alpha": "2bn"}
    data = {
        "fund": {"name": "Pooled", "unit": "bn", "years": list(YEARS), "carry_over": True},
        "objective": {"discount_rate": 0.05},
        "members": members,
        "areas": [
            {
                "id": "alpha",
                "priority": 1.0,
                "floor": "4bn",
                "value_curve": [{"up_to": "6bn", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "beta",
                "priority": 0.9,
                "ceiling": "5bn",
                "absorption": 0.3,
                "value_curve": [{"up_to": "3bn", "marginal": 1.0}, {"marginal": 0.1}],
            },
            {"id": "gamma", "priority": 0.4},
        ],
    }
    if project:
        data["projects"] = [
            {
                "id": "joint",
                "area": "alpha",
                "cost": {"2026": "1bn", "2027": "2bn", "2028": "2bn"},
                "value": 4.0,
                "members": ["AAA", "BBB"],
            }
        ]
    return data


def pooled_futures(n: int = 5, seed: int = 1) -> Futures:
    """``n`` futures: the first year as pledged, later years each member's pledge times
    a seeded factor in [0.2, 1.6] (some futures short of alpha's floor)."""
    rng = np.random.default_rng(seed)
    base = np.array([FIRST_YEAR[m] for m in MEMBERS])[None, :, None]
    factor = rng.uniform(0.2, 1.6, size=(n, len(MEMBERS), len(YEARS)))
    factor[:, :, 0] = 1.0
    return Futures(tuple(MEMBERS), YEARS, base * factor * 1e9)


@pytest.mark.parametrize("project", [False, True])
def test_interchangeable_members_are_pooled_and_the_form_is_smaller(project):
    sc = scenario_from_data(pooled_data(project), "pooled.yaml")
    models = future_models(sc, pooled_futures())
    plain = build_extensive(models, FloorRule(), Risk())
    reduced = build_extensive(models, FloorRule(), Risk(), reduce=True)
    groups = {p.members for p in reduced.layout.pools}
    expected = {("CCC", "EEE"), ("DDD", "FFF")} if project else {("AAA", "CCC", "EEE")}
    if not project:
        expected.add(("BBB", "DDD", "FFF"))
    assert groups == expected
    assert reduced.matrix.shape[0] < plain.matrix.shape[0]
    assert reduced.matrix.shape[1] < plain.matrix.shape[1]
    assert len(reduced.layout.carries) == len(MEMBERS)  # every first-year carry-over
    assert len(reduced.layout.transports) == len(YEARS) - 1  # every later year's flows
    # The joint project's payments (AAA's and BBB's, two later years) are shifted out.
    assert len(reduced.layout.shifts) >= (4 if project else 0)


def test_a_capped_member_is_not_pooled():
    sc = scenario_from_data(pooled_data(caps=True), "pooled.yaml")
    reduced = build_extensive(future_models(sc, pooled_futures()), FloorRule(), Risk(), reduce=True)
    assert {p.members for p in reduced.layout.pools} == {("DDD", "FFF")}


CASES = [
    ("soft", "expected", True),
    ("soft", "cvar:0.4", True),
    ("soft", "mix:0.5:0.2", False),
    ("hard", "expected", True),
    ("chance:0.6", "expected", True),
]


@pytest.mark.parametrize(("floors", "objective", "project"), CASES)
def test_reduced_form_has_the_plain_optimum_decisions_and_values(floors, objective, project):
    sc = scenario_from_data(pooled_data(project), "pooled.yaml")
    futures = pooled_futures(6, seed=2)
    rule, risk = FloorRule.parse(floors), Risk.parse(objective)
    models = future_models(sc, futures)
    plain = solve_stochastic(sc, futures, rule, risk, models=models, reduce=False)
    reduced = solve_stochastic(sc, futures, rule, risk, models=models, reduce=True)
    assert plain.ok
    assert reduced.ok
    assert reduced.objective == pytest.approx(plain.objective, rel=1e-6)
    assert reduced.decisions().equals(plain.decisions())
    assert np.allclose(reduced.values, plain.values, atol=1e-6)
    assert (reduced.floor_met == plain.floor_met).all()


def _violation(model, solution: np.ndarray, skip: np.ndarray) -> float:
    """The largest amount by which ``solution`` misses a row (except ``skip``) or a
    column bound of ``model``."""
    activity = np.array(
        [
            solution[model.row_cols[a:b]] @ model.row_vals[a:b]
            for a, b in zip(model.row_start[:-1], model.row_start[1:], strict=True)
        ]
    )
    rows = np.maximum(model.row_lo - activity, activity - model.row_hi)
    cols = np.maximum(model.col_lb - solution, solution - model.col_ub)
    return float(max(np.max(rows[~skip], initial=0.0), cols.max(), 0.0))


@pytest.mark.parametrize("floors", ["soft", "hard"])
def test_each_futures_recovered_solution_meets_every_row_of_its_own_model(floors):
    sc = scenario_from_data(pooled_data(), "pooled.yaml")
    futures = pooled_futures(6, seed=3)
    plan = solve_stochastic(sc, futures, FloorRule.parse(floors), reduce=True)
    assert plan.ok
    for k, model in enumerate(plan.models):
        # Soft floors may fall short (the shortfall is charged); every other row holds.
        skip = np.array([floors == "soft" and r.kind is RowKind.FLOOR for r in model.rows])
        assert _violation(model, plan.solutions[k], skip) <= 1e-7
        value = sum(c * plan.solutions[k, j] for j, c in model.objective.items())
        assert value >= plan.values[k] - 1e-7  # the value less any shortfall's penalty
    assert not plan.over_pledge.any()
    pooled = [
        p for p in build_extensive(plan.models, FloorRule(), Risk(), reduce=True).layout.pools
    ]
    ccc = [j for (m, _a, t), j in plan.model.x.items() if m == "CCC" and t != YEARS[0]]
    assert pooled
    assert plan.solutions[:, ccc].sum() > TOLERANCE  # the pool's money did reach its members


def test_reduced_form_on_aspf_has_the_plain_optimum_and_decisions():
    sc = load_with_edits(scenario_path("aspf-2026"))
    futures, _ = draw_futures(sc, 4, 0, seed=0)
    models = future_models(sc, futures)
    plain = solve_stochastic(sc, futures, models=models, reduce=False)
    reduced = solve_stochastic(sc, futures, models=models, reduce=True)
    assert reduced.objective == pytest.approx(plain.objective, rel=1e-6)
    assert reduced.decisions().equals(plain.decisions())
    assert np.allclose(reduced.values, plain.values, atol=1e-6)
    assert not reduced.over_pledge.any()
    ext = build_extensive(models, FloorRule(), Risk(), reduce=True)
    assert len(ext.layout.pools) == 2  # 15 members without opt-outs or projects; HUN, SVK


def test_wait_and_see_reduced_form_pools_every_year_and_keeps_each_futures_optimum():
    # Without a project: with nothing shared its payments could not be shifted out.
    sc = scenario_from_data(pooled_data(project=False), "pooled.yaml")
    futures = pooled_futures(4, seed=4)
    models = future_models(sc, futures)
    alone = np.zeros(0, dtype=np.int64)  # nothing shared: each future decides alone
    plain = solve_stochastic(sc, futures, models=models, first=alone, reduce=False)
    reduced = solve_stochastic(sc, futures, models=models, first=alone, reduce=True)
    assert reduced.objective == pytest.approx(plain.objective, rel=1e-6)
    assert np.allclose(reduced.values, plain.values, atol=1e-6)
    ext = build_extensive(models, FloorRule(), Risk(), first=alone, reduce=True)
    assert {p.years for p in ext.layout.pools} == {YEARS}
    assert len(ext.layout.transports) == len(YEARS)
    for k, model in enumerate(models):
        skip = np.array([r.kind is RowKind.FLOOR for r in model.rows])
        assert _violation(model, reduced.solutions[k], skip) <= 1e-7


def test_a_member_policy_keeps_its_flows_apart_and_the_optimum():
    data = pooled_data()
    data["policies"] = [
        {"id": "eee_alpha", "members": ["EEE"], "areas": ["alpha"], "at_least": "1bn"}
    ]
    sc = scenario_from_data(data, "pooled.yaml")
    futures = pooled_futures(5, seed=5)
    models = future_models(sc, futures)
    ext = build_extensive(models, FloorRule(), Risk(), reduce=True)
    assert {p.members for p in ext.layout.pools} == {("DDD", "FFF")}  # EEE's money is ruled
    assert not ext.layout.transports  # a year's flows meet the policy row: kept as they are
    plain = solve_stochastic(sc, futures, models=models, reduce=False)
    reduced = solve_stochastic(sc, futures, models=models, reduce=True)
    assert reduced.objective == pytest.approx(plain.objective, rel=1e-6)
    assert np.allclose(reduced.values, plain.values, atol=1e-6)
