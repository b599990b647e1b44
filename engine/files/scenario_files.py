"""Read and write scenario files (YAML or JSON), safely and atomically."""

from __future__ import annotations

import json
import os
import stat
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


def check_regular_file(path: Path, what: str = "scenario") -> int:
    """The size in bytes of ``path``, a regular file; raises ScenarioError naming it if it
    is missing, a folder, or a device, pipe or socket (reading ``/dev/zero`` or a FIFO
    would never end)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(["file not found"], str(path)) from None
    except OSError as error:
        raise ScenarioError([f"cannot read the file ({error.strerror})"], str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError([f"is a folder, expected a {what} file"], str(path))
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            [f"is a device, pipe or socket, not a file; give a {what} file"], str(path)
        )
    return info.st_size


def _read_text(path: Path) -> str:
    size = check_regular_file(path)
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [f"file is {size:,} bytes; the limit is {MAX_SCENARIO_BYTES:,} bytes"], str(path)
        )
    try:  # utf-8-sig: a byte-order mark (as some Windows editors write) is not content
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(["is not UTF-8 text"], str(path)) from None


#: What an empty file (or one of only comments, or YAML's null) is told.
EMPTY = "is empty (or holds only comments)"


def _read_yaml(path: Path) -> Any:
    try:
        data = parse_yaml(_read_text(path))
    except ParseProblem as problem:
        raise ScenarioError([str(problem)], str(path)) from None
    if data is None:
        raise ScenarioError([EMPTY], str(path))
    return data


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    if not text.strip():
        raise ScenarioError([EMPTY], str(path))
    try:
        return parse_json(text)
    except ParseProblem as problem:
        raise ScenarioError([str(problem)], str(path)) from None


def _read_xlsx(path: Path) -> Any:
    # Imported here so that openpyxl loads only when a workbook is read.
    return read_workbook_data(path)


READERS.update({".yaml": _read_yaml, ".yml": _read_yaml, ".json": _read_json, ".xlsx": _read_xlsx})


def _is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; False for a name the system cannot even look up (too
    long), which the file checks then name."""
    try:
        return path.is_dir()
    except OSError:
        return False


def read_scenario_data(path: str | os.PathLike[str]) -> Any:
    """Read a scenario file into plain data without validating it.

    Raises ScenarioError naming the file for a missing, oversized, unreadable or
    unparsable file, or an unsupported suffix.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if _is_folder(path):
        raise ScenarioError(
            [f"is a folder, not a scenario file (a file ends in {', '.join(sorted(READERS))})"],
            str(path),
        )
    if reader is None:
        if not path.suffix and not path.exists():  # a mistyped shipped name, most likely
            problem = (
                "no such file or shipped scenario (shipped names are the files of "
                f"datasets/scenarios/; a file ends in {', '.join(sorted(READERS))})"
            )
        else:
            problem = f"unsupported file type {path.suffix!r}; use {', '.join(sorted(READERS))}"
        raise ScenarioError([problem], str(path))
    check_regular_file(path)
    return reader(path)


def read_yaml_file(path: str | os.PathLike[str], what: str) -> Any:
    """Read a YAML file (a sweep, ...) into plain data with the scenario files' limits:
    a regular file within the size limit, duplicate keys, deep nesting and expanding
    aliases refused; raises ScenarioError naming the file (``what`` names the kind)."""
    path = Path(path)
    check_regular_file(path, what)
    return _read_yaml(path)


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
