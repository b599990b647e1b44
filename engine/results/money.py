"""Money shown in columns: one precision per column, totals that add up to what is shown.

Every face formats single amounts with :func:`engine.scenario.units.format_money` (snapped
to the solvers' tolerance, rounded half up: a pledge of 0.155bn and an allocation of
0.1550000004bn both show as $0.16bn). A column of figures is shown with one number of
decimals (:func:`column_digits`: never "$9bn" above "$9.70bn"), and a total row is the sum
of the figures as shown (:func:`shown_total`), so a reader adding the column gets it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from engine.scenario.schema import Scenario
from engine.scenario.units import (
    HUGE,
    UNIT_FACTORS,
    display_digits,
    format_money,
    shown_amount,
)

#: Most decimals a column shows to keep its figures exact (a tenth of a million in bn).
MOST_DIGITS = 3


def column_digits(amounts: Iterable[float], unit: str, exact: bool = True) -> int:
    """The one number of decimals a column of amounts (currency units) is shown with:
    none when every figure is whole in ``unit``; else enough to show every figure exactly
    (snapped to the solvers' tolerance) up to :data:`MOST_DIGITS`, at least 2, and enough
    for the smallest nonzero figure not to show as zero. ``exact=False`` (solver output,
    rarely exact at any precision) asks for 2 decimals and only the latter."""
    needed, least = 0, 0
    for a in amounts:
        if a is None or not math.isfinite(a) or a == 0:
            continue
        shown = shown_amount(a, unit, 6)
        if abs(shown) >= HUGE:
            continue
        needed = max(needed, -min(0, int(shown.normalize().as_tuple().exponent)))
        least = max(least, display_digits(shown))
    if needed == 0:
        return 0
    return max(2, min(needed, MOST_DIGITS) if exact else 2, least)


def money_column(amounts: Iterable[float], scenario: Scenario) -> list[str]:
    """Each amount formatted with the column's one precision (:func:`column_digits`)."""
    values = list(amounts)
    digits = column_digits(values, scenario.fund.unit)
    return [money_as(v, scenario, digits) for v in values]


def money_as(amount: float, scenario: Scenario, digits: int | None = None) -> str:
    """``amount`` (currency units) in the scenario's currency and unit, ``digits`` decimals
    (None: as :func:`engine.scenario.units.format_money` chooses)."""
    return format_money(amount, scenario.fund.currency, scenario.fund.unit, digits)


def shown_total(amounts: Iterable[float], unit: str, digits: int) -> float:
    """The sum of ``amounts`` as shown with ``digits`` decimals in ``unit`` (currency
    units): formatted with the same digits, it is the sum of the figures shown above it."""
    total = Decimal(0)
    for a in amounts:
        if a is None or not math.isfinite(a):
            continue
        shown = shown_amount(a, unit, digits)
        total += shown if abs(shown) < HUGE else Decimal(repr(a)) / Decimal(UNIT_FACTORS[unit])
    return float(total * Decimal(UNIT_FACTORS[unit]))


def footed(amounts: Iterable[float], unit: str, digits: int) -> list[float]:
    """``amounts`` (currency units) rounded to ``digits`` decimals of ``unit`` so that their
    sum, shown alike, is their exact sum rounded (largest remainders get the last digits):
    a column whose figures are shown footed adds up to its total."""
    values = [a if a is not None and math.isfinite(a) else 0.0 for a in amounts]
    if not values:
        return []
    factor = Decimal(UNIT_FACTORS[unit])
    step = Decimal(1).scaleb(-digits)
    exact = [Decimal(repr(v)) / factor for v in values]
    if any(abs(e) >= HUGE for e in exact):
        return values
    target = shown_amount(sum(values), unit, digits)
    low = [(e / step).to_integral_value(rounding="ROUND_FLOOR") * step for e in exact]
    missing = int(((target - sum(low)) / step).to_integral_value())
    order = sorted(range(len(values)), key=lambda i: exact[i] - low[i], reverse=missing > 0)
    for i in order[: abs(missing)]:
        low[i] += step if missing > 0 else -step
    return [float(v * factor) for v in low]
