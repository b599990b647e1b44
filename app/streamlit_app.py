"""The what-if page: load a scenario, edit it, re-solve warm, see what changed and why.

Started by ``python optimise.py app`` (see :mod:`cli.app`). The page is layout only: the
session's actions (load, edit, solve, save) are in :mod:`app.session`, the edit form in
:mod:`app.edit_form`, the result tabs' panels in :mod:`app.panels` (listed in
:data:`TABS`), uploads in :mod:`app.uploads`, versions in :mod:`app.versions`; all of them
go through the engine's API (:mod:`engine`), so the page gives the figures the CLI gives.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import panels, views
from app.changes import scenario_changes
from app.edit_form import quick_edits, table_editors
from app.members import members_panel
from app.robust import robust_panel
from app.session import (
    S,
    attempt,
    find_nearest,
    load_file,
    load_upload,
    load_version,
    save_version,
    session_versions,
    solve_working,
    store,
    use_nearest,
)
from app.uploads import MAX_UPLOAD_MB, upload_suffixes
from datasets import DEFAULT_SCENARIO, SCENARIOS_DIR
from engine import READERS, UNIT_FACTORS, Result, count_noun, scenario_sha256, year_span

#: The result tabs, in order: a tab's name and the panel that draws it from the shown
#: result. A new view of the result is one more panel module and one more entry here.
TABS: dict[str, Callable[[Result], None]] = {
    "Allocation": panels.allocation_panel,
    "Flows": panels.flows_panel,
    "Projects": panels.projects_panel,
    "Members": lambda result: members_panel(result, S),
    "Robust": lambda result: robust_panel(result, S),
    "Diff": panels.diff_panel,
    "Shadow prices": panels.shadow_panel,
    "Versions": lambda _result: panels.versions_panel(),
    "Downloads": panels.downloads_panel,
}


def _showflash() -> None:
    for kind, text in S.pop("flash", []):
        getattr(st, kind)(views.plain(text))


def sidebar() -> None:
    """Where scenarios come from: shipped files, uploads, saved versions."""
    bar = st.sidebar
    bar.header("Scenario")
    shipped = sorted(p.name for p in SCENARIOS_DIR.iterdir() if p.suffix.lower() in READERS)
    pick = bar.selectbox("Shipped scenario", shipped, index=shipped.index(DEFAULT_SCENARIO.name))
    if bar.button("Load shipped scenario"):
        attempt(load_file, str(SCENARIOS_DIR / pick))
        st.rerun()
    upload = bar.file_uploader(
        f"Upload a scenario ({', '.join(upload_suffixes())}; at most {MAX_UPLOAD_MB} MB)",
        type=upload_suffixes(),
        max_upload_size=MAX_UPLOAD_MB,
        key="upload",
    )
    if upload is not None and S.get("upload_seen") != upload.file_id:
        S.upload_seen = upload.file_id
        attempt(load_upload, upload.name, upload.getvalue())
        st.rerun()

    bar.header("Versions")
    versions = session_versions()
    if not versions:
        bar.caption(
            "No version saved in this session yet (loading a scenario does not save it; "
            "versions of other sessions are in the Versions tab)."
        )
        return
    labels = {v.id: f"{v.id} · {v.note[:40]}" for v in reversed(versions)}
    chosen = bar.selectbox("Saved version", list(labels), format_func=labels.get)
    if bar.button("Load version"):
        attempt(load_version, chosen)
        st.rerun()
    bar.download_button(
        "Download version YAML",
        data=store().yaml_text(chosen),
        file_name=f"{chosen}.yaml",
        mime="application/x-yaml",
        on_click="ignore",
    )
    bar.caption(f"Data folder: {store().root}")


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
    st.subheader(f"Changes against the baseline ({S.base_label})")
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
        st.button("Find the nearest plan that works", on_click=attempt, args=(find_nearest,))
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
    st.button("Use these values", on_click=attempt, args=(use_nearest,))


def results_tabs() -> None:
    """One tab per entry of :data:`TABS`; only the open tab is computed, and it stays open
    across page runs."""
    tabs = st.tabs(list(TABS), key="result_tab", on_change="rerun")
    for tab, draw in zip(tabs, TABS.values(), strict=True):
        if tab.open:
            with tab:
                draw(S.result)


def main() -> None:
    """Lay out the page for the current session."""
    st.set_page_config(page_title="Coalition fund planner", layout="wide")
    if "working" not in S:
        attempt(load_file, str(DEFAULT_SCENARIO))
    sidebar()
    _showflash()
    if "working" not in S:
        st.error("No scenario is loaded: load a shipped one or upload a file.")
        return
    working = S.working
    st.title(working.fund.name)
    st.caption(
        f"Working copy of {S.version or S.source}"
        + (f" with {len(S.edits)} unsaved edit(s)" if S.edits else "")
        + f" · baseline {S.base_label} · {count_noun(len(working.members), 'member')}, "
        f"{count_noun(len(working.areas), 'area')}, {year_span(working.fund.years)}"
    )
    solve_col, note_col, save_col = st.columns([1, 3, 1], vertical_alignment="bottom")
    # A callback runs before the page is drawn, so one run shows the new plan.
    solve_col.button("Solve", type="primary", on_click=attempt, args=(solve_working,))
    note = note_col.text_input(
        "Version note", key=f"note{S.rev}", placeholder="what this version is for"
    )
    if save_col.button("Save version"):
        attempt(save_version, note)
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
