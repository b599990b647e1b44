"""Write a report in the formats asked for: HTML always, PDF and Excel on request."""

from __future__ import annotations

import os
from pathlib import Path

from engine import OutputError, atomic_write_bytes
from reports.document import Report
from reports.excel import xlsx_bytes
from reports.html import render_html
from reports.pdf import pdf_bytes


def output_paths(out: str | os.PathLike[str], pdf: bool, xlsx: bool) -> list[Path]:
    """The files a report writes: ``out`` (HTML) and, beside it, .pdf and .xlsx twins.

    Raises OutputError if ``out`` is not an .html file name or is a folder.
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{out}: --out must name an .html file (e.g. report.html)")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; --out must name an .html file")
    paths = [out]
    if pdf:
        paths.append(out.with_suffix(".pdf"))
    if xlsx:
        paths.append(out.with_suffix(".xlsx"))
    return paths


def publish(report: Report, out: str | os.PathLike[str], pdf: bool, xlsx: bool) -> list[Path]:
    """Write the report's HTML at ``out`` and, if asked, its PDF and workbook beside it.

    Every file is rendered before any is written, so a failure leaves no partial set.
    Returns the paths written. Raises OutputError for a bad path, an unwritable folder or
    missing PDF libraries.
    """
    paths = output_paths(out, pdf, xlsx)
    html = render_html(report)
    contents = [html.encode("utf-8")]
    for path in paths[1:]:
        contents.append(pdf_bytes(html) if path.suffix == ".pdf" else xlsx_bytes(report))
    for path, data in zip(paths, contents, strict=True):
        atomic_write_bytes(path, data)
    return paths
