"""The app's charts (Altair): funding by area and year, who funds what, what changed, and
members' pledges against their allocations. Every chart takes amounts already in the
fund's unit and colours areas as :func:`app.views.area_colours` does, so an area has one
colour on every tab.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from app import views
from engine import Comparison, Result

#: Members drawn in the flow chart; the table below it lists every member.
FLOW_MEMBERS = 15
#: Diverging colours for changes (more than the baseline, less), as the report's.
MORE, LESS = "#548235", "#a5243d"


def _area_scale(result: Result) -> tuple[alt.Scale, list[str]]:
    colours = views.area_colours(result.scenario)
    return alt.Scale(domain=list(colours), range=list(colours.values())), list(colours)


def _legend() -> alt.Legend:
    """Below the chart in columns, never cut off at 1280 px."""
    return alt.Legend(orient="bottom", columns=5, title=None, labelLimit=0)


def area_chart(result: Result, unit: str) -> alt.Chart:
    """Stacked funding by area and year: a colour per area (views.AREA_PALETTE, distinct up
    to 20 areas) and the legend below the bars in columns, so it is never cut off."""
    scale, order = _area_scale(result)
    data = views.allocation_long(result).assign(year=lambda f: f["year"].astype(str))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("year:N", title=None),
            y=alt.Y("sum(amount):Q", title=unit),
            color=alt.Color("area:N", scale=scale, legend=_legend(), sort=order),
            tooltip=["area", "year", alt.Tooltip("amount:Q", format=",.2f")],
        )
    )


def flows_chart(flows: pd.DataFrame, result: Result, unit: str) -> alt.Chart:
    """Who funds what: one bar per member (the largest :data:`FLOW_MEMBERS`), split by the
    areas its money goes to. ``flows`` is :func:`app.views.flows` (member x area)."""
    scale, order = _area_scale(result)
    top = flows.sum(axis=1).sort_values(ascending=False).index[:FLOW_MEMBERS]
    data = (
        flows.loc[top]
        .reset_index()
        .melt(id_vars="member", var_name="area", value_name="amount")
        .query("amount > 0")
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("member:N", sort=list(top), title=None),
            x=alt.X("sum(amount):Q", title=unit),
            color=alt.Color("area:N", scale=scale, legend=_legend(), sort=order),
            tooltip=["member", "area", alt.Tooltip("amount:Q", format=",.3f")],
        )
    )


def change_chart(comparison: Comparison, result: Result, unit: str) -> alt.Chart | None:
    """The change in each area's funding over the horizon against the baseline (green:
    more, red: less); None when nothing changed by a shown amount."""
    changes = views.area_changes(comparison, result.scenario)
    if changes.empty:
        return None
    per_area = changes.groupby("area", as_index=False)["change"].sum()
    per_area = per_area.assign(
        direction=per_area["change"].map(lambda c: "more" if c > 0 else "less")
    )
    order = per_area.sort_values("change", key=abs, ascending=False)["area"].tolist()
    return (
        alt.Chart(per_area)
        .mark_bar()
        .encode(
            y=alt.Y("area:N", sort=order, title=None),
            x=alt.X("change:Q", title=f"change over the horizon ({unit})"),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["more", "less"], range=[MORE, LESS]),
                legend=None,
            ),
            tooltip=["area", alt.Tooltip("change:Q", format="+,.3f")],
        )
    )


def members_chart(result: Result, unit: str) -> alt.Chart:
    """Pledged (grey) and allocated (blue) over the horizon, by member, largest first."""
    totals = views.members_summary(result)
    totals = totals[totals["pledged"] > 0].sort_values("pledged", ascending=False)
    data = totals.reset_index().melt(
        id_vars="member", value_vars=["pledged", "allocated"], var_name="what", value_name="amount"
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("member:N", sort=totals.index.tolist(), title=None),
            yOffset=alt.YOffset("what:N", sort=["pledged", "allocated"]),
            x=alt.X("amount:Q", title=unit),
            color=alt.Color(
                "what:N",
                scale=alt.Scale(domain=["pledged", "allocated"], range=["#a9a9a9", "#1f4e79"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=["member", "what", alt.Tooltip("amount:Q", format=",.3f")],
        )
    )
