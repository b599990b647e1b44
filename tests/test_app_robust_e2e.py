"""End to end: the app's Robust tab in headless Chromium shows the engine's robust study.

The app (started as in :mod:`tests.test_app_e2e`, whose fixtures this module shares, and
skipped the same way without Chromium or playwright) runs a small study on the default
scenario; the test runs :func:`engine.robust_study` on the same inputs in its own process
and reads the page: every sentence, every table cell (the grids' accessible tables hold
the full numbers) and the charts' axes and points.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests import test_app_e2e as e2e
from tests.test_app_e2e import _see, sync_api

# The app, the browser and a page in a session of its own, as the app's other browser
# tests get them (module-scoped: one app for this module).
app_folder, app_url, browser, page = e2e.app_folder, e2e.app_url, e2e.browser, e2e.page

#: A small study, so that the page and the engine each solve it in a minute or two.
FUTURES, FRESH = 3, 10
#: Bound on waiting for the study to appear (polled, not a performance limit), in ms.
STUDY_MS = 900_000

pytestmark = [pytest.mark.slow, *e2e.pytestmark]  # skipped without Chromium, as e2e is


@pytest.fixture(scope="module")
def engine_view(default_scenario_path: Path):
    """The engine's study of the default scenario for the tab's settings, as the tab
    shapes it."""
    from app.robust import robust_view
    from engine import robust_study
    from engine.files.scenario_files import load_scenario

    study = robust_study(load_scenario(default_scenario_path), FUTURES, FRESH)
    return study, robust_view(study)


def _settle(page) -> None:
    """Wait until the page is not re-running (a click while it runs could be lost)."""
    sync_api.expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=STUDY_MS)


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Enter")
    sync_api.expect(box).to_have_value(str(value))
    _settle(page)


def _grid(table, columns: int) -> tuple[list[str], list[list[str]]]:
    """A dataframe's headers and cells as its accessible table holds them (drawn once
    the grid is on screen)."""
    table.scroll_into_view_if_needed()
    sync_api.expect(table.locator("thead th")).to_have_count(columns)
    heads = table.locator("thead th").all_inner_texts()
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    return heads, rows


def _assert_shows(table, frame: pd.DataFrame, heads: list[str]) -> None:
    """The table has these headers and ``frame``'s cells: text as is, numbers to 1e-9,
    NaN as an empty cell."""
    shown_heads, rows = _grid(table, len(heads))
    assert shown_heads == heads
    assert len(rows) == len(frame)
    for row, (_i, want) in zip(rows, frame.iterrows(), strict=True):
        for text, value in zip(row, want.tolist(), strict=True):
            if isinstance(value, str):
                assert text == value
            elif pd.isna(value):
                assert text == ""
            else:
                assert float(text) == pytest.approx(value, rel=1e-9, abs=1e-12)


def _axis(chart, which: str) -> str:
    """The aria description of a chart's ``X`` or ``Y`` axis."""
    return chart.locator(f"[aria-label^='{which}-axis']").first.get_attribute("aria-label")


def _axis_range(label: str) -> tuple[float, float]:
    low, high = re.search(r"values from (\S+) to (\S+)", label).groups()
    return float(low.replace(",", "")), float(high.replace(",", ""))


def _assert_frontier(chart, frame: pd.DataFrame, x: str, y: str, x_title: str) -> None:
    """One point per row, the X axis titled ``x_title``, both axes around the points
    and not from zero (the points would merge into one dot)."""
    chart.scroll_into_view_if_needed()
    points = chart.locator(".mark-symbol path")
    sync_api.expect(points).to_have_count(len(frame))
    label = _axis(chart, "X")
    assert f"titled '{x_title}'" in label
    for column, axis in ((x, label), (y, _axis(chart, "Y"))):
        low, high = _axis_range(axis)
        assert 0 < low <= frame[column].min(), axis
        assert frame[column].max() <= high, axis


def test_the_robust_tab_shows_the_engines_study_for_the_same_inputs(page, engine_view) -> None:
    study, view = engine_view
    page.get_by_role("tab", name="Robust").click()
    _set_number(page, "Futures that build the plan", FUTURES)
    _set_number(page, "Fresh futures that score it", FRESH)
    page.get_by_role("button", name="Plan for many futures").click()
    panel = page.get_by_role("tabpanel", name="Robust")
    sync_api.expect(panel.get_by_text(view.sentences[0])).to_be_visible(timeout=STUDY_MS)
    for sentence in view.sentences:
        _see(panel.get_by_text(sentence, exact=True))

    tables = panel.get_by_test_id("stDataFrame")
    sync_api.expect(tables).to_have_count(5)
    cvar = f"CVaR {study.alpha:g}"
    plans = ["plan", "expected value", cvar, "worst floor probability", "no plan", "over pledge"]
    _assert_shows(tables.nth(0), view.plans, plans)
    _assert_shows(tables.nth(1), view.floors, ["area", "robust", "median", "p10"])
    _assert_shows(tables.nth(2), view.alternatives, list(view.alternatives.columns))
    budget = ["scale", "fund's total (bn)", "value", "status", "marginal (points per bn)"]
    _assert_shows(tables.nth(3), view.budget, budget)
    _assert_shows(tables.nth(4), view.risk, ["weight on CVaR", "expected value", cvar, "status"])

    charts = panel.get_by_test_id("stVegaLiteChart")
    sync_api.expect(charts).to_have_count(3)
    floors = _axis(charts.nth(0), "Y")
    assert floors.endswith(": " + ", ".join(sorted(view.floors["area"])))
    _assert_frontier(charts.nth(1), view.budget, "total", "value", "fund's total (bn)")
    _assert_frontier(charts.nth(2), view.risk, "cvar", "expected_value", cvar)
