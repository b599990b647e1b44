"""Print results for people (rich tables)."""

from __future__ import annotations

import pandas as pd
from rich.markup import escape
from rich.table import Table

from cli.common import console
from cli.show_projects import print_projects
from engine import Result, money, shadow_sentence


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
    console.print(
        f"value {result.objective:,.2f} points; allocated {money(s['total_allocated'], sc)}",
        highlight=False,
    )
    if s.get("message"):
        console.print(f"[yellow]warning:[/] {s['message']}", highlight=False)

    pivot = result.areas.pivot(index="area", columns="year", values="amount")
    table = Table("area", *[str(y) for y in pivot.columns], "total", title="Allocation by area")
    for area, values in pivot.iterrows():
        table.add_row(area, *[money(v, sc) for v in values], money(values.sum(), sc))
    totals = pivot.sum()
    table.add_row("[bold]total", *[money(v, sc) for v in totals], money(totals.sum(), sc))
    console.print(table)

    per_member = result.members.groupby("member", sort=False)[
        ["pledged", "allocated", "unspent"]
    ].sum()
    table = Table("member", "pledged", "allocated", "unspent", title="Members over the horizon")
    for member, row in per_member.iterrows():
        table.add_row(
            member, money(row.pledged, sc), money(row.allocated, sc), money(row.unspent, sc)
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
