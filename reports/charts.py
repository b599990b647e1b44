"""Charts for reports, as inline SVG text: self-contained, sharp in print, no scripts.

Each function takes tidy data and returns an ``<svg>`` element as a string. Matplotlib
draws every chart except the small multiples, which are plain SVG (the flow diagram is
:mod:`reports.sankey`).
Text stays text (not paths), so it is searchable and small; ids are salted with a constant
so that the same data gives the same SVG.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

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


_GROUP_TAG = re.compile(r"<g\b[^>]*>|</g>")
_BARE_GROUP = re.compile(r'<g(?:\s+id="[^"]*")?\s*>')


def _flatten_groups(svg: str) -> str:
    """Drop the ``<g>`` wrappers that carry nothing but an id (matplotlib wraps every artist
    in one): the drawing is the same, with half the elements for browsers and WeasyPrint to
    style and draw. Groups with a transform, style or clip path are kept."""
    out: list[str] = []
    kept: list[bool] = []
    pos = 0
    for match in _GROUP_TAG.finditer(svg):
        out.append(svg[pos : match.start()])
        pos = match.end()
        tag = match.group(0)
        if tag == "</g>":
            if kept.pop():
                out.append(tag)
        elif tag.endswith("/>"):
            out.append(tag)
        else:
            kept.append(_BARE_GROUP.fullmatch(tag) is None)
            if kept[-1]:
                out.append(tag)
    out.append(svg[pos:])
    return "".join(out)


def _svg(fig: Figure, label: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), with an accessible label."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    svg = _flatten_groups(svg)
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


#: Small multiples, in points (1/72 inch) like matplotlib's SVG: panel height, the gap for
#: the title above the panels and for the year labels below them.
_PANEL_HEIGHT = 90.0
_SM_TOP = 22.0
_SM_BOTTOM = 12.0
#: Tick choice as matplotlib's default locator, with the bins the panels had there.
_STEPS = (1, 2, 2.5, 5, 10)


def _scale(values: list[np.ndarray], nbins: int) -> tuple[float, float, np.ndarray]:
    """Axis limits (data range plus 5% each side) and the round ticks within them."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo or max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    ticks = MaxNLocator(nbins=nbins, steps=list(_STEPS)).tick_values(lo, hi)
    ticks = ticks[(ticks >= lo - 1e-9 * span) & (ticks <= hi + 1e-9 * span)]
    return lo, hi, ticks


def _line(xs: Sequence[float], ys: Sequence[float]) -> str:
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


@dataclass(frozen=True)
class _Panel:
    """A panel's plot area (points) and the data limits it shows."""

    left: float
    right: float
    top: float
    bottom: float
    x_lim: tuple[float, float]
    y_lim: tuple[float, float]

    def x(self, values: Any) -> np.ndarray:
        lo, hi = self.x_lim
        return self.left + (np.asarray(values, float) - lo) / (hi - lo) * (self.right - self.left)

    def y(self, values: Any) -> np.ndarray:
        lo, hi = self.y_lim
        return self.bottom - (np.asarray(values, float) - lo) / (hi - lo) * (self.bottom - self.top)


def _panel_svg(
    name: str,
    frame: pd.DataFrame,
    box: _Panel,
    ticks: tuple[np.ndarray, np.ndarray],
    unit_label: str,
    year_labels: bool,
    split: float | None,
) -> list[str]:
    """One small multiple: title, grid, axes, tick labels, history, forecast band and mean."""
    x_ticks, y_ticks = ticks
    left, right, top, bottom = box.left, box.right, box.top, box.bottom
    grid = "".join(f"M{x:.1f},{top:.1f}V{bottom:.1f}" for x in box.x(x_ticks))
    grid += "".join(f"M{left:.1f},{y:.1f}H{right:.1f}" for y in box.y(y_ticks))
    axes = f"M{left:.1f},{top:.1f}V{bottom:.1f}H{right:.1f}"
    axes += "".join(f"M{left:.1f},{y:.1f}h-2" for y in box.y(y_ticks))
    axes += "".join(f"M{x:.1f},{bottom:.1f}v2" for x in box.x(x_ticks))
    parts = [
        f'<text x="{left:.1f}" y="{top - 4:.1f}" font-size="8" font-weight="bold">'
        f"{escape(name)}</text>",
        f'<path d="{grid}" stroke="#dddddd" stroke-width="0.6" fill="none"/>',
        f'<path d="{axes}" stroke="#000000" stroke-width="0.8" fill="none"/>',
    ]
    for value, y in zip(y_ticks, box.y(y_ticks), strict=True):
        label = f"{value:,.3g}{unit_label}" if value else "0"
        parts.append(
            f'<text x="{left - 3:.1f}" y="{y + 2.5:.1f}" font-size="7" text-anchor="end">'
            f"{escape(label)}</text>"
        )
    if year_labels:
        for value, x in zip(x_ticks, box.x(x_ticks), strict=True):
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 9:.1f}" font-size="7" text-anchor="middle">'
                f"'{int(value) % 100:02d}</text>"
            )
    if split is not None and box.x_lim[0] <= split - 0.5 <= box.x_lim[1]:
        x = float(box.x(split - 0.5))
        parts.append(
            f'<path d="M{x:.1f},{top:.1f}V{bottom:.1f}" stroke="#999999" stroke-width="0.5"/>'
        )
    hist = frame.dropna(subset=["y"]) if "y" in frame else frame.iloc[0:0]
    if len(hist):
        parts.append(
            f'<path d="{_line(box.x(hist["ds"]), box.y(hist["y"]))}" stroke="#222222" '
            'stroke-width="1.1" fill="none" stroke-linejoin="round"/>'
        )
    fut = frame.dropna(subset=["mean"]) if "mean" in frame else frame.iloc[0:0]
    if len(fut) and "lo-80" in fut:
        xs = box.x(fut["ds"])
        lo, hi = box.y(fut["lo-80"]), box.y(fut["hi-80"])
        band = _line([*xs, *xs[::-1]], [*lo, *hi[::-1]])
        parts.append(f'<path d="{band}Z" fill="#2e75b6" fill-opacity="0.25"/>')
    if len(fut):
        parts.append(
            f'<path d="{_line(box.x(fut["ds"]), box.y(fut["mean"]))}" stroke="#2e75b6" '
            'stroke-width="1.1" stroke-dasharray="4.1,1.8" fill="none"/>'
        )
    return parts


def small_multiples(
    panels: Mapping[str, pd.DataFrame],
    title: str,
    unit_label: str,
    columns: int = 6,
    split: float | None = None,
) -> str:
    """One small line chart per series, each on its own scale, in plain SVG.

    Each frame has ``ds`` and ``y`` (history) and optionally ``mean``, ``lo-80``, ``hi-80``
    (forecast), in the fund's unit. ``split`` marks the first forecast year. Drawn by hand,
    not by matplotlib: a few elements per panel instead of a hundred, so thirty panels cost
    milliseconds to draw and little to print.
    """
    rows = max(1, math.ceil(len(panels) / columns))
    width = WIDTH * 72
    panel_w = width / columns
    height = _SM_TOP + rows * _PANEL_HEIGHT + _SM_BOTTOM
    x_lo, x_hi, x_ticks = _scale([f["ds"].to_numpy(float) for f in panels.values()], 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.1f} {height:.1f}" '
        f'role="img" aria-label="{escape(title)}" class="chart-svg" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif">',
        f'<text x="4" y="13" font-size="10" font-weight="bold">{escape(title)}</text>',
    ]
    for k, (name, frame) in enumerate(panels.items()):
        row, col = divmod(k, columns)
        columns_present = [c for c in ("y", "mean", "lo-80", "hi-80") if c in frame]
        y_lo, y_hi, y_ticks = _scale([frame[c].to_numpy(float) for c in columns_present], 3)
        box = _Panel(
            left=col * panel_w + 32,
            right=(col + 1) * panel_w - 6,
            top=_SM_TOP + row * _PANEL_HEIGHT + 14,
            bottom=_SM_TOP + (row + 1) * _PANEL_HEIGHT - 8,
            x_lim=(x_lo, x_hi),
            y_lim=(y_lo, y_hi),
        )
        # Years are labelled under the lowest panel of each column.
        year_labels = k + columns >= len(panels)
        parts += _panel_svg(
            str(name), frame, box, (x_ticks, y_ticks), unit_label, year_labels, split
        )
    parts.append("</svg>")
    return "\n".join(parts)
