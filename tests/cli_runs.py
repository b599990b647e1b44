"""Command lines through the CLI's real entry points, many in one Python process.

Starting Python and importing the engine costs about a second of CPU per command; test
modules that check dozens of exit codes and messages would spend most of their time there.
A :class:`CliProcess` is ONE Python process that runs the commands sent to it one after
another, each as ``python optimise.py ARGS`` (or ``forecast.py``) would run:

- the script run as ``__main__`` with ``sys.argv`` set, in the folder asked for;
- its standard output and error (Python's and the C libraries' alike) written to files, as
  when a process's output is redirected, and read back; standard input empty;
- its exit code as the process would give it: ``SystemExit``'s code, or 1 with the
  traceback on stderr for an uncaught exception.

:func:`cli` runs one command in this test process's shared :class:`CliProcess` (one per
environment); :func:`run_many` runs a list of commands in a fresh one. What only a fresh
process shows (a crash, a signal, the interpreter's own exit) needs a real subprocess:
keep a few of those beside (tests/test_hostile_inputs.py does).
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import selectors
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
#: The environment the CLI tests give the commands: wide lines, UTF-8 output.
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


def _stream(fd: int) -> IO[str]:
    return open(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False)


def run_one(script: str, args: list[str], cwd: str | Path = ROOT) -> Ran:
    """Run ``script`` (a path relative to the repository) as ``__main__`` with ``args`` in
    the folder ``cwd``, its file descriptors 1 and 2 on temporary files (this process's
    are restored afterwards)."""
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_fds = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout, sys.stderr = _stream(1), _stream(2)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
        sys.argv = [str(ROOT / script), *args]
        try:
            os.chdir(cwd)
            runpy.run_path(str(ROOT / script), run_name="__main__")
            code = 0
        except SystemExit as error:
            code, text = _exit_code(error)
            sys.stderr.write(text)
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr, sys.stdin):
                stream.close()
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            for fd, saved in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            sys.argv = saved_argv
            os.chdir(saved_cwd)
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read().decode("utf-8", errors="backslashreplace"))
    return Ran(code, *texts)


class CliProcess:
    """One Python process that runs commands one at a time (:func:`run_one`), with this
    process's environment plus ``env``; started on first use, and again if it died."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = {**os.environ, **CLI_ENV, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                env=self.env,
                text=True,
                encoding="utf-8",
            )
        return self.proc

    def run(self, script: str, *args: str, cwd: Path = ROOT, timeout: float = 600) -> Ran:
        """Run ``python SCRIPT ARGS`` in the folder ``cwd``; what a process would give."""
        proc = self._start()
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps({"script": script, "args": list(args), "cwd": str(cwd)}))
        proc.stdin.write("\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.close()
                raise TimeoutError(f"{script} {' '.join(args)}: no answer in {timeout} s")
        line = proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"the CLI process died running {script} {' '.join(args)}")
        return Ran(**json.loads(line))

    def close(self) -> None:
        """Stop the process (it also ends by itself when this one does)."""
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


_SHARED: dict[tuple[tuple[str, str], ...], CliProcess] = {}


def cli(script: str, *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> Ran:
    """Run ``python SCRIPT ARGS`` in this test process's shared :class:`CliProcess` for
    ``env`` (a command's output width, for one, is fixed when the CLI is first imported)."""
    key = tuple(sorted((env or {}).items()))
    if key not in _SHARED:
        _SHARED[key] = CliProcess(env)
    return _SHARED[key].run(script, *args, cwd=cwd)


@atexit.register
def _close_shared() -> None:
    for process in _SHARED.values():
        process.close()


def run_many(commands: list[tuple[str, list[str]]], cwd: Path = ROOT) -> list[Ran]:
    """Run every ``(script, args)`` in one fresh :class:`CliProcess`, in the folder ``cwd``."""
    process = CliProcess()
    try:
        return [process.run(script, *args, cwd=cwd) for script, args in commands]
    finally:
        process.close()


def _serve() -> None:
    """Answer one JSON line per request line on the standard input and output this process
    started with; the commands get fresh descriptors (see :func:`run_one`)."""
    requests = os.fdopen(os.dup(0), encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # output between commands (there should be none) is dropped
    sys.path[0] = str(ROOT)  # as for ``python optimise.py``: the script's folder first
    for line in requests:
        request: dict[str, Any] = json.loads(line)
        ran = run_one(request["script"], request["args"], request["cwd"])
        replies.write(json.dumps(asdict(ran)) + "\n")
        replies.flush()


if __name__ == "__main__":
    _serve()
