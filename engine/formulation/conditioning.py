"""Refuse a model whose coefficients the solvers cannot all see the same way.

HiGHS drops every matrix coefficient smaller than 1e-9 (its ``small_matrix_value``)
without a word, CBC keeps them: a project cost of $2 in a fund counted in bn (2e-9 in the
model's units, 1e-10 once times a 5% work share) made HiGHS call the default scenario
infeasible while CBC found a plan of 462.17 points (issue 14). Amounts that small, or so
large that they swamp the fund's own (above 1e9 fund units), are almost always a unit
typed wrongly, so a model with such coefficients is refused with the rows they are in
rather than solved differently by each solver.
"""

from __future__ import annotations

import numpy as np

from engine.errors import ScenarioError
from engine.formulation.core import PlanModel

#: Coefficients below this (in absolute value, model units) HiGHS drops.
SMALLEST = 1e-9
#: Coefficients above this make the solvers' tolerances meaningless for the rest.
LARGEST = 1e9
#: Rows named in the message.
SHOWN = 3


def check_coefficients(model: PlanModel) -> PlanModel:
    """``model`` itself when every nonzero coefficient lies within [:data:`SMALLEST`,
    :data:`LARGEST`]; raises ScenarioError naming the rows otherwise."""
    size = np.abs(model.row_vals)
    bad = (size > 0) & ((size < SMALLEST) | (size > LARGEST))
    if not bad.any():
        return model
    row_of = np.searchsorted(model.row_start, np.flatnonzero(bad), side="right") - 1
    rows = list(dict.fromkeys(int(i) for i in row_of))
    unit = model.scenario.fund.unit
    low, high = float(size[bad].min()), float(size[bad].max())
    named = ", ".join(model.rows[i].name for i in rows[:SHOWN])
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    raise ScenarioError(
        [
            f"amounts out of scale for a fund counted in {unit}: the model's coefficients "
            f"reach {low if low < SMALLEST else high:.3g} {unit} in {named}{more}, outside "
            f"the {SMALLEST:g} to {LARGEST:g} the solvers handle alike (HiGHS drops smaller "
            "ones, CBC keeps them). A plain number in YAML or JSON is an amount in the currency "
            f"({model.scenario.fund.currency}), not in {unit}; check the units of these "
            "amounts (write 2bn, not 2), or count the fund in a smaller unit"
        ]
    )
