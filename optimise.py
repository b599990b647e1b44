"""Allocate a coalition fund's money: ``python optimise.py --help``.

A thin face over the engine's Python API. Exit codes: 0 optimal (or a plan at a time
limit, with a warning); 1 infeasible, unbounded or no plan; 2 invalid input or usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.app import app_cmd
from cli.batch import batch_cmd, runs_app
from cli.common import (
    EXIT_NO_PLAN,
    EXIT_OK,
    check_seconds,
    console,
    err_console,
    friendly_errors,
)
from cli.members import members_cmd
from cli.report import convert_cmd, report_cmd
from cli.robust import alternatives_cmd, frontier_cmd, robust_cmd
from cli.whatif import explain_cmd, whatif_cmd
from datasets import DEFAULT_SCENARIO, scenario_path
from engine import (
    SolverOptions,
    check_model,
    check_result_folder,
    count_noun,
    edited_source,
    load_with_edits,
    naming_source,
    parse_highs_options,
    scenario_json_schema,
    write_result,
    year_span,
)
from engine import solve as solve_scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
    help="Allocate a coalition fund's money across capability areas (LP/MIP, HiGHS).",
    pretty_exceptions_enable=False,
)

ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario file (YAML/JSON) or shipped name (aspf-2026, nif).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Edit PATH=VALUE, e.g. areas.cyber.floor=12bn (repeatable)."),
]


@app.callback()
def main(ctx: typer.Context) -> None:
    """With no command, solve the shipped default scenario (aspf-2026) and print a summary."""
    if ctx.invoked_subcommand is None:
        solve(str(DEFAULT_SCENARIO))


@app.command()
@friendly_errors
def solve(
    scenario: ScenarioArg = str(DEFAULT_SCENARIO),
    set_: SetOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write result files here.")] = None,
    solver: Annotated[str, typer.Option(help="highs (default) or cbc.")] = "highs",
    time_limit: Annotated[
        float | None, typer.Option(help="Seconds; best plan found.", callback=check_seconds)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json only.")] = False,
    highs: Annotated[
        list[str] | None,
        typer.Option("--highs", help="HiGHS option NAME=VALUE, e.g. solver=ipm (repeatable)."),
    ] = None,
) -> None:
    """Solve a scenario and print (or write) the allocation."""
    if out is not None:
        check_result_folder(out)  # refuse a bad --out before solving
    path = scenario_path(scenario)
    sc = load_with_edits(path, set_ or [])
    options = SolverOptions(
        solver=solver,
        time_limit=time_limit,
        project_margins=True,
        highs_options=parse_highs_options(highs or []),
    )
    with naming_source(edited_source(str(path), set_ or [])):
        result = solve_scenario(sc, options)
    if out is not None:
        write_result(result, out)
    if as_json:
        typer.echo(json.dumps(result.summary, indent=2, default=str))
        if result.ok and result.summary.get("message"):  # e.g. a MIP stopped at its time limit
            err_console.print(f"warning: {result.summary['message']}", highlight=False)
    else:
        from cli.show import print_result

        print_result(result)
        if out is not None:
            console.print(f"wrote {out}/", highlight=False)
    sys.exit(EXIT_OK if result.ok else EXIT_NO_PLAN)


@app.command()
@friendly_errors
def validate(scenario: ScenarioArg, set_: SetOpt = None) -> None:
    """Check a scenario file (and edits); exit 2 with the problems if invalid."""
    path = scenario_path(scenario)
    sc = load_with_edits(path, set_ or [])
    check_model(sc, edited_source(str(path), set_ or []))
    console.print(
        f"{scenario}: valid ({count_noun(len(sc.members), 'member')}, "
        f"{count_noun(len(sc.areas), 'area')}, {count_noun(len(sc.policies), 'policy')}, "
        f"{year_span(sc.fund.years)})",
        highlight=False,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    typer.echo(json.dumps(scenario_json_schema(), indent=2))


app.command("whatif")(whatif_cmd)
app.command("members")(members_cmd)
app.command("explain")(explain_cmd)
app.command("report")(report_cmd)
app.command("convert")(convert_cmd)
app.command("app")(app_cmd)
app.command("batch")(batch_cmd)
app.command("robust")(robust_cmd)
app.command("alternatives")(alternatives_cmd)
app.command("frontier")(frontier_cmd)
app.add_typer(runs_app, name="runs")

if __name__ == "__main__":
    from cli.entry import run as run_app

    run_app(app)
