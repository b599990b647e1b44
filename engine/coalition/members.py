"""What each member gets from the fund's plan, by its own priorities.

- its flows by area and year (the result's ``allocation``) and its share of each funded
  project (``project_members``);
- its **value of the plan**: the plan's value counted with the member's own weights
  (engine.coalition.priorities), ``V_m = sum_a,t w_m[a] * disc_t * curve_a(F[a,t])`` plus
  the funded projects' value in the areas it values. Capabilities are shared by the
  alliance, so a member counts everything the fund buys in the areas it values, not only
  what its own money paid for. (``value_bought`` is the part paid with its money, pro
  rata to its share of each area's funding and each project's cost: a guide, not a
  criterion);
- its **standalone value**: the best ``V_m`` it could reach alone with its pledge
  (engine.coalition.standalone), solved with :func:`engine.solving.pipeline.solve`;
- the **marginal value of its pledge**: the shadow prices of its budget rows (value
  points for the fund per extra unit of money in a year; with go/no-go projects, given
  the plan's decisions).

Values are in the value points of the scenario (marginal value per fund unit, times
weights that sum to one for each member), so a member's value in the fund and alone
compare directly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from engine.coalition.priorities import consistency_ratio, member_weights
from engine.coalition.standalone import standalone_scenario
from engine.formulation.build import build_model
from engine.formulation.core import discount_factors
from engine.results.describe import money
from engine.results.extract import curve_value
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.scenario.units import UNIT_FACTORS
from engine.solving.backends import SolverOptions, SolveStatus, solve_highs
from engine.solving.pipeline import solve

#: Relative tolerance under which a member's value in the fund counts as its standalone
#: value (solver round-off, not a loss).
VALUE_TOLERANCE = 1e-7

MEMBER_COLUMNS = [
    "member",
    "name",
    "pledged",
    "allocated",
    "unspent",
    "value_in_fund",
    "value_bought",
    "standalone_value",
    "gain",
    "better_off_outside",
    "marginal_value",
    "priorities",
    "consistency_ratio",
    "text",
]


def _raw_project_values(scenario: Scenario) -> dict[tuple[str, int | None], float]:
    out: dict[tuple[str, int | None], float] = {(p.id, None): p.value for p in scenario.projects}
    for c in scenario.calls:
        for app in c.applications:
            for k, v in enumerate(app.value, start=1):
                out[app.id, k] = v
    return out


def area_values(result: Result) -> pd.DataFrame:
    """Per area and year: the money that earns the area's own curve (funding net of
    project spending) and the curve's value points before any weight or discount."""
    sc = result.scenario
    scale = UNIT_FACTORS[sc.fund.unit]
    areas = result.areas[["area", "year", "amount"]].copy()
    spent = (
        result.projects.groupby(["area", "year"])["amount"].sum()
        if not result.projects.empty
        else pd.Series(dtype=float)
    )
    areas["net"] = [
        max(f - float(spent.get((a, t), 0.0)), 0.0)
        for a, t, f in zip(areas["area"], areas["year"], areas["amount"], strict=True)
    ]
    by_id = {a.id: a for a in sc.areas}
    areas["points"] = [
        curve_value(by_id[a], n, scale) for a, n in zip(areas["area"], areas["net"], strict=True)
    ]
    return areas


def _project_points(result: Result) -> pd.DataFrame:
    """Funded projects' value points (undiscounted, unweighted) in their first year."""
    p = result.projects
    if p.empty:
        return pd.DataFrame(columns=["project", "stage", "area", "year", "points"])
    raw = _raw_project_values(result.scenario)
    first = p[p["funded"]].sort_values("year").groupby(["project", "stage"], dropna=False).head(1)
    points = [
        raw.get((proj, None if pd.isna(stage) else int(stage)), 0.0) * share
        for proj, stage, share in zip(first["project"], first["stage"], first["share"], strict=True)
    ]
    return first.assign(points=points)[["project", "stage", "area", "year", "points"]]


def plan_values(result: Result) -> dict[str, float]:
    """Every member's value of the plan by its own weights (see the module)."""
    sc = result.scenario
    if not result.ok:
        return {m.id: math.nan for m in sc.members}
    disc = discount_factors(sc)
    areas = area_values(result)
    projects = _project_points(result)
    out = {}
    for m in sc.members:
        w = member_weights(sc, m)
        value = sum(
            w[a] * disc[int(t)] * v
            for a, t, v in zip(areas["area"], areas["year"], areas["points"], strict=True)
        )
        value += sum(
            w[a] * disc[int(t)] * v
            for a, t, v in zip(projects["area"], projects["year"], projects["points"], strict=True)
        )
        out[m.id] = float(value)
    return out


def value_bought(result: Result) -> dict[str, float]:
    """The part of each member's value of the plan paid with its own money: each area's
    own value pro rata to the member's share of the area's money outside projects that
    year, and each project's value pro rata to its share of the project's cost."""
    sc = result.scenario
    if not result.ok or result.allocation.empty:
        return {m.id: 0.0 for m in sc.members}
    disc = discount_factors(sc)
    areas = area_values(result).set_index(["area", "year"])
    paid: dict[tuple[str, str, int], float] = {}
    if not result.project_members.empty:
        area_of = dict(zip(result.projects["project"], result.projects["area"], strict=True))
        pm = result.project_members
        for proj, m, t, amount in zip(
            pm["project"], pm["member"], pm["year"], pm["amount"], strict=True
        ):
            key = (m, area_of[proj], int(t))
            paid[key] = paid.get(key, 0.0) + float(amount)
    alloc = result.allocation
    out = {m.id: 0.0 for m in sc.members}
    weights = {m.id: member_weights(sc, m) for m in sc.members}
    for m, a, t, x in zip(
        alloc["member"], alloc["area"], alloc["year"], alloc["amount"], strict=True
    ):
        net = float(areas.at[(a, t), "net"])
        own = max(float(x) - paid.get((m, a, int(t)), 0.0), 0.0)
        if net > 0 and own > 0:
            share = min(own / net, 1.0)
            out[m] += weights[m][a] * disc[int(t)] * share * float(areas.at[(a, t), "points"])
    shares = member_project_shares(result)
    for row in _project_points(result).itertuples():
        if row.points <= 0:
            continue
        payers = shares[shares["project"] == row.project]
        for pm, share in zip(payers["member"], payers["share"], strict=True):
            out[pm] += weights[pm][row.area] * disc[int(row.year)] * share * row.points
    return out


def member_project_shares(result: Result) -> pd.DataFrame:
    """Each member's share of each funded project's cost: project, member, amount, share."""
    pm = result.project_members
    if pm.empty:
        return pd.DataFrame(columns=["project", "member", "amount", "share"])
    paid = pm.groupby(["project", "member"], as_index=False)["amount"].sum()
    totals = paid.groupby("project")["amount"].transform("sum")
    paid["share"] = np.where(totals > 0, paid["amount"] / totals, 0.0)
    return paid


def pledge_duals(result: Result) -> pd.DataFrame:
    """Shadow price of each member's budget in each year: member, year, shadow_price (value
    points per currency unit, as in the constraints frame)."""
    c = result.constraints
    if c.empty:
        return pd.DataFrame(columns=["member", "year", "shadow_price"])
    b = c[c["kind"] == "budget"][["member", "year", "shadow_price"]]
    return b.reset_index(drop=True)


def standalone(
    scenario: Scenario,
    member_id: str,
    options: SolverOptions | None = None,
    frames: bool = True,
) -> tuple[float, Result | None]:
    """The member's standalone value and the plan it would make alone (None when it has
    no money or no area to spend it in, or when ``frames`` is False: the same pipeline
    without building the result's frames, for the value alone)."""
    m = scenario.member(member_id)
    alone = standalone_scenario(scenario, member_id)
    if not alone.areas or not any(v > 0 for v in m.pledges.values()):
        return 0.0, None
    options = options or SolverOptions()
    if not frames and options.solver == "highs":
        # The value is the objective of the model (the MIP's, with go/no-go projects):
        # no tie-break, no re-solve with the decisions fixed, no frames.
        solution, _ = solve_highs(build_model(alone), options)
        found = solution.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
        return (float(solution.objective) if found else math.nan), None
    result = solve(alone, options)
    return (float(result.objective) if result.ok else math.nan), result


def _sentence(scenario: Scenario, row: dict, per_unit: float) -> str:
    name = row["name"]
    one = money(UNIT_FACTORS[scenario.fund.unit], scenario)
    if row["pledged"] <= 0:
        return f"{name} pledges nothing; the plan is worth {row['value_in_fund']:.3g} points to it."
    where = (
        f"{name} would be better off outside: alone its pledge would be worth "
        f"{row['standalone_value']:.3g} points to it, in the fund the plan is worth "
        f"{row['value_in_fund']:.3g}"
        if row["better_off_outside"]
        else f"In the fund the plan is worth {row['value_in_fund']:.3g} points to {name}, "
        f"against {row['standalone_value']:.3g} alone"
    )
    given = " (given the go/no-go decisions)" if scenario.projects or scenario.calls else ""
    return (
        f"{where}; one more {one} a year from {name} would add {per_unit:.3g} points "
        f"to the fund{given}."
    )


def members_table(result: Result, options: SolverOptions | None = None) -> pd.DataFrame:
    """One line per member (columns :data:`MEMBER_COLUMNS`): money, value in the fund, value
    bought with its money, standalone value, gain, whether it would be better off outside,
    the marginal value of one more fund unit of pledge in every year, how it states its
    priorities (weights, swing, pairwise or the areas' own) with the consistency ratio of
    pairwise comparisons, and a sentence."""
    sc = result.scenario
    scale = UNIT_FACTORS[sc.fund.unit]
    values, bought = plan_values(result), value_bought(result)
    money_by = result.members.groupby("member")[["pledged", "allocated", "unspent"]].sum()
    duals = pledge_duals(result).groupby("member")["shadow_price"].sum()
    rows = []
    for m in sc.members:
        alone, _ = standalone(sc, m.id, options, frames=False)
        inside = values[m.id]
        row: dict[str, Any] = {
            "member": m.id,
            "name": m.name or m.id,
            **{k: float(money_by.at[m.id, k]) for k in ("pledged", "allocated", "unspent")},
            "value_in_fund": inside,
            "value_bought": bought[m.id],
            "standalone_value": alone,
            "gain": inside - alone,
            "better_off_outside": bool(alone - inside > VALUE_TOLERANCE * max(1.0, abs(alone))),
            "marginal_value": float(duals.get(m.id, 0.0)) * scale,
            "priorities": m.priorities.kind if m.priorities is not None else "areas' own",
            "consistency_ratio": consistency_ratio(m),
        }
        row["text"] = _sentence(sc, row, row["marginal_value"])
        rows.append(row)
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)
