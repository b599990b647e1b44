"""Results shaped for people: tables in the fund's unit and sentences, no Streamlit here.

Every function takes engine objects (Result, Comparison, Sensitivity) and returns
pandas frames or text; the page only lays them out, so this logic is tested without a
browser.
"""

from __future__ import annotations

import re

import pandas as pd

from engine import (
    UNIT_FACTORS,
    Comparison,
    Result,
    Scenario,
    money,
    project_totals,
    shadow_sentence,
)

#: Money changes below this share of the fund's unit are solver round-off, not news.
SHOWN_CHANGE = 1e-4
#: Shadow prices below this many value points per fund unit are solver round-off.
SHOWN_PRICE = 1e-8


def unit_label(scenario: Scenario) -> str:
    """E.g. ``USD bn``: the unit tables are shown in."""
    return f"{scenario.fund.currency} {scenario.fund.unit}"


def _in_units(frame: pd.DataFrame, columns: list[str], scenario: Scenario) -> pd.DataFrame:
    out = frame.copy()
    factor = UNIT_FACTORS[scenario.fund.unit]
    for column in columns:
        out[column] = out[column].astype(float) / factor
    return out


def allocation_by_area(result: Result) -> pd.DataFrame:
    """Area x year funding in the fund's unit, with a ``total`` column and row."""
    sc = result.scenario
    if result.areas.empty:
        return pd.DataFrame()
    pivot = _in_units(result.areas, ["amount"], sc).pivot(
        index="area", columns="year", values="amount"
    )
    pivot = pivot.reindex([a.id for a in sc.areas])
    pivot.columns = [str(c) for c in pivot.columns]
    pivot["total"] = pivot.sum(axis=1)
    pivot.loc["total"] = pivot.sum(axis=0)
    return pivot


#: Twenty distinct colours (Tableau 20, dark shades first): every shipped scenario's areas
#: (up to 14) get a colour of their own, never one another area has.
AREA_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip


def area_colours(scenario: Scenario) -> dict[str, str]:
    """A colour for each area, in scenario order, distinct up to 20 areas."""
    return {a.id: AREA_PALETTE[i % len(AREA_PALETTE)] for i, a in enumerate(scenario.areas)}


def allocation_long(result: Result) -> pd.DataFrame:
    """Area funding per year (columns area, year, amount in the fund's unit) for charts."""
    if result.areas.empty:
        return pd.DataFrame(columns=["area", "year", "amount"])
    frame = _in_units(result.areas[["area", "year", "amount"]], ["amount"], result.scenario)
    frame["year"] = frame["year"].astype(str)
    return frame


def flows(result: Result, year: int | None = None) -> pd.DataFrame:
    """Member x area money in the fund's unit, over the horizon or in one ``year``;
    members and areas that move no money are left out."""
    alloc = result.allocation
    if alloc.empty:
        return pd.DataFrame()
    if year is not None:
        alloc = alloc[alloc["year"] == year]
    pivot = _in_units(alloc, ["amount"], result.scenario).pivot_table(
        index="member", columns="area", values="amount", aggfunc="sum", fill_value=0.0
    )
    areas = [a.id for a in result.scenario.areas if a.id in pivot.columns]
    members = [m.id for m in result.scenario.members if m.id in pivot.index]
    return pivot.reindex(index=members, columns=areas)


def members_summary(result: Result) -> pd.DataFrame:
    """Per member over the horizon: pledged, allocated, unspent (fund's unit)."""
    if result.members.empty:
        return pd.DataFrame()
    totals = result.members.groupby("member", sort=False)[["pledged", "allocated", "unspent"]].sum()
    return _in_units(totals, ["pledged", "allocated", "unspent"], result.scenario)


def projects_table(result: Result) -> pd.DataFrame:
    """One line per go/no-go project (or application stage): area, funded, share funded,
    cost and money over its profile (fund's unit), value earned, and (when margins
    were computed) the extra value the best unselected ones would need; empty without
    projects."""
    projects = result.projects
    if projects is None or projects.empty:
        return pd.DataFrame()
    table = _in_units(project_totals(projects), ["cost", "amount"], result.scenario)
    for column in ("call", "stage", "needed_value"):  # outside calls, or no margins computed
        blank = table[column].eq("") if column == "call" else table[column].isna()
        if blank.all():
            table = table.drop(columns=column)
    return table.sort_values(["funded", "value"], ascending=[False, False]).reset_index(drop=True)


def project_changes(comparison: Comparison, scenario: Scenario) -> pd.DataFrame:
    """Projects newly funded, dropped or with a changed share; amounts in the fund's unit."""
    frame = comparison.projects
    if frame is None or frame.empty:
        return pd.DataFrame()
    return _in_units(frame, ["amount_before", "amount_after"], scenario)


def _significant(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    limit = SHOWN_CHANGE * UNIT_FACTORS[scenario.fund.unit]
    return frame[frame["change"].abs() > limit]


def area_changes(comparison: Comparison, scenario: Scenario) -> pd.DataFrame:
    """Area funding that changed: area, year, before, after, change (fund's unit)."""
    frame = _significant(comparison.areas, scenario)
    return _in_units(frame, ["before", "after", "change"], scenario).reset_index(drop=True)


def flow_changes(comparison: Comparison, scenario: Scenario) -> pd.DataFrame:
    """Member-to-area flows that changed: member, area, year, before, after, change."""
    frame = _significant(comparison.allocation, scenario)
    return _in_units(frame, ["before", "after", "change"], scenario).reset_index(drop=True)


def change_sentences(comparison: Comparison, scenario: Scenario, top: int = 8) -> list[str]:
    """The largest area changes in words, e.g. ``cyber in 2026: $10.0bn → $12.0bn (+$2.00bn)``."""
    frame = _significant(comparison.areas, scenario)
    lines = []
    for row in frame.head(top).itertuples():
        sign = "+" if row.change > 0 else "-"
        lines.append(
            f"{row.area} in {row.year}: {money(row.before, scenario)} → "
            f"{money(row.after, scenario)} ({sign}{money(abs(row.change), scenario)})"
        )
    if len(frame) > top:
        lines.append(f"... and {len(frame) - top} more changes in the Diff tab")
    return lines


_ROW_NAME = re.compile(r"^([a-z_]+)\[([^\]]*)\]$")


def _readable(label: str) -> str:
    """A constraint's label in words: a row name left as its label
    (``member_projects[ITA,capability,2027]``) becomes ``member projects (ITA, capability,
    2027)``, never the model's internal name."""
    match = _ROW_NAME.match(label)
    if match is None:
        return label
    keys = ", ".join(k.strip() for k in match.group(2).split(","))
    return f"{match.group(1).replace('_', ' ')} ({keys})"


def binding_sentences(comparison: Comparison, top: int = 6) -> list[str]:
    """Why the plan moved: the constraints that started or stopped binding, in words."""
    lines = []
    for status in ("became binding", "stopped binding"):
        labels = comparison.binding.loc[comparison.binding["status"] == status, "label"]
        labels = list(dict.fromkeys(_readable(label) for label in labels))
        if labels:
            more = f" and {len(labels) - top} more" if len(labels) > top else ""
            lines.append(f"{status}: {', '.join(labels[:top])}{more}")
    return lines


def value_sentence(comparison: Comparison) -> str:
    """The change of the plan's value in words (or why there is none)."""
    if comparison.status_after != "optimal" or comparison.status_before != "optimal":
        return f"status {comparison.status_before} → {comparison.status_after}"
    change = comparison.value_change
    direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
    return (
        f"value {comparison.value_before:,.2f} → {comparison.value_after:,.2f} points "
        f"({direction} {abs(change):,.2f})"
    )


def _priced(result: Result) -> pd.DataFrame:
    binding = result.binding()
    if binding.empty:
        return binding
    tiny = SHOWN_PRICE / UNIT_FACTORS[result.scenario.fund.unit]
    return binding[binding["shadow_price"].abs() > tiny]


def shadow_sentences(result: Result) -> list[str]:
    """The binding floors, ceilings, absorption limits and policies (members' budgets
    aside), largest shadow price first, in words: what one more unit of the fund's money
    on each would add to or cost the plan's value."""
    priced = _priced(result)
    if priced.empty:
        return []
    priced = priced[priced["kind"] != "budget"]
    return [
        shadow_sentence(row.label, row.shadow_price, result.scenario) for row in priced.itertuples()
    ]


def budget_sentence(result: Result) -> str | None:
    """What one more unit from a member whose whole pledge is used would add, as a range
    over those members and years (None if no budget binds)."""
    priced = _priced(result)
    if priced.empty:
        return None
    budgets = priced[priced["kind"] == "budget"]
    if budgets.empty:
        return None
    sc = result.scenario
    factor = UNIT_FACTORS[sc.fund.unit]
    low, high = (budgets["shadow_price"].agg(f) * factor for f in ("min", "max"))
    value = f"{low:.3g}" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g} to {high:.3g}"
    members = budgets["member"].nunique()
    return (
        f"{members} members spend their whole pledge in some year: each extra "
        f"{money(factor, sc)} from one of them adds {value} value points"
    )


def diagnosis_table(result: Result) -> pd.DataFrame:
    """The smallest changes that make an infeasible scenario feasible: change, amount."""
    diagnosis = result.diagnosis
    if diagnosis.empty:
        return pd.DataFrame(columns=["change", "amount"])
    return pd.DataFrame(
        {
            "change": diagnosis["message"].to_list(),
            "amount": [
                money(v, result.scenario) if pd.notna(v) else "" for v in diagnosis["relax_by"]
            ],
        }
    )


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|<>~$])")


def plain(text: str) -> str:
    """Text shown literally by Streamlit's markdown (no italics from ``capacity_building``,
    no LaTeX from ``$``), keeping line breaks."""
    return _MARKDOWN.sub(r"\\\1", text).replace("\n", "  \n")
