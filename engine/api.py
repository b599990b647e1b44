"""The engine's entry points that span stages: load with edits, edit, what-if, explain.

Every face (the CLI, the web app, batch runs, the reports, ``forecast.py``) loads and
edits scenarios through these, so each gives the same figures for the same scenario.
Forecast pledges (``pledges: {from_forecast: ...}``) are resolved exactly once, after the
edits, from the scenario as written: an edit of the forecast block itself
(``pledges.from_forecast.quantile=0.9``) therefore takes effect like any other.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from engine.analysis.whatif import Comparison, compare
from engine.errors import ScenarioError
from engine.files.scenario_files import plain_reading, read_scenario_data
from engine.results.schema import Result
from engine.scenario.edits import Edit, apply_edits_to_data, edited_source
from engine.scenario.from_forecast import resolve_forecast_pledges
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions
from engine.solving.resolver import Resolver
from models.errors import ForecastInputError


def resolve_inputs(scenario: Scenario, source: str | None = None) -> Scenario:
    """The scenario with its pledges taken from the forecast when it asks for that
    (``pledges: {from_forecast: ...}``); unchanged otherwise.

    The returned scenario remembers the scenario as written, so that later edits
    (:func:`edit_scenario`) start from the hand-written pledges, not the forecast ones.
    Raises ScenarioError when the forecast cannot be made from the shipped data.
    """
    if scenario.pledges is None:
        return scenario
    try:
        resolved = resolve_forecast_pledges(scenario)
    except ForecastInputError as error:
        raise ScenarioError([f"pledges.from_forecast: {error}"], source) from None
    resolved.remember_written(scenario)
    return resolved


@contextmanager
def naming_source(source: str | None) -> Iterator[None]:
    """Re-raise a ScenarioError from the block naming ``source`` (the file and its edits),
    unless it names one already: the model's own checks do not know the file."""
    try:
        yield
    except ScenarioError as error:
        if error.source or source is None:
            raise
        raise ScenarioError(error.problems, source) from None


def check_model(scenario: Scenario, source: str | None = None) -> None:
    """Build ``scenario``'s model once, for the problems only the built model shows (amounts
    whose coefficients fall outside the range the solvers handle alike); raises
    ScenarioError naming ``source``."""
    from engine.formulation.build import build_model

    with naming_source(source):
        build_model(scenario)


def scenario_from_data(
    data: Any, source: str | None = None, plain: Literal["currency", "fund"] = "currency"
) -> Scenario:
    """Validate scenario data (a mapping in the file format) and resolve its forecast
    pledges; raises ScenarioError naming ``source``, the field and the problem. ``plain``
    says how plain amounts read (the currency; ``fund``: a workbook's unit)."""
    return resolve_inputs(validate_scenario(data, source=source, plain=plain), source)


def load_with_edits(path: str | os.PathLike[str], edits: Iterable[Edit | str] = ()) -> Scenario:
    """Load a scenario file (YAML, JSON or Excel), apply ``--set`` edits, validate it once
    and resolve forecast pledges (see :func:`resolve_inputs`).

    Raises ScenarioError naming the file (or the edit), the field and the problem.
    """
    data = read_scenario_data(path)
    edits = list(edits)
    if edits and isinstance(data, dict):
        data = apply_edits_to_data(data, edits)
    return scenario_from_data(data, edited_source(str(path), edits), plain_reading(path))


def edit_scenario(scenario: Scenario, edits: Iterable[Edit | str]) -> Scenario:
    """A new scenario: ``edits`` applied to ``scenario`` as written, then validated and its
    forecast pledges resolved again; ``scenario`` itself is unchanged.

    Raises ScenarioError when an edit's path is unknown or the result is invalid.
    """
    edits = list(edits)
    if not edits:
        return scenario
    data = apply_edits_to_data(scenario.written().to_input(), edits)
    return scenario_from_data(data, edited_source(None, edits))


@dataclass(frozen=True)
class WhatIf:
    """A what-if: the baseline's and the edited scenario's results, and their diff."""

    base: Result
    new: Result
    comparison: Comparison


def whatif(
    base: Scenario,
    new: Scenario,
    options: SolverOptions | None = None,
    resolver: Resolver | None = None,
) -> WhatIf:
    """Solve ``base``, then ``new`` warm and as close to the baseline's plan as optimality
    allows, and compare them. Pass a ``resolver`` to keep its warm state between calls."""
    resolver = resolver or Resolver(options)
    before = resolver.solve(base)
    after = resolver.solve(new, reference=before.allocation if before.ok else None)
    return WhatIf(before, after, compare(before, after))
