"""Validate scenario data: field checks, cross-checks, and every problem named by its path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ValidationError

from engine.errors import ScenarioError
from engine.scenario.fields import (
    PATTERN_TEXT,
    PLAIN_CHECK,
    PLAIN_FACTOR,
    in_currency,
    money_text,
)
from engine.scenario.magnitudes import check_magnitudes
from engine.scenario.paths import available_paths
from engine.scenario.priority_checks import check_priorities
from engine.scenario.project_checks import check_projects
from engine.scenario.schema import Area, Limit, PolicyConstraint, Scenario
from engine.scenario.units import UNIT_FACTORS, parse_amount


def _label(data: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's ``('areas', 3, 'floor')`` into ``areas[cyber].floor``."""
    path = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            path += f"[{ident}]" if ident is not None else f"[{part}]"
            node = item
        else:
            if str(part).startswith(("function-", "constrained-", "union[", "nullable")):
                continue
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            return None
    return node


def _without_tags(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` less a tagged union's branch names (``draws.pledges.DEU.normal.mean``: ``normal``
    names the branch, not a key of the data); only the last part may be absent (missing)."""
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        absent = isinstance(node, dict) and isinstance(part, str) and part not in node
        if absent and i < len(loc) - 1:
            continue
        out.append(part)
        node = _value_at(node, (part,))
    return tuple(out)


def validation_problems(data: Any, error: ValidationError) -> list[str]:
    """Pydantic's errors as ``path: problem`` lines, paths by id (``areas[cyber].floor``),
    one per path: the one formatter of validation errors (scenarios, sweeps, ...)."""
    problems: dict[str, str] = {}
    # A union (a pledge is a per-year dict or one amount) fails once per branch: sorting
    # type mismatches last keeps the error that explains the value ("must not be negative").
    for item in sorted(error.errors(), key=lambda e: e["type"] in ("dict_type", "list_type")):
        loc = tuple(p for p in item["loc"] if p not in ("float", "int", "str", "Limit"))
        loc = tuple(
            p
            for p in loc
            if not (isinstance(p, str) and (p.startswith("dict[") or p.startswith("function")))
        )
        loc = _without_tags(data, loc)
        path = _label(data, loc)
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; unknown keys are not ignored)"
        elif item["type"] == "missing":
            msg = "is required but missing"
        elif item["type"] == "too_short" and item.get("ctx", {}).get("min_length") == 1:
            msg = "is empty; give at least one entry"
        elif item["type"] == "string_pattern_mismatch" and item["ctx"]["pattern"] in PATTERN_TEXT:
            code = (
                "a currency code such as EUR"
                if path.endswith("currency")
                else "a country code such as DEU"
            )
            text = PATTERN_TEXT[item["ctx"]["pattern"]].format(code=code)
            msg = f"{text} (got {item['input']!r})"
        else:
            value = _value_at(data, loc)
            if value is not None and not isinstance(value, dict | list) and "got " not in msg:
                msg = f"{msg} (got {value!r})"
        problems.setdefault(path, f"{path}: {msg}")
    # The other branch of a union fails at the parent (a pledge map is no single amount):
    # a problem inside a value explains it, so the parent's is dropped.
    return [
        text
        for path, text in problems.items()
        if not any(other.startswith((f"{path}[", f"{path}.")) for other in problems)
    ]


def plain_context(data: Any, plain: Literal["currency", "fund"]) -> dict[str, Any]:
    """The validation context for plain amounts: read in the fund's unit (``plain="fund"``,
    a workbook's cells), or in the currency with the ambiguity check (``"currency"``; see
    :mod:`engine.scenario.fields`). The unit is ``data['fund']['unit']``, ``bn`` by default."""
    fund = data.get("fund") if isinstance(data, dict) else None
    unit = fund.get("unit", "bn") if isinstance(fund, dict) else "bn"
    unit = unit if isinstance(unit, str) and unit in UNIT_FACTORS else "bn"
    if plain != "fund":
        return {PLAIN_CHECK: unit}
    return {PLAIN_FACTOR: UNIT_FACTORS[unit]}


def _check_unique(kind: str, ids: list[str]) -> list[str]:
    return [f"{kind}[{i}]: duplicate id {i!r}" for i, n in Counter(ids).items() if n > 1]


def _check_refs(where: str, refs: list[str] | None, known: set[str], kind: str) -> list[str]:
    return [
        f"{where}: unknown {kind} {r!r} (known: {', '.join(sorted(known))})"
        for r in refs or []
        if r not in known
    ]


def _raw_references(data: dict[str, Any]) -> list[str]:
    """Unknown areas and members named in the raw data, for a file that also has type
    errors: the checks on the validated scenario cannot run then, and a planner should see
    every problem of a file at once. Entries of the wrong shape are left to validation."""

    def items(section: str) -> list[dict[str, Any]]:
        value = data.get(section)
        return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    def ids(section: str) -> set[str]:
        return {i["id"] for i in items(section) if isinstance(i.get("id"), str)}

    def names(value: Any) -> list[str] | None:
        if isinstance(value, dict):
            value = list(value)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None

    area_ids, member_ids = ids("areas"), ids("members")
    problems: list[str] = []
    for m in items("members"):
        label = m.get("id") if isinstance(m.get("id"), str) else "?"
        for field in ("opt_in", "opt_out", "caps"):
            refs = names(m.get(field))
            problems += _check_refs(f"members[{label}].{field}", refs, area_ids, "area")
    for p in items("policies"):
        label = p.get("id") if isinstance(p.get("id"), str) else "?"
        problems += _check_refs(f"policies[{label}].areas", names(p.get("areas")), area_ids, "area")
        refs = names(p.get("members"))
        problems += _check_refs(f"policies[{label}].members", refs, member_ids, "member")
    return problems if area_ids else []


def _shown(limit: Limit, unit: str) -> str:
    """A limit as a planner writes it: ``3bn`` in the fund's unit, or ``25%``."""
    if limit.amount is not None:
        return money_text(limit.amount, unit)
    return str(limit.to_input())


def _limit_order(
    areas: Sequence[Area], policies: Sequence[PolicyConstraint], unit: str
) -> list[str]:
    """Floors above ceilings and policies' at_least above at_most (same kind of limit)."""

    def above(lo: Limit | None, hi: Limit | None) -> bool:
        if lo is None or hi is None or (lo.amount is None) != (hi.amount is None):
            return False
        lo_v = lo.amount if lo.amount is not None else lo.share
        hi_v = hi.amount if hi.amount is not None else hi.share
        return lo_v is not None and hi_v is not None and lo_v > hi_v

    problems = [
        f"areas[{a.id}].floor: {_shown(a.floor, unit)} is above the ceiling "
        f"{_shown(a.ceiling, unit)}"
        for a in areas
        if a.floor is not None and a.ceiling is not None and above(a.floor, a.ceiling)
    ]
    problems += [
        f"policies[{p.id}].at_least: {_shown(p.at_least, unit)} is above at_most "
        f"{_shown(p.at_most, unit)}"
        for p in policies
        if p.at_least is not None and p.at_most is not None and above(p.at_least, p.at_most)
    ]
    return problems


def _raw_limit_order(data: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """:func:`_limit_order` over the areas and policies of a file that also has other errors,
    each validated on its own, so that a planner sees every problem of a file at once."""

    def valid(section: str, model: type[Area] | type[PolicyConstraint]) -> list[Any]:
        value = data.get(section)
        out = []
        for item in value if isinstance(value, list) else []:
            try:
                out.append(model.model_validate(item, context=context))
            except ValidationError:
                continue
        return out

    fund = data.get("fund")
    unit = fund.get("unit", "bn") if isinstance(fund, dict) else "bn"
    unit = unit if isinstance(unit, str) and unit in UNIT_FACTORS else "bn"
    return _limit_order(valid("areas", Area), valid("policies", PolicyConstraint), unit)


def _check_limits(scenario: Scenario) -> list[str]:
    unit = scenario.fund.unit
    problems = _limit_order(scenario.areas, scenario.policies, unit)
    shares = {a.id: a.floor.share for a in scenario.areas if a.floor and a.floor.share}
    if sum(shares.values()) > 1 + 1e-9:
        # Floors of shares of the same year's total that add up to more than it are met only
        # by allocating nothing: a contradiction of the input, not a plan.
        listed = ", ".join(f"{k} {_shown(Limit(share=v), unit)}" for k, v in shares.items())
        problems.append(
            f"areas: the floors given as shares add up to {100 * sum(shares.values()):g}% of "
            f"the year's total ({listed}); only allocating nothing would meet them"
        )
    return problems


def _normalise_pledges(
    member_id: str, pledge: dict[int, float] | float, years: list[int]
) -> tuple[dict[int, float], list[str]]:
    """Pledge per horizon year: a single amount is held flat; missing years carry forward."""
    if not isinstance(pledge, dict):
        return {y: float(pledge) for y in years}, []
    if not pledge:
        return {y: 0.0 for y in years}, []
    first = min(pledge)
    if years[0] < first:
        return {}, [
            f"members[{member_id}].pledge: no pledge for {years[0]}, the first year of the "
            f"horizon (pledges start in {first})"
        ]
    out = {}
    for y in years:
        out[y] = float(pledge[y] if y in pledge else pledge[max(k for k in pledge if k <= y)])
    return out, []


def validate_scenario(
    data: Any, source: str | None = None, *, plain: Literal["currency", "fund"] = "currency"
) -> Scenario:
    """Validate a scenario given as plain data (as read from YAML or JSON).

    ``plain="fund"`` reads a plain number given for an amount in the fund's unit, the rule
    of the file format (``floor: 12`` is 12bn in a ``unit: bn`` fund): every reader of
    files, edits and the app's boxes passes it. The default reads plain numbers in currency
    units, for data built in code (amounts written with a unit read the same either way).

    Returns a :class:`Scenario` whose member pledges are normalised to one amount per
    horizon year. Raises :class:`ScenarioError` listing every problem with its field path.
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                "(top level): expected a mapping with fund, members and areas, "
                f"got {type(data).__name__}"
            ],
            source,
        )
    try:
        scenario = Scenario.model_validate(data, context=plain_context(data, plain))
    except ValidationError as error:
        problems = validation_problems(data, error)
        context = plain_context(data, plain)
        problems += [p for p in _raw_references(data) if p not in problems]
        problems += [p for p in _raw_limit_order(data, context) if p not in problems]
        raise ScenarioError(problems, source) from None

    area_ids = {a.id for a in scenario.areas}
    member_ids = {m.id for m in scenario.members}
    problems = _check_unique("members", [m.id for m in scenario.members])
    problems += _check_unique("areas", [a.id for a in scenario.areas])
    problems += _check_unique("policies", [p.id for p in scenario.policies])
    for m in scenario.members:
        problems += _check_refs(f"members[{m.id}].opt_in", m.opt_in, area_ids, "area")
        problems += _check_refs(f"members[{m.id}].opt_out", m.opt_out, area_ids, "area")
        problems += _check_refs(f"members[{m.id}].caps", list(m.caps), area_ids, "area")
    for p in scenario.policies:
        problems += _check_refs(f"policies[{p.id}].areas", p.areas, area_ids, "area")
        problems += _check_refs(f"policies[{p.id}].members", p.members, member_ids, "member")
    problems += _check_limits(scenario)
    if scenario.pledges is not None:
        known = available_paths(scenario.paths)
        name = scenario.pledges.from_forecast.path
        if name not in known:
            problems.append(
                f"pledges.from_forecast.path: unknown policy path {name!r} "
                f"(known: {', '.join(sorted(known))})"
            )
    problems += _check_paths(scenario)
    problems += check_projects(scenario)
    problems += check_priorities(scenario)
    problems += check_magnitudes(scenario)

    members = []
    for m in scenario.members:
        pledges, issues = _normalise_pledges(m.id, m.pledge, scenario.fund.years)
        problems += issues
        members.append(m.model_copy(update={"pledge": pledges}))
    if problems:
        raise ScenarioError(problems, source)
    return scenario.model_copy(update={"members": members})


def _check_paths(scenario: Scenario) -> list[str]:
    """Path settings that could not change anything: a member that leaves, or whose rate
    changes, but is neither a member nor a joiner of the path (a typo would silently give the
    path's figures without the planner's change), and a leave before the fund's first year."""
    problems = []
    members = {m.id for m in scenario.members}
    first = scenario.fund.years[0]
    for name, path in scenario.paths.items():
        for group in ("leave", "rate_change"):
            for member in getattr(path, group):
                if member not in members and member not in path.join:
                    problems.append(
                        f"paths.{name}.{group}.{member}: {member} is not a member of this fund "
                        f"(members: {', '.join(sorted(members))}) and the path does not join it"
                    )
        for member, year in path.leave.items():
            if year < first:
                problems.append(
                    f"paths.{name}.leave.{member}: {year} is before the fund's first year "
                    f"{first}; a member leaves in {first} or later (or drop it from the members)"
                )
    return problems


def replace_pledges(
    scenario: Scenario, pledges: dict[str, Any], plain: Literal["currency", "fund"] = "currency"
) -> Scenario:
    """A validated ``scenario`` with these members' pledges replaced (by member id: one
    amount, or amounts by year, as in a file), each checked and normalised over the
    horizon as :func:`validate_scenario` does. Nothing else is checked again: no other
    rule of the format depends on pledge amounts, and a batch's draws change only them.

    ``plain`` reads plain numbers as :func:`validate_scenario` does.
    Raises ScenarioError naming ``members[ID].pledge`` (or an unknown member).
    """
    factor = UNIT_FACTORS[scenario.fund.unit] if plain == "fund" else None
    known = {m.id for m in scenario.members}
    problems = [
        f"members: no member {i!r} to change the pledge of" for i in pledges if i not in known
    ]
    members = []
    for m in scenario.members:
        if m.id not in pledges:
            members.append(m)
            continue
        value = pledges[m.id]
        try:
            given = (
                {int(year): parse_amount(in_currency(v, factor)) for year, v in value.items()}
                if isinstance(value, dict)
                else parse_amount(in_currency(value, factor))
            )
        except (TypeError, ValueError) as error:
            problems.append(f"members[{m.id}].pledge: {error}")
            continue
        normalised, issues = _normalise_pledges(m.id, given, scenario.fund.years)
        problems += issues
        members.append(m.model_copy(update={"pledge": normalised}))
    if problems:
        raise ScenarioError(problems)
    replaced = scenario.model_copy(update={"members": members})
    replaced.remember_written(None)
    return replaced


#: pydantic leaves the bounds of a constrained number inside a container (a dict's values, a
#: list's items) under its own names, which JSON Schema validators ignore.
_BOUND_KEYWORDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
}


def _standard_bounds(node: Any) -> Any:
    """``node`` with pydantic's ``ge``/``le``/``gt``/``lt`` bounds renamed to JSON Schema's."""
    if isinstance(node, list):
        return [_standard_bounds(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {
        (_BOUND_KEYWORDS[k] if k in _BOUND_KEYWORDS and isinstance(v, int | float) else k): (
            _standard_bounds(v)
        )
        for k, v in node.items()
    }


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (money and shares also accept strings)."""
    return _standard_bounds(Scenario.model_json_schema(mode="validation"))
