"""The web app's "Members" view: what each member gets, in the fund and alone.

:func:`members_view` shapes the coalition layer's numbers for people (no Streamlit, so it
is tested without a browser); :func:`members_panel` lays them out on the page. The check
(every member alone, and on request the plan with participation constraints) runs only
when the tab is open and is kept per result and settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from app.charts import members_chart
from engine import UNIT_FACTORS, Result, Stability, burden_bands, contribution_key, stability


@dataclass(frozen=True)
class MembersView:
    """The table (one line per pledging member), the summary sentence, the sentences of
    members better off outside, and the participation plan's area changes (fund unit)."""

    table: pd.DataFrame
    summary: str
    outside: tuple[str, ...]
    moved: pd.DataFrame


def members_view(check: Stability) -> MembersView:
    """The members view of a stability check."""
    sc = check.result.scenario
    factor = UNIT_FACTORS[sc.fund.unit]
    m = check.members
    burden = burden_bands(m, contribution_key(m))
    merged = m.merge(burden, on="member", how="left")
    merged = merged[merged["pledged"] > 0]
    table = pd.DataFrame(
        {
            "member": merged["member"],
            "pledged": merged["pledged"] / factor,
            "value in fund": merged["value_in_fund"],
            "value alone": merged["standalone_value"],
            "gain": merged["gain"],
            "better off outside": merged["better_off_outside"],
            f"value of +1{sc.fund.unit} a year": merged["marginal_value"],
            "burden share": merged["burden_share"],
            "juste retour": merged["retour"],
            "priorities": merged["priorities"],
            "consistency ratio": merged["consistency_ratio"],
        }
    ).reset_index(drop=True)
    moved = pd.DataFrame(columns=["area", "change"])
    p = check.participation
    if p is not None and p.ok:
        diff = (
            p.areas.groupby("area")["amount"].sum()
            - check.result.areas.groupby("area")["amount"].sum()
        ) / factor
        diff = diff[diff.abs() > 1e-6]
        moved = pd.DataFrame({"area": diff.index, "change": diff.to_numpy()})
    outside = tuple(m.loc[m["better_off_outside"], "text"])
    return MembersView(table, check.summary(), outside, moved)


def members_panel(result: Result, state: dict) -> None:
    """The "Members" tab: the table, the summary, and participation on request."""
    import streamlit as st

    if not result.ok:
        st.write("No plan to show.")
        return
    unit = f"{result.scenario.fund.currency} {result.scenario.fund.unit}"
    st.caption(f"Pledged and allocated over the horizon ({unit})")
    st.altair_chart(members_chart(result, unit), width="stretch")
    left, right = st.columns(2)
    participation = left.checkbox("Add participation constraints", key="members_participation")
    margin = right.number_input(
        "Margin over standalone value", 0.0, 1.0, 0.0, 0.05, key="members_margin"
    )
    key = (id(result), participation, margin)
    cached = state.get("members_check")
    if cached is None or cached[0] != key:
        with st.spinner("Solving every member alone..."):
            check = stability(result, margin=margin, participation=participation, drivers=False)
        state["members_check"] = (key, check)
    else:
        check = cached[1]
    view = members_view(check)
    st.write(view.summary)
    for text in view.outside:
        st.warning(text)
    st.caption(
        "Values are value points of the plan by each member's own priorities; value alone is "
        "the best it could buy with its own pledge in the areas it joined."
    )
    st.dataframe(
        view.table.style.format(
            {
                "pledged": "{:,.3f}",
                "value in fund": "{:,.3g}",
                "value alone": "{:,.3g}",
                "gain": "{:+,.3g}",
                "burden share": "{:.1%}",
                "juste retour": "{:.2f}",
            }
        ),
        hide_index=True,
    )
    if not view.moved.empty:
        st.caption(
            f"With participation constraints, area funding changes ({result.scenario.fund.unit})"
        )
        st.dataframe(view.moved, hide_index=True)
