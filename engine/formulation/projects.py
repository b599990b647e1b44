"""The go/no-go families of the model: projects, staged grants and coalition rules (MIP).

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
  the area). A coalition adds ``w[m,u]`` binaries (``stake``, ``commit``,
  ``coalition[u]``).
- Dependencies ``needs[B,A]``, ``stage2_needs_stage1[app,year]``; ``exclusion[id]``;
  per-stage counts and budgets ``stage_count[call,k,t]``, ``stage_budget[call,k,t]``;
  shared resources ``capacity[r,t]``; area coalitions; industrial return
  ``industrial_return[rule,m]``; burden sharing ``burden_min/burden_max[rule,m]``.

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


def _funders(model: ModelBuilder, unit: Unit) -> list[str]:
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
        for m in _funders(model, u):
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


def define_coalitions(model: ModelBuilder, maps: ProjectMaps) -> None:
    """A coalition project goes ahead only with ``min_members`` members each taking at
    least ``min_stake``, and (partial funding) at least ``min_amount`` committed."""
    for u in maps.units.values():
        rule = u.coalition
        if rule is None:
            continue
        go = maps.go[u.key]
        if rule.min_members is not None:
            joins = []
            for m in _funders(model, u):
                q = maps.member_share[m, u.key]
                w = model.add_column(f"w_{m}_{u.key}", 0.0, 1.0, integer=True)
                maps.member_joins[m, u.key] = w
                joins.append((w, 1.0))
                model.add_row(
                    Row(f"commit[{u.key},{m}]", "commit", member=m), [(q, 1.0), (w, -1.0)], -1, 0.0
                )
                model.add_row(
                    Row(f"stake[{u.key},{m}]", "stake", member=m),
                    [(q, 1.0), (w, -rule.min_stake)],
                    1,
                    0.0,
                )
            model.add_row(
                Row(f"coalition[{u.key}]", "coalition"),
                [*joins, (go, -float(rule.min_members))],
                1,
                0.0,
            )
        if rule.min_amount is not None:
            model.add_row(
                Row(f"coalition_amount[{u.key}]", "coalition_amount"),
                [
                    (maps.funded(u.key), u.total_cost / model.scale),
                    (go, -rule.min_amount / model.scale),
                ],
                1,
                0.0,
            )


def define_dependencies(model: ModelBuilder, maps: ProjectMaps) -> None:
    """``needs[B,A]``: B only if A; ``stage{k}_needs_stage{k-1}[app,year]`` for stages;
    ``exclusion[id]``: at most k of a group."""
    sc = model.scenario
    for p in sc.projects:
        for need in p.needs:
            model.add_row(
                Row(f"needs[{p.id},{need}]", "needs"),
                [(maps.go[p.id], 1.0), (maps.go[need], -1.0)],
                -1,
                0.0,
            )
    for u in maps.units.values():
        if u.stage is None or u.stage == 1:
            continue
        before = f"{u.project}_s{u.stage - 1}"
        year = min(u.cost)
        model.add_row(
            Row(
                f"stage{u.stage}_needs_stage{u.stage - 1}[{u.project},{year}]",
                "stage_needs",
                year=year,
            ),
            [(maps.go[u.key], 1.0), (maps.go[before], -1.0)],
            -1,
            0.0,
        )
    for e in sc.exclusions:
        model.add_row(
            Row(f"exclusion[{e.id}]", "exclusion"),
            [(maps.go[p], 1.0) for p in e.projects],
            -1,
            float(e.at_most),
        )


def define_stage_limits(model: ModelBuilder, maps: ProjectMaps) -> None:
    """Per call, stage and year: at most ``max_count`` grants and ``budget`` money."""
    groups: dict[tuple[str, int, int], list[Unit]] = {}
    for u in maps.units.values():
        if u.call is not None and u.stage is not None:
            groups.setdefault((u.call, u.stage, min(u.cost)), []).append(u)
    stages = {c.id: c.stages for c in model.scenario.calls}
    for (call, k, t), units in sorted(groups.items()):
        stage = stages[call][k - 1]
        if stage.max_count is not None:
            model.add_row(
                Row(f"stage_count[{call},{k},{t}]", "stage_count", year=t),
                [(maps.go[u.key], 1.0) for u in units],
                -1,
                float(stage.max_count),
            )
        if stage.budget is not None:
            model.add_row(
                Row(f"stage_budget[{call},{k},{t}]", "stage_budget", year=t),
                [(maps.funded(u.key), u.cost[t] / model.scale) for u in units],
                -1,
                stage.budget / model.scale,
            )


def define_resources(model: ModelBuilder, maps: ProjectMaps) -> None:
    """``capacity[r,t]``: go units' use of a shared resource within its yearly capacity."""
    for r in model.scenario.resources:
        for t in model.scenario.fund.years:
            cap = r.capacity_in(t)
            terms = [
                (maps.go[u.key], u.uses[r.id])
                for u in maps.units.values()
                if r.id in u.uses and t in u.cost
            ]
            if cap is None or not terms:
                continue
            model.add_row(Row(f"capacity[{r.id},{t}]", "capacity", year=t), terms, -1, float(cap))


def define_area_coalitions(model: ModelBuilder, maps: ProjectMaps) -> None:
    """An area launches (``L[a]``) only with ``min_members`` members each giving at least
    ``min_contribution`` over the horizon, and with at least ``min_amount``; a member
    that gives anything counts as joined, and no member gives to an area not launched."""
    sc = model.scenario
    years = sc.fund.years
    for rule in sc.area_coalitions:
        a = rule.area
        launch = model.add_column(f"launch_{a}", 0.0, 1.0, integer=True)
        maps.area_launch[a] = launch
        joins = []
        for m in sc.members:
            flows = [(t, model.x[m.id, a, t]) for t in years if (m.id, a, t) in model.x]
            if not flows:
                continue
            cap = sum(m.pledges.values()) / model.scale
            w = model.add_column(f"w_{m.id}_{a}", 0.0, 1.0, integer=True)
            joins.append((w, 1.0))
            for t, j in flows:
                model.add_row(
                    Row(f"area_commit[{a},{m.id},{t}]", "area_commit", area=a, member=m.id, year=t),
                    [(j, 1.0), (w, -cap)],
                    -1,
                    0.0,
                )
            model.add_row(
                Row(f"area_joins[{a},{m.id}]", "area_joins", area=a, member=m.id),
                [(w, 1.0), (launch, -1.0)],
                -1,
                0.0,
            )
            if rule.min_contribution > 0:
                model.add_row(
                    Row(f"area_stake[{a},{m.id}]", "area_stake", area=a, member=m.id),
                    [*[(j, 1.0) for _, j in flows], (w, -rule.min_contribution / model.scale)],
                    1,
                    0.0,
                )
        if rule.min_members is not None:
            model.add_row(
                Row(f"area_coalition[{a}]", "area_coalition", area=a),
                [*joins, (launch, -float(rule.min_members))],
                1,
                0.0,
            )
        if rule.min_amount is not None:
            model.add_row(
                Row(f"area_amount[{a}]", "area_amount", area=a),
                [
                    *[(model.funding[a, t], 1.0) for t in years],
                    (launch, -rule.min_amount / model.scale),
                ],
                1,
                0.0,
            )


def _member_contributions(
    model: ModelBuilder, maps: ProjectMaps, units: list[Unit], member: str
) -> list[tuple[int, float]]:
    """Terms of a member's payments (model units) to these joint units over the horizon."""
    return [
        (maps.member_share[member, u.key], u.total_cost / model.scale)
        for u in units
        if (member, u.key) in maps.member_share
    ]


def define_industrial_return(model: ModelBuilder, maps: ProjectMaps) -> None:
    """Juste retour: ``return[m] >= (min_ratio - tolerance) * contribution[m]`` where the
    return is m's workshare of the funded projects' cost."""
    for rule in model.scenario.industrial_return:
        names = rule.projects
        units = [
            u
            for u in maps.units.values()
            if u.stage is None and (u.key in names if names is not None else bool(u.workshare))
        ]
        members = rule.members
        if members is None:
            members = sorted({m for u in units for m in u.workshare})
        ratio = max(rule.min_ratio - rule.tolerance, 0.0)
        for m in members:
            returns = [
                (maps.funded(u.key), u.workshare[m] * u.total_cost / model.scale)
                for u in units
                if u.workshare.get(m)
            ]
            pays = [(j, -ratio * c) for j, c in _member_contributions(model, maps, units, m)]
            if not pays:
                continue
            model.add_row(
                Row(
                    f"industrial_return[{rule.id},{m}]", "industrial_return", member=m, policy=None
                ),
                [*returns, *pays],
                1,
                0.0,
            )


def define_burden_sharing(model: ModelBuilder, maps: ProjectMaps) -> None:
    """Each keyed member's share of a programme within ``tolerance`` of its key share:
    ``(key - tol) * total <= contribution <= (key + tol) * total``."""
    for rule in model.scenario.burden_sharing:
        units = [maps.units[p] for p in rule.projects]
        total = [(maps.funded(u.key), u.total_cost / model.scale) for u in units]
        weight = sum(rule.key.values())
        for m, k in rule.key.items():
            share = k / weight
            pays = _member_contributions(model, maps, units, m)
            lo, hi = share - rule.tolerance, share + rule.tolerance
            if lo > 0:
                model.add_row(
                    Row(f"burden_min[{rule.id},{m}]", "burden_min", member=m),
                    [*pays, *[(j, -lo * c) for j, c in total]],
                    1,
                    0.0,
                )
            if hi < 1:
                model.add_row(
                    Row(f"burden_max[{rule.id},{m}]", "burden_max", member=m),
                    [*pays, *[(j, -hi * c) for j, c in total]],
                    -1,
                    0.0,
                )


def define_projects(model: ModelBuilder) -> None:
    """Add every go/no-go family of the scenario (nothing when it has none)."""
    sc = model.scenario
    if not (sc.projects or sc.calls or sc.area_coalitions):
        return
    maps = ProjectMaps(units={u.key: u for u in build_units(model)})
    model.projects = maps
    define_units(model, maps)
    define_area_pools(model, maps)
    define_member_shares(model, maps)
    define_coalitions(model, maps)
    define_dependencies(model, maps)
    define_stage_limits(model, maps)
    define_resources(model, maps)
    define_area_coalitions(model, maps)
    define_industrial_return(model, maps)
    define_burden_sharing(model, maps)


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


#: Rows whose coefficients on a unit's funded share or member shares are its costs.
COST_KINDS = frozenset(
    {
        "projects_within_area",
        "value",
        "stage_budget",
        "coalition_amount",
        "member_projects",
        "industrial_return",
        "burden_min",
        "burden_max",
    }
)


def scale_unit_cost(model: PlanModel, key: str, factor: float) -> PlanModel:
    """The model with unit ``key``'s cost profile multiplied by ``factor`` (a copy with
    new coefficient and objective arrays; the input is unchanged)."""
    maps: ProjectMaps = model.projects
    unit = maps.units[key]
    funded = maps.funded(key)
    cols = {funded} | {q for (_m, k), q in maps.member_share.items() if k == key}
    vals = model.row_vals.copy()
    for i, row in enumerate(model.rows):
        if row.kind not in COST_KINDS:
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
