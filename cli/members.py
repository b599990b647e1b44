"""``optimise.py members``: what each member gets, who would be better off outside, and
what keeping everyone costs (participation constraints), with burden-sharing bands."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.common import (
    EXIT_BAD_INPUT,
    EXIT_NO_PLAN,
    EXIT_OK,
    ScenarioArg,
    SetOpt,
    console,
    err_console,
    friendly_errors,
)
from datasets import DATA_DIR, scenario_path
from engine import (
    Scenario,
    SolverOptions,
    Stability,
    atomic_write_text,
    burden_bands,
    check_folder,
    contribution_key,
    key_from_table,
    load_with_edits,
    member_project_shares,
    money,
    solve,
    stability,
    write_folder,
)

KEYS = ("contribution", "gdp", "nato")
GDP_FILE = DATA_DIR / "worldbank_wdi_gdp_nato_partners.csv"
MEMBERS_FILES = (
    "members.csv",
    "burden.csv",
    "drivers.csv",
    "participation_allocation.csv",
    "flows.csv",
    "project_shares.csv",
    "summary.json",
)


def _key(name: str, members: pd.DataFrame) -> tuple[dict[str, float], str]:
    """The burden-sharing key by member (``--key``) and a label saying where it comes from."""
    if name == "contribution":
        return contribution_key(members), "share of the pledges"
    if name == "gdp":
        gdp = pd.read_csv(GDP_FILE, usecols=["iso3", "year", "gdp_current_usd"])
        key, year = key_from_table(gdp, list(members["member"]), "gdp_current_usd")
        return key, f"GDP share, current US$, {year} (World Bank WDI)"
    _bad(
        "--key nato: the data here hold NATO's common-funded budget totals, not the "
        "nations' cost shares (datasets/PROVENANCE.md); give the key as "
        "--key-file FILE.csv with columns member,share"
    )
    raise AssertionError("unreachable")


def _key_file(path: Path) -> dict[str, float]:
    """A key from a CSV file with columns member,share (positive finite shares)."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        _bad(f"{path}: cannot read the key file ({error})")
    if not {"member", "share"} <= set(table.columns):
        _bad(f"{path}: a key file needs the columns member,share")
    shares = pd.to_numeric(table["share"], errors="coerce")
    bad = table.loc[~(shares > 0) | ~np.isfinite(shares), "member"].astype(str).tolist()
    if bad:
        _bad(f"{path}: column share: expected positive numbers, not for {', '.join(bad[:5])}")
    ids = table["member"].astype(str).str.strip()
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated:
        _bad(f"{path}: column member: {', '.join(repeated[:5])} listed more than once")
    return dict(zip(ids, shares.astype(float), strict=True))


def _check_key_members(path: Path, key: dict[str, float], sc: Scenario) -> None:
    """Refuse a key naming members the scenario does not have (a typo would leave the real
    member without a key); say when the shares are read as weights (they do not add up to 1
    or 100)."""
    known = {m.id for m in sc.members}
    unknown = [m for m in key if m not in known]
    if unknown:
        _bad(
            f"{path}: column member: no member {', '.join(map(repr, unknown[:5]))} in the "
            f"scenario (known: {', '.join(sorted(known))})"
        )
    total = sum(key.values())
    if not (math.isclose(total, 1.0, rel_tol=1e-3) or math.isclose(total, 100.0, rel_tol=1e-3)):
        err_console.print(
            f"warning: {path}: the shares add up to {total:g}, not 1 or 100; they are read as "
            "weights and rescaled over the members that pledge",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


def _bad(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


def print_members(check: Stability, burden: pd.DataFrame, key_label: str) -> None:
    """The members table, the stability summary, the drivers and the participation plan."""
    sc = check.result.scenario
    merged = check.members.merge(burden, on="member", how="left")
    table = Table(
        "member",
        "pledged",
        "in fund",
        "alone",
        "out?",
        f"+1{sc.fund.unit}/yr",
        "key",
        "burden",
        "retour",
        title="What each member gets (values by its own priorities)",
        box=box.SIMPLE,
        pad_edge=False,
        padding=(0, 1),
    )
    for r in merged.itertuples(index=False):
        gap = f" {r.burden_gap * 100:+.1f}pp" if r.burden in ("over", "under") else ""
        status = "-" if r.burden == "no pledge" else r.burden
        table.add_row(
            r.member,
            money(r.pledged, sc),
            f"{r.value_in_fund:.3g}",
            f"{r.standalone_value:.3g}",
            "[bold red]yes[/]" if r.better_off_outside else "no",
            f"{r.marginal_value:.3g}",
            "-" if pd.isna(r.key_share) else f"{r.key_share:.1%}",
            f"{status}{gap}",
            "-" if pd.isna(r.retour) else f"{r.retour:.2f}",
        )
    console.print(table)
    console.print(
        f"burden: share of the money allocated against the key ({key_label}); retour: "
        "share of the value its money buys for it over the key share (1 = fair return)",
        highlight=False,
    )
    for r in check.members[check.members["priorities"] == "pairwise"].itertuples(index=False):
        console.print(
            f"{r.member} states its priorities by pairwise comparisons: consistency ratio "
            f"{r.consistency_ratio:.3f} (Saaty's limit 0.1)",
            highlight=False,
        )
    console.print(escape(check.summary()), highlight=False)
    for text in check.members.loc[check.members["better_off_outside"], "text"]:
        console.print(f"- {escape(text)}", highlight=False)
    if not check.drivers.empty:
        drivers = Table("relaxing", "of", "unstable after", "made stable", title="What drives it")
        for r in check.drivers.itertuples(index=False):
            drivers.add_row(r.relaxed, r.member, str(r.unstable_after), r.made_stable or "-")
        console.print(drivers)
    p = check.participation
    if p is not None and p.ok:
        moved = (
            p.areas.groupby("area")["amount"].sum()
            - check.result.areas.groupby("area")["amount"].sum()
        )
        moved = moved[moved.abs() > 1e-6 * max(1.0, moved.abs().max())]
        for area, change in moved.items():
            verb = "gains" if change > 0 else "loses"
            console.print(
                f"with participation rows {area} {verb} {money(abs(change), sc)} over the horizon",
                highlight=False,
            )


def print_member(check: Stability, member_id: str) -> None:
    """One member in detail: its money by area and year, its share of each funded project
    and its sentence."""
    result = check.result
    sc = result.scenario
    try:
        m = sc.member(member_id)
    except KeyError:
        _bad(f"--member: no member {member_id!r} (known: {', '.join(x.id for x in sc.members)})")
    flows = result.allocation[result.allocation["member"] == m.id]
    if flows.empty:
        who = escape(m.name or m.id)
        console.print(f"{who}'s money goes nowhere in this plan.", highlight=False)
    else:
        grid = flows.pivot_table(index="area", columns="year", values="amount", aggfunc="sum")
        table = Table(
            "area", *map(str, grid.columns), title=f"{m.name or m.id}: money by area and year"
        )
        for area, row in grid.fillna(0.0).iterrows():
            table.add_row(str(area), *(money(v, sc) if v else "" for v in row))
        console.print(table)
    shares = member_project_shares(result)
    mine = shares[shares["member"] == m.id]
    for r in mine.itertuples(index=False):
        console.print(
            f"{m.id} pays {money(r.amount, sc)} of project {r.project} ({r.share:.1%} of its cost)",
            highlight=False,
        )
    text = check.members.set_index("member").at[m.id, "text"]
    console.print(text, highlight=False)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _writers(check: Stability, burden: pd.DataFrame, summary: dict) -> dict:
    def csv(frame: pd.DataFrame):
        return lambda path: atomic_write_text(path, frame.to_csv(index=False))

    writers = {
        "members.csv": csv(check.members),
        "burden.csv": csv(burden),
        "flows.csv": csv(check.result.allocation),
        "project_shares.csv": csv(member_project_shares(check.result)),
        "summary.json": lambda path: atomic_write_text(
            path, json.dumps(summary, indent=2, default=str)
        ),
    }
    if not check.drivers.empty:
        writers["drivers.csv"] = csv(check.drivers)
    p = check.participation
    if p is not None and p.ok:
        writers["participation_allocation.csv"] = csv(p.allocation)
    return writers


@friendly_errors
def members_cmd(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    participation: Annotated[
        bool, typer.Option("--participation", help="Add participation rows and re-solve.")
    ] = False,
    margin: Annotated[
        float, typer.Option(help="Each member needs (1 + margin) x its standalone value.")
    ] = 0.0,
    key: Annotated[str, typer.Option(help="Burden key: contribution, gdp or nato.")] = (
        "contribution"
    ),
    key_file: Annotated[
        Path | None, typer.Option(help="A key as CSV (member,share); overrides --key.")
    ] = None,
    band: Annotated[float, typer.Option(help="Burden band, +/- share points.")] = 0.02,
    member: Annotated[
        str | None, typer.Option(help="Also show one member's money by area and year.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the tables here.")] = None,
) -> None:
    """What each member's money buys, its value in the fund and alone, and stability."""
    if key not in KEYS:
        _bad(f"--key: expected one of {', '.join(KEYS)}, got {key!r}")
    if not (math.isfinite(margin) and math.isfinite(band)) or margin < 0 or band < 0:
        _bad("--margin and --band must be numbers, not negative")
    if key == "nato" and key_file is None:
        _key(key, pd.DataFrame())  # explains why there is no NATO key, exit 2
    file_key = _key_file(key_file) if key_file is not None else None  # fails before solving
    if out is not None:
        check_folder(out, MEMBERS_FILES)
    sc: Scenario = load_with_edits(scenario_path(scenario), set_ or [])
    if key_file is not None and file_key is not None:
        _check_key_members(key_file, file_key, sc)
    if member is not None and member not in {m.id for m in sc.members}:
        _bad(f"--member: no member {member!r} (known: {', '.join(m.id for m in sc.members)})")
    result = solve(sc, SolverOptions())
    if not result.ok:
        err_console.print(result.summary.get("message") or result.status.value, highlight=False)
        sys.exit(EXIT_NO_PLAN)
    check = stability(result, margin=margin, participation=participation)
    weights, label = (file_key, str(key_file)) if file_key is not None else _key(key, check.members)
    burden = burden_bands(check.members, weights, band)
    print_members(check, burden, label)
    if member is not None:
        print_member(check, member)
    summary = {
        "scenario": scenario,
        "objective": result.objective,
        "unstable": check.unstable,
        "margin": margin,
        "key": label,
        # NaN when no stable plan exists: JSON has no NaN, so it is null, as "no figure".
        "price_of_stability": _finite_or_none(check.price_of_stability) if participation else None,
        "participation_status": check.participation.status.value
        if check.participation is not None
        else None,
        "text": check.summary(),
    }
    if out is not None:
        write_folder(out, _writers(check, burden, summary), MEMBERS_FILES)
        console.print(f"wrote {out}/", highlight=False)
    kept = check.participation
    sys.exit(EXIT_NO_PLAN if kept is not None and not kept.ok else EXIT_OK)
