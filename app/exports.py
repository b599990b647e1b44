"""Results as downloads: the files of ``optimise.py solve --out``, and one Excel workbook.

The files come from the engine's own writer (:func:`engine.result_file_bytes`), so a file
downloaded from the app equals, byte for byte, the one ``solve --out`` writes for the
same scenario, project tables included, money in currency units. The Excel workbook is
for people: its money columns are in the fund's unit, named in their headers.
"""

from __future__ import annotations

import io

import pandas as pd

from engine import UNIT_FACTORS, Result, result_file_bytes, result_tables

#: The money columns of each result table (currency units in the files).
MONEY_COLUMNS = {
    "allocation": ("amount",),
    "areas": ("amount",),
    "members": ("pledged", "allocated", "carried_in", "carried_out", "unspent"),
    "projects": ("cost", "amount", "cost_cut"),
    "project_members": ("amount",),
}


def download_files(result: Result) -> dict[str, bytes]:
    """The result files by file name (allocation.csv, ..., summary.json), as written by
    ``optimise.py solve --out``."""
    return result_file_bytes(result)


def result_frames(result: Result) -> dict[str, pd.DataFrame]:
    """The result's tables by file stem, as the result files hold them."""
    return result_tables(result)


def in_fund_unit(name: str, frame: pd.DataFrame, result: Result) -> pd.DataFrame:
    """A result table with its money columns in the fund's unit, the unit in the header
    (``amount`` -> ``amount (USD bn)``)."""
    fund = result.scenario.fund
    money = [c for c in MONEY_COLUMNS.get(name, ()) if c in frame]
    factor = UNIT_FACTORS[fund.unit]
    scaled = frame.assign(**{c: frame[c].astype(float) / factor for c in money})
    return scaled.rename(columns={c: f"{c} ({fund.currency} {fund.unit})" for c in money})


def excel_bytes(result: Result) -> bytes:
    """An .xlsx workbook with a summary sheet and one sheet per result table, money in the
    fund's unit (:func:`in_fund_unit`)."""
    summary = pd.DataFrame(
        [(key, str(value)) for key, value in result.summary.items()], columns=["field", "value"]
    )
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name="summary", index=False)
        for name, frame in result_frames(result).items():
            in_fund_unit(name, frame, result).to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
