"""Hostile ``--set`` edits and mutated scenarios through the other commands that read a
scenario, for the fuzzer (see :mod:`tests.fuzz_inputs`).

An edit with a bad path (empty parts, unknown sections or ids, a path through a value)
or a field given a value of the wrong kind (unreadable YAML, NaN, a tag, a container for
a number), through ``validate`` and ``whatif``; and a scenario mutated as in
:mod:`tests.fuzz_scenarios` through ``whatif --against``, ``members``, ``explain`` and
``forecast.py fund --scenario``.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from tests.fuzz_inputs import DIR, Case, never_valid_for
from tests.fuzz_scenarios import (
    BASES,
    INVALID,
    MAYBE_VALID,
    MUTATIONS,
    SOLVABLE,
    Path_,
    base_data,
    dump,
    get,
    walk,
    words_for,
)

BAD_PATHS = [
    "",
    ".",
    "..",
    "areas..floor",
    "areas.nosuch.floor",
    "fund.name.x",
    "fund.years.2026",
    "nosuch",
    "fund.",
    ".fund",
    "x" * 5000,
    "ü.ñ",
    " . ",
    "members.0.pledge",
    "fund.years.0",
]
HOSTILE_EDIT_VALUES = [
    "[",
    "{",
    "]",
    "!!python/object/apply:os.system ['true']",
    ".nan",
    ".inf",
    "-.inf",
    "nan",
    "1e400",
    "12 bn",
    "-5%",
    "150%",
    "''",
    "'",
    '"',
    "a: b: c",
    "[" * 200 + "]" * 200,
    "&a [*a]",
    "~",
    "null",
    "yes",
    "[1, 2]",
    "{a: 1}",
    "\x00",
    "Ünïcødé",
    "9" * 5000,
    "-1",
    "1e308bn",
]


def _edit_targets(data: dict[str, Any]) -> list[tuple[str, Any, Path_]]:
    """Dotted ``--set`` paths of the scenario's fields (list items by id), with the value
    each holds and its path in the data."""
    out = []
    for path, value in walk(data):
        if not path or isinstance(value, dict):
            continue
        parts = []
        for depth, part in enumerate(path):
            if isinstance(part, int):
                item = get(data, path[: depth + 1])
                if not (isinstance(item, dict) and isinstance(item.get("id"), str)):
                    break
                parts.append(item["id"])
            else:
                parts.append(str(part))
        else:
            if not isinstance(path[-1], int):
                out.append((".".join(parts), value, path))
    return out


@st.composite
def bad_edits(draw: st.DrawFn) -> Case:
    """``validate`` or ``whatif`` of a shipped scenario with one hostile ``--set`` edit: a
    bad path, or a field given a value of the wrong kind."""
    base = draw(st.sampled_from(BASES))
    data = base_data(base)
    if draw(st.booleans()):
        path = draw(st.sampled_from(BAD_PATHS))
        edit, codes, words = (
            f"{path}={draw(st.sampled_from(['1', '5bn', '[a]']))}",
            INVALID,
            ("--set",),
        )
    else:
        path, original, where = draw(st.sampled_from(_edit_targets(data)))
        value = draw(st.sampled_from(HOSTILE_EDIT_VALUES))
        parsed = _yaml_or_none(value)
        never = parsed is _UNREADABLE or never_valid_for(original, parsed)
        edit, codes = f"{path}={value}", INVALID if never else MAYBE_VALID
        words = ("--set", *(words_for(data, where) if never else ()))
    if base in SOLVABLE and draw(st.booleans()):
        codes = codes | {1} if 0 in codes else codes
        return Case(
            f"{base}: whatif {edit[:60]}",
            "optimise.py",
            ("whatif", base, "--set", edit),
            codes,
            words,
        )
    return Case(
        f"{base}: --set {edit[:60]}", "optimise.py", ("validate", base, "--set", edit), codes, words
    )


_UNREADABLE = object()


def _yaml_or_none(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return _UNREADABLE
    return value


#: What each command's ``--out`` folder holds after a previous run (one file is enough).
OUT_FILES = {"whatif": ("summary.json",), "fund": ("fund.csv",)}


@st.composite
def other_commands(draw: st.DrawFn) -> Case:
    """A shipped scenario mutated once (as :func:`tests.fuzz_scenarios.mutated_scenarios`
    does) through ``whatif --against``, ``members``, ``explain`` or ``forecast.py fund``."""
    command = draw(st.sampled_from(["whatif", "members", "explain", "fund"]))
    base = draw(st.sampled_from(("aspf-2026", "nif") if command == "fund" else SOLVABLE))
    data = base_data(base)
    what, codes, words = draw(draw(st.sampled_from(MUTATIONS))(data))
    form = draw(st.sampled_from(["yaml", "json"]))
    name = f"mutated-{base}.{form}"
    path = f"{DIR}/{name}"
    script, out = "optimise.py", None
    if command == "whatif":
        args: tuple[str, ...] = ("whatif", base, "--against", path, "--out", f"{DIR}/out")
        out = "out"
    elif command == "fund":
        script, out = "forecast.py", "out"
        args = ("fund", "--scenario", path, "--samples", "100", "--horizon", "3",
                "--jobs", "1", "--out", f"{DIR}/out")  # fmt: skip
    else:
        args = (command, path)
    if command != "fund" and 0 in codes:
        codes = codes | {1}
    return Case(
        f"{base}: {command} after {what}",
        script,
        args,
        codes,
        (name, *words),
        files={name: dump(data, form)},
        out=out,
        out_files=OUT_FILES.get(command, ()) if out else (),
    )
