"""The allocation report's robust-planning section (``optimise.py report ... --robust``).

One plan for many futures against the deterministic plans (median and 10th-percentile
forecast), scored on fresh futures; each area's probability of meeting its floors;
near-optimal alternatives; value against the fund's size and expected value against risk.
The numbers come from :func:`engine.robust_study`; this module only lays them out. Off by
default: the study solves the two-stage programme and a few hundred recourse LPs.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from engine import RobustStudy, Scenario, robust_study
from reports import charts
from reports.amounts import Fmt, area_names, pct
from reports.document import Chart, Report, Section, Table

#: Colours of the plans compared (robust first).
PLAN_COLOURS = {"robust": "#1f4e79", "median": "#9dc3e6", "p10": "#c55a11"}


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.2f}"


def comparison_table(study: RobustStudy) -> Table:
    """One row per plan: expected value, CVaR, worst floor probability, no-plan share and
    over-pledge probability, all out of sample."""
    frame = study.report.comparison()
    formats = {
        "expected_value": _number,
        "cvar": _number,
        "worst_floor_probability": pct,
        "infeasible_share": pct,
        "over_pledge_probability": pct,
    }
    s = study.report.summary()
    caption = (
        f"Out of sample: {s['out_of_sample_futures']:,} fresh futures that did not build the "
        f"plans; CVaR at {study.alpha:g} (the mean of the worst {study.alpha:.0%})."
    )
    return Table.of("robust-plans", "The plans on fresh futures", frame, formats, caption)


def floor_frame(study: RobustStudy) -> pd.DataFrame:
    """Areas with a floor: each plan's probability of meeting all its floors (out of
    sample) and the robust plan's first-year money (fund units)."""
    areas = study.report.areas()
    areas = areas[areas["floor_probability"].notna()].reset_index(drop=True)
    names = area_names(study.report.plan.scenario)
    areas.insert(0, "name", [names.get(a, a) for a in areas["area"]])
    return areas


def floor_chart(frame: pd.DataFrame) -> Chart:
    """Floor probabilities (percent) by area and plan."""
    columns = {
        "robust": "floor_probability",
        "median": "floor_probability_median",
        "p10": "floor_probability_p10",
    }
    shown = pd.DataFrame({"name": frame["name"]})
    series = {}
    for label, column in columns.items():
        if column in frame:
            shown[label] = frame[column] * 100
            series[label] = PLAN_COLOURS[label]
    title = "Probability of meeting every floor, by area (out of sample)"
    svg = charts.horizontal_bars(shown, "name", series, title, "%")
    return Chart("robust-floors", title, svg, "Share of fresh futures, per plan.", "robust-floors")


def _line_chart(x: pd.Series, y: pd.Series, xlabel: str, ylabel: str, title: str) -> str:
    """A line with markers through ``(x, y)``, in the report's chart style (the helpers of
    :mod:`reports.charts`, which has no line chart of its own)."""
    import matplotlib.pyplot as plt

    with plt.rc_context(charts._STYLE):
        fig, ax = charts._figure(2.8)
        ax.plot(x.to_numpy(), y.to_numpy(), marker="o", color=PLAN_COLOURS["robust"])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        return charts._svg(fig, title)


def frontier_charts(study: RobustStudy, fmt: Fmt) -> list[Chart]:
    """Value against the fund's total (every pledge scaled) and expected value against
    CVaR (in sample, across the weight on CVaR)."""
    out = []
    ok = study.budget[study.budget["value"].notna()]
    if len(ok) > 1:
        title = "Value against the fund's size (every pledge scaled)"
        svg = _line_chart(ok["total"], ok["value"], f"fund total ({fmt.unit})", "value", title)
        out.append(
            Chart("robust-budget", title, svg, "Value points at each size.", "robust-budget")
        )
    risk = study.risk[study.risk["cvar"].notna()] if len(study.risk) else study.risk
    if len(risk) > 1:
        title = f"Expected value against CVaR at {study.alpha:g} (in sample)"
        svg = _line_chart(risk["cvar"], risk["expected_value"], "CVaR", "expected value", title)
        caption = "Each point: a plan with more weight on CVaR, from expected value alone."
        out.append(Chart("robust-risk", title, svg, caption, "robust-risk"))
    return out


def _paragraphs(study: RobustStudy) -> tuple[str, ...]:
    s = study.report.summary()
    first = (
        f"The robust plan commits the first year's money and every go/no-go decision once, "
        f"for {s['futures']} futures of the fund's forecast ({s['source']}, seed {s['seed']}), "
        "and adjusts later years in each future; floors are soft (a shortfall costs "
        "value points), so a future that cannot fund a floor lowers its probability "
        "instead of leaving no plan."
    )
    vss = (
        f"Value of the stochastic solution: {_number(s['vss_median'])} points against the "
        f"median-forecast plan and {_number(s['vss_p10'])} against the 10th-percentile plan "
        f"out of sample ({_number(s['in_sample_vss_median'])} and "
        f"{_number(s['in_sample_vss_p10'])} in sample). Expected value of perfect "
        f"information: {_number(s['evpi'])} in sample, {_number(s['out_of_sample_evpi'])} "
        f"out of sample ({s['evpi_out_of_sample_futures']} fresh futures each solved alone)."
    )
    return first, vss


def alternatives_frame(study: RobustStudy) -> pd.DataFrame:
    """One row per plan: value, loss against the optimum and the two areas it moves most
    money to and from (fund units over the horizon)."""
    rows = []
    frame = study.alternatives
    for alt in study.found:
        mine = frame[frame["plan"] == alt.label].sort_values("change")
        rows.append(
            {
                "plan": alt.label,
                "value": alt.value,
                "loss_share": float(mine["loss_share"].iloc[0]) if len(mine) else 0.0,
                "more_for": ", ".join(mine[mine["change"] > 1e-6].tail(2)["area"][::-1]),
                "less_for": ", ".join(mine[mine["change"] < -1e-6].head(2)["area"]),
                "distance": alt.distance,
            }
        )
    return pd.DataFrame(rows)


def robust_section(study: RobustStudy, fmt: Fmt) -> Section:
    """The section laid out from a study (see the module's docstring)."""
    floors = floor_frame(study)
    prob = {c: pct for c in floors.columns if c.startswith("floor_probability")}
    money = {"first_year_funding": lambda v: fmt.money(v * fmt.factor)}
    tables = [
        comparison_table(study),
        Table.of("robust-floors", "Floors by area", floors, {**prob, **money}),
    ]
    charts_ = [floor_chart(floors)] if len(floors) else []
    if study.found:
        alt = alternatives_frame(study)
        tables.append(
            Table.of(
                "robust-alternatives",
                f"Plans within {study.within:.0%} of the optimum",
                alt,
                {
                    "value": _number,
                    "loss_share": pct,
                    "distance": lambda v: fmt.money(v * fmt.factor),
                },
                "Distance: money moved between areas against the nearest earlier plan.",
            )
        )
    budget = study.budget.assign(total=study.budget["total"] * fmt.factor)
    tables.append(
        Table.of(
            "robust-budget",
            "Value against the fund's size",
            budget,
            {"total": fmt.money, "value": _number, "marginal": _number},
            "Marginal: value points per fund unit between this size and the one before.",
        )
    )
    charts_ += frontier_charts(study, fmt)
    if len(study.risk):
        tables.append(
            Table.of(
                "robust-risk",
                f"Expected value against CVaR at {study.alpha:g} (in sample)",
                study.risk,
                {"expected_value": _number, "cvar": _number},
            )
        )
    return Section(
        "robust",
        "One plan for many futures",
        paragraphs=_paragraphs(study),
        charts=tuple(charts_),
        tables=tuple(tables),
        bullets=tuple(study.report.notes),
    )


def with_robust_section(
    report: Report, scenario: Scenario, futures: int = 20, out_of_sample: int = 200
) -> Report:
    """``report`` with the robust-planning section appended: the study of
    :func:`engine.robust_study` on ``futures`` futures, scored on ``out_of_sample``."""
    study = robust_study(scenario, futures, out_of_sample)
    return replace(report, sections=(*report.sections, robust_section(study, Fmt(scenario))))
