"""Pledges from a forecast: plan on a quantile of the fund's forecast size.

A scenario may say ``pledges: {from_forecast: {path: hague-2035, quantile: 0.1}}``;
:func:`resolve_forecast_pledges` then returns a copy of the scenario whose members' pledges are
those of :func:`models.fund.forecast_pledges` (the first year's pledges calibrate the rates).
:func:`read_forecast_scenario` reads a scenario file that carries ``paths:``/``pledges:`` sections
even while :class:`engine.scenario.Scenario` does not declare them.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from models.errors import ForecastInputError
from models.paths import ForecastPledges, PledgesSection, PolicyPath

FORECAST_KEYS = ("paths", "pledges")


def _section(scenario: Any, key: str) -> Any:
    return getattr(scenario, key, None)


def forecast_settings(
    scenario: Any,
) -> tuple[dict[str, PolicyPath], ForecastPledges | None]:
    """The scenario's own paths and its ``from_forecast`` block (None if it has none)."""
    raw_paths = _section(scenario, "paths") or {}
    paths = {
        k: v if isinstance(v, PolicyPath) else PolicyPath.model_validate(v)
        for k, v in dict(raw_paths).items()
    }
    block = _section(scenario, "pledges")
    if block is None:
        return paths, None
    if isinstance(block, dict):
        block = PledgesSection.model_validate(block)
    ff = getattr(block, "from_forecast", None)
    if isinstance(ff, dict):
        ff = ForecastPledges.model_validate(ff)
    return paths, ff


def resolve_forecast_pledges(
    scenario: Scenario,
    *,
    paths: dict[str, Any] | None = None,
    from_forecast: ForecastPledges | None = None,
) -> Scenario:
    """A copy of ``scenario`` whose pledges come from the forecast, if it asks for that.

    ``paths``/``from_forecast`` default to the scenario's own ``paths``/``pledges`` fields.
    The scenario is returned unchanged when there is no ``from_forecast`` block.

    Raises
    ------
    ForecastInputError
        Unknown path, or a member without the data the forecast needs.
    """
    own_paths, own_ff = forecast_settings(scenario)
    ff = from_forecast or own_ff
    if ff is None:
        return scenario
    from models.fund import forecast_pledges

    table = forecast_pledges(
        scenario,
        ff.path,
        ff.quantile,
        ff.seed,
        years=list(scenario.fund.years),
        paths={**own_paths, **(paths or {})},
        n_samples=ff.n_samples,
    )
    by_member: dict[str, dict[int, float]] = {}
    for row in table.itertuples(index=False):
        by_member.setdefault(row.member, {})[int(row.year)] = float(row.pledge)
    members = [
        m.model_copy(update={"pledge": by_member.get(m.id, dict(m.pledges))})
        for m in scenario.members
    ]
    return scenario.model_copy(update={"members": members})


def read_forecast_scenario(
    path: str | os.PathLike[str],
) -> tuple[Scenario, dict[str, PolicyPath], ForecastPledges | None]:
    """Load a scenario file and its forecast sections (``paths``, ``pledges``).

    The sections are validated with :mod:`models.paths`; the rest with the engine's validator.

    Raises
    ------
    ForecastInputError
        Missing or unreadable file, or an invalid ``paths``/``pledges`` section.
    engine.errors.ScenarioError
        The rest of the scenario is invalid.
    """
    from pydantic import ValidationError

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise ForecastInputError(f"{p}: file not found")
    if p.endswith((".xlsx", ".xlsm")):
        from engine.files.scenario_files import load_scenario

        return load_scenario(p), {}, None
    try:
        with open(p, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise ForecastInputError(f"{p}: not a readable YAML file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ForecastInputError(f"{p}: expected a mapping with fund, members and areas")
    extra = {k: data.pop(k) for k in FORECAST_KEYS if k in data}
    try:
        paths = {
            str(k): PolicyPath.model_validate(v) for k, v in (extra.get("paths") or {}).items()
        }
        section = extra.get("pledges")
        ff = PledgesSection.model_validate(section).from_forecast if section else None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        where = "paths" if "paths" in extra and "pledges" not in extra else "paths/pledges"
        raise ForecastInputError(f"{p}: {where}: {loc}: {err['msg']}") from None
    fields = Scenario.model_fields
    if all(k in fields for k in extra):
        # The scenario model declares the sections: let it validate them as well.
        data.update(extra)
    scenario = validate_scenario(data, source=p)
    return scenario, paths, ff
