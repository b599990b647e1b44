"""Results as downloads: CSV files with the ``--out`` columns and one Excel workbook.

Money stays in currency units, as in ``optimise.py solve --out``, so files from the app
and from the command line can be compared cell by cell.
"""

from __future__ import annotations

import io

import pandas as pd

from engine import Result


def result_frames(result: Result) -> dict[str, pd.DataFrame]:
    """The result's tables by file stem: allocation, areas, members, constraints, and
    diagnosis when the scenario is infeasible."""
    frames = {
        "allocation": result.allocation,
        "areas": result.areas,
        "members": result.members,
        "constraints": result.constraints.drop(
            columns=["area", "member", "policy"], errors="ignore"
        ),
    }
    if not result.diagnosis.empty:
        frames["diagnosis"] = result.diagnosis
    return frames


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as UTF-8 CSV without the index."""
    return frame.to_csv(index=False).encode("utf-8")


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
