"""The web app's "Robust" view: one plan for many futures against the deterministic plans.

:func:`robust_view` shapes :func:`engine.robust_study`'s numbers for people (no
Streamlit, so it is tested without a browser); :func:`robust_panel` lays them out: the
plans on fresh futures, each area's floor probability, the alternatives and the two
frontier charts. The study runs only on request (a button) and is kept per result and
settings, since it solves the two-stage programme and a few hundred recourse LPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine import Result, RobustStudy, robust_study


@dataclass(frozen=True)
class RobustView:
    """What the tab shows: the sentences, the plans' table, the floors by area (shares),
    the alternatives and the frontiers (amounts in the fund's unit)."""

    sentences: tuple[str, ...]
    plans: pd.DataFrame
    floors: pd.DataFrame
    alternatives: pd.DataFrame
    budget: pd.DataFrame
    risk: pd.DataFrame


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.2f}"


def robust_view(study: RobustStudy) -> RobustView:
    """The robust view of a study."""
    report = study.report
    s = report.summary()
    sentences = (
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
    plans = report.comparison().rename(
        columns={
            "expected_value": "expected value",
            "cvar": f"CVaR {study.alpha:g}",
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
    return RobustView(sentences, plans, floors, alternatives, study.budget, study.risk)


def robust_panel(result: Result, state: dict) -> None:
    """The "Robust" tab: settings, a button, then the study's tables and charts."""
    import streamlit as st

    if not result.ok:
        st.write("No plan to show.")
        return
    left, right = st.columns(2)
    futures = left.number_input("Futures that build the plan", 2, 200, 20, 1, key="robust_n")
    fresh = right.number_input("Fresh futures that score it", 10, 2000, 200, 10, key="robust_out")
    key = (id(result), int(futures), int(fresh))
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
    view = robust_view(study)
    for sentence in view.sentences:
        st.write(sentence)
    st.dataframe(view.plans, hide_index=True)
    st.caption("Probability of meeting every floor, by area and plan (fresh futures)")
    st.bar_chart(view.floors.set_index("area"), horizontal=True, stack=False)
    if len(view.alternatives):
        st.caption(f"Plans within {study.within:.0%} of the optimum: funding by area")
        st.dataframe(view.alternatives, hide_index=True)
    unit = result.scenario.fund.unit
    st.caption(f"Value against the fund's size ({unit})")
    st.line_chart(view.budget.set_index("total")["value"])
    if len(view.risk):
        st.caption(f"Expected value against CVaR at {study.alpha:g} (in sample)")
        st.scatter_chart(view.risk, x="cvar", y="expected_value")
