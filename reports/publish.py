"""Write a report in the formats asked for: HTML always, PDF and Excel on request.

The files are one set, replaced in one step (:func:`engine.write_file_set`): they live in
a hidden folder beside ``--out`` (``.NAME.html.files``) and the names asked for are
links into it, so a report killed while writing never leaves a new HTML beside an old
PDF, and a twin not asked for this time (an older PDF) is removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine import OutputError, check_folder, write_file_set
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
    check_folder(_set_folder(out), _owned(out))
    return paths


def _owned(out: Path) -> tuple[str, ...]:
    return (out.name, out.with_suffix(".pdf").name, out.with_suffix(".xlsx").name)


def _set_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.files"


def publish(report: Report, out: str | os.PathLike[str], pdf: bool, xlsx: bool) -> list[Path]:
    """Write the report's HTML at ``out`` and, if asked, its PDF and workbook beside it,
    as one set replaced in one step.

    Every file is rendered before any is written. Returns the paths written. Raises
    OutputError for a bad path, an unwritable folder or missing PDF libraries.
    """
    paths = output_paths(out, pdf, xlsx)
    html = render_html(report)
    contents = [html.encode("utf-8")]
    for path in paths[1:]:
        contents.append(pdf_bytes(html) if path.suffix == ".pdf" else xlsx_bytes(report))
    write_file_set(dict(zip(paths, contents, strict=True)), _owned(paths[0]))
    return paths
