"""Counts and year spans as a planner reads them: ``1 member``, ``2 members``, ``2026``,
``2026-2030``."""

from __future__ import annotations

from collections.abc import Sequence


def count_noun(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes, e.g. ``1 policy``, ``3 policies``."""
    if n == 1:
        return f"1 {noun}"
    if plural is None:
        plural = (
            noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
        )
    return f"{n} {plural}"


def year_span(years: Sequence[int]) -> str:
    """``2026-2030`` for a run of years, ``2026`` for one year (first and last as given)."""
    first, last = years[0], years[-1]
    return str(first) if first == last else f"{first}-{last}"
