"""The allocation report: where the fund's money goes, who pays for what, what binds.

:func:`allocation_report` solves a scenario (and a baseline, if given, with the plan
tie-broken to stay closest to the baseline so that only the edit's consequences show)
and returns a :class:`~reports.document.Report` for ``reports.html``, ``reports.pdf``
and ``reports.excel``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine import (
    UNIT_FACTORS,
    Comparison,
    Resolver,
    Result,
    Scenario,
    SolverOptions,
    compare,
    money,
    project_totals,
    sensitivity,
)
from reports import charts
from reports.document import (
    Chart,
    Report,
    Section,
    Table,
    engine_version,
    generated_at,
    in_unit,
    sha256_files,
)
from reports.members import members_section
from reports.sources import scenario_note, scenario_source

#: Members named in the flow diagram; the rest are grouped as "other members".
FLOW_MEMBERS = 12
#: Projects (or grant stages) listed in the HTML/PDF; all are in the Excel workbook.
MAX_PROJECT_ROWS = 40
#: Binding constraints listed in the HTML/PDF (all of them are in the Excel workbook).
MAX_BINDING_ROWS = 20


@dataclass(frozen=True)
class Inputs:
    """Where a report's scenarios came from, for its sources and reproducibility section."""

    scenario: Scenario
    path: Path
    edits: tuple[str, ...] = ()
    base: Scenario | None = None
    base_path: Path | None = None
    command: str = ""


class _Fmt:
    """Formats amounts (currency units) in the fund's unit."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.factor = UNIT_FACTORS[scenario.fund.unit]
        self.unit = f"{scenario.fund.currency} {scenario.fund.unit}"
        self.suffix = scenario.fund.unit
        # Money formatters say which unit their column is in: a workbook sheet then holds
        # the column's numbers in the fund's unit, with the unit in its header.
        self.money = in_unit(lambda amount: money(amount, self.scenario), self)
        self.signed = in_unit(
            lambda amount: ("+" if amount > 0 else "") + money(amount, self.scenario), self
        )

    def scaled(self, amounts: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        return amounts / self.factor


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _area_names(scenario: Scenario) -> dict[str, str]:
    return {a.id: a.name or a.id for a in scenario.areas}


def _member_names(scenario: Scenario) -> dict[str, str]:
    return {m.id: m.name or m.id for m in scenario.members}


def _file_notes(path: Path) -> list[str]:
    """The comment block at the top of a YAML scenario: its authors' stated assumptions."""
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines).strip()
    return [f"From the scenario file: {text}"] if text else []


def _area_order(result: Result) -> list[str]:
    totals = result.areas.groupby("area", sort=False)["amount"].sum()
    return totals.sort_values(ascending=False, kind="stable").index.tolist()


def _areas_section(result: Result, fmt: _Fmt, palette: dict[str, str]) -> Section:
    sc = result.scenario
    order = _area_order(result)
    pivot = result.areas.pivot(index="area", columns="year", values="amount").loc[order]
    years = [int(y) for y in pivot.columns]
    names = _area_names(sc)
    by_year = fmt.scaled(pivot.T)
    by_year.columns = [str(c) for c in by_year.columns]
    chart = Chart(
        "allocation-by-area",
        "Allocation by area and year",
        charts.stacked_bars(
            by_year, f"Allocation by area and year ({fmt.unit})", fmt.suffix, palette
        ),
        "Each column is one year's allocation, split by capability area.",
        "allocation-by-area",
    )
    total = pivot.sum(axis=1)
    frame = pd.DataFrame({"area": order, "name": [names[a] for a in order]})
    for y in years:
        frame[str(y)] = fmt.scaled(pivot[y]).to_numpy()
    frame["total"] = fmt.scaled(total).to_numpy()
    frame["share"] = (total / total.sum()).to_numpy()
    totals_row = {"area": "total", "name": "", **{str(y): frame[str(y)].sum() for y in years}}
    totals_row |= {"total": frame["total"].sum(), "share": 1.0}
    frame = pd.concat([frame, pd.DataFrame([totals_row])], ignore_index=True)
    number = {str(y): (lambda v: f"{v:,.2f}") for y in years}
    table = Table.of(
        "allocation-by-area",
        f"Allocation by area and year ({fmt.unit})",
        frame,
        {**number, "total": lambda v: f"{v:,.2f}", "share": _pct},
        "Share: the area's part of the whole horizon's allocation.",
    )
    top = order[:3]
    text = (
        f"Over {years[0]}-{years[-1]} the plan allocates "
        f"{fmt.money(total.sum())}. The largest areas are "
        + ", ".join(f"{names[a]} ({fmt.money(total[a])})" for a in top)
        + "."
    )
    return Section("areas", "Allocation by area and year", (text,), (chart,), (table,))


def _flows_section(result: Result, fmt: _Fmt, palette: dict[str, str]) -> Section:
    sc = result.scenario
    names = _member_names(sc)
    flows = result.allocation.groupby(["member", "area"], as_index=False)["amount"].sum()
    by_member = flows.groupby("member")["amount"].sum().sort_values(ascending=False)
    named = by_member.index[:FLOW_MEMBERS].tolist()
    others = by_member.index[FLOW_MEMBERS:].tolist()
    label = {m: names[m] for m in named}
    label |= {m: f"{len(others)} other members" for m in others}
    shown = flows.assign(source=flows["member"].map(label), target=flows["area"])
    shown = shown.groupby(["source", "target"], as_index=False, sort=False)["amount"].sum()
    source_order = [names[m] for m in named] + ([label[others[0]]] if others else [])
    target_order = _area_order(result)
    shown["s"] = shown["source"].map(source_order.index)
    shown["t"] = shown["target"].map(target_order.index)
    shown = shown.sort_values(["s", "t"]).rename(columns={"amount": "value"})
    chart = Chart(
        "member-area-flows",
        "From members to areas",
        charts.flow_diagram(
            shown[["source", "target", "value"]],
            f"From members to areas, {sc.fund.years[0]}-{sc.fund.years[-1]}",
            fmt.money,
            palette,
        ),
        f"Band widths are proportional to money over the horizon; the {FLOW_MEMBERS} "
        "largest contributors are named. Hover a band for its amount.",
        "member-area-flows",
    )
    matrix = flows.pivot(index="member", columns="area", values="amount").fillna(0.0)
    # reindex: an area nobody funds (e.g. a go/no-go area without a package) shows 0.
    matrix = matrix.reindex(index=by_member.index, columns=target_order, fill_value=0.0)
    matrix = fmt.scaled(matrix).reset_index()
    table = Table.of(
        "member-area-flows",
        f"Member-to-area flows over the horizon ({fmt.unit})",
        matrix,
        {a: (lambda v: f"{v:,.2f}" if v else "") for a in target_order},
    )
    text = (
        "Each member's money goes only to the areas it joined. The diagram shows where each "
        "member's contributions go over the whole horizon; the table gives every flow."
    )
    return Section("flows", "Who funds what", (text,), (chart,), (table,))


def _members_section(result: Result, fmt: _Fmt) -> Section:
    sc = result.scenario
    names = _member_names(sc)
    per = result.members.groupby("member", sort=False)[["pledged", "allocated", "unspent"]].sum()
    per = per.sort_values("pledged", ascending=False, kind="stable")
    total = per["allocated"].sum()
    frame = pd.DataFrame(
        {
            "member": per.index,
            "name": [names[m] for m in per.index],
            "pledged": fmt.scaled(per["pledged"]).to_numpy(),
            "allocated": fmt.scaled(per["allocated"]).to_numpy(),
            "unspent": fmt.scaled(per["unspent"]).to_numpy(),
            "share of fund": (per["allocated"] / total if total else per["allocated"]).to_numpy(),
            "left out of": [
                ", ".join(a.id for a in sc.areas if not sc.member(m).joins(a.id)) for m in per.index
            ],
        }
    )
    number = lambda v: f"{v:,.3f}"  # noqa: E731
    table = Table.of(
        "members",
        f"Members over the horizon: pledged, allocated, unspent ({fmt.unit})",
        frame,
        {"pledged": number, "allocated": number, "unspent": number, "share of fund": _pct},
        "Left out of: the areas a member does not fund (opted out, or not opted in).",
    )
    top = frame[frame["pledged"] > 0].head(15)
    chart = Chart(
        "members-pledged-allocated",
        "Pledged and allocated by member",
        charts.horizontal_bars(
            top.assign(label=top["name"]),
            "label",
            {"pledged": "#a9a9a9", "allocated": "#1f4e79"},
            f"Pledged and allocated over the horizon, {len(top)} largest members ({fmt.unit})",
            fmt.suffix,
        ),
        "Grey: pledged; blue: allocated. A gap is money left unspent.",
        "members",
    )
    unspent = per["unspent"].sum()
    zero = [names[m] for m in per.index if per.loc[m, "pledged"] == 0]
    text = [
        f"Members pledge {fmt.money(per['pledged'].sum())} over the horizon; the plan "
        f"allocates {fmt.money(total)} and leaves {fmt.money(unspent)} unspent."
    ]
    if zero:
        text.append(f"Pledging nothing (and so funding nothing): {', '.join(zero)}.")
    return Section(
        "members", "Members: pledged, allocated, unspent", tuple(text), (chart,), (table,)
    )


def _projects_section(result: Result, fmt: _Fmt) -> Section:
    """Go/no-go decisions: which projects (or grant stages) are funded, and by whom."""
    frame = project_totals(result.projects).rename(columns={"needed_value": "needed"})
    frame["stage"] = frame["stage"].astype("object").where(frame["stage"].notna(), "")
    funded, items = int(frame["funded"].sum()), len(frame)
    backers = result.project_members.groupby(["project", "member"], sort=False)["amount"].sum()
    funders = {}
    for project, per in backers.groupby(level=0, sort=False):
        per = per.droplevel(0).sort_values(ascending=False)
        total = per.sum()
        funders[project] = ", ".join(
            f"{m} {v / total:.0%}" for m, v in per.head(5).items() if total > 0 and v > 0
        ) + (f" and {len(per) - 5} more" if len(per) > 5 else "")
    frame["decision"] = [
        ("funded" if s >= 1 - 1e-6 else f"funded at {s:.0%}") if f else "not funded"
        for f, s in zip(frame["funded"], frame["share"], strict=True)
    ]
    frame["funded by"] = [funders.get(p, "") for p in frame["project"]]
    frame["cost"] = fmt.scaled(frame["cost"])
    frame["amount"] = fmt.scaled(frame["amount"])
    columns = ["project", "call", "stage", "area", "decision", "cost", "amount", "value"]
    columns += ["needed", "funded by"]
    frame = frame[[c for c in columns if c not in ("call", "stage") or frame[c].ne("").any()]]
    frame = frame.rename(
        columns={
            "cost": f"cost ({fmt.unit})",
            "amount": f"funded ({fmt.unit})",
            "value": "value points",
            "needed": "extra value needed",
        }
    )
    number = lambda v: f"{v:,.3f}"  # noqa: E731
    text = (
        f"{funded} of {items} go/no-go items are funded. 'Extra value needed' is how "
        "much more value an unfunded item would need to be chosen (given for the closest "
        "candidates). 'Funded by' names the largest contributors to jointly funded items.",
    )
    table = Table.of(
        "projects",
        "Projects and grants: go or no-go",
        frame.head(MAX_PROJECT_ROWS),
        {
            f"cost ({fmt.unit})": number,
            f"funded ({fmt.unit})": number,
            "value points": lambda v: f"{v:.3g}",
            "extra value needed": lambda v: f"{v:.3g}",
        },
        f"The first {MAX_PROJECT_ROWS} of {len(frame)}; all are in the Excel workbook."
        if len(frame) > MAX_PROJECT_ROWS
        else "",
    )
    return Section("projects", "Projects and grants: go or no-go", text, (), (table,))


def _binding_table(result: Result, fmt: _Fmt) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binding constraints with shadow prices, members' budgets grouped per year and price."""
    sens = sensitivity(result.scenario)
    rows = sens.constraints.merge(
        result.constraints[["name", "member", "year"]], on="name", how="left"
    )
    per_unit = rows["shadow_price"].astype(float) * fmt.factor  # float even when empty
    one = fmt.money(fmt.factor)
    grouped = []
    budgets = rows[rows["kind"] == "budget"].assign(price=per_unit.round(4))
    for (year, price), group in budgets.groupby(["year", "price"], sort=False):
        verb = "adds" if price >= 0 else "costs"
        grouped.append(
            {
                "constraint": f"budgets of {len(group)} members in {int(year)}",
                "kind": "budget",
                "per_unit": price,
                "meaning": f"each extra {one} pledged in {int(year)} by any of them {verb} "
                f"{abs(price):.3g} value points",
            }
        )
    for row, price in zip(rows.itertuples(index=False), per_unit, strict=True):
        if row.kind != "budget":
            grouped.append(
                {
                    "constraint": row.label,
                    "kind": row.kind,
                    "per_unit": price,
                    "meaning": row.text,
                }
            )
    frame = pd.DataFrame(grouped, columns=["constraint", "kind", "per_unit", "meaning"])
    frame = frame.reindex(frame["per_unit"].abs().sort_values(ascending=False).index)
    frame = frame.rename(columns={"per_unit": f"value points per {one}"}).reset_index(drop=True)
    areas = sens.areas[["area", "priority", "priority_from", "priority_to", "text"]]
    return frame, areas


def _constraints_section(frame: pd.DataFrame, areas: pd.DataFrame, fmt: _Fmt) -> Section:
    """Binding constraints (``frame``, see :func:`_binding_table`) and priority ranges."""
    price_col = frame.columns[2]
    table = Table.of(
        "binding-constraints",
        "Binding constraints and their shadow prices",
        frame.head(MAX_BINDING_ROWS),
        {price_col: lambda v: f"{v:+.3g}"},
        (
            f"The {MAX_BINDING_ROWS} with the largest prices of {len(frame)}; all are in the "
            "Excel workbook."
            if len(frame) > MAX_BINDING_ROWS
            else ""
        ),
    )
    ranges = Table.of(
        "priority-ranges",
        "How far each area's priority can move before its funding changes",
        areas.rename(columns={"text": "meaning"}),
        {"priority_from": lambda v: f"{v:.3g}", "priority_to": lambda v: f"{v:.3g}"},
    )
    paragraphs = (
        "A constraint binds when the plan is pushed against it. Its shadow price says what "
        f"relaxing it by {fmt.money(fmt.factor)} would add to the plan's value (or cost, when "
        "negative), in value points: funding weighted by each area's priority with "
        "diminishing returns. Value points compare plans; they are not money.",
        "A floor with a negative price costs value: it forces money into an area that the "
        "priorities alone would fund less. A budget with a positive price means more "
        "money from that member would be put to good use.",
    )
    return Section("constraints", "What limits the plan", paragraphs, (), (table, ranges))


def _diff_section(cmp: Comparison, base: Result, new: Result, fmt: _Fmt, base_name: str) -> Section:
    names = _area_names(new.scenario)
    if base.ok and new.ok:
        change = cmp.value_change
        text = [
            f"Against {base_name}, the plan's value changes by {change:+.2f} points "
            f"({cmp.value_before:,.2f} to {cmp.value_after:,.2f}); total allocated goes from "
            f"{fmt.money(base.summary['total_allocated'])} to "
            f"{fmt.money(new.summary['total_allocated'])}."
        ]
    else:
        text = [f"Status: {cmp.status_before} in {base_name}, {cmp.status_after} here."]
    text.append(
        "Among equally good plans, this one is the closest to the baseline, so the "
        "differences below come from the changed inputs, not from the solver's choice."
    )
    charts_: list[Chart] = []
    tables: list[Table] = []
    if cmp.areas.empty and cmp.members.empty:
        text.append("The allocation is the same as in the baseline.")
    else:
        per_area = cmp.areas.groupby("area")["change"].sum()
        per_area = per_area[per_area.abs() > 0].sort_values(key=abs, ascending=False)
        per_area.index = [names.get(a, a) for a in per_area.index]
        charts_.append(
            Chart(
                "diff-areas",
                "Change by area",
                charts.diverging_bars(
                    fmt.scaled(per_area),
                    f"Change by area over the horizon ({fmt.unit})",
                    fmt.suffix,
                ),
                "Green: more than in the baseline; red: less.",
                "diff-areas",
            )
        )
        amount = {"before": fmt.money, "after": fmt.money, "change": fmt.signed}
        visible = cmp.areas[cmp.areas["change"].abs() >= fmt.factor * 5e-4]
        tables.append(Table.of("diff-areas", "Areas: changes by year", visible, amount))
        members = cmp.members.groupby("member", as_index=False)[["before", "after", "change"]].sum()
        members = members.reindex(members["change"].abs().sort_values(ascending=False).index)
        members = members[members["change"].abs() >= fmt.factor * 5e-4]  # below: not shown
        tables.append(
            Table.of(
                "diff-members",
                "Members: change in allocation over the horizon",
                members.reset_index(drop=True),
                amount,
            )
        )
    if not cmp.binding.empty:
        flips = cmp.binding[["label", "status"]].rename(columns={"label": "constraint"})
        tables.append(
            Table.of("diff-binding", "Constraints that started or stopped binding", flips)
        )
    if not cmp.shadow_prices.empty:
        prices = cmp.shadow_prices[["label", "before", "after", "change"]].head(MAX_BINDING_ROWS)
        per_unit = {
            c: in_unit(lambda v: f"{v * fmt.factor:+.3g}", fmt, f"points per {fmt.unit}")
            for c in ("before", "after", "change")
        }
        prices = prices[(prices["change"] * fmt.factor).abs() >= 5e-4]  # shown as +0.000 below
        tables.append(
            Table.of(
                "diff-shadow-prices",
                f"Shadow prices that changed (value points per {fmt.money(fmt.factor)})",
                prices.rename(columns={"label": "constraint"}),
                per_unit,
            )
        )
    return Section("diff", f"Compared with {base_name}", tuple(text), tuple(charts_), tuple(tables))


def _diagnosis_section(result: Result, fmt: _Fmt) -> Section:
    text = (
        f"No plan: {result.summary.get('message') or result.status.value}.",
        "The smallest changes that would make the scenario feasible are listed below; any "
        "one of them is enough.",
    )
    frame = result.diagnosis
    tables: tuple[Table, ...] = ()
    if not frame.empty:
        shown = frame[["message", "relax_by"]].rename(columns={"message": "change"})
        tables = (Table.of("diagnosis", "To make it feasible", shown, {"relax_by": fmt.money}),)
    return Section("diagnosis", "Why there is no plan", text, (), tables)


def _facts(result: Result, fmt: _Fmt) -> tuple[tuple[str, str], ...]:
    sc = result.scenario
    years = f"{sc.fund.years[0]}-{sc.fund.years[-1]}"
    pledged = result.members["pledged"].sum() if not result.members.empty else float("nan")
    facts = [
        ("Horizon", years),
        ("Members / areas", f"{len(sc.members)} / {len(sc.areas)}"),
        ("Status", result.status.value),
    ]
    if result.ok:
        facts += [
            ("Pledged", fmt.money(pledged)),
            ("Allocated", fmt.money(result.summary["total_allocated"])),
            ("Unspent", fmt.money(result.members["unspent"].sum())),
            ("Value", f"{result.objective:,.1f} points"),
        ]
    return tuple(facts)


def _assumptions(inputs: Inputs) -> tuple[str, ...]:
    sc = inputs.scenario
    notes = [
        *scenario_note(inputs.path.name),
        "The plan maximises the priority-weighted value of funding with diminishing returns "
        f"(each area's value curve), discounted at {sc.objective.discount_rate * 100:g}% a year.",
        "Unspent money carries over to the next year."
        if sc.fund.carry_over
        else "Unspent money does not carry over to the next year.",
        "Each member funds only the areas it joined; one member's opt-out never blocks others.",
        f"Amounts are in {sc.fund.currency}, shown in {sc.fund.unit}.",
    ]
    if inputs.edits:
        notes.append("Edits applied to the scenario file: " + "; ".join(inputs.edits) + ".")
    notes += _file_notes(inputs.path)
    if inputs.base_path is not None:
        notes += [f"Baseline: {n}" for n in _file_notes(inputs.base_path)]
    return tuple(notes)


def allocation_report(inputs: Inputs, resolver: Resolver | None = None) -> tuple[Report, Result]:
    """Solve the scenario (and the baseline, if any) and build the allocation report.

    Returns the report and the scenario's result (whose status decides the exit code).
    Raises EngineError subclasses for solver problems; an infeasible scenario gives a
    report that explains why, not an error.
    """
    # The report shows how far unselected projects are from the line: compute margins.
    resolver = resolver or Resolver(SolverOptions(project_margins=True))
    sc = inputs.scenario
    base_result = resolver.solve(inputs.base) if inputs.base is not None else None
    reference = base_result.allocation if base_result is not None and base_result.ok else None
    result = resolver.solve(sc, reference=reference)
    fmt = _Fmt(sc)
    palette = charts.colours([a.id for a in sc.areas])
    sections: list[Section] = []
    data: dict[str, pd.DataFrame] = {}
    if result.ok:
        sections.append(_areas_section(result, fmt, palette))
        sections.append(_flows_section(result, fmt, palette))
        sections.append(_members_section(result, fmt))
        sections.append(members_section(result))  # reports.members: coalition
        if not result.projects.empty:
            sections.append(_projects_section(result, fmt))
            data["project-members"] = result.project_members.assign(
                amount=fmt.scaled(result.project_members["amount"])
            ).rename(columns={"amount": f"amount ({fmt.unit})"})
        binding, priority_ranges = _binding_table(result, fmt)
        sections.append(_constraints_section(binding, priority_ranges, fmt))
        data["binding-constraints-all"] = binding
        data["allocation"] = result.allocation.assign(
            amount=fmt.scaled(result.allocation["amount"])
        ).rename(columns={"amount": f"amount ({fmt.unit})"})
    else:
        sections.append(_diagnosis_section(result, fmt))
    if base_result is not None and inputs.base_path is not None:
        base_name = inputs.base_path.name
        sections.append(
            _diff_section(compare(base_result, result), base_result, result, fmt, base_name)
        )
    paths = [inputs.path] + ([inputs.base_path] if inputs.base_path else [])
    sources = scenario_source(_stem(inputs.path), str(inputs.path))
    if inputs.base_path is not None:
        sources += tuple(
            s
            for s in scenario_source(_stem(inputs.base_path), str(inputs.base_path))
            if s not in sources
        )
    provenance = (
        ("engine version", engine_version()),
        ("generated at (UTC)", generated_at()),
        ("inputs sha256", sha256_files(paths, {"edits": list(inputs.edits)})),
        ("scenario sha256 (validated)", str(result.summary.get("scenario_sha256", ""))),
        ("solver", f"{result.summary.get('solver', '')}, status {result.status.value}"),
        ("command", inputs.command),
    )
    years = f"{sc.fund.years[0]}-{sc.fund.years[-1]}"
    report = Report(
        title=f"{sc.fund.name}: allocation plan {years}",
        subtitle=f"Scenario {inputs.path.name}"
        + (f", compared with {inputs.base_path.name}" if inputs.base_path else ""),
        facts=_facts(result, fmt),
        sections=tuple(sections),
        assumptions=_assumptions(inputs),
        sources=sources,
        provenance=provenance,
        data=data,
    )
    return report, result


def _stem(path: Path) -> str:
    return re.sub(r"\.(ya?ml|json|xlsx)$", "", path.name, flags=re.IGNORECASE)
