"""End to end: the real app (``python optimise.py app``) driven in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium and the playwright package (``.ci/run``
installs both); skips with the reason otherwise. The app runs as a subprocess on a free
localhost port with its own data folder and is always stopped afterwards.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from app.versions import VersionStore
from engine import result_file_bytes, result_tables
from engine.files.scenario_files import load_scenario
from engine.results.describe import money
from engine.scenario.schema import Scenario, scenario_sha256
from engine.solving.pipeline import solve
from tests.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
#: Bound on waiting for the server to answer (polled, not a performance limit).
STARTUP_POLLS = 240
#: Bound on waiting for a page element after an action, in milliseconds.
WAIT_MS = 90_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
openpyxl = pytest.importorskip("openpyxl", reason="needs the openpyxl package")
pytest.importorskip("streamlit", reason="needs the streamlit package")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _see(locator) -> None:
    """Wait (bounded) until the locator is visible; fail with Playwright's report if not."""
    sync_api.expect(locator).to_be_visible(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's log and data folder (``data/``, shared by the module's sessions)."""
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def app_url(app_folder: Path) -> Iterator[str]:
    """The app started once for the module with ``optimise.py app`` on a free port;
    stopped afterwards."""
    folder = app_folder
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "app.log").open("w")
    command = [sys.executable, "optimise.py", "app", "--port", str(port)]
    command += ["--data-dir", str(folder / "data")]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        for _ in range(STARTUP_POLLS):
            if _answers(url) or process.poll() is not None:
                break
            time.sleep(0.5)
        if not _answers(url):
            log.flush()
            pytest.fail(f"the app did not start: {(folder / 'app.log').read_text()[-2000:]}")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open_session(browser, app_url: str, width: int = 1400, height: int = 1600):
    """A new browser context on the app (a new working session), once the default
    scenario is shown."""
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(app_url, wait_until="domcontentloaded")
    _see(tab.get_by_role("heading", name="Alternative Security Partnership Fund"))
    return tab


@pytest.fixture
def page(browser, app_url: str) -> Iterator[object]:
    """A Chromium page on the app in a session of its own."""
    tab = _open_session(browser, app_url)
    try:
        yield tab
    finally:
        tab.context.close()


def _set_area_field(page, area: str, field: str, value: str, edits: int) -> None:
    """Edit one field of an area and wait until the page counts ``edits`` unsaved edits
    (a click that lands while the page is still re-running would otherwise be lost)."""
    page.get_by_label("Area to edit").click()
    page.get_by_role("option", name=area, exact=True).click()
    box = page.get_by_role("textbox", name=f"{field} for {area}", exact=True)
    box.fill(value)
    box.press("Enter")
    page.get_by_role("button", name="Apply area edit").click()
    _see(page.get_by_text(f"{edits} unsaved edit"))


def _solve(page) -> None:
    page.get_by_role("button", name="Solve", exact=True).click()


def _cyber_2026(default_scenario_path: Path) -> tuple[str, float]:
    """The baseline's cyber funding in 2026, and a floor $2bn above it."""
    scenario = load_scenario(default_scenario_path)
    areas = solve(scenario).areas
    amount = float(areas[(areas["area"] == "cyber") & (areas["year"] == 2026)]["amount"].iat[0])
    return money(amount, scenario), amount + 2e9


def test_raising_a_floor_shows_the_new_figure_and_the_diff_then_an_impossible_floor_shows_the_diagnosis(  # noqa: E501
    page, default_scenario_path: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(default_scenario_path)
    before, floor = _cyber_2026(default_scenario_path)
    after = money(floor, scenario)

    _set_area_field(page, "cyber", "Floor", f"{floor / 1e9:g}", edits=1)
    _solve(page)
    _see(page.get_by_text(f"cyber in 2026: {before} → {after}"))
    _see(page.get_by_text("Changes against the baseline"))
    page.get_by_role("tab", name="Diff").click()
    _see(page.get_by_text("Area funding that changed"))

    _set_area_field(page, "cyber", "Floor", "500", edits=2)
    _solve(page)
    _see(page.get_by_text("Smallest changes that make the plan possible again"))
    _see(page.get_by_text("lower the cyber floor in 2026").first)

    shot = tmp_path / "diagnosis.png"
    page.screenshot(path=str(shot), full_page=True)
    from PIL import Image, ImageStat

    with Image.open(shot) as image:
        grey = image.convert("L")
        colours = grey.getcolors(maxcolors=256) or []
        assert len(colours) > 32, "the screenshot has almost no distinct shades: blank page?"
        assert ImageStat.Stat(grey).stddev[0] > 10, "the screenshot is nearly uniform"


def test_a_bad_upload_shows_a_clear_message_and_a_good_one_loads(page) -> None:
    page.locator("input[type=file]").set_input_files(
        files=[
            {
                "name": "broken.yaml",
                "mimeType": "application/x-yaml",
                "buffer": b"fund: [unclosed\n",
            }
        ]
    )
    _see(page.get_by_text("broken.yaml: line").first)
    _see(page.get_by_text("not valid YAML").first)
    assert "Traceback" not in page.content()
    _solve(page)
    _see(page.get_by_text("optimal").first)

    nif = ROOT / "datasets" / "scenarios" / "nif.yaml"
    page.locator("input[type=file]").set_input_files(files=[str(nif)])
    name = load_scenario(nif).fund.name
    _see(page.get_by_role("heading", name=name))


def _save_version(page, note: str) -> None:
    page.get_by_label("Version note").fill(note)
    page.get_by_role("button", name="Save version").click()
    _see(page.get_by_text(re.compile(rf"saved v\d+: {re.escape(note)}")))


def _open(path: Path, scenario: Scenario) -> object:
    """A downloaded file opened as what its name says it is."""
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".xlsx":
        return openpyxl.load_workbook(path, read_only=True).sheetnames
    assert path.suffix == ".yaml", path
    return scenario_sha256(load_scenario(path))


def test_every_download_button_gives_a_file_that_opens_as_what_it_is(
    page, default_scenario_path: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(default_scenario_path)
    result = solve(scenario)
    _save_version(page, "to download")
    page.get_by_role("tab", name="Downloads").click()
    _see(page.get_by_role("button", name="Download results (Excel)"))
    buttons = page.get_by_test_id("stDownloadButton")
    # Every result file, the workbook, the scenario and the saved version: wait until the
    # page has drawn them all (the buttons appear one by one).
    sync_api.expect(buttons).to_have_count(len(result_file_bytes(result)) + 3, timeout=WAIT_MS)
    files: dict[str, Path] = {}
    for k in range(buttons.count()):
        with page.expect_download() as info:
            buttons.nth(k).click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        files[target.name] = target
    expected = {
        name: pd.read_csv(io.BytesIO(data))
        for name, data in result_file_bytes(result).items()
        if name.endswith(".csv")
    }
    version_yaml = [n for n in files if re.fullmatch(r"v\d+\.yaml", n)]
    assert sorted(files) == sorted(
        [*result_file_bytes(result), "results.xlsx", "scenario.yaml", *version_yaml]
    )
    assert len(version_yaml) == 1
    for name, path in files.items():
        opened = _open(path, scenario)
        if name in expected:
            pd.testing.assert_frame_equal(opened, expected[name], rtol=1e-9)
        elif name == "summary.json":
            assert opened["status"] == "optimal"
            assert opened["total_allocated"] == pytest.approx(result.summary["total_allocated"])
        elif name == "results.xlsx":
            assert opened == ["summary", *result_tables(result)]
        else:
            assert opened == scenario_sha256(scenario), name


def test_solve_applies_a_typed_floor_that_was_not_applied_and_says_so(
    page, default_scenario_path: Path
) -> None:
    before, floor = _cyber_2026(default_scenario_path)
    after = money(floor, load_scenario(default_scenario_path))
    page.get_by_label("Area to edit").click()
    page.get_by_role("option", name="cyber", exact=True).click()
    page.get_by_role("textbox", name="Floor for cyber", exact=True).fill(f"{floor / 1e9:g}bn")
    _solve(page)
    _see(page.get_by_text("Applied before solving: areas.cyber.floor=").first)
    _see(page.get_by_text(f"cyber in 2026: {before} → {after}"))


def _saved_version(region):
    """The "Saved version" select box in ``region`` (its value is the chosen version)."""
    return region.get_by_role("combobox", name="Saved version")


def test_a_session_sees_only_its_own_versions_and_loading_saves_none(
    browser, app_url: str, app_folder: Path
) -> None:
    first = _open_session(browser, app_url)
    second = _open_session(browser, app_url)
    try:
        _save_version(first, "the first session's plan")
        saved = VersionStore(app_folder / "data").list()
        bar = second.get_by_test_id("stSidebar")
        bar.get_by_label("Shipped scenario").click()
        second.get_by_role("option", name="nif.yaml", exact=True).click()
        bar.get_by_role("button", name="Load shipped scenario").click()
        nif = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
        _see(second.get_by_role("heading", name=nif.fund.name))
        _see(bar.get_by_text("No version saved in this session yet"))
        sync_api.expect(_saved_version(bar)).to_have_count(0)
        assert VersionStore(app_folder / "data").list() == saved
        mine = _saved_version(first.get_by_test_id("stSidebar"))
        sync_api.expect(mine).to_have_value(re.compile("the first session's plan"))
    finally:
        first.context.close()
        second.context.close()
