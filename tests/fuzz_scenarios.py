"""Hostile scenario files and ``--set`` edits for the fuzzer (see :mod:`tests.fuzz_inputs`).

Each strategy starts from a shipped scenario (``datasets/scenarios/*.yaml``) and breaks it
one way: a field dropped or given a value of the wrong kind, an id written twice, a
reference to an id that does not exist, years out of order, a floor above its ceiling,
or the file's bytes (a syntax error at a random place, cut short, binary junk, a BOM,
CRLF, tabs, deep nesting, YAML anchors, aliases, merge keys and tags, JSON's NaN).
Where the schema says the result can never be valid, the case expects exit 2 and names
the file and the field; otherwise it allows the outcome a valid file may have too.
"""

from __future__ import annotations

import copy
import json
import math
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from pydantic import BaseModel

from engine.scenario.schema import Scenario
from tests.fuzz_inputs import DIR, HOSTILE_VALUES, Case, never_valid_for

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "datasets" / "scenarios"
#: The shipped scenarios mutated, the small ones more often (a case then runs faster).
BASES = ("purl-2025", "nif", "purl-2025", "nif", "aspf-2026", "diana")
#: Bases small enough to solve in a case (well under a second each).
SOLVABLE = ("purl-2025", "nif")
#: What ``validate`` may answer for an input that might be valid; ``solve`` adds 1.
MAYBE_VALID = frozenset({0, 2})
INVALID = frozenset({2})
#: The files ``solve --out`` owns (a previous run's; any is enough for the check).
RESULT_FILES = ("allocation.csv", "summary.json")

Path_ = tuple[str | int, ...]


@cache
def base_text(name: str) -> str:
    """The shipped scenario ``name`` as written."""
    return (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8")


def base_data(name: str) -> dict[str, Any]:
    """A fresh copy of the shipped scenario ``name`` as plain data."""
    return copy.deepcopy(_parsed(name))


@cache
def _parsed(name: str) -> dict[str, Any]:
    return yaml.safe_load(base_text(name))


def walk(data: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every node below ``data`` with its path (keys and list positions), depth first."""
    out = [(path, data)]
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        out += walk(value, (*path, key))
    return out


def get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def put(data: Any, path: Path_, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def words_for(data: Any, path: Path_) -> tuple[str, ...]:
    """What a refusal of the field at ``path`` must name: its nearest key and the id of
    the nearest list item around it (``areas[cyber].floor``: ``floor`` and ``cyber``)."""
    keys = [p for p in path if isinstance(p, str)]
    ident = None
    for depth in range(len(path) - 1, -1, -1):
        if isinstance(path[depth], int):
            item = get(data, path[: depth + 1])
            named = isinstance(item, dict) and isinstance(item.get("id"), str)
            if named and path[depth + 1 :] != ("id",):
                ident = item["id"]
                break
    return tuple(w for w in (keys[-1] if keys else None, ident) if w)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``list[Member] | None``: Member)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def is_required(path: Path_) -> bool | None:
    """Whether the schema requires the key at ``path`` (None: the path leaves the models,
    e.g. into a pledge's years)."""
    model: type[BaseModel] | None = Scenario
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    last = path[-1]
    if model is None or not isinstance(last, str) or last not in model.model_fields:
        return None
    return model.model_fields[last].is_required()


# ---------------------------------------------------------------------- data mutations


@st.composite
def dropped_field(
    draw: st.DrawFn, data: dict[str, Any]
) -> tuple[str, frozenset[int], tuple[str, ...]]:
    keyed = [(p, v) for p, v in walk(data) if p and isinstance(p[-1], str)]
    path, _ = draw(st.sampled_from(keyed))
    words = words_for(data, path)
    del get(data, path[:-1])[path[-1]]
    required = is_required(path)
    return f"drop {path}", INVALID if required else MAYBE_VALID, words if required else ()


@st.composite
def wrong_value(
    draw: st.DrawFn, data: dict[str, Any]
) -> tuple[str, frozenset[int], tuple[str, ...]]:
    leaves = [(p, v) for p, v in walk(data) if p and not isinstance(v, dict | list)]
    path, original = draw(st.sampled_from(leaves))
    value = draw(st.sampled_from(HOSTILE_VALUES))
    words = words_for(data, path)
    put(data, path, value)
    never = never_valid_for(original, value)
    shown = repr(value) if len(repr(value)) < 40 else repr(value)[:40] + "..."
    return (
        f"{path}: {original!r} -> {shown}",
        INVALID if never else MAYBE_VALID,
        words if never else (),
    )


def _ided_lists(data: Any) -> list[Path_]:
    return [
        p
        for p, v in walk(data)
        if isinstance(v, list) and v and all(isinstance(i, dict) and "id" in i for i in v)
    ]


@st.composite
def duplicate_id(
    draw: st.DrawFn, data: dict[str, Any]
) -> tuple[str, frozenset[int], tuple[str, ...]]:
    path = draw(st.sampled_from(_ided_lists(data)))
    items = get(data, path)
    item = copy.deepcopy(draw(st.sampled_from(items)))
    items.insert(draw(st.integers(0, len(items))), item)
    return f"duplicate {path} id {item['id']}", INVALID, ("duplicate", str(item["id"]))


def _known_ids(data: dict[str, Any]) -> dict[str, str]:
    """Every id of an item of a list, with the unknown id of the same form to put instead."""
    ids = {}
    for path in _ided_lists(data):
        for item in get(data, path):
            if isinstance(item["id"], str):
                ids[item["id"]] = "ZZZ" if item["id"].isupper() else "zz_unknown"
    return ids


@st.composite
def unknown_reference(
    draw: st.DrawFn, data: dict[str, Any]
) -> tuple[str, frozenset[int], tuple[str, ...]]:
    known = _known_ids(data)
    refs = [
        (p, v)
        for p, v in walk(data)
        if isinstance(v, str) and v in known and p and p[-1] not in ("id", "name", "label")
    ]
    keys = [
        (p, k)
        for p, v in walk(data)
        if isinstance(v, dict) and p
        for k in v
        if isinstance(k, str) and k in known
    ]
    if not (refs or keys):
        return "no references", MAYBE_VALID, ()
    if refs and (not keys or draw(st.booleans())):
        path, ref = draw(st.sampled_from(refs))
        put(data, path, known[ref])
    else:
        path, ref = draw(st.sampled_from(keys))
        node = get(data, path)
        node[known[ref]] = node.pop(ref)
    return f"unknown reference at {path}: {ref} -> {known[ref]}", INVALID, (known[ref],)


BAD_YEARS: list[Any] = [
    [],
    [2027, 2026],
    [2026, 2026],
    [2026, "x"],
    [2026.5],
    2026,
    "2026-2030",
    None,
    [True],
]


@st.composite
def bad_years(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, frozenset[int], tuple[str, ...]]:
    years = draw(st.sampled_from(BAD_YEARS))
    data["fund"]["years"] = years
    return f"fund.years {years!r}", INVALID, ("fund.years",)


@st.composite
def floor_above_ceiling(
    draw: st.DrawFn, data: dict[str, Any]
) -> tuple[str, frozenset[int], tuple[str, ...]]:
    unit = data["fund"].get("unit", "bn")
    low, high = draw(st.sampled_from([(f"2{unit}", f"1{unit}"), ("60%", "30%")]))
    if data.get("policies") and draw(st.booleans()):
        policy = draw(st.sampled_from(data["policies"]))
        policy.update(at_least=low, at_most=high)
        return f"policy {policy['id']} {low} > {high}", INVALID, (f"policies[{policy['id']}]",)
    area = draw(st.sampled_from(data["areas"]))
    area.update(floor=low, ceiling=high)
    return f"area {area['id']} floor {low} > ceiling {high}", INVALID, (f"areas[{area['id']}]",)


MUTATIONS = (
    dropped_field,
    wrong_value,
    wrong_value,
    duplicate_id,
    unknown_reference,
    bad_years,
    floor_above_ceiling,
)


def dump(data: Any, form: str) -> bytes:
    """Scenario data as a YAML or JSON file's bytes (JSON writes NaN as ``NaN``)."""
    if form == "json":
        return json.dumps(data, allow_nan=True, ensure_ascii=False).encode("utf-8")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def _command(
    base: str, name: str, solve: bool, codes: frozenset[int]
) -> tuple[tuple[str, ...], frozenset[int], str | None]:
    if solve and base in SOLVABLE:
        return (
            ("solve", f"{DIR}/{name}", "--out", f"{DIR}/out"),
            codes | {1} if 0 in codes else codes,
            "out",
        )
    return ("validate", f"{DIR}/{name}"), codes, None


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> Case:
    """``validate`` (or ``solve --out`` over a previous run) of a shipped scenario with one
    field-level mutation, written as YAML or JSON."""
    base = draw(st.sampled_from(BASES))
    data = base_data(base)
    what, codes, words = draw(draw(st.sampled_from(MUTATIONS))(data))
    form = draw(st.sampled_from(["yaml", "yaml", "json"]))
    name = f"mutated-{base}.{form}"
    args, codes, out = _command(base, name, draw(st.booleans()), codes)
    return Case(
        f"{base}: {what}",
        "optimise.py",
        args,
        codes,
        (name, *words),
        files={name: dump(data, form)},
        out=out,
        out_files=RESULT_FILES if out else (),
    )


# ---------------------------------------------------------------------- byte mutations

JUNK = [
    ":",
    "[",
    "{",
    "]",
    "}",
    '"',
    "'",
    "\t",
    "&",
    "*",
    "!",
    "%",
    "@",
    "`",
    "|",
    ">",
    "\x00",
    "- ",
    "\n  ",
    "#",
]


def _anchored(text: str) -> str:
    """Members written once with an anchor, then merged (``<<: *first``) into an area."""
    data = yaml.safe_load(text)
    first = yaml.safe_dump(data["members"][0], default_flow_style=True).strip()
    return text + f"\nx_anchor: &first {first}\nx_merge:\n  <<: *first\n  id: XXX\n"


def _laughs(text: str) -> str:
    """Billion laughs with YAML aliases: ten aliases of ten aliases, nine levels deep."""
    lines = ["fund_laughs:", "  a0: &a0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return text + "\n" + "\n".join(lines) + "\n"


TAGS = [
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!custom x",
    "!!binary aGk=",
    "!!set {a, b}",
    "!!timestamp 2026-01-01",
    "!!float 1e400",
    "!!int 0x",
]


@st.composite
def corrupted_files(draw: st.DrawFn) -> Case:
    """``validate`` of a shipped scenario's file broken at the byte level."""
    base = draw(st.sampled_from(BASES))
    text = base_text(base)
    kind = draw(
        st.sampled_from(
            [
                "junk",
                "cut",
                "truncate",
                "binary",
                "bom",
                "crlf",
                "tabs",
                "long",
                "deep",
                "anchors",
                "laughs",
                "tag",
                "json-nan",
                "json-bom",
                "latin-1",
                "empty",
                "multi-doc",
            ]
        )
    )
    codes, suffix = MAYBE_VALID, "yaml"
    if kind == "junk":
        at = draw(st.integers(0, len(text)))
        body = (text[:at] + draw(st.sampled_from(JUNK)) + text[at:]).encode()
    elif kind == "cut":
        at = draw(st.integers(0, len(text) - 1))
        body = (text[:at] + text[at + draw(st.integers(1, 40)) :]).encode()
    elif kind == "truncate":
        body = text.encode()[: draw(st.integers(0, len(text.encode()) - 1))]
    elif kind == "binary":
        body = draw(st.binary(min_size=1, max_size=400))
    elif kind in ("bom", "crlf"):
        codes = frozenset({0})
        body = ("\ufeff" + text if kind == "bom" else text.replace("\n", "\r\n")).encode()
    elif kind == "tabs":
        body = text.replace("\n  ", "\n\t").encode()
    elif kind == "long":
        body = text.replace("name: ", "name: " + "ω" * 200_000, 1).encode()
    elif kind == "deep":
        depth = draw(st.integers(60, 5000))
        body = (text + "\nx_deep: " + "[" * depth + "]" * depth + "\n").encode()
        codes = INVALID
    elif kind == "anchors":
        body, codes = _anchored(text).encode(), INVALID  # x_anchor is an unknown field
    elif kind == "laughs":
        body, codes = _laughs(text).encode(), INVALID
    elif kind == "tag":
        tag = draw(st.sampled_from(TAGS))
        body = text.replace("\nfund:\n", f"\nx_tag: {tag}\nfund:\n", 1).encode()
        codes = INVALID
    elif kind in ("json-nan", "json-bom"):
        suffix = "json"
        data = _parsed(base)
        if kind == "json-bom":
            body, codes = ("\ufeff" + json.dumps(data)).encode(), frozenset({0})
        else:
            mutated = copy.deepcopy(data)
            mutated["areas"][0]["priority"] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
            body, codes = json.dumps(mutated).encode(), INVALID
    elif kind == "latin-1":
        body = text.replace("name: ", "name: Åland ", 1).encode("latin-1", errors="replace")
    elif kind == "empty":
        body, codes = (
            draw(st.sampled_from([b"", b"\n", b"# only a comment\n", b"---\n", b"~\n"])),
            INVALID,
        )
    else:
        body = (text + "\n---\n" + text).encode()
    name = f"{kind}-{base}.{suffix}"
    return Case(
        f"{base}: {kind}",
        "optimise.py",
        ("validate", f"{DIR}/{name}"),
        codes,
        (name,),
        files={name: body},
    )


# ---------------------------------------------------------------------- --set edits

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
    data = _parsed(base)
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
