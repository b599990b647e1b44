"""``optimise.py batch SWEEP.yaml`` and ``optimise.py runs list|show|export``.

Exit codes of ``batch``: 0 every scenario stored; 1 stored, but some scenarios raised or
timed out (their errors are in the store); 2 invalid sweep or store; 130 interrupted (what finished
is stored: run the same command again to resume).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from cli.common import EXIT_NO_PLAN, EXIT_OK, compact_table, console, friendly_errors
from engine import UNIT_FACTORS, column_digits, format_money

if TYPE_CHECKING:
    from engine.batch import RunStore

StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        help="Run store: a folder (gets runs.sqlite), a .sqlite file or a database URL "
        "(postgresql://user@host/db). Default: $ENGINE_RUN_STORE or ./runs.",
    ),
]
#: The store used without ``--store``: $ENGINE_RUN_STORE, else the folder ``runs``.
DEFAULT_STORE = os.environ.get("ENGINE_RUN_STORE", "runs")
BatchArg = Annotated[str, typer.Argument(help="Batch id (or its first characters) or sweep name.")]


def _rate_text(done: int, remaining: int, elapsed: float) -> str:
    if not done or elapsed <= 0:
        return "— /s, time left —"
    rate = done / elapsed
    left = remaining / rate
    return f"{rate:.1f} /s, time left {time.strftime('%H:%M:%S', time.gmtime(left))}"


@friendly_errors
def batch_cmd(
    sweep: Annotated[Path, typer.Argument(help="Sweep file (YAML).")],
    store: StoreOpt = DEFAULT_STORE,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler tcp://host:8786, or local:N for a Dask LocalCluster."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the sweep's first K scenarios.")
    ] = None,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed", help="Solve again the scenarios that raised or timed out before."
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Wall-clock seconds a scenario may take on its worker; one that overruns is "
            "stored as timed_out, its worker is replaced and the batch goes on.",
        ),
    ] = None,
) -> None:
    """Solve every scenario of a sweep into the run store; re-running resumes."""
    from datasets import scenario_path
    from engine.batch import Tally, load_sweep, open_store, run_batch

    plan = load_sweep(sweep, find_scenario=scenario_path)
    with open_store(store, writer=True, create=True) as runs:
        if runs.migrated_from:
            console.print(f"store migrated from schema version {runs.migrated_from}")
        total = plan.size if limit is None else min(plan.size, limit)
        console.print(
            f"[bold]{escape(plan.sweep.name)}[/]: {total:,} scenarios"
            f"{f' (of {plan.size:,})' if total < plan.size else ''}, batch {plan.batch_id[:12]}, "
            f"store {escape(runs.label)}",
            highlight=False,
        )
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        started = time.perf_counter()
        task = progress.add_task("solving", total=total, failed=0, rate="")

        def show(tally: Tally) -> None:
            elapsed = time.perf_counter() - started
            progress.update(
                task,
                completed=tally.finished,
                failed=tally.failed,
                rate=_rate_text(tally.done, total - tally.finished, elapsed),
            )

        with progress:
            tally = run_batch(
                plan,
                runs,
                workers=workers,
                scheduler=scheduler,
                limit=limit,
                retry_failed=retry_failed,
                timeout=timeout,
                on_progress=show,
            )
    stored = (
        # Scenarios with identical content are stored once: counting each as stored would
        # not match the rows `runs list` and `runs show` report.
        f"{tally.finished:,} of {total:,} scenarios, {tally.distinct:,} distinct "
        f"({tally.duplicates:,} repeat another scenario's content and are stored once): "
        f"{tally.done:,} stored now, {tally.skipped:,} before"
        if tally.duplicates
        else f"{tally.finished:,} of {total:,} stored ({tally.done:,} now, "
        f"{tally.skipped:,} before)"
    )
    console.print(
        f"{stored}; {tally.failed:,} failed ({tally.timed_out:,} timed out), "
        f"{tally.no_plan:,} without a plan, {tally.warm:,} warm re-solves; "
        f"{tally.seconds:.1f} s",
        highlight=False,
    )
    for line in tally.errors[:5]:
        console.print(f"[red]failed:[/] {escape(line)}", highlight=False)
    if tally.interrupted:
        console.print(
            "interrupted: what finished is stored; run the same command again to resume",
            highlight=False,
        )
        sys.exit(130)
    console.print(f"next: python optimise.py runs show {plan.batch_id[:12]}", highlight=False)
    sys.exit(EXIT_NO_PLAN if tally.failed else EXIT_OK)


runs_app = typer.Typer(
    help="List, summarise and export batch runs.", no_args_is_help=True, add_completion=False
)


@runs_app.command("list")
@friendly_errors
def list_cmd(store: StoreOpt = DEFAULT_STORE) -> None:
    """Every batch in the store with its progress."""
    import pandas as pd

    from engine.batch import open_store

    with open_store(store) as runs:
        frame = runs.batches()
    if frame.empty:
        console.print("no batches yet", highlight=False)
        return
    # The id is what the other commands take: never cut it short.
    batch = Column("batch", no_wrap=True, min_width=12)
    table = Table(batch, "name", "created (UTC)", "scenarios", "stored", "failed", "no plan")
    for row in frame.itertuples():
        table.add_row(
            row.batch_id[:12],
            row.name,
            pd.Timestamp(row.created_at).strftime("%Y-%m-%d %H:%M"),
            f"{row.n_scenarios:,}",
            f"{row.stored:,}",
            f"{row.failed:,}",
            f"{row.no_plan:,}",
        )
    console.print(table)


def _fund(runs: RunStore, batch_id: str, scenario_id: str) -> tuple[str, str]:
    content = runs.contents(batch_id, [scenario_id]).get(scenario_id, {})
    fund = content.get("fund", {})
    return fund.get("currency", "USD"), fund.get("unit", "bn")


@runs_app.command("show")
@friendly_errors
def show_cmd(
    batch: BatchArg,
    store: StoreOpt = DEFAULT_STORE,
    top: Annotated[int, typer.Option(min=1, help="Rows of the binding and N-1 tables.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
) -> None:
    """A batch's summary: statuses, each area's funding quantiles, floors met, binding
    constraints and (for N-1 sweeps) the areas that lose funding when a member leaves."""
    import pandas as pd

    from engine.batch import open_store, summary_tables

    with open_store(store) as runs:
        info = runs.find_batch(batch)
        batch_id = info["batch_id"]
        results = runs.frame("results", batch_id)
        tables = summary_tables(runs, batch_id)
        currency, unit = (
            _fund(runs, batch_id, results["scenario_id"].iloc[0])
            if not results.empty
            else ("USD", "bn")
        )
    if as_json:
        payload = {
            "batch_id": batch_id,
            "name": info["name"],
            "n_scenarios": info["n_scenarios"],
            "statuses": results["status"].value_counts().to_dict(),
            **{k: json.loads(v.to_json(orient="records")) for k, v in tables.items()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return

    def column(values: pd.Series, bare: bool = False) -> list[str]:
        """A money column with one precision; ``bare``: without currency and unit."""
        digits = column_digits(values.dropna(), unit, exact=False)
        if bare:
            factor = _unit(unit)
            return [f"{v / factor:,.{digits}f}" if pd.notna(v) else "" for v in values]
        return [format_money(v, currency, unit, digits) if pd.notna(v) else "" for v in values]

    counts = ", ".join(f"{n:,} {s}" for s, n in results["status"].value_counts().items())
    console.print(
        f"[bold]{escape(info['name'])}[/] batch {batch_id[:12]}: {len(results):,} of "
        f"{info['n_scenarios']:,} stored ({counts or 'none'})",
        highlight=False,
    )
    q = tables["funding_quantiles"]
    if not q.empty:
        q = q.sort_values("mean", ascending=False)
        money_cols = ["mean", *[c for c in q.columns if c.startswith("q")]]
        table = compact_table(
            "area",
            *money_cols,
            title=f"Funding over the horizon across scenarios ({currency} {unit})",
            numbers=tuple(money_cols),
        )
        shown = [column(q[c], bare=True) for c in money_cols]
        for area, *cells in zip(q["area"], *shown, strict=True):
            table.add_row(area, *cells)
        console.print(table)
    floors = tables["floor_met"]
    if not floors.empty:
        table = compact_table(
            "area",
            "scenarios",
            "floor met",
            title="Probability that the floor is met",
            numbers=("scenarios", "floor met"),
        )
        for row in floors.itertuples(index=False):
            table.add_row(row.area, f"{row.scenarios:,}", f"{row.probability:.1%}")
        console.print(table)
    binding = tables["binding"]
    budgets = binding[binding["kind"] == "budget"]
    if not budgets.empty:
        console.print(
            f"members' budgets bind in {budgets['share'].mean():.0%} of scenarios on average "
            "(all pledged money is used)",
            highlight=False,
        )
    binding = binding[binding["kind"] != "budget"].head(top)
    if not binding.empty:
        price = f"points per {unit}"
        table = compact_table(
            "constraint",
            "binding in",
            "years",
            price,
            title="Constraints most often binding (besides budgets), mean shadow price",
            numbers=("binding in", "years", price),
        )
        for row in binding.itertuples(index=False):
            table.add_row(
                escape(row.constraint),  # the full row name: rows of one rule differ in it
                f"{row.share:.0%}",
                f"{row.years:.1f}",
                f"{row.mean_shadow_price * _unit(unit):.3g}",  # significant digits
            )
        console.print(table)
    losses = tables.get("n_minus_1")
    if losses is not None:
        worst = losses.sort_values("change").head(top)
        amounts = ("before", "after", "change")
        table = compact_table(
            "leaves",
            "area",
            *amounts,
            title="N-1: largest losses when a member leaves",
            numbers=amounts,
        )
        shown = [column(worst[c]) for c in amounts]
        for leaves, area, *cells in zip(worst["leaves"], worst["area"], *shown, strict=True):
            table.add_row(leaves, area, *cells)
        console.print(table)
    stuck = tables.get("n_minus_1_no_plan")
    if stuck is not None:
        for row in stuck.itertuples(index=False):
            console.print(
                f"[bold red]no plan[/] when {row.leaves} leaves: {row.no_plan} of "
                f"{row.scenarios} scenarios ({row.statuses})",
                highlight=False,
            )


def _unit(unit: str) -> float:
    return UNIT_FACTORS.get(unit, 1.0)


@runs_app.command("export")
@friendly_errors
def export_cmd(
    batch: BatchArg,
    out: Annotated[Path, typer.Option("--out", help="Folder (parquet, csv) or .xlsx file.")],
    store: StoreOpt = DEFAULT_STORE,
    fmt: Annotated[
        Literal["parquet", "csv", "xlsx"] | None,
        typer.Option(
            "--format", help="parquet, csv or xlsx (default: from --out's suffix, else parquet)."
        ),
    ] = None,
) -> None:
    """Write a batch's tables (results, area_funding, allocations, constraints, diagnoses)
    and its summaries as Parquet or CSV files, or as one Excel workbook."""
    from engine.batch import export, open_store

    chosen = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "parquet")
    with open_store(store) as runs:
        batch_id = runs.find_batch(batch)["batch_id"]
        path = export(runs, batch_id, out, chosen)
    console.print(f"wrote {path}", highlight=False)


@runs_app.command("migrate")
@friendly_errors
def migrate_cmd(store: StoreOpt = DEFAULT_STORE) -> None:
    """Bring a run store written by an older engine to this engine's schema version, in
    one transaction (a crash leaves the old version whole); batch ids do not change."""
    from engine.batch import SCHEMA_VERSION, open_store

    with open_store(store, writer=True) as runs:
        was = runs.migrated_from
        label = runs.label
    done = f"migrated from version {was}" if was else "nothing to do"
    console.print(f"{escape(label)}: schema version {SCHEMA_VERSION} ({done})", highlight=False)
