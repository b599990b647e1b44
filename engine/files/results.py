"""Write a result's files (the ``--out DIR`` contract) atomically.

Files are written into a fresh temporary folder beside DIR, then swapped in with renames,
so a crash never leaves half-written files and old files are never mixed with new ones.
A DIR holding anything other than a previous run's files is refused, not overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from engine.errors import OutputError
from engine.files.atomic import _umask
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
    return {
        name: (lambda path, data=data: path.write_bytes(data))
        for name, data in result_file_bytes(result).items()
    }


def write_folder(
    out: str | os.PathLike[str], writers: dict[str, Callable[[Path], None]], owned: tuple[str, ...]
) -> Path:
    """Write files through a temporary folder and swap it in place of ``out``.

    ``owned`` names the files a previous run may have left; anything else in ``out``
    makes this raise OutputError instead of deleting a user's files.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out}: exists and is not a folder")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in owned)
        if foreign:
            raise OutputError(
                f"{out}: holds files this command did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder"
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        # mkdtemp makes the folder private; give it the permissions a new folder gets.
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as error:
        raise OutputError(f"{out}: cannot create the folder ({error.strerror or error})") from None
    try:
        for name, write in writers.items():
            write(tmp / name)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / "previous")
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot write ({error.strerror or error})") from None
    return out


def write_result(result: Result, out: str | os.PathLike[str]) -> Path:
    """Write allocation.csv, areas.csv, members.csv, constraints.csv, summary.json (and
    diagnosis.csv when infeasible) into ``out``; raises OutputError."""
    return write_folder(out, result_files(result), RESULT_FILES)


def frame_to_records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a frame as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records"))
