"""A stable coalition: who would be better off outside, and what keeping everyone costs.

- :func:`participation_model`: the fund's model with one row per member,
  ``participation[m]``: the member's value of the plan (by its own weights, as in
  :mod:`engine.coalition.members`) at least ``(1 + margin)`` times its standalone value.
  Value curves are concave, so "the curve at F is at least v" is the convex set "some
  filling of the curve's pieces within F is worth v": the row reuses the pieces
  ``s[a,t,k]`` of the fund's objective and stays linear.
- :func:`solve_with_participation`: that model solved with HiGHS (go/no-go stage,
  tie-break, extraction, as :func:`engine.solving.pipeline.solve` does).
- :func:`stability`: the members table, the plan with participation rows, the price of
  stability (fund value lost), and which members' opt-outs or caps drive instability
  (each such member's opt-outs and caps relaxed in turn, and the fund solved again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from engine.coalition.members import VALUE_TOLERANCE, members_table, plan_values
from engine.coalition.priorities import member_weights
from engine.formulation.build import build_model
from engine.formulation.core import INF, PlanModel, Row, discount_factors
from engine.formulation.rows import RowKind
from engine.results.extract import extract
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions, solve_highs
from engine.solving.mip import solve_integers, with_mip
from engine.solving.pipeline import solve
from engine.solving.tiebreak import break_ties, tie_break_model


def _value_terms(model: PlanModel, weights: dict[str, float]) -> dict[int, float]:
    """Columns and coefficients of a member's value of the plan (value points)."""
    sc = model.scenario
    disc = discount_factors(sc)
    terms: dict[int, float] = {}

    def add(j: int, c: float) -> None:
        terms[j] = terms.get(j, 0.0) + c

    for a in sc.areas:
        w = weights.get(a.id, 0.0)
        if w <= 0:
            continue
        for t in sc.fund.years:
            if a.value_curve is None:
                add(model.funding[a.id, t], w * disc[t])
                for j, c in model.project_spend.get((a.id, t), []):
                    add(j, -w * disc[t] * c)
                continue
            for k, seg in enumerate(a.value_curve):
                add(model.pieces[a.id, t, k], w * disc[t] * seg.marginal)
    if model.projects is not None:
        for u in model.projects.units.values():
            w = weights.get(u.area, 0.0)
            if w > 0:
                add(model.projects.funded(u.key), w * u.value * disc[min(u.cost)])
    return terms


def with_rows(
    model: PlanModel, rows: list[tuple[Row, dict[int, float], float, float]]
) -> PlanModel:
    """A copy of a built model with rows ``(row, {column: coefficient}, lower, upper)``
    appended (the original is unchanged)."""
    if not rows:
        return model
    cols, vals, ends = [], [], []
    n = int(model.row_start[-1])
    for _row, terms, _lo, _hi in rows:
        items = sorted(terms.items())
        cols += [j for j, _ in items]
        vals += [c for _, c in items]
        n += len(items)
        ends.append(n)
    return replace(
        model,
        rows=[*model.rows, *(r for r, _, _, _ in rows)],
        row_lo=np.concatenate([model.row_lo, [r[2] for r in rows]]),
        row_hi=np.concatenate([model.row_hi, [r[3] for r in rows]]),
        row_start=np.concatenate([model.row_start, np.array(ends, dtype=np.int64)]),
        row_cols=np.concatenate([model.row_cols, np.array(cols, dtype=np.int64)]),
        row_vals=np.concatenate([model.row_vals, np.array(vals, dtype=float)]),
        cache={},
    )


def participation_model(
    scenario: Scenario, standalone: dict[str, float], margin: float = 0.0
) -> PlanModel:
    """The fund's model with a ``participation[m]`` row for every member in
    ``standalone`` (its standalone value; see the module)."""
    model = build_model(scenario)
    rows = []
    for m in scenario.members:
        bar = standalone.get(m.id)
        if bar is None or not math.isfinite(bar) or bar <= 0:
            continue
        terms = _value_terms(model, member_weights(scenario, m))
        # A kind of its own (not bookkeeping, not relaxed by the diagnosis).
        row = Row(f"participation[{m.id}]", RowKind.PARTICIPATION, member=m.id)
        rows.append((row, terms, bar * (1.0 + margin), INF))
    return with_rows(model, rows)


def solve_model(model: PlanModel, options: SolverOptions | None = None) -> Result:
    """Solve a built model with HiGHS: go/no-go stage, tie-break, extraction."""
    options = options or SolverOptions()
    fixed, mip = solve_integers(model, options)
    if mip is not None and fixed.integer:  # the MIP found no plan
        return extract(fixed, mip, mip, 0.0)
    solution, _ = solve_highs(fixed, options)
    plan = break_ties(
        fixed,
        solution,
        None,
        lambda m, first, ref, bounds: solve_highs(tie_break_model(m, first, ref, bounds), options)[
            0
        ],
    )
    return extract(fixed, with_mip(solution, mip), with_mip(plan, mip), 0.0)


def solve_with_participation(
    scenario: Scenario,
    standalone: dict[str, float],
    margin: float = 0.0,
    options: SolverOptions | None = None,
) -> Result:
    """The fund's plan in which every member gets at least (1 + margin) x its standalone
    value (a Result; infeasible when no plan can keep everyone)."""
    return solve_model(participation_model(scenario, standalone, margin), options)


def unstable(
    values: dict[str, float], standalone: dict[str, float], margin: float = 0.0
) -> list[str]:
    """Members whose value in the fund is below (1 + margin) x their standalone value."""
    out = []
    for m, alone in standalone.items():
        bar = alone * (1.0 + margin)
        if bar - values.get(m, 0.0) > VALUE_TOLERANCE * max(1.0, abs(bar)):
            out.append(m)
    return out


def _relaxed(scenario: Scenario, member_id: str) -> Scenario:
    members = [
        m.model_copy(update={"opt_in": None, "opt_out": [], "caps": {}}) if m.id == member_id else m
        for m in scenario.members
    ]
    relaxed = scenario.model_copy(update={"members": members})
    relaxed.remember_written(None)
    return relaxed


def instability_drivers(
    scenario: Scenario,
    standalone: dict[str, float],
    margin: float = 0.0,
    options: SolverOptions | None = None,
) -> pd.DataFrame:
    """For each member with opt-outs, opt-ins or caps: the fund solved with them removed,
    and which of the unstable members that makes stable (standalone values held).
    Columns: member, relaxed, objective, unstable_before, unstable_after, made_stable."""
    base = solve(scenario, options)
    before = unstable(plan_values(base), standalone, margin) if base.ok else []
    rows = []
    if not before:
        return pd.DataFrame(
            columns=[
                "member",
                "relaxed",
                "objective",
                "unstable_before",
                "unstable_after",
                "made_stable",
            ]
        )
    for m in scenario.members:
        what = [f"opt-outs {', '.join(m.opt_out)}"] if m.opt_out else []
        what += [f"opt-in only {', '.join(m.opt_in)}"] if m.opt_in is not None else []
        what += [f"caps on {', '.join(sorted(m.caps))}"] if m.caps else []
        if not what:
            continue
        result = solve(_relaxed(scenario, m.id), options)
        after = unstable(plan_values(result), standalone, margin) if result.ok else before
        rows.append(
            (
                m.id,
                "; ".join(what),
                float(result.objective) if result.ok else math.nan,
                len(before),
                len(after),
                ", ".join(x for x in before if x not in after),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "member",
            "relaxed",
            "objective",
            "unstable_before",
            "unstable_after",
            "made_stable",
        ],
    )
    return frame.sort_values("unstable_after", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Stability:
    """The stability check of a plan (see :func:`stability`)."""

    result: Result
    members: pd.DataFrame
    unstable: list[str]
    margin: float
    participation: Result | None = None
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def price_of_stability(self) -> float:
        """Fund value lost by keeping every member (value points; NaN without a plan)."""
        p = self.participation
        if p is None:
            return 0.0
        return float(self.result.objective - p.objective) if p.ok else math.nan

    def summary(self) -> str:
        """One paragraph in the planner's words."""
        names = ", ".join(self.unstable) or "none"
        text = (
            f"{len(self.unstable)} of {len(self.members)} members would be better off outside "
            f"the fund (by their own priorities, margin {self.margin:.0%}): {names}."
        )
        p = self.participation
        if p is not None and p.ok:
            share = (
                self.price_of_stability / self.result.objective if self.result.objective else 0.0
            )
            text += (
                f" Keeping every member at least as well off costs the fund "
                f"{self.price_of_stability:.4g} value points ({share:.2%} of its value)."
            )
        elif p is not None:
            text += " No plan keeps every member at least as well off as alone: " + (
                p.summary.get("message") or p.status.value
            )
        return text


def stability(
    result: Result,
    margin: float = 0.0,
    participation: bool = False,
    drivers: bool = True,
    options: SolverOptions | None = None,
) -> Stability:
    """The members table of ``result``'s plan, who would be better off outside, and on
    request the plan with participation rows; ``drivers``: which members' opt-outs or
    caps drive instability (only run when some member is unstable)."""
    table = members_table(result, options)
    alone = dict(zip(table["member"], table["standalone_value"], strict=True))
    values = dict(zip(table["member"], table["value_in_fund"], strict=True))
    who = unstable(values, alone, margin)
    kept = (
        solve_with_participation(result.scenario, alone, margin, options) if participation else None
    )
    drv = instability_drivers(result.scenario, alone, margin, options) if drivers and who else None
    return Stability(result, table, who, margin, kept, drv if drv is not None else pd.DataFrame())
