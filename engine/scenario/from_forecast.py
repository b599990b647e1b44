"""Pledges from a forecast: plan on a quantile of the fund's forecast size.

A scenario may say ``pledges: {from_forecast: {path: hague-2035, quantile: 0.1}}``;
:func:`resolve_forecast_pledges` then returns a copy of the scenario whose members' pledges are
those of :func:`models.fund.forecast_pledges` (the first year's pledges calibrate the rates).
The scenario itself declares the ``paths`` and ``pledges`` sections; :func:`forecast_settings`
reads them from a scenario (or from their raw mappings).
"""

from __future__ import annotations

from typing import Any

from engine.scenario.paths import ForecastPledges, PledgesSection, PolicyPath
from engine.scenario.schema import Scenario


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
