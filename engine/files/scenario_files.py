"""Read and write scenario files (YAML or JSON), safely and atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml

from engine.errors import ScenarioError
from engine.files.atomic import atomic_write_text
from engine.files.excel import read_workbook_data, write_workbook_scenario
from engine.files.text_formats import ParseProblem, parse_json, parse_yaml
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario

#: Largest scenario file accepted, in bytes; a bigger file is refused before parsing.
MAX_SCENARIO_BYTES = 20 * 1024 * 1024

#: Readers by file suffix; other modules (e.g. Excel workbooks) register theirs here.
READERS: dict[str, Callable[[Path], Any]] = {}


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ScenarioError(["file not found"], str(path)) from None
    except OSError as error:
        raise ScenarioError([f"cannot read the file ({error.strerror})"], str(path)) from None
    if path.is_dir():
        raise ScenarioError(["is a folder, expected a scenario file"], str(path))
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [f"file is {size:,} bytes; the limit is {MAX_SCENARIO_BYTES:,} bytes"], str(path)
        )
    try:  # utf-8-sig: a byte-order mark (as some Windows editors write) is not content
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(["is not UTF-8 text"], str(path)) from None


def _read_yaml(path: Path) -> Any:
    try:
        return parse_yaml(_read_text(path))
    except ParseProblem as problem:
        raise ScenarioError([str(problem)], str(path)) from None


def _read_json(path: Path) -> Any:
    try:
        return parse_json(_read_text(path))
    except ParseProblem as problem:
        raise ScenarioError([str(problem)], str(path)) from None


def _read_xlsx(path: Path) -> Any:
    # Imported here so that openpyxl loads only when a workbook is read.
    return read_workbook_data(path)


READERS.update({".yaml": _read_yaml, ".yml": _read_yaml, ".json": _read_json, ".xlsx": _read_xlsx})


def read_scenario_data(path: str | os.PathLike[str]) -> Any:
    """Read a scenario file into plain data without validating it.

    Raises ScenarioError naming the file for a missing, oversized, unreadable or
    unparsable file, or an unsupported suffix.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ScenarioError(
            [f"unsupported file type {path.suffix!r}; use {', '.join(sorted(READERS))}"],
            str(path),
        )
    return reader(path)


def plain_reading(path: str | os.PathLike[str]) -> Literal["currency", "fund"]:
    """How a file's plain amounts read: in the fund's unit in a workbook (its headers say
    so, ``pledge (USD bn)``), in the currency elsewhere (see :mod:`engine.scenario.fields`)."""
    return "fund" if Path(path).suffix.lower() == ".xlsx" else "currency"


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file as written (forecast pledges are not resolved: see
    :func:`engine.load_with_edits`); raises ScenarioError naming file and field."""
    return validate_scenario(read_scenario_data(path), source=str(path), plain=plain_reading(path))


def dump_scenario_yaml(scenario: Scenario) -> str:
    """The scenario as YAML text in the file format, as written (hand-written pledges and
    the ``from_forecast`` block, not the pledges resolved from it)."""
    return yaml.safe_dump(scenario.written().to_input(), sort_keys=False, allow_unicode=True)


def save_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> None:
    """Write a scenario as YAML, JSON or an Excel workbook (by suffix), atomically."""
    path = Path(path)
    scenario = scenario.written()
    if path.suffix.lower() == ".xlsx":
        write_workbook_scenario(scenario, path)
    elif path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(scenario.to_input(), indent=2))
    else:
        atomic_write_text(path, dump_scenario_yaml(scenario))
