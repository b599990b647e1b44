"""Results of the go/no-go part: which projects are funded, at which stage, by whom.

Frames (money in currency units, value in value points):

- ``projects``: one line per project (or application stage) and year of its profile:
  project, call, stage, area, year, funded, share, cost, amount, value, needed_value,
  cost_cut, margin_note. For the few best unselected candidates (NaN for the others),
  ``needed_value`` is the extra value a project would need to be selected (infinite when
  no value suffices: with it funded, no plan meets the rules) and
  ``cost_cut`` how much less its whole profile would need to cost instead (a first-order
  estimate).
- ``project_members``: project, stage, member, year, amount, basis. ``basis`` is
  ``commitment`` for jointly funded projects (the member's committed share) and
  ``pro_rata`` for projects paid from an area's pool (split in proportion to each
  member's money to the area that year, net of its own commitments).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.core import PlanModel
from engine.formulation.projects import ProjectMaps, Unit
from engine.results.schema import PROJECT_MEMBERS, PROJECTS, Summary

#: A funded share below this counts as not funded.
FUNDED = 1e-6

PROJECT_COLUMNS = list(PROJECTS)
MEMBER_COLUMNS = list(PROJECT_MEMBERS)


_EMPTY = (pd.DataFrame(columns=PROJECT_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS))


def empty_project_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two frames with their columns and no rows (new objects on every call)."""
    return _EMPTY[0].copy(), _EMPTY[1].copy()


def project_frames(model: PlanModel, values: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``projects`` and ``project_members`` frames of a plan (column values
    ``values``, model units); empty frames when the scenario has no projects."""
    maps: ProjectMaps | None = model.projects
    if maps is None:
        return empty_project_frames()
    rows: list[tuple] = []
    pooled: dict[tuple[str, int], list[tuple[str, int | None, float]]] = {}
    committed: dict[tuple[str, str, int], float] = {}
    member_rows: list[tuple] = []
    for u in maps.units.values():
        share = float(np.clip(values[maps.funded(u.key)], 0.0, 1.0))
        funded = share > FUNDED and values[maps.go[u.key]] > 0.5
        share = share if funded else 0.0
        margin = maps.margins.get(u.key)
        for t, c in u.cost.items():
            rows.append(
                (
                    u.project,
                    u.call,
                    u.stage,
                    u.area,
                    t,
                    funded,
                    share,
                    c,
                    c * share,
                    u.weight * share if t == min(u.cost) else 0.0,
                    margin.needed_value if margin else np.nan,
                    margin.cost_cut if margin else np.nan,
                    margin.note if margin else "",
                )
            )
            if not funded:
                continue
            if not u.joint:
                pooled.setdefault((u.area, t), []).append((u.project, u.stage, c * share))
                continue
            member_rows += _commitments(model, maps, u, t, c, values, committed)
    member_rows += _pro_rata(model, values, pooled, committed)
    projects = pd.DataFrame(rows, columns=PROJECT_COLUMNS)
    projects["stage"] = projects["stage"].astype("Int64")
    members = pd.DataFrame(member_rows, columns=MEMBER_COLUMNS)
    members["stage"] = members["stage"].astype("Int64")
    return projects, members


def _commitments(
    model: PlanModel,
    maps: ProjectMaps,
    u: Unit,
    t: int,
    cost: float,
    values: np.ndarray,
    committed: dict[tuple[str, str, int], float],
) -> list[tuple]:
    """``project_members`` rows of a joint unit in year ``t``: each member's committed
    share of its cost (added to ``committed`` per member, area and year)."""
    out = []
    for m in (m.id for m in model.scenario.members):
        q = maps.member_share.get((m, u.key))
        if q is None or values[q] <= FUNDED:
            continue
        amount = values[q] * cost
        committed[m, u.area, t] = committed.get((m, u.area, t), 0.0) + amount
        out.append((u.project, u.stage, m, t, amount, "commitment"))
    return out


def _pro_rata(
    model: PlanModel,
    values: np.ndarray,
    pooled: dict[tuple[str, int], list[tuple[str, int | None, float]]],
    committed: dict[tuple[str, str, int], float],
) -> list[tuple]:
    """``project_members`` rows of pooled units: each project's money split in
    proportion to each member's money to the area that year, net of its commitments."""
    flows: dict[tuple[str, int], list[tuple[str, int]]] = {key: [] for key in pooled}
    for (m, a, t), j in model.x.items():
        if (a, t) in flows:
            flows[a, t].append((m, j))
    out = []
    for (a, t), items in pooled.items():
        general = {
            m: max(values[j] * model.scale - committed.get((m, a, t), 0.0), 0.0)
            for m, j in flows[a, t]
        }
        total = sum(general.values())
        if total <= 0:
            continue
        for project, stage, amount in items:
            for m, g in general.items():
                if g > 0:
                    out.append((project, stage, m, t, amount * g / total, "pro_rata"))
    return out


TOTAL_COLUMNS = [
    "project",
    "call",
    "stage",
    "area",
    "funded",
    "share",
    "cost",
    "amount",
    "value",
    "needed_value",
]


def project_totals(projects: pd.DataFrame) -> pd.DataFrame:
    """One line per project (or application stage) over its whole profile, from a
    ``projects`` frame: project, call ("" outside calls), stage (Int64, NA outside calls),
    area, funded, share, cost and amount (currency units, summed over the years), value
    (value points) and needed_value (NaN unless margins were computed)."""
    if projects.empty:
        return pd.DataFrame(columns=TOTAL_COLUMNS)
    frame = projects.assign(
        call=projects["call"].fillna(""), stage=projects["stage"].astype("Int64").fillna(0)
    )
    totals = (
        frame.groupby(["project", "call", "stage", "area"], sort=False)
        .agg(
            funded=("funded", "any"),
            share=("share", "max"),
            cost=("cost", "sum"),
            amount=("amount", "sum"),
            value=("value", "sum"),
            needed_value=("needed_value", "max"),
        )
        .reset_index()
    )
    totals["stage"] = totals["stage"].astype("Int64").replace(0, pd.NA)
    return totals[TOTAL_COLUMNS]


def project_summary(projects: pd.DataFrame) -> Summary:
    """Counts for the summary: projects (and stages) considered and funded."""
    if projects.empty:
        return {}
    units = projects.drop_duplicates(["project", "stage"])
    return {"projects_considered": len(units), "projects_funded": int(units["funded"].sum())}


CHANGE_COLUMNS = ["project", "stage", "before", "after", "amount_before", "amount_after", "status"]


def project_changes(base: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Projects (and stages) whose funding differs between two ``projects`` frames.

    Columns: project, stage, before and after (funded share, 0 when not funded),
    amount_before and amount_after (currency units over the profile), status ("now
    funded", "no longer funded" or "share changed"); newly funded first, then dropped.
    """
    frames = []
    for frame in (base, new):
        if frame.empty:
            frames.append(pd.DataFrame(columns=["project", "stage", "share", "amount"]))
            continue
        units = frame.assign(stage=frame["stage"].astype("Int64").fillna(0))
        frames.append(
            units.groupby(["project", "stage"], as_index=False).agg(
                share=("share", "first"), amount=("amount", "sum")
            )
        )
    merged = pd.merge(*frames, on=["project", "stage"], how="outer", suffixes=("_b", "_a"))
    for col in ("share_b", "share_a", "amount_b", "amount_a"):
        merged[col] = merged[col].astype(float).fillna(0.0)
    merged = merged[(merged["share_a"] - merged["share_b"]).abs() > FUNDED]
    status = np.where(
        merged["share_b"] <= FUNDED,
        "now funded",
        np.where(merged["share_a"] <= FUNDED, "no longer funded", "share changed"),
    )
    out = pd.DataFrame(
        {
            "project": merged["project"],
            "stage": merged["stage"].astype("Int64").replace(0, pd.NA),
            "before": merged["share_b"],
            "after": merged["share_a"],
            "amount_before": merged["amount_b"],
            "amount_after": merged["amount_a"],
            "status": status,
        },
        columns=CHANGE_COLUMNS,
    )
    rank = out["status"].map({"now funded": 0, "no longer funded": 1, "share changed": 2})
    return (
        out.assign(_rank=rank)
        .sort_values(["_rank", "project", "stage"])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
