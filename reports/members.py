"""The allocation report's coalition section: what each member gets, in the fund and alone.

One table (a line per pledging member: pledged, its value of the plan by its own
priorities, its standalone value, the gain, whether it would be better off outside, the
marginal value of one more unit of pledge, its burden against its contribution share and
its juste-retour ratio) and one chart (value in the fund beside value alone).
"""

from __future__ import annotations

import pandas as pd

from engine import UNIT_FACTORS, Result, burden_bands, contribution_key, stability
from reports import charts
from reports.document import Chart, Section, Table

#: Members shown in the chart (largest pledges first); the table lists every member.
CHART_MEMBERS = 15


def _frame(result: Result) -> tuple[pd.DataFrame, str]:
    check = stability(result, drivers=False)
    table = check.members
    burden = burden_bands(table, contribution_key(table))
    merged = table.merge(burden, on="member", how="left")
    merged = merged[merged["pledged"] > 0].sort_values("pledged", ascending=False, kind="stable")
    factor = UNIT_FACTORS[result.scenario.fund.unit]
    frame = pd.DataFrame(
        {
            "member": merged["member"].to_numpy(),
            "name": merged["name"].to_numpy(),
            "pledged": (merged["pledged"] / factor).to_numpy(),
            "value in fund": merged["value_in_fund"].to_numpy(),
            "value alone": merged["standalone_value"].to_numpy(),
            "gain": merged["gain"].to_numpy(),
            "better off outside": ["yes" if v else "no" for v in merged["better_off_outside"]],
            "value of +1 a year": merged["marginal_value"].to_numpy(),
            "burden share": merged["burden_share"].to_numpy(),
            "juste retour": merged["retour"].to_numpy(),
            "priorities": [
                f"pairwise (CR {cr:.3f})" if kind == "pairwise" else kind
                for kind, cr in zip(merged["priorities"], merged["consistency_ratio"], strict=True)
            ],
        }
    )
    return frame, check.summary()


def members_section(result: Result) -> Section:
    """The coalition section of a solved result (see the module)."""
    sc = result.scenario
    unit = f"{sc.fund.currency} {sc.fund.unit}"
    frame, summary = _frame(result)
    number = lambda v: f"{v:,.3g}"  # noqa: E731
    pct = lambda v: f"{v:.1%}"  # noqa: E731
    table = Table.of(
        "coalition-members",
        "What each member gets: value of the plan by its own priorities, in the fund and "
        f"alone (pledged in {unit})",
        frame,
        {
            "pledged": lambda v: f"{v:,.3f}",
            "value in fund": number,
            "value alone": number,
            "gain": lambda v: f"{v:+,.3g}",
            "value of +1 a year": number,
            "burden share": pct,
            "juste retour": lambda v: f"{v:.2f}",
        },
        "Value in fund: the plan's value counted with the member's own weights (all the fund "
        "buys in the areas it values). Value alone: the best it could buy with its own "
        "pledge in the areas it joined, under the same value curves. Value of +1 a year: "
        f"value points the fund gains from one more {sc.fund.unit} of the member's pledge "
        "every year (shadow prices of its budgets). Burden share: its share of the money "
        "allocated; juste retour: its share of the value its money buys for it over its "
        "share of the pledges (1 = a fair return). Priorities: how the member states its own "
        "(weights, swing or pairwise comparisons with their consistency ratio), or the "
        "areas' own.",
    )
    top = frame.head(CHART_MEMBERS)
    chart = Chart(
        "coalition-members-values",
        "Each member's value of the plan, in the fund and alone",
        charts.horizontal_bars(
            top.assign(label=top["name"]),
            "label",
            {"value in fund": "#1f4e79", "value alone": "#a9a9a9"},
            f"Value of the plan by each member's own priorities, {len(top)} largest members",
            " pts",
        ),
        "Blue: the fund's plan; grey: the member alone. Grey beyond blue: better off outside.",
        "coalition-members",
    )
    return Section(
        "coalition",
        "Members: what each gets, in the fund and alone",
        (summary,),
        (chart,),
        (table,),
    )
