"""The allocation report's sections on the plan itself: funding by area and year, who
funds what (the flow diagram), members' pledges and allocations, go/no-go projects.

Each builder takes a solved (optimal) result and returns a
:class:`~reports.document.Section`.
"""

from __future__ import annotations

import pandas as pd

from engine import Result, project_totals
from reports import charts, sankey
from reports.amounts import Fmt, area_names, area_order, member_names, pct
from reports.document import Chart, Section, Table

#: Members named in the flow diagram; the rest are grouped as "other members".
FLOW_MEMBERS = 12
#: Projects (or grant stages) listed in the HTML/PDF; all are in the Excel workbook.
MAX_PROJECT_ROWS = 40


def areas_section(result: Result, fmt: Fmt, palette: dict[str, str]) -> Section:
    """Funding by area and year: the stacked bars and the table with totals and shares."""
    sc = result.scenario
    order = area_order(result)
    pivot = result.areas.pivot(index="area", columns="year", values="amount").loc[order]
    years = [int(y) for y in pivot.columns]
    names = area_names(sc)
    by_year = fmt.scaled(pivot.T)
    by_year.columns = [str(c) for c in by_year.columns]
    chart = Chart(
        "allocation-by-area",
        "Allocation by area and year",
        charts.stacked_bars(
            by_year, f"Allocation by area and year ({fmt.unit})", fmt.suffix, palette
        ),
        "Each column is one year's allocation, split by capability area.",
        "allocation-by-area",
    )
    total = pivot.sum(axis=1)
    frame = pd.DataFrame({"area": order, "name": [names[a] for a in order]})
    for y in years:
        frame[str(y)] = fmt.scaled(pivot[y]).to_numpy()
    frame["total"] = fmt.scaled(total).to_numpy()
    frame["share"] = (total / total.sum()).to_numpy()
    totals_row = {"area": "total", "name": "", **{str(y): frame[str(y)].sum() for y in years}}
    totals_row |= {"total": frame["total"].sum(), "share": 1.0}
    frame = pd.concat([frame, pd.DataFrame([totals_row])], ignore_index=True)
    number = {str(y): (lambda v: f"{v:,.2f}") for y in years}
    table = Table.of(
        "allocation-by-area",
        f"Allocation by area and year ({fmt.unit})",
        frame,
        {**number, "total": lambda v: f"{v:,.2f}", "share": pct},
        "Share: the area's part of the whole horizon's allocation.",
    )
    top = order[:3]
    text = (
        f"Over {years[0]}-{years[-1]} the plan allocates "
        f"{fmt.money(total.sum())}. The largest areas are "
        + ", ".join(f"{names[a]} ({fmt.money(total[a])})" for a in top)
        + "."
    )
    return Section("areas", "Allocation by area and year", (text,), (chart,), (table,))


def flows_section(result: Result, fmt: Fmt, palette: dict[str, str]) -> Section:
    """Who funds what: the flow diagram (largest members named) and the full flow matrix."""
    sc = result.scenario
    names = member_names(sc)
    flows = result.allocation.groupby(["member", "area"], as_index=False)["amount"].sum()
    by_member = flows.groupby("member")["amount"].sum().sort_values(ascending=False)
    named = by_member.index[:FLOW_MEMBERS].tolist()
    others = by_member.index[FLOW_MEMBERS:].tolist()
    label = {m: names[m] for m in named}
    label |= {m: f"{len(others)} other members" for m in others}
    shown = flows.assign(source=flows["member"].map(label), target=flows["area"])
    shown = shown.groupby(["source", "target"], as_index=False, sort=False)["amount"].sum()
    source_order = [names[m] for m in named] + ([label[others[0]]] if others else [])
    target_order = area_order(result)
    shown["s"] = shown["source"].map(source_order.index)
    shown["t"] = shown["target"].map(target_order.index)
    shown = shown.sort_values(["s", "t"]).rename(columns={"amount": "value"})
    chart = Chart(
        "member-area-flows",
        "From members to areas",
        sankey.flow_diagram(
            shown[["source", "target", "value"]],
            f"From members to areas, {sc.fund.years[0]}-{sc.fund.years[-1]}",
            fmt.money,
            palette,
        ),
        f"Band widths are proportional to money over the horizon; the {FLOW_MEMBERS} "
        "largest contributors are named; the table below gives every flow's amount.",
        "member-area-flows",
    )
    matrix = flows.pivot(index="member", columns="area", values="amount").fillna(0.0)
    # reindex: an area nobody funds (e.g. a go/no-go area without a package) shows 0.
    matrix = matrix.reindex(index=by_member.index, columns=target_order, fill_value=0.0)
    matrix = fmt.scaled(matrix).reset_index()
    table = Table.of(
        "member-area-flows",
        f"Member-to-area flows over the horizon ({fmt.unit})",
        matrix,
        {a: (lambda v: f"{v:,.2f}" if v else "") for a in target_order},
    )
    text = (
        "Each member's money goes only to the areas it joined. The diagram shows where each "
        "member's contributions go over the whole horizon; the table gives every flow."
    )
    return Section("flows", "Who funds what", (text,), (chart,), (table,))


def pledges_section(result: Result, fmt: Fmt) -> Section:
    """Members over the horizon: pledged, allocated and unspent, as a chart and a table."""
    sc = result.scenario
    names = member_names(sc)
    per = result.members.groupby("member", sort=False)[["pledged", "allocated", "unspent"]].sum()
    per = per.sort_values("pledged", ascending=False, kind="stable")
    total = per["allocated"].sum()
    frame = pd.DataFrame(
        {
            "member": per.index,
            "name": [names[m] for m in per.index],
            "pledged": fmt.scaled(per["pledged"]).to_numpy(),
            "allocated": fmt.scaled(per["allocated"]).to_numpy(),
            "unspent": fmt.scaled(per["unspent"]).to_numpy(),
            "share of fund": (per["allocated"] / total if total else per["allocated"]).to_numpy(),
            "left out of": [
                ", ".join(a.id for a in sc.areas if not sc.member(m).joins(a.id)) for m in per.index
            ],
        }
    )
    number = lambda v: f"{v:,.3f}"  # noqa: E731
    table = Table.of(
        "members",
        f"Members over the horizon: pledged, allocated, unspent ({fmt.unit})",
        frame,
        {"pledged": number, "allocated": number, "unspent": number, "share of fund": pct},
        "Left out of: the areas a member does not fund (opted out, or not opted in).",
    )
    top = frame[frame["pledged"] > 0].head(15)
    chart = Chart(
        "members-pledged-allocated",
        "Pledged and allocated by member",
        charts.horizontal_bars(
            top.assign(label=top["name"]),
            "label",
            {"pledged": "#a9a9a9", "allocated": "#1f4e79"},
            f"Pledged and allocated over the horizon, {len(top)} largest members ({fmt.unit})",
            fmt.suffix,
        ),
        "Grey: pledged; blue: allocated. A gap is money left unspent.",
        "members",
    )
    unspent = per["unspent"].sum()
    zero = [names[m] for m in per.index if per.loc[m, "pledged"] == 0]
    text = [
        f"Members pledge {fmt.money(per['pledged'].sum())} over the horizon; the plan "
        f"allocates {fmt.money(total)} and leaves {fmt.money(unspent)} unspent."
    ]
    if zero:
        text.append(f"Pledging nothing (and so funding nothing): {', '.join(zero)}.")
    return Section(
        "members", "Members: pledged, allocated, unspent", tuple(text), (chart,), (table,)
    )


def projects_section(result: Result, fmt: Fmt) -> Section:
    """Go/no-go decisions: which projects (or grant stages) are funded, and by whom."""
    frame = project_totals(result.projects).rename(columns={"needed_value": "needed"})
    frame["stage"] = frame["stage"].astype("object").where(frame["stage"].notna(), "")
    funded, items = int(frame["funded"].sum()), len(frame)
    backers = result.project_members.groupby(["project", "member"], sort=False)["amount"].sum()
    funders = {}
    for project, per in backers.groupby(level=0, sort=False):
        per = per.droplevel(0).sort_values(ascending=False)
        total = per.sum()
        funders[project] = ", ".join(
            f"{m} {v / total:.0%}" for m, v in per.head(5).items() if total > 0 and v > 0
        ) + (f" and {len(per) - 5} more" if len(per) > 5 else "")
    frame["decision"] = [
        ("funded" if s >= 1 - 1e-6 else f"funded at {s:.0%}") if f else "not funded"
        for f, s in zip(frame["funded"], frame["share"], strict=True)
    ]
    frame["funded by"] = [funders.get(p, "") for p in frame["project"]]
    frame["cost"] = fmt.scaled(frame["cost"])
    frame["amount"] = fmt.scaled(frame["amount"])
    columns = ["project", "call", "stage", "area", "decision", "cost", "amount", "value"]
    columns += ["needed", "funded by"]
    frame = frame[[c for c in columns if c not in ("call", "stage") or frame[c].ne("").any()]]
    frame = frame.rename(
        columns={
            "cost": f"cost ({fmt.unit})",
            "amount": f"funded ({fmt.unit})",
            "value": "value points",
            "needed": "extra value needed",
        }
    )
    number = lambda v: f"{v:,.3f}"  # noqa: E731
    text = (
        f"{funded} of {items} go/no-go items are funded. 'Extra value needed' is how "
        "much more value an unfunded item would need to be chosen (given for the closest "
        "candidates). 'Funded by' names the largest contributors to jointly funded items.",
        "Value points are each item's stated value weighted by its area's priority and "
        "discounted from the year its spending starts, as in the plan's objective, so they "
        "compare with the areas' value points.",
    )
    table = Table.of(
        "projects",
        "Projects and grants: go or no-go",
        frame.head(MAX_PROJECT_ROWS),
        {
            f"cost ({fmt.unit})": number,
            f"funded ({fmt.unit})": number,
            "value points": lambda v: f"{v:.3g}",
            "extra value needed": lambda v: (
                "cannot be selected" if v == float("inf") else f"{v:.3g}"
            ),
        },
        f"The first {MAX_PROJECT_ROWS} of {len(frame)}; all are in the Excel workbook."
        if len(frame) > MAX_PROJECT_ROWS
        else "",
    )
    return Section("projects", "Projects and grants: go or no-go", text, (), (table,))
