"""The hostile-input fuzzer's cases and its oracle (tests/test_hostile_fuzz.py,
benchmarks/bench_hostile.py ``--fuzz``).

A :class:`Case` is one command of ``optimise.py`` or ``forecast.py`` with the files it
reads, the exit codes it may give and the words its refusal must hold. The strategies
build cases from the shipped scenarios (:mod:`tests.fuzz_scenarios`) and series CSVs
(:mod:`tests.fuzz_series`); :func:`problems` runs one through the real entry point
(:func:`tests.cli_runs.cli`) and lists what is wrong with the outcome: an exit code the
input does not allow (0 only for valid input, 1 only for no plan, 2 for invalid input),
a traceback or internal error, a refusal that does not name the file (or option) and the
field, an ``--out`` folder changed by a refused command.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli_runs import Ran, cli

#: The placeholder for the case's own folder in a case's arguments.
DIR = "{dir}"
#: What a previous run left in an ``--out`` folder, to check a refusal leaves it alone.
PREVIOUS = b"a previous run's file\n"

#: Values of every wrong kind, put where a field's value goes (in data, then dumped).
HOSTILE_VALUES: list[object] = [
    "",
    "Ünïcødé ✓ ☃",
    "12 bn",
    "-5%",
    "150%",
    "1e400",
    "nan",
    "x" * 3000,
    float("nan"),
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    -5,
    10**30,
    0,
    True,
    False,
    None,
    [],
    [1, 2],
    {},
    {"a": 1},
    [[[[[]]]]],
]

#: Values that no number-like field (money, share, priority, year, count) accepts.
NEVER_A_NUMBER = ("", "Ünïcødé ✓ ☃", "-5%", "150%", "1e400", "nan", "x" * 3000)

_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d[\d_,]*(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*([a-z]*|%)\s*$", re.I)


def looks_numeric(value: object) -> bool:
    """Whether a field holding ``value`` in a valid file holds a number (``578m``, ``25%``,
    ``1.0``, ``2026``), as opposed to text, a flag or a container."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and _NUMBER_TEXT.match(value) is not None


def never_valid_for(original: object, value: object) -> bool:
    """Whether ``value`` can never stand where a valid file has ``original``: a container,
    a flag, NaN or infinity, or junk text for a number; a container for text or a flag."""
    container = isinstance(value, list | dict)
    if looks_numeric(original):
        not_finite = isinstance(value, float) and not math.isfinite(value)
        junk = isinstance(value, str) and value in NEVER_A_NUMBER
        return container or not_finite or junk or isinstance(value, bool)
    if isinstance(original, str | bool):
        return container
    return False


@dataclass(frozen=True)
class Case:
    """One command and what its outcome may be.

    ``args`` may hold :data:`DIR`, the case's folder; ``files`` are written there first
    (name to bytes). ``codes`` are the exit codes the input allows; a refusal (exit 2)
    must hold every one of ``words``. ``out`` names an ``--out`` folder in the case's
    folder that a previous run filled with ``out_files``: a refusal must leave it as it was.
    """

    what: str
    script: str
    args: tuple[str, ...]
    codes: frozenset[int]
    words: tuple[str, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)
    out: str | None = None
    out_files: tuple[str, ...] = ()


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def run(case: Case, folder: Path) -> tuple[Ran, dict[str, bytes] | None, dict[str, bytes] | None]:
    """Run ``case`` in ``folder``: what the command gave, and its ``--out`` folder's files
    before and after (None without an ``--out`` folder)."""
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    before = None
    if case.out is not None:
        out = folder / case.out
        out.mkdir()
        for name in case.out_files:
            (out / name).write_bytes(PREVIOUS)
        before = _listing(out)
    args = [a.replace(DIR, str(folder)) for a in case.args]
    ran = cli(case.script, *args, cwd=folder)
    after = _listing(folder / case.out) if case.out is not None else None
    return ran, before, after


def problems(case: Case, folder: Path) -> list[str]:
    """Run ``case`` in ``folder`` and list what is wrong with its outcome (empty: fine)."""
    ran, before, after = run(case, folder)
    text = ran.stdout + ran.stderr
    message = " ".join(text.split())
    found = []
    if ran.returncode not in case.codes:
        found.append(f"exit {ran.returncode}, expected one of {sorted(case.codes)}")
    if "Traceback" in text or "internal error" in message:
        found.append("a traceback or internal error")
    if ran.returncode == 2:
        if not ran.stderr.strip():
            found.append("exit 2 without a message on stderr")
        missing = [w for w in case.words if " ".join(w.split()) not in message]
        if missing:
            found.append(f"the refusal does not name {missing}")
        if before != after:
            found.append("the refusal changed the existing --out folder")
    if found:
        shown = message if len(message) < 1500 else message[:700] + " ... " + message[-700:]
        found.append(f"[{case.what}] {case.script} {' '.join(a[:80] for a in case.args)}: {shown}")
    return found
