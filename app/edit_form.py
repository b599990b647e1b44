"""The edit form: single-field edits (an area's floor, ceiling and priority, a member's
pledge, any ``PATH=VALUE`` edit) and the scenario's tables, applied to the working copy.

Widget keys carry the session's revision (``S.rev``), so after an edit the boxes show the
new working copy; :func:`app.session.pending_edits` reads the same keys.
"""

from __future__ import annotations

import streamlit as st

from app import views
from app.session import S, attempt, edit, edit_tables
from app.tables import Tables, money_cell, pledge_column, scenario_tables
from engine import Edit, Scenario, parse_edit


def quick_edits(scenario: Scenario) -> None:
    """Single-field edits: an area's floor, ceiling and priority; a member's pledge;
    any ``PATH=VALUE`` edit as on the command line."""
    unit = scenario.fund.unit
    rev = S.rev
    left, middle, right = st.columns(3)
    with left:
        area_ids = [a.id for a in scenario.areas]
        area_id = st.selectbox("Area to edit", area_ids, key="area_pick")
        area = scenario.area(area_id)
        current = scenario_tables(scenario).areas.set_index("id").loc[area_id]
        hint = f"amount in {unit} (e.g. 12) or a share (10%); blank for none"
        floor = st.text_input(
            f"Floor for {area_id}", current["floor"], key=f"f{rev}{area_id}", help=hint
        )
        ceiling = st.text_input(
            f"Ceiling for {area_id}", current["ceiling"], key=f"c{rev}{area_id}", help=hint
        )
        priority = st.number_input(
            f"Priority for {area_id}",
            min_value=0.0,
            value=float(area.priority),
            step=0.1,
            key=f"p{rev}{area_id}",
        )
        if st.button("Apply area edit"):
            edits = [
                Edit(f"areas.{area_id}.{field}", money_cell(new, unit))
                for field, new, old in (
                    ("floor", floor, current["floor"]),
                    ("ceiling", ceiling, current["ceiling"]),
                )
                if new.strip() != old
            ]
            if priority != area.priority:
                edits.append(Edit(f"areas.{area_id}.priority", priority))
            attempt(edit, edits)
            st.rerun()
    with middle:
        member_ids = [m.id for m in scenario.members]
        member_id = st.selectbox("Member to edit", member_ids, key="member_pick")
        member = scenario.member(member_id)
        first = scenario.fund.years[0]
        now = scenario_tables(scenario).members.set_index("id").loc[member_id]
        pledge = st.text_input(
            f"Pledge for {member_id} per year ({unit})",
            f"{now[pledge_column(first)]:.12g}",
            key=f"m{rev}{member_id}",
            help=f"{member.name}: one amount held for every year of the horizon",
        )
        if st.button("Apply pledge edit"):
            attempt(edit, [Edit(f"members.{member_id}.pledge", money_cell(pledge, unit))])
            st.rerun()
    with right:
        text = st.text_input(
            "Edit (PATH=VALUE)",
            key=f"e{rev}",
            placeholder="members.GBR.opt_out=[space, cyber]",
            help="The same edits as optimise.py solve --set",
        )
        if st.button("Apply edit"):
            attempt(lambda: edit([parse_edit(text)]))
            st.rerun()


def table_editors(scenario: Scenario) -> None:
    """Members, areas and policies as editable tables, applied together."""
    tables = scenario_tables(scenario)
    unit = scenario.fund.unit
    st.caption(
        f"Money in {views.unit_label(scenario)}; floors and ceilings also take shares (10%); "
        "lists are comma-separated; caps are area=amount pairs. Add or delete rows freely."
    )
    tab_m, tab_a, tab_p = st.tabs(["Members", "Areas", "Policies"])
    rev = S.rev
    money_cols = {
        pledge_column(t): st.column_config.NumberColumn(f"pledge {t} ({unit})", format="%.3f")
        for t in scenario.fund.years
    }
    with tab_m:
        members = st.data_editor(
            tables.members,
            key=f"tm{rev}",
            num_rows="dynamic",
            hide_index=True,
            column_config=money_cols,
        )
    with tab_a:
        areas = st.data_editor(tables.areas, key=f"ta{rev}", num_rows="dynamic", hide_index=True)
    with tab_p:
        policies = st.data_editor(
            tables.policies, key=f"tp{rev}", num_rows="dynamic", hide_index=True
        )
    if st.button("Apply table edits"):
        attempt(edit_tables, Tables(members, areas, policies))
        st.rerun()
