"""The scenario: everything one solve needs, as validated, immutable data.

The domain knows nothing of solvers, files or screens. Money is held in currency units
(e.g. US dollars); shares as fractions in [0, 1]. Build scenarios with
:func:`validate_scenario`, which runs the field checks and the cross-checks and turns
every problem into one :class:`~engine.errors.ScenarioError` naming the field path.
"""

from __future__ import annotations

import hashlib
import json
import math
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    PrivateAttr,
    SerializationInfo,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.coalition.elicitation import MemberPriorities
from engine.scenario.fields import (
    IDENT,
    ISO_CODE,
    WRITE_UNIT,
    Finite,
    Int,
    Money,
    Share,
    Strict,
    money_text,
    read_plain,
)
from engine.scenario.paths import PledgesSection, PolicyPath
from engine.scenario.projects import (
    AreaCoalition,
    BurdenSharing,
    Exclusion,
    IndustrialReturn,
    Project,
    Resource,
    StagedCall,
)
from engine.scenario.units import parse_amount, parse_share


class Limit(Strict):
    """A bound written either as money (``12bn``) or as a share of the year's total (``10%``)."""

    amount: float | None = None
    share: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            if value and all(str(k).strip().isdigit() for k in value):
                # Pledges may be given by year; limits may not: say so, not 'Keys should be
                # strings' or 'unknown field 2026'.
                raise ValueError(
                    "is one amount (12bn) or share (25%) for every year; a limit given by "
                    f"year is not part of the format (got years {', '.join(map(str, value))})"
                )
            if "amount" in value:
                return {**value, "amount": read_plain(value["amount"], info.context)}
            return value
        if isinstance(value, str) and value.strip().endswith("%"):
            return {"share": parse_share(value)}
        return {"amount": parse_amount(read_plain(value, info.context))}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Files write a limit as ``12bn``, a plain number of currency units or ``25%``; the
        # object form is what the model holds. The schema must accept all three, or the
        # shipped scenarios fail an outside validator.
        return {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "description": "an amount (12bn) or a share (25%)"},
                handler(core_schema),
            ]
        }

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


def _limit_out(limit: Limit | None, info: SerializationInfo) -> float | str | None:
    unit = info.context.get(WRITE_UNIT) if isinstance(info.context, dict) else None
    if limit is not None and limit.amount is not None and unit is not None:
        return money_text(limit.amount, unit)
    return None if limit is None else limit.to_input()


LimitField = Annotated[Limit | None, PlainSerializer(_limit_out)]


class Fund(Strict):
    """The pooled fund: its name, currency, reporting unit and planning horizon."""

    name: str = Field(min_length=1)
    currency: str = Field(default="USD", pattern=ISO_CODE)
    unit: Literal["k", "m", "bn"] = "bn"
    years: list[Int] = Field(min_length=1)
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

    id: str = Field(pattern=IDENT)
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

    id: str = Field(pattern=ISO_CODE)
    name: str = ""
    pledge: dict[Int, Money] | Money = 0.0
    opt_in: list[str] | None = None
    opt_out: list[str] = Field(default_factory=list)
    caps: dict[str, Money] = Field(default_factory=dict)
    #: The member's own priorities over the areas it joined (engine.coalition.elicitation).
    priorities: MemberPriorities | None = None

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

    id: str = Field(pattern=IDENT)
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
    #: How members' priorities add up to the fund's (engine.coalition.priorities): by
    #: pledge (the default once a member states priorities) or equally; unset and no
    #: member priorities: the areas' own priorities.
    member_weights: Literal["pledge", "equal"] | None = None


class Scenario(Strict):
    """Everything one solve needs. Immutable: edits give a new scenario."""

    fund: Fund
    members: list[Member] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    policies: list[PolicyConstraint] = Field(default_factory=list)
    objective: Objective = Objective()
    # Go/no-go sections (engine.scenario.projects), all optional.
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
    _written: Scenario | None = PrivateAttr(default=None)

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

    def remember_written(self, written: Scenario | None) -> None:
        """Keep the scenario as written (before its forecast pledges were resolved), so that
        edits start from the hand-written figures; see :meth:`written`. None forgets it (the
        pledges were replaced and are now the scenario's own)."""
        self._written = written

    def written(self) -> Scenario:
        """The scenario as written: itself, unless its pledges were resolved from the
        forecast (then the scenario before that)."""
        return self._written or self

    def to_input(self) -> dict[str, Any]:
        """A plain dict in the file format, which :func:`validate_scenario` reads back:
        amounts as exact text in the fund's unit (``15bn``), the fund's currency and unit
        always stated."""
        context = {WRITE_UNIT: self.fund.unit}
        data = self.model_dump(mode="json", exclude_defaults=True, context=context)
        fund = data["fund"]
        data["fund"] = {
            "name": fund.pop("name"),
            "currency": self.fund.currency,
            "unit": self.fund.unit,
            **{k: v for k, v in fund.items() if k not in ("currency", "unit")},
        }
        return data


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of the scenario's content (canonical JSON: amounts as numbers in
    currency units, as stores written before amounts were written with their unit hold)."""
    canonical = scenario.model_dump(mode="json", exclude_defaults=True)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
