"""Options, not one answer: near-optimal alternatives (MGA) and frontiers.

:func:`alternatives`: plans whose value is within ``within`` (e.g. 2%) of the optimum
that differ from it, and from each other, as much as possible by the areas' funding over
the horizon. Each alternative maximises its smallest L1 distance to the plans found so
far: ``max d`` subject to ``d <= sum_a D[p,a]`` for every earlier plan p, with
``D[p,a] <= |F[a] - F_p[a]|`` linearised exactly by a binary per (p, a) choosing the side
(``D <= F - F_p + M (1 - b)``, ``D <= F_p - F + M b``), and the value row
``value >= (1 - within) * optimum``. The rules are the scenario's model, row for row.

:func:`budget_frontier`: the optimum with every pledge scaled (the fund's total from
smaller to larger), and what each extra unit of money is worth between the points. For an
LP (no go/no-go sections) the value is concave in the scale: the marginal value never
rises. :func:`risk_frontier`: expected value against CVaR across the weight on CVaR.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.formulation.build import build_model
from engine.formulation.core import INF
from engine.planning.extensive import Extensive, build_extensive
from engine.planning.futures import Futures
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import run_extensive, solve_stochastic
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions

HARD = FloorRule("hard")


@dataclass
class Alternative:
    """A plan within the stated loss: its value and the areas' funding (fund units)."""

    label: str
    value: float
    funding: dict[str, float]  # area -> money over the horizon
    go: dict[str, int]  # project -> 1/0
    distance: float  # L1 distance of area funding to the nearest earlier plan


def _funding(ext: Extensive, model, values: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for (a, _t), j in model.funding.items():
        out[a] = out.get(a, 0.0) + float(values[ext.colmap[0, j]])
    return out


def _go(ext: Extensive, model, values: np.ndarray) -> dict[str, int]:
    if model.projects is None:
        return {}
    return {u: round(float(values[ext.colmap[0, j]])) for u, j in model.projects.go.items()}


def _extend(ext: Extensive, model, plans: list[dict[str, float]], floor_value: float, big: float):
    """The MGA programme: the value row, the distance columns and rows, objective max d."""
    areas = [a.id for a in model.scenario.areas]
    n0, r0 = ext.matrix.shape[1], ext.matrix.shape[0]
    cols_of = {
        a: [ext.colmap[0, j] for (b, _t), j in model.funding.items() if b == a] for a in areas
    }
    n_p, n_a = len(plans), len(areas)
    dist = n0 + np.arange(n_p * n_a).reshape(n_p, n_a)
    side = n0 + n_p * n_a + np.arange(n_p * n_a).reshape(n_p, n_a)
    d = n0 + 2 * n_p * n_a
    rows, cols, vals, hi = [], [], [], []
    lo: list[float] = []

    def row(terms, low, high):
        for c, v in terms:
            rows.append(r0 + len(lo))
            cols.append(c)
            vals.append(v)
        lo.append(low)
        hi.append(high)

    nz = np.flatnonzero(ext.cost)
    row(list(zip(nz, ext.cost[nz], strict=True)), floor_value, INF)
    for p, ref in enumerate(plans):
        for i, a in enumerate(areas):
            f = [(c, 1.0) for c in cols_of[a]]
            r = ref.get(a, 0.0)
            row([(dist[p, i], 1.0), *[(c, -1.0) for c, _ in f], (side[p, i], big)], -INF, big - r)
            row([(dist[p, i], 1.0), *f, (side[p, i], -big)], -INF, r)
        row([(d, 1.0), *[(dist[p, i], -1.0) for i in range(n_a)]], -INF, 0.0)
    extra = sp.csr_matrix((vals, (rows, cols)), shape=(r0 + len(lo), d + 1))
    matrix = sp.vstack([sp.hstack([ext.matrix, sp.csr_matrix((r0, d + 1 - n0))]), extra[r0:]])
    cost = np.zeros(d + 1)
    cost[d] = 1.0
    cost[:n0] = 1e-6 * ext.cost  # among equally distant plans, the better one
    return replace(
        ext,
        cost=cost,
        col_lb=np.concatenate([ext.col_lb, np.zeros(2 * n_p * n_a + 1)]),
        col_ub=np.concatenate([ext.col_ub, np.full(n_p * n_a, INF), np.ones(n_p * n_a), [INF]]),
        row_lo=np.concatenate([ext.row_lo, lo]),
        row_hi=np.concatenate([ext.row_hi, hi]),
        matrix=sp.csr_matrix(matrix),
        integer=np.concatenate([ext.integer, side.ravel()]).astype(np.int64),
    )


def alternatives(
    scenario: Scenario, within: float = 0.02, count: int = 3, options: SolverOptions | None = None
) -> list[Alternative]:
    """The optimum, then up to ``count`` plans within ``within`` of its value, each as far
    (L1 by areas' funding) from the earlier ones as the loss allows."""
    if not 0 <= within < 1 or count < 0:
        raise ValueError("need 0 <= within < 1 and count >= 0")
    model = build_model(scenario)
    ext = build_extensive([model], HARD, Risk(), first=np.zeros(0, dtype=np.int64))
    status, best, values, _s, words = run_extensive(ext, options)
    if status.value not in ("optimal", "feasible"):
        raise ValueError(f"the scenario has no plan ({words})")
    found = [
        Alternative("optimum", best, _funding(ext, model, values), _go(ext, model, values), 0.0)
    ]
    big = 2.0 * sum(sum(m.pledges.values()) for m in scenario.members) / model.scale + 1.0
    for i in range(count):
        plans = [a.funding for a in found]
        mga = _extend(ext, model, plans, (1 - within) * best + 1e-7 * abs(best), big)
        status, _obj, vals, _s, _w = run_extensive(mga, options)
        if status.value not in ("optimal", "feasible"):
            break
        value = float(ext.cost @ vals[: len(ext.cost)])
        funding = _funding(ext, model, vals)
        distance = min(_l1(funding, p) for p in plans)
        if distance < 1e-6:
            break
        found.append(
            Alternative(f"alternative {i + 1}", value, funding, _go(ext, model, vals), distance)
        )
    return found


def _l1(a: dict[str, float], b: dict[str, float]) -> float:
    return float(sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)))


def alternatives_table(found: list[Alternative]) -> pd.DataFrame:
    """One row per plan and area: funding, change against the optimum, value and loss."""
    best = found[0]
    rows = []
    for alt in found:
        for area, amount in alt.funding.items():
            rows.append(
                {
                    "plan": alt.label,
                    "area": area,
                    "funding": amount,
                    "change": amount - best.funding.get(area, 0.0),
                    "value": alt.value,
                    "loss": best.value - alt.value,
                    "loss_share": (best.value - alt.value) / best.value if best.value else 0.0,
                    "distance": alt.distance,
                }
            )
    return pd.DataFrame(rows)


def budget_frontier(
    scenario: Scenario, scales: list[float] | None = None, options: SolverOptions | None = None
) -> pd.DataFrame:
    """The optimum with every pledge times each scale: ``scale, total, value, marginal``
    (value points per fund unit between this point and the previous one), ``status``."""
    scales = scales or [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
    years = tuple(scenario.fund.years)
    members = tuple(m.id for m in scenario.members)
    base = np.array([[m.pledges[t] for t in years] for m in scenario.members])
    scale_unit = build_model(scenario).scale
    rows = []
    for s in sorted(scales):
        one = Futures(members, years, (base * s)[None], f"scale {s:g}")
        plan = solve_stochastic(scenario, one, HARD, Risk(), options)
        total = float(base.sum() * s / scale_unit)
        rows.append(
            {
                "scale": s,
                "total": total,
                "value": plan.objective if plan.ok else np.nan,
                "status": plan.status.value,
            }
        )
    frame = pd.DataFrame(rows)
    frame["marginal"] = frame["value"].diff() / frame["total"].diff()
    return frame


def risk_frontier(
    scenario: Scenario,
    futures: Futures,
    alpha: float = 0.1,
    weights: list[float] | None = None,
    floors: FloorRule | None = None,
    options: SolverOptions | None = None,
) -> pd.DataFrame:
    """Expected value against CVaR at ``alpha`` (in sample) as the weight on CVaR goes
    from 0 (expected value) to 1 (CVaR alone)."""
    weights = weights or [0.0, 0.25, 0.5, 0.75, 1.0]
    rows, models = [], None
    for w in weights:
        # A hair of expected value under CVaR alone: the futures outside the tail would
        # otherwise be left at any feasible recourse.
        risk = Risk(min(w, 1 - 1e-4), alpha)
        plan = solve_stochastic(scenario, futures, floors, risk, options, models=models)
        models = plan.models
        rows.append(
            {
                "weight": w,
                "expected_value": plan.expected,
                "cvar": plan.cvar(alpha),
                "status": plan.status.value,
            }
        )
    return pd.DataFrame(rows)
