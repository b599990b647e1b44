"""The forecast report: how large the fund will be, with what uncertainty, and who drives it.

:func:`forecast_report` turns a :class:`ForecastData` (the fund's and members' history,
forecasts per policy path with 80% and 95% intervals, and backtest accuracy) into a
:class:`~reports.document.Report`. :mod:`reports.forecast_inputs` fills a ForecastData from
the forecasting models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from engine import UNIT_FACTORS, format_money, shares_of_change
from reports import charts
from reports.document import Chart, Report, Section, Source, Table

#: Members named in the burden-share chart; the rest are grouped.
SHARE_MEMBERS = 10
#: Members shown in the "who drives the change" chart.
DRIVER_MEMBERS = 12
LEVELS = (80, 95)


@dataclass(frozen=True)
class PathForecast:
    """One policy path's forecast, money in currency units.

    ``fund``: ds, mean, lo-80, hi-80, lo-95, hi-95 (the fund's size per year, intervals
    from joint sample paths). ``members``: unique_id, ds, mean, lo-80, hi-80, lo-95, hi-95.
    """

    name: str
    description: str
    fund: pd.DataFrame
    members: pd.DataFrame


@dataclass(frozen=True)
class ForecastData:
    """Everything the forecast report shows.

    ``history``: unique_id (member), ds, y, the members' contributions in currency units
    (the fund's size is their sum). ``models``: unique_id, model (the model used per
    member). ``backtest``: per series and model, columns unique_id, model, mase, smape,
    coverage-80, coverage-95 (and optionally coverage_uncal-80/95, the models' own
    intervals before calibration). ``names``: member id -> name.
    """

    fund_name: str
    currency: str
    unit: str
    history: pd.DataFrame
    paths: tuple[PathForecast, ...]
    models: pd.DataFrame
    backtest: pd.DataFrame
    backtest_horizon: int
    names: dict[str, str] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()


class _Fmt:
    def __init__(self, data: ForecastData) -> None:
        self.factor = UNIT_FACTORS[data.unit]
        self.unit = f"{data.currency} {data.unit}"
        self.suffix = data.unit
        self.currency = data.currency

    def money(self, amount: float) -> str:
        return format_money(amount, self.currency, self.suffix)

    def range(self, lo: float, hi: float) -> str:
        return f"{self.money(lo)} to {self.money(hi)}"


def _fund_history(data: ForecastData) -> pd.Series:
    return data.history.groupby("ds")["y"].sum().sort_index()


def _fund_section(data: ForecastData, fmt: _Fmt, palette: dict[str, str]) -> Section:
    history = _fund_history(data)
    last_year = int(history.index[-1])
    chart_list = []
    rows: list[pd.DataFrame] = []
    # One scale for every path's chart, so that paths compare at a glance.
    top = max(float(p.fund["hi-95"].max()) for p in data.paths)
    ylim = (0.0, max(top, float(history.max())) / fmt.factor * 1.05)
    for path in data.paths:
        fund = path.fund.sort_values("ds")
        scaled = fund.assign(**{c: fund[c] / fmt.factor for c in fund.columns if c != "ds"})
        chart_list.append(
            Chart(
                f"fund-fan-{path.name}",
                f"The fund's size: {path.name}",
                charts.fan_chart(
                    history / fmt.factor,
                    {path.name: scaled},
                    f"The fund's size, path '{path.name}' ({fmt.unit})",
                    fmt.suffix,
                    palette,
                    LEVELS,
                    ylim=ylim,
                ),
                f"{path.description} Black: history; dashed: the forecast's mean; shaded: "
                "80% (darker) and 95% intervals.",
                "fund-forecast",
            )
        )
        bands = ["mean", *[f"{side}-{lv}" for lv in LEVELS for side in ("lo", "hi")]]
        rows.append(
            pd.DataFrame({"path": path.name, "year": fund["ds"].astype(int).to_numpy()}).join(
                (fund[bands] / fmt.factor).reset_index(drop=True)
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    number = {c: (lambda v: f"{v:,.1f}") for c in ("mean", "lo-80", "hi-80", "lo-95", "hi-95")}
    table = Table.of(
        "fund-forecast",
        f"The fund's size by path and year ({fmt.unit})",
        frame,
        number,
        "lo/hi-80 and lo/hi-95: the bounds of the 80% and 95% intervals.",
    )
    end = int(frame["year"].max())
    lines = [f"In {last_year} the members' contributions add up to {fmt.money(history.iloc[-1])}."]
    for path in data.paths:
        final = path.fund.sort_values("ds").iloc[-1]
        lines.append(
            f"Path '{path.name}': by {end} the fund is expected at {fmt.money(final['mean'])} "
            f"(80% interval {fmt.range(final['lo-80'], final['hi-80'])}; 95% interval "
            f"{fmt.range(final['lo-95'], final['hi-95'])})."
        )
    lines.append(
        "Intervals come from joint simulations of all members, so the fund's band accounts "
        "for members moving together; it is not the sum of members' bands."
    )
    return Section(
        "fund", "The fund's size: history and forecast", tuple(lines), tuple(chart_list), (table,)
    )


def _panels(data: ForecastData, path: PathForecast) -> dict[str, pd.DataFrame]:
    panels = {}
    last = data.history.groupby("unique_id")["y"].last().sort_values(ascending=False)
    for uid in last.index:
        hist = data.history[data.history["unique_id"] == uid][["ds", "y"]]
        fut = path.members[path.members["unique_id"] == uid][["ds", "mean", "lo-80", "hi-80"]]
        panels[data.names.get(uid, uid)] = pd.concat([hist, fut], ignore_index=True)
    return panels


def _members_section(data: ForecastData, fmt: _Fmt) -> Section:
    main = data.paths[0]
    panels = {
        name: frame.assign(
            **{c: frame[c] / fmt.factor for c in ("y", "mean", "lo-80", "hi-80") if c in frame}
        )
        for name, frame in _panels(data, main).items()
    }
    first_forecast = int(data.history["ds"].max()) + 1
    chart = Chart(
        "member-trends",
        "Members' contributions",
        charts.small_multiples(
            panels,
            f"Members' contributions, path '{main.name}' ({fmt.unit}; each on its own scale)",
            fmt.suffix,
            split=first_forecast,
        ),
        "Black: history; blue dashed: forecast mean with its 80% interval. Largest members first.",
        f"members-{main.name}",
    )
    last_year = int(data.history["ds"].max())
    last = data.history.sort_values("ds").groupby("unique_id")["y"].last()
    last = last.sort_values(ascending=False)
    end_year = int(main.members["ds"].max())
    end = main.members[main.members["ds"] == end_year].set_index("unique_id").reindex(last.index)
    models = data.models.set_index("unique_id")["model"]
    growth = (end["mean"] / last) ** (1 / max(end_year - last_year, 1)) - 1
    frame = pd.DataFrame(
        {
            "member": last.index,
            "name": [data.names.get(u, u) for u in last.index],
            str(last_year): (last / fmt.factor).to_numpy(),
            f"{end_year} mean": (end["mean"] / fmt.factor).to_numpy(),
            "lo-80": (end["lo-80"] / fmt.factor).to_numpy(),
            "hi-80": (end["hi-80"] / fmt.factor).to_numpy(),
            "growth a year": growth.to_numpy(),
            # Members without defence-spending history (Iceland) are not in the backtest.
            "model": models.reindex(last.index).fillna("not backtested").to_numpy(),
        }
    )
    number = lambda v: f"{v:,.2f}"  # noqa: E731
    formats = {c: number for c in frame.columns if c not in ("member", "name", "model")}
    formats["growth a year"] = lambda v: f"{v * 100:+.1f}%"
    table = Table.of(
        "member-forecasts",
        f"Members' contributions: last year and the horizon's end, path '{main.name}' ({fmt.unit})",
        frame.reset_index(drop=True),
        formats,
        "Model: the model the automatic choice picks for the member's defence spending.",
    )
    text = (
        "Each member's contribution follows its defence spending. The small charts show "
        "each member's history and forecast on its own scale, so trends are visible for "
        "small members too.",
    )
    return Section("members", "Members' contributions", text, (chart,), (table,))


def _shares(data: ForecastData, path: PathForecast) -> pd.DataFrame:
    """Members' shares of the fund per year, history then the path's forecast mean."""
    hist = data.history.pivot(index="ds", columns="unique_id", values="y")
    fut = path.members.pivot(index="ds", columns="unique_id", values="mean")
    both = pd.concat([hist, fut.reindex(columns=hist.columns)]).fillna(0.0).clip(lower=0.0)
    return both.div(both.sum(axis=1), axis=0)


def _burden_section(data: ForecastData) -> Section:
    main = data.paths[0]
    shares = _shares(data, main)
    order = shares.iloc[-1].sort_values(ascending=False).index.tolist()
    top = order[:SHARE_MEMBERS]
    shown = shares[top].copy()
    others = f"{len(order) - len(top)} others"
    if len(order) > len(top):
        shown[others] = shares[order[len(top) :]].sum(axis=1)
    shown.columns = [data.names.get(c, c) for c in top] + (
        [others] if len(order) > len(top) else []
    )
    palette = charts.colours(list(shown.columns))
    palette[others] = "#c8c8c8"
    first_forecast = int(data.history["ds"].max()) + 1
    chart = Chart(
        "burden-shares",
        "Burden shares over time",
        charts.stacked_shares(
            shown, f"Members' shares of the fund, path '{main.name}'", palette, first_forecast
        ),
        "Each band is a member's share of the fund's total; right of the dashed line, "
        "forecast means.",
        "burden-shares",
    )
    years = [int(shares.index.min()), first_forecast - 1, int(shares.index.max())]
    frame = pd.DataFrame({"member": order, "name": [data.names.get(u, u) for u in order]})
    for y in years:
        frame[str(y)] = shares.loc[y, order].to_numpy()
    frame["change (points)"] = (
        shares.loc[years[-1], order] - shares.loc[years[1], order]
    ).to_numpy()
    fmt_share = {str(y): (lambda v: f"{v * 100:.1f}%") for y in years}
    fmt_share["change (points)"] = lambda v: f"{v * 100:+.1f}"
    table = Table.of(
        "burden-shares",
        "Members' shares of the fund",
        frame,
        fmt_share,
        f"Shares in {years[0]}, the last year of history ({years[1]}) and {years[2]} "
        f"(path '{main.name}'); change in percentage points since {years[1]}.",
    )
    text = (
        "Burden shares say who carries the fund. A member whose spending grows faster than "
        "the others' takes a larger share.",
    )
    return Section("burden", "Burden shares over time", text, (chart,), (table,))


def _drivers_section(data: ForecastData, fmt: _Fmt) -> Section:
    last_year = int(data.history["ds"].max())
    last = data.history[data.history["ds"] == last_year].set_index("unique_id")["y"]
    tables = []
    chart_list = []
    lines = []
    for path in data.paths:
        end_year = int(path.members["ds"].max())
        end = path.members[path.members["ds"] == end_year].set_index("unique_id")["mean"]
        change = (end - last.reindex(end.index).fillna(0.0)).sort_values(key=abs, ascending=False)
        frame = pd.DataFrame(
            {
                "member": change.index,
                "name": [data.names.get(u, u) for u in change.index],
                "change": (change / fmt.factor).to_numpy(),
                "share of the fund's change": shares_of_change(change.to_numpy()),
            }
        )
        notes = []
        if len(frame) > DRIVER_MEMBERS:
            notes.append(
                f"The {DRIVER_MEMBERS} largest changes of the {len(frame)} members on this path; "
                "all are in the Excel workbook."
            )
        if frame["share of the fund's change"].isna().all():
            notes.append("Members' changes nearly cancel, so no share of the net change is shown.")
        tables.append(
            Table.of(
                f"drivers-{path.name}",
                f"Change from {last_year} to {end_year} by member, path '{path.name}' ({fmt.unit})",
                frame.head(DRIVER_MEMBERS),
                {
                    "change": lambda v: f"{v:+,.2f}",
                    "share of the fund's change": lambda v: (
                        f"{v * 100:.1f}%" if pd.notna(v) else "-"
                    ),
                },
                " ".join(notes),
            )
        )
        top = change.head(DRIVER_MEMBERS)
        top.index = [data.names.get(u, u) for u in top.index]
        chart_list.append(
            Chart(
                f"drivers-{path.name}",
                f"Who drives the change, path '{path.name}'",
                charts.diverging_bars(
                    top / fmt.factor,
                    f"Change in contribution {last_year}-{end_year}, path '{path.name}' "
                    f"({fmt.unit})",
                    fmt.suffix,
                ),
                "Green: contributions that grow; red: contributions that shrink.",
                f"drivers-{path.name}",
            )
        )
        lead = frame.head(3)
        shares = lead["share of the fund's change"]
        lines.append(
            f"Path '{path.name}': the fund changes by {fmt.money(change.sum())} from {last_year} "
            f"to {end_year}; "
            + ", ".join(
                f"{n} ({s * 100:.0f}%)" if pd.notna(s) else f"{n} ({fmt.money(c)})"
                for n, s, c in zip(lead["name"], shares, change.head(3), strict=True)
            )
            + " contribute the most to it."
        )
    return Section(
        "drivers",
        "The members that drive the change",
        tuple(lines),
        tuple(chart_list),
        tuple(tables),
    )


def _accuracy_section(data: ForecastData) -> Section:
    bt = data.backtest
    columns = {"mase": "MASE", "smape": "sMAPE (%)"}
    for level in LEVELS:
        columns[f"coverage-{level}"] = f"{level}% coverage"
        if f"coverage_uncal-{level}" in bt:
            columns[f"coverage_uncal-{level}"] = f"{level}% coverage, uncalibrated"
    grouped = bt.groupby("model").agg(
        series=("unique_id", "nunique"), **{c: (c, "mean") for c in columns if c in bt}
    )
    overall = bt[[c for c in columns if c in bt]].mean().to_frame().T
    overall.insert(0, "series", bt["unique_id"].nunique())
    overall.index = ["all models used"]
    frame = pd.concat([grouped, overall]).reset_index(names="model").rename(columns=columns)
    formats = {"MASE": lambda v: f"{v:.2f}", "sMAPE (%)": lambda v: f"{v:.1f}"}
    formats |= {c: (lambda v: f"{v * 100:.0f}%") for c in frame.columns if "coverage" in c}
    table = Table.of(
        "backtest-accuracy",
        f"Backtest accuracy of the models used ({data.backtest_horizon}-year horizon)",
        frame,
        formats,
        "Rolling-origin backtests: each model forecasts years it did not see, then is "
        "scored against what happened.",
    )
    mase_all = float(overall["mase"].iloc[0]) if "mase" in overall else float("nan")
    cover = {
        level: float(overall[f"coverage-{level}"].iloc[0])
        for level in LEVELS
        if f"coverage-{level}" in overall
    }
    lines = [
        "How far to trust the forecast: MASE compares a model's errors with those of "
        "repeating the last value (below 1 is better than that naive forecast); coverage is "
        "how often the outcome fell inside the interval (an honest 80% interval covers "
        "about 80%).",
        f"Over all members, MASE is {mase_all:.2f}"
        + "".join(f"; the {lv}% intervals covered {c * 100:.0f}%" for lv, c in cover.items())
        + ".",
    ]
    if mase_all > 1:
        lines.append(
            "A MASE above 1 means that, over these few years of history, the models did "
            "not beat repeating the last value: read the central forecast as one plausible "
            "course and give the intervals more weight than the line."
        )
    short = [lv for lv, c in cover.items() if c < lv / 100 - 0.05]
    if short:
        lines.append(
            "The intervals covered less often than they claim ("
            + ", ".join(f"{lv}%" for lv in short)
            + "): the real uncertainty is larger than the bands show."
        )
    if any(f"coverage_uncal-{lv}" in bt for lv in LEVELS):
        lines.append(
            "The intervals are calibrated on the backtest errors (conformal adjustment): the "
            "models' own intervals, shown for comparison, are usually too narrow."
        )
    return Section("accuracy", "How far to trust it: backtest accuracy", tuple(lines), (), (table,))


def forecast_report(data: ForecastData, provenance: tuple[tuple[str, str], ...]) -> Report:
    """The forecast report for ``data``; ``provenance`` lists the engine version, time,
    inputs hash and command (see :mod:`reports.document`)."""
    fmt = _Fmt(data)
    palette = charts.colours([p.name for p in data.paths])
    history = _fund_history(data)
    last_year = int(history.index[-1])
    end_year = int(max(p.fund["ds"].max() for p in data.paths))
    facts = [
        ("History", f"{int(history.index[0])}-{last_year}"),
        ("Forecast to", str(end_year)),
        ("Members", str(data.history["unique_id"].nunique())),
        (f"Fund in {last_year}", fmt.money(history.iloc[-1])),
    ]
    for path in data.paths:
        final = path.fund.sort_values("ds").iloc[-1]
        facts.append((f"{end_year}, path '{path.name}'", fmt.money(final["mean"])))
    sections = (
        _fund_section(data, fmt, palette),
        _members_section(data, fmt),
        _burden_section(data),
        _drivers_section(data, fmt),
        _accuracy_section(data),
    )
    extra = {
        "history": data.history,
        **{f"members-{p.name}": p.members for p in data.paths},
        "backtest-per-series": data.backtest,
    }
    return Report(
        title=f"{data.fund_name}: forecast to {end_year}",
        subtitle="Paths: " + ", ".join(f"{p.name}" for p in data.paths),
        facts=tuple(facts),
        sections=sections,
        assumptions=data.assumptions,
        sources=data.sources,
        provenance=provenance,
        data=extra,
    )
