"""The workbook format's layout: its sheets and columns, and how one cell reads.

Shared by :mod:`engine.files.excel_read` and :mod:`engine.files.excel_write`; the format
itself is described in :mod:`engine.files.excel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from openpyxl.cell.cell import Cell
from pydantic import BaseModel

from engine.files.text_formats import parse_yaml
from engine.scenario.schema import Scenario
from engine.scenario.units import UNIT_FACTORS, parse_share

#: Sheets a workbook may hold, with the columns each may have (``pledge YYYY`` aside).
CORE_SHEETS: dict[str, tuple[str, ...]] = {
    "fund": ("field", "value", "note"),
    "members": ("id", "name", "pledge", "opt_in", "opt_out", "priorities"),
    "areas": ("id", "name", "priority", "floor", "ceiling", "absorption", "hard"),
    "value_curves": ("area", "up_to", "marginal"),
    "caps": ("member", "area", "cap"),
    "policies": ("id", "label", "areas", "members", "at_least", "at_most", "per", "hard"),
}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _sections(container: type) -> dict[str, type[BaseModel]]:
    """The scenario's fields of type ``container[..., Model]``, by name (core ones aside).

    Derived from the Scenario model, so a section added to the format gets its sheet.
    """
    sections = {}
    for name, info in Scenario.model_fields.items():
        args = get_args(info.annotation)
        if name in ("members", "areas", "policies") or get_origin(info.annotation) is not container:
            continue
        if args and _is_model(args[-1]):
            sections[name] = args[-1]
    return sections


#: Sheets of the go/no-go sections (lists: projects, calls, ...): one row per item, one
#: column per field; cells hold values as a YAML file does (``2bn``, ``25%``; lists and
#: maps in YAML flow style).
SECTION_MODELS = _sections(list)
#: Sheets of named sections (maps such as policy ``paths``): a ``name`` column, then fields.
NAMED_MODELS = _sections(dict)
#: Other top-level fields (such as ``pledges``): a row each on sheet ``fund``, as YAML text.
FUND_EXTRAS = tuple(
    name
    for name in Scenario.model_fields
    if name not in {*CORE_SHEETS, "policies", "objective", *SECTION_MODELS, *NAMED_MODELS}
)
SHEETS: dict[str, tuple[str, ...]] = {
    **CORE_SHEETS,
    **{name: tuple(model.model_fields) for name, model in SECTION_MODELS.items()},
    **{name: ("name", *model.model_fields) for name, model in NAMED_MODELS.items()},
}
REQUIRED_SHEETS = ("fund", "members", "areas")
FUND_FIELDS = (
    "name",
    "currency",
    "unit",
    "years",
    "carry_over",
    "discount_rate",
    "tie_break",
    "member_weights",
    *FUND_EXTRAS,
)
OBJECTIVE_FIELDS = ("discount_rate", "tie_break", "member_weights")
LIMIT_COLUMNS = {"floor", "ceiling", "at_least", "at_most"}
LIST_COLUMNS = {"opt_in", "opt_out", "areas", "members"}
MONEY_COLUMNS = {"pledge", "up_to", "cap", *LIMIT_COLUMNS}
PLEDGE_YEAR = re.compile(r"^pledge\s+(\d{4})$")
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MONEY_FORMAT = "#,##0.0##########"
SHARE_FORMAT = "0.0##########%"


@dataclass
class Locations:
    """Where each field of the scenario data came from, to name cells in messages."""

    cells: dict[str, tuple[str, str, Cell | None]] = field(default_factory=dict)

    def add(self, path: str, sheet: str, ref: str, cell: Cell | None = None) -> None:
        self.cells[path] = (sheet, ref, cell)

    def find(self, path: str) -> tuple[str, str, Cell | None] | None:
        """The cell (or row, or sheet) of ``path`` or of its nearest enclosing field."""
        while path:
            if path in self.cells:
                return self.cells[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None


def where(sheet: str, ref: str) -> str:
    return f"sheet '{sheet}'" + (f", {ref}" if ref else "")


def shown(cell: Cell) -> str:
    """A cell's value as Excel shows it (shares as percentages)."""
    if is_share(cell):
        return f"{cell.value * 100:g}%"
    return repr(cell.value)


def column_name(cell: Cell) -> str:
    """A column's name: its header text before any hint in brackets, lower case."""
    text = "" if cell.value is None else str(cell.value)
    return text.split("(")[0].strip().lower().replace(" ", "_").replace("pledge_", "pledge ")


_HEADER_MONEY = re.compile(r"\(\s*([A-Z]{3})\b(?:\s+([A-Za-z]+))?")
_UNIT_WORDS = {"thousand": "k", "thousands": "k", "million": "m", "millions": "m",
               "billion": "bn", "billions": "bn", "trillion": "tn", "trillions": "tn"}  # fmt: skip


def header_money(cell: Cell) -> tuple[str, float] | None:
    """The currency and unit size a money column's header states (``pledge (USD m)`` gives
    ``("USD", 1e6)``; a currency alone, plain currency units), or None if it states none."""
    match = _HEADER_MONEY.search("" if cell.value is None else str(cell.value))
    if not match:
        return None
    word = (match.group(2) or "").lower()
    unit = _UNIT_WORDS.get(word, word if word in UNIT_FACTORS else "")
    return match.group(1), UNIT_FACTORS[unit]


def is_share(cell: Cell) -> bool:
    return isinstance(cell.value, int | float) and "%" in (cell.number_format or "")


def split_list(value: Any) -> list[str]:
    text = str(value).strip()
    if text == "[]":
        return []
    return [part.strip() for part in text.strip("[]").split(",") if part.strip()]


def years_of(value: Any) -> list[int] | Any:
    """Years from ``2026``, ``2026, 2027`` or ``2026-2030``; other values pass to validation."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, float) and value.is_integer():
        return [int(value)]
    if isinstance(value, str):
        text = value.strip()
        span = re.fullmatch(r"(\d{4})\s*[-–]\s*(\d{4})", text)
        if span and int(span.group(1)) <= int(span.group(2)):  # 2030-2026 is no span
            return list(range(int(span.group(1)), int(span.group(2)) + 1))
        parts = [p.strip() for p in text.strip("[]").split(",")]
        if parts and all(p.isdigit() for p in parts):
            return [int(p) for p in parts]
    return value


def cell_value(cell: Cell, column: str, factor: float = 1.0) -> Any:
    """A cell's value in the scenario format.

    Numbers in money columns are in the fund's unit and stay plain numbers (the format's
    rule; ``factor`` is that unit's size, for messages); bounds in percentage-formatted
    cells are shares.
    """
    value = cell.value
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return None
    if column in LIMIT_COLUMNS and is_share(cell):
        return {"share": parse_share(value)}  # ValueError beyond 0-100%
    if column in MONEY_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a plain number, in the fund's unit: validation reads it so
    if column in LIST_COLUMNS:
        return split_list(value)
    if column == "priorities":  # a member's own priorities, as YAML flow text
        return section_value(cell)
    if column in ("id", "area", "member") and value is not None:
        return str(value)
    return value


def section_value(cell: Cell) -> Any:
    """A go/no-go cell's value: ``[...]`` and ``{...}`` are YAML flow lists and maps."""
    value = cell.value
    if isinstance(value, str):
        value = value.strip()
        if value[:1] in ("[", "{"):
            return parse_yaml(value)
    return None if value == "" else value
