"""Amounts and names as the allocation report's sections show them.

:class:`Fmt` formats amounts (in the currency's units) in the fund's unit with the one
money formatter (:func:`engine.money`); the name helpers give areas' and members' display
names and the order areas are listed in.
"""

from __future__ import annotations

import pandas as pd

from engine import UNIT_FACTORS, Result, Scenario, money
from reports.document import in_unit


class Fmt:
    """Formats amounts (currency units) in the fund's unit."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.factor = UNIT_FACTORS[scenario.fund.unit]
        self.unit = f"{scenario.fund.currency} {scenario.fund.unit}"
        self.suffix = scenario.fund.unit
        # Money formatters say which unit their column is in: a workbook sheet then holds
        # the column's numbers in the fund's unit, with the unit in its header.
        self.money = in_unit(lambda amount: money(amount, self.scenario), self)
        self.signed = in_unit(
            lambda amount: ("+" if amount > 0 else "") + money(amount, self.scenario), self
        )

    def scaled(self, amounts: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        """Amounts in currency units, divided into the fund's unit."""
        return amounts / self.factor


def pct(share: float) -> str:
    """A share (0.123) as a percentage with one decimal (``12.3%``)."""
    return f"{share * 100:.1f}%"


def area_names(scenario: Scenario) -> dict[str, str]:
    """Area id -> display name (the id when the area has no name)."""
    return {a.id: a.name or a.id for a in scenario.areas}


def member_names(scenario: Scenario) -> dict[str, str]:
    """Member id -> display name (the id when the member has no name)."""
    return {m.id: m.name or m.id for m in scenario.members}


def area_order(result: Result) -> list[str]:
    """Area ids, largest total funding over the horizon first (ties in scenario order)."""
    totals = result.areas.groupby("area", sort=False)["amount"].sum()
    return totals.sort_values(ascending=False, kind="stable").index.tolist()
