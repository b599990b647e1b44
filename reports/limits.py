"""What limits the plan: binding constraints with their shadow prices, the priority
ranges that leave each area's funding unchanged, and, when there is no plan, why.
"""

from __future__ import annotations

import pandas as pd

from engine import Result, sensitivity
from reports.amounts import Fmt
from reports.document import Section, Table

#: Binding constraints listed in the HTML/PDF (all of them are in the Excel workbook).
MAX_BINDING_ROWS = 20


def binding_table(result: Result, fmt: Fmt) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binding constraints with shadow prices, members' budgets grouped per year and price."""
    sens = sensitivity(result.scenario)
    rows = sens.constraints.merge(
        result.constraints[["name", "member", "year"]], on="name", how="left"
    )
    per_unit = rows["shadow_price"].astype(float) * fmt.factor  # float even when empty
    one = fmt.money(fmt.factor)
    grouped = []
    budgets = rows[rows["kind"] == "budget"].assign(price=per_unit.round(4))
    for (year, price), group in budgets.groupby(["year", "price"], sort=False):
        verb = "adds" if price >= 0 else "costs"
        grouped.append(
            {
                "constraint": f"budgets of {len(group)} members in {int(year)}",
                "kind": "budget",
                "per_unit": price,
                "meaning": f"each extra {one} pledged in {int(year)} by any of them {verb} "
                f"{abs(price):.3g} value points",
            }
        )
    for row, price in zip(rows.itertuples(index=False), per_unit, strict=True):
        if row.kind != "budget":
            grouped.append(
                {
                    "constraint": row.label,
                    "kind": row.kind,
                    "per_unit": price,
                    "meaning": row.text,
                }
            )
    frame = pd.DataFrame(grouped, columns=["constraint", "kind", "per_unit", "meaning"])
    frame = frame.reindex(frame["per_unit"].abs().sort_values(ascending=False).index)
    frame = frame.rename(columns={"per_unit": f"value points per {one}"}).reset_index(drop=True)
    areas = sens.areas[["area", "priority", "priority_from", "priority_to", "text"]]
    return frame, areas


def constraints_section(frame: pd.DataFrame, areas: pd.DataFrame, fmt: Fmt) -> Section:
    """Binding constraints (``frame``, see :func:`binding_table`) and priority ranges."""
    price_col = frame.columns[2]
    table = Table.of(
        "binding-constraints",
        "Binding constraints and their shadow prices",
        frame.head(MAX_BINDING_ROWS),
        {price_col: lambda v: f"{v:+.3g}"},
        (
            f"The {MAX_BINDING_ROWS} with the largest prices of {len(frame)}; all are in the "
            "Excel workbook."
            if len(frame) > MAX_BINDING_ROWS
            else ""
        ),
    )
    ranges = Table.of(
        "priority-ranges",
        "How far each area's priority can move before its funding changes",
        areas.rename(columns={"text": "meaning"}),
        {"priority_from": lambda v: f"{v:.3g}", "priority_to": lambda v: f"{v:.3g}"},
    )
    paragraphs = (
        "A constraint binds when the plan is pushed against it. Its shadow price says what "
        f"relaxing it by {fmt.money(fmt.factor)} would add to the plan's value (or cost, when "
        "negative), in value points: funding weighted by each area's priority with "
        "diminishing returns. Value points compare plans; they are not money.",
        "A floor with a negative price costs value: it forces money into an area that the "
        "priorities alone would fund less. A budget with a positive price means more "
        "money from that member would be put to good use.",
    )
    return Section("constraints", "What limits the plan", paragraphs, (), (table, ranges))


def diagnosis_section(result: Result, fmt: Fmt) -> Section:
    """Why there is no plan: the status and the smallest changes that would give one."""
    text = (
        f"No plan: {result.summary.get('message') or result.status.value}.",
        "The smallest changes that would make the scenario feasible are listed below; any "
        "one of them is enough.",
    )
    frame = result.diagnosis
    tables: tuple[Table, ...] = ()
    if not frame.empty:
        shown = frame[["message", "relax_by"]].rename(columns={"message": "change"})
        tables = (Table.of("diagnosis", "To make it feasible", shown, {"relax_by": fmt.money}),)
    return Section("diagnosis", "Why there is no plan", text, (), tables)
