"""What a plan did in each future, read off the solution (measured, not assumed).

- :func:`floor_met`: whether each area met all its floors in a future (the floor row's
  activity, without any shortfall column, at least its bound);
- :func:`over_pledge`: whether a member paid more than it pledged (its money to areas,
  year by year, against its pledges; cumulatively when unspent money carries over).
"""

from __future__ import annotations

import numpy as np

from engine.formulation.core import PlanModel
from engine.formulation.rows import RowKind

#: Slack allowed before a floor counts as missed or a pledge as exceeded (model units).
TOLERANCE = 1e-6


def floor_areas(model: PlanModel) -> list[str]:
    """The areas with at least one floor, in scenario order."""
    with_floor = {r.area for r in model.rows if r.kind is RowKind.FLOOR}
    return [a.id for a in model.scenario.areas if a.id in with_floor]


def floor_met(models: list[PlanModel], solutions: np.ndarray) -> np.ndarray:
    """``(futures, areas)``: area met every floor of every year (areas of
    :func:`floor_areas`)."""
    base = models[0]
    areas = floor_areas(base)
    rows = [i for i, r in enumerate(base.rows) if r.kind is RowKind.FLOOR]
    met = np.ones((len(models), len(areas)), dtype=bool)
    for i in rows:
        a, b = base.row_start[i], base.row_start[i + 1]
        cols, vals = base.row_cols[a:b], base.row_vals[a:b]
        activity = solutions[:, cols] @ vals
        lo = np.array([m.row_lo[i] for m in models])
        short = activity < lo - TOLERANCE * np.maximum(1.0, np.abs(lo))
        met[:, areas.index(str(base.rows[i].area))] &= ~short
    return met


def paid(model: PlanModel, solutions: np.ndarray) -> np.ndarray:
    """``(futures, members, years)``: each member's money to areas per year."""
    sc = model.scenario
    members = {m.id: i for i, m in enumerate(sc.members)}
    years = {t: i for i, t in enumerate(sc.fund.years)}
    out = np.zeros((solutions.shape[0], len(members), len(years)))
    for (m, _a, t), j in model.x.items():
        out[:, members[m], years[t]] += solutions[:, j]
    return out


def pledged(models: list[PlanModel]) -> np.ndarray:
    """``(futures, members, years)``: the pledges each future's model was built on."""
    scale = models[0].scale
    years = models[0].scenario.fund.years
    return np.array(
        [
            [[m.pledges[t] / scale for t in years] for m in model.scenario.members]
            for model in models
        ]
    )


def over_pledge(models: list[PlanModel], solutions: np.ndarray) -> np.ndarray:
    """``(futures, members)``: the member paid more than it pledged in some year (up to
    that year, when the fund carries unspent money over)."""
    spent, promised = paid(models[0], solutions), pledged(models)
    if models[0].scenario.fund.carry_over:
        spent, promised = spent.cumsum(axis=2), promised.cumsum(axis=2)
    excess = spent - promised > TOLERANCE * np.maximum(1.0, promised)
    return excess.any(axis=2)
