"""A sweep bound to its base scenario: the batch's id and size, its scenarios as points
(cheap recipes for the driver) and as scenarios with stable ids (built where they are solved).

The sweep file's format is :mod:`engine.batch.sweep_schema`. The base scenario, after the
sweep's fixed edits and each grid point's, gets its forecast pledges exactly as
``optimise.py solve`` gives them (:func:`engine.api.resolve_inputs`, for a base with
``pledges: {from_forecast: ...}``); they are then the scenario's own pledges, which the
draws and leavers vary.

Order: grid (outermost), then who leaves, then draws (innermost), so that neighbouring
scenarios share their LP structure and re-solve warm. Each scenario's id is the SHA-256 of
its content (:func:`engine.scenario.schema.scenario_sha256`); a batch's id is the hash of the
sweep and of the base scenario's content, so running the same sweep again finds its own
results.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.api import resolve_inputs
from engine.batch.sweep_schema import (
    MAX_SCENARIOS,
    Draws,
    FromForecast,
    LognormalFactor,
    Normal,
    Sweep,
    Uniform,
    check_draw_amounts,
    parse_sweep,
)
from engine.errors import ScenarioError
from engine.files.scenario_files import read_scenario_data, read_yaml_file
from engine.scenario.edits import Edit, apply_edits_to_data, parse_edit, typed_value
from engine.scenario.fields import money_text
from engine.scenario.schema import Scenario, scenario_sha256
from engine.scenario.validate import plain_context, replace_pledges, validate_scenario


@dataclass(frozen=True)
class Planned:
    """One generated scenario: its place in the sweep, its labels and its content id."""

    position: int
    scenario_id: str
    labels: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class Point:
    """One scenario of a sweep as a recipe, what the driver sends to a worker.

    ``grid`` indexes :attr:`BatchPlan.grid_points`; ``leaver`` is the member whose pledge
    becomes zero; ``shocks`` are the draw's standard normal and uniform numbers (one per
    member, for stated distributions) and ``edits`` its pledges (forecast sample paths).
    ``expect`` is the id an earlier run stored at this position: a worker whose scenario
    still hashes to it does not solve it again.
    """

    position: int
    labels: dict[str, Any]
    grid: int
    leaver: str | None = None
    shocks: tuple[np.ndarray, np.ndarray] | None = None
    edits: tuple[Edit, ...] = ()
    expect: str | None = None


class BatchPlan:
    """A parsed sweep bound to its base scenario: the batch id, its size and its scenarios."""

    def __init__(self, sweep: Sweep, base_data: dict[str, Any], source: str) -> None:
        self.sweep = sweep
        self.source = source
        self.base_data = base_data
        self._fixed_edits = [parse_edit(text) for text in sweep.set]
        self._shock_cache: tuple[np.ndarray, np.ndarray] | None = None
        _, fixed = self.own_pledges(apply_edits_to_data(base_data, sweep.set), "set")
        self.base_sha256 = scenario_sha256(fixed)
        self._check(fixed)
        self.leavers: list[str | None] = self._leavers(fixed)
        self.grid_points = list(itertools.product(*sweep.grid.values()))
        self.size = (
            len(self.grid_points) * len(self.leavers) * (sweep.draws.count if sweep.draws else 1)
        )
        if self.size > MAX_SCENARIOS:
            raise ScenarioError(
                [
                    f"(top level): the sweep makes {self.size:,} scenarios; the limit is "
                    f"{MAX_SCENARIOS:,}"
                ],
                source,
            )
        identity = {
            "sweep": sweep.model_dump(mode="json", exclude={"base"}),
            "base": self.base_sha256,
        }
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        self.batch_id = hashlib.sha256(text.encode()).hexdigest()

    def _validate(self, data: dict[str, Any], what: str) -> Scenario:
        try:
            return validate_scenario(data, source=self.source)
        except ScenarioError as error:
            raise ScenarioError([f"{what}: {p}" for p in error.problems], self.source) from None

    def own_pledges(self, data: dict[str, Any], what: str) -> tuple[dict[str, Any], Scenario]:
        """``data`` validated, its forecast pledges (``pledges: {from_forecast: ...}``)
        resolved as ``optimise.py solve`` resolves them (:func:`engine.api.resolve_inputs`)
        and written into the data as the members' own (the ``pledges`` section goes):
        draws and leavers vary these, and the content stored is the scenario solved."""
        written = self._validate(data, what)
        resolved = resolve_inputs(written, self.source)
        if resolved is written:
            return data, written
        own = {k: v for k, v in data.items() if k != "pledges"}
        own["members"] = resolved.to_input()["members"]
        return own, self._validate(own, what)

    def _check(self, fixed: Scenario) -> None:
        """Each grid value on its own, and the draws' member ids, against the base."""
        for path, values in self.sweep.grid.items():
            for value in values:
                edit = Edit(path, typed_value(value))
                data = apply_edits_to_data(self.base_data, [*self.sweep.set, edit])
                self._validate(data, f"grid.{path}={value!r}")
        known = {m.id for m in fixed.members}
        fields = {
            "n_minus_1": self.sweep.n_minus_1 if isinstance(self.sweep.n_minus_1, list) else [],
            "draws.pledges": [*((self.sweep.draws.pledges or {}) if self.sweep.draws else {})],
        }
        problems = []
        for name, ids in fields.items():
            unknown = sorted({i for i in ids if i != "*" and i not in known})
            if unknown:
                problems.append(
                    f"{name}: unknown member(s) {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(known))})"
                )
        if problems:
            raise ScenarioError(problems, self.source)

    def _leavers(self, fixed: Scenario) -> list[str | None]:
        n1 = self.sweep.n_minus_1
        if n1 is False:
            return [None]
        if n1 is True:
            ids = [m.id for m in fixed.members if any(v > 0 for v in m.pledges.values())]
        else:
            ids = n1
        return [None, *ids]

    def _shocks(self, draws: Draws, members: int) -> tuple[np.ndarray, np.ndarray]:
        """Standard normal and uniform numbers, one row per draw and one column per member
        in scenario order (drawn whether used or not, so adding an entry for one member never
        changes another member's draws)."""
        if self._shock_cache is None or self._shock_cache[0].shape[1] != members:
            rng = np.random.default_rng(draws.seed)
            shape = (draws.count, members)
            self._shock_cache = (rng.standard_normal(shape), rng.random(shape))
        return self._shock_cache

    def _recipe(self, g: int) -> Callable[[int], dict[str, Any]]:
        """How draw ``d`` differs from grid point ``g``: its shocks (stated distributions)
        or its pledge edits (forecast sample paths); nothing without draws."""
        draws = self.sweep.draws
        if draws is None:
            return lambda d: {}
        data = apply_edits_to_data(self.base_data, self.fixed_and_grid_edits(g))
        if draws.from_forecast is not None:
            gridded = self._validate(data, _describe(self.grid_labels(g)) or "base")
            paths = [tuple(e) for e in self._forecast_edits(gridded, draws.from_forecast)]
            return lambda d: {"edits": paths[d]}
        normal, uniform = self._shocks(draws, len(data.get("members") or ()))
        return lambda d: {"shocks": (normal[d], uniform[d])}

    def _forecast_edits(self, scenario: Scenario, spec: FromForecast) -> Iterator[list[Edit]]:
        """Each sample path of the fund's forecast as members' yearly pledges."""
        from models.errors import ForecastInputError
        from models.fund import fund_sample_paths

        try:
            paths = fund_sample_paths(
                scenario,
                spec.path,
                years=scenario.fund.years,
                n_samples=spec.n,
                seed=spec.seed,
                paths=scenario.paths or None,
            )
        except ForecastInputError as error:
            raise ScenarioError([f"draws.from_forecast: {error}"], self.source) from None
        paths = paths.sort_values(["sample", "member", "year"])
        members = sorted(paths["member"].unique())
        years = [int(y) for y in sorted(paths["year"].unique())]
        cube = paths["contribution"].to_numpy().reshape(spec.n, len(members), len(years))
        for i in range(spec.n):
            yield [
                Edit(
                    f"members.{m}.pledge",
                    {
                        y: money_text(round(float(v), 2), scenario.fund.unit)
                        for y, v in zip(years, cube[i, k], strict=True)
                    },
                )
                for k, m in enumerate(members)
            ]

    def grid_labels(self, g: int) -> dict[str, Any]:
        """The labels of grid point ``g`` (path -> value)."""
        return dict(zip(self.sweep.grid, self.grid_points[g], strict=True))

    def fixed_and_grid_edits(self, g: int) -> list[Edit]:
        """The sweep's fixed edits followed by grid point ``g``'s."""
        # Grid values are edits a planner typed: a plain 150 on an amount of a fund counted
        # in m is refused as ambiguous, as --set refuses it.
        grid = (Edit(p, typed_value(v)) for p, v in self.grid_labels(g).items())
        return [*self._fixed_edits, *grid]

    def points(self, limit: int | None = None) -> Iterator[Point]:
        """The sweep's scenarios in order as recipes (the first ``limit`` only, if given):
        cheap for the driver; :class:`ScenarioMaker` builds and hashes them.

        Raises ScenarioError for forecast draws the forecast cannot make.
        """
        position = 0
        count = self.sweep.draws.count if self.sweep.draws is not None else 1
        for g in range(len(self.grid_points)):
            labels = self.grid_labels(g)
            recipe = self._recipe(g)
            for leaver in self.leavers:
                for d in range(count):
                    if limit is not None and position >= limit:
                        return
                    full = dict(labels)
                    if self.sweep.n_minus_1 is not False:
                        full["leaves"] = leaver
                    if self.sweep.draws is not None:
                        full["draw"] = d
                    yield Point(position, full, g, leaver, **recipe(d))
                    position += 1

    def scenarios(self, limit: int | None = None) -> Iterator[Planned]:
        """The sweep's scenarios in order (the first ``limit`` only, if given).

        Raises ScenarioError naming the sweep file and the combination if one is invalid.
        """
        maker = ScenarioMaker(self)
        for point in self.points(limit):
            made = maker.make(point)
            yield Planned(point.position, made.scenario_id, point.labels, made.scenario)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Made:
    """A built scenario: its id, its content (the canonical JSON the id hashes) and itself."""

    scenario_id: str
    content: str
    scenario: Scenario


class _GridPoint:
    """One grid point, validated in full once: its data, its sections as validated (before
    pledges are normalised over the horizon), its scenario and the JSON of each section."""

    def __init__(self, plan: BatchPlan, g: int) -> None:
        data = apply_edits_to_data(plan.base_data, plan.fixed_and_grid_edits(g))
        self.data, self.scenario = plan.own_pledges(data, _describe(plan.grid_labels(g)) or "base")
        given = Scenario.model_validate(self.data, context=plain_context(self.data, "currency"))
        self.sections = {k: getattr(given, k) for k in given.model_fields_set}
        # Canonical JSON (amounts in currency units), the form earlier stores' ids hash.
        canonical = self.scenario.model_dump(mode="json", exclude_defaults=True)
        self.texts = {k: _json(v) for k, v in canonical.items()}
        self.made = Made(_sha256(_joined(self.texts)), _joined(self.texts), self.scenario)


def _joined(texts: dict[str, str]) -> str:
    """The JSON object of these sections, byte for byte what ``json.dumps(...,
    sort_keys=True, separators=(",", ":"))`` writes for the whole."""
    return "{" + ",".join(f"{json.dumps(k)}:{texts[k]}" for k in sorted(texts)) + "}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ScenarioMaker:
    """Builds a sweep's scenarios from their points, where they are solved.

    Each grid point is validated in full once; a scenario then validates only the sections
    its edits touch (members, for draws and N-1), the others passing as already validated
    objects, and its content JSON reuses the text of the unchanged sections. The content,
    and so the id, is byte for byte that of :func:`engine.scenario.schema.scenario_sha256`
    after a full validation (stores written before stay resumable).
    """

    def __init__(self, plan: BatchPlan) -> None:
        self.plan = plan
        self._grid: tuple[int, _GridPoint] | None = None

    def _at(self, g: int) -> _GridPoint:
        # Points come grid point by grid point: one cached at a time is enough.
        if self._grid is None or self._grid[0] != g:
            self._grid = (g, _GridPoint(self.plan, g))
        return self._grid[1]

    def _edits(self, scenario: Scenario, point: Point) -> list[Edit]:
        edits = list(point.edits)
        if point.shocks is not None:
            normal, uniform = point.shocks
            stated = (self.plan.sweep.draws.pledges or {}) if self.plan.sweep.draws else {}
            for k, m in enumerate(scenario.members):
                dist = stated.get(m.id, stated.get("*"))
                if dist is not None:
                    drawn = _draw(dist, m.pledges, normal[k], uniform[k])
                    # Exact text in the fund's unit: a plain number would be read in it.
                    unit = scenario.fund.unit
                    text = {t: money_text(v, unit) for t, v in drawn.items()}
                    edits.append(Edit(f"members.{m.id}.pledge", text))
        if point.leaver is not None:
            edits.append(Edit(f"members.{point.leaver}.pledge", 0))
        return edits

    def make(self, point: Point) -> Made:
        """The point's scenario with its id and content; raises ScenarioError naming the
        sweep file and the combination when the scenario is invalid."""
        grid = self._at(point.grid)
        edits = self._edits(grid.scenario, point)
        if not edits:
            return grid.made
        touched = {e.path.split(".", 1)[0] for e in edits}
        scenario = None
        pledges = _pledge_edits(edits)
        if pledges is not None:
            with contextlib.suppress(ScenarioError):  # the full validation below says why
                scenario = replace_pledges(grid.scenario, pledges)
        if scenario is None:
            changed = apply_edits_to_data(
                {k: grid.data[k] for k in touched if k in grid.data}, edits
            )
            kept = {k: v for k, v in grid.sections.items() if k not in changed}
            try:
                scenario = validate_scenario({**kept, **changed}, source=self.plan.source)
            except ScenarioError:
                # Validate the whole again, for the message a file with these values gets.
                scenario = self.plan._validate({**grid.data, **changed}, _describe(point.labels))
        # Members are dumped again always: their pledges are normalised over the horizon.
        fresh = scenario.model_dump(
            mode="json", exclude_defaults=True, include={*touched, "members"}
        )
        texts = {k: v for k, v in grid.texts.items() if k not in touched and k != "members"}
        texts.update((k, _json(v)) for k, v in fresh.items())
        content = _joined(texts)
        return Made(_sha256(content), content, scenario)


def _pledge_edits(edits: list[Edit]) -> dict[str, Any] | None:
    """The new pledges by member when every edit sets a member's pledge (draws and N-1:
    then only pledges need checking), else None. Later edits win, as in the data."""
    pledges = {}
    for edit in edits:
        parts = edit.path.split(".")
        if len(parts) != 3 or parts[0] != "members" or parts[2] != "pledge":
            return None
        pledges[parts[1]] = edit.value
    return pledges


def _describe(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _draw(dist: Any, pledges: dict[int, float], z: float, u: float) -> dict[int, float]:
    """Yearly pledges of one member in one draw (currency units, rounded to cents)."""
    if isinstance(dist, Normal):
        flat = max(dist.mean + dist.sd * z, 0.0)
        return {t: round(flat, 2) for t in pledges}
    if isinstance(dist, Uniform):
        flat = dist.low + (dist.high - dist.low) * u
        return {t: round(flat, 2) for t in pledges}
    if isinstance(dist, LognormalFactor):
        factor = math.exp(dist.sigma * z - dist.sigma**2 / 2)
    else:
        factor = dist.low + (dist.high - dist.low) * u
    return {t: round(v * factor, 2) for t, v in pledges.items()}


def load_sweep(
    path: str | os.PathLike[str], find_scenario: Callable[[str], Path] = Path
) -> BatchPlan:
    """Read a sweep file and its base scenario; raises ScenarioError naming file and field.

    The base is looked for beside the sweep file, else given to ``find_scenario`` (the CLI
    passes the shipped scenarios' look-up, so that ``base: aspf-2026`` works), by default
    taken as a path.
    """
    path = Path(path)
    data = read_yaml_file(path, "sweep")
    sweep = parse_sweep(data, str(path))
    beside = path.parent / sweep.base
    base = beside if beside.exists() else find_scenario(sweep.base)
    try:
        base_data = read_scenario_data(base)
    except ScenarioError as error:
        if error.source != str(base):
            raise
        # The fix is in the sweep's `base` field: name it and the sweep file, not only the
        # path it was resolved to.
        where = f"{sweep.base!r}" + (f" ({base})" if str(base) != sweep.base else "")
        raise ScenarioError(
            [f"base: {where}: {problem}" for problem in error.problems], str(path)
        ) from None
    if not isinstance(base_data, dict):
        raise ScenarioError([f"base: {base} is not a scenario mapping"], str(path))
    check_draw_amounts(data, plain_context(base_data, "currency"), str(path))
    return BatchPlan(sweep, base_data, str(path))
