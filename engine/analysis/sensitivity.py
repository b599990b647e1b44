"""Sensitivity in plain language, from HiGHS ranging of the value-maximising LP.

For each binding constraint a planner set: its shadow price and the range of its bound
over which that price holds. For each area: the range of its priority over which its
funding would not change (one-at-a-time ranges of its value columns, combined).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.results.describe import money, shadow_sentence
from engine.results.schema import Result
from engine.scenario.schema import Scenario
from engine.solving.resolver import Resolver

_PLANNER_KINDS = (
    "budget",
    "floor",
    "ceiling",
    "absorption_up",
    "absorption_down",
    "policy_min",
    "policy_max",
)


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
    """Rank what binds in ``scenario``, with valid ranges from HiGHS ranging.

    Pass the ``resolver`` and the ``result`` of its last solve to reuse that solve (the
    ranging then costs no extra solve); otherwise the scenario is solved (warm if the
    resolver holds a similar model). Raises nothing on infeasible scenarios: the frames
    are then empty and ``result.diagnosis`` explains.
    """
    if resolver is None or result is None or resolver.last_scenario is not scenario:
        resolver = resolver or Resolver()
        result = resolver.solve(scenario)
    empty_c = pd.DataFrame(
        columns=["name", "kind", "label", "shadow_price", "bound", "valid_from", "valid_to", "text"]
    )
    empty_a = pd.DataFrame(columns=["area", "priority", "priority_from", "priority_to", "text"])
    if not result.ok:
        return Sensitivity(result, empty_c, empty_a)
    model = resolver.model
    ranging = resolver.ranging()
    up = np.asarray(ranging.row_bound_up.value_)
    dn = np.asarray(ranging.row_bound_dn.value_)
    c = result.constraints
    price_tol = 1e-9 / model.scale
    rows = []
    for i in np.flatnonzero(c["binding"].to_numpy() & c["kind"].isin(_PLANNER_KINDS).to_numpy()):
        price = float(c["shadow_price"].iat[i])
        if abs(price) <= price_tol:
            continue
        lo, hi = model.row_lo[i], model.row_hi[i]
        bound = (lo if np.isfinite(lo) else hi) * model.scale
        share_row = bool(lo == 0.0 and hi != 0.0 and c["kind"].iat[i] != "budget") and bound == 0
        v_from = _finite(dn[i]) * model.scale
        v_to = _finite(up[i]) * model.scale
        text = shadow_sentence(c["label"].iat[i], price, scenario)
        if not share_row and np.isfinite(v_from) and np.isfinite(v_to):
            low, high = money(v_from, scenario), money(v_to, scenario)
            text += f", valid while its bound stays between {low} and {high}"
        elif not share_row and np.isfinite(v_to):
            text += f", valid until its bound reaches {money(v_to, scenario)}"
        rows.append(
            (
                c["name"].iat[i],
                c["kind"].iat[i],
                c["label"].iat[i],
                price,
                bound,
                v_from,
                v_to,
                text,
            )
        )
    cons = pd.DataFrame(rows, columns=empty_c.columns)
    cons = cons.reindex(cons["shadow_price"].abs().sort_values(ascending=False).index)

    cost_up = np.asarray(ranging.col_cost_up.value_)
    cost_dn = np.asarray(ranging.col_cost_dn.value_)
    area_rows = []
    for a in scenario.areas:
        cols = [j for (area, _t), j in model.funding.items() if area == a.id]
        cols += [j for j, name in enumerate(model.col_names) if name.startswith(f"s_{a.id}_")]
        lows, highs = [], []
        for j in cols:
            cost = model.objective.get(j, 0.0)
            if cost <= 0 or a.priority <= 0:
                continue
            lows.append(cost_dn[j] / cost * a.priority)
            highs.append(cost_up[j] / cost * a.priority)
        p_from = max([x for x in lows if np.isfinite(x)], default=float("nan"))
        p_to = min([x for x in highs if np.isfinite(x) and x < 1e29], default=float("inf"))
        p_from = max(p_from, 0.0) if np.isfinite(p_from) else 0.0
        text = (
            f"{a.id}'s funding would not change while its priority stays between "
            f"{p_from:.3g} and {'any higher value' if not np.isfinite(p_to) else f'{p_to:.3g}'}"
            f" (now {a.priority:g})"
        )
        area_rows.append((a.id, a.priority, p_from, p_to, text))
    return Sensitivity(
        result, cons.reset_index(drop=True), pd.DataFrame(area_rows, columns=empty_a.columns)
    )
