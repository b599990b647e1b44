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


def test_the_default_scenario_is_loaded_and_solved_and_loading_is_not_saving(
    page, data: Path
) -> None:
    assert page.title[0].value == "Alternative Security Partnership Fund"
    assert _by_label(page.metric, "Status").value == "optimal"
    _by_label(page.sidebar.button, "Load shipped scenario").click().run()
    assert VersionStore(data).list() == []
    assert "Working copy of aspf-2026.yaml" in page.caption[0].value


def test_the_sidebar_lists_only_this_sessions_versions(page, data: Path) -> None:
    scenario = load_scenario(SCENARIOS_DIR / "nif.yaml")
    other = VersionStore(data).save(scenario, "another session's plan", None, "nif.yaml")
    page.run()
    assert not [s for s in page.sidebar.selectbox if s.label == "Saved version"]
    _by_label(page.text_input, "Version note").input("mine").run()
    _by_label(page.button, "Save version").click().run()
    saved = _by_label(page.sidebar.selectbox, "Saved version")
    assert saved.options == ["v0002 · mine"]
    _open_tab(page, "Versions")
    _by_label(page.selectbox, "Open a version saved in another session").select(other.id).run()
    _by_label(page.button, "Load that version").click().run()
    assert page.title[0].value == scenario.fund.name
    saved = _by_label(page.sidebar.selectbox, "Saved version")
    assert sorted(saved.options) == ["v0001 · another session's plan", "v0002 · mine"]


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
        ("Edit (PATH=VALUE)", "members.DEU.pledge=10,5", "members[DEU].pledge: expected an"),
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
    assert not page.error[0].value.startswith("--set")  # the page's words, not the CLI's
    assert _by_label(page.metric, "Status").value == "optimal"


def test_saved_edits_become_versions_with_their_parent_and_can_be_compared(
    page, data: Path
) -> None:
    _by_label(page.button, "Save version").click().run()
    assert "saved v0001: saved without changes" in page.success[0].value
    _edit_area(page, "cyber", "Floor", "30")
    _by_label(page.text_input, "Version note").input("cyber floor 30").run()
    _by_label(page.button, "Save version").click().run()
    assert "saved v0002: cyber floor 30" in page.success[0].value
    store = VersionStore(data)
    assert [(v.id, v.parent, v.note) for v in store.list()] == [
        ("v0001", None, "saved without changes"),
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
    assert "would not change while its priority stays between" in _text(page)


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


def test_every_download_holds_its_file_and_the_workbook_opens(page, monkeypatch) -> None:
    """The downloads' data is made in the session (a callable would run outside it, where
    ``st.session_state`` has no result: the Excel download did nothing, issue 14)."""
    import io

    from openpyxl import load_workbook
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data if isinstance(path_or_data, bytes) else b""
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    _open_tab(page, "Downloads")
    assert not page.exception
    buttons = page.get("download_button")
    assert len(buttons) >= 4
    for button in buttons:
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
        assert stored.get(file_id), button.proto.label
    excel = next(b for b in buttons if b.proto.label == "Download results (Excel)")
    book = load_workbook(io.BytesIO(stored[excel.proto.url.rsplit("/", 1)[-1].split(".")[0]]))
    assert len(book.sheetnames) >= 3


def test_solve_applies_what_the_edit_boxes_hold(page) -> None:
    page.selectbox(key="area_pick").select("cyber").run()
    _by_label(page.text_input, "Floor for cyber").input("30").run()  # not applied
    _solve(page)
    assert not page.exception
    assert any("Applied before solving: areas.cyber.floor=30bn" in i.value for i in page.info)
    text = _text(page)
    scenario = load_scenario(SCENARIOS_DIR / "aspf-2026.yaml")
    assert "cyber in 2026: " in text
    assert views.plain(money(30e9, scenario)) in text


def test_the_status_and_the_changes_come_before_the_edit_form(page) -> None:
    _edit_area(page, "cyber", "Floor", "12")
    _solve(page)
    elements = list(page.main)
    kinds = [type(e).__name__ for e in elements]
    labels = [getattr(e, "label", None) for e in elements]
    assert _by_label(page.metric, "Status").value == "optimal"
    first_box = next(i for i, label in enumerate(labels) if str(label).startswith("Floor for"))
    assert kinds.index("Metric") < first_box
    assert kinds.index("Subheader") < first_box  # "Changes against the baseline"


def test_why_lines_name_constraints_in_words_not_row_names() -> None:
    import pandas as pd

    class _Cmp:
        binding = pd.DataFrame(
            {
                "label": ["member_projects[ITA,capability,2027]", "the cyber floor in 2026"],
                "status": ["became binding", "became binding"],
            }
        )

    (line,) = views.binding_sentences(_Cmp())  # type: ignore[arg-type]
    assert "member_projects[" not in line
    assert "member projects (ITA, capability, 2027)" in line
    assert "the cyber floor in 2026" in line


def test_every_area_of_a_shipped_scenario_has_a_colour_of_its_own() -> None:
    for name in ("aspf-2026", "nif", "diana"):
        scenario = load_scenario(SCENARIOS_DIR / f"{name}.yaml")
        colours = views.area_colours(scenario)
        assert len(set(colours.values())) == len(scenario.areas) >= 1
    assert len(views.AREA_PALETTE) >= 14


@pytest.mark.parametrize("tab", ["Allocation", "Flows", "Diff", "Members"])
def test_the_allocation_flows_diff_and_members_tabs_each_draw_a_chart(page, tab: str) -> None:
    _edit_area(page, "cyber", "Floor", "30")
    _solve(page)
    _open_tab(page, tab)
    assert not page.exception
    charts = page.get("vega_lite_chart")
    assert len(charts) == 1, f"{tab}: {len(charts)} charts"


def test_change_tables_show_each_money_column_with_one_precision() -> None:
    import pandas as pd

    from app.panels import money_columns

    scenario = load_scenario(SCENARIOS_DIR / "aspf-2026.yaml")
    frame = pd.DataFrame(
        {
            "area": ["a", "b"],
            "before": [10.0, 9.699],
            "after": [22.0798, 6.58],
            "change": [12.0798, -3.119],
        }
    )
    formats = {c: s["type_config"].get("format") for c, s in money_columns(frame, scenario).items()}
    assert formats == {"before": "%.2f", "after": "%.2f", "change": "%+.2f"}
