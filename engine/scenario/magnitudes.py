"""Numbers the solver can plan with, checked at validation with their field paths.

Finite numbers can still be beyond what an LP solver handles: HiGHS takes any bound of
1e20 or more as infinite and loses its tolerances (about 1e-7) when coefficients span
many orders of magnitude. So:

- Amounts enter the model in the fund's unit (``unit: bn``: 1e9 currency units), and
  none may exceed :data:`MAX_MODEL_UNITS` of them: 1e12bn is ten thousand times the
  world's GDP, 1e308 is a typo.
- The objective weighs each area's money by its priority times its value curve's
  marginals. Their common scale does not matter (weights all a million times larger give
  the same plan; HiGHS scales the costs), but their spread does: the largest nonzero
  weight may be at most :data:`MAX_WEIGHT_RANGE` times the smallest. Beyond that the small
  ones are below the solver's tolerance next to the large ones, and HiGHS stops without a
  plan; a priority meant to be negligible is better written as 0. Weights all below
  :data:`MIN_TOP_WEIGHT` read as zero to the solver (any plan would be "optimal"): they
  are refused with the factor to multiply every priority by.
"""

from __future__ import annotations

import math
from typing import Any

from engine.scenario.schema import Area, Scenario
from engine.scenario.units import UNIT_FACTORS

#: Largest amount, in units of the fund's ``unit``, the model may hold.
MAX_MODEL_UNITS = 1e12
#: Largest ratio between the biggest and smallest nonzero objective weight.
MAX_WEIGHT_RANGE = 1e9
#: Smallest the largest weight may be: below HiGHS's dual tolerance (1e-7) every weight
#: reads as zero and any plan is "optimal".
MIN_TOP_WEIGHT = 1e-6


def _child(path: str, key: Any, value: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _items(path: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        if set(value) <= {"amount", "share"}:  # a Limit: its amount is the field itself
            return [(path, value.get("amount"))]
        return [(_child(path, k, v), v) for k, v in value.items()]
    if isinstance(value, list):
        ids = [v.get("id") if isinstance(v, dict) else None for v in value]
        return [
            (f"{path}[{ident if ident is not None else i}]", v)
            for i, (ident, v) in enumerate(zip(ids, value, strict=True))
        ]
    return []


def _too_large(scenario: Scenario) -> list[str]:
    """Every number in the scenario beyond what the model can hold (years, shares and
    priorities are far below the limit; amounts are what it catches)."""
    unit = scenario.fund.unit
    limit = MAX_MODEL_UNITS * UNIT_FACTORS.get(unit, 1.0)
    problems = []
    stack: list[tuple[str, Any]] = [("", scenario.model_dump())]
    while stack:
        path, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if abs(value) > limit:
                problems.append(
                    f"{path}: {value:g} is too large for the solver; amounts are at most "
                    f"{MAX_MODEL_UNITS:g}{unit} ({limit:g} {scenario.fund.currency})"
                )
            continue
        stack.extend(_items(path, value))
    return sorted(problems)


def _weights(area: Area) -> list[tuple[float, str]]:
    marginals = [s.marginal for s in area.value_curve] if area.value_curve else [1.0]
    return [
        (area.priority * m, f"priority {area.priority:g} x marginal {m:g}")
        for m in marginals
        if area.priority * m > 0
    ]


def _weight_range(scenario: Scenario) -> list[str]:
    weights = [(w, a.id, text) for a in scenario.areas for w, text in _weights(a)]
    if not weights:
        return []
    low, high = min(weights), max(weights)
    if high[0] < MIN_TOP_WEIGHT:
        return [
            f"areas[{high[1]}].priority: the largest weight in the objective ({high[2]}) is "
            f"below {MIN_TOP_WEIGHT:g}, which the solver reads as zero; multiply every "
            f"priority by {10 ** math.ceil(math.log10(1 / high[0])):g} (the plan is the same)"
        ]
    if not math.isfinite(high[0]) or high[0] <= low[0] * MAX_WEIGHT_RANGE:
        return []
    return [
        f"areas[{low[1]}].priority: its weight in the objective ({low[2]}) is "
        f"{high[0] / low[0]:.1e} times smaller than areas[{high[1]}]'s ({high[2]}); the "
        f"solver plans reliably within a range of {MAX_WEIGHT_RANGE:g}: raise the smaller "
        "priority, lower the larger, or set a negligible one to 0"
    ]


def check_magnitudes(scenario: Scenario) -> list[str]:
    """Problems with numbers too large, or weights too far apart, for the solver."""
    return _too_large(scenario) + _weight_range(scenario)
