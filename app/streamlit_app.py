"""The what-if page: load a scenario, edit it, re-solve warm, see what changed and why.

Started by ``python optimise.py app`` (see :mod:`cli.app`). The page is layout only:
everything it loads, edits, solves, compares and explains goes through the engine's API
(:mod:`engine`), uploads through :mod:`app.uploads`, table edits through :mod:`app.tables`
and versions through :mod:`app.versions`, so the page gives the figures the CLI gives.
Every action runs through :func:`_attempt`, so bad input shows a message and no
traceback ever reaches the page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import altair as alt
import streamlit as st

from app import views
from app.changes import scenario_changes
from app.exports import download_files, excel_bytes
from app.members import members_panel
from app.tables import Tables, money_cell, pledge_column, scenario_tables, tables_scenario
from app.uploads import MAX_UPLOAD_MB, read_upload, upload_suffixes
from app.versions import VersionStore, data_dir
from datasets import DEFAULT_SCENARIO, SCENARIOS_DIR
from engine import (
    READERS,
    UNIT_FACTORS,
    Edit,
    EngineError,
    Resolver,
    Result,
    Scenario,
    compare,
    dump_scenario_yaml,
    edit_scenario,
    load_with_edits,
    nearest_feasible,
    parse_edit,
    scenario_sha256,
    sensitivity,
)

log = logging.getLogger(__name__)
#: Shadow-price sentences shown; for the rest only their number is.
SHOWN_PRICES = 12
S = st.session_state


# ------------------------------------------------------------------------------ actions


def _flash(kind: str, text: str) -> None:
    S.setdefault("flash", []).append((kind, text))


def _attempt(action: Callable[..., Any], *args: Any) -> None:
    """Run an action; engine errors become a message, anything else a one-line report."""
    try:
        action(*args)
    except EngineError as error:
        _flash("error", str(error))
    except Exception as error:
        log.exception("app action %s failed", getattr(action, "__name__", action))
        _flash("error", f"internal error: {type(error).__name__}: {error}")


def _store() -> VersionStore:
    if "store" not in S:
        S.store = VersionStore(data_dir())
    return S.store


def _resolver() -> Resolver:
    if "resolver" not in S:
        S.resolver = Resolver()
    return S.resolver


def _solve(scenario: Scenario, reference: Any = None) -> Result:
    """Solve ``scenario`` warm, near ``reference`` (an allocation) when given."""
    start = time.perf_counter()
    result = _resolver().solve(scenario, reference=reference)
    S.solve_seconds = time.perf_counter() - start
    S.solve_mode = _resolver().last_mode
    return result


def _show(result: Result, base: Result) -> None:
    S.result = result
    S.result_sha = scenario_sha256(result.scenario)
    S.comparison = compare(base, result)
    S.sensitivity = None


def load(scenario: Scenario, source: str, version: str | None = None) -> None:
    """Make ``scenario`` the baseline and the working copy, saved as a root version
    (unless it is already in the store), and solve it."""
    if version is None:
        store = _store()
        found = store.find(scenario_sha256(scenario))
        version = (found or store.save(scenario, f"loaded {source}", None, source)).id
    result = _solve(scenario)
    S.base = S.working = scenario
    S.base_version = S.version = version
    S.source = source
    S.edits = []
    S.base_result = result
    _show(result, result)
    S.rev = S.get("rev", 0) + 1


def load_file(path: str) -> None:
    """Load a shipped scenario file."""
    load(load_with_edits(path), path.rsplit("/", 1)[-1])


def load_upload(name: str, data: bytes) -> None:
    """Load an uploaded scenario after the same checks as any scenario file."""
    load(read_upload(name, data, _store().root), f"upload {name}")


def load_version(version_id: str) -> None:
    """Load a saved version as the new baseline."""
    load(_store().load(version_id), f"version {version_id}", version_id)


def edit(edits: list[Edit]) -> None:
    """Apply edits to the working copy (validated; the baseline is left unchanged)."""
    if not edits:
        _flash("info", "nothing changed")
        return
    S.working = edit_scenario(S.working, edits)
    S.edits = [*S.edits, *map(str, edits)]
    S.rev += 1


def edit_tables(tables: Tables) -> None:
    """Replace the working copy's members, areas and policies with edited tables."""
    S.working = tables_scenario(S.working, tables)
    S.edits = [*S.edits, "edited tables"]
    S.rev += 1


def pending_edits(scenario: Scenario) -> list[Edit]:
    """What the edit boxes hold and their Apply button has not applied (the selected
    area's floor, ceiling and priority, the selected member's pledge, the PATH=VALUE box)."""
    rev, unit, edits = S.rev, scenario.fund.unit, []
    area_id = S.get("area_pick")
    if area_id in {a.id for a in scenario.areas}:
        current = scenario_tables(scenario).areas.set_index("id").loc[area_id]
        for field, key in (("floor", f"f{rev}{area_id}"), ("ceiling", f"c{rev}{area_id}")):
            typed = S.get(key)
            if typed is not None and typed.strip() != current[field]:
                edits.append(Edit(f"areas.{area_id}.{field}", money_cell(typed, unit)))
        priority = S.get(f"p{rev}{area_id}")
        if priority is not None and priority != scenario.area(area_id).priority:
            edits.append(Edit(f"areas.{area_id}.priority", priority))
    member_id = S.get("member_pick")
    if member_id in {m.id for m in scenario.members}:
        now = scenario_tables(scenario).members.set_index("id").loc[member_id]
        typed = S.get(f"m{rev}{member_id}")
        if (
            typed is not None
            and typed.strip() != f"{now[pledge_column(scenario.fund.years[0])]:.12g}"
        ):
            edits.append(Edit(f"members.{member_id}.pledge", money_cell(typed, unit)))
    text = S.get(f"e{rev}")
    if text and text.strip():
        edits.append(parse_edit(text))
    return edits


def solve_working() -> None:
    """Apply what the edit boxes hold (saying so), then re-solve the working copy warm,
    keeping the plan closest to the baseline's."""
    pending = pending_edits(S.working)
    if pending:
        edit(pending)
        _flash("info", "Applied before solving: " + "; ".join(map(str, pending)))
    base = S.base_result
    _show(_solve(S.working, base.allocation if base.ok else None), base)


def explain_prices() -> None:
    """The sensitivity report of the solved scenario: where each shadow price holds and
    the priority ranges that leave each area's funding unchanged (reusing the last solve
    when the resolver still holds it)."""
    S.sensitivity = sensitivity(S.result.scenario, _resolver(), S.result)


def find_nearest() -> None:
    """Bisect between the baseline and the infeasible edits for the nearest plan."""
    S.nearest = (S.result_sha, nearest_feasible(S.base, S.result.scenario))


def use_nearest() -> None:
    """Make the nearest feasible scenario the working copy (solve it next)."""
    nearest = S.nearest[1]
    S.working = nearest.scenario
    S.edits = [*S.edits, f"scaled back to {nearest.fraction:.1%} to have a plan"]
    S.rev += 1


def save_version(note: str) -> None:
    """Save the working copy as a new version whose parent is the version it came from."""
    note = note.strip() or "; ".join(S.edits) or "saved without changes"
    version = _store().save(S.working, note, S.version, S.source)
    S.version = version.id
    S.edits = []
    S.rev += 1
    _flash("success", f"saved {version.id}: {note}")


def compare_versions(first: str, second: str) -> None:
    """Field changes and result changes between two saved versions."""
    store = _store()
    a, b = store.load(first), store.load(second)
    resolver = Resolver()
    result_a = resolver.solve(a)
    result_b = resolver.solve(b, reference=result_a.allocation if result_a.ok else None)
    S.version_diff = (first, second, scenario_changes(a, b), compare(result_a, result_b), b)


# ----------------------------------------------------------------------------- layout


def _show_flash() -> None:
    for kind, text in S.pop("flash", []):
        getattr(st, kind)(views.plain(text))


def sidebar() -> None:
    """Where scenarios come from: shipped files, uploads, saved versions."""
    bar = st.sidebar
    bar.header("Scenario")
    shipped = sorted(p.name for p in SCENARIOS_DIR.iterdir() if p.suffix.lower() in READERS)
    pick = bar.selectbox("Shipped scenario", shipped, index=shipped.index(DEFAULT_SCENARIO.name))
    if bar.button("Load shipped scenario"):
        _attempt(load_file, str(SCENARIOS_DIR / pick))
        st.rerun()
    upload = bar.file_uploader(
        f"Upload a scenario ({', '.join(upload_suffixes())}; at most {MAX_UPLOAD_MB} MB)",
        type=upload_suffixes(),
        max_upload_size=MAX_UPLOAD_MB,
        key="upload",
    )
    if upload is not None and S.get("upload_seen") != upload.file_id:
        S.upload_seen = upload.file_id
        _attempt(load_upload, upload.name, upload.getvalue())
        st.rerun()

    bar.header("Versions")
    versions = _store().list()
    if not versions:
        bar.caption("No saved versions yet.")
        return
    labels = {v.id: f"{v.id} · {v.note[:40]}" for v in reversed(versions)}
    chosen = bar.selectbox("Saved version", list(labels), format_func=labels.get)
    if bar.button("Load version"):
        _attempt(load_version, chosen)
        st.rerun()
    bar.download_button(
        "Download version YAML",
        data=_store().yaml_text(chosen),
        file_name=f"{chosen}.yaml",
        mime="application/x-yaml",
    )
    bar.caption(f"Data folder: {_store().root}")


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
            _attempt(edit, edits)
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
            _attempt(edit, [Edit(f"members.{member_id}.pledge", money_cell(pledge, unit))])
            st.rerun()
    with right:
        text = st.text_input(
            "Edit (PATH=VALUE)",
            key=f"e{rev}",
            placeholder="members.GBR.opt_out=[space, cyber]",
            help="The same edits as optimise.py solve --set",
        )
        if st.button("Apply edit"):
            _attempt(lambda: edit([parse_edit(text)]))
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
        _attempt(edit_tables, Tables(members, areas, policies))
        st.rerun()


def status_line() -> None:
    """What is loaded, what is solved, and how fast."""
    result = S.result
    stale = S.result_sha != scenario_sha256(S.working)
    cols = st.columns(4)
    cols[0].metric(
        "Status",
        result.status.value,
        "edited since: press Solve" if stale else None,
        delta_color="off",
        delta_arrow="off",
    )
    cols[1].metric(
        "Value (points)",
        f"{result.objective:,.2f}" if result.ok else "—",
        f"{S.comparison.value_change:+,.2f}" if result.ok and S.base_result.ok else None,
    )
    cols[2].metric(
        f"Allocated ({views.unit_label(result.scenario)})",
        f"{result.summary['total_allocated'] / UNIT_FACTORS[result.scenario.fund.unit]:,.2f}"
        if result.ok
        else "—",
    )
    cols[3].metric(
        "Solved in",
        f"{S.solve_seconds:.2f} s",
        f"{S.solve_mode} start",
        delta_color="off",
        delta_arrow="off",
        help="warm: re-solved from the previous plan's basis; cold: model loaded anew",
    )


def what_changed() -> None:
    """The diff against the baseline, or the diagnosis when there is no plan."""
    result, comparison, sc = S.result, S.comparison, S.result.scenario
    if not result.ok:
        if result.diagnosis.empty:
            st.error(views.plain(f"No plan: {result.summary.get('message', '')}"))
            return
        st.error("No plan: the scenario's constraints conflict.")
        nearest_panel()
        st.subheader("Smallest changes that make the plan possible again")
        st.caption("Together these are the least total change; one line alone may not be enough.")
        st.table(views.diagnosis_table(result), hide_index=True)
        return
    st.subheader(f"Changes against the baseline ({S.base_version})")
    lines = views.change_sentences(comparison, sc)
    if not lines:
        st.write("No change in the allocation.")
        return
    st.markdown(views.plain(views.value_sentence(comparison)))
    st.markdown("\n".join(f"- {views.plain(line)}" for line in lines))
    why = views.binding_sentences(comparison)
    if why:
        st.markdown("**Why:** " + "; ".join(views.plain(line) for line in why))


def nearest_panel() -> None:
    """On request, the planner's edits scaled back just enough to have a plan."""
    if not S.base_result.ok:
        return
    found = S.get("nearest")
    if found is None or found[0] != S.result_sha:
        st.button("Find the nearest plan that works", on_click=_attempt, args=(find_nearest,))
        return
    nearest = found[1]
    if nearest is None:
        st.info("Your edits change more than numbers, so there is no in-between to try.")
        return
    st.markdown(
        f"The nearest plan that works keeps **{nearest.fraction:.1%}** of each change "
        "since the baseline:"
    )
    st.table(scenario_changes(S.base, nearest.scenario), hide_index=True)
    st.button("Use these values", on_click=_attempt, args=(use_nearest,))


def area_chart(result: Result, unit: str) -> alt.Chart:
    """Stacked funding by area and year: a colour per area (views.AREA_PALETTE, distinct up
    to 20 areas) and the legend below the bars in columns, so it is never cut off."""
    colours = views.area_colours(result.scenario)
    data = views.allocation_long(result).assign(year=lambda f: f["year"].astype(str))
    scale = alt.Scale(domain=list(colours), range=list(colours.values()))
    legend = alt.Legend(orient="bottom", columns=5, title=None, labelLimit=0)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("year:N", title=None),
            y=alt.Y("sum(amount):Q", title=unit),
            color=alt.Color("area:N", scale=scale, legend=legend, sort=list(colours)),
            tooltip=["area", "year", alt.Tooltip("amount:Q", format=",.2f")],
        )
    )


def allocation_panel(result: Result) -> None:
    """Funding by area and year (chart and table) and members' totals."""
    unit = views.unit_label(result.scenario)
    if not result.ok:
        st.write("No plan to show.")
        return
    st.altair_chart(area_chart(result, unit), use_container_width=True)
    st.dataframe(views.allocation_by_area(result).style.format("{:,.3f}"))
    st.caption(f"Members over the horizon ({unit})")
    st.dataframe(views.members_summary(result).style.format("{:,.3f}"))


def flows_panel(result: Result) -> None:
    """Member-to-area money, over the horizon or in one year."""
    if not result.ok:
        st.write("No plan to show.")
        return
    years = ["all years", *map(str, result.scenario.fund.years)]
    year = st.selectbox("Year", years, key="flow_year")
    st.caption(f"Member-to-area flows ({views.unit_label(result.scenario)})")
    flows = views.flows(result, None if year == "all years" else int(year))
    st.dataframe(flows.style.format("{:,.3f}"))


def diff_panel(result: Result) -> None:
    """Everything that changed against the baseline, in tables."""
    comparison, sc = S.comparison, result.scenario
    unit = views.unit_label(sc)
    st.caption(f"Area funding that changed ({unit})")
    st.dataframe(views.area_changes(comparison, sc), hide_index=True)
    st.caption(f"Member-to-area flows that changed ({unit})")
    st.dataframe(views.flow_changes(comparison, sc), hide_index=True)
    st.caption("Constraints that started or stopped binding")
    st.dataframe(comparison.binding, hide_index=True)
    projects = views.project_changes(comparison, sc)
    if not projects.empty:
        st.caption(f"Projects whose funding changed ({unit})")
        st.dataframe(projects, hide_index=True)
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
    as YAML."""
    for name, data in download_files(result).items():
        mime = "application/json" if name.endswith(".json") else "text/csv"
        st.download_button(f"Download {name}", data, name, mime, key=f"file_{name}")
    st.download_button(
        "Download results (Excel)",
        data=excel_bytes(result),  # bytes now: a callable would run outside the session
        file_name="results.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    st.download_button(
        "Download working scenario YAML",
        dump_scenario_yaml(S.working),
        "scenario.yaml",
        "application/x-yaml",
    )


def results_tabs() -> None:
    """One tab per view of the result; only the open tab is computed, and it stays open
    across page runs."""
    panels = {
        "Allocation": allocation_panel,
        "Flows": flows_panel,
        "Projects": projects_panel,
        "Members": lambda result: members_panel(result, S),
        "Diff": diff_panel,
        "Shadow prices": shadow_panel,
        "Versions": lambda _result: versions_panel(),
        "Downloads": downloads_panel,
    }
    tabs = st.tabs(list(panels), key="result_tab", on_change="rerun")
    for tab, draw in zip(tabs, panels.values(), strict=True):
        if tab.open:
            with tab:
                draw(S.result)


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
            _attempt(explain_prices)
            st.rerun()
        return
    st.caption("Where each shadow price holds")
    st.dataframe(report.constraints[["text"]], hide_index=True)
    st.caption("Priority ranges over which each area's funding would not change")
    st.markdown("\n".join(f"- {views.plain(t)}" for t in report.areas["text"]))


def versions_panel() -> None:
    """The version history, and the comparison of any two versions."""
    versions = _store().list()
    if not versions:
        st.write("No saved versions yet.")
        return
    st.dataframe(
        [
            {
                "id": v.id,
                "parent": v.parent or "",
                "saved (UTC)": v.created,
                "note": v.note,
                "source": v.source,
            }
            for v in reversed(versions)
        ],
        hide_index=True,
    )
    ids = [v.id for v in versions]
    left, right = st.columns(2)
    first = left.selectbox(
        "Compare version", ids, index=max(len(ids) - 2, 0), key=f"cmp_a{len(ids)}"
    )
    second = right.selectbox("with version", ids, index=len(ids) - 1, key=f"cmp_b{len(ids)}")
    if st.button("Compare versions"):
        _attempt(compare_versions, first, second)
    diff = S.get("version_diff")
    if diff is not None:
        a, b, changes, comparison, scenario = diff
        st.markdown(views.plain(f"{a} → {b}: {views.value_sentence(comparison)}"))
        st.dataframe(changes, hide_index=True)
        st.dataframe(views.area_changes(comparison, scenario), hide_index=True)


def main() -> None:
    """Lay out the page for the current session."""
    st.set_page_config(page_title="Coalition fund planner", layout="wide")
    if "working" not in S:
        _attempt(load_file, str(DEFAULT_SCENARIO))
    sidebar()
    _show_flash()
    if "working" not in S:
        st.error("No scenario is loaded: load a shipped one or upload a file.")
        return
    working = S.working
    st.title(working.fund.name)
    st.caption(
        f"Working copy of {S.version}"
        + (f" with {len(S.edits)} unsaved edit(s)" if S.edits else "")
        + f" · baseline {S.base_version} · {len(working.members)} members, "
        f"{len(working.areas)} areas, {working.fund.years[0]}-{working.fund.years[-1]}"
    )
    solve_col, note_col, save_col = st.columns([1, 3, 1], vertical_alignment="bottom")
    # A callback runs before the page is drawn, so one run shows the new plan.
    solve_col.button("Solve", type="primary", on_click=_attempt, args=(solve_working,))
    note = note_col.text_input(
        "Version note", key=f"note{S.rev}", placeholder="what this version is for"
    )
    if save_col.button("Save version"):
        _attempt(save_version, note)
        st.rerun()
    status_line()
    what_changed()
    # The edit form comes after the plan's status and changes: at 1280x800 a solve's
    # result is on the first screen, with the edits that led to it below.
    with st.expander("Edit (Solve applies what the boxes hold)", expanded=True):
        quick_edits(working)
    with st.expander("Edit tables"):
        table_editors(working)
    results_tabs()


main()
