"""Running a command-line app: usage errors as one ``error:`` line, the exit code kept.

Typer draws a usage error (an unknown option, a value out of range) as a framed box that rich
wraps at the terminal's width, so a long message or path is cut over several lines. Both entry
points run through :func:`run` instead: the same message, on one line, with exit code 2.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console

#: The exit code of a command whose reader closed the pipe (128 + SIGPIPE, as a shell shows).
EXIT_BROKEN_PIPE = 141


class PipedConsole(Console):
    """A rich console whose output piped into a reader that stops early (``| head``) ends the
    command with 141, as a Unix tool killed by SIGPIPE, not rich's exit 1: 1 is the code for
    "no plan". (Restoring SIGPIPE's default action instead would also kill a batch run whose
    worker dies with its pipe open.)"""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail
        raise SystemExit(EXIT_BROKEN_PIPE)


def one_line(text: str) -> str:
    """``text`` with its whitespace (newlines included) collapsed to single spaces."""
    return " ".join(str(text).split())


def run(app: typer.Typer) -> NoReturn:
    """Run ``app`` on ``sys.argv`` and exit: 0 on success, the command's own code, 2 on a usage
    error (printed as ``error: ... (see 'prog cmd --help')``), 130 on Ctrl-C, 141 when a
    reader stops reading early (:class:`PipedConsole`)."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # click's errors; usage errors carry their context
        message = one_line(exc.format_message())
        if message:  # empty when the help was the answer (a group called without a command)
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            sys.stderr.write(f"error: {message}{hint}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)
