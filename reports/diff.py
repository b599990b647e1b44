"""The what-if report's comparison with its baseline: value, funding by area and member,
constraints that started or stopped binding, shadow prices that changed.
"""

from __future__ import annotations

from engine import Comparison, Result
from reports import charts
from reports.amounts import Fmt, area_names
from reports.document import Chart, Section, Table, in_unit
from reports.limits import MAX_BINDING_ROWS


def diff_section(cmp: Comparison, base: Result, new: Result, fmt: Fmt, base_name: str) -> Section:
    """The comparison with the baseline ``base_name``: value, areas, members, binding
    constraints and shadow prices that changed (changes below display precision left out)."""
    names = area_names(new.scenario)
    if base.ok and new.ok:
        change = cmp.value_change
        text = [
            f"Against {base_name}, the plan's value changes by {change:+.2f} points "
            f"({cmp.value_before:,.2f} to {cmp.value_after:,.2f}); total allocated goes from "
            f"{fmt.money(base.summary['total_allocated'])} to "
            f"{fmt.money(new.summary['total_allocated'])}."
        ]
    else:
        text = [f"Status: {cmp.status_before} in {base_name}, {cmp.status_after} here."]
    text.append(
        "Among equally good plans, this one is the closest to the baseline, so the "
        "differences below come from the changed inputs, not from the solver's choice."
    )
    charts_: list[Chart] = []
    tables: list[Table] = []
    if cmp.areas.empty and cmp.members.empty:
        text.append("The allocation is the same as in the baseline.")
    else:
        per_area = cmp.areas.groupby("area")["change"].sum()
        per_area = per_area[per_area.abs() > 0].sort_values(key=abs, ascending=False)
        per_area.index = [names.get(a, a) for a in per_area.index]
        charts_.append(
            Chart(
                "diff-areas",
                "Change by area",
                charts.diverging_bars(
                    fmt.scaled(per_area),
                    f"Change by area over the horizon ({fmt.unit})",
                    fmt.suffix,
                ),
                "Green: more than in the baseline; red: less.",
                "diff-areas",
            )
        )
        amount = {"before": fmt.money, "after": fmt.money, "change": fmt.signed}
        visible = cmp.areas[cmp.areas["change"].abs() >= fmt.factor * 5e-4]
        tables.append(Table.of("diff-areas", "Areas: changes by year", visible, amount))
        members = cmp.members.groupby("member", as_index=False)[["before", "after", "change"]].sum()
        members = members.reindex(members["change"].abs().sort_values(ascending=False).index)
        members = members[members["change"].abs() >= fmt.factor * 5e-4]  # below: not shown
        tables.append(
            Table.of(
                "diff-members",
                "Members: change in allocation over the horizon",
                members.reset_index(drop=True),
                amount,
            )
        )
    if not cmp.binding.empty:
        flips = cmp.binding[["label", "status"]].rename(columns={"label": "constraint"})
        tables.append(
            Table.of("diff-binding", "Constraints that started or stopped binding", flips)
        )
    if not cmp.shadow_prices.empty:
        prices = cmp.shadow_prices[["label", "before", "after", "change"]].head(MAX_BINDING_ROWS)
        per_unit = {
            c: in_unit(lambda v: f"{v * fmt.factor:+.3g}", fmt, f"points per {fmt.unit}")
            for c in ("before", "after", "change")
        }
        prices = prices[(prices["change"] * fmt.factor).abs() >= 5e-4]  # shown as +0.000 below
        tables.append(
            Table.of(
                "diff-shadow-prices",
                f"Shadow prices that changed (value points per {fmt.money(fmt.factor)})",
                prices.rename(columns={"label": "constraint"}),
                per_unit,
            )
        )
    return Section("diff", f"Compared with {base_name}", tuple(text), tuple(charts_), tuple(tables))
