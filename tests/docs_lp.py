"""The docs' formulation as plain rows and columns, grown as lists (tests/docs_oracle.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Lp:
    """The programme as rows ``lo <= A x <= hi`` over named columns, grown as lists."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    #: Each area-year's value ``V_a`` as terms (before priority and discount).
    values: dict[tuple[str, int], dict[int, float]] = field(default_factory=dict)

    def column(self, lower: float = 0.0, upper: float = np.inf, value: float = 0.0) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        self.cost.append(value)
        self.integer.append(0)
        return len(self.cost) - 1

    def row(self, terms: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append((terms, lo, hi))


def add(terms: dict[int, float], more: dict[int, float], factor: float = 1.0) -> dict[int, float]:
    out = dict(terms)
    for col, coef in more.items():
        out[col] = out.get(col, 0.0) + factor * coef
    return out
