"""The web app's "Robust" view: one plan for many futures against the deterministic plans.

:func:`robust_view` shapes :func:`engine.robust_study`'s numbers for people (no
Streamlit, so it is tested without a browser); :func:`robust_panel` lays them out: the
plans on fresh futures, each area's floor probability (chart and table), the
alternatives, and the two frontiers (chart and table: the budget table's marginal value
is what the line's slope only hints at). The study runs only on request (a button) and is
kept per scenario and settings, since it solves the two-stage programme and a few hundred
recourse LPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from engine import Result, RobustStudy, Scenario, robust_study, scenario_sha256

#: Display formats of the tables' columns (printf, or Streamlit's ``percent``): values in
#: points with two decimals as the CLI prints them, shares as percentages.
FORMATS = {
    "expected value": "%.2f",
    "CVaR": "%.2f",
    "worst floor probability": "percent",
    "no plan": "percent",
    "over pledge": "percent",
    "robust": "percent",
    "median": "percent",
    "p10": "percent",
    "funding": "%.2f",
    "scale": "percent",
    "total": "%.2f",
    "value": "%.2f",
    "marginal": "%.3f",
    "expected_value": "%.2f",
    "cvar": "%.2f",
    "weight": "%.2f",
}


@dataclass(frozen=True)
class RobustView:
    """What the tab shows: the sentences, the plans' table, the floors by area (shares),
    the alternatives (funding by area over the horizon) and the frontiers (amounts in the
    fund's unit); tables empty when the robust programme has no plan."""

    sentences: tuple[str, ...]
    plans: pd.DataFrame
    floors: pd.DataFrame
    alternatives: pd.DataFrame
    budget: pd.DataFrame
    risk: pd.DataFrame


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.2f}"


def _sentences(study: RobustStudy) -> tuple[str, ...]:
    report = study.report
    s = report.summary()
    return (
        f"Planned once on {s['futures']} futures ({s['source']}), the first year and the "
        f"go/no-go committed; scored on {s['out_of_sample_futures']:,} fresh futures.",
        f"Value of the stochastic solution out of sample: {_number(s['vss_median'])} points "
        f"against the median plan, {_number(s['vss_p10'])} against the 10th-percentile plan "
        f"(in sample {_number(s['in_sample_vss_median'])} and "
        f"{_number(s['in_sample_vss_p10'])}).",
        f"Expected value of perfect information: {_number(s['evpi'])} in sample, "
        f"{_number(s['out_of_sample_evpi'])} out of sample.",
        *report.notes,
    )


def robust_view(study: RobustStudy) -> RobustView:
    """The robust view of a study."""
    report = study.report
    if not report.plan.ok:
        empty = pd.DataFrame()
        return RobustView(tuple(report.notes), empty, empty, empty, study.budget, study.risk)
    plans = report.comparison().rename(
        columns={
            "expected_value": "expected value",
            "cvar": "CVaR",
            "worst_floor_probability": "worst floor probability",
            "infeasible_share": "no plan",
            "over_pledge_probability": "over pledge",
        }
    )
    areas = report.areas()
    floors = areas[areas["floor_probability"].notna()].drop(columns="first_year_funding")
    floors = floors.rename(
        columns=lambda c: c.replace("floor_probability_", "").replace("floor_probability", "robust")
    )
    # The engine's amounts are in the fund's unit already (its models' scale).
    alternatives = pd.DataFrame()
    if len(study.alternatives):
        wide = study.alternatives.pivot(index="area", columns="plan", values="funding")
        alternatives = wide[[a.label for a in study.found]].reset_index()
    floors = floors.reset_index(drop=True)
    return RobustView(_sentences(study), plans, floors, alternatives, study.budget, study.risk)


def column_formats(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Streamlit column settings for ``frame``: :data:`FORMATS` (a column of alternatives'
    funding takes the ``funding`` format), headers renamed by ``labels``."""
    import streamlit as st

    labels = labels or {}
    settings: dict[str, Any] = {}
    for column in frame.columns:
        if column in ("plan", "area", "status"):
            continue
        fmt = FORMATS.get(column, FORMATS["funding"])
        settings[column] = st.column_config.NumberColumn(labels.get(column, column), format=fmt)
    return settings


def frontier_chart(frame: pd.DataFrame, x: str, y: str, x_title: str, y_title: str) -> alt.Chart:
    """A frontier as points joined in order of ``x``, both axes fitted to the points (not
    from zero: a frontier's points are close together and would merge into one dot)."""
    tooltip = [alt.Tooltip(f"{c}:Q", format=",.3f") for c in frame.columns if c != "status"]
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(zero=False)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
            order=alt.Order(f"{x}:Q"),
            tooltip=tooltip,
        )
    )


def study_key(scenario: Scenario, futures: int, fresh: int) -> tuple[str, int, int]:
    """What a kept study was made for: the scenario's content and the two sizes (an
    object's id could be reused by a new result once the old one is gone)."""
    return scenario_sha256(scenario), int(futures), int(fresh)


def robust_panel(result: Result, state: dict) -> None:
    """The "Robust" tab: settings, a button, then the study's tables and charts."""
    import streamlit as st

    if not result.ok:
        st.write("No plan to show.")
        return
    left, right = st.columns(2)
    futures = left.number_input("Futures that build the plan", 2, 200, 20, 1, key="robust_n")
    fresh = right.number_input("Fresh futures that score it", 10, 2000, 200, 10, key="robust_out")
    key = study_key(result.scenario, futures, fresh)
    cached = state.get("robust_study")
    if cached is None or cached[0] != key:
        if not st.button("Plan for many futures", key="robust_run"):
            st.caption("Solves the two-stage programme; a minute or so on the shipped scenarios.")
            return
        with st.spinner("Planning for many futures..."):
            study = robust_study(result.scenario, int(futures), int(fresh))
        state["robust_study"] = (key, study)
    else:
        study = cached[1]
    _draw(study, robust_view(study), result.scenario.fund.unit)


def _table(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> None:
    """``frame`` in full (no inner scrolling), formatted by :func:`column_formats`."""
    import streamlit as st

    formats = column_formats(frame, labels)
    st.dataframe(frame, hide_index=True, height="content", column_config=formats)


def _draw(study: RobustStudy, view: RobustView, unit: str) -> None:
    """The view's sentences, tables and charts."""
    import streamlit as st

    for sentence in view.sentences:
        st.write(sentence)
    if not len(view.plans):
        return
    cvar = f"CVaR {study.alpha:g}"
    _table(view.plans, {"CVaR": cvar})
    st.caption("Probability of meeting every floor, by area and plan (fresh futures)")
    st.bar_chart(view.floors.set_index("area"), horizontal=True, stack=False)
    _table(view.floors)
    if len(view.alternatives):
        st.caption(f"Plans within {study.within:.0%} of the optimum: funding by area ({unit})")
        _table(view.alternatives)
    st.caption(f"Value against the fund's size ({unit}); marginal: points per extra {unit}")
    total = f"fund's total ({unit})"
    chart = frontier_chart(view.budget, "total", "value", total, "value (points)")
    st.altair_chart(chart, width="stretch")
    _table(view.budget, {"total": total, "marginal": f"marginal (points per {unit})"})
    if len(view.risk):
        st.caption(f"Expected value against {cvar} (in sample), by weight on CVaR")
        chart = frontier_chart(view.risk, "cvar", "expected_value", cvar, "expected value")
        st.altair_chart(chart, width="stretch")
        labels = {"cvar": cvar, "expected_value": "expected value", "weight": "weight on CVaR"}
        _table(view.risk, labels)
