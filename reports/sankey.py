"""The flow (Sankey) diagram of members' money into areas, in plain SVG.

Drawn by hand rather than by matplotlib: bands are a path each, labels are text, and
nothing needs a script, so it prints as it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

import pandas as pd

#: Labels' font size and the least distance between two labels' baselines (px).
LABEL_SIZE = 10.0
LABEL_PITCH = 12.0
#: Width of a node's bar (px).
NODE_WIDTH = 12.0


def label_lines(centres: list[float], top: float, bottom: float) -> list[float]:
    """Where each node's label goes: at its node's centre when there is room, else moved
    the least it takes (a downward then an upward sweep) to keep :data:`LABEL_PITCH`
    between neighbours within ``top``..``bottom``, so small nodes' labels never overlap.
    ``centres`` are in drawing order, top down."""
    lines = list(centres)
    for k in range(1, len(lines)):
        lines[k] = max(lines[k], lines[k - 1] + LABEL_PITCH)
    if lines:
        lines[-1] = min(lines[-1], bottom - LABEL_PITCH / 2)
    for k in range(len(lines) - 2, -1, -1):
        lines[k] = min(lines[k], lines[k + 1] - LABEL_PITCH)
    return [max(line, top) for line in lines]


def _node_column(
    spots: Mapping[str, list[float]],
    colours: Mapping[str, str],
    labels: Mapping[str, str],
    x: float,
    left: bool,
    bounds: tuple[float, float],
) -> list[str]:
    """One column of nodes (``spots``: name -> [top, size, ...], top down) with their
    labels beside them (left of the column when ``left``), moved apart by
    :func:`label_lines` and tied to a moved-away node by a leader line."""
    anchor, dx = ("end", -6.0) if left else ("start", NODE_WIDTH + 6)
    edge = x if left else x + NODE_WIDTH
    tip = edge - 3 if left else edge + 3
    centres = [y + size / 2 for y, size, *_ in spots.values()]
    parts = []
    for (name, spot), centre, line in zip(
        spots.items(), centres, label_lines(centres, *bounds), strict=True
    ):
        parts.append(
            f'<rect x="{x:.1f}" y="{spot[0]:.2f}" width="{NODE_WIDTH:g}" '
            f'height="{max(spot[1], 0.8):.2f}" fill="{colours[name]}"/>'
        )
        if abs(line - centre) > 0.5:
            parts.append(
                f'<path d="M{edge:.1f},{centre:.2f} L{tip:.1f},{line:.2f}" '
                'stroke="#999999" stroke-width="0.5" fill="none"/>'
            )
        parts.append(
            f'<text x="{x + dx:.1f}" y="{line + 3.5:.2f}" font-size="{LABEL_SIZE:g}" '
            f'text-anchor="{anchor}">{escape(labels[name])}</text>'
        )
    return parts


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
    height = max(360.0, (LABEL_PITCH + 2) * max(len(sources), len(targets)) + 60)
    scale = (height - top - 16 - gap * n_gap) / total if total > 0 else 0.0
    node_w, x0, x1 = NODE_WIDTH, label_w, width - label_w

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
    for key, names, spots, x in (("source", sources, left, x0), ("target", targets, right, x1)):
        sums = flows.groupby(key, sort=False)["value"].sum()
        colours = {n: "#555555" if key == "source" else palette.get(n, "#999999") for n in names}
        labels = {n: f"{n} {fmt(sums[n])}" for n in names}
        parts += _node_column(spots, colours, labels, x, key == "source", (top, height))
    parts.append("</svg>")
    return "\n".join(parts)
