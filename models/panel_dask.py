"""Panel forecasts on a Dask cluster: ``forecast.py run --scheduler ADDRESS`` or ``local[:N]``.

The chunks of :func:`models.panel_auto.forecast_panel` (fixed blocks of series, independent of
one another) are mapped over the cluster's workers and gathered in order; the choice and the
calibration, which need the whole panel, run in this process. The addresses follow the batch
runner's (``engine/batch/pools.py``): ``tcp://host:8786`` for an existing scheduler, ``local`` or
``local:N`` for a LocalCluster of N single-threaded worker processes (default: one per core).
Workers of an existing cluster must be able to import this repository's ``models`` package
(started from its folder, or with it on ``PYTHONPATH``).

Imported only when ``--scheduler`` is given (it needs ``distributed``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from models.errors import ForecastInputError

#: How long to wait for a scheduler before giving up (a bad address fails within this).
CONNECT_TIMEOUT_S = 5
MAX_LOCAL_WORKERS = 64


def _local_workers(address: str) -> int:
    """N of ``local:N`` (default: the machine's cores), refused unless 1..MAX_LOCAL_WORKERS."""
    _, sep, count = address.partition(":")
    if not sep:
        return max(min(os.cpu_count() or 1, MAX_LOCAL_WORKERS), 1)
    if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
        raise ForecastInputError(
            f"--scheduler {address}: local:N needs N from 1 to {MAX_LOCAL_WORKERS} worker processes"
        )
    return int(count)


@contextlib.contextmanager
def dask_runner(address: str) -> Iterator[Callable[[Callable[..., Any], list[tuple]], list[Any]]]:
    """A runner for :func:`models.panel_auto.forecast_panel` on the Dask cluster at
    ``address`` (see the module doc), closed on exit.

    Raises
    ------
    ForecastInputError
        ``distributed`` is not installed, the address is malformed, or no scheduler answers
        within :data:`CONNECT_TIMEOUT_S` seconds.
    """
    is_local = address == "local" or address.startswith("local:")
    workers = _local_workers(address) if is_local else 0
    if not is_local and "://" not in address:
        raise ForecastInputError(
            f"--scheduler {address!r}: expected a scheduler address such as tcp://host:8786, "
            "or local / local:N"
        )
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ForecastInputError(
            "--scheduler needs Dask distributed: pip install 'dask[distributed]'"
        ) from None
    cluster = client = None
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S}s"}):
            if is_local:
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port, never a clash on 8787
                    silence_logs=40,
                )
                client = Client(cluster)
            else:
                client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except Exception as error:  # any failure to reach the cluster is the address's fault
        _close(client, cluster)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, OSError | TimeoutError | ValueError):
            reason = f"no Dask scheduler answered there: {reason}"
        raise ForecastInputError(f"--scheduler {address}: cannot connect ({reason})") from None

    def run(func: Callable[..., Any], items: list[tuple]) -> list[Any]:
        futures = client.map(func, *zip(*items, strict=True), pure=False)
        return client.gather(futures)

    try:
        yield run
    finally:
        _close(client, cluster)


def _close(client: Any, cluster: Any) -> None:
    for thing in (client, cluster):
        if thing is not None:
            with contextlib.suppress(Exception):
                thing.close()
