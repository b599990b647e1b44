"""The allocation report's robust-planning section (reports.robust) and the app's robust
view (app.robust): the numbers shown are the study's, every plan and floor is there, and
the section renders to HTML and the workbook."""

from __future__ import annotations

import pandas as pd
import pytest

from engine import FloorRule, RobustStudy, plan_robust, robust_study, scenario_from_data
from reports.amounts import Fmt
from reports.document import Report
from reports.excel import report_workbook
from reports.html import render_html
from reports.robust import alternatives_frame, floor_frame, robust_section
from tests.test_robust import tiny, tiny_data


@pytest.fixture(scope="module")
def study():
    # The tiny scenario: two members, three areas (alpha has a floor), one project.
    return robust_study(tiny(project=True), futures=4, out_of_sample=30, evpi_futures=10)


def test_the_section_shows_every_plan_with_the_study_numbers(study):
    section = robust_section(study, Fmt(study.report.plan.scenario))
    plans = section.tables[0].frame
    assert plans["plan"].tolist() == ["robust", "median", "p10"]
    assert plans["expected_value"].tolist() == study.report.comparison()["expected_value"].tolist()
    text = " ".join(section.paragraphs)
    s = study.report.summary()
    assert f"{s['vss_median']:,.2f}" in text
    assert "out of sample" in text
    assert "in sample" in text
    assert {c.id for c in section.charts} >= {"robust-floors", "robust-budget", "robust-risk"}


def test_floor_probabilities_cover_the_areas_with_floors(study):
    floors = floor_frame(study)
    assert floors["area"].tolist() == ["alpha"]  # beta and gamma have no floor
    probs = study.report.scores["robust"].floor_probability()
    assert floors["floor_probability"].tolist() == [probs["alpha"]]


def test_alternatives_are_listed_with_their_loss(study):
    alt = alternatives_frame(study)
    assert alt["plan"].iloc[0] == "optimum"
    assert (alt["loss_share"] <= study.within + 1e-9).all()
    assert len(alt) == len(study.found)


def test_the_section_renders_in_html_and_the_workbook(study):
    section = robust_section(study, Fmt(study.report.plan.scenario))
    report = Report("t", "s", (), (section,), (), (), ())
    html = render_html(report)
    assert "One plan for many futures" in html
    assert html.count("<svg") == len(section.charts)
    sheets = report_workbook(report).sheetnames
    assert {"robust-plans", "robust-floors", "robust-budget"} <= set(sheets)


def test_the_study_falls_back_to_stated_futures_when_the_forecast_cannot_draw_them(study):
    # The tiny scenario's members have no GDP history in the shipped data.
    assert study.report.plan.futures.source.startswith("lognormal_factor")
    assert any("stated distributions" in note for note in study.report.notes)


def test_the_app_view_shows_the_study_numbers(study):
    from app.robust import robust_view

    view = robust_view(study)
    assert view.plans["plan"].tolist() == ["robust", "median", "p10"]
    assert view.floors["area"].tolist() == ["alpha"]
    assert view.floors["robust"].tolist() == [study.report.areas()["floor_probability"].iloc[0]]
    assert list(view.alternatives.columns) == ["area", *[a.label for a in study.found]]
    assert any("out of sample" in s for s in view.sentences)
    assert view.budget["total"].is_monotonic_increasing


def test_the_app_view_of_a_programme_without_a_plan_shows_its_notes_and_no_tables(study):
    from app.robust import robust_view

    data = tiny_data(project=True)
    data["areas"][0]["floor"] = "100bn"  # more than the fund: no plan with hard floors
    impossible = scenario_from_data(data, "tiny.yaml")
    report = plan_robust(impossible, 3, 10, source="stated", floors=FloorRule("hard"))
    assert not report.plan.ok
    none = RobustStudy(report, [], pd.DataFrame(), study.budget, study.risk, 0.02, 0.1)
    view = robust_view(none)
    assert view.sentences == tuple(report.notes)
    assert any("no plan" in s for s in view.sentences)
    assert all(frame.empty for frame in (view.plans, view.floors, view.alternatives))


def test_the_app_keeps_a_study_for_the_scenarios_content_not_for_an_object():
    from app.robust import study_key

    assert study_key(tiny(), 3, 10) == study_key(tiny(), 3, 10)
    assert study_key(tiny(), 3, 10) != study_key(tiny(), 3, 20)
    data = tiny_data()
    data["areas"][0]["floor"] = "2bn"
    assert study_key(scenario_from_data(data, "tiny.yaml"), 3, 10) != study_key(tiny(), 3, 10)


def test_the_app_frontier_charts_fit_their_axes_to_the_points(study):
    from app.robust import frontier_chart

    spec = frontier_chart(study.risk, "cvar", "expected_value", "CVaR", "value").to_dict()
    assert spec["encoding"]["x"]["scale"] == {"zero": False}
    assert spec["encoding"]["y"]["scale"] == {"zero": False}
