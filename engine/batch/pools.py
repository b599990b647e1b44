"""Where a batch's scenarios are solved: a local process pool (default) or a Dask cluster.

Both take chunks of points (:meth:`submit`), hand back each finished chunk's replies
(:meth:`replies`) and stop a worker whose scenario overruns the batch's timeout
(:meth:`stop_overdue`): a local worker is killed (which breaks the pool: every worker is
then replaced), a Dask task is cancelled and its worker restarted by its nanny. Local
workers are spawned processes: a script that runs a batch needs the usual
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from engine.batch.sweep import BatchPlan, Point
from engine.batch.sweep_schema import SolverSettings
from engine.batch.worker import Reply, solve_points, solve_points_to_file, start_worker
from engine.errors import BatchError

#: The chunks a pool is solving, by their future.
Inflight = dict[Any, list[Point]]


def _late(starts: dict[Any, tuple[int, float]], timeout: float) -> dict[Any, int]:
    """Workers (by key) whose current scenario started more than ``timeout`` s ago."""
    now = time.time()
    return {who: pos for who, (pos, at) in starts.items() if now - at > timeout}


class LocalPool:
    """A process pool on this machine (spawned processes: safe next to driver threads).

    With a timeout, workers report each scenario's start on a queue; a worker whose
    scenario overruns is killed, which breaks the pool: every worker is then replaced.
    """

    #: Stopping one worker stops the others (their chunks are solved again).
    stops_all = True
    #: Runs first in each worker process.
    initializer = staticmethod(start_worker)

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
        return isinstance(error, BrokenProcessPool)

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


class DaskPool:
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


def make_pool(
    workers: int | None, scheduler: str | None, plan: BatchPlan, timeout: float | None
) -> LocalPool | DaskPool:
    """A Dask pool for ``scheduler`` (an address or ``local:N``), else ``workers`` local
    processes (default: all cores)."""
    if scheduler:
        return DaskPool(scheduler, workers, plan, timeout)
    return LocalPool(workers or os.cpu_count() or 1, plan, timeout)


__all__ = ["DaskPool", "Inflight", "LocalPool", "make_pool"]
