"""The identity of a model row: its kind (:class:`RowKind`) and its domain keys (:class:`Row`).

Every constraint family names its rows with one :class:`RowKind`; which kinds keep the
books, which link go/no-go decisions, which a planner may relax and which sensitivity
ranges are properties of the kind, declared here once (the result frames, what-if,
sensitivity and the diagnosis all read them from here). Kinds are string enums whose
values are the ``kind`` column of ``constraints.csv``.

A row is found by its keys (:meth:`Row.key`, :func:`row_keys`), never by formatting or
parsing its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class RowKind(StrEnum):
    """The kind of a model row (its value is the ``kind`` column of the result files)."""

    # The allocation LP (engine.formulation.core)
    FUNDING = "funding"
    TOTAL = "total"
    BUDGET = "budget"
    FLOOR = "floor"
    CEILING = "ceiling"
    ABSORPTION_UP = "absorption_up"
    ABSORPTION_DOWN = "absorption_down"
    POLICY_MIN = "policy_min"
    POLICY_MAX = "policy_max"
    VALUE = "value"
    # The go/no-go families (engine.formulation.projects)
    MIN_SHARE = "min_share"
    SHARE_IF_GO = "share_if_go"
    PROJECTS_WITHIN_AREA = "projects_within_area"
    PROJECT_SHARES = "project_shares"
    MEMBER_PROJECTS = "member_projects"
    COMMIT = "commit"
    STAKE = "stake"
    COALITION = "coalition"
    COALITION_AMOUNT = "coalition_amount"
    NEEDS = "needs"
    STAGE_NEEDS = "stage_needs"
    EXCLUSION = "exclusion"
    STAGE_COUNT = "stage_count"
    STAGE_BUDGET = "stage_budget"
    CAPACITY = "capacity"
    AREA_COMMIT = "area_commit"
    AREA_JOINS = "area_joins"
    AREA_STAKE = "area_stake"
    AREA_COALITION = "area_coalition"
    AREA_AMOUNT = "area_amount"
    INDUSTRIAL_RETURN = "industrial_return"
    BURDEN_MIN = "burden_min"
    BURDEN_MAX = "burden_max"
    # Coalition stability (engine.coalition.stability): a member's value >= its standalone
    PARTICIPATION = "participation"

    @property
    def allocation(self) -> bool:
        """A row of the allocation LP (not of the go/no-go families): its keys (area,
        member, year, policy) identify it, see :func:`row_keys`."""
        return self in _ALLOCATION

    @property
    def link(self) -> bool:
        """Links shares, stakes and go decisions: its dual is not per unit of money (and
        rows over fixed decisions have none), so reports leave it out."""
        return self in _LINK

    @property
    def bookkeeping(self) -> bool:
        """Keeps the books (definitions of funding, totals and value, and the links), not
        a rule a planner set: left out of binding constraints, what-if diffs and reports."""
        return self in (RowKind.FUNDING, RowKind.TOTAL, RowKind.VALUE) or self.link

    @property
    def relaxable(self) -> bool:
        """A planner's rule that may be soft (floors, ceilings, absorption limits and
        policies not marked ``hard``): the diagnosis relaxes it when the row is soft."""
        return self in _RELAXABLE

    @property
    def ranged(self) -> bool:
        """Sensitivity reports the range of its bound: members' budgets and the
        relaxable rules of the allocation."""
        return self is RowKind.BUDGET or self.relaxable

    @property
    def costed(self) -> bool:
        """Its coefficients on a go/no-go unit's funded share or member shares are the
        unit's costs (a change of the unit's cost scales them)."""
        return self in _COSTED

    @classmethod
    def where(cls, test: Callable[[RowKind], bool]) -> frozenset[RowKind]:
        """The kinds for which ``test(kind)`` holds, e.g.
        ``RowKind.where(lambda k: k.bookkeeping)``."""
        return frozenset(k for k in cls if test(k))


_ALLOCATION = frozenset(
    {
        RowKind.FUNDING,
        RowKind.TOTAL,
        RowKind.BUDGET,
        RowKind.FLOOR,
        RowKind.CEILING,
        RowKind.ABSORPTION_UP,
        RowKind.ABSORPTION_DOWN,
        RowKind.POLICY_MIN,
        RowKind.POLICY_MAX,
        RowKind.VALUE,
    }
)
_LINK = frozenset(
    {
        RowKind.MIN_SHARE,
        RowKind.SHARE_IF_GO,
        RowKind.PROJECT_SHARES,
        RowKind.COMMIT,
        RowKind.STAKE,
        RowKind.COALITION,
        RowKind.NEEDS,
        RowKind.STAGE_NEEDS,
        RowKind.EXCLUSION,
        RowKind.STAGE_COUNT,
        RowKind.CAPACITY,
        RowKind.AREA_COMMIT,
        RowKind.AREA_JOINS,
        RowKind.AREA_COALITION,
    }
)
_RELAXABLE = frozenset(
    {
        RowKind.FLOOR,
        RowKind.CEILING,
        RowKind.ABSORPTION_UP,
        RowKind.ABSORPTION_DOWN,
        RowKind.POLICY_MIN,
        RowKind.POLICY_MAX,
    }
)
_COSTED = frozenset(
    {
        RowKind.PROJECTS_WITHIN_AREA,
        RowKind.VALUE,
        RowKind.STAGE_BUDGET,
        RowKind.COALITION_AMOUNT,
        RowKind.MEMBER_PROJECTS,
        RowKind.INDUSTRIAL_RETURN,
        RowKind.BURDEN_MIN,
        RowKind.BURDEN_MAX,
    }
)

#: Kinds that keep the books (see :attr:`RowKind.bookkeeping`).
BOOKKEEPING = RowKind.where(lambda k: k.bookkeeping)
#: Kinds that link go/no-go decisions (see :attr:`RowKind.link`).
LINK_KINDS = RowKind.where(lambda k: k.link)
#: Kinds a planner may relax when soft (see :attr:`RowKind.relaxable`).
RELAXABLE = RowKind.where(lambda k: k.relaxable)
#: Kinds whose bound sensitivity ranges (see :attr:`RowKind.ranged`).
RANGED = RowKind.where(lambda k: k.ranged)

#: A row's keys: kind, area, member, year, policy.
RowKey = tuple[RowKind, str | None, str | None, int | None, str | None]


@dataclass(frozen=True, init=False)
class Row:
    """A constraint's domain identity: kind, keys and whether it may be relaxed.

    ``kind`` is a :class:`RowKind`; a kind's string is accepted and converted (an
    unknown kind raises ValueError).
    """

    name: str
    kind: RowKind
    area: str | None
    member: str | None
    year: int | None
    policy: str | None
    soft: bool

    def __init__(
        self,
        name: str,
        kind: RowKind | str,
        area: str | None = None,
        member: str | None = None,
        year: int | None = None,
        policy: str | None = None,
        soft: bool = False,
    ) -> None:
        # Frozen: fill the instance's dict directly (the fastest way past __setattr__).
        self.__dict__.update(
            name=name,
            kind=kind if type(kind) is RowKind else RowKind(kind),
            area=area,
            member=member,
            year=year,
            policy=policy,
            soft=soft,
        )

    @property
    def key(self) -> RowKey:
        """The row's keys (unique among the allocation rows of a model)."""
        return (self.kind, self.area, self.member, self.year, self.policy)


def row_keys(rows: list[Row]) -> dict[RowKey, int]:
    """Index of each allocation row (:attr:`RowKind.allocation`) by its :attr:`Row.key`."""
    return {r.key: i for i, r in enumerate(rows) if r.kind.allocation}
