"""Saved scenario versions, kept in the app's data folder and never outside it.

Each version is a folder ``versions/vNNNN/`` holding ``scenario.yaml`` (the scenario in
the file format) and ``version.json`` (id, parent, time, note, source, content hash).
The folder is claimed with an exclusive ``mkdir``, so two saves never share an id, and
both files are written atomically; a version without its ``version.json`` is incomplete
and not listed. Ids are checked against a strict pattern before any path is built, so a
crafted id can never reach a file outside the store.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine import (
    EngineError,
    Scenario,
    atomic_write_text,
    dump_scenario_yaml,
    load_with_edits,
    scenario_sha256,
)

#: Environment variable naming the app's data folder (``--data-dir`` sets it).
DATA_ENV = "ENGINE_APP_DATA"
#: Where the app keeps its data unless told otherwise.
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "coalition-fund-planner"

_ID = re.compile(r"^v\d{4,9}$")
_SCENARIO_FILE = "scenario.yaml"
_META_FILE = "version.json"


class VersionError(EngineError):
    """A version id is malformed or unknown, or the store cannot be written."""


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The app's data folder: ``explicit``, else ``$ENGINE_APP_DATA``, else the default."""
    chosen = explicit or os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class Version:
    """One saved scenario version's metadata (``created`` is ISO 8601 UTC)."""

    id: str
    parent: str | None
    created: str
    note: str
    source: str
    sha256: str
    fund: str


class VersionStore:
    """Scenario versions under ``root/versions``; ``root`` is created on first save."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.folder = self.root / "versions"

    def _dir(self, version_id: str) -> Path:
        if not isinstance(version_id, str) or not _ID.match(version_id):
            raise VersionError(f"{version_id!r} is not a version id (expected v0001, v0002, ...)")
        path = (self.folder / version_id).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise VersionError(f"{version_id!r} points outside the version store")
        return path

    def _claim(self) -> tuple[str, Path]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VersionError(
                f"{self.folder}: cannot create the version store ({error.strerror or error})"
            ) from None
        taken = [int(p.name[1:]) for p in self.folder.iterdir() if _ID.match(p.name)]
        number = max(taken, default=0) + 1
        while True:
            version_id = f"v{number:04d}"
            try:
                path = self._dir(version_id)
                path.mkdir()
                return version_id, path
            except FileExistsError:
                number += 1
            except OSError as error:
                raise VersionError(
                    f"{self.folder}: cannot save a version ({error.strerror or error})"
                ) from None

    def save(
        self, scenario: Scenario, note: str, parent: str | None = None, source: str = ""
    ) -> Version:
        """Save ``scenario`` as a new version; raises VersionError for an unknown parent."""
        if parent is not None:
            self.get(parent)
        version_id, path = self._claim()
        version = Version(
            id=version_id,
            parent=parent,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            note=note.strip(),
            source=source,
            sha256=scenario_sha256(scenario),
            fund=scenario.fund.name,
        )
        atomic_write_text(path / _SCENARIO_FILE, dump_scenario_yaml(scenario))
        atomic_write_text(path / _META_FILE, json.dumps(asdict(version), indent=2) + "\n")
        return version

    def get(self, version_id: str) -> Version:
        """The metadata of one version; raises VersionError if it is unknown."""
        meta = self._dir(version_id) / _META_FILE
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            return Version(**{k: data[k] for k in Version.__dataclass_fields__})
        except FileNotFoundError:
            raise VersionError(f"there is no version {version_id}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise VersionError(f"{meta}: unreadable version metadata ({error})") from None

    def list(self) -> list[Version]:
        """Every complete, readable version, oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir(), key=lambda p: p.name):
            if not _ID.match(path.name) or not (path / _META_FILE).is_file():
                continue
            try:
                found.append(self.get(path.name))
            except VersionError:
                continue
        return sorted(found, key=lambda v: int(v.id[1:]))

    def load(self, version_id: str) -> Scenario:
        """The scenario of a version, validated again; raises VersionError or ScenarioError."""
        self.get(version_id)
        return load_with_edits(self._dir(version_id) / _SCENARIO_FILE)

    def yaml_text(self, version_id: str) -> str:
        """The version's scenario file as saved (for downloads)."""
        self.get(version_id)
        path = self._dir(version_id) / _SCENARIO_FILE
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise VersionError(f"{path}: cannot read ({error.strerror or error})") from None

    def find(self, sha256: str) -> Version | None:
        """The oldest version with this content hash, if any (to avoid saving duplicates)."""
        return next((v for v in self.list() if v.sha256 == sha256), None)
