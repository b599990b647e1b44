"""Reports as a reader gets them: HTML opened in headless Chromium (no console errors,
every chart drawn, nothing fetched from the network, a screenshot that is not blank) and
PDF pages turned into images (the expected pages, none blank).

Needs Debian's chromium (/usr/bin/chromium) with Playwright's Python package, and
poppler-utils (pdftoppm, pdftotext) for the PDF checks; each test skips saying what is
missing.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]

#: Charts each report must draw, by report.
ALLOCATION_CHARTS = {
    "allocation-by-area",
    "member-area-flows",
    "members-pledged-allocated",
    "coalition-members-values",
}
DIFF_CHARTS = ALLOCATION_CHARTS | {"diff-areas"}
FORECAST_CHARTS = {
    "fund-fan-trend",
    "fund-fan-hague-2035",
    "member-trends",
    "burden-shares",
    "drivers-trend",
    "drivers-hague-2035",
}


def _run(*args: str, cli: str = "optimise.py") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, cli, *args], cwd=ROOT, capture_output=True, text=True)


#: How each report is made: the CLI and its arguments (``{out}`` is the HTML file).
COMMANDS = {
    "plan": ("optimise.py", "report", "aspf-2026", "--out", "{out}", "--pdf", "--xlsx"),
    "diff": (
        "optimise.py",
        "report",
        "aspf-2026",
        "--against",
        "datasets/scenarios/aspf-2026.xlsx",
        "--set",
        "areas.cyber.floor=14bn",
        "--out",
        "{out}",
        "--pdf",
    ),
    # Fewer sample paths than the default keep the test quick; the report is the same.
    "forecast": (
        "forecast.py",
        "report",
        "--samples",
        "300",
        "--out",
        "{out}",
        "--pdf",
        "--xlsx",
    ),
}


class _Reports(dict):
    """Each report is made by its real CLI the first time a test asks for it, so that a
    failure in one report fails only that report's tests."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def __missing__(self, name: str) -> Path:
        out = self.folder / f"{name}.html"
        cli, *args = COMMANDS[name]
        done = _run(*[a.format(out=out) for a in args], cli=cli)
        assert done.returncode == 0, done.stderr
        self[name] = out
        return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> _Reports:
    """The default scenario's allocation report, one against an edited baseline, and the
    default fund's forecast report, with their PDF and Excel twins."""
    return _Reports(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, html: Path):
    """Open the report; return the page, console errors and every request it made."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri(), wait_until="load")
    return page, errors, requests


def _not_blank(png: bytes) -> tuple[float, int]:
    """Share of non-white pixels and number of distinct colours of a screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.thumbnail((400, 400))
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    inked = float((pixels.sum(axis=1) < 720).mean())
    return inked, len(np.unique(pixels, axis=0))


@pytest.mark.browser
@pytest.mark.parametrize(
    ("name", "charts"),
    [("plan", ALLOCATION_CHARTS), ("diff", DIFF_CHARTS), ("forecast", FORECAST_CHARTS)],
)
def test_report_opens_offline_without_errors_and_draws_every_chart(browser, reports, name, charts):
    page, errors, requests = _open(browser, reports[name])
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('figure.chart')].map(f => {
            const svg = f.querySelector('svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return {id: f.dataset.chart, width: box.width, height: box.height,
                    marks: svg ? svg.querySelectorAll('path, rect, text, use').length : 0};
        })"""
    )
    page.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert {c["id"] for c in drawn} == charts
    for chart in drawn:
        assert chart["width"] > 300, chart
        assert chart["height"] > 100, chart
        assert chart["marks"] > 10, chart


@pytest.mark.browser
@pytest.mark.parametrize("name", ["plan", "forecast"])
def test_report_screenshot_is_not_blank(browser, reports, name):
    page, _, _ = _open(browser, reports[name])
    png = page.screenshot(full_page=True)
    page.close()
    inked, colours = _not_blank(png)
    assert inked > 0.05
    assert colours > 50


@pytest.mark.browser
def test_report_tables_hold_every_area_and_member(browser, reports):
    page, _, _ = _open(browser, reports["plan"])
    areas = page.locator("#table-allocation-by-area tbody tr").count()
    members = page.locator("#table-members tbody tr").count()
    page.close()
    assert areas == 14 + 1  # every area and the total
    assert members == 32


def _pdf_pages(pdf: Path, tmp_path: Path) -> list[Path]:
    if not shutil.which("pdftoppm") or not shutil.which("pdftotext"):
        pytest.skip("needs poppler-utils (pdftoppm, pdftotext): apt-get install poppler-utils")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))


def _page_texts(pdf: Path, count: int) -> list[str]:
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "sections"),
    [
        (
            "plan",
            [
                "Allocation by area and year",
                "Who funds what",
                "Members: pledged, allocated, unspent",
                "Projects and grants: go or no-go",
                "What limits the plan",
                "Assumptions, sources and reproducibility",
            ],
        ),
        ("diff", ["Allocation by area and year", "Compared with aspf-2026.xlsx"]),
        (
            "forecast",
            [
                "The fund's size: history and forecast",
                "Members' contributions",
                "Burden shares over time",
                "The members that drive the change",
                "How far to trust it: backtest accuracy",
                "Assumptions, sources and reproducibility",
            ],
        ),
    ],
)
def test_pdf_starts_each_section_on_a_new_page_and_no_page_is_blank(
    reports, tmp_path, name, sections
):
    pdf = reports[name].with_suffix(".pdf")
    pages = _pdf_pages(pdf, tmp_path)
    texts = _page_texts(pdf, len(pages))
    cover = " ".join(texts[0].split())
    # The plan's cover names its years; the forecast's names the CLI's horizon.
    assert re.search(r"allocation plan 2026-2030|forecast to 20\d\d", cover), cover
    starts = [t.strip().splitlines()[0].strip() if t.strip() else "" for t in texts]
    found = [starts.index(s) for s in sections]
    assert found == sorted(found), starts
    assert all(f"page {n} of {len(pages)}" in t for n, t in enumerate(texts, start=1))
    for page in pages:
        png = page.read_bytes()
        inked, _ = _not_blank(png)
        assert inked > 0.01, page.name


def test_excel_report_has_a_sheet_per_table(reports):
    from openpyxl import load_workbook

    book = load_workbook(reports["plan"].with_suffix(".xlsx"), read_only=True)
    assert book.sheetnames[0] == "about"
    for sheet in ("allocation-by-area", "member-area-flows", "members", "binding-constraints"):
        assert sheet in book.sheetnames
    rows = list(book["allocation-by-area"].iter_rows(values_only=True))
    assert rows[-1][0] == "total"
    assert rows[-1][-2] == pytest.approx(490.0, rel=1e-3)


def test_excel_forecast_report_has_the_fund_forecast_per_path(reports):
    from openpyxl import load_workbook

    book = load_workbook(reports["forecast"].with_suffix(".xlsx"), read_only=True)
    rows = list(book["fund-forecast"].iter_rows(values_only=True))
    assert rows[0][:3] == ("path", "year", "mean")
    assert {r[0] for r in rows[1:]} == {"trend", "hague-2035"}
    assert "backtest-accuracy" in book.sheetnames


#: Charts whose labels are drawn by this project (matplotlib places its own text).
LABELLED_CHARTS = ("member-area-flows",)


@pytest.mark.browser
@pytest.mark.parametrize("name", ["plan", "diff"])
def test_flow_diagram_labels_do_not_overlap(browser, reports, name):
    """Issue 14: small areas' labels (quantum, innovation, capacity_building) and small
    members' (Norway, Denmark) were drawn over each other."""
    page, _, _ = _open(browser, reports[name])
    boxes = page.evaluate(
        """(ids) => ids.flatMap(id => [...document.querySelectorAll(
              `figure.chart[data-chart="${id}"] svg text`)].map(t => {
            const b = t.getBoundingClientRect();
            return {id, text: t.textContent, x0: b.left, x1: b.right, y0: b.top, y1: b.bottom};
        }))""",
        list(LABELLED_CHARTS),
    )
    page.close()
    assert len(boxes) > 20
    overlaps = [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["id"] == b["id"]
        and min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 0.5
        and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 0.5
    ]
    assert overlaps == []


def _titles(html: Path) -> list[str]:
    """Every heading and table title (with its note) of a report, whitespace collapsed."""
    import html as html_lib

    text = html.read_text(encoding="utf-8")
    found = re.findall(r"<(h[1-4]|caption)\b[^>]*>(.*?)</\1>", text, flags=re.DOTALL)
    clean = (html_lib.unescape(re.sub(r"<[^>]+>", " ", body)) for _, body in found)
    return [" ".join(t.split()) for t in clean]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["plan", "diff"])
def test_pdf_pages_never_end_with_a_heading_and_print_no_local_paths_or_screen_words(
    reports, tmp_path, name
):
    pdf = reports[name].with_suffix(".pdf")
    texts = _page_texts(pdf, len(_pdf_pages(pdf, tmp_path)))
    titles = _titles(reports[name])
    for number, text in enumerate(texts, start=1):
        body = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        body = [line for line in body if not re.search(r"page \d+ of \d+$", line)]
        last = body[-1] if body else ""
        orphan = len(last) >= 10 and any(last in title for title in titles)
        assert not orphan, f"page {number} ends with a heading: {last!r}"
    whole = "\n".join(texts)
    assert "Hover" not in whole  # paper cannot be hovered
    assert str(ROOT) not in whole.replace("\n", "")
    assert "'s funding" not in whole  # "materials's"
    assert not re.search(r"between (\S+) and \1 \(now \1\)", whole)
    assert "`" not in whole
