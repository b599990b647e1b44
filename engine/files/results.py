"""Write a result's files (the ``--out DIR`` contract) atomically.

Through :func:`engine.files.folder.write_folder`: the files are written into a temporary
folder beside DIR that then takes DIR's place in one step, so a crash never leaves
half-written files nor old files mixed with new ones. A DIR holding anything other than
a previous run's files is refused, not overwritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from engine.files.folder import check_folder, folder_of_bytes, write_folder
from engine.results.schema import RESULT_FILES, Result, result_tables


def result_file_bytes(result: Result) -> dict[str, bytes]:
    """The content of each result file, by file name: the tables of
    :func:`engine.results.schema.result_tables` as UTF-8 CSV, and ``summary.json``. What
    :func:`write_result` writes, and what the app offers as downloads."""
    files = {
        f"{stem}.csv": frame.to_csv(index=False).encode("utf-8")
        for stem, frame in result_tables(result).items()
    }
    files["summary.json"] = (json.dumps(result.summary, indent=2, default=str) + "\n").encode()
    return files


def result_files(result: Result) -> dict[str, Callable[[Path], None]]:
    """Writers of each contract file, by file name."""
    return folder_of_bytes(result_file_bytes(result))


def check_result_folder(out: str | os.PathLike[str]) -> Path:
    """Refuse, before any solving, an ``out`` that :func:`write_result` would refuse (a
    file, a folder of other files, a path the file system cannot take); raises
    OutputError."""
    return check_folder(out, RESULT_FILES)


def write_result(result: Result, out: str | os.PathLike[str]) -> Path:
    """Write allocation.csv, areas.csv, members.csv, constraints.csv, summary.json (and
    diagnosis.csv when infeasible) into ``out``; raises OutputError."""
    return write_folder(out, result_files(result), RESULT_FILES)


def frame_to_records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a frame as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records"))
