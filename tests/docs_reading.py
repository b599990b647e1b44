"""Reading a scenario file as the docs say: amounts, shares, bounds, pledges per year,
which areas a member joins, and members' own priorities (docs/scenario-format.md
"Numbers" and "Sections", docs/coalition.md "Members' own priorities"). Plain ``yaml`` and
``json``; nothing from ``engine``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

#: Money suffixes of the docs ("Numbers"), as multiples of one currency unit.
SUFFIXES = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "tn": 1e12}
UNITS = {"k": 1e3, "m": 1e6, "bn": 1e9}
_AMOUNT = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*$")


def amount(value: Any, unit: float) -> float:
    """An amount (``12.5m``, ``98bn`` or a plain number of currency units) in fund units."""
    if isinstance(value, int | float):
        return float(value) / unit
    match = _AMOUNT.match(str(value).lower())
    if match is None or match.group(2) not in {"", *SUFFIXES}:
        raise ValueError(f"not an amount: {value!r}")
    return float(match.group(1)) * SUFFIXES.get(match.group(2), 1.0) / unit


def share(value: Any) -> float:
    """A share written ``25%`` or ``0.25``, as a fraction."""
    text = str(value).strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def limit(value: Any, unit: float) -> tuple[str, float]:
    """A floor, ceiling or policy bound: ``("share", s)`` or ``("amount", fund units)``.

    Written ``25%``, an amount, or in the schema's object form ``{share: 0.25}`` /
    ``{amount: N}`` (N plain currency units).
    """
    if isinstance(value, dict):
        if value.get("share") is not None:
            return "share", float(value["share"])
        return "amount", float(value["amount"]) / unit
    if isinstance(value, str) and value.strip().endswith("%"):
        return "share", share(value)
    return "amount", amount(value, unit)


def read_file(path: Path) -> dict[str, Any]:
    """The scenario data of a YAML or JSON file."""
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    return dict(data)


def pledges(pledge: Any, years: list[int], unit: float) -> list[float]:
    """A member's pledge per horizon year: one amount every year, or per year stepped forward."""
    if not isinstance(pledge, dict):
        return [amount(pledge, unit)] * len(years)
    given = {int(year): amount(value, unit) for year, value in pledge.items()}
    if years[0] not in given:
        raise ValueError("the first year of the horizon must be listed")
    return [given[max(y for y in given if y <= year)] for year in years]


def joined(member: dict[str, Any], areas: list[str]) -> list[str]:
    """The areas a member's money may go to (opt_in, or every area but its opt_out)."""
    if member.get("opt_in") is not None:
        return [a for a in areas if a in member["opt_in"]]
    return [a for a in areas if a not in member.get("opt_out", [])]


def normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()} if total > 0 else dict(weights)


def pairwise_weights(comparisons: list[list[Any]]) -> dict[str, float]:
    """AHP weights: the principal eigenvector of the reciprocal matrix, summing to one.

    ``[a, b, 3]`` says a matters 3 times as much as b; ratios may be written ``1/3``.
    """
    names = sorted({c[0] for c in comparisons} | {c[1] for c in comparisons})
    matrix = np.eye(len(names))
    for first, second, ratio in comparisons:
        top, _, bottom = str(ratio).partition("/")
        value = float(top) / float(bottom or 1)
        i, j = names.index(first), names.index(second)
        matrix[i, j], matrix[j, i] = value, 1 / value
    values, vectors = np.linalg.eig(matrix)
    principal = np.abs(np.real(vectors[:, int(np.argmax(np.real(values)))]))
    return dict(zip(names, principal / principal.sum(), strict=True))


def fund_priorities(data: dict[str, Any], years: list[int], unit: float) -> dict[str, float]:
    """The areas' priorities after members' own (docs/coalition.md, "The fund's objective").

    Untouched when no member states priorities and no ``member_weights`` rule is given.
    """
    written = {a["id"]: float(a.get("priority", 1.0)) for a in data["areas"]}
    rule = (data.get("objective") or {}).get("member_weights")
    stated = [m for m in data["members"] if m.get("priorities")]
    if not stated and rule is None:
        return written
    ids = list(written)
    totals = {m["id"]: sum(pledges(m.get("pledge", 0), years, unit)) for m in data["members"]}
    paying = [m for m in data["members"] if totals[m["id"]] > 0]
    grand = sum(totals.values())
    mixed = dict.fromkeys(ids, 0.0)
    for member in paying:
        lam = 1 / len(paying) if rule == "equal" else totals[member["id"]] / grand
        prio = member.get("priorities") or {}
        raw = prio.get("weights") or prio.get("swing")
        if prio.get("pairwise"):
            raw = pairwise_weights(prio["pairwise"])
        if raw is None:
            raw = {a: written[a] for a in joined(member, ids)}
        for area, w in normalised({k: float(v) for k, v in raw.items()}).items():
            mixed[area] += lam * w
    scale = sum(written.values()) / sum(mixed.values())
    return {a: scale * mixed[a] for a in ids}


def member_weights(data: dict[str, Any], member_id: str) -> dict[str, float]:
    """A member's own weights over the areas it joined, summing to one (docs/coalition.md):
    stated weights, swing points or pairwise comparisons, else the areas' priorities."""
    member = next(m for m in data["members"] if m["id"] == member_id)
    ids = [a["id"] for a in data["areas"]]
    prio = member.get("priorities") or {}
    raw = prio.get("weights") or prio.get("swing")
    if prio.get("pairwise"):
        raw = pairwise_weights(prio["pairwise"])
    if raw is None:
        written = {a["id"]: float(a.get("priority", 1.0)) for a in data["areas"]}
        raw = {a: written[a] for a in joined(member, ids)}
    return normalised({k: float(v) for k, v in raw.items()})
