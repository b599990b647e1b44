"""Cross-checks of members' own priorities: each problem named by its field path.

Called by :func:`engine.scenario.validate.validate_scenario`. The field checks (one way of
stating priorities, numbers in range) are in :mod:`engine.coalition.elicitation`.
"""

from __future__ import annotations

from engine.coalition.ahp import MAX_CR, RANDOM_INDEX, SCALE, ahp
from engine.scenario.schema import Member, Scenario


def _fmt(ratio: float) -> str:
    return f"{ratio:.3g}" if ratio >= 1 else f"1/{1 / ratio:.3g}"


def _area_problems(scenario: Scenario, m: Member, where: str) -> list[str]:
    known = {a.id for a in scenario.areas}
    problems = []
    for a in m.priorities.areas() if m.priorities else []:
        if a not in known:
            problems.append(f"{where}: unknown area {a!r} (known: {', '.join(sorted(known))})")
        elif not m.joins(a):
            problems.append(
                f"{where}: {m.id} gives a priority to {a!r}, an area it does not join "
                "(its money cannot go there; drop it or join the area)"
            )
    return problems


def _pairwise_problems(m: Member, where: str) -> list[str]:
    comparisons = m.priorities.pairwise if m.priorities else None
    if not comparisons:
        return []
    problems = [
        f"{where}: {a} to {b} is {_fmt(r)}, outside Saaty's scale 1/9 to 9"
        for a, b, r in comparisons
        if not SCALE[0] - 1e-9 <= r <= SCALE[1] + 1e-9
    ]
    items = m.priorities.areas() if m.priorities else []
    if len(items) > max(RANDOM_INDEX):
        return [*problems, f"{where}: at most {max(RANDOM_INDEX)} areas can be compared"]
    try:
        result = ahp(items, [(a, b, r) for a, b, r in comparisons])
    except ValueError as error:
        return [*problems, f"{where}: {error} (compare every pair of the areas named once)"]
    if not result.consistent and result.worst is not None:
        a, b, given, implied = result.worst
        problems.append(
            f"{where}: the comparisons are inconsistent (consistency ratio {result.cr:.3f}, "
            f"more than {MAX_CR:g}); the pair that breaks them most is {a} to {b}: "
            f"given {_fmt(given)}, the other comparisons imply about {_fmt(implied)}"
        )
    return problems


def check_priorities(scenario: Scenario) -> list[str]:
    """Problems with the members' ``priorities`` (empty when there are none)."""
    problems: list[str] = []
    for m in scenario.members:
        if m.priorities is None:
            continue
        where = f"members[{m.id}].priorities.{m.priorities.kind}"
        problems += _area_problems(scenario, m, where)
        problems += _pairwise_problems(m, where)
    return problems
