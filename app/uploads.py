"""Read an uploaded scenario file like any other input: size-limited, validated, and
reported with a clear message that names the file and the field.

The bytes are written to a private temporary folder inside the app's data folder and
read with the engine's own readers (:data:`engine.files.scenario_files.READERS`), so an
upload accepts
exactly the formats and gives exactly the messages of ``optimise.py validate``. The
temporary folder is removed afterwards; the user's file name is reduced to safe
characters and never used as a path of its own.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from engine import READERS, EngineError, Scenario, ScenarioError, load_with_edits

#: Largest upload accepted, in bytes (Streamlit's ``server.maxUploadSize`` is set to match).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Streamlit's limit in megabytes, for ``--server.maxUploadSize``.
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // (1024 * 1024)


def upload_suffixes() -> list[str]:
    """File suffixes an upload may have (without the dot), as the engine can read them."""
    return sorted(suffix.lstrip(".") for suffix in READERS)


def safe_name(name: str) -> str:
    """The upload's base name reduced to letters, digits, ``.``, ``-`` and ``_``."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:100]
    return cleaned or "upload"


def read_upload(name: str, data: bytes, data_dir: Path) -> Scenario:
    """Validate an uploaded scenario file's bytes; ``name`` is the user's file name.

    Raises ScenarioError naming the upload for a file that is too large, of an unknown
    type, unreadable or invalid. Nothing is left behind in ``data_dir``.
    """
    shown = safe_name(name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(
            [f"file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes"], shown
        )
    suffix = Path(shown).suffix.lower()
    if suffix not in READERS:
        raise ScenarioError(
            [f"unsupported file type {suffix or '(none)'!r}; use {', '.join(sorted(READERS))}"],
            shown,
        )
    uploads = Path(data_dir) / "uploads"
    try:
        uploads.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=uploads))
    except OSError as error:
        raise ScenarioError(
            [f"cannot store the upload in {uploads} ({error.strerror or error})"], shown
        ) from None
    try:
        path = folder / shown
        path.write_bytes(data)
        return load_with_edits(path)
    except ScenarioError as error:
        raise ScenarioError(error.problems, shown) from None
    except EngineError as error:
        raise ScenarioError([str(error)], shown) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
