"""Check a workbook's archive before openpyxl parses it: bounded size, cells, no entities.

A 1.5 MB .xlsx can unzip to gigabytes, a sheet's ``<dimension>`` can span all 17 billion
cells of the grid and its XML can declare entities (XXE, "billion laughs"). openpyxl
would spend minutes and gigabytes on them (or read local files into cells), so
:func:`check_archive` refuses them first from the zip's headers, the sheets' declared
dimensions and the XML prologs, in milliseconds. openpyxl then parses through defusedxml
(a dependency) as a second line.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from openpyxl.utils.cell import column_index_from_string

from engine.errors import ScenarioError

#: Largest uncompressed part of a workbook, and largest total, in bytes.
MAX_PART_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
#: Most parts (files) in the archive.
MAX_PARTS = 2000
#: Largest sheet: rows, columns and cells (rows x columns) its dimension may span.
MAX_ROWS, MAX_COLUMNS, MAX_CELLS = 50_000, 500, 250_000

_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"'
)
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_RELATION = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def _refuse(path: Path, problem: str) -> ScenarioError:
    return ScenarioError([problem], str(path))


def _sheet_names(book: zipfile.ZipFile) -> dict[str, str]:
    """Zip part of each sheet -> the sheet's name (empty when the workbook is unusual)."""
    try:
        parts = [book.getinfo(n) for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")]
        if any(info.file_size > MAX_PART_BYTES for info in parts):
            return {}
        workbook, rels = (book.read(info) for info in parts)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        return {}
    targets = {}
    for tag in _RELATION.findall(rels):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get(b"Target", b"").decode("utf-8", "replace")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[attrs.get(b"Id", b"")] = str(PurePosixPath(part))
    names = {}
    for tag in _SHEET.findall(workbook):
        attrs = dict(_ATTR.findall(tag))
        rid = attrs.get(b"r:id")
        if rid in targets:
            names[targets[rid]] = attrs.get(b"name", b"").decode("utf-8", "replace")
    return names


def _part(name: str, sheets: dict[str, str]) -> str:
    return f"part {name} (sheet {sheets[name]!r})" if name in sheets else f"part {name}"


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo], sheets: dict[str, str]) -> None:
    if len(infos) > MAX_PARTS:
        raise _refuse(path, f"the workbook has {len(infos):,} parts; the limit is {MAX_PARTS:,}")
    total = 0
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise _refuse(
                path,
                f"{_part(info.filename, sheets)} declares {info.file_size:,} bytes "
                f"uncompressed; the limit is {MAX_PART_BYTES:,} (a zip bomb, or a sheet far "
                "too big)",
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise _refuse(
            path, f"the workbook is {total:,} bytes uncompressed; the limit is {MAX_TOTAL_BYTES:,}"
        )


def _check_dimension(path: Path, sheet: str, head: bytes) -> None:
    match = _DIMENSION.search(head)
    if match is None:
        return
    first_col, first_row, last_col, last_row = match.groups()
    if last_col is None:
        last_col, last_row = first_col, first_row
    rows = int(last_row) - int(first_row) + 1
    columns = (
        column_index_from_string(last_col.decode())
        - column_index_from_string(first_col.decode())
        + 1
    )
    ref = match.group(0).split(b'"')[1].decode()
    if rows > MAX_ROWS or columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
        raise _refuse(
            path,
            f"sheet {sheet!r} spans {ref} ({rows:,} rows x {columns:,} columns); a sheet may "
            f"span at most {MAX_ROWS:,} rows, {MAX_COLUMNS:,} columns and {MAX_CELLS:,} "
            "cells (delete the cells far from the table)",
        )


def _check_xml(path: Path, part: str, data: bytes) -> None:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _refuse(
            path,
            f"{part} declares a DOCTYPE or entities, which workbooks never need "
            "(refused: entity declarations can read local files or expand without bound)",
        )


def check_archive(path: Path) -> None:
    """Raise ScenarioError (naming the part or sheet) for a workbook too big to open or
    holding XML entity declarations; a file that is not a zip is left to openpyxl."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with book:
        infos = book.infolist()
        sheets = _sheet_names(book) if len(infos) <= MAX_PARTS else {}
        _check_sizes(path, infos, sheets)
        for info in infos:
            if not info.filename.lower().endswith(_XML_SUFFIXES):
                continue
            try:
                data = book.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as error:
                raise _refuse(path, f"part {info.filename} cannot be unzipped ({error})") from None
            _check_xml(path, _part(info.filename, sheets), data)
            if info.filename in sheets:
                _check_dimension(path, sheets[info.filename], data[:4096])
