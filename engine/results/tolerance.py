"""A solution as reported: within the members' budgets, not the solver's tolerance above.

Solvers meet each row to a tolerance (about 1e-7 in the model's units, some $100 in a fund
counted in bn): CBC's plan for the default scenario gives members $50-$500 more than they
pledged in some years, $817 in all. Reported figures must never show more allocated than
pledged, so before results are read each member-year whose flows exceed its budget
(pledge plus carry-over in, minus carry-over out) by no more than :data:`TOLERANCE` has the
excess taken from its largest flow, and from that flow's area funding and year total, so
every reported sum still adds up. A larger excess is left as it is (it is not rounding).
"""

from __future__ import annotations

import numpy as np

from engine.formulation.core import PlanModel

#: The largest excess (model units, i.e. fund units) treated as the solver's rounding.
TOLERANCE = 1e-5


def within_budgets(model: PlanModel, value: np.ndarray) -> np.ndarray:
    """``value`` (the solver's column values) with flows trimmed to the members' budgets
    where the solver's tolerance let them exceed it; the input is not changed."""
    sc = model.scenario
    years = sc.fund.years
    flows: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for (member, area, t), j in model.x.items():
        flows.setdefault((member, t), []).append((j, area))
    out = value
    for m in sc.members:
        for i, t in enumerate(years):
            own = flows.get((m.id, t))
            if not own:
                continue
            spent = sum(value[j] for j, _ in own)
            carry_out = value[model.carry[m.id, t]] if (m.id, t) in model.carry else 0.0
            prev = (m.id, years[i - 1]) if i else None
            carry_in = value[model.carry[prev]] if prev in model.carry else 0.0
            excess = spent + carry_out - carry_in - m.pledges[t] / model.scale
            if not 0.0 < excess <= TOLERANCE:
                continue
            if out is value:
                out = value.copy()
            j, area = max(own, key=lambda item: out[item[0]])
            cut = min(excess, out[j])
            out[j] -= cut
            if (area, t) in model.funding:
                out[model.funding[area, t]] -= cut
            if t in model.total:
                out[model.total[t]] -= cut
    return out


def reported_total(model: PlanModel, total: float) -> float:
    """The total allocated as reported: rounded to the solver's tolerance
    (:data:`TOLERANCE` fund units, $10,000 in a fund counted in bn), so that solvers that
    agree report the same figure, and never above the total pledged."""
    step = TOLERANCE * model.scale
    pledged = sum(sum(m.pledges.values()) for m in model.scenario.members)
    return float(min(round(total / step) * step, pledged))
