"""What every command shares: turning engine errors into messages and exit codes."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.entry import PipedConsole
from engine import EngineError

#: Exit codes of the contract: 0 optimal, 1 no usable plan, 2 invalid input or usage.
EXIT_OK, EXIT_NO_PLAN, EXIT_BAD_INPUT = 0, 1, 2

console = PipedConsole()
err_console = PipedConsole(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def compact_table(
    *headers: str,
    title: str | None = None,
    wrap: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
) -> Table:
    """A table that fits 80 columns: no vertical rules, two spaces between columns.
    Columns named in ``numbers`` (figures) are right-aligned and never split; those in
    ``wrap`` (text) wrap at word boundaries and give way first; the others (ids) stay
    whole on one line, never cut short by an ellipsis."""
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    for header in headers:
        if header in numbers:  # a figure is never split
            table.add_column(header, no_wrap=True, justify="right")
        elif header in wrap:
            table.add_column(header)
        else:  # an id: whole on one line (the layouts are chosen to fit 80 columns)
            table.add_column(header, no_wrap=True, overflow="fold")
    return table


def check_seconds(value: float | None) -> float | None:
    """Option callback: a time limit is a positive, finite number of seconds (exit 2 with
    the option's name otherwise; typer's own range check lets NaN through)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive number of seconds, got {value!r}")
    return value


def friendly_errors(func: F) -> F:
    """Print EngineErrors as one clear message and exit 2, never with a traceback.

    Unexpected errors are reported in one line too (exit 3); set ENGINE_DEBUG=1 to see
    the traceback when reporting a bug.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EngineError as error:
            # Escaped: field paths such as areas[cyber].floor would read as markup tags.
            err_console.print(
                f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            sys.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        except Exception as error:
            if os.environ.get("ENGINE_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(error).__name__}: {escape(str(error))} "
                "(set ENGINE_DEBUG=1 for the traceback and report it)",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(3)

    return wrapper  # type: ignore[return-value]


#: The scenario argument and ``--set`` option every scenario command takes.
ScenarioArg = Annotated[str, typer.Argument(help="Scenario file or shipped name.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Edit PATH=VALUE, e.g. areas.cyber.floor=12bn (repeatable)."),
]
