"""The nearest version of a planner's edits that still has a plan.

When the edits since the baseline make a scenario infeasible, every edited number is
moved back towards the baseline by the same fraction, and bisection finds the largest
fraction that still has a plan. For a single edit (raise the cyber floor to $500bn) that
is the closest value of that field to the planner's own (the highest cyber floor that
works); for several edits it scales them all back together. Only numbers (money,
priorities, shares) are moved: edits that change lists, ids or kinds of bound have no
in-between, and no suggestion is made for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import ScenarioError
from engine.scenario.schema import Scenario
from engine.scenario.units import parse_share
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import has_plan

#: Bisection steps: the fraction found is within 2**-16 (0.0015%) of the largest one.
STEPS = 16


class _NoBlend(Exception):
    """Two scenarios differ in something that has no value in between."""


def percent_share(value: Any) -> float | None:
    """A share (or ratio) written as a percentage, ``25%``; None for anything else."""
    if not (isinstance(value, str) and value.strip().endswith("%")):
        return None
    try:
        return parse_share(value, upper=None)
    except ValueError:
        return None


def _blend(base: Any, target: Any, t: float) -> Any:
    if base == target:
        return base
    if isinstance(base, dict) and isinstance(target, dict):
        if base.keys() != target.keys():
            raise _NoBlend
        return {k: _blend(base[k], target[k], t) for k in base}
    if isinstance(base, list) and isinstance(target, list):
        if len(base) != len(target):
            raise _NoBlend
        return [_blend(b, a, t) for b, a in zip(base, target, strict=True)]
    numbers = (int, float)
    if isinstance(base, numbers) and isinstance(target, numbers):
        if isinstance(base, bool) or isinstance(target, bool):
            raise _NoBlend
        return base + t * (target - base)
    low, high = percent_share(base), percent_share(target)
    if low is not None and high is not None:
        return f"{(low + t * (high - low)) * 100:.12g}%"
    raise _NoBlend


def blend(base: Scenario, target: Scenario, fraction: float) -> Scenario | None:
    """``base`` with every number moved ``fraction`` of the way to ``target``'s; None when
    the two differ in anything but numbers."""
    try:
        data = _blend(base.model_dump(mode="json"), target.model_dump(mode="json"), fraction)
    except _NoBlend:
        return None
    try:
        return validate_scenario(data, source="blended scenario")
    except ScenarioError:
        return None


@dataclass(frozen=True)
class Nearest:
    """The largest ``fraction`` of the way from the baseline to the edits with a plan,
    and that ``scenario``."""

    fraction: float
    scenario: Scenario


def nearest_feasible(base: Scenario, target: Scenario, steps: int = STEPS) -> Nearest | None:
    """The scenario nearest to ``target`` on the way from ``base`` that has a plan; None
    if ``base`` has none either or the way has no in-between (see module docstring)."""
    if blend(base, target, 0.0) is None or not has_plan(base):
        return None
    low, high = 0.0, 1.0
    for _ in range(steps):
        middle = (low + high) / 2
        candidate = blend(base, target, middle)
        if candidate is not None and has_plan(candidate):
            low = middle
        else:
            high = middle
    found = blend(base, target, low)
    return None if found is None else Nearest(low, found)
