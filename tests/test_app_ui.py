"""The app's page logic through Streamlit's own test driver (no browser, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import views
from app.versions import DATA_ENV, VersionStore
from datasets import SCENARIOS_DIR
from engine.files.scenario_files import load_scenario
from engine.results.describe import money

testing = pytest.importorskip("streamlit.testing.v1", reason="needs the streamlit package")

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app" / "streamlit_app.py")


def _by_label(elements, label: str):
    return next(e for e in elements if e.label == label)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def page(data: Path):
    """The page after its first run: the default scenario loaded, solved and saved."""
    at = testing.AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    return at


def _edit_area(at, area: str, field: str, value: str) -> None:
    at.selectbox(key="area_pick").select(area).run()
    _by_label(at.text_input, f"{field} for {area}").input(value).run()
    _by_label(at.button, "Apply area edit").click().run()


def _solve(at) -> None:
    _by_label(at.button, "Solve").click().run()


def _open_tab(at, name: str) -> None:
    at.session_state["result_tab"] = name
    at.run()


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_default_scenario_is_loaded_solved_and_saved_as_the_first_version(
    page, data: Path
) -> None:
    assert page.title[0].value == "Alternative Security Partnership Fund"
    assert _by_label(page.metric, "Status").value == "optimal"
    versions = VersionStore(data).list()
    assert [(v.id, v.parent, v.note) for v in versions] == [
        ("v0001", None, "loaded aspf-2026.yaml")
    ]


def test_a_raised_floor_is_solved_warm_and_shown_as_a_change(page) -> None:
    _edit_area(page, "cyber", "Floor", "30")
    assert "1 unsaved edit" in page.caption[0].value
    _solve(page)
    assert not page.error
    assert _by_label(page.metric, "Solved in").delta == "warm start"
    text = _text(page)
    assert "cyber in 2026: " in text
    scenario = load_scenario(SCENARIOS_DIR / "aspf-2026.yaml")
    assert views.plain(money(30e9, scenario)) in text
    assert "**Why:** became binding: the cyber floor in 2026" in text


def test_an_impossible_floor_shows_the_smallest_fixes(page) -> None:
    _edit_area(page, "cyber", "Floor", "500")
    _solve(page)
    assert "No plan" in page.error[0].value
    fixes = page.table[0].value
    assert fixes["change"].str.contains("lower the cyber floor in 2026").any()


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("Floor for capability", "lots", "areas[capability].floor"),
        ("Edit (PATH=VALUE)", "areas.atlantis.floor=1bn", "no item with id 'atlantis'"),
        ("Edit (PATH=VALUE)", "no equals sign", "expected PATH=VALUE"),
    ],
)
def test_a_bad_edit_shows_the_field_and_keeps_the_plan(
    page, label: str, value: str, message: str
) -> None:
    _by_label(page.text_input, label).input(value).run()
    button = "Apply area edit" if label.startswith("Floor") else "Apply edit"
    _by_label(page.button, button).click().run()
    assert not page.exception
    assert message.replace("[", "\\[").replace("]", "\\]").replace("_", "\\_") in (
        page.error[0].value
    )
    assert _by_label(page.metric, "Status").value == "optimal"


def test_saved_edits_become_versions_with_their_parent_and_can_be_compared(
    page, data: Path
) -> None:
    _edit_area(page, "cyber", "Floor", "30")
    _by_label(page.text_input, "Version note").input("cyber floor 30").run()
    _by_label(page.button, "Save version").click().run()
    assert "saved v0002: cyber floor 30" in page.success[0].value
    store = VersionStore(data)
    assert [(v.id, v.parent, v.note) for v in store.list()] == [
        ("v0001", None, "loaded aspf-2026.yaml"),
        ("v0002", "v0001", "cyber floor 30"),
    ]
    assert store.load("v0002").area("cyber").floor.amount == pytest.approx(30e9)
    _open_tab(page, "Versions")
    _by_label(page.button, "Compare versions").click().run()
    assert not page.error
    assert "v0001 → v0002" in _text(page)


@pytest.mark.parametrize("name", ["aspf-2026.xlsx", "diana.yaml", "nif.yaml"])
def test_every_shipped_scenario_loads_and_solves(page, name: str) -> None:
    page.sidebar.selectbox[0].select(name).run()
    _by_label(page.sidebar.button, "Load shipped scenario").click().run()
    assert not page.exception
    assert not page.error
    assert _by_label(page.metric, "Status").value in ("optimal", "feasible")
    assert page.title[0].value == load_scenario(SCENARIOS_DIR / name).fund.name


def test_shadow_prices_are_sentences_and_their_ranges_come_on_request(page) -> None:
    _open_tab(page, "Shadow prices")
    text = _text(page)
    assert "each extra " in text
    assert "value points" in text
    _by_label(page.button, "Show where these prices hold").click().run()
    assert not page.error
    assert "funding would not change while its priority stays between" in _text(page)


def test_the_nearest_plan_that_works_can_be_found_and_used(page) -> None:
    _edit_area(page, "cyber", "Floor", "500")
    _solve(page)
    _by_label(page.button, "Find the nearest plan that works").click().run()
    changes = page.table[0].value
    assert changes["path"].to_list() == ["areas.cyber.floor"]
    _by_label(page.button, "Use these values").click().run()
    _solve(page)
    assert _by_label(page.metric, "Status").value == "optimal"


def test_the_projects_tab_lists_the_go_no_go_projects(page) -> None:
    _open_tab(page, "Projects")
    assert not page.exception
    scenario = load_scenario(SCENARIOS_DIR / "aspf-2026.yaml")
    shown = next(d.value for d in page.dataframe if "project" in d.value.columns)
    assert sorted(shown["project"]) == sorted(p.id for p in scenario.projects)
    assert "projects funded" in "\n".join(c.value for c in page.caption)
