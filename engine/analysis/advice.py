"""Advice after edits that leave no plan: change the edited rule, by a round amount.

A planner who raised the cyber floor to $60bn and got "infeasible" wants first to know how
far the edit itself can go: "the highest cyber floor with a plan is $56.4bn". So the first
advice moves only the edited numbers back towards the baseline (the same amount in every
year, because the edit was one number; see :mod:`engine.analysis.nearest`), and rounds
them *towards the baseline* to three significant figures in the fund's unit, checking that
the rounded figure still has a plan (a threshold between 56.45 and 56.5 must give 56.4,
never a 56.5 that fails). The elastic diagnosis (:mod:`engine.analysis.diagnose`, in the
result) stays as the alternatives: other rules whose change would also work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.analysis.nearest import nearest_feasible, percent_share
from engine.errors import ScenarioError
from engine.scenario.edits import Edit, apply_edits_to_data, parse_edit
from engine.scenario.schema import Scenario
from engine.scenario.units import UNIT_FACTORS, parse_money
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import has_plan

#: Significant figures of advised amounts (in the fund's unit).
FIGURES = 3
#: Rounding steps tried towards the baseline before giving up on a round figure.
MAX_STEPS = 10


@dataclass(frozen=True)
class EditAdvice:
    """The nearest version of one edit that has a plan: ``path`` set to ``text`` (e.g.
    ``56.4bn``, or ``12.5%``) instead of the planner's ``asked``."""

    path: str
    asked: str
    text: str

    @property
    def edit(self) -> str:
        """The advice as a ``--set`` edit."""
        return f"{self.path}={self.text}"


def _value_at(data: Any, path: str) -> Any:
    """The value at an edit's path (list items addressed by id); None if absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("id") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _steps(value: float, towards: float) -> Iterable[float]:
    """Round figures from ``value`` towards ``towards``, first the nearest on that side."""
    if value == towards:
        return
    step = 10 ** (math.floor(math.log10(abs(value))) - FIGURES + 1) if value else 1.0
    down = towards < value
    first = math.floor(value / step) * step if down else math.ceil(value / step) * step
    for k in range(MAX_STEPS):
        candidate = first - k * step if down else first + k * step
        if (down and candidate < towards) or (not down and candidate > towards):
            yield towards
            return
        yield candidate


def _text(value: float, share: bool, unit: str) -> str:
    if share:
        return f"{value * 100:.{FIGURES}g}%"
    return f"{value:.{FIGURES + 3}g}{unit}"


def _round_edit(
    nearest: dict[str, Any], base: dict[str, Any], edit: Edit, unit: str
) -> tuple[str, float, bool] | None:
    """The nearest value of ``edit``'s field and its baseline, in the fund's unit or as
    a share; None when the field is not a number."""
    near, before = _value_at(nearest, edit.path), _value_at(base, edit.path)
    share_near, share_before = percent_share(near), percent_share(before)
    if share_near is not None and share_before is not None:
        return edit.path, share_near, True
    amount_near, amount_before = _amount(near), _amount(before)
    if amount_near is not None and (before is None or amount_before is not None):
        return edit.path, amount_near / UNIT_FACTORS[unit], False
    return None


def _amount(value: Any) -> float | None:
    """An amount in currency units (``12bn``, a plain number, or the same amount every
    year, as a validated pledge is written); None if not one."""
    if isinstance(value, dict):
        amounts = {_amount(v) for v in value.values()}
        return amounts.pop() if len(amounts) == 1 else None
    if isinstance(value, bool) or percent_share(value) is not None:
        return None
    try:
        return parse_money(value)
    except ValueError:
        return None


def advise_edits(base: Scenario, edits: Iterable[Edit | str]) -> list[EditAdvice]:
    """For edits of ``base`` that leave no plan: each edited number at the round figure
    nearest to what was asked that still has a plan (all edits together). Empty when the
    edited scenario has a plan, when ``base`` itself has none, or when an edit changes
    something that has no in-between (a list, an id).

    Raises ScenarioError when an edit is malformed.
    """
    parsed = [parse_edit(e) if isinstance(e, str) else e for e in edits]
    written = base.written()
    data = written.to_input()
    target = validate_scenario(apply_edits_to_data(data, parsed), source="--set")
    if has_plan(target):
        return []
    nearest = nearest_feasible(written, target)
    if nearest is None:
        return []
    unit = written.fund.unit
    near_data = nearest.scenario.to_input()
    found = []
    for edit in parsed:
        rounded = _round_edit(near_data, data, edit, unit)
        if rounded is None:
            return []
        found.append((edit, *rounded))
    return _round_together(written, found, data, unit)


def _round_together(
    written: Scenario, found: list[tuple[Edit, str, float, bool]], base: dict, unit: str
) -> list[EditAdvice]:
    """Round each edited figure towards the baseline until the set of them has a plan."""
    choices = []
    for edit, path, value, share in found:
        before = _value_at(base, path)
        towards = percent_share(before) if share else (_amount(before) or 0.0) / UNIT_FACTORS[unit]
        choices.append((edit, path, share, list(_steps(value, towards or 0.0)) or [value]))
    for k in range(MAX_STEPS):
        picked = [(e, p, s, c[min(k, len(c) - 1)]) for e, p, s, c in choices]
        texts = [_text(v, s, unit) for _, _, s, v in picked]
        trial = [Edit(p, t) for (_, p, _, _), t in zip(picked, texts, strict=True)]
        try:
            scenario = validate_scenario(
                apply_edits_to_data(written.to_input(), trial), source="--set"
            )
        except ScenarioError:
            continue
        if has_plan(scenario):
            return [
                EditAdvice(p, str(e.value), t)
                for (e, p, _, _), t in zip(picked, texts, strict=True)
            ]
    return []
