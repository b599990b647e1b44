"""Many command lines through the CLI's real entry points, in one Python process.

Starting Python and importing the engine costs about a second of CPU per command; a test
module that checks dozens of refusals would spend most of its time there. :func:`run_many`
starts ONE subprocess that runs each command as ``python optimise.py ARGS`` (or
``forecast.py``) would: the script run as ``__main__`` with ``sys.argv`` set, its stdout and
stderr captured, and its exit code as the process would give it (``SystemExit``'s code, 1
with the traceback on stderr for an uncaught exception). Keep a few real subprocesses
beside it for what only a fresh process shows (tests/test_hostile_inputs.py does).

Run as ``python tests/cli_runs.py`` it reads ``[[script, [args...]], ...]`` as JSON on
stdin and writes one ``{"code", "stdout", "stderr"}`` per command as JSON on stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The environment every CLI test gives the commands: wide lines, UTF-8 output.
CLI_ENV = {"COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}


@dataclass(frozen=True)
class Ran:
    """One command's exit code and output, as ``subprocess.CompletedProcess`` has them."""

    returncode: int
    stdout: str
    stderr: str


def _exit_code(error: SystemExit) -> tuple[int, str]:
    """The process's exit code for ``sys.exit(code)`` and what Python prints for it."""
    code = error.code
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code, ""
    return 1, f"{code}\n"


def run_one(script: str, args: list[str]) -> Ran:
    """Run ``script`` (a path relative to the repository) as ``__main__`` with ``args``."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = [str(ROOT / script), *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(str(ROOT / script), run_name="__main__")
                code = 0
            except SystemExit as error:
                code, text = _exit_code(error)
                err.write(text)
            except BaseException:  # what the interpreter does with an uncaught exception
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.argv = saved
    return Ran(code, out.getvalue(), err.getvalue())


def run_many(commands: list[tuple[str, list[str]]], timeout: float = 600) -> list[Ran]:
    """Run every ``(script, args)`` in one fresh Python process (cwd: the repository)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        input=json.dumps([[script, list(args)] for script, args in commands]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **CLI_ENV},
    )
    if done.returncode != 0:
        raise RuntimeError(f"the CLI driver failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return [Ran(**r) for r in json.loads(done.stdout)]


def _main() -> None:
    commands = json.load(sys.stdin)
    stdout = sys.stdout
    sys.path[0] = str(ROOT)  # as for ``python optimise.py``: the script's folder first
    ran = [run_one(script, args) for script, args in commands]
    json.dump([r.__dict__ for r in ran], stdout)


if __name__ == "__main__":
    _main()
