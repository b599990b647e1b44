"""What a report holds, independent of its format (HTML, PDF or Excel).

A :class:`Report` is a title, key facts, sections of text, charts and tables, the
assumptions and sources behind them, and the facts needed to reproduce it (engine
version, time, hash of the inputs, command). Builders (``reports.allocation``,
``reports.forecast_report``) make one; ``reports.html``, ``reports.pdf`` and
``reports.excel`` render it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
_DISTRIBUTION = "coalition-fund-planner"


@dataclass(frozen=True)
class Chart:
    """A chart as inline SVG, with the name of the table that holds its data."""

    id: str
    title: str
    svg: str
    caption: str = ""
    data: str = ""


@dataclass(frozen=True)
class Table:
    """A table: ``frame`` holds raw values (for Excel), ``shown`` the formatted text (for
    HTML and PDF). ``numeric`` names the columns to right-align."""

    id: str
    title: str
    frame: pd.DataFrame
    shown: pd.DataFrame
    caption: str = ""
    numeric: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        id: str,
        title: str,
        frame: pd.DataFrame,
        formats: dict[str, Callable[[Any], str]] | None = None,
        caption: str = "",
    ) -> Table:
        """A table whose shown text applies ``formats`` (column -> formatter) to ``frame``."""
        formats = formats or {}
        shown = frame.copy()
        for column, fmt in formats.items():
            shown[column] = [fmt(v) if pd.notna(v) else "" for v in frame[column]]
        shown = shown.astype(object).where(shown.notna(), "")
        numeric = tuple(
            str(c)
            for c in frame.columns
            if c in formats or pd.api.types.is_numeric_dtype(frame[c].dtype)
        )
        # Columns shown in a unit hold their numbers in it, the unit in the header.
        units = {c: f.unit for c, f in formats.items() if isinstance(f, InUnit)}
        if units:
            frame = frame.assign(
                **{c: frame[c].astype(float) * formats[c].factor for c in units}  # type: ignore[union-attr]
            ).rename(columns={c: f"{c} ({u})" for c, u in units.items()})
        return cls(id, title, frame, shown, caption, numeric)


@dataclass(frozen=True)
class InUnit:
    """A formatter of amounts that says their unit: the workbook's sheet then holds each
    value times ``factor`` (in the fund's unit) under a header naming ``unit``."""

    format: Callable[[Any], str]
    factor: float
    unit: str

    def __call__(self, value: Any) -> str:
        return self.format(value)


def in_unit(format: Callable[[Any], str], fmt: Any, unit: str | None = None) -> InUnit:
    """``format`` for amounts in currency units (``fmt`` a report's formats with
    ``factor`` and ``unit``): shown as it formats them, held in the fund's unit; with
    ``unit`` (e.g. points per USD bn) the values are per currency unit, held per fund unit."""
    if unit is None:
        return InUnit(format, 1 / fmt.factor, fmt.unit)
    return InUnit(format, fmt.factor, unit)


@dataclass(frozen=True)
class Section:
    """A titled part of the report: paragraphs, then charts, then tables."""

    id: str
    title: str
    paragraphs: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A data source: what it is, who publishes it, under which licence."""

    name: str
    publisher: str
    licence: str
    detail: str = ""


@dataclass(frozen=True)
class Report:
    """A complete report. ``data`` holds extra frames (e.g. chart data) for Excel only."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    assumptions: tuple[str, ...]
    sources: tuple[Source, ...]
    provenance: tuple[tuple[str, str], ...]
    data: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> list[Table]:
        """Every table of every section, in reading order."""
        return [t for s in self.sections for t in s.tables]

    def charts(self) -> list[Chart]:
        """Every chart of every section, in reading order."""
        return [c for s in self.sections for c in s.charts]


def engine_version() -> str:
    """The package version (installed, else from pyproject.toml) and the git commit if known."""
    try:
        version = metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        try:
            with (ROOT / "pyproject.toml").open("rb") as handle:
                version = tomllib.load(handle)["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version} (commit {commit})" if commit else version


def sha256_files(paths: Iterable[Path], extra: Any = None) -> str:
    """SHA-256 over the bytes of ``paths`` (in the given order) and the JSON of ``extra``
    (e.g. the options that shaped the report), so the same inputs give the same hash."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    if extra is not None:
        digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def generated_at() -> str:
    """The current time in UTC, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
