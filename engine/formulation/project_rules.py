"""The rules over go/no-go units (MIP), each a ``define_<family>`` function, and
:func:`define_projects`, which adds the whole go/no-go part of a scenario to a model.

The units, their columns and pools are :mod:`engine.formulation.projects`. A coalition adds
``w[m,u]`` binaries (``stake``, ``commit``, ``coalition[u]``); dependencies
``needs[B,A]``, ``stage2_needs_stage1[app,year]``; ``exclusion[id]``; per-stage counts and
budgets ``stage_count[call,k,t]``, ``stage_budget[call,k,t]``; shared resources
``capacity[r,t]``; area coalitions; industrial return ``industrial_return[rule,m]``; burden
sharing ``burden_min/burden_max[rule,m]``. Every row is named after the domain and is hard
(not relaxed by the infeasibility diagnosis).
"""

from __future__ import annotations

from engine.formulation.core import ModelBuilder, Row
from engine.formulation.projects import (
    ProjectMaps,
    Unit,
    build_units,
    define_area_pools,
    define_member_shares,
    define_units,
    funders,
)


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
            for m in funders(model, u):
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
            funded, need = maps.funded(u.key), rule.min_amount / model.scale
            # All or nothing, the funded share is the go column itself: one term, for a
            # column named twice in a row makes HiGHS refuse the whole model.
            terms = (
                [(go, u.total_cost / model.scale - need)]
                if funded == go
                else [(funded, u.total_cost / model.scale), (go, -need)]
            )
            model.add_row(Row(f"coalition_amount[{u.key}]", "coalition_amount"), terms, 1, 0.0)


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
