"""``optimise.py report`` (allocation report) and ``optimise.py convert`` (YAML <-> Excel)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import EXIT_NO_PLAN, EXIT_OK, console, friendly_errors
from datasets import scenario_path
from engine import (
    READERS,
    OutputError,
    ScenarioError,
    count_noun,
    load_with_edits,
    save_scenario,
)

ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario file (YAML, JSON, .xlsx) or shipped name (aspf-2026).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Edit PATH=VALUE, e.g. areas.cyber.floor=12bn (repeatable)."),
]
OutOpt = Annotated[Path, typer.Option("--out", help="The HTML report to write (report.html).")]
PdfOpt = Annotated[bool, typer.Option("--pdf", help="Also write report.pdf beside it.")]
XlsxOpt = Annotated[bool, typer.Option("--xlsx", help="Also write report.xlsx beside it.")]


def _command_line() -> str:
    return shlex.join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])


def check_report_out(out: Path, pdf: bool, xlsx: bool) -> None:
    """Refuse a bad report ``--out`` before any work (:func:`reports.publish.output_paths`),
    a path the file system cannot take (a name too long) as well; raises OutputError."""
    from reports.publish import output_paths

    try:
        output_paths(out, pdf, xlsx)
    except OSError as error:
        raise OutputError(f"{out}: cannot write here ({error.strerror or error})") from None


@friendly_errors
def report_cmd(
    scenario: ScenarioArg,
    out: OutOpt,
    against: Annotated[
        str | None, typer.Option("--against", help="Baseline scenario to compare with.")
    ] = None,
    set_: SetOpt = None,
    pdf: PdfOpt = False,
    xlsx: XlsxOpt = False,
    robust: Annotated[
        bool, typer.Option("--robust", help="Add one plan for many futures (slower).")
    ] = False,
) -> None:
    """Write an allocation report: by area and year, member-to-area flows, members,
    binding constraints in plain words, and the diff against a baseline (--against);
    with --robust, the robust plan against the deterministic ones."""
    from reports.allocation import Inputs, allocation_report
    from reports.publish import publish

    check_report_out(out, pdf, xlsx)
    path = scenario_path(scenario)
    sc = load_with_edits(path, set_ or [])
    base_path = scenario_path(against) if against is not None else None
    base = load_with_edits(base_path) if base_path is not None else None
    inputs = Inputs(sc, path, tuple(set_ or []), base, base_path, _command_line())
    report, result = allocation_report(inputs)
    if robust and result.ok:
        from reports.robust import with_robust_section

        report = with_robust_section(report, sc)
    for written in publish(report, out, pdf, xlsx):
        console.print(f"wrote {written}", highlight=False)
    if not result.ok:
        console.print(
            f"[bold red]No plan:[/] {result.summary.get('message', '')} (see the report)",
            highlight=False,
        )
    sys.exit(EXIT_OK if result.ok else EXIT_NO_PLAN)


@friendly_errors
def convert_cmd(
    source: Annotated[str, typer.Argument(help="Scenario to read (.yaml, .json, .xlsx).")],
    target: Annotated[Path, typer.Argument(help="File to write (.yaml, .json, .xlsx).")],
) -> None:
    """Convert a scenario between YAML, JSON and Excel, by the files' suffixes.

    The scenario is validated on the way; converting back gives the same scenario.
    """
    if target.suffix.lower() not in READERS:
        raise ScenarioError(
            [f"cannot write {target.suffix!r} files; use {', '.join(sorted(READERS))}"],
            str(target),
        )
    path = scenario_path(source)
    if target.exists() and target.resolve() == Path(path).resolve():
        # Writing back over the source would lose what the format does not keep (comments).
        raise ScenarioError(
            ["the file to write is the scenario being read; give another name"], str(target)
        )
    sc = load_with_edits(path)
    save_scenario(sc, target)
    console.print(
        f"wrote {target} ({count_noun(len(sc.members), 'member')}, "
        f"{count_noun(len(sc.areas), 'area')}, {count_noun(len(sc.policies), 'policy')})",
        highlight=False,
    )


@friendly_errors
def forecast_report_cmd(
    out: OutOpt,
    scenario: Annotated[
        str, typer.Option("--scenario", help="The fund: scenario file or shipped name.")
    ] = "aspf-2026",
    path: Annotated[
        list[str] | None,
        typer.Option("--path", help="Policy path (repeatable; default trend and hague-2035)."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Joint sample paths.", min=100)] = 2000,
    seed: Annotated[
        int, typer.Option(help="Random seed, 0 or more (same seed, same report).", min=0)
    ] = 0,
    pdf: PdfOpt = False,
    xlsx: XlsxOpt = False,
) -> None:
    """Write a forecast report: the fund's size with 80/95% fan charts per policy path,
    members' trends and burden shares, the members that drive the change, backtest
    accuracy, assumptions, sources and the inputs' hash."""
    from models.errors import ForecastInputError
    from reports.document import engine_version, generated_at
    from reports.forecast_inputs import (
        DEFAULT_PATHS,
        ForecastOptions,
        forecast_data,
        inputs_sha256,
    )
    from reports.forecast_report import forecast_report
    from reports.publish import publish

    check_report_out(out, pdf, xlsx)
    source = scenario_path(scenario)
    sc = load_with_edits(source)
    options = ForecastOptions(tuple(path or DEFAULT_PATHS), samples, seed)
    try:
        data = forecast_data(sc, source, options)
    except ForecastInputError as error:
        raise ScenarioError([str(error)], str(source)) from None
    provenance = (
        ("engine version", engine_version()),
        ("generated at (UTC)", generated_at()),
        ("inputs sha256", inputs_sha256(source, options)),
        ("command", _command_line()),
    )
    for written in publish(forecast_report(data, provenance), out, pdf, xlsx):
        console.print(f"wrote {written}", highlight=False)
