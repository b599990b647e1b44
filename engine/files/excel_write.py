"""Write a scenario as a workbook (.xlsx) in the format :mod:`engine.files.excel_read` reads."""

from __future__ import annotations

import math
import os
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from engine.errors import ScenarioError
from engine.files.atomic import atomic_write
from engine.files.excel_layout import (
    CORE_SHEETS,
    FUND_EXTRAS,
    MONEY_FORMAT,
    NAMED_MODELS,
    SECTION_MODELS,
    SHARE_FORMAT,
)
from engine.scenario.fields import in_currency, money_text
from engine.scenario.schema import Limit, Scenario
from engine.scenario.units import UNIT_FACTORS

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
        cell.number_format = MONEY_FORMAT

    def number(self, cell: Cell, value: float, share: bool = False) -> None:
        cell.value = _exact(value)
        if share:
            cell.number_format = SHARE_FORMAT

    def limit(self, cell: Cell, limit: Limit | None) -> None:
        if limit is None:
            return
        if limit.share is not None:
            # A share must stay a number (text would read as money); 16 digits are kept.
            cell.value = limit.share
            cell.number_format = SHARE_FORMAT
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
        if objective.member_weights is not None:
            rows.append(("member_weights", objective.member_weights, "pledge or equal"))
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
        stated = any(m.priorities is not None for m in self.scenario.members)
        headers = ["id", "name", *pledge_headers, "opt_in", "opt_out"]
        headers += ["priorities"] if stated else []  # YAML flow text, as in a file
        _table(ws, headers, [8, 24, *[16] * len(pledge_headers), 30, 30, 40][: len(headers)])
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
            if m.priorities is not None:
                ws.cell(
                    row, col + 2, _flow(m.priorities.model_dump(mode="json", exclude_none=True))
                )

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
    "members": {"id", "name", "pledge", "opt_in", "opt_out", "caps", "priorities"},
    "areas": {"id", "name", "priority", "floor", "ceiling", "absorption", "value_curve", "hard"},
    "policies": {"id", "label", "areas", "members", "at_least", "at_most", "per", "hard"},
    "objective": {"discount_rate", "tie_break", "member_weights"},
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
