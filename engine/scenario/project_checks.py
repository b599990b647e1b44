"""Cross-checks of the go/no-go sections against the rest of the scenario."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine.scenario.projects import Project
from engine.scenario.schema import Scenario


def _unknown(where: str, refs: list[str], known: set[str], kind: str) -> list[str]:
    return [
        f"{where}: unknown {kind} {r!r} (known: {', '.join(sorted(known)) or 'none'})"
        for r in refs
        if r not in known
    ]


def _check_coalition(where: str, project: Project) -> list[str]:
    """A coalition rule no plan could meet: stakes above 100%, or more money than the cost."""
    rule = project.coalition
    if rule is None:
        return []
    problems = []
    if rule.min_members is not None and rule.min_members * rule.min_stake > 1 + 1e-9:
        problems.append(
            f"{where}.coalition: {rule.min_members} members with at least "
            f"{rule.min_stake:.0%} each exceed 100% of the project; lower min_stake"
        )
    cost = sum(project.cost.values())
    if rule.min_amount is not None and rule.min_amount > cost * (1 + 1e-9):
        problems.append(
            f"{where}.coalition.min_amount: {rule.min_amount:,.0f} is above the "
            f"project's whole cost {cost:,.0f}, so it could never launch"
        )
    return problems


def _check_ids(scenario: Scenario) -> list[str]:
    ids = [p.id for p in scenario.projects] + [a.id for c in scenario.calls for a in c.applications]
    problems = [
        f"projects[{i}]: duplicate id {i!r} (project and application ids share one namespace)"
        for i, n in Counter(ids).items()
        if n > 1
    ]
    for kind, items in (
        ("calls", scenario.calls),
        ("exclusions", scenario.exclusions),
        ("resources", scenario.resources),
        ("industrial_return", scenario.industrial_return),
        ("burden_sharing", scenario.burden_sharing),
    ):
        problems += [
            f"{kind}[{i}]: duplicate id {i!r}"
            for i, n in Counter(x.id for x in items).items()
            if n > 1
        ]
    return problems


def _check_project_refs(scenario: Scenario, known: _Known) -> list[str]:
    problems: list[str] = []
    for p in scenario.projects:
        where = f"projects[{p.id}]"
        problems += _unknown(f"{where}.area", [p.area], known.areas, "area")
        problems += _unknown(f"{where}.members", p.members or [], known.members, "member")
        problems += _unknown(f"{where}.workshare", list(p.workshare), known.members, "member")
        problems += _unknown(f"{where}.needs", p.needs, known.projects, "project")
        problems += _unknown(f"{where}.uses", list(p.uses), known.resources, "resource")
        outside = [y for y in p.cost if y not in known.years]
        if outside:
            # One line per project: a shorter horizon cuts many profiles at once.
            problems.append(
                f"{where}.cost: {', '.join(map(str, outside))} outside the horizon "
                f"{scenario.fund.years[0]}-{scenario.fund.years[-1]}; a project is funded "
                "along its whole profile, so extend fund.years or remove the project"
            )
        if p.id in p.needs:
            problems.append(f"{where}.needs: a project cannot need itself")
        problems += _check_coalition(where, p)
    return problems


def _check_calls(scenario: Scenario, known: _Known) -> list[str]:
    problems: list[str] = []
    for c in scenario.calls:
        where = f"calls[{c.id}]"
        problems += _unknown(f"{where}.area", [c.area], known.areas, "area")
        for k, stage in enumerate(c.stages, start=1):
            problems += _unknown(
                f"{where}.stages[{k}].uses", list(stage.uses), known.resources, "resource"
            )
        for a in c.applications:
            here = f"{where}.applications[{a.id}]"
            if a.area is not None:
                problems += _unknown(f"{here}.area", [a.area], known.areas, "area")
            if a.year not in known.years:
                problems.append(f"{here}.year: {a.year} is outside the horizon")
            if len(a.value) != len(c.stages):
                problems.append(f"{here}.value: {len(a.value)} values for {len(c.stages)} stages")
            if a.request is not None:
                if len(a.request) != len(c.stages):
                    problems.append(
                        f"{here}.request: {len(a.request)} amounts for {len(c.stages)} stages"
                    )
                problems += [
                    f"{here}.request: {r:,.0f} for stage {k} is above the stage's grant "
                    f"{s.grant:,.0f}"
                    for k, (r, s) in enumerate(zip(a.request, c.stages, strict=False), start=1)
                    if r > s.grant
                ]
    return problems


def _check_rules(scenario: Scenario, known: _Known) -> list[str]:
    problems: list[str] = []
    for r in scenario.resources:
        if isinstance(r.capacity, dict):
            problems += [
                f"resources[{r.id}].capacity: year {y} is outside the horizon"
                for y in r.capacity
                if y not in known.years
            ]
    for e in scenario.exclusions:
        problems += _unknown(f"exclusions[{e.id}].projects", e.projects, known.projects, "project")
    for ac in scenario.area_coalitions:
        problems += _unknown("area_coalitions.area", [ac.area], known.areas, "area")
    problems += [
        f"area_coalitions[{a}]: more than one rule for the area"
        for a, n in Counter(ac.area for ac in scenario.area_coalitions).items()
        if n > 1
    ]
    for rule in scenario.industrial_return:
        where = f"industrial_return[{rule.id}]"
        problems += _unknown(f"{where}.projects", rule.projects or [], known.projects, "project")
        problems += _unknown(f"{where}.members", rule.members or [], known.members, "member")
    return problems


def _check_burden_sharing(scenario: Scenario, known: _Known) -> list[str]:
    problems: list[str] = []
    by_id = {p.id: p for p in scenario.projects}
    for share in scenario.burden_sharing:
        where = f"burden_sharing[{share.id}]"
        problems += _unknown(f"{where}.projects", share.projects, known.projects, "project")
        problems += _unknown(f"{where}.key", list(share.key), known.members, "member")
        for m in (m for m in scenario.members if m.id in share.key):
            for p in (by_id[p] for p in share.projects if p in by_id):
                if not m.joins(p.area) or (p.members is not None and m.id not in p.members):
                    problems.append(
                        f"{where}.key: {m.id} may not fund {p.id!r} (it left area "
                        f"{p.area!r} or is not among the project's members), so its key share "
                        "could never be met"
                    )
    return problems


@dataclass(frozen=True)
class _Known:
    """The ids the go/no-go sections may refer to."""

    areas: set[str]
    members: set[str]
    years: set[int]
    resources: set[str]
    projects: set[str]


def check_projects(scenario: Scenario) -> list[str]:
    """Problems with the project sections' references, years and ids (empty if none).

    Checks ids for duplicates, areas, members, projects and resources for existence,
    years against the fund's horizon and per-stage lists against the call's stages.
    """
    known = _Known(
        areas={a.id for a in scenario.areas},
        members={m.id for m in scenario.members},
        years=set(scenario.fund.years),
        resources={r.id for r in scenario.resources},
        projects={p.id for p in scenario.projects},
    )
    return (
        _check_ids(scenario)
        + _check_project_refs(scenario, known)
        + _check_calls(scenario, known)
        + _check_rules(scenario, known)
        + _check_burden_sharing(scenario, known)
    )
