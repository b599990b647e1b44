"""The result of a solve: a value object of DataFrames, never written into the scenario.

Columns (money in the fund's currency units, e.g. US dollars):

- ``allocation``: member, area, year, amount (non-zero flows only)
- ``areas``: area, year, amount, share (of the year's total), value (value points)
- ``members``: member, year, pledged, allocated, unspent (every member, zero pledges too)
- ``constraints``: name, kind, label, area, member, year, policy, activity, lower, upper,
  slack, shadow_price (value points per currency unit), binding
- ``diagnosis`` (infeasible scenarios only): name, kind, label, relax_by, message
- ``projects``, ``project_members`` (scenarios with projects or calls): see
  :mod:`engine.results.projects`
- ``summary``: status, objective, total_allocated, solver, solve_seconds, build_seconds,
  scenario_sha256, currency, unit, message
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.formulation.projects import LINK_KINDS
from engine.scenario.schema import Scenario
from engine.solving.backends import SolveStatus

#: Row kinds that keep the books (funding, totals, value, project links), not a planner's rule.
BOOKKEEPING = ("funding", "total", "value", *LINK_KINDS)


@dataclass(frozen=True)
class Result:
    """Everything a solve produced. Frames are empty (with their columns) when no plan."""

    scenario: Scenario
    status: SolveStatus
    objective: float
    allocation: pd.DataFrame
    areas: pd.DataFrame
    members: pd.DataFrame
    constraints: pd.DataFrame
    summary: dict[str, Any]
    diagnosis: pd.DataFrame = field(default_factory=pd.DataFrame)
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    project_members: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        """Whether there is a plan to use (optimal, or feasible at a time limit)."""
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    def binding(self) -> pd.DataFrame:
        """Binding constraints a planner set (not bookkeeping rows), by |shadow price|."""
        c = self.constraints
        if c.empty:
            return c
        planner = c[c["binding"] & ~c["kind"].isin(BOOKKEEPING)]
        order = planner["shadow_price"].abs().sort_values(ascending=False, kind="stable")
        return planner.reindex(order.index).reset_index(drop=True)
