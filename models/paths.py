"""Policy paths for the forecaster: a named path resolved, its ``extends`` chain merged.

The ``paths`` and ``pledges`` sections themselves are part of the scenario format and are
declared in :mod:`engine.scenario.paths`; they are importable from here too, for the
forecasting code that takes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.scenario.paths import (
    BUILTIN_PATHS,
    ForecastPledges,
    PledgesSection,
    PolicyPath,
    RateChange,
    available_paths,
)

__all__ = [
    "BUILTIN_PATHS",
    "ForecastPledges",
    "PledgesSection",
    "PolicyPath",
    "RateChange",
    "available_paths",
    "resolve_path",
]


def resolve_path(
    name: str, overrides: Mapping[str, PolicyPath | Mapping[str, Any]] | None = None
) -> PolicyPath:
    """The path called ``name``, with ``extends`` chains merged (explicit fields win).

    Raises
    ------
    ValueError
        Unknown name, or an ``extends`` cycle.
    """
    paths = available_paths(overrides)
    seen: list[str] = []
    merged: dict[str, Any] = {}
    cur: str | None = name
    while cur is not None:
        if cur not in paths:
            known = ", ".join(sorted(paths))
            raise ValueError(f"unknown policy path {cur!r}; known paths: {known}")
        if cur in seen:
            raise ValueError(f"policy path {name!r}: 'extends' cycle through {cur!r}")
        seen.append(cur)
        p = paths[cur]
        own = p.model_dump(exclude_unset=True)
        for k, v in own.items():
            if k in ("leave", "join", "rate_change"):
                merged[k] = {**v, **merged.get(k, {})}
            else:
                merged.setdefault(k, v)
        cur = p.extends
    merged.pop("extends", None)
    return PolicyPath.model_validate(merged)
