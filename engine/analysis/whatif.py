"""What-if: apply edits, re-solve close to the baseline, and say exactly what changed.

The edited scenario is solved with the baseline's allocation as the tie-break reference,
so among equally good plans the one closest to the baseline is kept and alternative
optima never show up as changes: the diff shows only the consequences of the edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from engine.formulation.rows import BOOKKEEPING
from engine.results.projects import project_changes
from engine.results.schema import Result
from engine.scenario.edits import Edit, apply_edits
from engine.scenario.schema import Fund, Scenario
from engine.scenario.units import UNIT_FACTORS
from engine.solving.resolver import Resolver

#: Changes smaller than these are not reported: money in currency units, shadow prices
#: in value points per fund unit (e.g. per $1bn).
MONEY_TOL = 1.0
PRICE_TOL = 1e-7


@dataclass(frozen=True)
class Comparison:
    """What changed from ``base`` to ``new``.

    Frames (money in currency units; only non-zero changes, largest first):
    ``allocation`` member, area, year, before, after, change; ``areas`` area, year,
    before, after, change; ``members`` member, year, before, after, change (allocated);
    ``binding`` name, label, before, after, status ("became binding"/"stopped binding");
    ``shadow_prices`` name, label, before, after, change (value points per unit);
    ``projects`` (scenarios with projects): see :func:`engine.results.projects.project_changes`.
    ``caveats``: sentences saying where the two sides do not compare (another currency or unit).
    """

    value_before: float
    value_after: float
    status_before: str
    status_after: str
    allocation: pd.DataFrame
    areas: pd.DataFrame
    members: pd.DataFrame
    binding: pd.DataFrame
    shadow_prices: pd.DataFrame
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    caveats: tuple[str, ...] = ()

    @property
    def value_change(self) -> float:
        """Change of the objective in value points (NaN if either side has no plan)."""
        return self.value_after - self.value_before


def _diff(before: pd.DataFrame, after: pd.DataFrame, keys: list[str], col: str) -> pd.DataFrame:
    merged = pd.merge(
        before[[*keys, col]].rename(columns={col: "before"}),
        after[[*keys, col]].rename(columns={col: "after"}),
        on=keys,
        how="outer",
    )
    # An infeasible side has empty (object-typed) frames: make the numbers numbers first.
    merged[["before", "after"]] = merged[["before", "after"]].astype(float).fillna(0.0)
    merged["change"] = merged["after"] - merged["before"]
    merged = merged[merged["change"].abs() > MONEY_TOL]
    order = merged["change"].abs().sort_values(ascending=False, kind="stable").index
    return merged.loc[order].reset_index(drop=True)


def compare(base: Result, new: Result) -> Comparison:
    """The diff between two results of related scenarios (see :class:`Comparison`)."""
    members = [
        r.members.groupby(["member", "year"], as_index=False)["allocated"].sum()
        if not r.members.empty
        else pd.DataFrame(columns=["member", "year", "allocated"])
        for r in (base, new)
    ]
    cb = base.constraints
    cn = new.constraints
    keep = ["name", "label", "binding", "shadow_price"]
    joined = pd.merge(
        cb[~cb["kind"].isin(BOOKKEEPING)][keep] if not cb.empty else pd.DataFrame(columns=keep),
        cn[~cn["kind"].isin(BOOKKEEPING)][keep] if not cn.empty else pd.DataFrame(columns=keep),
        on="name",
        how="outer",
        suffixes=("_before", "_after"),
    )
    joined["label"] = joined["label_after"].fillna(joined["label_before"])
    b_before = joined["binding_before"].astype("boolean").fillna(False).astype(bool)
    b_after = joined["binding_after"].astype("boolean").fillna(False).astype(bool)
    flips = joined[b_before != b_after].assign(
        before=b_before[b_before != b_after],
        after=b_after[b_before != b_after],
    )
    flips["status"] = flips["after"].map({True: "became binding", False: "stopped binding"})
    prices = joined.assign(
        before=joined["shadow_price_before"].astype(float).fillna(0.0),
        after=joined["shadow_price_after"].astype(float).fillna(0.0),
    )
    prices["change"] = prices["after"] - prices["before"]
    tol = PRICE_TOL / UNIT_FACTORS[new.scenario.fund.unit]
    prices = prices[prices["change"].abs() > tol]
    prices = prices.reindex(prices["change"].abs().sort_values(ascending=False).index)
    return Comparison(
        value_before=base.objective,
        value_after=new.objective,
        status_before=base.status.value,
        status_after=new.status.value,
        allocation=_diff(base.allocation, new.allocation, ["member", "area", "year"], "amount"),
        areas=_diff(base.areas, new.areas, ["area", "year"], "amount"),
        members=_diff(members[0], members[1], ["member", "year"], "allocated"),
        binding=flips[["name", "label", "before", "after", "status"]].reset_index(drop=True),
        shadow_prices=prices[["name", "label", "before", "after", "change"]].reset_index(drop=True),
        projects=project_changes(base.projects, new.projects),
        caveats=_caveats(base.scenario.fund, new.scenario.fund),
    )


def _caveats(before: Fund, after: Fund) -> tuple[str, ...]:
    """Where two funds' figures do not compare: money in another currency, or value points
    counted per another unit (a value curve's marginal value is per fund unit)."""
    out = []
    if before.currency != after.currency:
        out.append(
            f"the baseline counts money in {before.currency} and the edited scenario in "
            f"{after.currency}: money changes mix currencies"
        )
    if before.unit != after.unit:
        out.append(
            f"the baseline counts in {before.currency} {before.unit} and the edited scenario in "
            f"{after.currency} {after.unit}: value points are per unit of money, so the value "
            "change compares different scales"
        )
    return tuple(out)


@dataclass(frozen=True)
class WhatIf:
    """A baseline, the edited scenario's result, and their comparison."""

    base: Result
    new: Result
    comparison: Comparison


def what_if(
    scenario: Scenario,
    edits: Iterable[Edit | str],
    resolver: Resolver | None = None,
    base: Result | None = None,
) -> WhatIf:
    """Solve ``scenario`` (unless ``base`` is given), apply ``edits``, re-solve warm near
    the baseline and compare. Raises ScenarioError for an invalid edit."""
    resolver = resolver or Resolver()
    edited = apply_edits(scenario, edits)
    if base is None:
        base = resolver.solve(scenario)
    reference = base.allocation if base.ok else None
    new = resolver.solve(edited, reference=reference)
    return WhatIf(base, new, compare(base, new))
