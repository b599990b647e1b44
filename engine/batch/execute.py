"""Run a batch: a local process pool (default) or a Dask cluster, behind :func:`run_batch`.

The driver sends workers small chunks of neighbouring sweep points (a grid point, who
leaves, a draw's random numbers: a few hundred bytes) and stores each outcome in its own
transaction as it arrives. Workers build each scenario from its point
(:class:`engine.batch.sweep.ScenarioMaker`: the grid point validated once, then only the
sections a draw changes), hash it, and solve it on one of a few
:class:`engine.solving.resolver.Resolver` objects, one per LP structure, so a scenario that changes
only numbers (pledges, floors) re-solves warm from the previous basis; an optimal plan's
stored columns are read straight from the solver's arrays. A scenario stored by an earlier
run is recognised by its content hash and skipped. Local workers hand each chunk's replies
over in a file and send only its path through the pool (see :func:`solve_points_to_file`).

A scenario that raises is recorded with its error; a solver time limit is recorded as the
solver's status; with ``timeout`` a scenario that overruns its wall-clock limit on the
worker is recorded as ``timed_out`` and its worker replaced (the pool's processes, or the
Dask worker through its nanny). A local worker that dies is replaced and its unfinished
scenarios are resubmitted; on Dask the scheduler does the same. Ctrl-C cancels what has not
started, stores what finishes, and returns with ``interrupted`` set.

Local workers are spawned processes: a script that calls :func:`run_batch` needs the usual
``if __name__ == "__main__":`` guard. Workers of a remote Dask cluster must be able to import
this package (same version) to run :func:`solve_points`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import gc
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import tempfile
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.batch.store import FAILED, TIMED_OUT, Outcome, RunStore
from engine.batch.sweep import BatchPlan, Point, ScenarioMaker, SolverSettings
from engine.errors import EngineError, ScenarioError
from engine.scenario.schema import Limit, Scenario

#: Resolvers a worker keeps (one per LP structure, least recently used dropped first).
RESOLVERS_PER_WORKER = 4
#: Times a local pool may lose a worker process in one run before the run stops.
MAX_POOL_RESTARTS = 3


class BatchError(EngineError):
    """The batch cannot go on (e.g. worker processes keep dying, scheduler unreachable)."""


@dataclass
class Tally:
    """Progress of a run: scenarios in the sweep (or the limit), stored before, done now."""

    batch_id: str
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    no_plan: int = 0
    timed_out: int = 0
    warm: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Scenarios with a stored result: before this run and during it."""
        return self.skipped + self.done


# --------------------------------------------------------------------------- worker side

_RESOLVERS: OrderedDict[tuple[SolverSettings, tuple[Any, ...]], Any] = OrderedDict()
_WORKER = f"{socket.gethostname()}:{os.getpid()}"
#: The plans of the batches this worker runs, by batch id (:func:`keep_plan`), and a local
#: worker's queue for start reports (:func:`_start_worker`).
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


def _resolver(settings: SolverSettings, scenario: Scenario) -> Any:
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


def _details(result: Any) -> dict[str, dict[str, list[Any]]]:
    tables = {
        "area_funding": (result.areas, ["area", "year", "amount", "share"]),
        "allocations": (result.allocation, ["member", "area", "year", "amount"]),
        "constraints": (
            result.binding(),
            ["name", "kind", "area", "member", "year", "policy", "shadow_price"],
        ),
        "diagnoses": (result.diagnosis, ["name", "kind", "relax_by", "message"]),
    }
    return {name: _columns(frame, cols) for name, (frame, cols) in tables.items() if len(frame)}


def _row_labels(model: Any) -> dict[str, list[Any]]:
    rows = model.rows
    return {
        "name": [r.name for r in rows],
        "kind": [r.kind for r in rows],
        "area": [r.area for r in rows],
        "member": [r.member for r in rows],
        "year": [r.year for r in rows],
        "policy": [r.policy for r in rows],
    }


def _optimal_details(solved: Any) -> dict[str, dict[str, list[Any]]]:
    """:func:`_details` of an optimal plan read straight from the solver's arrays: the
    same columns and values, without the result's frames (most of a warm re-solve's time)."""
    from engine.results.extract import allocation_columns, area_funding_columns, binding_rows

    model, value = solved.model, solved.plan.col_value
    flows, _ = allocation_columns(model, value)
    funding = area_funding_columns(model, value)
    rows = binding_rows(model, solved.plan.row_value, solved.duals.row_dual)
    labels = model.derived("batch_row_labels", model.rows, lambda: _row_labels(model))
    tables = {
        "area_funding": {k: funding[k].tolist() for k in ("area", "year", "amount", "share")},
        "allocations": {k: flows[k].tolist() for k in ("member", "area", "year", "amount")},
        "constraints": {
            **{k: [column[i] for i in rows.tolist()] for k, column in labels.items()},
            "shadow_price": (solved.duals.row_dual[rows] / model.scale).tolist(),
        },
    }
    return {name: table for name, table in tables.items() if len(next(iter(table.values())))}


def solve_one(scenario_id: str, scenario: Scenario, settings: SolverSettings) -> Outcome:
    """Solve one scenario on this worker's resolver; an exception becomes an error outcome."""
    from engine.solving.backends import SolveStatus
    from engine.solving.pipeline import solve

    start = time.perf_counter()
    try:
        if settings.name == "highs":
            resolver = _resolver(settings, scenario)
            # The id is the content hash (engine.batch.sweep): no need to hash again.
            solved = resolver.solve_arrays(scenario, content_sha256=scenario_id)
            mode = resolver.last_mode
            if solved.plan.status is SolveStatus.OPTIMAL:
                details = _optimal_details(solved)
                return Outcome(
                    scenario_id=scenario_id,
                    status=solved.plan.status.value,
                    objective=float(solved.duals.objective),
                    total_allocated=float(np.sum(details.get("allocations", {}).get("amount", []))),
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
            details=_details(result),
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


def _start_worker(plan: BatchPlan, starts: Any) -> None:
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


# --------------------------------------------------------------------------- executors

Inflight = dict[Any, list[Point]]


def _late(starts: dict[Any, tuple[int, float]], timeout: float) -> dict[Any, int]:
    """Workers (by key) whose current scenario started more than ``timeout`` s ago."""
    now = time.time()
    return {who: pos for who, (pos, at) in starts.items() if now - at > timeout}


class _LocalPool:
    """A process pool on this machine (spawned processes: safe next to driver threads).

    With a timeout, workers report each scenario's start on a queue; a worker whose
    scenario overruns is killed, which breaks the pool: every worker is then replaced.
    """

    #: Stopping one worker stops the others (their chunks are solved again).
    stops_all = True
    #: Runs first in each worker process.
    initializer = staticmethod(_start_worker)

    def __init__(self, workers: int, plan: BatchPlan, timeout: float | None = None) -> None:
        self.workers = workers
        self.plan = plan
        self.timeout = timeout
        self.spool = tempfile.mkdtemp(prefix="engine-batch-")
        self._new()

    def _new(self) -> None:
        context = multiprocessing.get_context("spawn")
        # A fresh queue each time: a killed writer may leave the old one's lock taken.
        self.starts = context.SimpleQueue() if self.timeout else None
        self.running: dict[Any, tuple[int, float]] = {}
        self.ex = cf.ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=self.initializer,
            initargs=(self.plan, self.starts),
        )

    def submit(self, points: list[Point], settings: SolverSettings) -> Any:
        return self.ex.submit(
            solve_points_to_file, self.spool, self.plan.batch_id, points, settings
        )

    def replies(self, future: Any) -> list[Reply]:
        """A finished chunk's replies (raises what the worker raised)."""
        path = future.result()
        with open(path, "rb") as stream:
            replies = pickle.load(stream)
        os.remove(path)
        return replies

    def wait(self, futures: list[Any], seconds: float | None) -> set[Any]:
        done, _ = cf.wait(futures, timeout=seconds, return_when=cf.FIRST_COMPLETED)
        return done

    def is_lost_worker(self, error: BaseException) -> bool:
        return isinstance(error, cf.process.BrokenProcessPool)

    def stop_overdue(self, timeout: float, inflight: Inflight) -> set[int]:
        """Kill the workers whose scenario overran ``timeout``; their positions."""
        while self.starts is not None and not self.starts.empty():
            pid, position, at = self.starts.get()
            if position is None:
                self.running.pop(pid, None)
            else:
                self.running[pid] = (position, at)
        late = _late(self.running, timeout)
        for pid in late:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return set(late.values())

    def restart(self) -> None:
        self.ex.shutdown(wait=False, cancel_futures=True)
        self._new()

    def cancel(self, futures: list[Any]) -> list[Any]:
        """Cancel what has not started; returns the futures still running."""
        return [f for f in futures if not f.cancel()]

    def close(self) -> None:
        self.ex.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.spool, ignore_errors=True)


class _DaskPool:
    """An existing Dask scheduler (``tcp://host:8786``) or a LocalCluster (``local:N``).

    The plan reaches each worker once, by a worker plugin (:mod:`engine.batch.dask_plan`).
    With a timeout, workers report each scenario's start on a Dask queue; an overrunning
    task is cancelled and its worker restarted by its nanny (the others keep going).
    """

    stops_all = False

    def __init__(
        self, address: str, workers: int | None, plan: BatchPlan, timeout: float | None = None
    ) -> None:
        try:
            from distributed import Client, LocalCluster, Queue
        except ImportError as error:
            raise BatchError(
                "--scheduler needs Dask distributed: pip install 'dask[distributed]'"
            ) from error
        self.cluster = None
        try:
            if address.startswith("local"):
                _, _, n = address.partition(":")
                count = int(n) if n else workers or os.cpu_count() or 1
                self.cluster = LocalCluster(
                    n_workers=count,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port, never a clash on 8787
                    silence_logs=40,
                )
                self.client = Client(self.cluster)
            else:
                self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as error:
            self.close()
            raise BatchError(f"--scheduler {address}: cannot connect ({error})") from None
        self.workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
        from engine.batch.dask_plan import PlanPlugin

        self.plugin = PlanPlugin(plan)
        self.client.register_plugin(self.plugin, name=self.plugin.name)
        self.starts = Queue(f"batch-starts-{uuid.uuid4().hex}", client=self.client)
        self.timeout = timeout
        self.running: dict[Any, tuple[int, float]] = {}

    def submit(self, points: list[Point], settings: SolverSettings) -> Any:
        starts = self.starts.name if self.timeout else None
        return self.client.submit(
            solve_points, self.plugin.plan.batch_id, points, settings, starts, pure=False
        )

    def wait(self, futures: list[Any], seconds: float | None) -> set[Any]:
        from distributed import wait

        with contextlib.suppress(TimeoutError):
            wait(futures, timeout=seconds, return_when="FIRST_COMPLETED")
        return {f for f in futures if f.done()}

    def is_lost_worker(self, error: BaseException) -> bool:
        return False

    def stop_overdue(self, timeout: float, inflight: Inflight) -> set[int]:
        """Cancel the tasks whose scenario overran ``timeout`` and restart their workers."""
        for address, position, at in self.starts.get(batch=True):
            if position is None:
                self.running.pop(address, None)
            else:
                self.running[address] = (position, at)
        late = _late(self.running, timeout)
        if not late:
            return set()
        positions = set(late.values())
        self.client.cancel(
            [f for f, chunk in inflight.items() if any(p.position in positions for p in chunk)]
        )
        try:
            self.client.restart_workers(list(late), timeout=60)
        except Exception as error:
            raise BatchError(f"cannot restart the Dask workers {list(late)} ({error})") from None
        for address in late:
            self.running.pop(address, None)
        return positions

    def replies(self, future: Any) -> list[Reply]:
        """A finished chunk's replies (raises what the worker raised)."""
        return future.result()

    def restart(self) -> None:
        raise BatchError("the Dask cluster lost its workers")

    def cancel(self, futures: list[Any]) -> list[Any]:
        """Cancel what has not finished (Dask gives no partial chunks); returns nothing."""
        pending = [f for f in futures if not f.done()]
        if pending:
            self.client.cancel(pending)
        return []

    def close(self) -> None:
        if getattr(self, "client", None) is not None:
            if getattr(self, "plugin", None) is not None:
                with contextlib.suppress(Exception):
                    self.client.unregister_worker_plugin(self.plugin.name)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _pool(
    workers: int | None, scheduler: str | None, plan: BatchPlan, timeout: float | None
) -> _LocalPool | _DaskPool:
    if scheduler:
        return _DaskPool(scheduler, workers, plan, timeout)
    return _LocalPool(workers or os.cpu_count() or 1, plan, timeout)


# --------------------------------------------------------------------------- driver

#: How often (seconds) the driver looks for overrunning scenarios when there is a timeout.
CHECK_SECONDS = 0.2


def _chunks(items: Iterator[Point], size: int) -> Iterator[list[Point]]:
    chunk: list[Point] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_batch(
    plan: BatchPlan,
    store: RunStore,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    limit: int | None = None,
    retry_failed: bool = False,
    timeout: float | None = None,
    chunk_size: int | None = None,
    on_progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Solve the sweep's scenarios that are not stored yet and store each as it finishes.

    ``workers``: local processes (default: all cores); ``scheduler``: a Dask address
    (``tcp://host:8786``) or ``local:N`` for a Dask LocalCluster; ``limit``: only the
    sweep's first K scenarios; ``retry_failed``: solve again the scenarios that raised or
    timed out in an earlier run (otherwise every stored scenario is skipped); ``timeout``:
    seconds a scenario may take on its worker, measured outside the solver (a scenario
    that overruns is stored as ``timed_out`` and its worker replaced). Returns the run's
    tally (``interrupted`` after Ctrl-C). Raises BatchError if the executor cannot run,
    ScenarioError for an invalid scenario.
    """
    started = time.perf_counter()
    sweep = plan.sweep
    store.ensure_batch(
        plan.batch_id,
        sweep.name,
        {**sweep.model_dump(mode="json"), "base_resolved_sha256": plan.base_sha256},
        plan.source,
        plan.base_sha256,
        plan.size,
    )
    total = plan.size if limit is None else min(plan.size, limit)
    tally = Tally(plan.batch_id, total)
    if retry_failed:
        store.forget_failed(plan.batch_id)
    # Workers rebuild each point; one stored before is skipped when its content still
    # hashes to the stored id (so a changed base or generator never skips wrongly).
    stored_at = store.stored_positions(plan.batch_id)
    points = (
        dataclasses.replace(p, expect=stored_at[p.position]) if p.position in stored_at else p
        for p in plan.points(limit)
    )
    local: list[ScenarioMaker] = []

    def made(point: Point) -> Any:
        """The point's scenario built here (rare: lost or timed-out scenarios only)."""
        if not local:
            local.append(ScenarioMaker(plan))
        return local[0].make(point)

    pool = _pool(workers, scheduler, plan, timeout)
    size = chunk_size or max(1, min(16, (total - len(stored_at)) // (pool.workers * 8)))
    chunks = _chunks(points, size)
    requeued: deque[list[Point]] = deque()
    inflight: Inflight = {}
    restarts = 0

    def record(chunk: list[Point], replies: list[Reply]) -> None:
        for point, reply in zip(chunk, replies, strict=True):
            if reply.problems:
                raise ScenarioError(list(reply.problems), plan.source)
            outcome = reply.outcome
            if reply.stored or outcome is None:
                tally.skipped += 1
            elif store.record(plan.batch_id, point.position, point.labels, reply.content, outcome):
                tally.done += 1
                tally.failed += outcome.failed
                tally.timed_out += outcome.status == TIMED_OUT
                tally.no_plan += outcome.status not in ("optimal", "feasible", *FAILED)
                tally.warm += outcome.mode == "warm"
                if outcome.error and len(tally.errors) < 20:
                    tally.errors.append(f"{_label(point)}: {outcome.error}")
            else:
                tally.skipped += 1

    def unsolved(chunk: list[Point], status: str, error: str, seconds: float | None) -> None:
        """Store the chunk's scenarios without a solve (lost worker, timeout)."""
        replies = []
        for point in chunk:
            item = made(point)
            outcome = Outcome(item.scenario_id, status, wall_seconds=seconds, error=error)
            replies.append(Reply(point.position, outcome, item.content))
        record(chunk, replies)

    def stop_overdue() -> None:
        late = pool.stop_overdue(timeout, inflight)
        if not late:
            return
        for future in list(inflight):
            chunk = inflight[future]
            if pool.stops_all or any(p.position in late for p in chunk):
                del inflight[future]
                rest = [p for p in chunk if p.position not in late]
                if rest:
                    requeued.append(rest)
                text = f"timed out: no answer within {timeout:g} s (--timeout); worker replaced"
                unsolved([p for p in chunk if p.position in late], TIMED_OUT, text, timeout)
        if pool.stops_all:
            pool.restart()

    def step() -> bool:
        """Fill the workers, store what finishes; False when nothing is left to do."""
        while len(inflight) < 2 * pool.workers:
            chunk = requeued.popleft() if requeued else next(chunks, None)
            if chunk is None:
                break
            try:
                future = pool.submit(chunk, sweep.solver)
            except Exception:
                requeued.appendleft(chunk)
                raise
            inflight[future] = chunk
        if on_progress:
            on_progress(tally)
        if not inflight:
            return False
        for future in pool.wait(list(inflight), CHECK_SECONDS if timeout else None):
            chunk = inflight.pop(future)
            try:
                replies = pool.replies(future)
            except Exception as error:
                if pool.is_lost_worker(error):
                    inflight[future] = chunk
                    raise
                unsolved(chunk, "error", f"worker lost: {type(error).__name__}: {error}", None)
                continue
            record(chunk, replies)
        if timeout:
            stop_overdue()
        return True

    try:
        try:
            while True:
                try:
                    if not step():
                        break
                except Exception as error:
                    if not pool.is_lost_worker(error):
                        raise
                    restarts += 1
                    if restarts > MAX_POOL_RESTARTS:
                        raise BatchError(
                            f"worker processes died {restarts} times ({error}); everything "
                            "finished is stored: re-run the batch to resume"
                        ) from None
                    # Whatever was in flight is solved again by fresh workers; none of it
                    # was stored, so nothing is stored twice.
                    requeued.extend(inflight.values())
                    inflight.clear()
                    pool.restart()
        except KeyboardInterrupt:
            tally.interrupted = True
            running = set(pool.cancel(list(inflight)))
            for future in list(inflight):
                chunk = inflight.pop(future)
                if future in running or (future.done() and not future.cancelled()):
                    # A chunk that failed while stopping is simply not stored: re-run resumes.
                    with contextlib.suppress(Exception):
                        record(chunk, pool.replies(future))
    finally:
        pool.close()
        tally.seconds = time.perf_counter() - started
        if on_progress:
            on_progress(tally)
    return tally


def _label(point: Point) -> str:
    text = ", ".join(f"{k}={v}" for k, v in point.labels.items())
    return f"scenario {point.position}" + (f" ({text})" if text else "")
