"""The result tabs' panels: one function per view of a solved plan.

Each panel takes the shown result (and reads the session for the baseline and versions);
the page lists them in :data:`app.streamlit_app.TABS`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import charts, views
from app.changes import scenario_changes
from app.exports import download_files, excel_bytes
from app.session import (
    S,
    attempt,
    compare_versions,
    explain_prices,
    load_version,
    other_versions,
    session_versions,
)
from app.versions import Version
from engine import (
    UNIT_FACTORS,
    Result,
    Scenario,
    column_digits,
    describe_unspent,
    dump_scenario_yaml,
)

#: Shadow-price sentences shown; for the rest only their number is.
SHOWN_PRICES = 12
#: Columns of the app's change tables that hold money in the fund's unit.
MONEY_COLUMNS = ("before", "after", "change", "amount_before", "amount_after")


def money_columns(frame: pd.DataFrame, scenario: Scenario) -> dict[str, Any]:
    """Column settings showing each money column of ``frame`` (amounts in the fund's unit:
    before, after, change and their project twins) with one precision, the one money
    formatter's (:func:`engine.column_digits`), changes signed."""
    unit, settings = scenario.fund.unit, {}
    for column in MONEY_COLUMNS:
        if column in frame:
            digits = column_digits(frame[column] * UNIT_FACTORS[unit], unit, exact=False)
            sign = "+" if column == "change" else ""
            settings[column] = st.column_config.NumberColumn(format=f"%{sign}.{digits}f")
    return settings


def allocation_panel(result: Result) -> None:
    """Funding by area and year (chart and table) and members' totals."""
    unit = views.unit_label(result.scenario)
    if not result.ok:
        st.write("No plan to show.")
        return
    st.altair_chart(charts.area_chart(result, unit), width="stretch")
    st.dataframe(views.allocation_by_area(result).style.format("{:,.3f}"))
    st.caption(f"Members over the horizon ({unit})")
    st.dataframe(views.members_summary(result).style.format("{:,.3f}"))
    idle = describe_unspent(result, result.scenario)
    if idle:  # money no rule lets an area take: say why beside the table, as the CLI does
        st.info("Pledged money not allocated, and why:\n\n" + "\n".join(f"- {x}" for x in idle))


def flows_panel(result: Result) -> None:
    """Member-to-area money, over the horizon or in one year."""
    if not result.ok:
        st.write("No plan to show.")
        return
    years = ["all years", *map(str, result.scenario.fund.years)]
    year = st.selectbox("Year", years, key="flow_year")
    unit = views.unit_label(result.scenario)
    flows = views.flows(result, None if year == "all years" else int(year))
    st.altair_chart(charts.flows_chart(flows, result, unit), width="stretch")
    st.caption(f"Member-to-area flows ({unit})")
    st.dataframe(flows.style.format("{:,.3f}"))


def diff_panel(result: Result) -> None:
    """Everything that changed against the baseline: the change by area as a chart, then
    tables whose money columns each show one precision."""
    comparison, sc = S.comparison, result.scenario
    for caveat in comparison.caveats:
        st.warning(caveat)
    unit = views.unit_label(sc)
    chart = charts.change_chart(comparison, result, unit)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.caption(f"Area funding that changed ({unit})")
    changes = views.area_changes(comparison, sc)
    st.dataframe(changes, hide_index=True, column_config=money_columns(changes, sc))
    st.caption(f"Member-to-area flows that changed ({unit})")
    flows = views.flow_changes(comparison, sc)
    st.dataframe(flows, hide_index=True, column_config=money_columns(flows, sc))
    st.caption("Constraints that started or stopped binding")
    st.dataframe(comparison.binding, hide_index=True)
    projects = views.project_changes(comparison, sc)
    if not projects.empty:
        st.caption(f"Projects whose funding changed ({unit})")
        st.dataframe(projects, hide_index=True, column_config=money_columns(projects, sc))
    st.caption("Scenario fields changed since the baseline")
    st.dataframe(scenario_changes(S.base, S.working), hide_index=True)


def projects_panel(result: Result) -> None:
    """Go/no-go projects: which are funded, at what share and cost, and the value."""
    table = views.projects_table(result)
    if table.empty:
        st.write("This scenario has no go/no-go projects." if result.ok else "No plan to show.")
        return
    funded = int(table["funded"].sum())
    st.caption(
        f"{funded} of {len(table)} projects funded; cost and money over each profile "
        f"({views.unit_label(result.scenario)}), value in value points"
    )
    st.dataframe(table, hide_index=True)


def downloads_panel(result: Result) -> None:
    """The result files of ``solve --out`` and one Excel workbook; the working scenario
    as YAML. A click does not re-run the page (``on_click="ignore"``): a re-run cut short
    by the next click dropped files whose links the page still showed."""
    for name, data in download_files(result).items():
        mime = "application/json" if name.endswith(".json") else "text/csv"
        st.download_button(
            f"Download {name}", data, name, mime, key=f"file_{name}", on_click="ignore"
        )
    st.download_button(
        "Download results (Excel)",
        data=excel_bytes(result),  # bytes now: a callable would run outside the session
        file_name="results.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    st.download_button(
        "Download working scenario YAML",
        dump_scenario_yaml(S.working),
        "scenario.yaml",
        "application/x-yaml",
        on_click="ignore",
    )


def shadow_panel(result: Result) -> None:
    """Shadow prices in words at once; their valid ranges on request."""
    sentences = views.shadow_sentences(result)
    budgets = views.budget_sentence(result)
    if not sentences and budgets is None:
        st.write("No binding constraint has a shadow price.")
        return
    st.markdown("\n".join(f"- {views.plain(t)}" for t in sentences[:SHOWN_PRICES]))
    if len(sentences) > SHOWN_PRICES:
        st.caption(f"... and {len(sentences) - SHOWN_PRICES} more binding constraints")
    if budgets is not None:
        st.markdown(f"- {views.plain(budgets)}")
    report = S.sensitivity
    if report is None:
        if st.button("Show where these prices hold"):
            attempt(explain_prices)
            st.rerun()
        return
    st.caption("Where each shadow price holds")
    st.dataframe(report.constraints[["text"]], hide_index=True)
    st.caption("Priority ranges over which each area's funding would not change")
    st.markdown("\n".join(f"- {views.plain(t)}" for t in report.areas["text"]))


def versions_panel() -> None:
    """This session's versions and the comparison of any two of them; versions saved in
    other sessions on request."""
    versions = session_versions()
    if not versions:
        st.write("No version saved in this session yet.")
    else:
        st.caption("Versions of this session (saved here, or loaded and their ancestors)")
        st.dataframe(_version_rows(versions), hide_index=True)
    if len(versions) >= 2:
        _compare_form([v.id for v in versions])
    others = other_versions()
    if others:
        labels = {v.id: f"{v.id} · {v.note[:40]}" for v in reversed(others)}
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        chosen = left.selectbox(
            "Open a version saved in another session", list(labels), format_func=labels.get
        )
        if right.button("Load that version"):
            attempt(load_version, chosen)
            st.rerun()


def _version_rows(versions: list[Version]) -> list[dict[str, str]]:
    return [
        {
            "id": v.id,
            "parent": v.parent or "",
            "saved (UTC)": v.created,
            "note": v.note,
            "source": v.source,
        }
        for v in reversed(versions)
    ]


def _compare_form(ids: list[str]) -> None:
    """Two version pickers, and the field and result changes between them."""
    left, right = st.columns(2)
    first = left.selectbox("Compare version", ids, index=len(ids) - 2, key=f"cmp_a{len(ids)}")
    second = right.selectbox("with version", ids, index=len(ids) - 1, key=f"cmp_b{len(ids)}")
    if st.button("Compare versions"):
        attempt(compare_versions, first, second)
    diff = S.get("version_diff")
    if diff is not None:
        a, b, changes, comparison, scenario = diff
        st.markdown(views.plain(f"{a} → {b}: {views.value_sentence(comparison)}"))
        st.dataframe(changes, hide_index=True)
        changed = views.area_changes(comparison, scenario)
        st.dataframe(changed, hide_index=True, column_config=money_columns(changed, scenario))
