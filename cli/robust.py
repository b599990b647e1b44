"""``optimise.py robust``: one plan for many futures, against the deterministic plans.

Commits the first year's money and the go/no-go decisions once for ``--futures`` futures
of the fund (the forecast's joint paths, or stated distributions), adjusts later years
per future, and scores that plan, the plan on the median forecast and the plan on the
10th percentile on the same fresh futures (``--out-of-sample``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.common import (
    EXIT_NO_PLAN,
    EXIT_OK,
    ScenarioArg,
    SetOpt,
    check_seconds,
    console,
    err_console,
    friendly_errors,
)
from cli.show import print_result
from datasets import scenario_path
from engine import (
    ROBUST_FILES,
    UNIT_FACTORS,
    FloorRule,
    Risk,
    RobustReport,
    Scenario,
    ScenarioError,
    SolverOptions,
    alternatives,
    alternatives_table,
    budget_frontier,
    check_folder,
    draw_futures,
    load_with_edits,
    money,
    plan_robust,
    risk_frontier,
    solve,
    write_robust,
)

SOURCES = ("forecast", "stated")


def _number(value: float) -> str:
    return "-" if value != value else f"{value:,.2f}"  # NaN prints as a dash


def print_report(report: RobustReport) -> None:
    """The comparison of the plans, VSS and EVPI, and the areas' floor probabilities."""
    plan, s = report.plan, report.summary()
    console.print(
        f"{s['scenario']}: robust plan on {s['futures']} futures ({s['source']}, seed "
        f"{s['seed']}), objective {s['objective']}, floors {s['floors']}; scored on "
        f"{s['out_of_sample_futures']} fresh futures",
        highlight=False,
    )
    table = Table(
        "plan",
        "expected value",
        f"CVaR {report.alpha:g}",
        "worst floor prob.",
        "no plan",
        "over pledge",
        title="Out of sample (value points)",
        box=box.SIMPLE,
    )
    for r in report.comparison().itertuples(index=False):
        table.add_row(
            str(r.plan),
            _number(r.expected_value),
            _number(r.cvar),
            f"{r.worst_floor_probability:.1%}",
            f"{r.infeasible_share:.1%}",
            f"{r.over_pledge_probability:.1%}",
        )
    console.print(table)
    console.print(
        f"VSS against the median plan {_number(s['vss_median'])}, against the 10th "
        f"percentile plan {_number(s['vss_p10'])} (out of sample; in sample "
        f"{_number(s['in_sample_vss_median'])} and {_number(s['in_sample_vss_p10'])}); "
        f"EVPI {_number(s['evpi'])} in sample, {_number(s['out_of_sample_evpi'])} out of "
        f"sample ({s['evpi_out_of_sample_futures']} fresh futures solved alone)",
        highlight=False,
    )
    areas = Table("area", "first year", "floor prob.", "median plan", "p10 plan", box=box.SIMPLE)
    frame = report.areas()
    for r in frame.to_dict("records"):
        if r["floor_probability"] != r["floor_probability"]:
            prob = "no floor"
        else:
            prob = f"{r['floor_probability']:.1%}"
        areas.add_row(
            str(r["area"]),
            money(r["first_year_funding"] * build_scale(plan.scenario), plan.scenario),
            prob,
            _pct(r.get("floor_probability_median")),
            _pct(r.get("floor_probability_p10")),
        )
    console.print(areas)
    for note in s["notes"]:
        err_console.print(f"warning: {escape(note)}", highlight=False)


def build_scale(sc: Scenario) -> float:
    """Currency units per fund unit (the engine's tables are in fund units)."""
    return UNIT_FACTORS[sc.fund.unit]


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{value:.1%}"


@friendly_errors
def robust_cmd(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    futures: Annotated[int, typer.Option(min=1, max=2000, help="In-sample futures.")] = 50,
    out_of_sample: Annotated[
        int, typer.Option(min=1, max=100_000, help="Fresh futures that score the plans.")
    ] = 1000,
    objective: Annotated[
        str, typer.Option(help="expected, cvar:ALPHA or mix:LAMBDA:ALPHA.")
    ] = "expected",
    floors: Annotated[
        str, typer.Option(help="soft (default), soft:PENALTY, hard or chance:P.")
    ] = "soft",
    source: Annotated[str, typer.Option(help="forecast (joint paths) or stated.")] = "forecast",
    path: Annotated[str, typer.Option(help="Forecast policy path, e.g. hague-2035.")] = "trend",
    seed: Annotated[int, typer.Option(help="Seed of the futures, 0 or more.", min=0)] = 0,
    evpi: Annotated[bool, typer.Option(help="Solve each future alone for the EVPI.")] = True,
    method: Annotated[
        str | None,
        typer.Option(
            help="extensive (one HiGHS MIP) or benders (decomposition); default extensive, "
            "benders with --scheduler."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Where benders' re-solves run: local, local:N (N processes) or a Dask "
            "scheduler's address (tcp://host:8786)."
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(help="Seconds per solve.", callback=check_seconds)
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the files here.")] = None,
) -> None:
    """Plan once for many futures and compare with the median and p10 plans."""
    if source not in SOURCES:
        raise ScenarioError([f"--source {source!r}: give forecast or stated"], "--source")
    method = method or ("benders" if scheduler else "extensive")
    if method not in ("extensive", "benders"):
        raise ScenarioError([f"--method {method!r}: give extensive or benders"], "--method")
    if scheduler and method != "benders":
        raise ScenarioError(
            ["--scheduler: only --method benders runs on workers (drop --method extensive)"],
            "--scheduler",
        )
    floor_rule, risk = FloorRule.parse(floors), Risk.parse(objective)
    if out is not None:
        check_folder(out, ROBUST_FILES)  # refuse a bad --out before minutes of solving
    sc = load_with_edits(scenario_path(scenario), set_ or [])
    options = SolverOptions(time_limit=time_limit, mip_gap=1e-6)
    report = plan_robust(
        sc,
        futures,
        out_of_sample,
        source=source,  # type: ignore[arg-type]
        path=path,
        seed=seed,
        floors=floor_rule,
        risk=risk,
        options=options,
        evpi=evpi,
        method=method,  # type: ignore[arg-type]
        scheduler=scheduler,
    )
    if not report.plan.ok:
        err_console.print(
            f"no robust plan: {report.plan.solver_status}; with --floors hard a single "
            "future that cannot fund the floors is enough (try --floors soft)",
            highlight=False,
        )
        sys.exit(EXIT_NO_PLAN)
    print_report(report)
    if out is not None:
        write_robust(report, out)
        console.print(f"wrote {out}/", highlight=False)
    sys.exit(EXIT_OK)


def _share(text: str) -> float:
    """``2%`` or ``0.02`` as a share; exit 2 otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ScenarioError(
            [f"--within {text!r}: give a share such as 2% or 0.02"], "--within"
        ) from None
    if not 0 <= value < 1:
        raise ScenarioError([f"--within {text!r}: must be in [0%, 100%)"], "--within")
    return value


@friendly_errors
def alternatives_cmd(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    within: Annotated[str, typer.Option(help="Largest loss of value, e.g. 2%.")] = "2%",
    count: Annotated[int, typer.Option(min=1, max=20, help="How many alternatives.")] = 3,
) -> None:
    """Plans within a loss of the optimum that differ from it as much as possible."""
    share = _share(within)
    sc = load_with_edits(scenario_path(scenario), set_ or [])
    try:
        found = alternatives(sc, share, count, SolverOptions(mip_gap=1e-6))
    except ValueError as error:
        result = solve(sc)
        if result.ok:  # the optimum exists; the search around it failed
            err_console.print(f"no plan: {escape(str(error))}", highlight=False)
        else:  # no plan at all: the same diagnosis as solve gives, in planner's terms
            print_result(result)
        sys.exit(EXIT_NO_PLAN)
    frame = alternatives_table(found)
    table = Table(
        "area", *[a.label for a in found], title="Funding over the horizon", box=box.SIMPLE
    )
    wide = frame.pivot(index="area", columns="plan", values="funding")
    unit = build_scale(sc)
    for area in [a.id for a in sc.areas]:
        table.add_row(area, *[money(wide.at[area, a.label] * unit, sc) for a in found])
    console.print(table)
    best = found[0].value
    for alt in found[1:]:
        changes = frame[(frame["plan"] == alt.label)].sort_values("change")
        gains = changes[changes["change"] > 1e-6].tail(2)
        losses = changes[changes["change"] < -1e-6].head(2)
        buys = ", ".join(f"{r.area} +{money(r.change * unit, sc)}" for r in gains.itertuples())
        gives = ", ".join(f"{r.area} -{money(-r.change * unit, sc)}" for r in losses.itertuples())
        console.print(
            f"{alt.label}: value {alt.value:,.2f} ({(best - alt.value) / best:.2%} below the "
            f"optimum), L1 distance {money(alt.distance * unit, sc)}; buys {buys or '-'}; "
            f"gives up {gives or '-'}",
            highlight=False,
        )
    sys.exit(EXIT_OK)


@friendly_errors
def frontier_cmd(
    scenario: ScenarioArg,
    over: Annotated[str, typer.Option(help="budget or risk.")] = "budget",
    set_: SetOpt = None,
    futures: Annotated[int, typer.Option(min=2, max=500, help="Futures (risk).")] = 20,
    alpha: Annotated[float, typer.Option(min=0.01, max=1.0, help="CVaR level (risk).")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the futures (risk), 0 or more.", min=0)] = 0,
    source: Annotated[str, typer.Option(help="forecast or stated (risk).")] = "forecast",
    path: Annotated[
        str, typer.Option(help="Forecast policy path of the futures (risk), e.g. hague-2035.")
    ] = "trend",
) -> None:
    """Value against the fund's size (budget) or expected value against CVaR (risk)."""
    if over not in ("budget", "risk"):
        raise ScenarioError([f"--over {over!r}: give budget or risk"], "--over")
    if source not in SOURCES:
        raise ScenarioError([f"--source {source!r}: give forecast or stated"], "--source")
    sc = load_with_edits(scenario_path(scenario), set_ or [])
    options = SolverOptions(mip_gap=1e-6)
    if over == "budget":
        frame = budget_frontier(sc, options=options)
        table = Table(
            "scale",
            "fund total",
            "value",
            "per extra unit",
            "status",
            box=box.SIMPLE,
            title="Value against the fund's size (every pledge scaled)",
        )
        unit = build_scale(sc)
        for r in frame.itertuples(index=False):
            table.add_row(
                f"{r.scale:.0%}",
                money(r.total * unit, sc),
                _number(r.value),
                _number(r.marginal),
                str(r.status),
            )
    else:
        inside, _ = draw_futures(sc, futures, 0, source, seed, path)  # type: ignore[arg-type]
        frame = risk_frontier(sc, inside, alpha, options=options)
        table = Table(
            "weight on CVaR",
            "expected value",
            f"CVaR {alpha:g}",
            "status",
            box=box.SIMPLE,
            title=f"Expected value against risk ({futures} futures)",
        )
        for r in frame.itertuples(index=False):
            table.add_row(
                f"{r.weight:g}", _number(r.expected_value), _number(r.cvar), str(r.status)
            )
    console.print(table)
    sys.exit(EXIT_OK)
