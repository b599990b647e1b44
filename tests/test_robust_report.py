"""The allocation report's robust-planning section (reports.robust) and the app's robust
view (app.robust): the numbers shown are the study's, every plan and floor is there, and
the section renders to HTML and the workbook."""

from __future__ import annotations

import pytest

from engine import robust_study
from reports.amounts import Fmt
from reports.document import Report
from reports.excel import report_workbook
from reports.html import render_html
from reports.robust import alternatives_frame, floor_frame, robust_section
from tests.test_robust import tiny


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
