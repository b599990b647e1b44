"""Where the robust study's per-future solves run: in process, on local processes, or on
an existing Dask cluster (``--scheduler local[:N]`` or ``--scheduler tcp://host:8786``).

Every worker gets the work once (:class:`Subproblems`: the scenario, the futures' pledge
cube, the penalty and solver options; never a model per future) and keeps one warm
:class:`~engine.planning.evaluate.RecourseScorer`. A task is a module-level function run
as ``task(work, *args)`` on a group of futures (indices into the cube): the
decomposition's :func:`solve_group` here (a first stage; the reply is the group's values
and the sum of their gradients), the study's scores and single-future solves in
:mod:`engine.planning.tasks`. The worker builds each future's model from the cube
(patched from its base model), solves it and forgets it, so the memory of a worker and of
the driver is flat in the number of futures processed. The conventions are the batch's
(``engine.batch.pools``): spawned local processes, a Dask address or a clear
``--scheduler`` error (exit 2).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from engine.errors import BatchError
from engine.planning.evaluate import RecourseScorer
from engine.planning.futures import Futures
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions


@dataclass(frozen=True)
class Subproblems:
    """What any worker needs to re-solve any future's recourse."""

    scenario: Scenario
    futures: Futures
    penalty: float
    n_first: int
    options: SolverOptions | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class GroupReply:
    """One task's answer for a group of futures."""

    #: Each future's recourse value at the first stage (NaN: no plan; with no first
    #: stage given: its value with the first stage free, an upper bound).
    values: np.ndarray
    gradient: np.ndarray  # sum over the feasible futures of d value / d first stage
    rss_mb: float  # the worker's peak resident memory so far
    cpu_seconds: float


#: The worker's scorer of the decomposition it serves (one at a time: memory stays flat).
_SCORER: dict[str, RecourseScorer] = {}
#: The work installed in a local worker process by the pool's initializer.
_INSTALLED: list[Subproblems] = []


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (NaN where the OS does not say)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


R = TypeVar("R")


def scorer_for(work: Subproblems) -> RecourseScorer:
    """This process's warm scorer of ``work`` (made on first use; the only one kept)."""
    scorer = _SCORER.get(work.token)
    if scorer is None:
        _SCORER.clear()
        first = np.zeros(work.n_first)
        scorer = RecourseScorer(work.scenario, work.futures, first, work.penalty, work.options)
        _SCORER[work.token] = scorer
    return scorer


def _install(work: Subproblems) -> None:
    _INSTALLED[:] = [work]


def _call_installed(task: Callable[..., R], *args: Any) -> R:
    return task(_INSTALLED[0], *args)


def solve_group(work: Subproblems, y: np.ndarray | None, group: list[int]) -> GroupReply:
    """Re-solve the recourse of the futures ``group`` at first stage ``y`` (None: each
    future's value with the first stage free): the decomposition's task."""
    cpu = time.process_time()
    scorer = scorer_for(work)
    values = np.full(len(group), np.nan)
    gradient = np.zeros(scorer.ext.first.shape[0])
    if y is not None and not np.array_equal(y, scorer.first_values):
        scorer.fix(y)
    for i, k in enumerate(group):
        model = scorer.model_for(k)
        if y is None:
            values[i] = scorer.unfixed_bound(model)
            continue
        feasible, value, _ = scorer.solve_one(model)
        if feasible:
            values[i] = value
            gradient += scorer.gradient()
    return GroupReply(values, gradient, peak_rss_mb(), time.process_time() - cpu)


class Pool(Protocol):
    """Runs tasks ``task(work, *args)`` (module-level functions, such as
    :func:`solve_group`) on its workers, each of which holds ``work``."""

    workers: int
    work: Subproblems

    def map(self, task: Callable[..., R], calls: list[tuple]) -> list[R]:
        """``[task(work, *args) for args in calls]``, in the order of ``calls``."""
        ...

    def close(self) -> None: ...


class InProcess:
    """The driver's own process (no scheduler)."""

    workers = 1

    def __init__(self, work: Subproblems) -> None:
        self.work = work

    def map(self, task: Callable[..., R], calls: list[tuple]) -> list[R]:
        return [task(self.work, *args) for args in calls]

    def close(self) -> None:
        _SCORER.pop(self.work.token, None)


class LocalProcesses:
    """Spawned processes on this machine, each given the work once."""

    def __init__(self, work: Subproblems, workers: int) -> None:
        self.workers, self.work = workers, work
        self.ex = cf.ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_install,
            initargs=(work,),
        )

    def map(self, task: Callable[..., R], calls: list[tuple]) -> list[R]:
        done = [self.ex.submit(_call_installed, task, *args) for args in calls]
        return [f.result() for f in done]

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """An existing Dask scheduler; the work is scattered to every worker once."""

    def __init__(self, work: Subproblems, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as error:
            raise BatchError(
                "--scheduler needs Dask distributed: pip install 'dask[distributed]'"
            ) from error
        try:
            self.client = Client(address, timeout="5s")
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            raise BatchError(f"--scheduler {address}: cannot connect ({error})") from None
        self.workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
        self.work = work
        self.scattered = self.client.scatter(work, broadcast=True)

    def map(self, task: Callable[..., R], calls: list[tuple]) -> list[R]:
        tasks = [self.client.submit(task, self.scattered, *args, pure=False) for args in calls]
        return list(self.client.gather(tasks))

    def close(self) -> None:
        self.client.close()


def open_pool(scheduler: str | None, work: Subproblems) -> Pool:
    """The pool for ``scheduler``: None, in process; ``local`` or ``local:N``, N spawned
    processes (default: the machine's cores); anything else, a Dask scheduler's address.
    Raises BatchError for a bad ``local:N`` or an address it cannot reach."""
    if not scheduler:
        return InProcess(work)
    head, colon, count = scheduler.partition(":")
    if head == "local":
        if colon and not (count.isdigit() and int(count) >= 1):
            raise BatchError(f"--scheduler {scheduler}: give local, local:N (N >= 1) or an address")
        return LocalProcesses(work, int(count) if colon else os.cpu_count() or 1)
    return DaskCluster(work, scheduler)


__all__ = [
    "GroupReply",
    "Pool",
    "Subproblems",
    "open_pool",
    "peak_rss_mb",
    "scorer_for",
    "solve_group",
]
