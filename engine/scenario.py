"""The scenario: everything one solve needs, as validated, immutable data.

The domain knows nothing of solvers, files or screens. Money is held in currency units
(e.g. US dollars); shares as fractions in [0, 1]. Build scenarios with
:func:`validate_scenario`, which runs the field checks and the cross-checks and turns
every problem into one :class:`~engine.errors.ScenarioError` naming the field path.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.errors import ScenarioError
from engine.fields import Finite, Money, Share, Strict
from engine.projects import (
    AreaCoalition,
    BurdenSharing,
    Exclusion,
    IndustrialReturn,
    Project,
    Resource,
    StagedCall,
    check_projects,
)
from engine.units import parse_amount, parse_share
from models.paths import PledgesSection, PolicyPath, available_paths


class Limit(Strict):
    """A bound written either as money (``12bn``) or as a share of the year's total (``10%``)."""

    amount: float | None = None
    share: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value.strip().endswith("%"):
            return {"share": parse_share(value)}
        return {"amount": parse_amount(value)}

    @model_validator(mode="after")
    def _one_kind(self) -> Limit:
        if (self.amount is None) == (self.share is None):
            raise ValueError("give either an amount (12bn) or a share (10%)")
        if self.share is not None and not 0 <= self.share <= 1:
            raise ValueError(f"a share must lie between 0% and 100%, got {self.share!r}")
        if self.amount is not None and (not math.isfinite(self.amount) or self.amount < 0):
            raise ValueError(f"an amount must be finite and not negative, got {self.amount!r}")
        return self

    def to_input(self) -> float | str:
        """The form a scenario file uses: a number in currency units, or ``'12.5%'``."""
        return f"{self.share * 100:g}%" if self.share is not None else float(self.amount or 0.0)


def _limit_out(limit: Limit | None) -> float | str | None:
    return None if limit is None else limit.to_input()


LimitField = Annotated[Limit | None, PlainSerializer(_limit_out)]


class Fund(Strict):
    """The pooled fund: its name, currency, reporting unit and planning horizon."""

    name: str = Field(min_length=1)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    unit: Literal["k", "m", "bn"] = "bn"
    years: list[int] = Field(min_length=1)
    carry_over: bool = False

    @field_validator("years")
    @classmethod
    def _increasing(cls, years: list[int]) -> list[int]:
        if any(b <= a for a, b in pairwise(years)):
            raise ValueError(f"years must be strictly increasing, got {years}")
        if any(not 1900 <= y <= 2200 for y in years):
            raise ValueError(f"years must be calendar years, got {years}")
        return years


class Segment(Strict):
    """One piece of a concave value curve: value points per fund unit up to an amount."""

    up_to: Money | None = None
    marginal: Finite = Field(ge=0)


class Area(Strict):
    """A capability area that members can fund."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = ""
    priority: Finite = Field(default=1.0, ge=0)
    floor: LimitField = None
    ceiling: LimitField = None
    absorption: Share | None = None
    value_curve: list[Segment] | None = None
    hard: bool = False

    @field_validator("value_curve")
    @classmethod
    def _concave(cls, curve: list[Segment] | None) -> list[Segment] | None:
        if curve is None:
            return None
        if not curve:
            raise ValueError("a value curve needs at least one segment")
        ends = [s.up_to for s in curve]
        if any(e is None for e in ends[:-1]):
            raise ValueError("only the last segment may leave out up_to")
        bounded = [e for e in ends if e is not None]
        if any(b <= a for a, b in pairwise(bounded)) or (bounded and bounded[0] <= 0):
            raise ValueError(f"segment ends must be positive and increasing, got {bounded}")
        marginals = [s.marginal for s in curve]
        if any(b > a for a, b in pairwise(marginals)):
            raise ValueError(
                f"marginal values must not increase (diminishing returns), got {marginals}"
            )
        return curve


class Member(Strict):
    """A country that may pledge money and joins some areas."""

    id: str = Field(pattern=r"^[A-Z]{3}$")
    name: str = ""
    pledge: dict[int, Money] | Money = 0.0
    opt_in: list[str] | None = None
    opt_out: list[str] = Field(default_factory=list)
    caps: dict[str, Money] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _in_or_out(self) -> Member:
        if self.opt_in is not None and self.opt_out:
            raise ValueError("give opt_in or opt_out, not both")
        return self

    @property
    def pledges(self) -> dict[int, float]:
        """Pledge per year in currency units (normalised over the horizon by validation)."""
        if isinstance(self.pledge, dict):
            return dict(self.pledge)
        raise TypeError("pledges are per year only after validate_scenario")

    def joins(self, area_id: str) -> bool:
        """Whether this member's money may go to ``area_id``."""
        if self.opt_in is not None:
            return area_id in self.opt_in
        return area_id not in self.opt_out


class PolicyConstraint(Strict):
    """A named linear rule over a group of areas (and optionally of members).

    ``at_least``/``at_most`` is money per year (or over the horizon with ``per: horizon``)
    or a share of the fund's total allocation in the same period.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    areas: list[str] | None = None
    members: list[str] | None = None
    at_least: LimitField = None
    at_most: LimitField = None
    per: Literal["year", "horizon"] = "year"
    hard: bool = False

    @model_validator(mode="after")
    def _one_bound(self) -> PolicyConstraint:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least or at_most")
        return self


class Objective(Strict):
    """How value is counted: a discount over years and the tie-break among optima."""

    discount_rate: Share = 0.0
    tie_break: Literal["pro_rata", "none"] = "pro_rata"


class Scenario(Strict):
    """Everything one solve needs. Immutable: edits give a new scenario."""

    fund: Fund
    members: list[Member] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    policies: list[PolicyConstraint] = Field(default_factory=list)
    objective: Objective = Objective()
    # Go/no-go sections (engine.projects), all optional.
    projects: list[Project] = Field(default_factory=list)
    calls: list[StagedCall] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    area_coalitions: list[AreaCoalition] = Field(default_factory=list)
    industrial_return: list[IndustrialReturn] = Field(default_factory=list)
    burden_sharing: list[BurdenSharing] = Field(default_factory=list)
    # Forecast-driven pledges (models.paths): named policy paths and, when set, pledges
    # taken from a quantile of the fund's forecast instead of the members' own figures.
    paths: dict[str, PolicyPath] = Field(default_factory=dict)
    pledges: PledgesSection | None = None

    def member(self, member_id: str) -> Member:
        """The member with this id; raises KeyError if there is none."""
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(member_id)

    def area(self, area_id: str) -> Area:
        """The area with this id; raises KeyError if there is none."""
        for a in self.areas:
            if a.id == area_id:
                return a
        raise KeyError(area_id)

    def to_input(self) -> dict[str, Any]:
        """A plain dict in the file format, which :func:`validate_scenario` reads back."""
        return self.model_dump(mode="json", exclude_defaults=True)


# --------------------------------------------------------------------------- validation


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


def _pydantic_problems(data: Any, error: ValidationError) -> list[str]:
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
        path = _label(data, loc)
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; unknown keys are not ignored)"
        elif item["type"] == "missing":
            msg = "is required but missing"
        else:
            value = _value_at(data, loc)
            if value is not None and not isinstance(value, dict | list) and "got " not in msg:
                msg = f"{msg} (got {value!r})"
        problems.setdefault(path, f"{path}: {msg}")
    return list(problems.values())


def _check_unique(kind: str, ids: list[str]) -> list[str]:
    return [f"{kind}[{i}]: duplicate id {i!r}" for i, n in Counter(ids).items() if n > 1]


def _check_refs(where: str, refs: list[str] | None, known: set[str], kind: str) -> list[str]:
    return [
        f"{where}: unknown {kind} {r!r} (known: {', '.join(sorted(known))})"
        for r in refs or []
        if r not in known
    ]


def _check_limits(scenario: Scenario) -> list[str]:
    problems = []
    for a in scenario.areas:
        lo, hi = a.floor, a.ceiling
        if lo is None or hi is None:
            continue
        same_kind = (lo.amount is None) == (hi.amount is None)
        lo_v = lo.amount if lo.amount is not None else lo.share
        hi_v = hi.amount if hi.amount is not None else hi.share
        if same_kind and lo_v is not None and hi_v is not None and lo_v > hi_v:
            problems.append(
                f"areas[{a.id}].floor: {lo.to_input()} is above the ceiling {hi.to_input()}"
            )
    for p in scenario.policies:
        lo, hi = p.at_least, p.at_most
        if lo is not None and hi is not None and (lo.amount is None) == (hi.amount is None):
            lo_v = lo.amount if lo.amount is not None else lo.share
            hi_v = hi.amount if hi.amount is not None else hi.share
            if lo_v is not None and hi_v is not None and lo_v > hi_v:
                problems.append(
                    f"policies[{p.id}].at_least: {lo.to_input()} is above at_most {hi.to_input()}"
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


def validate_scenario(data: Any, source: str | None = None) -> Scenario:
    """Validate a scenario given as plain data (as read from YAML or JSON).

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
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_pydantic_problems(data, error), source) from None

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
    problems += check_projects(scenario)

    members = []
    for m in scenario.members:
        pledges, issues = _normalise_pledges(m.id, m.pledge, scenario.fund.years)
        problems += issues
        members.append(m.model_copy(update={"pledge": pledges}))
    if problems:
        raise ScenarioError(problems, source)
    return scenario.model_copy(update={"members": members})


def replace_pledges(scenario: Scenario, pledges: dict[str, Any]) -> Scenario:
    """A validated ``scenario`` with these members' pledges replaced (by member id: one
    amount, or amounts by year, as in a file), each checked and normalised over the
    horizon as :func:`validate_scenario` does. Nothing else is checked again: no other
    rule of the format depends on pledge amounts, and a batch's draws change only them.

    Raises ScenarioError naming ``members[ID].pledge`` (or an unknown member).
    """
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
                {int(year): parse_amount(v) for year, v in value.items()}
                if isinstance(value, dict)
                else parse_amount(value)
            )
        except (TypeError, ValueError) as error:
            problems.append(f"members[{m.id}].pledge: {error}")
            continue
        normalised, issues = _normalise_pledges(m.id, given, scenario.fund.years)
        problems += issues
        members.append(m.model_copy(update={"pledge": normalised}))
    if problems:
        raise ScenarioError(problems)
    return scenario.model_copy(update={"members": members})


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (money and shares also accept strings)."""
    return Scenario.model_json_schema(mode="validation")
