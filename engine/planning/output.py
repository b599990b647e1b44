"""The robust plan's files (``optimise.py robust --out DIR``), written as one set.

``summary.json`` (expected value, CVaR, VSS against the median and 10th-percentile plans,
EVPI, the numbers of futures), ``allocation.csv`` (the committed first year, member by
area), ``decisions.csv`` (the go/no-go decisions, when the scenario has projects),
``areas.csv`` (each area's first-year money and its probability of meeting its floors,
out of sample, for every plan), ``comparison.csv`` (one row per plan) and
``recourse.csv`` (each in-sample future's later years in long form). Written through
:func:`engine.files.folder.write_folder`: a crash leaves the old set or the new one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from engine.files.atomic import atomic_write_text
from engine.files.folder import write_folder
from engine.planning.robust import RobustReport

ROBUST_FILES = (
    "summary.json",
    "allocation.csv",
    "decisions.csv",
    "areas.csv",
    "comparison.csv",
    "recourse.csv",
)


def _plain(value):
    """JSON-ready: NaN and infinities as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def robust_tables(report: RobustReport) -> dict[str, pd.DataFrame]:
    """The CSV tables by file name."""
    tables = {
        "allocation.csv": report.plan.allocation(),
        "areas.csv": report.areas(),
        "comparison.csv": report.comparison(),
        "recourse.csv": report.plan.recourse(),
    }
    decisions = report.plan.decisions()
    if len(decisions):
        tables["decisions.csv"] = decisions
    return tables


def write_robust(report: RobustReport, out: str | os.PathLike[str]) -> Path:
    """Write the robust plan's files into ``out`` as one set; raises OutputError."""
    summary = {k: _plain(v) for k, v in report.summary().items()}
    summary["unit"] = report.plan.scenario.fund.unit
    summary["currency"] = report.plan.scenario.fund.currency
    text = json.dumps(summary, indent=2, default=str) + "\n"
    writers: dict[str, Callable[[Path], None]] = {
        "summary.json": lambda path: atomic_write_text(path, text)
    }
    for name, frame in robust_tables(report).items():
        writers[name] = _csv_writer(frame)
    return write_folder(out, writers, ROBUST_FILES)


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    return lambda path: atomic_write_text(path, frame.to_csv(index=False))
