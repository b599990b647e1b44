"""Results as downloads: the files of ``optimise.py solve --out``, and one Excel workbook.

The files come from the engine's own writer (:func:`engine.result_file_bytes`), so a file
downloaded from the app equals, byte for byte, the one ``solve --out`` writes for the
same scenario, project tables included. Money stays in currency units.
"""

from __future__ import annotations

import io

import pandas as pd

from engine import Result, result_file_bytes, result_tables


def download_files(result: Result) -> dict[str, bytes]:
    """The result files by file name (allocation.csv, ..., summary.json), as written by
    ``optimise.py solve --out``."""
    return result_file_bytes(result)


def result_frames(result: Result) -> dict[str, pd.DataFrame]:
    """The result's tables by file stem, as the result files hold them."""
    return result_tables(result)


def excel_bytes(result: Result) -> bytes:
    """An .xlsx workbook with a summary sheet and one sheet per result table."""
    summary = pd.DataFrame(
        [(key, str(value)) for key, value in result.summary.items()], columns=["field", "value"]
    )
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name="summary", index=False)
        for name, frame in result_frames(result).items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
