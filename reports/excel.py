"""The report's tables and charts' data as an Excel workbook: one sheet per table.

The first sheet, ``about``, holds the key facts, assumptions, sources and the facts needed
to reproduce the report. Values are raw numbers (amounts in the fund's unit, as the
column headers say; shares as percentages), so they can be charted and summed in Excel.
"""

from __future__ import annotations

import io
import re

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.document import Report

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")


def sheet_name(name: str) -> str:
    """A valid sheet name (Excel: at most 31 characters, none of ``[]:*?/\\``)."""
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31]


def _write_frame(ws: Worksheet, frame: pd.DataFrame) -> None:
    for col, name in enumerate(frame.columns, start=1):
        cell = ws.cell(1, col, str(name))
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        width = max([len(str(name))] + [len(str(v)) for v in frame[name].head(200)]) + 2
        ws.column_dimensions[get_column_letter(col)].width = min(max(width, 8), 60)
    percent = {i for i, n in enumerate(frame.columns) if "share" in str(n)}
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(row):
            if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
                continue
            if hasattr(value, "item"):
                value = value.item()
            cell = ws.cell(r, c + 1, value)
            if isinstance(value, float):
                cell.number_format = "0.0%" if c in percent else "#,##0.000"
    ws.freeze_panes = "A2"


def _about(ws: Worksheet, report: Report) -> None:
    rows: list[tuple[str, str]] = [(report.title, ""), (report.subtitle, ""), ("", "")]
    rows += [*list(report.facts), ("", ""), ("Assumptions", "")]
    rows += [("", a) for a in report.assumptions] + [("", ""), ("Sources", "")]
    rows += [(s.name, f"{s.publisher}; licence: {s.licence}; {s.detail}") for s in report.sources]
    rows += [("", ""), ("Reproducibility", ""), *list(report.provenance)]
    for r, (label, value) in enumerate(rows, start=1):
        ws.cell(r, 1, label)
        ws.cell(r, 2, value)
        if label in ("Assumptions", "Sources", "Reproducibility") and not value:
            ws.cell(r, 1).font = Font(bold=True)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 120


def report_workbook(report: Report) -> Workbook:
    """The workbook: ``about``, then one sheet per table (named by its id), then extra data."""
    book = Workbook()
    book.active.title = "about"
    _about(book.active, report)
    used = {"about"}
    frames = [(t.id, t.frame) for t in report.tables()] + list(report.data.items())
    for name, frame in frames:
        title = sheet_name(name)
        if title in used:
            continue
        used.add(title)
        _write_frame(book.create_sheet(title), frame)
    return book


def xlsx_bytes(report: Report) -> bytes:
    """The report's workbook as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    report_workbook(report).save(buffer)
    return buffer.getvalue()
