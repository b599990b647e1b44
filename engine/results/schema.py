"""The result of a solve, and the schema of every frame it holds, declared once.

A :class:`Result` is a value object of DataFrames, never written into the scenario.
Extraction (:mod:`engine.results.extract`, :mod:`engine.results.projects`), the result
files (:mod:`engine.files.results`, ``solve --out``), the app's downloads and the reports
take the columns from here. Money is in the fund's currency units (e.g. US dollars),
shadow prices in value points per currency unit.

- ``allocation`` (:data:`ALLOCATION`): member, area, year, amount (non-zero flows only)
- ``areas`` (:data:`AREAS`): area, year, amount, share (of the year's total), value
  (value points)
- ``members`` (:data:`MEMBERS`): member, year, pledged, allocated, carried_in,
  carried_out, unspent (every member, zero pledges too)
- ``constraints`` (:data:`CONSTRAINTS`): name, kind (a
  :class:`~engine.formulation.rows.RowKind` value), label, area, member, year, policy,
  activity, lower, upper, slack, shadow_price, binding; ``constraints.csv`` leaves out
  area, member and policy (:data:`CONSTRAINTS_FILE`)
- ``diagnosis`` (:data:`DIAGNOSIS`, infeasible scenarios only): name, kind, label,
  relax_by, message
- ``projects`` (:data:`PROJECTS`) and ``project_members`` (:data:`PROJECT_MEMBERS`),
  scenarios with projects or calls: see :mod:`engine.results.projects`
- ``summary`` (:class:`Summary`): status, objective, total_allocated, solver,
  solver_status (the solver's own words), solve_seconds, build_seconds, scenario_sha256,
  fund, currency, unit, message; with projects also projects_considered and
  projects_funded; for a MIP mip_gap and proven_optimal

:func:`result_tables` gives the tables as the result files hold them, by file stem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd

from engine.formulation.rows import BOOKKEEPING
from engine.scenario.schema import Scenario
from engine.solving.backends import SolveStatus

ALLOCATION = ("member", "area", "year", "amount")
AREAS = ("area", "year", "amount", "share", "value")
MEMBERS = ("member", "year", "pledged", "allocated", "carried_in", "carried_out", "unspent")
CONSTRAINTS = (
    "name",
    "kind",
    "label",
    "area",
    "member",
    "year",
    "policy",
    "activity",
    "lower",
    "upper",
    "slack",
    "shadow_price",
    "binding",
)
#: The columns of ``constraints.csv`` (the row keys area, member, policy stay in the frame).
CONSTRAINTS_FILE = tuple(c for c in CONSTRAINTS if c not in ("area", "member", "policy"))
DIAGNOSIS = ("name", "kind", "label", "relax_by", "message")
PROJECTS = (
    "project",
    "call",
    "stage",
    "area",
    "year",
    "funded",
    "share",
    "cost",
    "amount",
    "value",
    "needed_value",
    "cost_cut",
    "margin_note",
)
PROJECT_MEMBERS = ("project", "stage", "member", "year", "amount", "basis")

#: Every frame of a :class:`Result`, by attribute, with its columns.
FRAMES: dict[str, tuple[str, ...]] = {
    "allocation": ALLOCATION,
    "areas": AREAS,
    "members": MEMBERS,
    "constraints": CONSTRAINTS,
    "diagnosis": DIAGNOSIS,
    "projects": PROJECTS,
    "project_members": PROJECT_MEMBERS,
}

#: The result files (``solve --out DIR``), every one a run may write.
RESULT_FILES = (
    "allocation.csv",
    "areas.csv",
    "members.csv",
    "constraints.csv",
    "diagnosis.csv",
    "projects.csv",
    "project_members.csv",
    "summary.json",
)


class Summary(TypedDict, total=False):
    """``summary.json``: the figures of a solve (``objective`` is None without a plan)."""

    status: str
    objective: float | None
    total_allocated: float
    solver: str
    #: The solver's own status, as it reported it (e.g. HiGHS's model status).
    solver_status: str
    solve_seconds: float
    build_seconds: float
    scenario_sha256: str
    fund: str
    currency: str
    unit: str
    message: str
    projects_considered: int
    projects_funded: int
    mip_gap: float | None
    proven_optimal: bool


def empty_frame(name: str) -> pd.DataFrame:
    """The frame ``name`` of :data:`FRAMES` with its columns and no rows (a new object)."""
    return pd.DataFrame(columns=list(FRAMES[name]))


@dataclass(frozen=True)
class PlanArrays:
    """The solver's numbers behind a result, in the model's column and row order (model
    units): the plan's values and row activities (the tie-broken plan) and the reduced
    costs and row duals of the value-maximising solve (sensitivity ranges them)."""

    col_value: np.ndarray
    row_value: np.ndarray
    col_dual: np.ndarray
    row_dual: np.ndarray


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
    summary: Summary
    diagnosis: pd.DataFrame = field(default_factory=lambda: empty_frame("diagnosis"))
    projects: pd.DataFrame = field(default_factory=lambda: empty_frame("projects"))
    project_members: pd.DataFrame = field(default_factory=lambda: empty_frame("project_members"))
    #: The numbers behind the frames (None without a plan), for analysis of this solve.
    arrays: PlanArrays | None = field(default=None, compare=False, repr=False)

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


def result_tables(result: Result) -> dict[str, pd.DataFrame]:
    """The result's tables as the result files hold them, by file stem: allocation,
    areas, members, constraints (:data:`CONSTRAINTS_FILE`), diagnosis when infeasible,
    projects and project_members when the scenario has projects. ``solve --out`` and the
    app's downloads write exactly these."""
    tables = {
        "allocation": result.allocation,
        "areas": result.areas,
        "members": result.members,
        "constraints": result.constraints.drop(
            columns=[c for c in CONSTRAINTS if c not in CONSTRAINTS_FILE], errors="ignore"
        ),
    }
    if not result.diagnosis.empty:
        tables["diagnosis"] = result.diagnosis
    if not result.projects.empty:
        tables["projects"] = result.projects
        tables["project_members"] = result.project_members
    return tables
