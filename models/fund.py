"""The fund's size: members' contributions driven by their defence spending.

Each member contributes a rate times its defence expenditure; defence expenditure is GDP (current
US$, World Bank, forecast) times the defence share of GDP (NATO's 2014-2024 figures, forecast or
set by a policy path). The rate is calibrated so that the first fund year's contributions equal
the pledges: in every simulated path, ``contribution[t] = pledge[first] * D[t] / D[first]``,
so the uncertainty is about how spending grows after the pledge year.

The fund's total and any group totals are sums over jointly simulated member paths: GDP and share
shocks have a common part (one factor, its loadings estimated from members' year-on-year changes
by principal-axis factoring, not shrunk: :mod:`models.shocks`) and accumulate over the years like
a random walk, with each member's marginal spread set to its calibrated forecast interval (on the
log scale, so spending and contributions stay positive: :mod:`models.fund_grids`). Quantiles of
totals are taken from the summed paths, never by adding members' quantiles
(:class:`models.fund_samples.FundForecast`). The histories come from :mod:`models.fund_history`.

One forecast per question: :func:`fund_forecast` always simulates at least
:data:`DEFAULT_HORIZON` years from the first fund year, the models' calibration horizon does not
depend on how far ahead one asks, and each year's shocks come from their own random stream
(seed, series, year). So any two horizons give the same figures for the years they share, and
every view (CLI table, ``fund --horizon``, the report, Excel, forecast pledges, batch draws)
reads the same object for a (scenario, path, seed, samples), memoised in this process.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from models.errors import ForecastInputError
from models.fund_grids import GridJob, clear_grid_cache, forecast_grids
from models.fund_history import FundHistory, clean_spikes, load_fund_history
from models.fund_samples import FundForecast
from models.paths import PolicyPath, resolve_path
from models.shocks import factor_loadings, simulate_paths

#: Years every fund forecast covers from the first fund year, whatever the view asks for: the
#: CLI's default table, ``fund --horizon N`` and the report all slice the same simulation.
DEFAULT_HORIZON = 10
#: Years past the data's last year beyond which a forecast is flagged: twice the longest
#: horizon the domain backtest validates (10 years; benchmarks/RESULTS_forecast.md).
FAR_AHEAD = 20


def members_frame(source: Any) -> pd.DataFrame:
    """A ``member, year, pledge`` frame from a frame or from a scenario-like object.

    A scenario-like object has ``members`` (each with ``id`` and ``pledges: {year: amount}``).
    """
    if isinstance(source, pd.DataFrame):
        missing = {"member", "year", "pledge"} - set(source.columns)
        if missing:
            raise ForecastInputError(f"members frame: missing column(s) {sorted(missing)}")
        return source[["member", "year", "pledge"]].copy()
    rows = [(m.id, int(y), float(v)) for m in source.members for y, v in dict(m.pledges).items()]
    return pd.DataFrame(rows, columns=["member", "year", "pledge"])


@dataclass(frozen=True)
class _Roster:
    """Who is in a forecast: the path, the years, first-year pledges, joiners and members.

    ``modelled`` have GDP and defence-share histories; ``gdp_only`` pledge but have no defence
    share to model (Iceland, which has no armed forces): their contributions follow their GDP.
    """

    policy: PolicyPath
    name: str
    years: list[int]
    first_pledges: pd.Series
    joiners: list[str]
    ids: list[str]
    modelled: list[str]
    gdp_only: list[str]

    @property
    def based(self) -> list[str]:
        """The members whose contributions are simulated: ``modelled``, then ``gdp_only``."""
        return [*self.modelled, *self.gdp_only]

    def contributors(self) -> list[str]:
        """Members that get a contribution rate: positive first-year pledges, then joiners."""
        pledging = [m for m in self.based if self.first_pledges.get(m, 0.0) > 0]
        return [*pledging, *self.joiners]


def _roster(
    members: Any,
    path: str | PolicyPath,
    years: Sequence[int] | None,
    paths: Mapping[str, Any] | None,
    hist: FundHistory,
) -> _Roster:
    frame = members_frame(members)
    if isinstance(path, PolicyPath):
        pol, name = path, "custom"
    else:
        try:
            pol, name = resolve_path(path, paths), path
        except ValueError as exc:
            raise ForecastInputError(str(exc)) from None
    years = sorted(int(y) for y in (years if years is not None else frame["year"].unique()))
    if not years:
        raise ForecastInputError("no fund years to forecast")
    first = years[0]
    p0 = frame[frame["year"] == first].set_index("member")["pledge"].astype(float)
    if p0.empty:
        raise ForecastInputError(f"no pledges for the first forecast year {first}")
    # A member listed with a zero first-year pledge has not joined yet: the path's join applies.
    already = [m for m in pol.join if p0.get(m, 0.0) > 0]
    if already:
        m = already[0]
        raise ForecastInputError(
            f"member {m!r} joins under path {name!r} in {pol.join[m]} but already pledges "
            f"{p0[m]:g} in {first}: drop it from the path's join or its first-year pledge"
        )
    joiners = list(pol.join)
    if not joiners and not (p0 > 0).any():
        raise ForecastInputError(
            f"no member pledges more than 0 in the first fund year {first} and path {name!r} "
            "has no joiner: the fund would be zero in every year"
        )
    ids = sorted(set(p0.index) | set(joiners))
    have_gdp = set(hist.gdp["unique_id"])
    have_share = set(hist.share["unique_id"])
    modelled = [m for m in ids if m in have_gdp and m in have_share]
    gdp_only = [m for m in ids if m in have_gdp and m not in have_share and m not in joiners]
    gdp_only = [m for m in gdp_only if p0.get(m, 0.0) > 0]
    for m in ids:
        if m not in modelled and m not in gdp_only and (m in joiners or p0.get(m, 0.0) > 0):
            if m in have_gdp:  # a joiner pays the median rate of defence spending: it needs one
                raise ForecastInputError(
                    f"member {m!r} joins under path {name!r} but has no defence-share history "
                    "in the shipped data, so no contribution rate can apply to it"
                )
            raise ForecastInputError(f"member {m!r}: no GDP history in the shipped data")
    return _Roster(pol, name, years, p0, joiners, ids, modelled, gdp_only)


def contributing_members(
    members: Any,
    path: str | PolicyPath = "trend",
    years: Sequence[int] | None = None,
    *,
    paths: Mapping[str, Any] | None = None,
    history: FundHistory | None = None,
) -> list[str]:
    """The members :func:`fund_forecast` gives a contribution rate (the keys of its ``rates``),
    known without fitting anything: members pledging in the first year, then the path's joiners.

    Raises ForecastInputError like :func:`fund_forecast`.
    """
    return _roster(members, path, years, paths, history or load_fund_history()).contributors()


def fund_forecast(
    members: Any,
    path: str | PolicyPath = "trend",
    years: Sequence[int] | None = None,
    *,
    paths: Mapping[str, Any] | None = None,
    n_samples: int = 2000,
    seed: int = 0,
    history: FundHistory | None = None,
    n_jobs: int = 1,
) -> FundForecast:
    """Simulate members' contributions under a policy path.

    Parameters
    ----------
    members : a ``member, year, pledge`` frame or a scenario-like object; the first year's
        pledges set the rates (currency units, e.g. US$).
    path : a path name (built-in or in ``paths``) or a :class:`PolicyPath`.
    years : the years to forecast (default: the pledge years).
    paths : a scenario's own path definitions.
    n_samples, seed : the number of joint paths and the random seed (same seed, same paths).
    n_jobs : 2 or more fits GDP and the defence share side by side (one in a forked child);
        each fit runs in one process. Fits are memoised, so further paths refit nothing.

    Raises
    ------
    ForecastInputError
        Unknown path, a pledging member without GDP or defence data, or bad years.
    """
    hist = history or load_fund_history()
    roster = _roster(members, path, years, paths, hist)
    asked = roster.years
    first = asked[0]
    data_end = int(hist.gdp["ds"].max())
    if asked[-1] - data_end > FAR_AHEAD:
        warnings.warn(
            f"the forecast reaches {asked[-1]}, {asked[-1] - data_end} years past the data's "
            f"last year {data_end}: its bands were backtested up to 10 years ahead only",
            stacklevel=2,
        )
    span = list(range(first, max(asked[-1], first + DEFAULT_HORIZON - 1) + 1))
    key = _forecast_key(roster, hist, span, n_samples, seed)
    full = _FORECASTS.get(key)
    if full is None:
        full = _simulate_fund(replace(roster, years=span), hist, n_samples, seed, n_jobs)
        if len(_FORECASTS) > 16:
            _FORECASTS.clear()
        _FORECASTS[key] = full
    return full.select(asked)


_FORECASTS: dict[tuple, FundForecast] = {}


def _forecast_key(
    roster: _Roster, hist: FundHistory, span: Sequence[int], n_samples: int, seed: int
) -> tuple:
    """What a fund forecast depends on: pledges, path, history, years, samples and seed."""
    hashes = [int(pd.util.hash_pandas_object(f, index=False).sum()) for f in (hist.gdp, hist.share)]
    data = (*hashes, hist.pool)
    return (
        tuple(sorted(roster.first_pledges.items())),
        roster.policy.model_dump_json(),
        tuple(roster.ids),
        data,
        tuple(span),
        n_samples,
        seed,
    )


def _simulate_fund(
    roster: _Roster, hist: FundHistory, n_samples: int, seed: int, n_jobs: int
) -> FundForecast:
    """The joint paths of :func:`fund_forecast` for the roster's (contiguous) years."""
    pol, years, modelled, based = roster.policy, roster.years, roster.modelled, roster.based
    last_year = years[-1]

    jobs = [GridJob.of(hist.gdp, based, last_year, log=True, pool=hist.pool)]
    # In logs: shares stay positive and their changes are proportional; one-year spikes are
    # cleaned (on the log scale) before the models see them.
    share_pos = hist.share[hist.share["y"] > 0]
    if pol.base == "trend":
        job = GridJob.of(share_pos, modelled, last_year, log=True, pool=hist.pool)
        jobs.append(GridJob(clean_spikes(job.sub), job.members, job.last_year))
    grids = forecast_grids(jobs, n_jobs)

    gdp_mean, gdp_sd, gg = grids[0]
    lam_g = factor_loadings(hist.gdp.assign(y=np.log(hist.gdp["y"])).query("ds >= 2000"), based)
    log_gdp = simulate_paths(gdp_mean, gdp_sd, lam_g, n_samples, seed, 0)
    gdp = np.exp(log_gdp)
    gdp_years = gg["base"] + 1 + np.arange(gg["h"])

    if pol.base == "trend":
        sh_mean, sh_sd, sg = grids[1]
        lam_s = factor_loadings(jobs[1].sub, modelled)
        share = np.exp(simulate_paths(sh_mean, sh_sd, lam_s, n_samples, seed, 1))
        share_years = sg["base"] + 1 + np.arange(sg["h"])
    else:
        share_years, share = _target_shares(roster, hist, n_samples)
    share = _on_years(share, share_years, hist.share, roster.years, modelled)
    # A member without a defence share contributes a fixed rate of its GDP: its "share" is 1.
    share = np.concatenate(
        [share, np.ones((*share.shape[:1], len(roster.gdp_only), share.shape[2]))], axis=1
    )
    defexp = _on_years(gdp, gdp_years, hist.gdp, roster.years, based) * share
    return _contributions(defexp, roster)


def _target_shares(
    roster: _Roster, hist: FundHistory, n_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(years, shares)`` of a ``gdp_share`` path: each member's last share moved linearly to
    the target by the target year (never cut, if the path says so), the same in every path."""
    pol, modelled = roster.policy, roster.modelled
    target = pol.target_share()
    if target is None or pol.target_year is None:
        raise ForecastInputError(f"policy path {roster.name!r}: gdp_share needs a target")
    share_last = hist.share.sort_values("ds").groupby("unique_id").last()
    share_years = np.arange(int(share_last["ds"].min()) + 1, roster.years[-1] + 1)
    share = np.zeros((1, len(modelled), len(share_years)))
    for i, m in enumerate(modelled):
        y0, s0 = int(share_last.at[m, "ds"]), float(share_last.at[m, "y"])
        goal = max(target, s0) if pol.never_cut else target
        span = max(pol.target_year - y0, 1)
        frac = np.clip((share_years - y0) / span, 0.0, 1.0)
        share[0, i] = s0 + (goal - s0) * frac
    return share_years, np.broadcast_to(share, (n_samples, *share.shape[1:]))


def _on_years(
    arr: np.ndarray,
    grid: np.ndarray,
    observed: pd.DataFrame,
    years: Sequence[int],
    members: Sequence[str],
) -> np.ndarray:
    """``arr`` (paths of ``members`` on the ``grid`` years) on ``years``: the simulated years,
    and years before the grid from every member's history."""
    wide = observed.pivot(index="ds", columns="unique_id", values="y")
    wide = wide.reindex(columns=list(members))
    cols = []
    for y in years:
        if y in grid:
            cols.append(arr[:, :, int(np.flatnonzero(grid == y)[0])])
        elif y < grid[0] and y in wide.index and wide.loc[y].notna().all():
            cols.append(np.broadcast_to(wide.loc[y].to_numpy(float), arr.shape[:2]))
        else:
            raise ForecastInputError(f"years {years} fall outside the forecast grid")
    return np.stack(cols, axis=2)


def _contributions(defexp: np.ndarray, roster: _Roster) -> FundForecast:
    """Members' contributions from their defence-expenditure paths (GDP for ``gdp_only``
    members): first-year pledges set the rates, joiners pay the median rate of defence spending
    from their join year; exits and rate changes apply."""
    pol, years, ids, based = roster.policy, roster.years, roster.ids, roster.based
    p0 = roster.first_pledges
    n_samples = defexp.shape[0]
    contrib = np.zeros((n_samples, len(ids), len(years)))
    rates: dict[str, float] = {}
    base_rates = []
    for i, m in enumerate(based):
        pledge = float(p0.get(m, 0.0))
        if m in p0.index and pledge > 0:
            d0 = defexp[:, i, 0]
            rates[m] = pledge / float(d0.mean())
            if m in roster.modelled:
                base_rates.append(rates[m])
            contrib[:, ids.index(m), :] = pledge * defexp[:, i, :] / d0[:, None]
    join_rate = float(np.median(base_rates)) if base_rates else 0.0
    yrs = np.asarray(years)
    for m in roster.joiners:
        i = based.index(m)
        rates[m] = join_rate
        contrib[:, ids.index(m), :] = join_rate * defexp[:, i, :] * (yrs >= pol.join[m])
    for m, y in pol.leave.items():
        if m in ids:
            contrib[:, ids.index(m), yrs >= y] = 0.0
    for m, rc in pol.rate_change.items():
        if m in ids:
            contrib[:, ids.index(m), yrs >= rc.from_year] *= rc.factor
    return FundForecast(ids, years, contrib, roster.name, pol, rates)


def fund_sample_paths(members: Any, path: str = "trend", years=None, **kw: Any) -> pd.DataFrame:
    """Joint sample paths ``sample, member, year, contribution`` (see :func:`fund_forecast`)."""
    return fund_forecast(members, path, years, **kw).sample_paths()


def forecast_pledges(
    members: Any,
    path: str,
    quantile: float,
    seed: int = 0,
    *,
    years: Sequence[int] | None = None,
    paths: Mapping[str, Any] | None = None,
    n_samples: int = 2000,
    history: FundHistory | None = None,
) -> pd.DataFrame:
    """Pledges ``member, year, pledge`` (currency units) at the fund total's ``quantile``.

    ``members`` is a ``member, year, pledge`` frame or a scenario-like object whose first year's
    pledges calibrate the rates; ``years`` defaults to its pledge years. ``quantile=0.1`` plans
    on the prudent 10th percentile of the fund's total.
    """
    fc = fund_forecast(
        members, path, years, paths=paths, n_samples=n_samples, seed=seed, history=history
    )
    return fc.pledges_at_quantile(quantile)


def clear_caches() -> None:
    """Forget memoised fits and forecasts: the next forecast computes from scratch."""
    _FORECASTS.clear()
    clear_grid_cache()
