"""Sensitivity in plain language: what binds, what it costs, and how far it holds.

For each binding constraint a planner set (:data:`~engine.formulation.rows.RANGED`
kinds): its shadow price and the range of its bound over which that price holds. For
each area: the range of its priority over which the plan would not change. An area's
priority multiplies the costs of all its value columns at once (its funding or value
pieces in every year and its projects' funded shares: the model's ``value_columns``
index, never columns matched by name), so its range is that of the plan along that one
direction of the costs, exact for degenerate plans too (:mod:`engine.analysis.ranging`).
A constraint's range is HiGHS's ranging of the optimal basis. Neither re-solves the
scenario.

Within its range the plan stays optimal. When several plans are equally good (some
money could go either way at no loss of value) the tie-break picks among them pro rata
by priority, and that choice moves with any priority; the ranges say when a better plan
appears, not where the tie-break puts money among equal ones. An area of priority 0
gets the range 0 to any higher value (the direction of its costs is unknown at 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.ranging import CostRanges
from engine.coalition.priorities import area_priorities
from engine.formulation.core import PlanModel
from engine.formulation.rows import RANGED, Row, RowKind
from engine.results.describe import money, shadow_sentence
from engine.results.schema import PlanArrays, Result
from engine.scenario.schema import Scenario
from engine.solving.resolver import Resolver

CONSTRAINT_COLUMNS = (
    "name",
    "kind",
    "label",
    "shadow_price",
    "bound",
    "valid_from",
    "valid_to",
    "text",
)
AREA_COLUMNS = ("area", "priority", "priority_from", "priority_to", "text")


@dataclass(frozen=True)
class Sensitivity:
    """``constraints``: name, kind, label, shadow_price (value points per currency unit),
    bound, valid_from, valid_to (currency units; NaN where unbounded or not money), text.
    ``areas``: area, priority, priority_from, priority_to, text."""

    result: Result
    constraints: pd.DataFrame
    areas: pd.DataFrame


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) and abs(x) < 1e29 else float("nan")


def sensitivity(
    scenario: Scenario, resolver: Resolver | None = None, result: Result | None = None
) -> Sensitivity:
    """Rank what binds in ``scenario``, with valid ranges.

    Pass the ``resolver`` and the ``result`` of its last solve to reuse that solve;
    otherwise the scenario is solved (warm if the resolver holds a similar model).
    Raises nothing on infeasible scenarios: the frames are then empty and
    ``result.diagnosis`` explains.
    """
    if (
        resolver is None
        or result is None
        or result.arrays is None
        or resolver.last_scenario is not scenario
    ):
        resolver = resolver or Resolver()
        result = resolver.solve(scenario)
    if not result.ok or result.arrays is None:
        return Sensitivity(
            result,
            pd.DataFrame(columns=list(CONSTRAINT_COLUMNS)),
            pd.DataFrame(columns=list(AREA_COLUMNS)),
        )
    model = resolver.model
    constraints = _constraint_ranges(model, result, resolver.ranging(), scenario)
    areas = _priority_ranges(model, result.arrays, scenario)
    return Sensitivity(result, constraints, areas)


def _constraint_ranges(
    model: PlanModel, result: Result, ranging: Any, scenario: Scenario
) -> pd.DataFrame:
    """Binding rows of :data:`RANGED` kinds with a shadow price, and the range of their
    bound over which it holds (HiGHS's ranging of the optimal basis: the price holds
    there, and may hold further when the plan is degenerate), largest |price| first."""
    up = np.asarray(ranging.row_bound_up.value_)
    dn = np.asarray(ranging.row_bound_dn.value_)
    c = result.constraints
    price_tol = 1e-9 / model.scale
    rows = []
    for i in np.flatnonzero(c["binding"].to_numpy() & c["kind"].isin(RANGED).to_numpy()):
        price = float(c["shadow_price"].iat[i])
        if abs(price) <= price_tol:
            continue
        lo, hi = model.row_lo[i], model.row_hi[i]
        bound = (lo if np.isfinite(lo) else hi) * model.scale
        kind = model.rows[i].kind
        share_row = _is_share_row(model.rows[i], scenario) or (
            bool(lo == 0.0 and hi != 0.0 and kind is not RowKind.BUDGET) and bound == 0
        )
        v_from, v_to = _finite(dn[i]) * model.scale, _finite(up[i]) * model.scale
        if share_row:  # its bound and range are offsets from a share of the total, not money
            bound = v_from = v_to = float("nan")
        text = shadow_sentence(c["label"].iat[i], price, scenario)
        if not share_row and np.isfinite(v_from) and np.isfinite(v_to):
            text += (
                f", valid while its bound stays between {money(v_from, scenario)} and "
                f"{money(v_to, scenario)}"
            )
        elif not share_row and np.isfinite(v_to):
            text += f", valid until its bound reaches {money(v_to, scenario)}"
        rows.append(
            (c["name"].iat[i], kind.value, c["label"].iat[i], price, bound, v_from, v_to, text)
        )
    cons = pd.DataFrame(rows, columns=list(CONSTRAINT_COLUMNS))
    order = cons["shadow_price"].abs().sort_values(ascending=False, kind="stable").index
    return cons.reindex(order).reset_index(drop=True)


def _is_share_row(row: Row, scenario: Scenario) -> bool:
    """Whether the row is a limit written as a share of the total: its bound is 0 (the share
    is in its coefficients), so a range of that bound in money is no ceiling or floor a
    planner could set."""
    limit = None
    if row.kind in (RowKind.FLOOR, RowKind.CEILING) and row.area is not None:
        area = next(a for a in scenario.areas if a.id == row.area)
        limit = area.floor if row.kind is RowKind.FLOOR else area.ceiling
    elif row.kind in (RowKind.POLICY_MIN, RowKind.POLICY_MAX) and row.policy is not None:
        policy = next(p for p in scenario.policies if p.id == row.policy)
        limit = policy.at_least if row.kind is RowKind.POLICY_MIN else policy.at_most
    return limit is not None and limit.share is not None


def _priority_ranges(model: PlanModel, arrays: PlanArrays, scenario: Scenario) -> pd.DataFrame:
    """Per area, the priorities over which the plan stays the same: it stays optimal
    while the costs of the area's value columns scale with its priority."""
    ranges = CostRanges(model, arrays)
    priority = area_priorities(scenario)
    rows = []
    for a in scenario.areas:
        p = priority[a.id]
        cols = np.array(model.value_columns.get(a.id, []), dtype=int)
        direction = np.zeros(model.n_cols)
        if p > 0:  # the costs' change per unit of priority
            direction[cols] = ranges.cost[cols] / p
        if not np.any(direction):
            p_from, p_to = 0.0, float("inf")
        else:
            low, high = ranges.range(direction)
            p_from, p_to = max(p + low, 0.0), p + high
        rows.append((a.id, p, p_from, p_to, _range_text(a.id, p, p_from, p_to)))
    return pd.DataFrame(rows, columns=list(AREA_COLUMNS))


def _range_text(area: str, p: float, p_from: float, p_to: float) -> str:
    """The range in words, with the fewest digits (3 to 6) that tell its ends from the
    priority now, so a narrow range never reads "between 1 and 1 (now 1)"."""
    ends = [v for v in (p_from, p_to) if np.isfinite(v) and abs(v - p) > 1e-9 * max(1.0, p)]
    digits = next((d for d in range(3, 7) if all(f"{v:.{d}g}" != f"{p:.{d}g}" for v in ends)), 6)
    low, now = f"{p_from:.{digits}g}", f"{p:.{digits}g}"
    high = f"{p_to:.{digits}g}" if np.isfinite(p_to) else "any higher value"
    if low == now == high:
        return f"the funding of {area} changes with any change of its priority (now {now})"
    return (
        f"the funding of {area} would not change while its priority stays between "
        f"{low} and {high} (now {now})"
    )
