"""Print results for people (rich tables)."""

from __future__ import annotations

import pandas as pd
from rich.markup import escape

from cli.common import compact_table, console
from cli.show_projects import print_projects
from engine import (
    Result,
    Scenario,
    column_digits,
    describe_unspent,
    footed,
    money,
    money_as,
    shadow_sentence,
    shown_total,
)

#: Member-years of unspent money explained beside the members' table.
UNSPENT_LINES = 5


def print_result(result: Result, top: int = 12) -> None:
    """Totals by area and year, members' pledged/allocated/unspent, binding constraints."""
    sc = result.scenario
    s = result.summary
    console.print(
        f"[bold]{escape(sc.fund.name)}[/] — status [bold]{s['status']}[/], solver {s['solver']}, "
        f"{s['solve_seconds']:.2f} s",
        highlight=False,
    )
    if not result.ok:
        console.print(f"[bold red]No plan:[/] {escape(s['message'])}", highlight=False)
        if not result.diagnosis.empty:
            change = "to make the plan possible, change all of these together"
            table = compact_table(change, "amount", title="Diagnosis", wrap=(change,))
            for row in result.diagnosis.itertuples():
                table.add_row(
                    escape(row.message), money(row.relax_by, sc) if pd.notna(row.relax_by) else ""
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
        console.print(f"[yellow]warning:[/] {escape(s['message'])}", highlight=False)

    years = [str(y) for y in pivot.columns]
    # Seven money columns fit 80 columns only as bare figures, the unit in the title.
    title = f"Allocation by area ({sc.fund.currency} {unit})"
    table = compact_table("area", *years, "total", title=title, numbers=(*years, "total"))

    def bare(amount: float) -> str:
        return _bare(money_as(amount, sc, digits), sc)

    for area, values in pivot.iterrows():
        table.add_row(area, *map(bare, values), bare(shown_total(values, unit, digits)))
    table.add_row("[bold]total", *[bare(shown[y]) for y in pivot.columns], bare(grand))
    console.print(table)
    if money_as(grand, sc, max(digits, member_digits)) != allocated:
        console.print(
            f"the table's totals add its rounded figures; the exact total is {allocated}",
            highlight=False,
        )

    digits = member_digits
    table = compact_table(
        "member",
        "pledged",
        "allocated",
        "unspent",
        title="Members over the horizon",
        numbers=("pledged", "allocated", "unspent"),
    )
    for member, row in per_member.iterrows():
        table.add_row(member, *[money_as(row[c], sc, digits) for c in per_member.columns])
    table.add_row(
        "[bold]total",
        *[money_as(shown_total(per_member[c], unit, digits), sc, digits) for c in per_member],
    )
    console.print(table)
    unspent = float(per_member["unspent"].sum())
    if money_as(unspent, sc, digits) != money_as(0.0, sc, digits):
        # Money a member pledged and no rule let any area take: say so beside the table, or
        # a plan that leaves most of the fund idle reads as a success.
        console.print(
            f"{money_as(unspent, sc, digits)} of the pledged money is not allocated; why, "
            "for the largest amounts:",
            highlight=False,
        )
        lines = describe_unspent(result, sc, limit=UNSPENT_LINES)
        for line in lines:
            console.print(f"  {escape(line)}", highlight=False)
        if len(lines) == UNSPENT_LINES:
            console.print("  (every member and year: members.csv, column unspent)", highlight=False)
    print_projects(result, top)

    binding = result.binding()
    binding = binding[binding["shadow_price"].abs() > 1e-15]
    budgets = binding[binding["kind"] == "budget"]
    others = binding[binding["kind"] != "budget"]
    table = compact_table(
        "binding constraint", "shadow price", title="Binding constraints", wrap=("shadow price",)
    )
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
            f"{one}{spread}; those members' money is all allocated",
        )
    console.print(table)
    if len(others) > top:
        console.print(f"... and {len(others) - top} more in constraints.csv (--out DIR)")


def _bare(text: str, scenario: Scenario) -> str:
    """A figure of :func:`engine.money_as` without its currency and unit ("$9.70bn" ->
    "9.70"), for a table whose title names them."""
    zero = money_as(0, scenario, 0)
    prefix, suffix = zero[: zero.index("0")], zero[zero.index("0") + 1 :]
    return text.replace(prefix, "", 1).removesuffix(suffix)
