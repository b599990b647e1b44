"""Charts for reports, as inline SVG text: self-contained, sharp in print, no scripts.

Each function takes tidy data and returns an ``<svg>`` element as a string. Matplotlib
draws every chart except the flow diagram, which is plain SVG. Text stays text (not
paths), so it is searchable and small; ids are salted with a constant so that the same
data gives the same SVG.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

#: Width of a full-width chart, in inches at 96 dpi (about 760 px, an A4 text column).
WIDTH = 7.9
PALETTE = (
    "#1f4e79",
    "#c55a11",
    "#548235",
    "#7030a0",
    "#bf8f00",
    "#2e75b6",
    "#a5243d",
    "#3b8686",
    "#7f6000",
    "#8e7cc3",
    "#5b9bd5",
    "#ed7d31",
    "#70ad47",
    "#a9a9a9",
    "#264478",
    "#9e480e",
)
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "coalition-fund-planner",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "legend.fontsize": 8,
}


def colours(names: Sequence[str]) -> dict[str, str]:
    """A stable colour for each name, in order (the palette repeats past 16)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _svg(fig: Figure, label: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), with an accessible label."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    # Let the page size the chart: keep the aspect ratio (viewBox), drop fixed sizes.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(label)}" class="chart-svg"', 1)


def _figure(height: float, width: float = WIDTH) -> tuple[Figure, plt.Axes]:
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def money_axis(unit_label: str) -> FuncFormatter:
    """Tick labels for amounts already divided into the fund's unit (``12.5`` -> ``12.5bn``)."""
    return FuncFormatter(lambda v, _pos: f"{v:,.0f}{unit_label}" if v else "0")


def stacked_bars(
    table: pd.DataFrame, title: str, unit_label: str, palette: Mapping[str, str]
) -> str:
    """Stacked columns: one per row of ``table`` (e.g. years), one stack per column (areas).

    Values are in the fund's unit. Columns are stacked in their order, legend on the right.
    """
    with plt.rc_context(_STYLE):
        fig, ax = _figure(3.6)
        bottom = pd.Series(0.0, index=table.index)
        labels = [str(i) for i in table.index]
        for column in table.columns:
            ax.bar(
                labels,
                table[column],
                bottom=bottom,
                label=str(column),
                color=palette.get(str(column), "#999999"),
                width=0.62,
                edgecolor="white",
                linewidth=0.4,
            )
            bottom = bottom + table[column]
        ax.yaxis.set_major_formatter(money_axis(unit_label))
        ax.set_title(title, loc="left")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), ncols=1)
        ax.grid(axis="x", visible=False)
        return _svg(fig, title)


def stacked_shares(
    table: pd.DataFrame, title: str, palette: Mapping[str, str], marker: float | None = None
) -> str:
    """Stacked areas of shares (rows: years, columns: parts; each row sums to 1).

    ``marker`` draws a vertical line (e.g. the first forecast year).
    """
    with plt.rc_context(_STYLE):
        fig, ax = _figure(3.4)
        ax.stackplot(
            table.index.astype(float),
            *[table[c].to_numpy() for c in table.columns],
            labels=[str(c) for c in table.columns],
            colors=[palette.get(str(c), "#999999") for c in table.columns],
            alpha=0.92,
        )
        if marker is not None:
            ax.axvline(marker - 0.5, color="#333333", linewidth=0.8, linestyle="--")
            ax.text(marker - 0.4, 0.98, "forecast", va="top", fontsize=8, color="#333333")
        ax.set_ylim(0, 1)
        ax.set_xlim(table.index.min(), table.index.max())
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
        ax.set_title(title, loc="left")
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5))
        return _svg(fig, title)


def horizontal_bars(
    frame: pd.DataFrame,
    label: str,
    series: Mapping[str, str],
    title: str,
    unit_label: str,
) -> str:
    """Grouped horizontal bars: one row per ``frame[label]``, one bar per column in ``series``
    (column -> colour), values in the fund's unit. Rows keep the frame's order, top down."""
    with plt.rc_context(_STYLE):
        n = len(frame)
        fig, ax = _figure(max(1.6, 0.24 * n + 0.9))
        height = 0.8 / max(len(series), 1)
        positions = range(n)
        for k, (column, colour) in enumerate(series.items()):
            ax.barh(
                [p + (k - (len(series) - 1) / 2) * height for p in positions],
                frame[column],
                height=height,
                color=colour,
                label=column.replace("_", " "),
            )
        ax.set_yticks(list(positions), frame[label].astype(str))
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(money_axis(unit_label))
        ax.set_title(title, loc="left")
        ax.grid(axis="y", visible=False)
        if len(series) > 1:
            ax.legend(loc="lower right")
        return _svg(fig, title)


def diverging_bars(values: pd.Series, title: str, unit_label: str) -> str:
    """Changes by category (index), in the fund's unit: gains right in green, cuts left in red."""
    with plt.rc_context(_STYLE):
        fig, ax = _figure(max(1.6, 0.26 * len(values) + 0.9))
        colours_ = ["#548235" if v >= 0 else "#a5243d" for v in values]
        ax.barh([str(i) for i in values.index], values.to_numpy(), color=colours_)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _p: f"{v:+,.1f}{unit_label}" if v else "0")
        )
        ax.set_title(title, loc="left")
        ax.grid(axis="y", visible=False)
        return _svg(fig, title)


def fan_chart(
    history: pd.Series,
    paths: Mapping[str, pd.DataFrame],
    title: str,
    unit_label: str,
    palette: Mapping[str, str],
    levels: Sequence[float] = (80, 95),
    ylim: tuple[float, float] | None = None,
) -> str:
    """History (index: year) and, per policy path, the mean forecast with shaded bands.

    Each frame in ``paths`` has columns ``ds``, ``mean`` and ``lo-L``/``hi-L`` for each
    level L, in the fund's unit; wider levels are drawn lighter.
    """
    with plt.rc_context(_STYLE):
        fig, ax = _figure(3.8)
        ax.plot(history.index, history.to_numpy(), color="#222222", linewidth=1.8, label="history")
        last_year, last_value = history.index[-1], history.iloc[-1]
        for name, frame in paths.items():
            colour = palette.get(name, "#1f4e79")
            years = [last_year, *frame["ds"].tolist()]
            for k, level in enumerate(sorted(levels, reverse=True)):
                lo = [last_value, *frame[f"lo-{level:g}"].tolist()]
                hi = [last_value, *frame[f"hi-{level:g}"].tolist()]
                ax.fill_between(
                    years,
                    lo,
                    hi,
                    color=colour,
                    alpha=0.14 + 0.14 * k,
                    linewidth=0,
                    label=f"{name}: {level:g}% interval",
                )
            ax.plot(
                years,
                [last_value, *frame["mean"].tolist()],
                color=colour,
                linewidth=1.8,
                linestyle="--",
                label=f"{name}: forecast",
            )
        ax.axvline(last_year + 0.5, color="#777777", linewidth=0.6)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.yaxis.set_major_formatter(money_axis(unit_label))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
        ax.set_title(title, loc="left")
        ax.legend(loc="upper left", ncols=2)
        return _svg(fig, title)


def small_multiples(
    panels: Mapping[str, pd.DataFrame],
    title: str,
    unit_label: str,
    columns: int = 6,
    split: float | None = None,
) -> str:
    """One small line chart per series, each on its own scale.

    Each frame has ``ds`` and ``y`` (history) and optionally ``mean``, ``lo-80``, ``hi-80``
    (forecast), in the fund's unit. ``split`` marks the first forecast year.
    """
    n = len(panels)
    rows = max(1, math.ceil(n / columns))
    with plt.rc_context({**_STYLE, "font.size": 7, "axes.titlesize": 8}):
        fig, axes = plt.subplots(
            rows, columns, figsize=(WIDTH, 1.25 * rows + 0.4), squeeze=False, sharex=True
        )
        for ax, (name, frame) in zip(axes.flat, panels.items(), strict=False):
            hist = frame.dropna(subset=["y"]) if "y" in frame else frame.iloc[0:0]
            ax.plot(hist["ds"], hist["y"], color="#222222", linewidth=1.1)
            if "mean" in frame:
                fut = frame.dropna(subset=["mean"])
                if "lo-80" in fut:
                    ax.fill_between(
                        fut["ds"], fut["lo-80"], fut["hi-80"], color="#2e75b6", alpha=0.25, lw=0
                    )
                ax.plot(fut["ds"], fut["mean"], color="#2e75b6", linewidth=1.1, linestyle="--")
            if split is not None:
                ax.axvline(split - 0.5, color="#999999", linewidth=0.5)
            ax.set_title(name, loc="left", fontweight="bold")
            ax.yaxis.set_major_formatter(
                FuncFormatter(lambda v, _p: f"{v:,.3g}{unit_label}" if v else "0")
            )
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"'{int(v) % 100:02d}"))
            ax.locator_params(axis="y", nbins=3)
            ax.locator_params(axis="x", nbins=4)
            ax.tick_params(length=2, pad=1)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
        fig.tight_layout(h_pad=0.6, w_pad=0.4)
        return _svg(fig, title)


def flow_diagram(
    flows: pd.DataFrame,
    title: str,
    fmt: Callable[[float], str],
    palette: Mapping[str, str],
    width: int = 760,
) -> str:
    """A Sankey-style diagram in plain SVG: sources (left) to targets (right).

    ``flows`` has columns ``source``, ``target``, ``value`` (any positive unit); band
    widths are proportional to values, bands take the target's colour, and each node is
    labelled with its total formatted by ``fmt``. Sources and targets keep their order
    of first appearance, so sort ``flows`` as they should be listed.
    """
    flows = flows[flows["value"] > 0]
    sources = list(dict.fromkeys(flows["source"]))
    targets = list(dict.fromkeys(flows["target"]))
    total = float(flows["value"].sum())
    gap, top, label_w = 4.0, 34.0, 190.0
    n_gap = max(len(sources), len(targets)) - 1
    height = max(360.0, 14.0 * max(len(sources), len(targets)) + 60)
    scale = (height - top - 16 - gap * n_gap) / total if total > 0 else 0.0
    node_w, x0, x1 = 12.0, label_w, width - label_w

    def place(names: list[str], key: str) -> dict[str, list[float]]:
        sums = flows.groupby(key, sort=False)["value"].sum()
        used = sum(sums[n] * scale for n in names) + gap * (len(names) - 1)
        y = top + (height - top - 16 - used) / 2
        spots = {}
        for name in names:
            spots[name] = [y, sums[name] * scale, y, y]  # top, size, next out, next in
            y += sums[name] * scale + gap
        return spots

    left, right = place(sources, "source"), place(targets, "target")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'role="img" aria-label="{escape(title)}" class="chart-svg" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">',
        f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for row in flows.itertuples(index=False):
        size = row.value * scale
        a, b = left[row.source], right[row.target]
        ya, yb = a[2] + size / 2, b[3] + size / 2
        a[2] += size
        b[3] += size
        mid = (x0 + node_w + x1) / 2
        colour = palette.get(row.target, "#999999")
        parts.append(
            f'<path d="M{x0 + node_w:.1f},{ya:.2f} C{mid:.1f},{ya:.2f} {mid:.1f},{yb:.2f} '
            f'{x1:.1f},{yb:.2f}" stroke="{colour}" stroke-opacity="0.45" '
            f'stroke-width="{max(size, 0.6):.2f}" fill="none">'
            f"<title>{escape(str(row.source))} → {escape(str(row.target))}: "
            f"{escape(fmt(row.value))}</title></path>"
        )
    for key, names, spots, x, anchor, dx in (
        ("source", sources, left, x0, "end", -6),
        ("target", targets, right, x1, "start", node_w + 6),
    ):
        sums = flows.groupby(key, sort=False)["value"].sum()
        for name in names:
            y, size = spots[name][0], spots[name][1]
            colour = "#555555" if key == "source" else palette.get(name, "#999999")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.2f}" width="{node_w}" height="{max(size, 0.8):.2f}" '
                f'fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{x + dx:.1f}" y="{y + size / 2 + 3.5:.2f}" font-size="10" '
                f'text-anchor="{anchor}">{escape(str(name))} {escape(fmt(sums[name]))}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
