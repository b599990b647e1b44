"""A batch's worker side: the plan kept in each worker process, scenarios built from their
points, hashed and solved warm.

Workers build each scenario from its point (:class:`engine.batch.sweep.ScenarioMaker`: the
grid point validated once, then only the sections a draw changes), hash it, and solve it on
one of a few :class:`engine.solving.resolver.Resolver` objects, one per LP structure, so a
scenario that changes only numbers (pledges, floors) re-solves warm from the previous basis;
an optimal plan's stored columns are read straight from the solver's arrays. A point whose
scenario still hashes to the id an earlier run stored is not solved again. A scenario that
raises becomes an error outcome (:func:`solve_one`).

The pools (:mod:`engine.batch.pools`) run :func:`solve_points` (Dask) or
:func:`solve_points_to_file` (local processes, started by :func:`start_worker`); a Dask
worker gets the plan from :mod:`engine.batch.dask_plan`. Workers of a remote Dask cluster
must be able to import this package (same version).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import socket
import time
import traceback
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.batch.store import Outcome
from engine.batch.sweep import BatchPlan, Point, ScenarioMaker
from engine.batch.sweep_schema import SolverSettings
from engine.batch.tables import STORED_COLUMNS
from engine.errors import ScenarioError
from engine.scenario.schema import Limit, Scenario

#: Resolvers a worker keeps (one per LP structure, least recently used dropped first).
RESOLVERS_PER_WORKER = 4

_RESOLVERS: OrderedDict[tuple[SolverSettings, tuple[Any, ...]], Any] = OrderedDict()
_WORKER = f"{socket.gethostname()}:{os.getpid()}"
#: The plans of the batches this worker runs, by batch id (:func:`keep_plan`), and a local
#: worker's queue for start reports (:func:`start_worker`).
_PLANS: dict[str, BatchPlan] = {}
_STARTS: Any = None
_MAKER: ScenarioMaker | None = None


def _kind(limit: Limit | None) -> str:
    return "-" if limit is None else ("share" if limit.share is not None else "amount")


def structure_key(scenario: Scenario) -> tuple[Any, ...]:
    """A cheap fingerprint of what decides the LP's variables, rows and sparsity (which
    members pledge, who joins what, which limits exist and of what kind, how many items
    each go/no-go section has), not its numbers.

    Scenarios with equal keys re-solve warm on one resolver; an imprecise key costs only a
    cold solve, because the resolver compares the structure itself.
    """
    sc = scenario
    members = tuple(
        (m.id, any(v > 0 for v in m.pledges.values()), tuple(m.opt_in or ()), tuple(m.opt_out))
        for m in sc.members
    )
    areas = tuple(
        (a.id, _kind(a.floor), _kind(a.ceiling), a.absorption is None, len(a.value_curve or ()))
        for a in sc.areas
    )
    policies = tuple((p.id, _kind(p.at_least), _kind(p.at_most), p.per) for p in sc.policies)
    sections = tuple(
        (name, len(value))
        for name, value in sc
        if isinstance(value, list) and name not in ("members", "areas", "policies")
    )
    return (tuple(sc.fund.years), sc.fund.carry_over, members, areas, policies, sections)


def resolver_for(settings: SolverSettings, scenario: Scenario) -> Any:
    from engine.solving.resolver import Resolver

    key = (settings, structure_key(scenario))
    resolver = _RESOLVERS.pop(key, None)
    if resolver is None:
        resolver = Resolver(settings.options())
        while len(_RESOLVERS) >= RESOLVERS_PER_WORKER:
            _RESOLVERS.popitem(last=False)
    _RESOLVERS[key] = resolver
    return resolver


def _column(series: pd.Series) -> list[Any]:
    """Plain Python values, None where missing (NaN, None, pd.NA)."""
    values = series.to_numpy()
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype.kind == "O":
        missing = pd.isna(values)
    else:
        return values.tolist()
    out = values.tolist()
    for i in np.flatnonzero(missing):
        out[i] = None
    return out


def _columns(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    """A frame's columns as lists of plain Python values (None for missing): compact to
    send back, and the store zips them into rows without building a dict per row."""
    return {column: _column(frame[column]) for column in columns}


def result_details(result: Any) -> dict[str, dict[str, list[Any]]]:
    """A result's rows of each detail table (:data:`engine.batch.tables.STORED_COLUMNS`):
    its funding, flows, binding rules a planner set and diagnosis; empty tables left out."""
    frames = {
        "area_funding": result.areas,
        "allocations": result.allocation,
        "constraints": result.binding(),
        "diagnoses": result.diagnosis,
    }
    return {
        name: _columns(frame, list(STORED_COLUMNS[name]))
        for name, frame in frames.items()
        if len(frame)
    }


def _row_labels(model: Any) -> dict[str, list[Any]]:
    rows = model.rows
    return {
        "name": [r.name for r in rows],
        "kind": [r.kind.value for r in rows],
        "area": [r.area for r in rows],
        "member": [r.member for r in rows],
        "year": [r.year for r in rows],
        "policy": [r.policy for r in rows],
    }


def optimal_details(solved: Any) -> dict[str, dict[str, list[Any]]]:
    """:func:`result_details` of an optimal plan read straight from the solver's arrays: the
    same columns and values, without the result's frames (most of a warm re-solve's time)."""
    from engine.results.extract import allocation_columns, area_funding_columns, binding_rows
    from engine.results.tolerance import within_budgets

    model = solved.model
    value = within_budgets(model, solved.plan.col_value)  # as the result reports it
    flows, _ = allocation_columns(model, value)
    funding = area_funding_columns(model, value)
    rows = binding_rows(model, solved.plan.row_value, solved.duals.row_dual)
    labels = model.derived("batch_row_labels", model.rows, lambda: _row_labels(model))
    at = rows.tolist()
    binding = {
        **{k: [column[i] for i in at] for k, column in labels.items()},
        "shadow_price": (solved.duals.row_dual[rows] / model.scale).tolist(),
    }
    tables = {
        "area_funding": {k: funding[k].tolist() for k in STORED_COLUMNS["area_funding"]},
        "allocations": {k: flows[k].tolist() for k in STORED_COLUMNS["allocations"]},
        "constraints": {k: binding[k] for k in STORED_COLUMNS["constraints"]},
    }
    return {name: table for name, table in tables.items() if len(next(iter(table.values())))}


def solve_one(scenario_id: str, scenario: Scenario, settings: SolverSettings) -> Outcome:
    """Solve one scenario on this worker's resolver; an exception becomes an error outcome."""
    from engine.results.tolerance import reported_total
    from engine.solving.backends import SolveStatus
    from engine.solving.pipeline import solve

    start = time.perf_counter()
    try:
        if settings.name == "highs":
            resolver = resolver_for(settings, scenario)
            # The id is the content hash (engine.batch.sweep): no need to hash again.
            solved = resolver.solve_arrays(scenario, content_sha256=scenario_id)
            mode = resolver.last_mode
            if solved.plan.status is SolveStatus.OPTIMAL:
                details = optimal_details(solved)
                allocated = float(np.sum(details.get("allocations", {}).get("amount", [])))
                return Outcome(
                    scenario_id=scenario_id,
                    status=solved.plan.status.value,
                    objective=float(solved.duals.objective),
                    total_allocated=reported_total(solved.model, allocated),
                    solve_seconds=round(solved.plan.seconds, 6),
                    wall_seconds=time.perf_counter() - start,
                    mode=mode,
                    worker=_WORKER,
                    details=details,
                )
            result = solved.result()
        else:
            result = solve(scenario, settings.options())
            mode = "cold"
        return Outcome(
            scenario_id=scenario_id,
            status=result.status.value,
            objective=result.objective if result.ok else None,
            total_allocated=float(result.summary["total_allocated"]),
            solve_seconds=float(result.summary["solve_seconds"]),
            wall_seconds=time.perf_counter() - start,
            mode=mode,
            worker=_WORKER,
            message=str(result.summary.get("message", "")),
            details=result_details(result),
        )
    except Exception as error:
        # One bad scenario must not stop the batch: keep its error (and where it came from).
        where = traceback.extract_tb(error.__traceback__)[-1]
        return Outcome(
            scenario_id=scenario_id,
            status="error",
            wall_seconds=time.perf_counter() - start,
            worker=_WORKER,
            error=f"{type(error).__name__}: {error} ({os.path.basename(where.filename)}:"
            f"{where.lineno})",
        )


@dataclass(frozen=True)
class Reply:
    """A worker's answer for one point: the outcome and the scenario's content (the store
    keeps both), or why there is none: ``stored`` (an earlier run stored this very
    scenario) or ``problems`` (the scenario is invalid)."""

    position: int
    outcome: Outcome | None = None
    content: str = ""
    stored: bool = False
    problems: tuple[str, ...] = ()


def _maker(plan: BatchPlan) -> ScenarioMaker:
    global _MAKER
    if _MAKER is None or _MAKER.plan.batch_id != plan.batch_id:
        _MAKER = ScenarioMaker(plan)
    return _MAKER


def keep_plan(plan: BatchPlan) -> None:
    """Keep a batch's plan in this worker process (points name their batch by id)."""
    _PLANS[plan.batch_id] = plan


def drop_plan(batch_id: str) -> None:
    """Forget a batch's plan (and its scenario maker) in this worker process."""
    global _MAKER
    _PLANS.pop(batch_id, None)
    if _MAKER is not None and _MAKER.plan.batch_id == batch_id:
        _MAKER = None


def solve_points(
    batch_id: str,
    points: list[Point],
    settings: SolverSettings,
    starts: str | None = None,
) -> list[Reply]:
    """Build, hash and solve neighbouring points in order on this worker (the unit sent to
    workers); the batch's plan was kept here (:func:`keep_plan`) when the worker started.

    With a timeout, the start of each point (and the end of the chunk) is reported on the
    Dask queue named ``starts`` (on a local worker: the queue it started with), and the
    driver stops a worker that overruns.
    """
    import engine.solving.resolver  # noqa: F401 - imported before any clock starts: a timeout is for solving

    maker = _maker(_PLANS[batch_id])
    queue, who = (_STARTS, os.getpid()) if starts is None else _dask_queue(starts)
    replies = []
    for point in points:
        if queue is not None:
            queue.put((who, point.position, time.time()))
        try:
            made = maker.make(point)
        except ScenarioError as error:
            replies.append(Reply(point.position, problems=tuple(error.problems)))
            continue
        if made.scenario_id == point.expect:
            replies.append(Reply(point.position, stored=True))
            continue
        outcome = solve_one(made.scenario_id, made.scenario, settings)
        replies.append(Reply(point.position, outcome, made.content))
    if queue is not None:
        queue.put((who, None, time.time()))
    return replies


def solve_points_to_file(
    spool: str, batch_id: str, points: list[Point], settings: SolverSettings
) -> str:
    """:func:`solve_points` for a local worker: the replies go to a file in ``spool``
    (written whole, then renamed) and only its path goes back through the pool's pipe.

    A worker killed while sending a large answer leaves half a message in the pipe, and
    CPython's process pool then waits for the rest forever; a path is one short write,
    which a kill cannot cut in two.
    """
    replies = solve_points(batch_id, points, settings)
    path = os.path.join(spool, f"{uuid.uuid4().hex}.pickle")
    with open(path + ".part", "wb") as out:
        pickle.dump(replies, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(path + ".part", path)
    return path


def _dask_queue(name: str) -> tuple[Any, str]:
    """The Dask queue ``name`` (by name: a queue object in a task's arguments would make the
    scheduler connect to itself) and this worker's address."""
    from distributed import Queue, get_worker

    return Queue(name), get_worker().address


def start_worker(plan: BatchPlan, starts: Any) -> None:
    """Initialise a local worker process: the sweep's plan, the queue for start reports."""
    global _STARTS
    keep_plan(plan)
    _STARTS = starts
    # Ctrl-C belongs to the driver, which decides what to keep; workers finish their chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import engine.solving.resolver  # noqa: F401 - the solving stack, imported once at start

    # The libraries' objects live as long as the worker: out of the collector's sight, the
    # collections that each scenario's garbage triggers stay short.
    gc.freeze()
