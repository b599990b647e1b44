"""Shadow prices are ``d objective / d rhs`` in value points per currency unit, for every
solver: checked against finite differences (relax the bound by an edit, re-solve).

The scenarios are the tiny hand-sized one with a bound added so that the row binds away
from any kink of the value curves, where the two one-sided differences agree.
"""

from __future__ import annotations

import pytest

from engine.scenario.edits import apply_edits
from engine.scenario.fields import money_text
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SOLVERS, SolverOptions, SolveStatus
from engine.solving.pipeline import solve
from tests.scenario_factory import tiny_scenario

#: Finite-difference step in currency units ($1m when the fund counts in bn).
STEP = 1e6

CASES = {
    # (edits making the row bind, edit template for the rhs, base rhs, rows it sets)
    "budget": ([], "members.DEU.pledge={{2026: {}, 2027: 10bn}}", 10e9, ["budget[DEU,2026]"]),
    "money ceiling": (
        [],
        "areas.space.ceiling={}",
        3e9,
        ["ceiling[space,2026]", "ceiling[space,2027]"],
    ),
    "money floor": (
        ["areas.ai.floor=5bn"],
        "areas.ai.floor={}",
        5e9,
        ["floor[ai,2026]", "floor[ai,2027]"],
    ),
    "policy over the horizon": (
        ["policies=[{id: tech, areas: [ai, space], at_least: 18bn, per: horizon}]"],
        "policies.tech.at_least={}",
        18e9,
        ["policy_min[tech]"],
    ),
}


def scenario(edits: list[str]) -> Scenario:
    return apply_edits(validate_scenario(tiny_scenario()), edits)


def objective(sc: Scenario, options: SolverOptions) -> float:
    result = solve(sc, options)
    assert result.status is SolveStatus.OPTIMAL
    return result.objective


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", list(CASES))
def test_shadow_price_equals_finite_difference(case: str, solver: str) -> None:
    setup, template, rhs, rows = CASES[case]
    options = SolverOptions(solver=solver)
    sc = scenario(setup)
    result = solve(sc, options)
    constraints = result.constraints.set_index("name")
    assert constraints.loc[rows, "binding"].all()
    shadow = constraints.loc[rows, "shadow_price"].sum()
    up = objective(apply_edits(sc, [template.format(money_text(rhs + STEP, "bn"))]), options)
    down = objective(apply_edits(sc, [template.format(money_text(rhs - STEP, "bn"))]), options)
    right = (up - result.objective) / STEP
    left = (result.objective - down) / STEP
    assert right == pytest.approx(left, rel=1e-6)  # away from a kink: one derivative
    assert shadow == pytest.approx((right + left) / 2, rel=1e-6)
    assert shadow != 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_share_floor_shadow_price_times_total_is_derivative_in_the_share(solver: str) -> None:
    # Row F - s*T >= 0: moving s by ds moves its rhs by ds*T at fixed T (envelope theorem),
    # so d objective / d s = sum over years of shadow_price * T.
    options = SolverOptions(solver=solver)
    sc = scenario(["areas.ai.floor=40%"])
    result = solve(sc, options)
    c = result.constraints.set_index("name")
    totals = result.areas.groupby("year")["amount"].sum()
    predicted = sum(c.loc[f"floor[ai,{t}]", "shadow_price"] * totals[t] for t in totals.index)
    ds = 1e-5
    up = objective(apply_edits(sc, [f"areas.ai.floor={(0.40 + ds) * 100}%"]), options)
    down = objective(apply_edits(sc, [f"areas.ai.floor={(0.40 - ds) * 100}%"]), options)
    assert predicted == pytest.approx((up - down) / (2 * ds), rel=1e-5)
    assert predicted < 0  # a higher floor only costs value


def test_highs_and_cbc_report_the_same_shadow_prices_on_non_degenerate_rows() -> None:
    sc = scenario(["areas.ai.floor=5bn"])
    frames = [
        solve(sc, SolverOptions(solver=s)).constraints.set_index("name")["shadow_price"]
        for s in SOLVERS
    ]
    names = ["budget[DEU,2026]", "budget[FRA,2027]", "ceiling[space,2026]", "floor[ai,2027]"]
    assert frames[0][names].to_numpy() == pytest.approx(frames[1][names].to_numpy(), rel=1e-6)
