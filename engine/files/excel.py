"""Scenarios as Excel workbooks (.xlsx), for planners who keep their inputs in Excel.

A workbook holds one sheet per part of the scenario; the first row of each sheet names
its columns (text in brackets after a name, e.g. ``pledge (USD)``, is a hint and ignored):

- ``fund``: two columns ``field`` and ``value``, one row per field: name, currency, unit,
  years (``2026, 2027, 2028`` or ``2026-2030``), carry_over, and the objective's
  discount_rate and tie_break.
- ``members``: id, name, pledge (one amount a year, held flat) or ``pledge 2026``,
  ``pledge 2027``, ... (one column per year), opt_in, opt_out.
- ``areas``: id, name, priority, floor, ceiling, absorption, hard.
- ``value_curves`` (optional): area, up_to, marginal; one row per segment, in order.
- ``caps`` (optional): member, area, cap.
- ``policies`` (optional): id, label, areas, members, at_least, at_most, per, hard.
- one sheet per go/no-go section the scenario uses (``projects``, ``calls``,
  ``resources``, ``exclusions``, ...; see :data:`SECTION_MODELS`): one row per item, one
  column per field, cells written as in a YAML file (``2bn``, ``25%``, ``[DEU, FRA]``,
  ``{2026: 2bn, 2027: 4bn}``).
- one sheet per named section (policy ``paths``): a ``name`` column, then the fields.
- other top-level settings (``pledges``) are rows of sheet ``fund``, written as YAML text.
- ``about`` and any sheet whose name starts with ``notes`` are for people and not read.

Amounts are numbers in the fund's unit (``unit`` on sheet ``fund``: 18.9 means $18.9bn
when the unit is bn), or text with its own unit such as ``12bn``. A floor, ceiling or
policy bound in a cell formatted as a percentage (or text ``40%``) is a share of the
year's total. Lists are comma-separated ids; ``[]`` is an empty list.

A bad cell raises :class:`~engine.errors.ScenarioError` naming the sheet and the cell:
``sheet 'areas', cell D7 (areas[cyber].floor): must not be negative``.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from engine.errors import ScenarioError
from engine.files.atomic import atomic_write
from engine.scenario.fields import in_currency, money_text
from engine.scenario.schema import Limit, Scenario
from engine.scenario.units import UNIT_FACTORS, parse_money, parse_share
from engine.scenario.validate import validate_scenario

#: Sheets a workbook may hold, with the columns each may have (``pledge YYYY`` aside).
CORE_SHEETS: dict[str, tuple[str, ...]] = {
    "fund": ("field", "value", "note"),
    "members": ("id", "name", "pledge", "opt_in", "opt_out"),
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
    *FUND_EXTRAS,
)
_OBJECTIVE_FIELDS = ("discount_rate", "tie_break")
_LIMIT_COLUMNS = {"floor", "ceiling", "at_least", "at_most"}
_LIST_COLUMNS = {"opt_in", "opt_out", "areas", "members"}
_MONEY_COLUMNS = {"pledge", "up_to", "cap", *_LIMIT_COLUMNS}
_PLEDGE_YEAR = re.compile(r"^pledge\s+(\d{4})$")
_MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
_MONEY_FORMAT = "#,##0.0##########"
_SHARE_FORMAT = "0.0##########%"


@dataclass
class _Locations:
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


def _where(sheet: str, ref: str) -> str:
    return f"sheet '{sheet}'" + (f", {ref}" if ref else "")


def _shown(cell: Cell) -> str:
    """A cell's value as Excel shows it (shares as percentages)."""
    if _is_share(cell):
        return f"{cell.value * 100:g}%"
    return repr(cell.value)


def _header(cell: Cell) -> str:
    """A column's name: its header text before any hint in brackets, lower case."""
    text = "" if cell.value is None else str(cell.value)
    return text.split("(")[0].strip().lower().replace(" ", "_").replace("pledge_", "pledge ")


def _is_share(cell: Cell) -> bool:
    return isinstance(cell.value, int | float) and "%" in (cell.number_format or "")


def _split_list(value: Any) -> list[str]:
    text = str(value).strip()
    if text == "[]":
        return []
    return [part.strip() for part in text.strip("[]").split(",") if part.strip()]


def _years(value: Any) -> list[int] | Any:
    """Years from ``2026``, ``2026, 2027`` or ``2026-2030``; other values pass to validation."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, float) and value.is_integer():
        return [int(value)]
    if isinstance(value, str):
        text = value.strip()
        span = re.fullmatch(r"(\d{4})\s*[-–]\s*(\d{4})", text)
        if span:
            return list(range(int(span.group(1)), int(span.group(2)) + 1))
        parts = [p.strip() for p in text.strip("[]").split(",")]
        if parts and all(p.isdigit() for p in parts):
            return [int(p) for p in parts]
    return value


def _cell_value(cell: Cell, column: str, factor: float = 1.0) -> Any:
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
    if column in _LIMIT_COLUMNS and _is_share(cell):
        return {"share": float(value)}
    if column in _MONEY_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a plain number, in the fund's unit: validation reads it so
    if column in _LIST_COLUMNS:
        return _split_list(value)
    if column in ("id", "area", "member") and value is not None:
        return str(value)
    return value


def _section_value(cell: Cell) -> Any:
    """A go/no-go cell's value: ``[...]`` and ``{...}`` are YAML flow lists and maps."""
    value = cell.value
    if isinstance(value, str):
        value = value.strip()
        if value[:1] in ("[", "{"):
            return yaml.safe_load(value)
    return None if value == "" else value


class _Reader:
    """Turns a workbook into scenario data, noting the cell of every field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self.where = _Locations()
        self.factor = UNIT_FACTORS["bn"]

    def problem(self, sheet: str, ref: str, text: str) -> None:
        self.problems.append(f"{_where(sheet, ref)}: {text}")

    def rows(self, ws: Worksheet) -> Iterator[tuple[int, dict[str, Cell]]]:
        """Each non-blank row after the header, as {column name: cell}."""
        header = next(ws.iter_rows(min_row=1, max_row=1), ())
        known = SHEETS[ws.title]
        columns: dict[int, str] = {}
        for cell in header:
            name = _header(cell)
            if not name:
                continue
            if name not in known and not (ws.title == "members" and _PLEDGE_YEAR.match(name)):
                self.problem(
                    ws.title,
                    f"cell {cell.coordinate}",
                    f"unknown column {cell.value!r} (known: {', '.join(known)}"
                    + (", pledge YYYY)" if ws.title == "members" else ")"),
                )
            elif name in columns.values():
                self.problem(ws.title, f"cell {cell.coordinate}", f"column {name!r} appears twice")
            else:
                columns[cell.column] = name
        for row in ws.iter_rows(min_row=2):
            cells = {columns[c.column]: c for c in row if c.column in columns}
            if any(_cell_value(c, "") is not None for c in cells.values()):
                yield row[0].row, cells

    def record(
        self, sheet: str, path: str, cells: dict[str, Cell], skip: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The row's non-empty cells as a dict, noting each cell under ``path.column``."""
        item: dict[str, Any] = {}
        for column, cell in cells.items():
            if column in skip:
                continue
            value = _cell_value(cell, column, self.factor)
            if value is not None:
                item[column] = value
                self.where.add(f"{path}.{column}", sheet, f"cell {cell.coordinate}", cell)
                if isinstance(value, str) and column in _MONEY_COLUMNS:
                    self.check_amount(sheet, cell, value, share=column in _LIMIT_COLUMNS)
        return item

    def check_amount(self, sheet: str, cell: Cell, text: str, share: bool) -> None:
        """Report text in an amount cell that is not an amount (or a share, for bounds)."""
        try:
            if share and text.endswith("%"):
                parse_share(text)
            else:
                parse_money(text)
        except ValueError:
            unit = next((u for u, f in UNIT_FACTORS.items() if f == self.factor and u), "")
            self.problem(
                sheet,
                f"cell {cell.coordinate}",
                f"expected an amount such as 12.5 (in {unit}) or text like 12bn"
                + (" or a percentage" if share else "")
                + f"; the cell holds {text!r}",
            )

    def fund(self, ws: Worksheet) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The fund's fields, the objective's, and other top-level fields (YAML text)."""
        fund: dict[str, Any] = {}
        objective: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        seen: set[str] = set()
        for _, cells in self.rows(ws):
            key_cell, value_cell = cells.get("field"), cells.get("value")
            if key_cell is None or value_cell is None:
                continue
            name = str(key_cell.value or "").strip()
            if name not in FUND_FIELDS:
                self.problem(
                    "fund",
                    f"cell {key_cell.coordinate}",
                    f"unknown field {name!r} (known: {', '.join(FUND_FIELDS)})",
                )
                continue
            if name in seen:
                self.problem("fund", f"cell {key_cell.coordinate}", f"field {name!r} appears twice")
                continue
            seen.add(name)
            if name in FUND_EXTRAS:
                try:
                    value = _section_value(value_cell)
                except yaml.YAMLError as error:
                    problem = getattr(error, "problem", None) or "cannot be read"
                    self.problem(
                        "fund", f"cell {value_cell.coordinate}", f"not a valid map ({problem})"
                    )
                    continue
                if value is not None:
                    extras[name] = value
                    self.where.add(name, "fund", f"cell {value_cell.coordinate}", value_cell)
                continue
            value = _cell_value(value_cell, name)
            if value is None:
                continue
            if name == "years":
                value = _years(value)
                if not isinstance(value, list):
                    self.problem(
                        "fund",
                        f"cell {value_cell.coordinate}",
                        "expected years such as 2026, 2027, 2028 or 2026-2030; "
                        f"the cell holds {value_cell.value!r}",
                    )
                    continue
            target, prefix = (
                (objective, "objective") if name in _OBJECTIVE_FIELDS else (fund, "fund")
            )
            target[name] = value
            self.where.add(f"{prefix}.{name}", "fund", f"cell {value_cell.coordinate}", value_cell)
        return fund, objective, extras

    def items(self, ws: Worksheet) -> list[dict[str, Any]]:
        """One item per row of the members, areas or policies sheet."""
        kind = ws.title
        items = []
        for row, cells in self.rows(ws):
            ident = _cell_value(cells["id"], "id") if "id" in cells else None
            path = f"{kind}[{ident if ident is not None else len(items)}]"
            self.where.add(path, kind, f"row {row}")
            yearly = {c: cell for c, cell in cells.items() if _PLEDGE_YEAR.match(c)}
            item = self.record(kind, path, cells, skip=tuple(yearly))
            pledges = self.pledges(path, yearly)
            if pledges and "pledge" in item:
                self.problem(
                    kind,
                    f"row {row}",
                    "give either one pledge (column 'pledge') or pledges per year, not both",
                )
            elif pledges:
                item["pledge"] = pledges
            items.append(item)
        return items

    def section(self, ws: Worksheet) -> list[dict[str, Any]]:
        """One item per row of a go/no-go sheet (``projects``, ``calls``, ...)."""
        return [item for _, _, item in self.section_rows(ws, named=False)]

    def named(self, ws: Worksheet) -> dict[str, dict[str, Any]]:
        """One named item per row of a map sheet (such as ``paths``), keyed by ``name``."""
        kind = ws.title
        items: dict[str, dict[str, Any]] = {}
        for row, cells, item in self.section_rows(ws, named=True):
            name = item.pop("name", None)
            if name is None:
                self.problem(kind, f"row {row}", "each row needs a name")
            elif str(name) in items:
                ref = f"cell {cells['name'].coordinate}"
                self.problem(kind, ref, f"name {name!r} appears twice")
            else:
                items[str(name)] = item
        return items

    def section_rows(
        self, ws: Worksheet, named: bool
    ) -> list[tuple[int, dict[str, Cell], dict[str, Any]]]:
        """Rows of a section sheet as items; YAML flow text (``[...]``, ``{...}``) is parsed.

        Each cell is noted under the field path validation uses: ``projects[id].field``
        for lists, ``paths.name.field`` for maps.
        """
        kind = ws.title
        out = []
        for row, cells in self.rows(ws):
            key = "name" if named else "id"
            ident = _section_value(cells[key]) if key in cells else None
            if named:
                path = f"{kind}.{ident}"
            else:
                path = f"{kind}[{ident if ident is not None else len(out)}]"
            self.where.add(path, kind, f"row {row}")
            item: dict[str, Any] = {}
            for column, cell in cells.items():
                try:
                    value = _section_value(cell)
                except yaml.YAMLError as error:
                    problem = getattr(error, "problem", None) or "cannot be read"
                    self.problem(
                        kind, f"cell {cell.coordinate}", f"not a valid list or map ({problem})"
                    )
                    continue
                if value is not None:
                    item[column] = value
                    self.where.add(f"{path}.{column}", kind, f"cell {cell.coordinate}", cell)
            out.append((row, cells, item))
        return out

    def pledges(self, path: str, cells: dict[str, Cell]) -> dict[int, Any]:
        """A member's pledges from its ``pledge YYYY`` cells, by year."""
        pledges = {}
        for column, cell in cells.items():
            year = column.split()[1]
            value = _cell_value(cell, "pledge", self.factor)
            if value is not None:
                pledges[int(year)] = value
                for field_path in (f"{path}.pledge[{year}]", f"{path}.pledge.{year}"):
                    self.where.add(field_path, "members", f"cell {cell.coordinate}", cell)
        return pledges

    def value_curves(self, ws: Worksheet, areas: list[dict[str, Any]]) -> None:
        by_id = {a.get("id"): a for a in areas}
        for row, cells in self.rows(ws):
            area_id = _cell_value(cells["area"], "area") if "area" in cells else None
            if area_id not in by_id:
                ref = f"cell {cells['area'].coordinate}" if "area" in cells else f"row {row}"
                self.problem(
                    "value_curves",
                    ref,
                    f"unknown area {area_id!r} (areas on sheet 'areas': "
                    f"{', '.join(str(i) for i in by_id)})",
                )
                continue
            curve = by_id[area_id].setdefault("value_curve", [])
            path = f"areas[{area_id}].value_curve"
            self.where.cells.setdefault(path, ("value_curves", f"row {row}", None))
            curve.append(
                self.record("value_curves", f"{path}[{len(curve)}]", cells, skip=("area",))
            )
            self.where.add(f"{path}[{len(curve) - 1}]", "value_curves", f"row {row}")

    def caps(self, ws: Worksheet, members: list[dict[str, Any]]) -> None:
        by_id = {m.get("id"): m for m in members}
        for row, cells in self.rows(ws):
            member_id = _cell_value(cells["member"], "member") if "member" in cells else None
            area_id = _cell_value(cells["area"], "area") if "area" in cells else None
            if member_id not in by_id:
                ref = f"cell {cells['member'].coordinate}" if "member" in cells else f"row {row}"
                self.problem("caps", ref, f"unknown member {member_id!r} (not on sheet 'members')")
                continue
            if area_id is None or "cap" not in cells or cells["cap"].value is None:
                self.problem("caps", f"row {row}", "each cap needs a member, an area and a cap")
                continue
            caps = by_id[member_id].setdefault("caps", {})
            if area_id in caps:
                self.problem(
                    "caps", f"row {row}", f"a second cap for {member_id} in area {area_id!r}"
                )
                continue
            caps[area_id] = _cell_value(cells["cap"], "cap", self.factor)
            path = f"members[{member_id}].caps"
            self.where.cells.setdefault(path, ("caps", f"row {row}", None))
            self.where.add(
                f"{path}.{area_id}", "caps", f"cell {cells['cap'].coordinate}", cells["cap"]
            )

    def read(self) -> dict[str, Any]:
        """The scenario data; raises ScenarioError naming sheets and cells."""
        sheets = self._open()
        for name in SHEETS:
            self.where.add(name, name, "")
        for name in REQUIRED_SHEETS:
            if name not in sheets:
                self.problem(name, "", "sheet is missing (a scenario needs fund, members, areas)")
        if self.problems:
            raise ScenarioError(self.problems, str(self.path))
        fund, objective, extras = self.fund(sheets["fund"])
        unit = fund.get("unit", "bn")
        self.factor = UNIT_FACTORS.get(unit, 1.0) if isinstance(unit, str) else 1.0
        data: dict[str, Any] = {
            "fund": fund,
            "members": self.items(sheets["members"]),
            "areas": self.items(sheets["areas"]),
        }
        if "policies" in sheets:
            data["policies"] = self.items(sheets["policies"])
        if objective:
            data["objective"] = objective
        if "value_curves" in sheets:
            self.value_curves(sheets["value_curves"], data["areas"])
        if "caps" in sheets:
            self.caps(sheets["caps"], data["members"])
        self.where.add("objective", "fund", "")
        for name in SECTION_MODELS:
            if name in sheets:
                data[name] = self.section(sheets[name])
        for name in NAMED_MODELS:
            if name in sheets:
                data[name] = self.named(sheets[name])
        data.update(extras)
        if self.problems:
            raise ScenarioError(self.problems, str(self.path))
        return data

    def _open(self) -> dict[str, Worksheet]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise ScenarioError(["file not found"], str(self.path)) from None
        except OSError as error:
            raise ScenarioError(
                [f"cannot read the file ({error.strerror})"], str(self.path)
            ) from None
        if size > _MAX_WORKBOOK_BYTES:
            raise ScenarioError(
                [f"file is {size:,} bytes; the limit is {_MAX_WORKBOOK_BYTES:,} bytes"],
                str(self.path),
            )
        try:
            book = load_workbook(self.path, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
            raise ScenarioError(
                ["is not an Excel workbook (.xlsx); save it from Excel as 'Excel Workbook'"],
                str(self.path),
            ) from None
        sheets: dict[str, Worksheet] = {}
        for ws in book.worksheets:
            name = ws.title.strip().lower()
            if name == "about" or name.startswith("notes"):
                continue
            if name not in SHEETS:
                self.problem(
                    ws.title,
                    "",
                    f"unknown sheet (known: {', '.join(SHEETS)}; name sheets for your own "
                    "notes 'notes...')",
                )
                continue
            ws.title = name
            sheets[name] = ws
        return sheets

    def explain(self, error: ScenarioError) -> ScenarioError:
        """The validation's problems, each prefixed with the sheet and cell it came from."""
        problems = []
        for problem in error.problems:
            path, sep, text = problem.partition(": ")
            place = self.where.find(path) if sep else None
            if place is None:
                problems.append(problem)
                continue
            sheet, ref, cell = place
            if cell is not None:
                # Say what the cell holds, not the amount in currency units it became.
                text = re.sub(r"(,| \()\s*got .*$", "", text) + f"; the cell holds {_shown(cell)}"
            problems.append(f"{_where(sheet, ref)} ({path}): {text}")
        return ScenarioError(problems, str(self.path))


def read_workbook_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a scenario workbook into plain scenario data (as YAML would give).

    The data is validated here too, so that every problem names its sheet and cell;
    raises ScenarioError otherwise (also for a file that is not an .xlsx workbook).
    """
    reader = _Reader(Path(path))
    data = reader.read()
    try:
        validate_scenario(data, source=str(path), plain="fund")
    except ScenarioError as error:
        raise reader.explain(error) from None
    return data


def load_workbook_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario workbook; raises ScenarioError naming sheet and cell."""
    return validate_scenario(read_workbook_data(path), source=str(path), plain="fund")


# --------------------------------------------------------------------------- writing

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")


def _list_text(items: list[str] | None) -> str | None:
    if items is None:
        return None
    return ", ".join(items) if items else "[]"


def _exact(value: float, factor: float = 1.0) -> float | str:
    """A number that reads back as exactly ``value`` once multiplied by ``factor``.

    openpyxl stores 16 significant digits (Excel shows 15); when no such number gives
    ``value`` back, the amount is written as exact text in the fund's unit (``2.5bn``).
    """
    scaled = value / factor
    for candidate in (scaled, math.nextafter(scaled, math.inf), math.nextafter(scaled, -math.inf)):
        stored = float(f"{candidate:.16g}")
        if in_currency(stored, factor) == value:  # as the reader reads it back
            return stored
    unit = next((u for u, f in UNIT_FACTORS.items() if f == factor and u), None)
    return repr(value) if unit is None else money_text(value, unit)


def _validator_names(annotation: Any) -> set[str]:
    return {
        getattr(getattr(m, "func", None), "__name__", "")
        for m in getattr(annotation, "__metadata__", ())
    }


def _annotation(info: FieldInfo) -> Any:
    """A field's type with its validators (pydantic keeps those apart, in ``metadata``)."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _flow(value: Any) -> str:
    """A list or map as one line of YAML flow text (``{2026: 2bn, 2027: 4bn}``)."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9).strip()


def _strip(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` (or the annotation itself)."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _pick(annotation: Any, value: Any) -> Any:
    """The member of a union annotation that describes ``value``."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    for arg in get_args(annotation):
        origin = get_origin(arg)
        if (isinstance(value, dict) and origin is dict) or (
            isinstance(value, list) and origin is list
        ):
            return arg
        if isinstance(value, BaseModel) and arg is type(value):
            return arg
    scalars = [a for a in get_args(annotation) if a is not type(None) and get_origin(a) is not dict]
    return scalars[0] if scalars else annotation


class _Writer:
    """Fills a workbook's sheets from a scenario, amounts in the fund's unit."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.factor = UNIT_FACTORS[scenario.fund.unit]
        self.money = f"{scenario.fund.currency} {scenario.fund.unit}"

    def amount(self, cell: Cell, value: float | None) -> None:
        if value is None:
            return
        cell.value = _exact(value, self.factor)
        cell.number_format = _MONEY_FORMAT

    def number(self, cell: Cell, value: float, share: bool = False) -> None:
        cell.value = _exact(value)
        if share:
            cell.number_format = _SHARE_FORMAT

    def limit(self, cell: Cell, limit: Limit | None) -> None:
        if limit is None:
            return
        if limit.share is not None:
            # A share must stay a number (text would read as money); 16 digits are kept.
            cell.value = limit.share
            cell.number_format = _SHARE_FORMAT
        else:
            self.amount(cell, limit.amount)

    def present(self, value: Any, annotation: Any) -> Any:
        """A section value as a YAML file would write it: money as ``2bn``, shares as
        ``25%`` (whenever that text reads back exactly), nested values alike."""
        kinds = _validator_names(annotation)
        annotation = _pick(_strip(annotation), value)
        kinds |= _validator_names(annotation)
        annotation = _strip(annotation)
        if isinstance(value, BaseModel):
            fields = type(value).model_fields
            return {
                name: self.present(getattr(value, name), _annotation(fields[name]))
                # Fields the author set, defaults included: for a path that ``extends``
                # another, an explicit default still overrides the parent's value.
                for name in value.model_fields_set
                if name in fields
            }
        if isinstance(value, dict):
            inner = get_args(annotation)[1] if len(get_args(annotation)) == 2 else Any
            return {k: self.present(v, inner) for k, v in value.items()}
        if isinstance(value, list):
            inner = get_args(annotation)[0] if get_args(annotation) else Any
            return [self.present(v, inner) for v in value]
        if isinstance(value, float):
            if "_amount_in" in kinds:  # Money: text in the fund's unit, ``2bn``
                return money_text(value, self.scenario.fund.unit)
            if kinds & {"parse_share", "_ratio"}:
                text = f"{value * 100:.16g}"
                return f"{text}%" if float(text) / 100 == value else value
        return value

    def section(
        self, ws: Worksheet, model: type[BaseModel], items: list[BaseModel] | dict[str, BaseModel]
    ) -> None:
        """One row per item, one column per field of ``model`` (after ``name`` for a map);
        lists and maps as YAML flow text."""
        named = isinstance(items, dict)
        fields = (["name"] if named else []) + list(model.model_fields)
        _table(ws, fields, [max(10, min(40, len(f) + 12)) for f in fields])
        rows = items.items() if isinstance(items, dict) else ((None, i) for i in items)
        for row, (name, item) in enumerate(rows, start=2):
            present = self.present(item, model)
            if named:
                present = {"name": name, **present}
            for col, field_name in enumerate(fields, start=1):
                value = present.get(field_name)
                ws.cell(row, col, _flow(value) if isinstance(value, dict | list) else value)

    def about(self, ws: Worksheet) -> None:
        fund = self.scenario.fund
        lines = [
            f"Scenario workbook: {fund.name}",
            "",
            "Each sheet is one part of the scenario; the first row names the columns "
            "(text in brackets is a hint).",
            f"Amounts are numbers in {fund.currency} {fund.unit} (the fund's unit, set on sheet "
            "'fund'), or text with its own unit such as 12bn or 300m.",
            "A floor, ceiling or policy bound formatted as a percentage (type 40%) is a share "
            "of the year's total.",
            "Lists (opt_in, opt_out, areas, members) are ids separated by commas; [] is an "
            "empty list; an empty cell means 'not set'.",
            "A member pledges one amount a year (column 'pledge') or one per year (columns "
            "'pledge 2026', 'pledge 2027', ...; a missing year repeats the year before).",
            "Value curves: one row per segment, in order; leave up_to empty on the last.",
            "Optional sheets for go/no-go items: " + ", ".join(SECTION_MODELS) + ". There, "
            "each row is one item and cells hold values as a YAML scenario does: 2bn, 25%, "
            "lists [DEU, FRA] and maps {2026: 2bn, 2027: 4bn}.",
            "Sheets named 'about' or 'notes...' are not read.",
            "Check it: python optimise.py validate THIS.xlsx   Convert it: python optimise.py "
            "convert THIS.xlsx scenario.yaml",
        ]
        for row, line in enumerate(lines, start=1):
            ws.cell(row, 1, line)
        ws["A1"].font = Font(bold=True, size=14)
        ws.column_dimensions["A"].width = 120

    def fund(self, ws: Worksheet) -> None:
        fund, objective = self.scenario.fund, self.scenario.objective
        _table(ws, ["field", "value", "note (not read)"], [16, 40, 70])
        rows: list[tuple[str, Any, str]] = [
            ("name", fund.name, "the fund's name"),
            ("currency", fund.currency, "ISO 4217 code, e.g. USD, EUR"),
            ("unit", fund.unit, "unit of every amount in this workbook: k, m or bn"),
            ("years", ", ".join(str(y) for y in fund.years), "e.g. 2026, 2027 or 2026-2030"),
            ("carry_over", fund.carry_over, "whether unspent money carries to the next year"),
            ("discount_rate", None, "yearly discount of value, e.g. 2%"),
            ("tie_break", objective.tie_break, "pro_rata or none"),
        ]
        for row, (name, value, note) in enumerate(rows, start=2):
            ws.cell(row, 1, name)
            ws.cell(row, 2, value).alignment = Alignment(horizontal="left")
            ws.cell(row, 3, note).font = Font(italic=True, color="666666")
        self.number(ws.cell(7, 2), objective.discount_rate, share=True)
        row = len(rows) + 2
        for name in FUND_EXTRAS:
            value = getattr(self.scenario, name)
            if value is None or value == Scenario.model_fields[name].get_default(
                call_default_factory=True
            ):
                continue
            ws.cell(row, 1, name)
            ws.cell(row, 2, _flow(self.present(value, _annotation(Scenario.model_fields[name]))))
            ws.cell(row, 3, "as in a YAML scenario").font = Font(italic=True, color="666666")
            row += 1
        for ref, choices in (("B4", "k,m,bn"), ("B8", "pro_rata,none")):
            check = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=False)
            ws.add_data_validation(check)
            check.add(ref)

    def members(self, ws: Worksheet) -> None:
        years = _pledge_columns(self.scenario)
        pledge_headers = (
            [f"pledge {y} ({self.money})" for y in years]
            if years
            else [f"pledge ({self.money} a year)"]
        )
        headers = ["id", "name", *pledge_headers, "opt_in", "opt_out"]
        _table(ws, headers, [8, 24, *[16] * len(pledge_headers), 30, 30])
        for row, m in enumerate(self.scenario.members, start=2):
            ws.cell(row, 1, m.id)
            ws.cell(row, 2, m.name or None)
            if isinstance(m.pledge, dict):
                amounts = [m.pledge.get(y) for y in years] if years else [m.pledge[min(m.pledge)]]
            else:
                amounts = [m.pledge]
            for offset, amount in enumerate(amounts):
                self.amount(ws.cell(row, 3 + offset), amount)
            col = 3 + len(amounts)
            ws.cell(row, col, _list_text(m.opt_in))
            ws.cell(row, col + 1, _list_text(m.opt_out) if m.opt_out else None)

    def areas(self, ws: Worksheet) -> None:
        headers = [
            "id",
            "name",
            "priority",
            f"floor ({self.money} or %)",
            f"ceiling ({self.money} or %)",
            "absorption (%)",
            "hard",
        ]
        _table(ws, headers, [18, 44, 10, 18, 18, 16, 8])
        for row, a in enumerate(self.scenario.areas, start=2):
            ws.cell(row, 1, a.id)
            ws.cell(row, 2, a.name or None)
            self.number(ws.cell(row, 3), a.priority)
            self.limit(ws.cell(row, 4), a.floor)
            self.limit(ws.cell(row, 5), a.ceiling)
            if a.absorption is not None:
                self.number(ws.cell(row, 6), a.absorption, share=True)
            ws.cell(row, 7, a.hard)

    def value_curves(self, ws: Worksheet) -> None:
        _table(ws, ["area", f"up_to ({self.money})", "marginal (points per unit)"], [18, 18, 26])
        row = 2
        for a in self.scenario.areas:
            for segment in a.value_curve or []:
                ws.cell(row, 1, a.id)
                self.amount(ws.cell(row, 2), segment.up_to)
                self.number(ws.cell(row, 3), segment.marginal)
                row += 1

    def caps(self, ws: Worksheet) -> None:
        _table(ws, ["member", "area", f"cap ({self.money} a year)"], [10, 18, 18])
        row = 2
        for m in self.scenario.members:
            for area_id, cap in m.caps.items():
                ws.cell(row, 1, m.id)
                ws.cell(row, 2, area_id)
                self.amount(ws.cell(row, 3), cap)
                row += 1

    def policies(self, ws: Worksheet) -> None:
        headers = [
            "id",
            "label",
            "areas",
            "members",
            f"at_least ({self.money} or %)",
            f"at_most ({self.money} or %)",
            "per",
            "hard",
        ]
        _table(ws, headers, [18, 70, 28, 20, 18, 18, 10, 8])
        for row, p in enumerate(self.scenario.policies, start=2):
            ws.cell(row, 1, p.id)
            ws.cell(row, 2, p.label or None)
            ws.cell(row, 3, _list_text(p.areas))
            ws.cell(row, 4, _list_text(p.members))
            self.limit(ws.cell(row, 5), p.at_least)
            self.limit(ws.cell(row, 6), p.at_most)
            ws.cell(row, 7, p.per)
            ws.cell(row, 8, p.hard)
        check = DataValidation(type="list", formula1='"year,horizon"', allow_blank=True)
        ws.add_data_validation(check)
        check.add("G2:G1000")


def _table(ws: Worksheet, headers: list[str], widths: list[int]) -> None:
    for col, (title, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(1, col, title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"


def _pledge_columns(scenario: Scenario) -> list[int] | None:
    """Years for per-year pledge columns, or None when every pledge is flat."""
    years = scenario.fund.years
    for m in scenario.members:
        if isinstance(m.pledge, dict) and (
            set(m.pledge) != set(years) or len(set(m.pledge.values())) > 1
        ):
            return years
    return None


#: Fields the workbook holds, per part of the scenario; anything else set is refused.
_WRITTEN = {
    "scenario": {
        "fund",
        "members",
        "areas",
        "policies",
        "objective",
        *SECTION_MODELS,
        *NAMED_MODELS,
        *FUND_EXTRAS,
    },
    "fund": {"name", "currency", "unit", "years", "carry_over"},
    "members": {"id", "name", "pledge", "opt_in", "opt_out", "caps"},
    "areas": {"id", "name", "priority", "floor", "ceiling", "absorption", "value_curve", "hard"},
    "policies": {"id", "label", "areas", "members", "at_least", "at_most", "per", "hard"},
    "objective": {"discount_rate", "tie_break"},
}


def _unwritable(scenario: Scenario) -> list[str]:
    """Fields set in ``scenario`` that the workbook format cannot hold."""
    parts: list[tuple[str, Any]] = [("scenario", scenario), ("fund", scenario.fund)]
    parts += [("objective", scenario.objective)]
    parts += [
        (kind, item)
        for kind in ("members", "areas", "policies")
        for item in getattr(scenario, kind)
    ]
    found = []
    for kind, part in parts:
        for name in part.model_dump(exclude_defaults=True):
            label = name if kind == "scenario" else f"{kind}.{name}"
            if name not in _WRITTEN[kind] and label not in found:
                found.append(label)
    return found


def scenario_workbook(scenario: Scenario) -> Workbook:
    """The scenario as an openpyxl workbook in the format :func:`read_workbook_data` reads.

    Raises ScenarioError if the scenario uses parts a workbook cannot hold (projects,
    for example), rather than dropping them.
    """
    unwritable = _unwritable(scenario)
    if unwritable:
        raise ScenarioError(
            [
                f"the workbook format holds fund, members, areas, value curves, caps and "
                f"policies; this scenario also sets {', '.join(unwritable)}: keep it as YAML"
            ]
        )
    writer = _Writer(scenario)
    book = Workbook()
    book.active.title = "about"
    writer.about(book.active)
    for name in CORE_SHEETS:
        getattr(writer, name)(book.create_sheet(name))
    for name, model in (SECTION_MODELS | NAMED_MODELS).items():
        items = getattr(scenario, name)
        if items:
            writer.section(book.create_sheet(name), model, items)
    return book


def save_workbook(book: Workbook, path: str | os.PathLike[str]) -> None:
    """Save a workbook atomically (temporary file, then rename); raises OutputError."""
    atomic_write(path, book.save)


def write_workbook_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> None:
    """Write a scenario as an .xlsx workbook, atomically; raises OutputError."""
    save_workbook(scenario_workbook(scenario), path)
