"""A scenario as editable tables (members, areas, policies) and edited tables back.

Tables show money in the fund's unit (``18.893`` means $18.893bn when the unit is bn).
Floors, ceilings and policy bounds are text so that one cell holds either money
(``15``, ``12bn``) or a share (``40%``); lists are comma-separated (``space, cyber``) and
caps are ``area=amount`` pairs (``cyber=2, space=1.5``). Everything a table does not show
(the fund, the objective, value curves) is kept from the scenario the tables came from.
Edited tables go through :func:`engine.scenario.validate_scenario`, so a bad cell gives
the same message, with the same field path, as a bad scenario file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine import UNIT_FACTORS, Limit, Scenario, ScenarioError, scenario_from_data

#: The ``source`` named in messages about edited tables.
SOURCE = "edited tables"

MEMBER_COLUMNS = ["id", "name", "opt_in", "opt_out", "caps"]
AREA_COLUMNS = ["id", "name", "priority", "floor", "ceiling", "absorption", "hard"]
POLICY_COLUMNS = ["id", "label", "areas", "members", "at_least", "at_most", "per", "hard"]


@dataclass(frozen=True)
class Tables:
    """The editable parts of a scenario: ``members`` (with one ``pledge YEAR`` column per
    horizon year), ``areas`` and ``policies``."""

    members: pd.DataFrame
    areas: pd.DataFrame
    policies: pd.DataFrame


def pledge_column(year: int) -> str:
    """The members table's column holding pledges for ``year``."""
    return f"pledge {year}"


def _number(amount: float, unit: str) -> float:
    return float(f"{amount / UNIT_FACTORS[unit]:.12g}")


def _limit_text(limit: Limit | None, unit: str) -> str:
    if limit is None:
        return ""
    if limit.share is not None:
        return f"{limit.share * 100:.12g}%"
    return f"{_number(limit.amount or 0.0, unit):.12g}"


def _join(items: list[str] | None) -> str:
    return ", ".join(items or [])


def _group(items: list[str] | None) -> str:
    # An empty list (a member joining no area, a policy over no area) is not the same as
    # leaving the key out (every area): the cell says "[]", as in a workbook.
    return "" if items is None else "[]" if not items else _join(items)


def scenario_tables(scenario: Scenario) -> Tables:
    """The scenario's members, areas and policies as DataFrames (see module docstring)."""
    unit = scenario.fund.unit
    years = scenario.fund.years
    members = pd.DataFrame(
        [
            {
                "id": m.id,
                "name": m.name,
                **{pledge_column(t): _number(m.pledges[t], unit) for t in years},
                "opt_in": _group(m.opt_in),
                "opt_out": _join(m.opt_out),
                "caps": ", ".join(f"{a}={_number(v, unit):.12g}" for a, v in m.caps.items()),
            }
            for m in scenario.members
        ],
        columns=["id", "name", *[pledge_column(t) for t in years], "opt_in", "opt_out", "caps"],
    )
    areas = pd.DataFrame(
        [
            {
                "id": a.id,
                "name": a.name,
                "priority": float(a.priority),
                "floor": _limit_text(a.floor, unit),
                "ceiling": _limit_text(a.ceiling, unit),
                "absorption": "" if a.absorption is None else f"{a.absorption * 100:.12g}%",
                "hard": bool(a.hard),
            }
            for a in scenario.areas
        ],
        columns=AREA_COLUMNS,
    )
    policies = pd.DataFrame(
        [
            {
                "id": p.id,
                "label": p.label,
                "areas": _group(p.areas),
                "members": _group(p.members),
                "at_least": _limit_text(p.at_least, unit),
                "at_most": _limit_text(p.at_most, unit),
                "per": p.per,
                "hard": bool(p.hard),
            }
            for p in scenario.policies
        ],
        columns=POLICY_COLUMNS,
    )
    return Tables(members, areas, policies)


# ------------------------------------------------------------------- tables -> scenario


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so validation and YAML see ordinary types."""
    return value.item() if hasattr(value, "item") else value


def money_cell(value: Any, unit: str) -> Any:
    """A money cell in the file format: a plain number (``12``) is in the fund's ``unit``
    (``'12bn'``), text with a suffix or ``%`` is kept, a blank cell is ``None``."""
    if _blank(value):
        return None
    value = _plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return f"{value:.12g}{unit}" if math.isfinite(value) else value
    text = str(value).strip()
    try:
        return f"{float(text):.12g}{unit}"
    except ValueError:
        return text


def _list(value: Any) -> list[str] | None:
    text = _text(value)
    if text is None:
        return None
    if text == "[]":
        return []
    return [item.strip() for item in text.split(",") if item.strip()]


def _caps(where: str, value: Any, unit: str) -> tuple[dict[str, Any], list[str]]:
    caps: dict[str, Any] = {}
    problems = []
    for item in _list(value) or []:
        area, sep, amount = item.partition("=")
        if not sep or not area.strip() or not amount.strip():
            problems.append(f"{where}.caps: expected area=amount, e.g. cyber=2, got {item!r}")
            continue
        caps[area.strip()] = money_cell(amount, unit)
    return caps, problems


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of an edited table, skipping rows left entirely empty."""
    rows = []
    for record in frame.to_dict(orient="records"):
        if all(_blank(v) or v is False for v in record.values()):
            continue
        rows.append({k: _plain(v) for k, v in record.items()})
    return rows


def _where(kind: str, row: dict[str, Any], index: int) -> str:
    ident = _text(row.get("id"))
    return f"{kind}[{ident}]" if ident else f"{kind}[row {index + 1}]"


def _members(frame: pd.DataFrame, scenario: Scenario) -> tuple[list[dict[str, Any]], list[str]]:
    unit = scenario.fund.unit
    # Members' own priorities have no column: kept from the scenario by member id.
    stated = {m.id: m.priorities for m in scenario.members if m.priorities is not None}
    out, problems = [], []
    for i, row in enumerate(_rows(frame)):
        where = _where("members", row, i)
        item: dict[str, Any] = {"id": _text(row.get("id"))}
        if _text(row.get("name")):
            item["name"] = _text(row.get("name"))
        pledges = {}
        for t in scenario.fund.years:
            cell = row.get(pledge_column(t))
            if _blank(cell):
                problems.append(f"{where}.pledge: no amount for {t} (write 0 for none)")
            pledges[t] = money_cell(cell, unit)
        values = list(pledges.values())
        item["pledge"] = values[0] if len(set(values)) == 1 else pledges
        opt_in = _list(row.get("opt_in"))
        if opt_in is not None:
            item["opt_in"] = opt_in
        item["opt_out"] = _list(row.get("opt_out")) or []
        caps, issues = _caps(where, row.get("caps"), unit)
        problems += issues
        if caps:
            item["caps"] = caps
        if item["id"] in stated:
            item["priorities"] = stated[item["id"]].model_dump(mode="json", exclude_none=True)
        out.append(item)
    return out, problems


def _areas(frame: pd.DataFrame, scenario: Scenario) -> list[dict[str, Any]]:
    unit = scenario.fund.unit
    # Amounts as text in the fund's unit (2bn): a plain number would be read in that unit.
    context = {"unit": unit}
    curves = {
        a.id: a.model_dump(mode="json", exclude_defaults=True, context=context)
        for a in scenario.areas
    }
    out = []
    for row in _rows(frame):
        ident = _text(row.get("id"))
        item: dict[str, Any] = {"id": ident, "name": _text(row.get("name")) or ""}
        if not _blank(row.get("priority")):
            item["priority"] = row["priority"]
        for key in ("floor", "ceiling"):
            value = money_cell(row.get(key), unit)
            if value is not None:
                item[key] = value
        if _text(row.get("absorption")) is not None:
            item["absorption"] = _text(row.get("absorption"))
        item["hard"] = bool(row.get("hard")) if not _blank(row.get("hard")) else False
        if ident in curves and "value_curve" in curves[ident]:
            item["value_curve"] = curves[ident]["value_curve"]
        out.append(item)
    return out


def _policies(frame: pd.DataFrame, scenario: Scenario) -> list[dict[str, Any]]:
    unit = scenario.fund.unit
    out = []
    for row in _rows(frame):
        item: dict[str, Any] = {"id": _text(row.get("id")), "label": _text(row.get("label")) or ""}
        for key in ("areas", "members"):
            if _list(row.get(key)) is not None:
                item[key] = _list(row.get(key))
        for key in ("at_least", "at_most"):
            value = money_cell(row.get(key), unit)
            if value is not None:
                item[key] = value
        if _text(row.get("per")) is not None:
            item["per"] = _text(row.get("per"))
        item["hard"] = bool(row.get("hard")) if not _blank(row.get("hard")) else False
        out.append(item)
    return out


def tables_scenario(scenario: Scenario, tables: Tables) -> Scenario:
    """A new scenario: ``scenario`` with its members, areas and policies taken from
    ``tables``. Raises ScenarioError (source ``edited tables``) naming each bad field."""
    members, problems = _members(tables.members, scenario)
    data = scenario.written().to_input()
    data["members"] = members
    data["areas"] = _areas(tables.areas, scenario)
    data["policies"] = _policies(tables.policies, scenario)
    if problems:
        raise ScenarioError(problems, SOURCE)
    return scenario_from_data(data, source=SOURCE)
