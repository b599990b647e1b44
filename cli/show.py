"""Print results for people (rich tables)."""

from __future__ import annotations

import pandas as pd
from rich.markup import escape
from rich.table import Table

from cli.common import console
from cli.show_projects import print_projects
from engine import (
    Result,
    column_digits,
    footed,
    money,
    money_as,
    shadow_sentence,
    shown_total,
)


def print_result(result: Result, top: int = 12) -> None:
    """Totals by area and year, members' pledged/allocated/unspent, binding constraints."""
    sc = result.scenario
    s = result.summary
    console.print(
        f"[bold]{sc.fund.name}[/] — status [bold]{s['status']}[/], solver {s['solver']}, "
        f"{s['solve_seconds']:.2f} s",
        highlight=False,
    )
    if not result.ok:
        console.print(f"[bold red]No plan:[/] {s['message']}", highlight=False)
        if not result.diagnosis.empty:
            table = Table(
                "to make the plan possible, change all of these together",
                "amount",
                title="Diagnosis",
            )
            for row in result.diagnosis.itertuples():
                table.add_row(
                    row.message, money(row.relax_by, sc) if pd.notna(row.relax_by) else ""
                )
            console.print(table)
        return
    pivot = result.areas.pivot(index="area", columns="year", values="amount").fillna(0.0)
    unit = sc.fund.unit
    digits = column_digits(pivot.to_numpy().ravel(), unit, exact=False)
    for year in pivot.columns:  # each year's figures add up to its total as shown
        pivot[year] = footed(pivot[year], unit, digits)
    shown = {y: shown_total(pivot[y], unit, digits) for y in pivot.columns}
    grand = shown_total(shown.values(), unit, digits)
    per_member = result.members.groupby("member", sort=False)[
        ["pledged", "allocated", "unspent"]
    ].sum()
    member_digits = column_digits(per_member.to_numpy().ravel(), unit)
    allocated = money_as(s["total_allocated"], sc, max(digits, member_digits))
    console.print(f"value {result.objective:,.2f} points; allocated {allocated}", highlight=False)
    if s.get("message"):
        console.print(f"[yellow]warning:[/] {s['message']}", highlight=False)

    table = Table("area", *[str(y) for y in pivot.columns], "total", title="Allocation by area")
    for area, values in pivot.iterrows():
        row_total = shown_total(values, unit, digits)
        table.add_row(
            area, *[money_as(v, sc, digits) for v in values], money_as(row_total, sc, digits)
        )
    table.add_row(
        "[bold]total",
        *[money_as(shown[y], sc, digits) for y in pivot.columns],
        money_as(grand, sc, digits),
    )
    console.print(table)
    if money_as(grand, sc, max(digits, member_digits)) != allocated:
        console.print(
            f"the table's totals add its rounded figures; the exact total is {allocated}",
            highlight=False,
        )

    digits = member_digits
    table = Table("member", "pledged", "allocated", "unspent", title="Members over the horizon")
    for member, row in per_member.iterrows():
        table.add_row(member, *[money_as(row[c], sc, digits) for c in per_member.columns])
    table.add_row(
        "[bold]total",
        *[money_as(shown_total(per_member[c], unit, digits), sc, digits) for c in per_member],
    )
    console.print(table)
    print_projects(result, top)

    binding = result.binding()
    binding = binding[binding["shadow_price"].abs() > 1e-15]
    budgets = binding[binding["kind"] == "budget"]
    others = binding[binding["kind"] != "budget"]
    table = Table("binding constraint", "shadow price", title="Binding constraints")
    for name, label, price in (
        others[["name", "label", "shadow_price"]].head(top).itertuples(index=False)
    ):
        table.add_row(escape(name), escape(shadow_sentence(label, price, sc)))
    if not budgets.empty:
        low, high = budgets["shadow_price"].min(), budgets["shadow_price"].max()
        one = shadow_sentence("a member's budget", high, sc)
        spread = "" if abs(high - low) <= 1e-12 * max(1.0, abs(high)) else " (at most)"
        table.add_row(
            f"{len(budgets)} member budgets",
            f"{one}{spread}; all pledged money is used where it binds",
        )
    console.print(table)
    if len(others) > top:
        console.print(f"... and {len(others) - top} more in constraints.csv (--out DIR)")
