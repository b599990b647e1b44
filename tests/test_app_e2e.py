"""End to end: the real app (``python optimise.py app``) driven in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium and the playwright package (``.ci/run``
installs both); skips with the reason otherwise. The app runs as a subprocess on a free
localhost port with its own data folder and is always stopped afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.files.scenario_files import load_scenario
from engine.results.describe import money
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


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The app started with ``optimise.py app`` on a free port; stopped afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "app.log").open("w")
    command = [sys.executable, "optimise.py", "app", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data")]
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
            pytest.fail(f"the app did not start: {(tmp_path / 'app.log').read_text()[-2000:]}")
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


@pytest.fixture
def page(app_url: str) -> Iterator[object]:
    """A Chromium page on the app, waiting until the default scenario is shown."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1600})
            tab.set_default_timeout(WAIT_MS)
            tab.goto(app_url, wait_until="domcontentloaded")
            heading = tab.get_by_role("heading", name="Alternative Security Partnership Fund")
            _see(heading)
            yield tab
        finally:
            browser.close()


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
