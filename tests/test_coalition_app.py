"""The web app's "Members" view (app/members.py): the table of what each member gets, the
flag of members better off outside, and the tab on the page."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.members import members_view
from app.versions import DATA_ENV
from engine import solve, stability
from engine.scenario.validate import validate_scenario

ROOT = Path(__file__).resolve().parents[1]


def _fund():
    return validate_scenario(
        {
            "fund": {"name": "t", "unit": "m", "years": [2026]},
            "areas": [
                {"id": "a", "value_curve": [{"up_to": "50m", "marginal": 1}, {"marginal": 0.1}]},
                {"id": "b", "value_curve": [{"up_to": "20m", "marginal": 1}, {"marginal": 0.1}]},
            ],
            "members": [
                {"id": "AAA", "pledge": "10m", "priorities": {"b": 1}},
                {"id": "BBB", "pledge": "90m", "priorities": {"a": 1}},
                {"id": "ZZZ", "pledge": 0},
            ],
        }
    )


def test_the_members_view_flags_who_is_better_off_outside_and_what_participation_moves():
    check = stability(solve(_fund()), participation=True, drivers=False)
    view = members_view(check)
    assert list(view.table["member"]) == ["AAA", "BBB"]  # members who pledge
    flags = dict(zip(view.table["member"], view.table["better off outside"], strict=True))
    # The fund gives b 20m for AAA's sake; BBB, which values only a, would do better alone
    # (90m in a is worth 54 points to it, the fund's 80m in a 53).
    assert flags == {"AAA": False, "BBB": True}
    assert len(view.outside) == 1
    assert "BBB would be better off outside" in view.outside[0]
    moved = dict(zip(view.moved["area"], view.moved["change"], strict=True))
    assert moved["a"] == pytest.approx(10.0)
    assert moved["b"] == pytest.approx(-10.0)


def test_the_members_tab_renders_on_the_page(tmp_path, monkeypatch):
    testing = pytest.importorskip("streamlit.testing.v1", reason="needs the streamlit package")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    at = testing.AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.session_state["result_tab"] = "Members"
    at.run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "would be better off outside the fund" in text


def test_editing_the_tables_keeps_members_priorities():
    from app.tables import scenario_tables, tables_scenario

    sc = validate_scenario(
        {
            **_fund().to_input(),
            "members": [
                {"id": "AAA", "pledge": "10m", "priorities": [["a", "b", 3]]},
                {"id": "BBB", "pledge": "90m", "priorities": {"swing": {"a": 100, "b": 20}}},
            ],
        }
    )
    again = tables_scenario(sc, scenario_tables(sc))
    assert [m.priorities for m in again.members] == [m.priorities for m in sc.members]
