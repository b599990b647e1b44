"""``--set PATH=VALUE`` edits: change a scenario without touching its file.

Paths walk the file format; list items are addressed by their id
(``areas.cyber.floor=12bn``, ``members.GBR.opt_out=[space]``, ``fund.years=[2026,2027]``),
also as messages name them (``areas[cyber].floor=12bn``).
Values are read as YAML, so lists, numbers and strings such as ``12bn`` all work.
An edited scenario goes through the same validation as a file: a plain number given for
an amount is in the fund's currency, and ``areas.cyber.floor=12`` is refused as ambiguous
(write ``12bn``); see :mod:`engine.scenario.fields`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.errors import ScenarioError
from engine.files.text_formats import ParseProblem, parse_yaml
from engine.scenario.fields import TypedNumber
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario

#: A list item by id in a path as messages write it (``areas[cyber]``).
_ITEM = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True)
class Edit:
    """One edit: a dotted path into the scenario and the new value (already parsed)."""

    path: str
    value: Any

    def __str__(self) -> str:
        return f"{self.path}={self.value}"


def parse_edit(text: str) -> Edit:
    """Parse ``PATH=VALUE``; raises ScenarioError for a malformed edit."""
    path, sep, raw = text.partition("=")
    # Messages name fields as areas[cyber].floor: the same path, copied into an edit.
    path = _ITEM.sub(r".\1", path.strip())
    if not sep or not path:
        raise ScenarioError([f"--set {text!r}: expected PATH=VALUE, e.g. areas.cyber.floor=12bn"])
    if any(not part.strip() for part in path.split(".")):
        raise ScenarioError(
            [
                f"--set {_shown(path)}: the path has an empty part between its dots; write "
                "the names of the sections and fields, e.g. areas.cyber.floor=12bn"
            ]
        )
    try:
        value = parse_yaml(raw) if raw.strip() else None
    except ParseProblem as problem:
        raise ScenarioError(
            [f"--set {_shown(path)}={_shown(raw)}: the value is not readable ({problem})"]
        ) from None
    return Edit(path, typed_value(value))


def _shown(text: str, most: int = 60) -> str:
    """``text`` as a message shows it: whole when short, else its start and its length."""
    return text if len(text) <= most else f"{text[:40]}... ({len(text):,} characters)"


def edited_source(source: str | None, edits: Iterable[Edit | str]) -> str | None:
    """What a message names for a scenario read from ``source`` with ``edits`` applied:
    ``nif.yaml with --set areas.cyber.floor=12bn`` (a problem may come from either)."""
    shown = " ".join(f"--set {_shown(str(edit))}" for edit in edits)
    if not shown:
        return source
    return f"{source} with {shown}" if source else shown


def typed_value(value: Any) -> Any:
    """Mark the plain numbers of an edit as typed (checked for ambiguity on amounts)."""
    if isinstance(value, bool) or not isinstance(value, int | float | dict | list):
        return value
    if isinstance(value, dict):
        return {k: typed_value(v) for k, v in value.items()}
    if isinstance(value, list):  # a value curve's segments, a pledge list
        return [typed_value(v) for v in value]
    return TypedNumber(value) if isinstance(value, float) or abs(value) < 10**15 else value


def _own(parent: Any, key: Any, owned: dict[int, Any]) -> Any:
    """``parent[key]`` as a container of the copy being edited: copied once, on first
    visit (dicts and lists; other values are replaced, never changed in place). ``owned``
    holds the copies by id, which keeps them alive and so their ids unique."""
    child = parent[key]
    if isinstance(child, dict | list) and owned.get(id(child)) is not child:
        child = parent[key] = child.copy()
        owned[id(child)] = child
    return child


def _item_key(item: dict[str, Any]) -> Any:
    """What an edit calls a list item by: its ``id``; an area coalition, which has none, by
    its ``area`` (``area_coalitions.arctic.min_amount``); a call's stage by its ``name``
    (``calls.ch.stages.s1.max_count``)."""
    for key in ("id", "area", "name"):
        if key in item:
            return item[key]
    return None


def _positional(items: list[Any]) -> bool:
    """Whether an edit calls ``items`` by position: none of them has an id (a value curve's
    segments, a yearly pledge list)."""
    return bool(items) and all(
        not isinstance(item, dict) or _item_key(item) is None for item in items
    )


def _position(items: list[Any], item_id: str, ids: dict[int, tuple[list, dict]]) -> int | None:
    """Where the item with ``item_id`` is in ``items`` (first match; None if absent), from
    an index of the list built once (an edit per member would otherwise scan the list for
    each); ``ids`` holds each indexed list with its index."""
    entry = ids.get(id(items))
    if entry is None or entry[0] is not items:
        entry = ids[id(items)] = (items, {})
        for k, item in enumerate(items):
            if isinstance(item, dict):
                entry[1].setdefault(_item_key(item), k)
    return entry[1].get(item_id)


def _apply(data: dict[str, Any], edit: Edit, owned: dict[int, Any], ids: dict) -> None:
    parts = edit.path.split(".")
    node: Any = data
    walked = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list) and _positional(node):
            # Items with no id (a value curve's segments, a yearly pledge list): by position.
            if not (part.isdigit() and int(part) < len(node)):
                raise ScenarioError(
                    [
                        f"--set {edit}: {walked} has {len(node)} item(s), numbered from 0 to "
                        f"{len(node) - 1}; got {part!r}"
                    ]
                )
            if last:
                node[int(part)] = edit.value
                return
            node, walked = _own(node, int(part), owned), f"{walked}[{part}]"
            continue
        if isinstance(node, list):
            k = _position(node, part, ids)
            if k is None:
                known = ", ".join(str(_item_key(item)) for item in node if isinstance(item, dict))
                raise ScenarioError(
                    [f"--set {edit}: {walked} has no item with id {part!r} (known: {known})"]
                )
            if last:
                raise ScenarioError([f"--set {edit}: give a field of {walked}[{part}] to change"])
            node, walked = _own(node, k, owned), f"{walked}[{part}]"
            continue
        if not isinstance(node, dict):
            raise ScenarioError([f"--set {edit}: {walked} is a value, not a section"])
        if last:
            node[part] = edit.value
            return
        if part not in node or node[part] is None:
            node[part] = [] if parts[i + 1 : i + 2] and part in ("members", "areas") else {}
        node, walked = _own(node, part, owned), f"{walked}.{part}" if walked else part


def apply_edits_to_data(data: dict[str, Any], edits: Iterable[Edit | str]) -> dict[str, Any]:
    """A copy of scenario data with the edits applied (no validation); ``data`` is left
    unchanged. Only the containers on the edits' paths are copied; the rest is shared with
    ``data``, so a member's pledge edit does not copy the other members."""
    out = dict(data)
    owned: dict[int, Any] = {id(out): out}
    ids: dict[int, tuple[list, dict]] = {}
    for edit in edits:
        _apply(out, parse_edit(edit) if isinstance(edit, str) else edit, owned, ids)
    return out


def apply_edits(scenario: Scenario, edits: Iterable[Edit | str]) -> Scenario:
    """A new, validated scenario with the edits applied; the input is left unchanged.

    Raises ScenarioError when an edit's path is unknown or the result is invalid.
    """
    edits = list(edits)
    if not edits:
        return scenario
    data = apply_edits_to_data(scenario.to_input(), edits)
    return validate_scenario(data, source=edited_source(None, edits))
