"""The engine's public entry points, shared by the CLI, the web app and batch runs."""

from __future__ import annotations

import os
from collections.abc import Iterable

from engine.edits import Edit, apply_edits_to_data
from engine.errors import ScenarioError
from engine.io import read_scenario_data
from engine.scenario import Scenario, validate_scenario


def resolve_inputs(scenario: Scenario, source: str | None = None) -> Scenario:
    """The scenario with its pledges taken from the forecast when it asks for that
    (``pledges: {from_forecast: ...}``); unchanged otherwise.

    Forecasting takes seconds, so this runs once when a scenario is loaded, not in every
    solve. Raises ScenarioError when the forecast cannot be made from the shipped data.
    """
    if scenario.pledges is None:
        return scenario
    from engine.forecast_pledges import resolve_forecast_pledges
    from models.errors import ForecastInputError

    try:
        return resolve_forecast_pledges(scenario)
    except ForecastInputError as error:
        raise ScenarioError([f"pledges.from_forecast: {error}"], source) from None


def load_with_edits(path: str | os.PathLike[str], edits: Iterable[Edit | str] = ()) -> Scenario:
    """Load a scenario file, apply ``--set`` edits, validate it once and resolve
    forecast-driven pledges (see :func:`resolve_inputs`).

    Raises ScenarioError naming the file (or the edit), the field and the problem.
    """
    data = read_scenario_data(path)
    edits = list(edits)
    if edits and isinstance(data, dict):
        data = apply_edits_to_data(data, edits)
    return resolve_inputs(validate_scenario(data, source=str(path)), str(path))
