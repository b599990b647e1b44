"""Scenario files broken at the byte level, for the fuzzer (see :mod:`tests.fuzz_inputs`).

A shipped scenario's text with a syntax error at a random place, cut short, replaced by
binary junk, with a BOM, CRLF line ends or tabs, a very long string, deep nesting, YAML
anchors, merge keys, aliases of aliases and tags, JSON's NaN, latin-1 bytes, nothing at
all, or two documents. A BOM or CRLF must not change the answer (exit 0); the others
are refused naming the file, or happen to stay valid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import yaml
from hypothesis import strategies as st

from tests.fuzz_inputs import DIR, Case
from tests.fuzz_scenarios import BASES, INVALID, MAYBE_VALID, base_data, base_text

VALID = frozenset({0})
#: Characters put at a random place of a file.
JUNK = [":", "[", "{", "]", "}", '"', "'", "\t", "&", "*", "!", "%", "@", "`", "|", ">",
        "\x00", "- ", "\n  ", "#"]  # fmt: skip
TAGS = ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!custom x",
        "!!binary aGk=", "!!set {a, b}", "!!timestamp 2026-01-01", "!!float 1e400",
        "!!int 0x"]  # fmt: skip

#: A broken file: its bytes, the exit codes it allows, its suffix and the words of its refusal.
Broken = tuple[bytes, frozenset[int], str, tuple[str, ...]]


def _junk(draw: st.DrawFn, base: str, text: str) -> Broken:
    at = draw(st.integers(0, len(text)))
    return (text[:at] + draw(st.sampled_from(JUNK)) + text[at:]).encode(), MAYBE_VALID, "yaml", ()


def _cut(draw: st.DrawFn, base: str, text: str) -> Broken:
    at = draw(st.integers(0, len(text) - 1))
    return (text[:at] + text[at + draw(st.integers(1, 40)) :]).encode(), MAYBE_VALID, "yaml", ()


def _truncated(draw: st.DrawFn, base: str, text: str) -> Broken:
    body = text.encode()
    return body[: draw(st.integers(0, len(body) - 1))], MAYBE_VALID, "yaml", ()


def _binary(draw: st.DrawFn, base: str, text: str) -> Broken:
    return draw(st.binary(min_size=1, max_size=400)), MAYBE_VALID, "yaml", ()


def _bom(draw: st.DrawFn, base: str, text: str) -> Broken:
    if draw(st.booleans()):
        return ("\ufeff" + json.dumps(base_data(base))).encode(), VALID, "json", ()
    return ("\ufeff" + text).encode(), VALID, "yaml", ()


def _crlf(draw: st.DrawFn, base: str, text: str) -> Broken:
    return text.replace("\n", "\r\n").encode(), VALID, "yaml", ()


def _tabs(draw: st.DrawFn, base: str, text: str) -> Broken:
    return text.replace("\n  ", "\n\t").encode(), MAYBE_VALID, "yaml", ()


def _long(draw: st.DrawFn, base: str, text: str) -> Broken:
    size = draw(st.sampled_from([10_000, 200_000]))
    return text.replace("name: ", "name: " + "ω" * size, 1).encode(), MAYBE_VALID, "yaml", ()


def _deep(draw: st.DrawFn, base: str, text: str) -> Broken:
    depth = draw(st.integers(60, 5000))
    body = text + "\nx_deep: " + "[" * depth + "]" * depth + "\n"
    return body.encode(), INVALID, "yaml", ("nested",) if depth > 64 else ()


def _anchors(draw: st.DrawFn, base: str, text: str) -> Broken:
    """A member written once with an anchor, then merged (``<<: *first``) into a mapping
    (both under unknown keys: refused as such)."""
    first = yaml.safe_dump(base_data(base)["members"][0], default_flow_style=True).strip()
    body = text + f"\nx_anchor: &first {first}\nx_merge:\n  <<: *first\n  id: XXX\n"
    return body.encode(), INVALID, "yaml", ("x_anchor", "x_merge")


def _laughs(draw: st.DrawFn, base: str, text: str) -> Broken:
    """Billion laughs with YAML aliases: ten aliases of ten aliases, nine levels deep."""
    lines = ["x_laughs:", "  a0: &a0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return (text + "\n" + "\n".join(lines) + "\n").encode(), INVALID, "yaml", ("aliases",)


def _tag(draw: st.DrawFn, base: str, text: str) -> Broken:
    tag = draw(st.sampled_from(TAGS))
    return (f"x_tag: {tag}\n" + text).encode(), INVALID, "yaml", ()


def _json_nan(draw: st.DrawFn, base: str, text: str) -> Broken:
    data = base_data(base)
    area = draw(st.sampled_from(data["areas"]))
    area["priority"] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return json.dumps(data).encode(), INVALID, "json", (f"areas[{area['id']}].priority",)


def _latin1(draw: st.DrawFn, base: str, text: str) -> Broken:
    body = text.replace("name: ", "name: Åland ", 1).encode("latin-1", errors="replace")
    return body, MAYBE_VALID, "yaml", ()


def _empty(draw: st.DrawFn, base: str, text: str) -> Broken:
    if draw(st.booleans()):
        return draw(st.sampled_from([b"", b"\n  \n"])), INVALID, "json", ("empty",)
    body = draw(st.sampled_from([b"", b"\n", b"# only a comment\n", b"---\n", b"~\n"]))
    return body, INVALID, "yaml", ("empty",)


def _two_documents(draw: st.DrawFn, base: str, text: str) -> Broken:
    return (text + "\n---\n" + text).encode(), INVALID, "yaml", ("document",)


BREAKERS: dict[str, Callable[[st.DrawFn, str, str], Broken]] = {
    "junk": _junk, "cut": _cut, "truncate": _truncated, "binary": _binary, "bom": _bom,
    "crlf": _crlf, "tabs": _tabs, "long": _long, "deep": _deep, "anchors": _anchors,
    "laughs": _laughs, "tag": _tag, "json-nan": _json_nan, "latin-1": _latin1,
    "empty": _empty, "two documents": _two_documents,
}  # fmt: skip


@st.composite
def corrupted_files(draw: st.DrawFn) -> Case:
    """``validate`` of a shipped scenario's file broken at the byte level."""
    base = draw(st.sampled_from(BASES))
    kind = draw(st.sampled_from(sorted(BREAKERS)))
    body, codes, suffix, words = BREAKERS[kind](draw, base, base_text(base))
    name = f"broken-{base}.{suffix}"  # neutral: a kind in the name would be in the message
    args = ("validate", f"{DIR}/{name}")
    return Case(f"{base}: {kind}", "optimise.py", args, codes, (name, *words), {name: body})
