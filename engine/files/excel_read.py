"""Read a scenario workbook (.xlsx) into scenario data, naming sheet and cell in messages.

The archive is checked first (:func:`engine.files.xlsx_guard.check_archive`: declared
sizes, sheet dimensions, no XML entities), then openpyxl parses it through defusedxml.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from engine.errors import ScenarioError
from engine.files.excel_layout import (
    FUND_EXTRAS,
    FUND_FIELDS,
    LIMIT_COLUMNS,
    MAX_WORKBOOK_BYTES,
    MONEY_COLUMNS,
    NAMED_MODELS,
    OBJECTIVE_FIELDS,
    PLEDGE_YEAR,
    REQUIRED_SHEETS,
    SECTION_MODELS,
    SHEETS,
    Locations,
    cell_value,
    column_name,
    header_money,
    section_value,
    shown,
    where,
    years_of,
)
from engine.files.text_formats import ParseProblem
from engine.files.xlsx_guard import check_archive
from engine.scenario.units import UNIT_FACTORS, parse_money, parse_share
from engine.scenario.validate import validate_scenario


class _Reader:
    """Turns a workbook into scenario data, noting the cell of every field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self.where = Locations()
        self.factor = UNIT_FACTORS["bn"]
        self.money: tuple[str, str] | None = None  # the fund's currency and unit, once read

    def problem(self, sheet: str, ref: str, text: str) -> None:
        self.problems.append(f"{where(sheet, ref)}: {text}")

    def rows(self, ws: Worksheet) -> Iterator[tuple[int, dict[str, Cell]]]:
        """Each non-blank row after the header, as {column name: cell}."""
        header = next(ws.iter_rows(min_row=1, max_row=1), ())
        known = SHEETS[ws.title]
        columns: dict[int, str] = {}
        for cell in header:
            name = column_name(cell)
            if not name:
                continue
            if name not in known and not (ws.title == "members" and PLEDGE_YEAR.match(name)):
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
                self.check_header(ws.title, cell, name)
        for row in ws.iter_rows(min_row=2):
            cells = {columns[c.column]: c for c in row if c.column in columns}
            if any(cell_value(c, "") is not None for c in cells.values()):
                yield row[0].row, cells

    def check_header(self, sheet: str, cell: Cell, name: str) -> None:
        """Report a money column whose header states another currency or unit than the
        fund's: its cells are read in the fund's unit, so a figure would be off by the
        ratio (a header in bn over a fund counted in m: a thousandfold)."""
        if self.money is None or not (name in MONEY_COLUMNS or PLEDGE_YEAR.match(name)):
            return
        stated = header_money(cell)
        currency, unit = self.money
        if stated is not None and stated != (currency, UNIT_FACTORS.get(unit, 1.0)):
            self.problem(
                sheet,
                f"cell {cell.coordinate}",
                f"header {cell.value!r} states another currency or unit than the fund's "
                f"({currency} {unit}, sheet 'fund'); the cells are read in {currency} {unit}: "
                "write the header and the cells in that unit, or change the fund's unit",
            )

    def record(
        self, sheet: str, path: str, cells: dict[str, Cell], skip: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The row's non-empty cells as a dict, noting each cell under ``path.column``."""
        item: dict[str, Any] = {}
        for column, cell in cells.items():
            if column in skip:
                continue
            try:
                value = cell_value(cell, column, self.factor)
            except ValueError as error:  # a percentage beyond 0-100%
                text = re.sub(r"(,| \()\s*got .*$", "", str(error))
                self.problems.append(
                    f"{where(sheet, f'cell {cell.coordinate}')} ({path}.{column}): {text}; "
                    f"the cell holds {shown(cell)}"
                )
                continue
            if value is not None:
                item[column] = value
                self.where.add(f"{path}.{column}", sheet, f"cell {cell.coordinate}", cell)
                if isinstance(value, str) and column in MONEY_COLUMNS:
                    self.check_amount(sheet, cell, value, share=column in LIMIT_COLUMNS)
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
                    value = section_value(value_cell)
                except ParseProblem as problem:
                    self.problem(
                        "fund", f"cell {value_cell.coordinate}", f"not a valid map ({problem})"
                    )
                    continue
                if value is not None:
                    extras[name] = value
                    self.where.add(name, "fund", f"cell {value_cell.coordinate}", value_cell)
                continue
            value = cell_value(value_cell, name)
            if value is None:
                continue
            if name == "years":
                value = years_of(value)
                if not isinstance(value, list):
                    self.problem(
                        "fund",
                        f"cell {value_cell.coordinate}",
                        "expected years such as 2026, 2027, 2028 or 2026-2030; "
                        f"the cell holds {value_cell.value!r}",
                    )
                    continue
            target, prefix = (
                (objective, "objective") if name in OBJECTIVE_FIELDS else (fund, "fund")
            )
            target[name] = value
            self.where.add(f"{prefix}.{name}", "fund", f"cell {value_cell.coordinate}", value_cell)
        return fund, objective, extras

    def items(self, ws: Worksheet) -> list[dict[str, Any]]:
        """One item per row of the members, areas or policies sheet."""
        kind = ws.title
        items: list[dict[str, Any]] = []
        for row, cells in self.rows(ws):
            ident = cell_value(cells["id"], "id") if "id" in cells else None
            path = f"{kind}[{ident if ident is not None else len(items)}]"
            self.where.add(path, kind, f"row {row}")
            yearly = {c: cell for c, cell in cells.items() if PLEDGE_YEAR.match(c)}
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
        out: list[tuple[int, dict[str, Cell], dict[str, Any]]] = []
        for row, cells in self.rows(ws):
            key = "name" if named else "id"
            ident = section_value(cells[key]) if key in cells else None
            if named:
                path = f"{kind}.{ident}"
            else:
                path = f"{kind}[{ident if ident is not None else len(out)}]"
            self.where.add(path, kind, f"row {row}")
            item: dict[str, Any] = {}
            for column, cell in cells.items():
                try:
                    value = section_value(cell)
                except ParseProblem as problem:
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
            value = cell_value(cell, "pledge", self.factor)
            if value is not None:
                pledges[int(year)] = value
                for field_path in (f"{path}.pledge[{year}]", f"{path}.pledge.{year}"):
                    self.where.add(field_path, "members", f"cell {cell.coordinate}", cell)
        return pledges

    def value_curves(self, ws: Worksheet, areas: list[dict[str, Any]]) -> None:
        by_id = {a.get("id"): a for a in areas}
        for row, cells in self.rows(ws):
            area_id = cell_value(cells["area"], "area") if "area" in cells else None
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
            member_id = cell_value(cells["member"], "member") if "member" in cells else None
            area_id = cell_value(cells["area"], "area") if "area" in cells else None
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
            caps[area_id] = cell_value(cells["cap"], "cap", self.factor)
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
        currency = fund.get("currency", "USD")
        if isinstance(unit, str) and unit in UNIT_FACTORS and isinstance(currency, str):
            self.money = (currency, unit)
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
        if size > MAX_WORKBOOK_BYTES:
            raise ScenarioError(
                [f"file is {size:,} bytes; the limit is {MAX_WORKBOOK_BYTES:,} bytes"],
                str(self.path),
            )
        check_archive(self.path)
        try:
            book = load_workbook(self.path, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
            raise ScenarioError(
                ["is not an Excel workbook (.xlsx); save it from Excel as 'Excel Workbook'"],
                str(self.path),
            ) from None
        except (SyntaxError, DefusedXmlException, ValueError) as error:  # ParseError is one
            raise ScenarioError(
                [f"the XML inside the workbook is malformed or refused ({error})"],
                str(self.path),
            ) from None
        self._unsaved_formulas(book)
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

    def _unsaved_formulas(self, values: Any) -> None:
        """A problem for each formula cell without a saved result: openpyxl reads its value
        as empty, so a floor written ``=3+4`` by a script would silently vanish."""
        formulas = load_workbook(self.path, data_only=False)
        for ws in formulas.worksheets:
            name = ws.title.strip().lower()
            if name == "about" or name.startswith("notes"):
                continue
            shown = values[ws.title]
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f" and shown[cell.coordinate].value is None:
                        self.problem(
                            ws.title,
                            f"cell {cell.coordinate}",
                            f"holds the formula {str(cell.value)[:60]!r} with no saved result; "
                            "open and save the workbook in Excel or LibreOffice, or type the value",
                        )

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
                text = re.sub(r"(,| \()\s*got .*$", "", text) + f"; the cell holds {shown(cell)}"
            problems.append(f"{where(sheet, ref)} ({path}): {text}")
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
