"""Futures: members' yearly pledges in many possible worlds, seeded and reproducible.

A :class:`Futures` holds a cube ``pledges[k, i, t]``: member ``members[i]``'s pledge in
``years[t]`` in future ``k``, in currency units (as ``Member.pledges``). Futures come from

- the fund's forecast (:func:`forecast_futures`): the joint sample paths of
  :func:`models.fund.fund_forecast` under a policy path (``trend``, ``hague-2035``, exits,
  or a path of the scenario's own ``paths:``), so members' pledges move together; the first
  year's pledges are the members' own (the forecast is calibrated on them);
- stated distributions (:func:`stated_futures`): each member's pledge times a lognormal
  factor of mean 1, ``exp(sigma Z - sigma^2 / 2)``, with a common shock of correlation
  ``rho`` between members, the first year known unless asked otherwise;
- any cube (a sweep file's draws, a test's numbers): ``Futures(members, years, cube)``.

:func:`draw_futures` makes ``n_in + n_out`` futures in one seeded draw and splits them:
the first ``n_in`` build the plan (in sample), the rest score it (out of sample), so that
robustness is measured on futures that did not shape the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.errors import ScenarioError
from engine.scenario.schema import Scenario

#: How many joint paths the quantile plans (median, 10th percentile) are split from, as
#: ``pledges: {from_forecast: {quantile: q}}`` does (models.paths.ForecastPledges).
REFERENCE_SAMPLES = 2000


@dataclass(frozen=True)
class Futures:
    """Members' pledges per future: ``pledges[k, i, t]`` in currency units."""

    members: tuple[str, ...]
    years: tuple[int, ...]
    pledges: np.ndarray
    source: str = "given"
    seed: int = 0
    #: A larger pool of the same distribution, for the quantile plans (None: these futures).
    reference: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        cube = np.asarray(self.pledges, dtype=float)
        if cube.ndim != 3 or cube.shape[1:] != (len(self.members), len(self.years)):
            raise ValueError(
                f"pledges must be (futures, {len(self.members)} members, {len(self.years)} "
                f"years); got {cube.shape}"
            )
        if not np.isfinite(cube).all() or (cube < 0).any():
            raise ValueError("pledges must be finite and non-negative")
        object.__setattr__(self, "pledges", cube)

    def __len__(self) -> int:
        return int(self.pledges.shape[0])

    def subset(self, index: slice | np.ndarray) -> Futures:
        """The futures at ``index`` (same members, years, source and reference pool)."""
        return Futures(
            self.members, self.years, self.pledges[index], self.source, self.seed, self.reference
        )

    def identical(self, n: int, k: int = 0) -> Futures:
        """``n`` copies of future ``k`` (a check: the plan must be the deterministic one)."""
        cube = np.repeat(self.pledges[k : k + 1], n, axis=0)
        return Futures(self.members, self.years, cube, self.source, self.seed, cube)

    def scenario(self, base: Scenario, k: int) -> Scenario:
        """``base`` with every listed member's pledges those of future ``k``."""
        return with_pledges(base, self.members, self.years, self.pledges[k])

    def at_quantile(self, quantile: float) -> np.ndarray:
        """Members' pledges ``(members, years)`` adding up to the ``quantile`` of the fund's
        total each year, split like :meth:`models.fund.FundForecast.pledges_at_quantile`:
        the paths nearest that total (the closest 2%, at least 20) averaged member by
        member, then scaled to it exactly. From the reference pool when there is one."""
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1); got {quantile!r}")
        cube = self.pledges if self.reference is None else self.reference
        out = np.zeros(cube.shape[1:])
        for t in range(cube.shape[2]):
            total = cube[:, :, t].sum(axis=1)
            q = float(np.quantile(total, quantile))
            k = min(len(total), max(20, int(0.02 * len(total))))
            near = np.argsort(np.abs(total - q), kind="stable")[:k]
            avg = cube[near, :, t].mean(axis=0)
            s = avg.sum()
            out[:, t] = avg * (q / s) if s > 0 else avg
        return out

    def totals(self) -> np.ndarray:
        """The fund's total per future and year ``(futures, years)``."""
        return self.pledges.sum(axis=1)


def with_pledges(
    base: Scenario, members: tuple[str, ...], years: tuple[int, ...], pledges: np.ndarray
) -> Scenario:
    """``base`` with these members' yearly pledges (currency units) replaced."""
    row = {m: i for i, m in enumerate(members)}
    changed = []
    for m in base.members:
        i = row.get(m.id)
        if i is None:
            changed.append(m)
            continue
        own = dict(m.pledges)
        own.update({y: float(pledges[i, t]) for t, y in enumerate(years)})
        changed.append(m.model_copy(update={"pledge": own}))
    return base.model_copy(update={"members": changed})


def _member_pledges(scenario: Scenario) -> np.ndarray:
    years = scenario.fund.years
    return np.array([[m.pledges[t] for t in years] for m in scenario.members], dtype=float)


def stated_futures(
    scenario: Scenario,
    n: int,
    sigma: float = 0.1,
    rho: float = 0.5,
    seed: int = 0,
    first_year_known: bool = True,
) -> Futures:
    """``n`` futures: each member's pledge times ``exp(sigma Z - sigma^2/2)`` per year, with
    ``Z = sqrt(rho) C + sqrt(1 - rho) E`` (C common to all members, E the member's own),
    all standard normal and seeded. The first year's pledges stay as pledged unless
    ``first_year_known`` is False."""
    if n < 1 or not 0 <= sigma <= 5 or not 0 <= rho <= 1:
        raise ValueError("need n >= 1, 0 <= sigma <= 5 and 0 <= rho <= 1")
    base = _member_pledges(scenario)
    shape = (n + REFERENCE_SAMPLES, *base.shape)
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((shape[0], 1, shape[2]))
    own = rng.standard_normal(shape)
    z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own
    factor = np.exp(sigma * z - sigma**2 / 2)
    if first_year_known:
        factor[:, :, 0] = 1.0
    cube = base[None] * factor
    members = tuple(m.id for m in scenario.members)
    years = tuple(scenario.fund.years)
    source = f"lognormal_factor(sigma={sigma:g}, rho={rho:g})"
    return Futures(members, years, cube[:n], source, seed, cube[n:])


def forecast_futures(scenario: Scenario, n: int, path: str = "trend", seed: int = 0) -> Futures:
    """``n`` joint sample paths of the fund's forecast under ``path`` (seeded), as
    members' pledges over the scenario's years; members the forecast does not model keep
    their own pledges. The reference pool for the quantile plans is the same forecast
    with at least :data:`REFERENCE_SAMPLES` paths. Raises ScenarioError when the
    forecast cannot be made (unknown path, a member without data)."""
    from models.errors import ForecastInputError
    from models.fund import fund_forecast

    written = scenario.written()
    years = list(scenario.fund.years)
    try:
        forecast = fund_forecast(
            written,
            path,
            years,
            paths=scenario.paths or None,
            n_samples=max(n, REFERENCE_SAMPLES),
            seed=seed,
        )
    except ForecastInputError as error:
        # The forecast's inputs are the policy path and the members' histories: say which
        # choice the planner can change, not the number of futures.
        raise ScenarioError(
            [
                f"{error} (the futures are the fund's forecast under this path; another --path, "
                "or --source stated for draws around the stated pledges, avoids it)"
            ],
            f"--source forecast --path {path}",
        ) from None
    base = _member_pledges(scenario)
    ids = [m.id for m in scenario.members]
    cube = np.repeat(base[None], forecast.samples.shape[0], axis=0)
    for i, m in enumerate(forecast.members):
        if m in ids:
            cube[:, ids.index(m), :] = forecast.samples[:, i, :]
    source = f"forecast(path={path})"
    return Futures(tuple(ids), tuple(years), cube[:n], source, seed, cube)


Source = Literal["forecast", "stated"]


def draw_futures(
    scenario: Scenario,
    n_in: int,
    n_out: int = 1000,
    source: Source = "forecast",
    seed: int = 0,
    path: str = "trend",
    sigma: float = 0.1,
    rho: float = 0.5,
) -> tuple[Futures, Futures]:
    """``n_in`` in-sample futures (build the plan) and ``n_out`` out-of-sample ones (score
    it), from one seeded draw; the same arguments give the same futures."""
    if n_in < 1 or n_out < 0:
        raise ScenarioError([f"futures: need at least 1 in sample, got {n_in}"], "--futures")
    n = n_in + n_out
    if source == "forecast":
        every = forecast_futures(scenario, n, path, seed)
    elif source == "stated":
        every = stated_futures(scenario, n, sigma, rho, seed)
    else:
        raise ScenarioError([f"futures: unknown source {source!r}"], "--source")
    return every.subset(slice(0, n_in)), every.subset(slice(n_in, n))
