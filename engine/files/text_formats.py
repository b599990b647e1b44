"""YAML and JSON parsed strictly, for scenario files and ``--set`` values.

- A key written twice in one mapping is an error naming the key and both lines (the
  last one silently winning would hide a typo).
- Nesting is bounded (:data:`MAX_DEPTH` levels): a file nested 100,000 deep is refused
  with a message, not a RecursionError.
- Integers longer than Python's conversion limit and numbers that overflow to infinity
  are refused where they stand.

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


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ParseProblem if lists and mappings nest deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
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


def _reject_constant(name: str) -> float:
    raise ParseProblem(f"{name} is not a number a scenario may contain")


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
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_pairs,
            parse_constant=_reject_constant,
        )
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
    return data
