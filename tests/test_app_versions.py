"""The app's version store: round trips, lineage, and paths that never escape it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.versions import DATA_ENV, DEFAULT_DATA_DIR, VersionError, VersionStore, data_dir
from engine.errors import ScenarioError
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario, scenario_sha256


@pytest.fixture
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(tmp_path / "data")


def test_saved_version_loads_back_as_the_same_scenario(store: VersionStore, tiny: Scenario) -> None:
    version = store.save(tiny, "first", source="tiny.yaml")
    loaded = store.load(version.id)
    assert scenario_sha256(loaded) == scenario_sha256(tiny) == version.sha256
    assert version.id == "v0001"
    assert version.parent is None
    assert version.note == "first"
    assert version.created.endswith("+00:00")


def test_each_save_gets_the_next_id_and_keeps_its_parent(
    store: VersionStore, tiny: Scenario
) -> None:
    first = store.save(tiny, "base")
    edited = apply_edits(tiny, [f"areas.{tiny.areas[0].id}.priority=3"])
    second = store.save(edited, "priority 3", parent=first.id)
    assert second.id == "v0002"
    assert second.parent == "v0001"
    assert [v.id for v in store.list()] == ["v0001", "v0002"]
    assert store.load("v0002").areas[0].priority == 3
    assert store.find(scenario_sha256(edited)) == second


def test_metadata_and_yaml_are_plain_files_in_the_version_folder(
    store: VersionStore, tiny: Scenario
) -> None:
    version = store.save(tiny, "note")
    folder = store.folder / version.id
    assert sorted(p.name for p in folder.iterdir()) == ["scenario.yaml", "version.json"]
    meta = json.loads((folder / "version.json").read_text())
    assert (meta["id"], meta["note"], meta["parent"]) == (version.id, "note", None)
    assert store.yaml_text(version.id) == (folder / "scenario.yaml").read_text()


def test_saving_with_an_unknown_parent_is_refused(store: VersionStore, tiny: Scenario) -> None:
    with pytest.raises(VersionError, match="no version v0042"):
        store.save(tiny, "orphan", parent="v0042")
    assert store.list() == []


@pytest.mark.parametrize(
    "bad_id",
    ["../../etc/passwd", "v0001/../../x", "/etc/passwd", "v1", "V0001", "", "v0001\x00", ".."],
)
def test_malformed_ids_never_reach_the_file_system(
    store: VersionStore, tiny: Scenario, bad_id: str
) -> None:
    store.save(tiny, "base")
    for call in (store.get, store.load, store.yaml_text):
        with pytest.raises(VersionError, match="not a version id"):
            call(bad_id)
    with pytest.raises(VersionError, match="not a version id"):
        store.save(tiny, "x", parent=bad_id)


def test_an_incomplete_version_is_not_listed_and_its_id_is_not_reused(
    store: VersionStore, tiny: Scenario
) -> None:
    store.save(tiny, "base")
    (store.folder / "v0002").mkdir()
    (store.folder / "v0002" / "scenario.yaml").write_text("half")
    assert [v.id for v in store.list()] == ["v0001"]
    assert store.save(tiny, "next").id == "v0003"


def test_a_tampered_scenario_file_is_reported_not_loaded(
    store: VersionStore, tiny: Scenario
) -> None:
    version = store.save(tiny, "base")
    (store.folder / version.id / "scenario.yaml").write_text("fund: {name: x}\n")
    with pytest.raises(ScenarioError, match="members"):
        store.load(version.id)


def test_unreadable_metadata_is_skipped_in_the_list(store: VersionStore, tiny: Scenario) -> None:
    store.save(tiny, "base")
    store.save(tiny, "second")
    (store.folder / "v0002" / "version.json").write_text("{not json")
    assert [v.id for v in store.list()] == ["v0001"]
    with pytest.raises(VersionError, match="unreadable"):
        store.get("v0002")


def test_data_dir_prefers_the_option_then_the_environment_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_dir() == DEFAULT_DATA_DIR.resolve()
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert data_dir() == (tmp_path / "env").resolve()
    assert data_dir(tmp_path / "option") == (tmp_path / "option").resolve()
