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
from engine.results.schema import Result

RESULT_FILES = (
    "allocation.csv",
    "areas.csv",
    "members.csv",
    "constraints.csv",
    "diagnosis.csv",
    "projects.csv",
    "project_members.csv",
    "summary.json",
)


def result_files(result: Result) -> dict[str, Callable[[Path], None]]:
    """Writers of each contract file, by file name."""
    constraints = result.constraints.drop(columns=["area", "member", "policy"], errors="ignore")
    frames = {
        "allocation.csv": result.allocation,
        "areas.csv": result.areas,
        "members.csv": result.members,
        "constraints.csv": constraints,
    }
    writers: dict[str, Callable[[Path], None]] = {
        name: (lambda path, f=frame: f.to_csv(path, index=False)) for name, frame in frames.items()
    }
    if not result.diagnosis.empty:
        writers["diagnosis.csv"] = lambda path: result.diagnosis.to_csv(path, index=False)
    if not result.projects.empty:
        writers["projects.csv"] = lambda path: result.projects.to_csv(path, index=False)
        writers["project_members.csv"] = lambda path: result.project_members.to_csv(
            path, index=False
        )
    writers["summary.json"] = lambda path: path.write_text(
        json.dumps(result.summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return writers


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
