"""The flow (Sankey) diagram of members' money into areas, in plain SVG.

Drawn by hand rather than by matplotlib: bands are a path each, labels are text, and
nothing needs a script, so it prints as it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

import pandas as pd


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
