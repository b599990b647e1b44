"""Run a batch (:func:`run_batch`): dispatch chunks of points to a pool, collect the
replies, store each scenario as it arrives.

The driver sends workers small chunks of neighbouring sweep points (a grid point, who
leaves, a draw's random numbers: a few hundred bytes; see :mod:`engine.batch.worker` for
what a worker does with them) and stores each outcome in its own transaction as it
arrives. A scenario stored by an earlier run is recognised by its content hash and skipped.

A scenario that raises is recorded with its error; a solver time limit is recorded as the
solver's status; with ``timeout`` a scenario that overruns its wall-clock limit on the
worker is recorded as ``timed_out`` and its worker replaced (:mod:`engine.batch.pools`). A
local worker that dies is replaced and its unfinished scenarios are resubmitted; on Dask
the scheduler does the same. Ctrl-C cancels what has not started, stores what finishes,
and returns with ``interrupted`` set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.batch import pools
from engine.batch.pools import Inflight
from engine.batch.store import Outcome, RunStore
from engine.batch.sweep import BatchPlan, Made, Point, ScenarioMaker
from engine.batch.tables import FAILED, TIMED_OUT
from engine.batch.worker import Reply
from engine.errors import BatchError, ScenarioError

#: Times a local pool may lose a worker process in one run before the run stops.
MAX_POOL_RESTARTS = 3
#: How often (seconds) the driver looks for overrunning scenarios when there is a timeout.
CHECK_SECONDS = 0.2
#: Errors a tally keeps to show (every error is in the store).
TALLY_ERRORS = 20


@dataclass
class Tally:
    """Progress of a run: scenarios in the sweep (or the limit), stored before, done now,
    and ``duplicates``: scenarios whose content is another scenario's of the sweep, which
    the store holds once (under one id)."""

    batch_id: str
    total: int
    skipped: int = 0
    done: int = 0
    duplicates: int = 0
    failed: int = 0
    no_plan: int = 0
    timed_out: int = 0
    warm: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Scenarios with a stored result (their own or their duplicate's): before this run
        and during it."""
        return self.distinct + self.duplicates

    @property
    def distinct(self) -> int:
        """Finished scenarios the store holds a row for: the stored ones, not their duplicates."""
        return self.skipped + self.done

    def count(self, point: Point, outcome: Outcome) -> None:
        """Count a scenario stored now."""
        self.done += 1
        self.failed += outcome.failed
        self.timed_out += outcome.status == TIMED_OUT
        self.no_plan += outcome.status not in ("optimal", "feasible", *FAILED)
        self.warm += outcome.mode == "warm"
        if outcome.error and len(self.errors) < TALLY_ERRORS:
            self.errors.append(f"{_label(point)}: {outcome.error}")


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
    total = plan.size if limit is None else min(plan.size, limit)
    tally = Tally(plan.batch_id, total)
    points, stored = _unstored_points(plan, store, limit, retry_failed)
    pool = pools.make_pool(workers, scheduler, plan, timeout)
    size = chunk_size or max(1, min(16, (total - len(stored)) // (pool.workers * 8)))
    chunks = _chunks(points, size)
    run = _Run(plan, store, pool, tally, chunks, set(stored.values()), timeout, on_progress)
    try:
        with _ctrl_c_between_writes(run):
            run.until_done()
    finally:
        pool.close()
        tally.seconds = time.perf_counter() - started
        if on_progress:
            on_progress(tally)
    return tally


def _unstored_points(
    plan: BatchPlan, store: RunStore, limit: int | None, retry_failed: bool
) -> tuple[Iterator[Point], dict[int, str]]:
    """Record the batch, forget its failures if asked; its points (each stored one with the
    id it was stored under) and the stored ones' ids by position."""
    sweep = plan.sweep
    store.ensure_batch(
        plan.batch_id,
        sweep.name,
        {**sweep.model_dump(mode="json"), "base_resolved_sha256": plan.base_sha256},
        plan.source,
        plan.base_sha256,
        plan.size,
    )
    if retry_failed:
        store.forget_failed(plan.batch_id)
    # Workers rebuild each point; one stored before is skipped when its content still
    # hashes to the stored id (so a changed base or generator never skips wrongly).
    stored_at = store.stored_positions(plan.batch_id)
    points = (
        dataclasses.replace(p, expect=stored_at[p.position]) if p.position in stored_at else p
        for p in plan.points(limit)
    )
    return points, stored_at


@contextlib.contextmanager
def _ctrl_c_between_writes(run: _Run) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt between the store's writes, never inside one: a write
    cut short leaves SQLite's lock taken, and storing what still finishes would then wait
    for it (the busy timeout, a minute) and fail. Only in the main thread, and only over
    Python's own Ctrl-C handler."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def on_ctrl_c(signum: int, frame: Any) -> None:
        if run.writing:
            run.ctrl_c = True  # raised when the write is done (_Run.record)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """One run of a batch on a pool: the chunks to send, those in flight, the tally."""

    def __init__(
        self,
        plan: BatchPlan,
        store: RunStore,
        pool: pools.LocalPool | pools.DaskPool,
        tally: Tally,
        chunks: Iterator[list[Point]],
        held: set[str],
        timeout: float | None,
        on_progress: Callable[[Tally], None] | None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.pool = pool
        self.tally = tally
        self.chunks = chunks
        self.timeout = timeout
        self.on_progress = on_progress
        self.requeued: deque[list[Point]] = deque()
        self.inflight: Inflight = {}
        self.restarts = 0
        #: Ids the store holds for this batch (before this run or stored by it): a scenario
        #: refused as stored under one of them repeats another scenario's content.
        self.held = held
        self._maker: ScenarioMaker | None = None
        #: Storing a chunk now; Ctrl-C came meanwhile (see _ctrl_c_between_writes).
        self.writing = False
        self.ctrl_c = False

    def until_done(self) -> None:
        """Step until every chunk is stored; replace lost workers; stop on Ctrl-C."""
        try:
            while True:
                try:
                    if not self.step():
                        return
                except Exception as error:
                    if not self.pool.is_lost_worker(error):
                        raise
                    self.replace_workers(error)
        except KeyboardInterrupt:
            self.interrupt()

    def step(self) -> bool:
        """Fill the workers, store what finishes; False when nothing is left to do."""
        self.fill()
        if self.on_progress:
            self.on_progress(self.tally)
        if not self.inflight:
            return False
        self.collect()
        if self.timeout:
            self.stop_overdue(self.timeout)
        return True

    def fill(self) -> None:
        """Submit chunks (those to solve again first) until each worker has two."""
        while len(self.inflight) < 2 * self.pool.workers:
            chunk = self.requeued.popleft() if self.requeued else next(self.chunks, None)
            if chunk is None:
                return
            try:
                future = self.pool.submit(chunk, self.plan.sweep.solver)
            except Exception:
                self.requeued.appendleft(chunk)
                raise
            self.inflight[future] = chunk

    def collect(self) -> None:
        """Wait for chunks to finish (with a timeout: a little at most) and store them."""
        wait = CHECK_SECONDS if self.timeout else None
        for future in self.pool.wait(list(self.inflight), wait):
            chunk = self.inflight.pop(future)
            try:
                replies = self.pool.replies(future)
            except Exception as error:
                if self.pool.is_lost_worker(error):
                    self.inflight[future] = chunk
                    raise
                text = f"worker lost: {type(error).__name__}: {error}"
                self.unsolved(chunk, "error", text, None)
                continue
            self.record(chunk, replies)

    def record(self, chunk: list[Point], replies: list[Reply]) -> None:
        """Store a chunk's outcomes (a Ctrl-C meanwhile is raised once they are stored);
        stop the batch at an invalid scenario."""
        self.writing = True
        try:
            for point, reply in zip(chunk, replies, strict=True):
                if reply.problems:
                    raise ScenarioError(list(reply.problems), self.plan.source)
                outcome = reply.outcome
                if reply.stored or outcome is None:
                    self.tally.skipped += 1
                elif self.store.record(
                    self.plan.batch_id, point.position, point.labels, reply.content, outcome
                ):
                    self.tally.count(point, outcome)
                    self.held.add(outcome.scenario_id)
                elif outcome.scenario_id in self.held:
                    self.tally.duplicates += 1
                else:  # another driver on the same batch stored it meanwhile
                    self.tally.skipped += 1
                    self.held.add(outcome.scenario_id)
        finally:
            self.writing = False
        if self.ctrl_c:
            self.ctrl_c = False
            raise KeyboardInterrupt

    def made(self, point: Point) -> Made:
        """The point's scenario built here (rare: lost or timed-out scenarios only)."""
        if self._maker is None:
            self._maker = ScenarioMaker(self.plan)
        return self._maker.make(point)

    def unsolved(self, chunk: list[Point], status: str, error: str, seconds: float | None) -> None:
        """Store the chunk's scenarios without a solve (lost worker, timeout)."""
        replies = []
        for point in chunk:
            item = self.made(point)
            outcome = Outcome(item.scenario_id, status, wall_seconds=seconds, error=error)
            replies.append(Reply(point.position, outcome, item.content))
        self.record(chunk, replies)

    def stop_overdue(self, timeout: float) -> None:
        """Store the scenarios that overran ``timeout`` as timed out; send their chunks'
        other scenarios again (all chunks in flight, when a stop replaces every worker)."""
        late = self.pool.stop_overdue(timeout, self.inflight)
        if not late:
            return
        text = f"timed out: no answer within {timeout:g} s (--timeout); worker replaced"
        for future in list(self.inflight):
            chunk = self.inflight[future]
            if self.pool.stops_all or any(p.position in late for p in chunk):
                del self.inflight[future]
                rest = [p for p in chunk if p.position not in late]
                if rest:
                    self.requeued.append(rest)
                self.unsolved([p for p in chunk if p.position in late], TIMED_OUT, text, timeout)
        if self.pool.stops_all:
            self.pool.restart()

    def replace_workers(self, error: Exception) -> None:
        """After a worker process died: fresh workers solve again what was in flight
        (none of it was stored, so nothing is stored twice), a few times at most."""
        self.restarts += 1
        if self.restarts > MAX_POOL_RESTARTS:
            raise BatchError(
                f"worker processes died {self.restarts} times ({error}); everything "
                "finished is stored: re-run the batch to resume"
            ) from None
        self.requeued.extend(self.inflight.values())
        self.inflight.clear()
        self.pool.restart()

    def interrupt(self) -> None:
        """Ctrl-C: cancel what has not started and store what finished or still finishes."""
        self.tally.interrupted = True
        running = set(self.pool.cancel(list(self.inflight)))
        for future in list(self.inflight):
            chunk = self.inflight.pop(future)
            if future in running or (future.done() and not future.cancelled()):
                # A chunk that failed while stopping is simply not stored: re-run resumes.
                with contextlib.suppress(Exception):
                    self.record(chunk, self.pool.replies(future))


def _chunks(items: Iterator[Point], size: int) -> Iterator[list[Point]]:
    chunk: list[Point] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _label(point: Point) -> str:
    text = ", ".join(f"{k}={v}" for k, v in point.labels.items())
    return f"scenario {point.position}" + (f" ({text})" if text else "")


__all__ = ["Tally", "run_batch"]
