"""Run a batch: a local process pool (default) or a Dask cluster, behind :func:`run_batch`.

The driver generates the sweep's scenarios, skips those already stored, sends the rest to
workers in small chunks of neighbouring scenarios, and stores each outcome in its own
transaction as it arrives. Each worker process keeps a few :class:`engine.resolve.Resolver`
objects, one per LP structure, so a scenario that changes only numbers (pledges, floors)
re-solves warm from the previous basis instead of being built and solved from scratch.

A scenario that raises is recorded with its error; a solver time limit is recorded as the
solver's status. A local worker that dies is replaced and its unfinished scenarios are
resubmitted; on Dask the scheduler does the same. Ctrl-C cancels what has not started, stores
what finishes, and returns with ``interrupted`` set.

Local workers are spawned processes: a script that calls :func:`run_batch` needs the usual
``if __name__ == "__main__":`` guard. Workers of a remote Dask cluster must be able to import
this package (same version) to run :func:`solve_chunk`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.batch.store import Outcome, RunStore
from engine.batch.sweep import BatchPlan, Planned, SolverSettings
from engine.errors import EngineError
from engine.scenario import Limit, Scenario

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
    from engine.resolve import Resolver

    key = (settings, structure_key(scenario))
    resolver = _RESOLVERS.pop(key, None)
    if resolver is None:
        resolver = Resolver(settings.options())
        while len(_RESOLVERS) >= RESOLVERS_PER_WORKER:
            _RESOLVERS.popitem(last=False)
    _RESOLVERS[key] = resolver
    return resolver


def _records(frame: Any, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (None for missing): 10x faster than
    ``DataFrame.to_dict("records")`` on the thousands of flows of a scenario."""
    if frame.empty:
        return []
    values = []
    for column in columns:
        series = frame[column]
        if series.isna().any():
            series = series.astype(object).where(series.notna(), None)
        values.append(series.tolist())
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _details(result: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        "area_funding": _records(result.areas, ["area", "year", "amount", "share"]),
        "allocations": _records(result.allocation, ["member", "area", "year", "amount"]),
        "constraints": _records(
            result.binding(),
            ["name", "kind", "area", "member", "year", "policy", "shadow_price"],
        ),
        "diagnoses": _records(result.diagnosis, ["name", "kind", "relax_by", "message"]),
    }


def solve_one(scenario_id: str, scenario: Scenario, settings: SolverSettings) -> Outcome:
    """Solve one scenario on this worker's resolver; an exception becomes an error outcome."""
    from engine.solve import solve

    start = time.perf_counter()
    try:
        if settings.name == "highs":
            resolver = _resolver(settings, scenario)
            result = resolver.solve(scenario)
            mode = resolver.last_mode
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


def solve_chunk(tasks: list[tuple[str, Scenario]], settings: SolverSettings) -> list[Outcome]:
    """Solve neighbouring scenarios in order on this worker (the unit sent to workers)."""
    return [solve_one(sid, sc, settings) for sid, sc in tasks]


def _ignore_sigint() -> None:
    # Ctrl-C belongs to the driver, which decides what to keep; workers finish their chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------- executors


class _LocalPool:
    """A process pool on this machine (spawned processes: safe next to driver threads)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._new()

    def _new(self) -> None:
        self.ex = cf.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_sigint,
        )

    def submit(self, chunk: list[tuple[str, Scenario]], settings: SolverSettings) -> Any:
        return self.ex.submit(solve_chunk, chunk, settings)

    def wait(self, futures: list[Any]) -> set[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    def is_lost_worker(self, error: BaseException) -> bool:
        return isinstance(error, cf.process.BrokenProcessPool)

    def restart(self) -> None:
        self.ex.shutdown(wait=False, cancel_futures=True)
        self._new()

    def cancel(self, futures: list[Any]) -> list[Any]:
        """Cancel what has not started; returns the futures still running."""
        return [f for f in futures if not f.cancel()]

    def close(self) -> None:
        self.ex.shutdown(wait=False, cancel_futures=True)


class _DaskPool:
    """An existing Dask scheduler (``tcp://host:8786``) or a LocalCluster (``local:N``)."""

    def __init__(self, address: str, workers: int | None) -> None:
        try:
            from distributed import Client, LocalCluster
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

    def submit(self, chunk: list[tuple[str, Scenario]], settings: SolverSettings) -> Any:
        return self.client.submit(solve_chunk, chunk, settings, pure=False)

    def wait(self, futures: list[Any]) -> set[Any]:
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
        return set(done)

    def is_lost_worker(self, error: BaseException) -> bool:
        return False

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
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _pool(workers: int | None, scheduler: str | None) -> _LocalPool | _DaskPool:
    if scheduler:
        return _DaskPool(scheduler, workers)
    return _LocalPool(workers or os.cpu_count() or 1)


# --------------------------------------------------------------------------- driver


def _chunks(items: Iterator[Planned], size: int) -> Iterator[list[Planned]]:
    chunk: list[Planned] = []
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
    chunk_size: int | None = None,
    on_progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Solve the sweep's scenarios that are not stored yet and store each as it finishes.

    ``workers``: local processes (default: all cores); ``scheduler``: a Dask address
    (``tcp://host:8786``) or ``local:N`` for a Dask LocalCluster; ``limit``: only the
    sweep's first K scenarios; ``retry_failed``: solve again the scenarios that raised in
    an earlier run (otherwise every stored scenario is skipped). Returns the run's tally
    (``interrupted`` after Ctrl-C). Raises BatchError if the executor cannot run,
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
    done_before = store.done_ids(plan.batch_id)
    seen: set[str] = set()

    def fresh() -> Iterator[Planned]:
        for item in plan.scenarios(limit):
            if item.scenario_id in done_before or item.scenario_id in seen:
                tally.skipped += 1
                continue
            seen.add(item.scenario_id)
            yield item

    pool = _pool(workers, scheduler)
    size = chunk_size or max(1, min(16, (total - len(done_before)) // (pool.workers * 8)))
    chunks = _chunks(fresh(), size)
    requeued: deque[list[Planned]] = deque()
    inflight: dict[Any, list[Planned]] = {}
    restarts = 0

    def record(chunk: list[Planned], outcomes: list[Outcome]) -> None:
        for item, outcome in zip(chunk, outcomes, strict=True):
            content = _content(item.scenario)
            if store.record(plan.batch_id, item.position, item.labels, content, outcome):
                tally.done += 1
                tally.failed += outcome.failed
                tally.no_plan += outcome.status not in ("optimal", "feasible", "error")
                tally.warm += outcome.mode == "warm"
                if outcome.error and len(tally.errors) < 20:
                    tally.errors.append(f"{_label(item)}: {outcome.error}")
            else:
                tally.skipped += 1

    def lost(chunk: list[Planned], error: BaseException) -> list[Outcome]:
        text = f"worker lost: {type(error).__name__}: {error}"
        return [Outcome(item.scenario_id, "error", error=text) for item in chunk]

    def step() -> bool:
        """Fill the workers, store what finishes; False when nothing is left to do."""
        while len(inflight) < 2 * pool.workers:
            chunk = requeued.popleft() if requeued else next(chunks, None)
            if chunk is None:
                break
            try:
                future = pool.submit([(p.scenario_id, p.scenario) for p in chunk], sweep.solver)
            except Exception:
                requeued.appendleft(chunk)
                raise
            inflight[future] = chunk
        if on_progress:
            on_progress(tally)
        if not inflight:
            return False
        for future in pool.wait(list(inflight)):
            chunk = inflight[future]
            try:
                outcomes = future.result()
            except Exception as error:
                if pool.is_lost_worker(error):
                    raise
                outcomes = lost(chunk, error)
            del inflight[future]
            record(chunk, outcomes)
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
                        record(chunk, future.result())
    finally:
        pool.close()
        tally.seconds = time.perf_counter() - started
        if on_progress:
            on_progress(tally)
    return tally


def _content(scenario: Scenario) -> str:
    return json.dumps(scenario.to_input(), sort_keys=True, separators=(",", ":"))


def _label(item: Planned) -> str:
    text = ", ".join(f"{k}={v}" for k, v in item.labels.items())
    return f"scenario {item.position}" + (f" ({text})" if text else "")
