"""The sweep file's format: a base scenario, fixed edits and the axes that vary.

A sweep (YAML) names a ``base`` scenario and up to three axes, combined as a product:

- ``grid``: ``--set``-style paths, each with a list of values (``areas.cyber.floor: [5bn, 8bn]``);
- ``n_minus_1``: ``true`` (every member that pledges something) or a list of member ids; each
  leaves in turn (its pledge becomes zero), next to the baseline where nobody leaves;
- ``draws``: ``n`` seeded draws of members' pledges from stated distributions, per member id
  or ``'*'`` for every other member. ``normal``/``uniform`` give a yearly amount held flat over
  the horizon (negative draws count as zero); ``lognormal_factor`` (mean 1) and
  ``uniform_factor`` multiply the member's pledge in every year. Or ``from_forecast: {path,
  n, seed}``: each draw is one joint sample path of members' contributions from the fund's
  forecast (:func:`models.fund.fund_sample_paths`), so members' pledges move together.

:func:`parse_sweep` validates the file's data; :mod:`engine.batch.sweep` binds it to its base
scenario and generates the scenarios.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from engine.errors import ScenarioError
from engine.scenario.edits import parse_edit, typed_value
from engine.scenario.fields import Money, Seed, Strict
from engine.scenario.validate import validation_problems
from engine.solving.backends import SolverOptions

#: Most scenarios one sweep may generate (a typo such as ``n: 10000000`` is refused).
MAX_SCENARIOS = 5_000_000


class Normal(Strict):
    """A yearly pledge drawn from a normal distribution (money), negative draws give 0."""

    dist: Literal["normal"]
    mean: Money
    sd: Money


class Uniform(Strict):
    """A yearly pledge drawn uniformly between ``low`` and ``high`` (money)."""

    dist: Literal["uniform"]
    low: Money
    high: Money


class LognormalFactor(Strict):
    """The member's pledge times ``exp(sigma * Z - sigma**2 / 2)`` (a factor of mean 1)."""

    dist: Literal["lognormal_factor"]
    sigma: float = Field(ge=0, le=5)


class UniformFactor(Strict):
    """The member's pledge times a factor drawn uniformly between ``low`` and ``high``."""

    dist: Literal["uniform_factor"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)


Distribution = Annotated[
    Normal | Uniform | LognormalFactor | UniformFactor, Field(discriminator="dist")
]


class FromForecast(Strict):
    """``n`` joint sample paths of members' contributions from the fund's forecast
    (:func:`models.fund.fund_sample_paths`) under a policy path, seeded."""

    path: str = "trend"
    n: int = Field(ge=1, le=MAX_SCENARIOS)
    seed: Seed = 0


class Draws(Strict):
    """Seeded draws of pledges: ``n`` draws from stated distributions (``pledges``, keyed
    by member id or ``'*'`` for all other members), or ``from_forecast`` sample paths."""

    n: int | None = Field(default=None, ge=1, le=MAX_SCENARIOS)
    seed: Seed = 0
    pledges: dict[str, Distribution] | None = None
    from_forecast: FromForecast | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Draws:
        if (self.pledges is None) == (self.from_forecast is None):
            raise ValueError("give either pledges (stated distributions) or from_forecast")
        if self.pledges is not None and (self.n is None or not self.pledges):
            raise ValueError("with pledges, give n and at least one member id or '*'")
        if self.from_forecast is not None and self.n is not None:
            raise ValueError("with from_forecast, give n inside from_forecast")
        return self

    @property
    def count(self) -> int:
        """How many draws."""
        return self.from_forecast.n if self.from_forecast is not None else int(self.n or 0)


class SolverSettings(Strict):
    """How each scenario is solved: solver, a time limit (seconds) and HiGHS threads."""

    name: Literal["highs", "cbc"] = "highs"
    time_limit: float | None = Field(default=None, gt=0)
    threads: int | None = Field(default=None, ge=1)

    def options(self) -> SolverOptions:
        """The engine's solver options for these settings."""
        return SolverOptions(solver=self.name, time_limit=self.time_limit, threads=self.threads)


class Sweep(Strict):
    """A sweep file: a base scenario, fixed edits and the axes that vary."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    base: str = Field(min_length=1)
    set: list[str] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    n_minus_1: bool | list[str] = False
    draws: Draws | None = None
    solver: SolverSettings = SolverSettings()


def parse_sweep(data: Any, source: str) -> Sweep:
    """Validate sweep data (as read from YAML); raises ScenarioError naming field and problem."""
    if not isinstance(data, dict):
        raise ScenarioError(["(top level): expected a mapping with name, base, ..."], source)
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(validation_problems(data, error), source) from None
    problems = [f"grid.{p}: give at least one value" for p, v in sweep.grid.items() if not v]
    for text in sweep.set:
        try:
            parse_edit(text)
        except ScenarioError as error:
            problems += [f"set: {p}" for p in error.problems]
    if isinstance(sweep.n_minus_1, list):
        twice = sorted({m for m in sweep.n_minus_1 if sweep.n_minus_1.count(m) > 1})
        problems += [f"n_minus_1: {m} is listed more than once" for m in twice]
    if sweep.n_minus_1 is False and not sweep.grid and sweep.draws is None:
        problems.append("(top level): nothing varies; give grid, n_minus_1 or draws")
    if problems:
        raise ScenarioError(problems, source)
    return sweep


def check_draw_amounts(data: dict[str, Any], context: dict[str, Any], source: str) -> None:
    """Check the stated distributions' amounts as ``--set`` values are checked, under the base
    scenario's validation ``context`` (:func:`engine.scenario.validate.plain_context`): a plain
    ``mean: 50`` in a fund counted in bn would be $50 and every draw a zero pledge, so it is
    refused as ambiguous. Raises ScenarioError naming the field."""
    draws = data.get("draws")
    if not isinstance(draws, dict) or not isinstance(draws.get("pledges"), dict):
        return
    typed = {**data, "draws": {**draws, "pledges": typed_value(draws["pledges"])}}
    try:
        Sweep.model_validate(typed, context=context)
    except ValidationError as error:
        raise ScenarioError(validation_problems(typed, error), source) from None


__all__ = [
    "MAX_SCENARIOS",
    "Distribution",
    "Draws",
    "FromForecast",
    "LognormalFactor",
    "Normal",
    "SolverSettings",
    "Sweep",
    "Uniform",
    "UniformFactor",
    "check_draw_amounts",
    "parse_sweep",
]
