"""Read a batch back as tables: funding quantiles, floors met, binding constraints, N-1 losses.

All money is in the fund's currency units; quantiles are over the batch's scenarios that
have a plan (optimal, or feasible at a time limit), each area's funding summed over the
horizon unless asked per year.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from engine.batch.store import RunStore
from engine.batch.tables import FAILED
from engine.errors import OutputError
from engine.files.atomic import _umask

#: Quantiles reported for each area's funding.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Statuses that come with a plan.
PLAN = ("optimal", "feasible")
#: Excel's row limit; a longer table is left out of a workbook (use Parquet or CSV).
EXCEL_ROWS = 1_048_575
#: Changes of an area's funding smaller than this (currency units) are not losses.
NOISE = 1.0
#: The year at the end of a constraint name: ``floor[cyber,2026]`` -> ``floor[cyber]``.
_YEAR = r",\d{4}\]$"


def results_frame(store: RunStore, batch_id: str) -> pd.DataFrame:
    """One row per stored scenario: position, labels as columns, status, objective, times."""
    frame = store.frame("results", batch_id)
    return pd.concat(
        [
            frame[["position"]],
            _labels(store, batch_id).set_index(frame.index),
            frame.drop(columns=["position", "scenario_id", "batch_id", "labels"]),
        ],
        axis=1,
    )


def _labels(store: RunStore, batch_id: str) -> pd.DataFrame:
    """Each stored scenario's id and its labels (the sweep's axes), one column per label."""
    frame = store.frame("results", batch_id)
    labels = pd.DataFrame([json.loads(t) for t in frame["labels"]], index=frame.index)
    return pd.concat([frame[["scenario_id"]], labels], axis=1)


def _with_labels(table: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its scenarios' labels beside the 64-character scenario id (a label
    named like one of the table's columns is prefixed ``label_``)."""
    if "scenario_id" not in table:
        return table
    named = labels.rename(
        columns={c: f"label_{c}" for c in labels.columns if c != "scenario_id" and c in table}
    )
    joined = table.merge(named, on="scenario_id", how="left")
    extra = [c for c in named.columns if c != "scenario_id"]
    rest = [c for c in table.columns if c != "scenario_id"]
    return joined[["scenario_id", *extra, *rest]]


def funding_quantiles(
    store: RunStore, batch_id: str, by_year: bool = False, quantiles: Sequence[float] = QUANTILES
) -> pd.DataFrame:
    """Per area (and year if ``by_year``): scenarios, mean and quantiles of its funding."""
    funding = store.frame("area_funding", batch_id)
    keys = ["area", "year"] if by_year else ["area"]
    if funding.empty:
        return pd.DataFrame(columns=[*keys, "scenarios", "mean", *_qnames(quantiles)])
    per = funding.groupby(["scenario_id", *keys], sort=False)["amount"].sum().reset_index()
    grouped = per.groupby(keys, sort=False)["amount"]
    out = grouped.agg(scenarios="count", mean="mean").reset_index()
    q = grouped.quantile(list(quantiles)).unstack()
    q.columns = _qnames(quantiles)
    return out.merge(q.reset_index(), on=keys)


def _qnames(quantiles: Sequence[float]) -> list[str]:
    return [f"q{round(q * 100):02d}" for q in quantiles]


def floor_met(store: RunStore, batch_id: str) -> pd.DataFrame:
    """For each area with a floor: in how many scenarios the floor held, and the share.

    A scenario with a plan meets every floor (floors are constraints of the plan); an
    infeasible one meets none: there is no plan to meet them (its diagnosis is one minimal
    relaxation among others, so it cannot say which floors a plan would have kept).
    Scenarios that raised or stopped without an answer are left out.
    """
    res = store.frame("results", batch_id)
    judged = res[res["status"].isin([*PLAN, "infeasible"])]
    contents = store.contents(batch_id, judged["scenario_id"])
    planned = set(judged.loc[judged["status"].isin(PLAN), "scenario_id"])
    counts: dict[str, list[int]] = {}
    for sid in judged["scenario_id"]:
        for area in contents.get(sid, {}).get("areas", []):
            if area.get("floor") is None:
                continue
            seen = counts.setdefault(area["id"], [0, 0])
            seen[0] += 1
            seen[1] += sid in planned
    rows = [(a, n, met, met / n) for a, (n, met) in counts.items()]
    return pd.DataFrame(rows, columns=["area", "scenarios", "floor_met", "probability"])


def binding_frequency(store: RunStore, batch_id: str, top: int | None = 15) -> pd.DataFrame:
    """Constraints a planner set, by how often they bind across the scenarios with a plan.

    Years are folded together (``floor[cyber]`` stands for every year's cyber floor):
    ``scenarios`` counts scenarios where it binds in at least one year, ``share`` divides
    by the scenarios with a plan, ``years`` is the mean number of binding years there, and
    ``mean_shadow_price`` is in value points per currency unit.
    """
    res = store.frame("results", batch_id)
    with_plan = int(res["status"].isin(PLAN).sum())
    cons = store.frame("constraints", batch_id)
    columns = ["constraint", "kind", "scenarios", "share", "years", "mean_shadow_price"]
    if cons.empty or not with_plan:
        return pd.DataFrame(columns=columns)
    cons["constraint"] = cons["name"].str.replace(_YEAR, "]", regex=True)
    per = (
        cons.groupby(["constraint", "kind", "scenario_id"], sort=False)
        .agg(years=("name", "size"), price=("shadow_price", "mean"))
        .reset_index()
    )
    out = (
        per.groupby(["constraint", "kind"], sort=False)
        .agg(
            scenarios=("scenario_id", "size"),
            years=("years", "mean"),
            mean_shadow_price=("price", "mean"),
        )
        .reset_index()
    )
    out["share"] = out["scenarios"] / with_plan
    out = out.sort_values(["scenarios", "mean_shadow_price"], ascending=[False, False])
    out = out[columns].reset_index(drop=True)
    return out.head(top) if top else out


def n_minus_1(store: RunStore, batch_id: str) -> pd.DataFrame:
    """For an N-1 sweep: each leaving member and the areas that lose funding over the
    horizon against the baseline where nobody leaves (same grid point and draw), averaged
    over grid points and draws. Empty for a sweep without ``n_minus_1``."""
    columns = ["leaves", "area", "before", "after", "change", "change_pct"]
    res = results_frame(store, batch_id)
    if "leaves" not in res.columns or res.empty:
        return pd.DataFrame(columns=columns)
    others = [c for c in res.columns[2 : res.columns.get_loc("status")] if c != "leaves"]
    funding = store.frame("area_funding", batch_id)
    totals = funding.groupby(["scenario_id", "area"])["amount"].sum().reset_index()
    res = res[res["status"].isin(PLAN)].copy()
    res["context"] = res[others].astype(str).agg("|".join, axis=1) if others else ""
    tagged = totals.merge(res[["scenario_id", "leaves", "context"]], on="scenario_id")
    base = tagged[tagged["leaves"].isna()][["context", "area", "amount"]]
    left = tagged[tagged["leaves"].notna()]
    both = left.merge(base, on=["context", "area"], suffixes=("_after", "_before"))
    out = (
        both.groupby(["leaves", "area"])
        .agg(before=("amount_before", "mean"), after=("amount_after", "mean"))
        .reset_index()
    )
    out["change"] = out["after"] - out["before"]
    out = out[out["change"] < -NOISE]
    out["change_pct"] = out["change"] / out["before"].where(out["before"] > 0)
    return out.sort_values(["leaves", "change"])[columns].reset_index(drop=True)


def n_minus_1_no_plan(store: RunStore, batch_id: str) -> pd.DataFrame:
    """For an N-1 sweep: the members whose leaving leaves the fund without a plan (e.g. a
    floor nobody else can pay for), with how many of their scenarios end so and why."""
    columns = ["leaves", "scenarios", "no_plan", "statuses"]
    res = results_frame(store, batch_id)
    if "leaves" not in res.columns or res.empty:
        return pd.DataFrame(columns=columns)
    res = res[res["leaves"].notna() & ~res["status"].isin(FAILED)]
    res = res.assign(no_plan=~res["status"].isin(PLAN))
    out = (
        res.groupby("leaves")
        .agg(
            scenarios=("scenario_id", "size"),
            no_plan=("no_plan", "sum"),
            statuses=("status", lambda s: ", ".join(sorted(set(s) - set(PLAN)))),
        )
        .reset_index()
    )
    return out[out["no_plan"] > 0][columns].reset_index(drop=True)


def summary_tables(store: RunStore, batch_id: str) -> dict[str, pd.DataFrame]:
    """Every summary table of a batch, by name."""
    tables = {
        "funding_quantiles": funding_quantiles(store, batch_id),
        "funding_quantiles_by_year": funding_quantiles(store, batch_id, by_year=True),
        "floor_met": floor_met(store, batch_id),
        "binding": binding_frequency(store, batch_id, top=None),
    }
    for name, table in (
        ("n_minus_1", n_minus_1(store, batch_id)),
        ("n_minus_1_no_plan", n_minus_1_no_plan(store, batch_id)),
    ):
        if not table.empty:
            tables[name] = table
    return tables


def _file_writer(frame: pd.DataFrame, fmt: str) -> Callable[[Path], None]:
    """What writes ``frame`` to a path as Parquet or CSV."""

    def write(path: Path) -> None:
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)

    return write


def export(
    store: RunStore,
    batch_id: str,
    out: str | os.PathLike[str],
    fmt: Literal["parquet", "csv", "xlsx"],
) -> Path:
    """Write the batch's tables and summaries: a folder of Parquet or CSV files, or one
    Excel workbook (a sheet per table; a table over Excel's row limit is left out and
    named in the ``notes`` sheet). Written atomically; raises OutputError."""
    from engine.files.results import write_folder

    tables = {"results": results_frame(store, batch_id)}
    labels = _labels(store, batch_id)
    for name in ("area_funding", "allocations", "constraints", "diagnoses"):
        tables[name] = _with_labels(store.frame(name, batch_id).drop(columns=["batch_id"]), labels)
    tables.update(summary_tables(store, batch_id))
    out = Path(out)
    if fmt == "xlsx":
        return _write_workbook(out, tables)
    suffix = ".parquet" if fmt == "parquet" else ".csv"
    writers = {f"{name}{suffix}": _file_writer(frame, fmt) for name, frame in tables.items()}
    owned = tuple(
        f"{name}{s}"
        for name in (*tables, "n_minus_1", "n_minus_1_no_plan")
        for s in (".parquet", ".csv")
    )
    return write_folder(out, writers, owned)


def _write_workbook(out: Path, tables: dict[str, pd.DataFrame]) -> Path:
    notes = [
        (name, f"{len(frame):,} rows: over Excel's limit, export as parquet or csv")
        for name, frame in tables.items()
        if len(frame) > EXCEL_ROWS
    ]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".xlsx")
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # as every other output, not mkstemp's 0600
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in tables.items():
                if len(frame) <= EXCEL_ROWS:
                    _excel_safe(frame).to_excel(writer, sheet_name=name[:31], index=False)
            if notes:
                pd.DataFrame(notes, columns=["table", "note"]).to_excel(
                    writer, sheet_name="notes", index=False
                )
        os.replace(tmp, out)
    except OSError as error:
        raise OutputError(f"{out}: cannot write ({error.strerror or error})") from None
    return out


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel cannot hold time-zone-aware timestamps: write them in UTC without the zone."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
