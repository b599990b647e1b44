"""YAML and JSON parsed strictly, for scenario files and ``--set`` values.

- A key written twice in one mapping is an error naming the key and both lines (the
  last one silently winning would hide a typo).
- Nesting is bounded (:data:`MAX_DEPTH` levels): a file nested 100,000 deep is refused
  with a message, not a RecursionError.
- So is their size once YAML aliases are expanded (:data:`MAX_VALUES` values): nine
  levels of ten aliases each (a "billion laughs") are refused, not walked for minutes.
- Integers longer than Python's conversion limit and numbers that overflow to infinity
  are refused where they stand; JSON's ``NaN`` and ``Infinity`` are refused by the path
  of the field holding them (``areas[cyber].priority``).

:func:`parse_yaml` and :func:`parse_json` raise :class:`ParseProblem` (a ValueError) whose
text starts with ``line L, column C:`` when the place is known.
"""

from __future__ import annotations

import json
import re
import sys
from json.decoder import JSONObject, scanstring  # type: ignore[attr-defined]
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any

import yaml

#: Deepest nesting of lists and mappings a scenario may use (real ones use about 5).
MAX_DEPTH = 64
#: Most values (lists, mappings and scalars, aliases counted each time they are used) a
#: scenario may hold; the largest shipped one holds about 3,200.
MAX_VALUES = 1_000_000

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ParseProblem(ValueError):
    """The text is not valid, or not acceptable, YAML or JSON; the message says where."""


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class StrictLoader(_BASE_LOADER):
    """The safe loader (C when available), with duplicate keys and huge integers refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            if first is not key_node.start_mark:
                raise ParseProblem(
                    f"{_where(key_node.start_mark)}key {key!r} appears twice in one mapping "
                    f"(first on line {first.line + 1}); write each key once"
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise ParseProblem(
                f"{_where(node.start_mark)}a number of {len(node.value):,} digits; numbers in "
                f"a scenario have at most {sys.get_int_max_str_digits():,} digits"
            ) from None


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


def check_depth(data: Any, limit: int = MAX_DEPTH, most: int = MAX_VALUES) -> None:
    """Raise ParseProblem if lists and mappings nest deeper than ``limit``, or hold more
    than ``most`` values once aliases are expanded (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > most:
            raise ParseProblem(
                f"the data holds more than {most:,} values once YAML aliases (*name) are "
                "expanded; write the values out, or use fewer aliases of aliases"
            )
        if isinstance(item, dict | list):
            if depth > limit:
                raise ParseProblem(f"lists and mappings are nested more than {limit} levels deep")
            values = item.values() if isinstance(item, dict) else item
            stack.extend((value, depth + 1) for value in values)


def _nesting_message(limit: int = MAX_DEPTH) -> str:
    return f"lists and mappings are nested more than {limit} levels deep"


def parse_yaml(text: str) -> Any:
    """Parse YAML text strictly (see the module doc); raises ParseProblem."""
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        if "nesting depth" in str(problem):
            raise ParseProblem(f"{_where(mark)}{_nesting_message()}") from None
        raise ParseProblem(f"{_where(mark)}not valid YAML ({problem})") from None
    except RecursionError:
        raise ParseProblem(_nesting_message()) from None
    check_depth(data)
    return data


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
        self.start: int | None = None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Constant(float):
    """JSON's ``NaN``, ``Infinity`` or ``-Infinity`` as parsed, kept to be refused by the
    path of the field that holds it."""

    name: str


def _constant(name: str) -> float:
    value = _Constant(name)  # float() reads NaN, Infinity and -Infinity as JSON writes them
    value.name = name
    return value


def _item_label(node: Any, key: Any) -> str:
    item = node[key]
    ident = item.get("id") if isinstance(item, dict) else None
    return f"[{ident}]" if isinstance(ident, str) else f"[{key}]"


def _reject_constants(data: Any) -> None:
    """Raise ParseProblem naming each field (``areas[cyber].priority``) that holds a
    :class:`_Constant` (only called when the text held one)."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Constant):
            found.append(f"{path or '(top level)'}: {node.name} is not a number JSON allows")
        elif isinstance(node, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, path + _item_label(node, i)) for i, v in enumerate(node))
    raise ParseProblem("; ".join(sorted(found)) + " (write a finite number)")


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}: "


_TOKEN = re.compile(r'["{}\[\]]')
_COLON = re.compile(r"\s*:")


def _second_key(text: str, start: int, key: str) -> int | None:
    """Where ``key`` appears the second time among the keys of the object at ``start``."""
    depth, pos, seen = 0, start, 0
    while (match := _TOKEN.search(text, pos)) is not None:
        char, pos = match.group(), match.end()
        if char == '"':
            name, pos = scanstring(text, pos)
            if depth == 1 and name == key and _COLON.match(text, pos):
                seen += 1
                if seen == 2:
                    return match.start()
        elif char in "{[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return None
    return None


def _locate_duplicate(text: str, key: str) -> str:
    """Re-parse with the pure-Python scanner to find the object holding the duplicate."""

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        try:
            return JSONObject(s_and_end, *args, **kwargs)
        except _Duplicate as error:
            if error.start is None:
                error.start = s_and_end[1] - 1
            raise

    decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs)
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _Duplicate as error:
        at = _second_key(text, error.start or 0, key) if error.start is not None else None
        return _line_col(text, at) if at is not None else ""
    except (ValueError, RecursionError):
        return ""
    return ""


def parse_json(text: str) -> Any:
    """Parse JSON text strictly (see the module doc); raises ParseProblem."""
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return _constant(name)

    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=constant)
    except _Duplicate as error:
        where = _locate_duplicate(text, error.key)
        raise ParseProblem(
            f"{where}key {error.key!r} appears twice in one object; write each key once"
        ) from None
    except json.JSONDecodeError as error:
        raise ParseProblem(
            f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})"
        ) from None
    except RecursionError:
        raise ParseProblem(_nesting_message()) from None
    except ParseProblem:
        raise
    except ValueError as error:  # e.g. an integer beyond Python's conversion limit
        raise ParseProblem(f"not valid JSON ({error})") from None
    check_depth(data)
    if constants:
        _reject_constants(data)
    return data
