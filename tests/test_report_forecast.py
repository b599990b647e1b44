"""The forecast report's content, on small synthetic forecasts with known numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.forecast_report import ForecastData, PathForecast, forecast_report
from reports.html import render_html

MEMBERS = ("DEU", "GBR", "FRA", "POL", "ITA", "CAN", "NLD", "ESP", "SWE", "NOR", "DNK", "FIN")
LEVELS = {"80": 1.2816, "95": 1.96}


def _bands(mean: np.ndarray, sd: np.ndarray) -> dict[str, np.ndarray]:
    out = {"mean": mean}
    for level, z in LEVELS.items():
        out[f"lo-{level}"] = mean - z * sd
        out[f"hi-{level}"] = mean + z * sd
    return out


def synthetic() -> ForecastData:
    """Twelve members growing 3%-14% a year from 2014; two paths to 2030."""
    rng = np.random.default_rng(7)
    years = np.arange(2014, 2025)
    history = pd.concat(
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": years,
                "y": 20e9 / (k + 1) * (1.03 + 0.01 * k) ** (years - 2014),
            }
        )
        for k, uid in enumerate(MEMBERS)
    )
    future = np.arange(2025, 2031)
    paths = []
    for name, extra in (("trend", 0.0), ("hague-2035", 0.05)):
        members = pd.concat(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": future,
                    **_bands(
                        (last := history[history.unique_id == uid].y.iloc[-1])
                        * (1.03 + 0.01 * k + extra) ** (future - 2024),
                        last * 0.03 * np.sqrt(future - 2024),
                    ),
                }
            )
            for k, uid in enumerate(MEMBERS)
        )
        total = members.groupby("ds")["mean"].sum().to_numpy()
        fund = pd.DataFrame({"ds": future, **_bands(total, total * 0.02)})
        paths.append(PathForecast(name, f"Path {name}.", fund, members))
    models = pd.DataFrame({"unique_id": MEMBERS, "model": ["drift", "ets"] * 6})
    backtest = models.assign(
        mase=rng.uniform(0.5, 1.5, 12),
        smape=rng.uniform(2, 9, 12),
        **{"coverage-80": 0.75, "coverage-95": 0.9, "coverage_uncal-80": 0.5},
    )
    return ForecastData(
        "Test fund",
        "USD",
        "bn",
        history,
        tuple(paths),
        models,
        backtest,
        3,
        names={"DEU": "Germany"},
        assumptions=("Synthetic.",),
    )


@pytest.fixture(scope="module")
def report():
    return forecast_report(synthetic(), (("engine version", "test"),))


def _table(report, table_id):
    return next(t for t in report.tables() if t.id == table_id).frame


def test_fund_table_gives_every_path_and_year_with_nested_intervals(report):
    fund = _table(report, "fund-forecast")
    assert set(fund["path"]) == {"trend", "hague-2035"}
    assert len(fund) == 2 * 6
    assert (fund["lo-95"] <= fund["lo-80"]).all()
    assert (fund["lo-80"] <= fund["mean"]).all()
    assert (fund["mean"] <= fund["hi-80"]).all()
    assert (fund["hi-80"] <= fund["hi-95"]).all()


def test_there_is_a_fan_chart_per_path_and_every_chart_is_svg(report):
    ids = [c.id for c in report.charts()]
    assert ids == [
        "fund-fan-trend",
        "fund-fan-hague-2035",
        "member-trends",
        "burden-shares",
        "drivers-trend",
        "drivers-hague-2035",
    ]
    assert all(c.svg.startswith("<svg") and "<path" in c.svg for c in report.charts())


def test_burden_shares_add_up_to_one_in_each_year(report):
    shares = _table(report, "burden-shares")
    for column in ("2014", "2024", "2030"):
        assert shares[column].sum() == pytest.approx(1.0)


def test_drivers_explain_the_whole_change_of_the_fund(report):
    data = synthetic()
    drivers = _table(report, "drivers-trend")
    last = data.history[data.history.ds == 2024].y.sum()
    end = data.paths[0].members.query("ds == 2030")["mean"].sum()
    assert len(drivers) == len(MEMBERS)
    assert drivers["change"].sum() * 1e9 == pytest.approx(end - last)
    assert drivers["share of the fund's change"].iloc[0] == pytest.approx(
        drivers["change"].iloc[0] * 1e9 / (end - last)
    )


def test_accuracy_table_has_each_model_and_an_overall_row(report):
    accuracy = _table(report, "backtest-accuracy").set_index("model")
    assert set(accuracy.index) == {"drift", "ets", "all models used"}
    assert accuracy.loc["all models used", "series"] == 12
    assert accuracy.loc["all models used", "80% coverage"] == pytest.approx(0.75)
    assert "80% coverage, uncalibrated" in accuracy.columns


def test_html_shows_member_names_and_the_fund_forecast(report):
    html = render_html(report)
    assert "Germany" in html
    assert "by 2030 the fund is expected at" in html
    assert "How far to trust it" in html


def test_every_chart_names_a_sheet_of_the_workbook_that_holds_its_data(report):
    from reports.excel import report_workbook

    sheets = report_workbook(report).sheetnames
    for chart in report.charts():
        assert chart.data in sheets, chart.id


def test_small_multiples_draw_every_member_with_its_history_and_forecast_band(report):
    svg = next(c.svg for c in report.charts() if c.id == "member-trends")
    assert svg.count('font-weight="bold">') == len(MEMBERS) + 1  # a title per panel, one above
    assert "Germany</text>" in svg
    assert svg.count('fill-opacity="0.25"') == len(MEMBERS)  # one 80% band per member
    assert svg.count('stroke="#222222"') == len(MEMBERS)  # one history line per member


def test_matplotlib_groups_that_only_carry_an_id_are_dropped_and_others_kept():
    from reports.charts import _flatten_groups

    svg = (
        '<svg><g id="a"><g clip-path="url(#c)"><path d="M0,0"/></g><g><text>x</text></g></g></svg>'
    )
    assert (
        _flatten_groups(svg)
        == '<svg><g clip-path="url(#c)"><path d="M0,0"/></g><text>x</text></svg>'
    )


def test_pdf_draws_charts_from_data_urls_and_refuses_anything_outside_the_report(report):
    pytest.importorskip("weasyprint", reason="needs WeasyPrint (pip) and Pango")
    from engine.errors import OutputError
    from reports.pdf import charts_as_images, pdf_bytes

    html = render_html(report)
    images = charts_as_images(html)
    assert images.count('<img class="chart-svg"') == len(report.charts())
    assert "<svg" not in images
    assert pdf_bytes(html).startswith(b"%PDF")
    with pytest.raises(OutputError, match="outside"):
        pdf_bytes('<html><body><img src="file:///etc/hostname"></body></html>')
