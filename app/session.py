"""The app's session: what is loaded, edited, solved and saved, and the actions on it.

Every action works on ``st.session_state`` (``S``) through the engine's API, so the page
gives the figures the CLI gives; the page (:mod:`app.streamlit_app`) and its panels only
draw. Every action runs through :func:`attempt`, so bad input shows a message and no
traceback ever reaches the page.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.changes import scenario_changes
from app.tables import Tables, money_cell, pledge_column, scenario_tables, tables_scenario
from app.uploads import read_upload
from app.versions import Version, VersionStore, data_dir
from engine import (
    Edit,
    EngineError,
    Resolver,
    Result,
    Scenario,
    compare,
    edit_scenario,
    load_with_edits,
    nearest_feasible,
    parse_edit,
    scenario_sha256,
    sensitivity,
)

log = logging.getLogger(__name__)
S = st.session_state
#: The engine's edit messages name the command line's option (``--set``); on the page
#: the same edit was typed in a box, so the option's name goes.
_CLI_PREFIX = re.compile(r"^--set(?::\s*|\s+(?=\S))", re.MULTILINE)


def flash(kind: str, text: str) -> None:
    """Queue a message (``kind``: an ``st`` call such as ``"error"``) for the next page run."""
    S.setdefault("flash", []).append((kind, text))


def attempt(action: Callable[..., Any], *args: Any) -> None:
    """Run an action; engine errors become a message, anything else a one-line report."""
    try:
        action(*args)
    except EngineError as error:
        flash("error", page_wording(str(error)))
    except Exception as error:
        log.exception("app action %s failed", getattr(action, "__name__", action))
        flash("error", f"internal error: {type(error).__name__}: {error}")


def page_wording(message: str) -> str:
    """An engine message as the page says it: ``--set: areas[cyber].floor: ...`` becomes
    ``areas[cyber].floor: ...`` and ``--set areas.x=1: ...`` becomes ``edit areas.x=1: ...``."""
    return _CLI_PREFIX.sub(lambda m: "" if ":" in m.group(0) else "edit ", message)


def store() -> VersionStore:
    """The app's version store (one per session, in the data folder)."""
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
    """Make ``scenario`` the baseline and the working copy and solve it. Loading is not
    saving: a file or upload is loaded unsaved (``version`` None), a saved version joins
    the session's lineage with its ancestors."""
    result = _solve(scenario)
    S.base = S.working = scenario
    S.version = version
    S.base_label = version or source
    S.source = source
    S.edits = []
    S.base_result = result
    _show(result, result)
    if version is not None:
        _add_to_lineage(version)
    S.rev = S.get("rev", 0) + 1


def _add_to_lineage(version_id: str) -> None:
    """Add a version and its ancestors to the session's lineage."""
    lineage, versions, current = S.setdefault("lineage", []), store(), version_id
    while current is not None and current not in lineage:
        lineage.append(current)
        current = versions.get(current).parent


def session_versions() -> list[Version]:
    """The versions of this working session's lineage (saved here, or loaded here and
    their ancestors), oldest first; other sessions' versions are not among them."""
    lineage = set(S.get("lineage", []))
    return [v for v in store().list() if v.id in lineage]


def other_versions() -> list[Version]:
    """Versions in the data folder that are not in this session's lineage, oldest first."""
    lineage = set(S.get("lineage", []))
    return [v for v in store().list() if v.id not in lineage]


def load_file(path: str) -> None:
    """Load a shipped scenario file."""
    load(load_with_edits(path), path.rsplit("/", 1)[-1])


def load_upload(name: str, data: bytes) -> None:
    """Load an uploaded scenario after the same checks as any scenario file."""
    load(read_upload(name, data, store().root), f"upload {name}")


def load_version(version_id: str) -> None:
    """Load a saved version as the new baseline."""
    load(store().load(version_id), f"version {version_id}", version_id)


def edit(edits: list[Edit]) -> None:
    """Apply edits to the working copy (validated; the baseline is left unchanged)."""
    if not edits:
        flash("info", "nothing changed")
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
        flash("info", "Applied before solving: " + "; ".join(map(str, pending)))
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
    """Save the working copy as a new version of the session's lineage, whose parent is
    the version it came from (none when it came from a file)."""
    note = note.strip() or "; ".join(S.edits) or "saved without changes"
    version = store().save(S.working, note, S.version, S.source)
    S.version = version.id
    _add_to_lineage(version.id)
    S.edits = []
    S.rev += 1
    flash("success", f"saved {version.id}: {note}")


def compare_versions(first: str, second: str) -> None:
    """Field changes and result changes between two saved versions."""
    versions = store()
    a, b = versions.load(first), versions.load(second)
    resolver = Resolver()
    result_a = resolver.solve(a)
    result_b = resolver.solve(b, reference=result_a.allocation if result_a.ok else None)
    S.version_diff = (first, second, scenario_changes(a, b), compare(result_a, result_b), b)
