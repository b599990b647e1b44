"""The allocation report: where the fund's money goes, who pays for what, what binds.

:func:`allocation_report` solves a scenario (and a baseline, if given, with the plan
tie-broken to stay closest to the baseline so that only the edit's consequences show)
and returns a :class:`~reports.document.Report` for ``reports.html``, ``reports.pdf``
and ``reports.excel``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine import Resolver, Result, Scenario, SolverOptions, compare
from reports import charts
from reports.amounts import Fmt
from reports.diff import diff_section
from reports.document import ROOT, Report, Section, engine_version, generated_at, sha256_files
from reports.limits import binding_table, constraints_section, diagnosis_section
from reports.members import members_section
from reports.plan_sections import areas_section, flows_section, pledges_section, projects_section
from reports.sources import scenario_note, scenario_source


@dataclass(frozen=True)
class Inputs:
    """Where a report's scenarios came from, for its sources and reproducibility section."""

    scenario: Scenario
    path: Path
    edits: tuple[str, ...] = ()
    base: Scenario | None = None
    base_path: Path | None = None
    command: str = ""


def _file_notes(path: Path) -> list[str]:
    """The comment block at the top of a YAML scenario: its authors' stated assumptions."""
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    # Code spans in the comment are Markdown; the report prints plain text.
    text = " ".join(lines).replace("`", "").strip()
    return [f"From the scenario file: {text}"] if text else []


def _facts(result: Result, fmt: Fmt) -> tuple[tuple[str, str], ...]:
    sc = result.scenario
    years = f"{sc.fund.years[0]}-{sc.fund.years[-1]}"
    pledged = result.members["pledged"].sum() if not result.members.empty else float("nan")
    facts = [
        ("Horizon", years),
        ("Members / areas", f"{len(sc.members)} / {len(sc.areas)}"),
        ("Status", result.status.value),
    ]
    if result.ok:
        facts += [
            ("Pledged", fmt.money(pledged)),
            ("Allocated", fmt.money(result.summary["total_allocated"])),
            ("Unspent", fmt.money(result.members["unspent"].sum())),
            ("Value", f"{result.objective:,.1f} points"),
        ]
    return tuple(facts)


def _assumptions(inputs: Inputs) -> tuple[str, ...]:
    sc = inputs.scenario
    notes = [
        *scenario_note(inputs.path.name),
        "The plan maximises the priority-weighted value of funding with diminishing returns "
        f"(each area's value curve), discounted at {sc.objective.discount_rate * 100:g}% a year.",
        "Unspent money carries over to the next year."
        if sc.fund.carry_over
        else "Unspent money does not carry over to the next year.",
        "Each member funds only the areas it joined; one member's opt-out never blocks others.",
        f"Amounts are in {sc.fund.currency}, shown in {sc.fund.unit}.",
    ]
    if inputs.edits:
        notes.append("Edits applied to the scenario file: " + "; ".join(inputs.edits) + ".")
    own = _file_notes(inputs.path)
    notes += own
    if inputs.base_path is not None:  # a baseline with the same header says nothing new
        notes += [f"Baseline: {n}" for n in _file_notes(inputs.base_path) if n not in own]
    return tuple(notes)


def _plan_sections(result: Result, fmt: Fmt) -> tuple[list[Section], dict[str, pd.DataFrame]]:
    """The sections of an optimal plan, in the report's order, and the workbook's extra
    sheets (name -> frame, amounts in the fund's unit)."""
    palette = charts.colours([a.id for a in result.scenario.areas])
    sections = [
        areas_section(result, fmt, palette),
        flows_section(result, fmt, palette),
        pledges_section(result, fmt),
        members_section(result),  # reports.members: what each member gets, alone and in
    ]
    data: dict[str, pd.DataFrame] = {}
    if not result.projects.empty:
        sections.append(projects_section(result, fmt))
        data["project-members"] = result.project_members.assign(
            amount=fmt.scaled(result.project_members["amount"])
        ).rename(columns={"amount": f"amount ({fmt.unit})"})
    binding, priority_ranges = binding_table(result, fmt)
    sections.append(constraints_section(binding, priority_ranges, fmt))
    data["binding-constraints-all"] = binding
    data["allocation"] = result.allocation.assign(
        amount=fmt.scaled(result.allocation["amount"])
    ).rename(columns={"amount": f"amount ({fmt.unit})"})
    return sections, data


def allocation_report(inputs: Inputs, resolver: Resolver | None = None) -> tuple[Report, Result]:
    """Solve the scenario (and the baseline, if any) and build the allocation report.

    Returns the report and the scenario's result (whose status decides the exit code).
    Raises EngineError subclasses for solver problems; an infeasible scenario gives a
    report that explains why, not an error.
    """
    # The report shows how far unselected projects are from the line: compute margins.
    resolver = resolver or Resolver(SolverOptions(project_margins=True))
    sc = inputs.scenario
    base_result = resolver.solve(inputs.base) if inputs.base is not None else None
    reference = base_result.allocation if base_result is not None and base_result.ok else None
    result = resolver.solve(sc, reference=reference)
    fmt = Fmt(sc)
    if result.ok:
        sections, data = _plan_sections(result, fmt)
    else:
        sections, data = [diagnosis_section(result, fmt)], {}
    # Optional sections follow the plan's, each from its own module and built only when
    # its input was given (the diff: a baseline). One more section is one more `if` here.
    if base_result is not None and inputs.base_path is not None:
        base_name = inputs.base_path.name
        sections.append(
            diff_section(compare(base_result, result), base_result, result, fmt, base_name)
        )
    paths = [inputs.path] + ([inputs.base_path] if inputs.base_path else [])
    sources = scenario_source(_stem(inputs.path), _shown_path(inputs.path))
    if inputs.base_path is not None:
        sources += tuple(
            s
            for s in scenario_source(_stem(inputs.base_path), _shown_path(inputs.base_path))
            if s not in sources
        )
    provenance = (
        ("engine version", engine_version()),
        ("generated at (UTC)", generated_at()),
        ("inputs sha256", sha256_files(paths, {"edits": list(inputs.edits)})),
        ("scenario sha256 (validated)", str(result.summary.get("scenario_sha256", ""))),
        ("solver", f"{result.summary.get('solver', '')}, status {result.status.value}"),
        ("command", inputs.command),
    )
    years = f"{sc.fund.years[0]}-{sc.fund.years[-1]}"
    edits = "; ".join(inputs.edits)
    report = Report(
        title=f"{sc.fund.name}: allocation plan {years}" + (f", with {edits}" if edits else ""),
        subtitle=f"Scenario {inputs.path.name}"
        + (f" with {edits}" if edits else "")
        + (f", compared with {inputs.base_path.name}" if inputs.base_path else ""),
        facts=_facts(result, fmt),
        sections=tuple(sections),
        assumptions=_assumptions(inputs),
        sources=sources,
        provenance=provenance,
        data=data,
    )
    return report, result


def _shown_path(path: Path) -> str:
    """A scenario's path as a report prints it: relative to the project for shipped files,
    the file's name otherwise (a report never prints a local absolute path)."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else path.name


def _stem(path: Path) -> str:
    return re.sub(r"\.(ya?ml|json|xlsx)$", "", path.name, flags=re.IGNORECASE)
