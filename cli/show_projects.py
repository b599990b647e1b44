"""Print the go/no-go part of a result: MIP status, funded projects, those just below the line."""

from __future__ import annotations

import math

import pandas as pd
from rich.markup import escape

from cli.common import compact_table, console
from engine import Result, Scenario, money, money_column


def _label(project: str, stage: object) -> str:
    return escape(project if pd.isna(stage) else f"{project} (stage {int(stage)})")


def print_projects(result: Result, top: int = 12) -> None:
    """Prints nothing for a scenario without projects; otherwise whether optimality was
    proven (and the gap), funded projects by stage, the largest ones with their funders,
    and the unselected projects nearest to selection with the extra value they need."""
    p = result.projects
    if p.empty:
        return
    sc = result.scenario
    s = result.summary
    proven = "proven optimal" if s.get("proven_optimal") else "NOT proven optimal"
    console.print(
        f"go/no-go: {s['projects_funded']} of {s['projects_considered']} projects and stages "
        f"funded; MIP {proven}, gap {s.get('mip_gap') or 0.0:.2%}",
        highlight=False,
    )
    units = p.groupby(["project", "stage"], dropna=False, sort=False).agg(
        area=("area", "first"),
        funded=("funded", "first"),
        share=("share", "first"),
        amount=("amount", "sum"),
        years=("year", lambda y: f"{min(y)}-{max(y)}" if len(y) > 1 else str(min(y))),
        needed=("needed_value", "first"),
        cut=("cost_cut", "first"),
        note=("margin_note", "first"),
    )
    units = units.reset_index()
    staged = units[units["stage"].notna()]
    if not staged.empty:
        counts = staged.groupby("stage")["funded"].agg(["sum", "count"])
        console.print(
            "stages: "
            + "; ".join(
                f"stage {int(k)}: {int(r['sum'])} of {r['count']}" for k, r in counts.iterrows()
            ),
            highlight=False,
        )
    largest: dict[tuple[str, int], str] = {}
    members = result.project_members
    if not members.empty:
        paid = members.assign(stage=members["stage"].fillna(0))
        for (project, stage), group in paid.groupby(["project", "stage"]):
            top3 = group.groupby("member")["amount"].sum().nlargest(3).index
            largest[project, int(stage)] = ", ".join(top3)
    chosen = units[units["funded"]].sort_values("amount", ascending=False).head(top)
    table = compact_table(
        "project",
        "area",
        "years",
        "share",
        "amount",
        "largest funders",
        title=f"Funded projects (largest {len(chosen)})",
        wrap=("largest funders",),
        numbers=("share", "amount"),
    )
    amounts = money_column(chosen["amount"], sc)  # one precision for the column
    for r, amount in zip(chosen.itertuples(), amounts, strict=True):
        stage = 0 if pd.isna(r.stage) else int(r.stage)
        table.add_row(
            _label(r.project, r.stage),
            r.area,
            r.years,
            f"{r.share:.0%}",
            amount,
            largest.get((r.project, stage), ""),
        )
    console.print(table)
    near = units[units["needed"].notna()].sort_values("needed")
    if not near.empty:
        blocked = _blocked_by_exclusions(sc, set(units.loc[units["funded"], "project"]))
        table = compact_table(
            "project",
            "extra value needed",
            "or cost cut (estimate)",
            "note",
            title="Just below the line",
            wrap=("note",),
        )
        for r in near.itertuples():
            needed = "cannot be selected" if math.isinf(r.needed) else f"{r.needed:.3g} points"
            cut = (
                ""
                if pd.isna(r.cut)
                else "no cost cut suffices"
                if math.isinf(r.cut)
                else money(r.cut, sc)
            )
            note = "; ".join(filter(None, [r.note, blocked.get(r.project, "")]))
            table.add_row(_label(r.project, r.stage), needed, cut, note)
        console.print(table)


def _blocked_by_exclusions(scenario: Scenario, funded: set[str]) -> dict[str, str]:
    """Project -> why an exclusion keeps it out ("excluded by one_ammo_plant: ammo_plant_pol
    is funded"), for unfunded projects whose exclusion is full."""
    blocked: dict[str, str] = {}
    for rule in scenario.exclusions:
        chosen = [p for p in rule.projects if p in funded]
        if len(chosen) >= rule.at_most:
            why = f"excluded by {rule.id}: {', '.join(chosen) or 'none may'} funded"
            blocked |= {p: why for p in rule.projects if p not in funded}
    return blocked


def print_project_changes(changes: pd.DataFrame, scenario: Scenario) -> None:
    """A what-if's project changes: newly funded, dropped, and changed shares."""
    if changes.empty:
        return
    table = compact_table(
        "project", "before", "after", "amount after", "change", title="Project changes"
    )
    amounts = money_column(changes["amount_after"], scenario)
    for r, amount in zip(changes.itertuples(index=False), amounts, strict=True):
        table.add_row(
            _label(r.project, r.stage),
            f"{r.before:.0%}",
            f"{r.after:.0%}",
            amount,
            r.status,
        )
    console.print(table)
