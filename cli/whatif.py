"""``optimise.py whatif`` and ``optimise.py explain``: diffs, sensitivity and diagnosis."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from cli.common import (
    EXIT_NO_PLAN,
    EXIT_OK,
    ScenarioArg,
    SetOpt,
    console,
    err_console,
    friendly_errors,
)
from cli.show import print_result
from cli.show_projects import print_project_changes
from datasets import scenario_path
from engine import (
    Comparison,
    Resolver,
    Scenario,
    advise_edits,
    check_folder,
    column_digits,
    compare,
    edit_scenario,
    load_with_edits,
    money_as,
    sensitivity,
    write_folder,
)

WHATIF_FILES = (
    "allocation_changes.csv",
    "area_changes.csv",
    "member_changes.csv",
    "binding_changes.csv",
    "shadow_price_changes.csv",
    "project_changes.csv",
    "summary.json",
)


def print_comparison(cmp: Comparison, scenario: Scenario) -> None:
    """The diff for people: value, areas, flows, binding and shadow prices."""
    console.print(
        f"value {cmp.value_before:,.2f} -> {cmp.value_after:,.2f} "
        f"({cmp.value_change:+,.3f} points); status {cmp.status_before} -> {cmp.status_after}",
        highlight=False,
    )
    unit = scenario.fund.unit
    for title, frame, keys in (
        ("Area funding changes", cmp.areas, ["area", "year"]),
        ("Largest flow changes", cmp.allocation.head(15), ["member", "area", "year"]),
    ):
        if frame.empty:
            console.print(f"{title}: none")
            continue
        table = Table(*keys, "before", "after", "change", title=title)
        # One precision for the whole table; a change shows its sign (+$2.00bn).
        values = frame[["before", "after", "change"]].to_numpy().ravel()
        digits = column_digits(values, unit, exact=False)
        for row in frame.itertuples(index=False):
            r = row._asdict()
            sign = "+" if money_as(r["change"], scenario, digits)[0] != "-" else ""
            table.add_row(
                *[str(r[k]) for k in keys],
                money_as(r["before"], scenario, digits),
                money_as(r["after"], scenario, digits),
                sign + money_as(r["change"], scenario, digits),
            )
        console.print(table)
    for row in cmp.binding.itertuples(index=False):
        console.print(f"{row.status}: {escape(row.label)}", highlight=False)
    print_project_changes(cmp.projects, scenario)


@friendly_errors
def whatif_cmd(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    against: Annotated[
        str | None, typer.Option(help="Baseline scenario (default: SCENARIO without edits).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the diff tables here.")] = None,
) -> None:
    """Apply edits, re-solve near the baseline and print exactly what changed."""
    if out is not None:
        check_folder(out, WHATIF_FILES)  # refuse a bad --out before solving
    base_sc = load_with_edits(scenario_path(against or scenario))
    new_sc = edit_scenario(load_with_edits(scenario_path(scenario)), set_ or [])
    resolver = Resolver()
    base = resolver.solve(base_sc)
    new = resolver.solve(new_sc, reference=base.allocation if base.ok else None)
    cmp = compare(base, new)
    for caveat in cmp.caveats:
        err_console.print(f"warning: {caveat}", highlight=False, soft_wrap=True, markup=False)
    print_comparison(cmp, new_sc)
    if not new.ok:
        print_result(new)
    if out is not None:
        import json

        frames = {
            "allocation_changes.csv": cmp.allocation,
            "area_changes.csv": cmp.areas,
            "member_changes.csv": cmp.members,
            "binding_changes.csv": cmp.binding,
            "shadow_price_changes.csv": cmp.shadow_prices,
        }
        if not cmp.projects.empty:
            frames["project_changes.csv"] = cmp.projects
        writers = {n: (lambda p, f=f: f.to_csv(p, index=False)) for n, f in frames.items()}
        summary = {
            "value_before": cmp.value_before,
            "value_after": cmp.value_after,
            "value_change": cmp.value_change,
            "status_before": cmp.status_before,
            "status_after": cmp.status_after,
            "edits": list(set_ or []),
        }
        writers["summary.json"] = lambda p: p.write_text(json.dumps(summary, indent=2) + "\n")
        write_folder(out, writers, WHATIF_FILES)
        console.print(f"wrote {out}/", highlight=False)
    sys.exit(EXIT_OK if new.ok else EXIT_NO_PLAN)


def print_edit_advice(scenario: str, edits: list[str]) -> None:
    """First advice after impossible edits: the edited rules at the nearest round figures
    that have a plan (the diagnosis above lists the other rules that could change)."""
    if not edits:
        return
    advice = advise_edits(load_with_edits(scenario_path(scenario)), edits)
    if advice:
        console.print(
            "Nearest plan that keeps your edit's direction: "
            + "; ".join(f"--set {a.edit} (instead of {a.asked})" for a in advice),
            highlight=False,
        )


@friendly_errors
def explain_cmd(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    top: Annotated[int, typer.Option(min=1, help="Rows of the report (>= 1).")] = 15,
) -> None:
    """Print the sensitivity report, or the diagnosis when the scenario is infeasible."""
    sc = load_with_edits(scenario_path(scenario), set_ or [])
    report = sensitivity(sc)
    if not report.result.ok:
        print_result(report.result)
        print_edit_advice(scenario, set_ or [])
        sys.exit(EXIT_NO_PLAN)
    console.print(f"value {report.result.objective:,.2f} points", highlight=False)
    cons = report.constraints
    non_budget = cons[cons["kind"] != "budget"]
    budgets = cons[cons["kind"] == "budget"]
    table = Table("what binds, and what it costs", title="Binding constraints")
    for text in pd.concat([non_budget, budgets.head(3)])["text"].head(top):
        table.add_row(escape(text))
    console.print(table)
    if len(budgets) > 3:
        console.print(f"... and {len(budgets) - 3} more member budgets bind", highlight=False)
    table = Table("area priorities", title="Priority ranges")
    for text in report.areas["text"]:
        table.add_row(escape(text))
    console.print(table)
    sys.exit(EXIT_OK)
