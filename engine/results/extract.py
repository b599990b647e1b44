"""Read a solved model's arrays into the result's frames (see :mod:`engine.results.schema`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analysis.diagnose import diagnose
from engine.coalition.priorities import area_priorities
from engine.formulation.core import INF, PlanModel, discount_factors, flow_index
from engine.results.projects import project_frames, project_summary
from engine.results.schema import MEMBERS, PlanArrays, Result, Summary, empty_frame
from engine.results.tolerance import reported_total, within_budgets
from engine.scenario.schema import Area, scenario_sha256
from engine.solving.backends import Solution, SolveStatus, stop_message

#: Money below this many model units (e.g. $1,000 when the unit is bn) counts as zero.
ZERO = 1e-6


def curve_value(area: Area, amount: float, scale: float) -> float:
    """Value points (before priority and discount) of funding ``area`` with ``amount``
    currency units; marginals are per ``scale`` currency units (the fund's unit)."""
    units = amount / scale
    if area.value_curve is None:
        return units
    value, start = 0.0, 0.0
    for seg in area.value_curve:
        end = INF if seg.up_to is None else seg.up_to / scale
        piece = min(units, end) - start
        if piece <= 0:
            break
        value += piece * seg.marginal
        start = end
    return value


def extract(
    model: PlanModel,
    duals: Solution,
    plan: Solution,
    build_seconds: float,
    content_sha256: str | None = None,
) -> Result:
    """Turn solver arrays into the result's frames (duals from the value-maximising solve,
    flows from the tie-broken plan). ``content_sha256`` is the scenario's
    :func:`scenario_sha256` when the caller has it already."""
    sc = model.scenario
    summary = _summary(model, plan, build_seconds, content_sha256)
    if plan.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return _no_plan(model, plan, summary)

    value = within_budgets(model, plan.col_value)  # never more allocated than pledged
    flows, nz = allocation_columns(model, value)
    allocation = pd.DataFrame({k: _plain(v) for k, v in flows.items()})
    areas = _area_frame(model, value)
    members = _member_frame(model, value, flows["amount"], nz)
    constraints = constraint_frame(model, plan.row_value, duals.row_dual)
    objective = float(duals.objective)
    summary["objective"] = objective
    summary["total_allocated"] = reported_total(model, float(allocation["amount"].sum()))
    if plan.status is SolveStatus.FEASIBLE:
        summary["message"] = stop_message(plan)
    projects, project_members = project_frames(model, value)
    summary.update(project_summary(projects))
    if model.projects is not None:  # a MIP: its gap (None when no bound was reached)
        summary["mip_gap"] = plan.mip_gap
        summary["proven_optimal"] = plan.status is SolveStatus.OPTIMAL
        if plan.status is SolveStatus.FEASIBLE:
            gap = plan.mip_gap
            summary["message"] += (
                f" (MIP gap {gap:.2%})" if gap is not None else " (MIP gap unknown: no bound yet)"
            )
    return Result(
        sc,
        plan.status,
        objective,
        allocation,
        areas,
        members,
        constraints,
        summary,
        projects=projects,
        project_members=project_members,
        arrays=PlanArrays(plan.col_value, plan.row_value, duals.col_dual, duals.row_dual),
    )


def _summary(
    model: PlanModel, plan: Solution, build_seconds: float, content_sha256: str | None
) -> Summary:
    """The summary's fields known before the plan is read (objective None, nothing
    allocated yet)."""
    sc = model.scenario
    return {
        "status": plan.status.value,
        "objective": None,
        "total_allocated": 0.0,
        "solver": plan.solver,
        "solver_status": plan.solver_status,
        "solve_seconds": round(plan.seconds, 6),
        "build_seconds": round(build_seconds, 6),
        "scenario_sha256": content_sha256 or scenario_sha256(sc),
        "fund": sc.fund.name,
        "currency": sc.fund.currency,
        "unit": sc.fund.unit,
        "message": "",
    }


def _no_plan(model: PlanModel, plan: Solution, summary: Summary) -> Result:
    """The result of a solve without a plan: empty frames, the diagnosis when infeasible
    and a message that names the smallest change (or why the solver stopped)."""
    infeasible = plan.status is SolveStatus.INFEASIBLE
    diagnosis = diagnose(model) if infeasible else empty_frame("diagnosis")
    if not diagnosis.empty:
        steps = list(diagnosis["message"])
        more = f" (and {len(steps) - 3} more changes: see the diagnosis)" if len(steps) > 3 else ""
        summary["message"] = (
            "infeasible; the smallest change that makes the plan possible: "
            + "; and ".join(steps[:3])
            + more
        )
    else:
        summary["message"] = stop_message(plan)
    allocation, areas, members, constraints = _empty_frames()
    return Result(
        model.scenario,
        plan.status,
        float("nan"),
        allocation,
        areas,
        members,
        constraints,
        summary,
        diagnosis=diagnosis,
    )


def _area_frame(model: PlanModel, value: np.ndarray) -> pd.DataFrame:
    """The ``areas`` frame: funding, share and the value points of the area's own money
    (project money earns the projects' value, not the area's curve)."""
    sc = model.scenario
    scale = model.scale
    disc = discount_factors(sc)
    priority = area_priorities(sc)
    funding = area_funding_columns(model, value)
    curve = []
    pairs = ((a, t) for a in sc.areas for t in sc.fund.years)  # area_funding_columns' order
    for (a, t), f in zip(pairs, funding["amount"] / scale, strict=True):
        spent = sum(value[j] * c for j, c in model.project_spend.get((a.id, t), ()))
        curve.append(priority[a.id] * disc[t] * curve_value(a, max(f - spent, 0.0) * scale, scale))
    return pd.DataFrame({k: _plain(v) for k, v in funding.items()} | {"value": curve})


def _member_frame(
    model: PlanModel, value: np.ndarray, amounts: np.ndarray, nz: np.ndarray
) -> pd.DataFrame:
    """The ``members`` frame: every member and year, pledged, allocated (the flows'
    ``amounts``, mask ``nz`` over the model's flows), carried in and out, unspent."""
    sc = model.scenario
    scale = model.scale
    years = sc.fund.years
    _, member_of, year_of, _ = model.derived("flows", model.x, lambda: flow_index(model))
    given = np.zeros((len(sc.members), len(years)))
    np.add.at(given, (member_of[nz], year_of[nz]), amounts)
    rows = []
    for k, m in enumerate(sc.members):
        pledges = m.pledges
        for i, t in enumerate(years):
            carried = model.carry.get((m.id, years[i - 1])) if i else None
            cin = value[carried] if carried is not None else 0.0
            cout = value[model.carry[m.id, t]] if (m.id, t) in model.carry else 0.0
            allocated = float(given[k, i])
            unspent = max(pledges[t] + (cin - cout) * scale - allocated, 0.0)
            unspent = unspent if unspent >= ZERO * scale else 0.0
            rows.append((m.id, t, pledges[t], allocated, cin * scale, cout * scale, unspent))
    return pd.DataFrame(rows, columns=list(MEMBERS))


def _plain(values: np.ndarray) -> np.ndarray | list:
    """Object arrays as lists (so pandas infers int and str columns), numbers as they are."""
    return values.tolist() if values.dtype == object else values


def allocation_columns(
    model: PlanModel, value: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The non-zero flows of a solution as columns ``member``, ``area``, ``year`` (object
    arrays) and ``amount`` (currency units), and which of the model's flows they are (a
    mask in :func:`engine.formulation.core.flow_index` order)."""
    cols = model.derived("flows", model.x, lambda: flow_index(model))[0]
    keys = model.derived("flow_keys", model.x, lambda: np.array(list(model.x), dtype=object))
    amounts = value[cols] if len(cols) else np.zeros(0)
    nz = amounts > ZERO
    chosen = keys[nz] if len(cols) else np.zeros((0, 3), dtype=object)
    return {
        "member": chosen[:, 0],
        "area": chosen[:, 1],
        "year": chosen[:, 2],
        "amount": amounts[nz] * model.scale,
    }, nz


def _funding_index(model: PlanModel) -> tuple[np.ndarray, ...]:
    sc = model.scenario
    years = sc.fund.years
    pairs = [(a.id, t) for a in sc.areas for t in years]
    return (
        np.array([model.funding[p] for p in pairs], dtype=int),
        np.array([model.total[t] for _, t in pairs], dtype=int),
        np.array([a for a, _ in pairs], dtype=object),
        np.array([t for _, t in pairs], dtype=object),
    )


def area_funding_columns(model: PlanModel, value: np.ndarray) -> dict[str, np.ndarray]:
    """Every area in every year (areas in scenario order, years inner): ``area``, ``year``,
    ``amount`` (currency units, tiny amounts as 0) and ``share`` of the year's total (0 when
    nothing is allocated that year)."""
    funding, total, area, year = model.derived("funding", model.x, lambda: _funding_index(model))
    f = np.maximum(value[funding], 0.0)
    f[f <= ZERO] = 0.0
    t = np.maximum(value[total], 0.0)
    share = np.divide(f, t, out=np.zeros_like(f), where=t > ZERO)
    return {"area": area, "year": year, "amount": f * model.scale, "share": share}


def _slack(model: PlanModel, activity: np.ndarray) -> np.ndarray:
    """Each row's distance to its nearest finite bound (model units; NaN when free)."""
    lo = np.asarray(model.row_lo, dtype=float)
    hi = np.asarray(model.row_hi, dtype=float)
    act = np.asarray(activity[: model.n_rows])
    slack = np.minimum(np.where(lo > -INF, act - lo, INF), np.where(hi < INF, hi - act, INF))
    return np.where(np.isfinite(slack), np.maximum(slack, 0.0), np.nan)


def binding_rows(model: PlanModel, activity: np.ndarray, row_dual: np.ndarray) -> np.ndarray:
    """Indices of the binding rows a planner set (not bookkeeping rows), largest |shadow
    price| first: what :meth:`Result.binding` lists, without building the frames."""
    planner = model.derived(
        "planner_rows",
        model.rows,
        lambda: np.array([not r.kind.bookkeeping for r in model.rows], dtype=bool),
    )
    binding = np.nan_to_num(_slack(model, activity), nan=INF) <= ZERO
    rows = np.flatnonzero(binding & planner)
    return rows[np.argsort(-np.abs(row_dual[rows]), kind="stable")]


def _row_columns(model: PlanModel) -> dict[str, object]:
    """The constraint frame's columns that depend only on the rows and names."""
    from engine.results.describe import describe_row

    rows = model.rows
    policies = {p.id: p for p in model.scenario.policies}
    return {
        "name": [r.name for r in rows],
        "kind": [r.kind.value for r in rows],
        "label": [describe_row(r, model.scenario, policies) for r in rows],
        "area": [r.area for r in rows],
        "member": [r.member for r in rows],
        "year": pd.array([r.year for r in rows], dtype="Int64"),
        "policy": [r.policy for r in rows],
    }


def constraint_frame(model: PlanModel, activity: np.ndarray, row_dual: np.ndarray) -> pd.DataFrame:
    """One line per row: activity, bounds and slack in money, shadow price per currency unit."""
    scale = model.scale
    lo = np.asarray(model.row_lo, dtype=float)
    hi = np.asarray(model.row_hi, dtype=float)
    act = np.asarray(activity[: model.n_rows])
    slack = _slack(model, activity)
    static = model.derived("constraint_columns", model.rows, lambda: _static_columns(model))
    return pd.DataFrame(
        {
            **static,
            "activity": act * scale,
            "lower": lo * scale,
            "upper": hi * scale,
            "slack": slack * scale,
            "shadow_price": row_dual[: model.n_rows] / scale,
            "binding": np.nan_to_num(slack, nan=INF) <= ZERO,
        },
        copy=False,
    )


def _static_columns(model: PlanModel) -> dict[str, pd.Series]:
    frame = pd.DataFrame(_row_columns(model))
    return {name: frame[name] for name in frame.columns}


def _empty_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        empty_frame("allocation"),
        empty_frame("areas"),
        empty_frame("members"),
        empty_frame("constraints"),
    )
