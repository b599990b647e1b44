"""Projects, staged grant calls and coalition rules: the go/no-go part of a scenario.

Everything here is optional scenario data, validated like the rest of the format
(``extra="forbid"``, frozen; money as ``100k``/``2.5bn``, shares as ``50%``). The model
families that turn it into a mixed-integer program live in :mod:`engine.formulation.projects`.

- :class:`Project`: a go/no-go item in an area with a cost profile over years and a value
  (value points at full funding, weighted by the area's priority). Funded in full along
  its profile, or, with ``min_share``, at any share from that minimum up to 100%.
- :class:`StagedCall`: DIANA-style grants. Each application may get stage 1 in its year,
  stage 2 the year after only if it got stage 1, and so on; stages have per-year counts
  and budgets; stages may use shared resources (test-centre slots).
- :class:`Coalition` (on a project) and :class:`AreaCoalition`: launch only if at least
  ``min_members`` members fund it, or at least ``min_amount`` is committed.
- :class:`Exclusion`, ``Project.needs``: at most k of a group; B only if A.
- :class:`IndustrialReturn` (juste retour) and :class:`BurdenSharing` (a GDP key with a
  tolerance) over jointly funded projects.

In a scenario file (top-level sections, all optional)::

    projects:
    - {id: radar, area: air, cost: {2026: 3m, 2027: 3m}, value: 9}
    - {id: c2, area: air, cost: {2027: 2m}, value: 4, needs: [radar]}
    - id: shield
      area: air
      cost: {2026: 4m, 2027: 4m, 2028: 4m}
      value: 20
      coalition: {min_members: 3, min_stake: 10%}
      workshare: {DEU: 50%, FRA: 30%, ITA: 20%}
    exclusions: [{id: one_soc, projects: [soc_a, soc_b], at_most: 1}]
    resources: [{id: test_centres, capacity: 18}]
    calls:
    - id: diana
      area: sensing
      stages:
      - {grant: 100k, max_count: 40, uses: {test_centres: 0.25}}
      - {grant: 300k, min_share: 50%, max_count: 12, budget: 3m, uses: {test_centres: 1}}
      applications:
      - {id: app_001, year: 2026, value: [0.12, 0.45], request: [100k, 240k]}
    area_coalitions: [{area: space, min_members: 4, min_contribution: 100m}]
    industrial_return: [{id: jr, projects: [shield], min_ratio: 80%, tolerance: 10%}]
    burden_sharing: [{id: key, projects: [shield], key: {DEU: 4.5, FRA: 3.0, ITA: 2.2}}]

Value points of a project add to the areas' value; the money a project uses leaves its
area's value curve (the project earns its own value instead).

This module depends only on :mod:`engine.scenario.units` and :mod:`engine.scenario.fields`
(not on :mod:`engine.scenario.schema`, which
includes these sections), so both can be imported in any order.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from engine.scenario.fields import IDENT, Finite, Int, Money, Share, Strict
from engine.scenario.units import reject_non_finite


def _ratio(value: object) -> float:
    """``90%`` or ``0.9`` (may exceed 100%, unlike a share)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"expected a ratio such as 90% or 0.9, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a ratio such as 90% or 0.9, got {value!r}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return float(value)


Ratio = Annotated[float, BeforeValidator(_ratio, json_schema_input_type=float | str)]
Points = Annotated[float, BeforeValidator(reject_non_finite), Field(ge=0)]
Ident = Annotated[str, Field(pattern=IDENT)]


class Coalition(Strict):
    """Launch rule of a jointly funded project.

    A member counts as funding it when it takes at least ``min_stake`` of the project; it
    then pays that share of every year of the cost profile (it commits for the whole
    profile). Both ``min_members`` and ``min_amount`` must hold when both are given.
    """

    min_members: Int | None = Field(default=None, ge=1)
    min_amount: Money | None = None
    min_stake: Share = 0.01

    @model_validator(mode="after")
    def _some_rule(self) -> Coalition:
        if self.min_members is None and self.min_amount is None:
            raise ValueError("give min_members, min_amount or both")
        if self.min_stake <= 0:
            raise ValueError("min_stake must be above 0% (a member must pay to count)")
        return self


class Project(Strict):
    """A go/no-go item in an area: funded along its cost profile, or not at all.

    ``cost`` is money per year (``{2027: 2bn, 2028: 3bn}``); ``value`` is value points at
    full funding, times the area's priority and the discount of its first year. With
    ``min_share`` the project may be funded at a share between it and 100% (value and
    cost scale with the share). ``members`` limits who may fund it; a project with
    ``members``, ``coalition`` or ``workshare`` (or named by a burden-sharing or
    industrial-return rule) is funded by explicit member shares, other projects from the
    area's pooled money. ``uses`` is the amount of each shared
    resource the project occupies in every year of its profile.
    """

    id: Ident
    name: str = ""
    area: str
    cost: dict[Int, Money] = Field(min_length=1)
    value: Points
    min_share: Share | None = None
    needs: list[str] = Field(default_factory=list)
    members: list[str] | None = None
    coalition: Coalition | None = None
    workshare: dict[str, Share] = Field(default_factory=dict)
    uses: dict[str, Points] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Project:
        if sum(self.cost.values()) <= 0:
            raise ValueError("the cost profile must have some positive cost")
        if sum(self.workshare.values()) > 1 + 1e-9:
            raise ValueError(f"workshare adds up to {sum(self.workshare.values()):.0%}, above 100%")
        if self.min_share is not None and self.min_share <= 0:
            raise ValueError("min_share must be above 0% (or left out for all-or-nothing)")
        return self

    @property
    def joint(self) -> bool:
        """Whether members fund it by explicit shares (rather than from the area's pool)."""
        return self.members is not None or self.coalition is not None or bool(self.workshare)


class Exclusion(Strict):
    """At most ``at_most`` of these projects go ahead (``at_most: 1``: C or D, not both)."""

    id: Ident
    projects: list[str] = Field(min_length=2)
    at_most: Int = Field(default=1, ge=0)


class Resource(Strict):
    """A shared, limited resource such as test-centre slots: capacity per year."""

    id: Ident
    name: str = ""
    capacity: dict[Int, Points] | Points

    def capacity_in(self, year: int) -> float | None:
        """Capacity in ``year`` (None: no limit that year)."""
        if isinstance(self.capacity, dict):
            return self.capacity.get(year)
        return float(self.capacity)


class Stage(Strict):
    """One stage of a staged call: its grant, per-year limits and resource use.

    ``grant`` is the full grant; with ``min_share`` a grant may be smaller, down to that
    share ("up to EUR 300k"). ``max_count`` and ``budget`` limit this stage's grants
    in each year.
    """

    name: str = ""
    grant: Money
    min_share: Share | None = None
    max_count: Int | None = Field(default=None, ge=0)
    budget: Money | None = None
    uses: dict[str, Points] = Field(default_factory=dict)


class Application(Strict):
    """An applicant to a staged call: the year of its first stage and its value per stage.

    ``value[k]`` is the value points of stage k+1 at the full grant; ``request``
    optionally replaces the stages' grants (each at most the stage's grant); ``area``
    (a challenge area) replaces the call's area.
    """

    id: Ident
    year: Int
    area: str | None = None
    value: list[Points] = Field(min_length=1)
    request: list[Money] | None = None


class StagedCall(Strict):
    """A staged grant call in an area (DIANA: stage 1 about EUR 100k, stage 2 up to 300k).

    Stage k of an application falls in ``year + k - 1`` and needs stage k-1 the year
    before; stages beyond the horizon are left out. Grants are paid from the area's
    pooled money.
    """

    id: Ident
    name: str = ""
    area: str
    stages: list[Stage] = Field(min_length=1)
    applications: list[Application] = Field(default_factory=list)


class AreaCoalition(Strict):
    """An area is funded at all only if at least ``min_members`` members each give at least
    ``min_contribution`` over the horizon, and (if given) the area gets ``min_amount``."""

    area: str
    min_members: Int | None = Field(default=None, ge=1)
    min_amount: Money | None = None
    min_contribution: Money = 0.0

    @model_validator(mode="after")
    def _some_rule(self) -> AreaCoalition:
        if self.min_members is None and self.min_amount is None:
            raise ValueError("give min_members, min_amount or both")
        if self.min_members is not None and self.min_contribution <= 0:
            raise ValueError("min_contribution must be positive when min_members is given")
        return self


class IndustrialReturn(Strict):
    """Juste retour: each member's return to its own industry (its workshare of funded
    projects) is at least ``min_ratio - tolerance`` times what it contributes to them.

    ``projects`` defaults to every project with workshare data; ``members`` to every
    member named in their workshares.
    """

    id: Ident
    label: str = ""
    projects: list[str] | None = None
    members: list[str] | None = None
    min_ratio: Ratio = 1.0
    tolerance: Share = 0.0


class BurdenSharing(Strict):
    """Each listed member's share of a programme's cost lies within ``tolerance`` (share
    points) of its key share (``key``: e.g. GDP, normalised over the listed members)."""

    id: Ident
    label: str = ""
    projects: list[str] = Field(min_length=1)
    key: dict[str, Annotated[Finite, Field(gt=0)]] = Field(min_length=1)
    tolerance: Share = 0.05
