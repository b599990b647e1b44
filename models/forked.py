"""Run one function in a forked child process while the caller does other work.

A forked child starts as a copy of the caller: it pays for no imports, unlike a worker pool's
fresh interpreters, which on two cores cost more than the handful of model fits they would
share (see benchmarks/RESULTS_reports.md). Where ``fork`` is not safe (not Linux), the
function runs in the caller when its result is asked for, so results never depend on it.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

CAN_FORK = sys.platform.startswith("linux")


def _child(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        outcome: tuple[bool, Any] = (True, func(*args))
    except BaseException as error:  # handed to the parent, which re-raises it
        outcome = (False, error)
    try:
        conn.send(outcome)
    except Exception as error:  # an unpicklable result or exception
        conn.send((False, RuntimeError(f"{func.__name__}: {error}")))
    conn.close()


@contextmanager
def beside(func: Callable[..., T], *args: Any) -> Iterator[Callable[[], T]]:
    """Start ``func(*args)`` in a forked child; yield a function that waits for its result.

    The yielded function returns the child's result or re-raises its exception (a child that
    dies without answering raises RuntimeError). Leaving the block early ends the child.
    """
    if not CAN_FORK:
        done: list[T] = []

        def run_here() -> T:
            if not done:
                done.append(func(*args))
            return done[0]

        yield run_here
        return
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(writer, func, args), daemon=True)
    process.start()
    writer.close()
    answer: list[tuple[bool, Any]] = []

    def result() -> T:
        if not answer:
            try:
                answer.append(reader.recv())
            except EOFError:
                process.join()
                raise RuntimeError(
                    f"{func.__name__}: the child process ended without a result "
                    f"(exit code {process.exitcode})"
                ) from None
        ok, value = answer[0]
        if not ok:
            raise value
        return value

    try:
        yield result
    finally:
        if not answer and process.is_alive():
            process.terminate()
        process.join()
        reader.close()
