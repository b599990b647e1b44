"""One visible pipeline: build, solve, break ties, extract. ``solve(scenario) -> Result``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from engine.model import INF, PlanModel, build_model, discount_factors
from engine.project_model import share_reference
from engine.project_results import project_frames, project_summary
from engine.project_solve import solve_integers, with_mip
from engine.result import BOOKKEEPING, Result
from engine.scenario import Area, Scenario
from engine.solvers import (
    Solution,
    SolverOptions,
    SolveStatus,
    check_solver,
    solve_cbc,
)

#: Money below this many model units (e.g. $1,000 when the unit is bn) counts as zero.
ZERO = 1e-6
#: Reduced costs and duals (relative to the largest objective coefficient) above this
#: pin a column at its bound or a row active in the tie-break's optimal face.
FACE_TOLERANCE = 1e-9
#: Distance (model units) within which a value counts as at its bound.
PRIMAL_TOLERANCE = 1e-7
#: Relative loss of value above which the tie-broken plan is refused.
VALUE_TOLERANCE = 1e-7


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of the scenario's content (canonical JSON)."""
    text = json.dumps(scenario.to_input(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _flow_index(model: PlanModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per flow: its column, member index, year index and area priority."""
    sc = model.scenario
    member = {m.id: i for i, m in enumerate(sc.members)}
    year = {t: i for i, t in enumerate(sc.fund.years)}
    priority = {a.id: a.priority for a in sc.areas}
    keys = list(model.x)
    return (
        np.fromiter(model.x.values(), dtype=int, count=len(keys)),
        np.array([member[m] for m, _, _ in keys], dtype=int),
        np.array([year[t] for _, _, t in keys], dtype=int),
        np.array([priority[a] for _, a, _ in keys], dtype=float),
    )


def pro_rata_reference(model: PlanModel) -> dict[int, float]:
    """Each member's yearly pledge split over its areas in proportion to priority."""
    sc = model.scenario
    cols, member, year, priority = model.derived("flows", model.x, lambda: _flow_index(model))
    years = sc.fund.years
    pledges = np.array([[p[t] for t in years] for p in (m.pledges for m in sc.members)])
    cell = member * len(years) + year
    w = np.bincount(cell, weights=priority, minlength=pledges.size)[cell]
    safe = np.where(w > 0, w, 1.0)
    ref = np.where(w > 0, pledges.ravel()[cell] / model.scale * priority / safe, 0.0)
    return dict(zip(cols.tolist(), ref.tolist(), strict=True)) | share_reference(model)


def allocation_targets(model: PlanModel, allocation: pd.DataFrame) -> dict[int, float]:
    """Flows (model units, by column) of an earlier result's allocation frame."""
    ref = dict.fromkeys(model.x.values(), 0.0)
    x, scale = model.x, model.scale
    keys = zip(
        allocation["member"].tolist(),
        allocation["area"].tolist(),
        allocation["year"].astype(int).tolist(),
        strict=True,
    )
    for key, amount in zip(keys, allocation["amount"].tolist(), strict=True):
        j = x.get(key)
        if j is not None:
            ref[j] = amount / scale
    return ref


def reference_from_allocation(model: PlanModel, allocation: pd.DataFrame) -> dict[int, float]:
    """Reference flows (model units) from an earlier result's allocation frame, and the
    members' shares of the funded joint projects."""
    return allocation_targets(model, allocation) | share_reference(model)


def _hash_unit(ids: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random number in [0, 1) per integer id (splitmix64 finaliser)."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(float) / float(1 << 53)


def face_bounds(
    model: PlanModel, first: Solution
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column and row bounds (model units) that confine ``model`` to the optimal face of
    ``first``: by complementary slackness every optimal plan keeps each column with a
    non-zero reduced cost at its bound and each row with a non-zero dual active."""
    x, d = first.col_value[: model.n_cols], first.col_dual[: model.n_cols]
    act, y = first.row_value[: model.n_rows], first.row_dual[: model.n_rows]
    lb, ub = np.array(model.col_lb, dtype=float), np.array(model.col_ub, dtype=float)
    lo, hi = np.array(model.row_lo, dtype=float), np.array(model.row_hi, dtype=float)
    tol = FACE_TOLERANCE * max(1.0, max((abs(c) for c in model.objective.values()), default=1.0))
    at_lb = (np.abs(d) > tol) & (np.abs(x - lb) <= PRIMAL_TOLERANCE)
    at_ub = (np.abs(d) > tol) & (np.abs(x - ub) <= PRIMAL_TOLERANCE) & ~at_lb
    ub[at_lb], lb[at_ub] = lb[at_lb], ub[at_ub]
    on_lo = (np.abs(y) > tol) & (np.abs(act - lo) <= PRIMAL_TOLERANCE)
    on_hi = (np.abs(y) > tol) & (np.abs(act - hi) <= PRIMAL_TOLERANCE) & ~on_lo
    hi[on_lo], lo[on_hi] = lo[on_lo], hi[on_hi]
    return lb, ub, lo, hi


@dataclass(frozen=True)
class TieBounds:
    """Bounds of the tie-break LP (model units) and how its columns map back to a plan.

    The LP measures each reference column ``x[j]`` from its target clipped to the face,
    ``x[j] = x0[j] + up[j] - down[j]``: column ``j`` of the LP is ``up[j]``, the extra
    columns after the model's are the ``down[j]``. Other columns keep their meaning.
    """

    col_lb: np.ndarray
    col_ub: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    #: The plan's values where the LP's are all zero (clipped targets, zero elsewhere).
    x0: np.ndarray
    #: Row activities of ``x0`` (the LP's rows are shifted by them).
    shift: np.ndarray


def _times(model: PlanModel, x: np.ndarray) -> np.ndarray:
    """Row activities ``A @ x`` of the model's CSR matrix."""
    starts = np.asarray(model.row_start)
    if not len(model.row_cols):
        return np.zeros(model.n_rows)
    terms = np.asarray(model.row_vals, dtype=float) * x[np.asarray(model.row_cols)]
    out = np.add.reduceat(np.append(terms, 0.0), starts[:-1])
    out[np.diff(starts) == 0] = 0.0
    return out


def tie_break_bounds(
    model: PlanModel, first: Solution, cols: np.ndarray, targets: np.ndarray
) -> TieBounds:
    """All bounds of the tie-break LP for reference ``targets`` on columns ``cols``
    (model units): the optimal face of ``first``, shifted to the targets clipped to it.

    Clipping is exact: for ``x`` within ``[lb, ub]`` and a target ``r`` beyond ``ub``,
    ``|x - r| = (r - ub) + |x - ub|``, a constant plus the distance to the clipped target.
    A warm re-solve pushes only these numbers.
    """
    lb, ub, lo, hi = face_bounds(model, first)
    clipped = np.clip(targets, lb[cols], ub[cols])
    x0 = np.zeros(model.n_cols)
    x0[cols] = clipped
    shift = _times(model, x0)
    col_lb, col_ub = lb - x0, ub - x0
    col_lb[cols] = 0.0
    with np.errstate(invalid="ignore"):  # inf - finite stays inf
        row_lo, row_hi = lo - shift, hi - shift
    return TieBounds(
        col_lb=np.concatenate([col_lb, np.zeros(len(cols))]),
        col_ub=np.concatenate([col_ub, clipped - lb[cols]]),
        row_lo=row_lo,
        row_hi=row_hi,
        x0=x0,
        shift=shift,
    )


def _reference_arrays(reference: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    cols = np.fromiter(reference.keys(), dtype=int, count=len(reference))
    return cols, np.fromiter(reference.values(), dtype=float, count=len(reference))


def tie_break_model(
    model: PlanModel,
    first: Solution,
    reference: dict[int, float],
    bounds: TieBounds | None = None,
) -> PlanModel:
    """Among the optimal plans of ``first``, the one closest (weighted L1) to ``reference``.

    The optimal plans are confined by :func:`face_bounds` (instead of a dense "value >=
    z*" row, which is slow and badly conditioned: 10 s instead of 0.4 s on the medium
    benchmark). Each reference column is split into its distance above and below the
    target (see :class:`TieBounds`; same rows as the model, one extra column per
    reference column, 4x faster cold and 1.5x warm than separate deviation rows) and the
    LP maximises ``-sum(w * (up + down))``. ``bounds`` are :func:`tie_break_bounds`'s for
    this reference (computed when not given). The model is copied; the original is
    unchanged.
    """
    import scipy.sparse as sp

    cols, targets = _reference_arrays(reference)
    bounds = bounds or tie_break_bounds(model, first, cols, targets)
    n = model.n_cols
    matrix = sp.csr_matrix(
        (
            np.asarray(model.row_vals, dtype=float),
            np.asarray(model.row_cols, dtype=np.int64),
            np.asarray(model.row_start, dtype=np.int64),
        ),
        shape=(model.n_rows, n),
    )
    tie = sp.hstack([matrix, -matrix[:, cols]], format="csr")
    tie.sort_indices()
    # Distinct, fixed weights make the closest plan unique (a plain L1 distance has ties
    # of its own), so warm and cold solves, and every solver, return the same plan. The
    # weights hash the column (splitmix64): weights linear in the column index tie again
    # on exchange cycles (+d on x[m,a], -d on x[m,b], -d on x[n,a], +d on x[n,b]).
    weight = -(1.0 + 1e-3 * _hash_unit(cols))
    down = n + np.arange(len(cols))
    objective = dict(zip(cols.tolist(), weight.tolist(), strict=True))
    objective.update(zip(down.tolist(), weight.tolist(), strict=True))
    return replace(
        model,
        col_names=[*model.col_names, *(f"down_{j}" for j in cols.tolist())],
        col_lb=bounds.col_lb,
        col_ub=bounds.col_ub,
        rows=list(model.rows),
        row_lo=bounds.row_lo,
        row_hi=bounds.row_hi,
        row_start=tie.indptr.astype(np.int64),
        row_cols=tie.indices.astype(np.int64),
        row_vals=tie.data,
        objective=objective,
        integer=set(),
        cache={},
    )


def break_ties(
    model: PlanModel,
    first: Solution,
    reference: pd.DataFrame | None,
    run: Callable[[PlanModel, Solution, dict[int, float], TieBounds], Solution],
    flows: dict[int, float] | None = None,
) -> Solution:
    """The plan of ``first`` moved to the optimal plan closest to ``reference`` (or to pro
    rata): ``run(model, first, targets, bounds)`` solves :func:`tie_break_model`'s LP for
    the targets (model units by column); ``first`` itself when that fails or would lose
    value beyond the solver's tolerance. ``flows`` are the reference's
    :func:`allocation_targets` when already known."""
    if first.status is not SolveStatus.OPTIMAL or model.scenario.objective.tie_break == "none":
        return first
    if reference is None:
        ref = pro_rata_reference(model)
    else:
        ref = (flows or allocation_targets(model, reference)) | share_reference(model)
    cols, targets = _reference_arrays(ref)
    bounds = tie_break_bounds(model, first, cols, targets)
    second = run(model, first, ref, bounds)
    if second.status is not SolveStatus.OPTIMAL:
        return first
    x = bounds.x0 + second.col_value[: model.n_cols]
    x[cols] -= second.col_value[model.n_cols :]
    value = sum(c * x[j] for j, c in model.objective.items())
    if value < first.objective - VALUE_TOLERANCE * max(1.0, abs(first.objective)):
        return first
    return replace(
        second,
        col_value=x,
        row_value=second.row_value[: model.n_rows] + bounds.shift,
        seconds=first.seconds + second.seconds,
    )


@dataclass(frozen=True)
class Solved:
    """A solve's arrays before they become a :class:`Result`: the model, the
    value-maximising solution (its duals are the shadow prices), the tie-broken plan (the
    flows), the seconds spent building the model and the scenario's hash when known."""

    model: PlanModel
    duals: Solution
    plan: Solution
    build_seconds: float
    content_sha256: str | None = None

    def result(self) -> Result:
        """The frames a planner reads (see :mod:`engine.result`)."""
        return extract(self.model, self.duals, self.plan, self.build_seconds, self.content_sha256)


def solve(
    scenario: Scenario,
    options: SolverOptions | None = None,
    reference: pd.DataFrame | None = None,
) -> Result:
    """Allocate the scenario's money; returns a :class:`Result` (never raises on infeasible).

    ``reference`` is an earlier allocation frame: among optimal plans the one closest to it
    is returned (a what-if's baseline); otherwise the closest to pro rata by priority.
    Raises SolverUnavailableError for an unknown or missing solver.
    """
    options = options or SolverOptions()
    check_solver(options.solver)
    if options.solver == "highs":
        from engine.resolve import Resolver

        return Resolver(options).solve(scenario, reference)
    start = time.perf_counter()
    model = build_model(scenario)
    build_seconds = time.perf_counter() - start
    model, mip = solve_integers(model, options)
    if mip is not None and model.integer:  # the MIP found no plan
        return extract(model, mip, mip, build_seconds)
    solution = solve_cbc(model, options)
    plan = break_ties(
        model,
        solution,
        reference,
        lambda m, first, ref, bounds: solve_cbc(tie_break_model(m, first, ref, bounds), options),
    )
    return extract(model, with_mip(solution, mip), with_mip(plan, mip), build_seconds)


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
    from engine.diagnose import diagnose

    sc = model.scenario
    scale = model.scale
    years = sc.fund.years
    summary = {
        "status": plan.status.value,
        "objective": None,
        "total_allocated": 0.0,
        "solver": plan.solver,
        "solve_seconds": round(plan.seconds, 6),
        "build_seconds": round(build_seconds, 6),
        "scenario_sha256": content_sha256 or scenario_sha256(sc),
        "fund": sc.fund.name,
        "currency": sc.fund.currency,
        "unit": sc.fund.unit,
        "message": "",
    }
    if plan.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        empty = _empty_frames()
        diagnosis = diagnose(model) if plan.status is SolveStatus.INFEASIBLE else pd.DataFrame()
        if not diagnosis.empty:
            steps = list(diagnosis["message"])
            more = (
                f" (and {len(steps) - 3} more changes: see the diagnosis)" if len(steps) > 3 else ""
            )
            summary["message"] = (
                "infeasible; the smallest change that makes the plan possible: "
                + "; and ".join(steps[:3])
                + more
            )
        else:
            summary["message"] = f"the solver stopped without a plan ({plan.status.value})"
        return Result(sc, plan.status, float("nan"), *empty, summary, diagnosis)

    value = plan.col_value
    flows, nz = allocation_columns(model, value)
    allocation = pd.DataFrame({k: _plain(v) for k, v in flows.items()})

    disc = discount_factors(sc)
    funding = area_funding_columns(model, value)
    curve = []
    pairs = ((a, t) for a in sc.areas for t in years)  # the order of area_funding_columns
    for (a, t), f in zip(pairs, funding["amount"] / scale, strict=True):
        # Project money earns the projects' value, not the area's curve.
        spent = sum(value[j] * c for j, c in model.project_spend.get((a.id, t), ()))
        curve.append(a.priority * disc[t] * curve_value(a, max(f - spent, 0.0) * scale, scale))
    areas = pd.DataFrame({k: _plain(v) for k, v in funding.items()} | {"value": curve})

    _, member_of, year_of, _ = model.derived("flows", model.x, lambda: _flow_index(model))
    given = np.zeros((len(sc.members), len(years)))
    np.add.at(given, (member_of[nz], year_of[nz]), flows["amount"])
    member_rows = []
    for k, m in enumerate(sc.members):
        pledges = m.pledges
        for i, t in enumerate(years):
            cin = (
                value[model.carry[m.id, years[i - 1]]]
                if i and (m.id, years[i - 1]) in model.carry
                else 0.0
            )
            cout = value[model.carry[m.id, t]] if (m.id, t) in model.carry else 0.0
            allocated = float(given[k, i])
            unspent = max(pledges[t] + (cin - cout) * scale - allocated, 0.0)
            unspent = unspent if unspent >= ZERO * scale else 0.0
            member_rows.append((m.id, t, pledges[t], allocated, cin * scale, cout * scale, unspent))
    members = pd.DataFrame(
        member_rows,
        columns=["member", "year", "pledged", "allocated", "carried_in", "carried_out", "unspent"],
    )

    constraints = constraint_frame(model, plan.row_value, duals.row_dual)
    objective = float(duals.objective)
    summary.update(
        objective=objective,
        total_allocated=float(allocation["amount"].sum()),
    )
    if plan.status is SolveStatus.FEASIBLE:
        summary["message"] = "time limit reached: the best plan found, optimality not proven"
    projects, project_members = project_frames(model, value)
    summary.update(project_summary(projects))
    if model.projects is not None:  # a MIP: its gap (None when no bound was reached)
        summary.update(mip_gap=plan.mip_gap, proven_optimal=plan.status is SolveStatus.OPTIMAL)
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
    )


def _plain(values: np.ndarray) -> np.ndarray | list:
    """Object arrays as lists (so pandas infers int and str columns), numbers as they are."""
    return values.tolist() if values.dtype == object else values


def allocation_columns(
    model: PlanModel, value: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The non-zero flows of a solution as columns ``member``, ``area``, ``year`` (object
    arrays) and ``amount`` (currency units), and which of the model's flows they are (a
    mask in :func:`_flow_index` order)."""
    cols = model.derived("flows", model.x, lambda: _flow_index(model))[0]
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
        lambda: ~np.isin(np.array([r.kind for r in model.rows], dtype=object), BOOKKEEPING),
    )
    binding = np.nan_to_num(_slack(model, activity), nan=INF) <= ZERO
    rows = np.flatnonzero(binding & planner)
    return rows[np.argsort(-np.abs(row_dual[rows]), kind="stable")]


def _row_columns(model: PlanModel) -> dict[str, object]:
    """The constraint frame's columns that depend only on the rows and names."""
    from engine.describe import describe_row

    rows = model.rows
    policies = {p.id: p for p in model.scenario.policies}
    return {
        "name": [r.name for r in rows],
        "kind": [r.kind for r in rows],
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


def _empty_frames() -> tuple[pd.DataFrame, ...]:
    return (
        pd.DataFrame(columns=["member", "area", "year", "amount"]),
        pd.DataFrame(columns=["area", "year", "amount", "share", "value"]),
        pd.DataFrame(
            columns=[
                "member",
                "year",
                "pledged",
                "allocated",
                "carried_in",
                "carried_out",
                "unspent",
            ]
        ),
        pd.DataFrame(
            columns=[
                "name",
                "kind",
                "label",
                "area",
                "member",
                "year",
                "policy",
                "activity",
                "lower",
                "upper",
                "slack",
                "shadow_price",
                "binding",
            ]
        ),
    )
