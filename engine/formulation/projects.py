"""The go/no-go units of the model (MIP): projects and staged grants, their columns, their
area pools and member shares; and the helpers the MIP stage applies to a built model.

Projects and each stage of a staged-call application become *units*: a binary ``z[u]``
(go), an optional funded share ``s[u]`` in ``[min_share * z, z]`` when partial funding is
allowed (otherwise the share is ``z`` itself), a cost profile and a value. Money is in
model units (the fund's unit), as in :mod:`engine.formulation.core`.

- Pooled units draw on their area's funding: ``projects_within_area[a,t]`` keeps the
  year's project cost within ``F[a,t]``, and :func:`engine.formulation.core.define_value` keeps
  that money out of the area's own value curve (projects earn their own value).
- Joint units (members, coalition or workshare) are paid by member shares
  ``q[m,u]``, constant over the profile (a member commits for the whole profile):
  ``project_shares[u]`` (shares add up to the funded share) and
  ``member_projects[m,a,t]`` (a member's project payments come out of its money to
  the area).

The rules over units (coalitions, dependencies, stage limits, resources, area coalitions,
industrial return, burden sharing) are :mod:`engine.formulation.project_rules`, which also
adds the whole go/no-go part to a model (:func:`engine.formulation.project_rules.define_projects`).
Every row is named after the domain and all go/no-go rows are hard (not relaxed by the
infeasibility diagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from engine.coalition.priorities import area_priorities
from engine.formulation.core import ModelBuilder, PlanModel, Row, discount_factors
from engine.scenario.projects import Coalition


@dataclass(frozen=True)
class Unit:
    """One go/no-go decision: a project, or one stage of a staged-call application.

    ``cost`` is in currency units per year; ``weight`` turns a funded share into value
    points (value x area priority x discount of the first year).
    """

    key: str
    project: str
    area: str
    cost: dict[int, float]
    value: float
    weight: float
    min_share: float | None = None
    call: str | None = None
    stage: int | None = None
    joint: bool = False
    funders: tuple[str, ...] | None = None
    coalition: Coalition | None = None
    uses: dict[str, float] = field(default_factory=dict)
    workshare: dict[str, float] = field(default_factory=dict)

    @property
    def total_cost(self) -> float:
        """Cost over the whole profile, in currency units."""
        return sum(self.cost.values())


@dataclass
class ProjectMaps:
    """Columns of the go/no-go part, by domain key (held on ``PlanModel.projects``)."""

    units: dict[str, Unit] = field(default_factory=dict)
    go: dict[str, int] = field(default_factory=dict)
    share: dict[str, int] = field(default_factory=dict)
    member_share: dict[tuple[str, str], int] = field(default_factory=dict)
    member_joins: dict[tuple[str, str], int] = field(default_factory=dict)
    area_launch: dict[str, int] = field(default_factory=dict)
    #: Margins of unselected units (engine.solving.mip.Margin by unit key), after a solve.
    margins: dict[str, Any] = field(default_factory=dict)

    def funded(self, key: str) -> int:
        """Column of the unit's funded share (its go binary when all-or-nothing)."""
        return self.share.get(key, self.go[key])


def build_units(model: ModelBuilder) -> list[Unit]:
    """Projects and in-horizon application stages as units, in scenario order."""
    sc = model.scenario
    disc = discount_factors(sc)
    priority = area_priorities(sc)
    years = set(sc.fund.years)
    referenced = {p for rule in sc.burden_sharing for p in rule.projects}
    referenced |= {p for rule in sc.industrial_return for p in rule.projects or []}
    units = []
    for p in sc.projects:
        cost = {t: c for t, c in sorted(p.cost.items()) if c > 0}
        units.append(
            Unit(
                key=p.id,
                project=p.id,
                area=p.area,
                cost=cost,
                value=p.value,
                weight=p.value * priority[p.area] * disc[min(cost)],
                min_share=p.min_share,
                joint=p.joint or p.id in referenced,
                funders=tuple(p.members) if p.members is not None else None,
                coalition=p.coalition,
                uses=dict(p.uses),
                workshare=dict(p.workshare),
            )
        )
    for c in sc.calls:
        for app in c.applications:
            for k, stage in enumerate(c.stages, start=1):
                year = app.year + k - 1
                if year not in years:
                    break
                grant = app.request[k - 1] if app.request is not None else stage.grant
                if grant <= 0:
                    break
                area = app.area or c.area
                units.append(
                    Unit(
                        key=f"{app.id}_s{k}",
                        project=app.id,
                        area=area,
                        cost={year: grant},
                        value=app.value[k - 1],
                        weight=app.value[k - 1] * priority[area] * disc[year],
                        min_share=stage.min_share,
                        call=c.id,
                        stage=k,
                        uses=dict(stage.uses),
                    )
                )
    return units


def funders(model: ModelBuilder, unit: Unit) -> list[str]:
    """Members who may pay a joint unit: they joined its area in every year of its profile."""
    allowed = set(unit.funders) if unit.funders is not None else None
    return [
        m.id
        for m in model.scenario.members
        if (allowed is None or m.id in allowed)
        and all((m.id, unit.area, t) in model.x for t in unit.cost)
    ]


def define_units(model: ModelBuilder, maps: ProjectMaps) -> None:
    """Go binaries, funded shares (partial funding) and the projects' value."""
    for u in maps.units.values():
        z = model.add_column(f"z_{u.key}", 0.0, 1.0, integer=True)
        maps.go[u.key] = z
        if u.min_share is not None:
            s = model.add_column(f"share_{u.key}", 0.0, 1.0)
            maps.share[u.key] = s
            model.add_row(
                Row(f"min_share[{u.key}]", "min_share"), [(s, 1.0), (z, -u.min_share)], 1, 0.0
            )
            model.add_row(
                Row(f"share_if_go[{u.key}]", "share_if_go"), [(s, 1.0), (z, -1.0)], -1, 0.0
            )
        f = maps.funded(u.key)
        model.objective[f] = model.objective.get(f, 0.0) + u.weight


def define_area_pools(model: ModelBuilder, maps: ProjectMaps) -> None:
    """``projects_within_area[a,t]``: the year's project costs within the area's funding."""
    per_area: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for u in maps.units.values():
        f = maps.funded(u.key)
        for t, c in u.cost.items():
            per_area.setdefault((u.area, t), []).append((f, c / model.scale))
    for (a, t), terms in per_area.items():
        model.project_spend[a, t] = terms
        row = Row(f"projects_within_area[{a},{t}]", "projects_within_area", area=a, year=t)
        model.add_row(row, [*terms, (model.funding[a, t], -1.0)], -1, 0.0)


def define_member_shares(model: ModelBuilder, maps: ProjectMaps) -> None:
    """Joint units: member shares add up to the funded share, and each member's project
    payments in an area and year come out of its money to that area."""
    payments: dict[tuple[str, str, int], list[tuple[int, float]]] = {}
    for u in maps.units.values():
        if not u.joint:
            continue
        terms = []
        for m in funders(model, u):
            q = model.add_column(f"q_{m}_{u.key}", 0.0, 1.0)
            maps.member_share[m, u.key] = q
            terms.append((q, 1.0))
            for t, c in u.cost.items():
                payments.setdefault((m, u.area, t), []).append((q, c / model.scale))
        model.add_row(
            Row(f"project_shares[{u.key}]", "project_shares"),
            [*terms, (maps.funded(u.key), -1.0)],
            0,
            0.0,
        )
    for (m, a, t), terms in payments.items():
        row = Row(f"member_projects[{m},{a},{t}]", "member_projects", area=a, member=m, year=t)
        model.add_row(row, [*terms, (model.x[m, a, t], -1.0)], -1, 0.0)


def share_reference(model: PlanModel) -> dict[int, float]:
    """Tie-break targets for joint projects' member shares: each project's go decision (as
    fixed in the model) split equally among the members who may fund it. Optimal plans
    often leave these shares free; a fixed target keeps them from moving between solves."""
    maps: ProjectMaps | None = model.projects
    if maps is None:
        return {}
    shares: dict[str, list[int]] = {}
    for (_m, key), q in maps.member_share.items():
        shares.setdefault(key, []).append(q)
    return {q: model.col_lb[maps.go[key]] / len(cols) for key, cols in shares.items() for q in cols}


def scale_unit_cost(model: PlanModel, key: str, factor: float) -> PlanModel:
    """The model with unit ``key``'s cost profile multiplied by ``factor`` (a copy with
    new coefficient and objective arrays; the input is unchanged)."""
    maps: ProjectMaps = model.projects
    unit = maps.units[key]
    funded = maps.funded(key)
    cols = {funded} | {q for (_m, k), q in maps.member_share.items() if k == key}
    vals = model.row_vals.copy()
    for i, row in enumerate(model.rows):
        if not row.kind.costed:  # rows holding the unit's costs
            continue
        for k in range(model.row_start[i], model.row_start[i + 1]):
            if model.row_cols[k] in cols:
                vals[k] *= factor
    objective = dict(model.objective)
    # define_value took the area's value of the unit's money off its own value.
    objective[funded] = unit.weight + (objective[funded] - unit.weight) * factor
    return replace(model, row_vals=vals, objective=objective)


def fix_integers(model: PlanModel, values: np.ndarray) -> PlanModel:
    """The model with every integer column fixed at its (rounded) value: an LP whose duals
    are the shadow prices of the LP part given the go/no-go decisions. The input is
    unchanged."""
    lb, ub = model.col_lb.copy(), model.col_ub.copy()
    for j in model.integer:
        v = float(np.round(values[j]))
        lb[j] = ub[j] = v
    return replace(model, col_lb=lb, col_ub=ub, integer=set())
