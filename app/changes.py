"""What differs between two scenarios, field by field, in ``--set`` path notation.

Paths address list items by id (``areas.cyber.floor``, ``members.DEU.pledge.2027``), as
``optimise.py solve --set`` does, so a listed change can be replayed on the command line.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from engine import Scenario, format_money

#: Fields whose numbers are money in currency units (shown in the fund's unit).
MONEY_FIELDS = frozenset({"pledge", "floor", "ceiling", "at_least", "at_most", "caps", "up_to"})
#: Relative difference below which two numbers count as equal (file round-off).
REL_TOL = 1e-9


def _flatten(node: Any, path: tuple[str, ...], out: dict[tuple[str, ...], Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, (*path, str(key)), out)
    elif isinstance(node, list) and node and all(isinstance(i, dict) and "id" in i for i in node):
        for item in node:
            _flatten({k: v for k, v in item.items() if k != "id"}, (*path, str(item["id"])), out)
            out[(*path, str(item["id"]))] = "present"
    elif isinstance(node, list) and any(isinstance(i, dict) for i in node):
        for i, item in enumerate(node):
            _flatten(item, (*path, str(i)), out)
    elif isinstance(node, list):
        out[path] = ", ".join(str(i) for i in node)
    else:
        out[path] = node


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)
    return a == b


def _show(path: tuple[str, ...], value: Any, scenario: Scenario) -> str:
    if value is None:
        return ""
    money = any(part in MONEY_FIELDS for part in path)
    if money and isinstance(value, int | float) and not isinstance(value, bool):
        return format_money(float(value), scenario.fund.currency, scenario.fund.unit)
    return str(value)


def scenario_changes(before: Scenario, after: Scenario) -> pd.DataFrame:
    """Fields that differ, as rows of path, before, after (text for people), sorted by path.

    An added or removed member, area or policy shows as one row with ``present``.
    """
    old: dict[tuple[str, ...], Any] = {}
    new: dict[tuple[str, ...], Any] = {}
    _flatten(before.model_dump(mode="json"), (), old)
    _flatten(after.model_dump(mode="json"), (), new)
    whole = {p for p in old.keys() ^ new.keys() if "present" in (old.get(p), new.get(p))}
    rows = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if _same(a, b) or any(path[:i] in whole for i in range(1, len(path))):
            continue
        rows.append((".".join(path), _show(path, a, before), _show(path, b, after)))
    return pd.DataFrame(rows, columns=["path", "before", "after"])
