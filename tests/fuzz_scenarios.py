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
    value = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))  # never the shared one
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
    field-level mutation (now and then two: then only the file must be named, as the
    first problem may hide the second, and the second may undo the first), written as
    YAML or JSON."""
    base = draw(st.sampled_from(BASES))
    data = base_data(base)
    what, codes, words = draw(draw(st.sampled_from(MUTATIONS))(data))
    if draw(st.integers(0, 3)) == 0:
        more, more_codes, _ = draw(draw(st.sampled_from(MUTATIONS))(data))
        what, codes, words = f"{what}; {more}", codes | more_codes, ()
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
