"""The fund's size: members' contributions driven by their defence spending.

Each member contributes a rate times its defence expenditure; defence expenditure is GDP (current
US$, World Bank, forecast) times the defence share of GDP (NATO's 2014-2024 figures, forecast or
set by a policy path). The rate is calibrated so that the first fund year's contributions equal
the pledges: in every simulated path, ``contribution[t] = pledge[first] * D[t] / D[first]``,
so the uncertainty is about how spending grows after the pledge year.

The fund's total and any group totals are sums over jointly simulated member paths: GDP and share
shocks have a common part (one factor, its loadings estimated from members' year-on-year changes
by principal-axis factoring, not shrunk) and accumulate over the years like a random walk, with
each member's marginal spread set to its calibrated forecast interval (on the log scale, so
spending and contributions stay positive). Quantiles of totals are taken from the summed paths,
never by adding members' quantiles.

One forecast per question: :func:`fund_forecast` always simulates at least
:data:`DEFAULT_HORIZON` years from the first fund year, the models' calibration horizon does not
depend on how far ahead one asks, and each year's shocks come from their own random stream
(seed, series, year). So any two horizons give the same figures for the years they share, and
every view (CLI table, ``fund --horizon``, the report, Excel, forecast pledges, batch draws)
reads the same object for a (scenario, path, seed, samples), memoised in this process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from models.base import level_label, z_value
from models.data import load_nato_defexp, load_worldbank
from models.errors import ForecastInputError
from models.forked import beside
from models.paths import PolicyPath, resolve_path
from models.selection import AutoForecaster

GDP_START = 1995  # 30 years of GDP: long enough for calibration, short of the Cold War's end.
#: Years every fund forecast covers from the first fund year, whatever the view asks for: the
#: CLI's default table, ``fund --horizon N`` and the report all slice the same simulation.
DEFAULT_HORIZON = 10
#: The models' backtest horizon (capped at half the shortest history): fixed, so that the
#: calibration, and so every year's figures, do not depend on the horizon asked for.
CALIBRATION_HORIZON = 10
# fast_theta is statsmodels' Theta in numpy (same forecasts, tested): 100x cheaper.
FUND_CANDIDATES = ("naive", "drift", "fast_theta")
FUND_COMBINATIONS = {"ensemble": ("drift", "fast_theta")}


@dataclass(frozen=True)
class FundHistory:
    """Inputs of the fund model: GDP and defence-share histories per member (long frames)."""

    gdp: pd.DataFrame  # unique_id, ds, y = GDP in current US$
    share: pd.DataFrame  # unique_id, ds, y = defence expenditure / GDP (fraction)
    # Countries whose series are always fitted alongside the members, so that the conformal
    # calibration pools enough errors even for a fund of three (NATO's reporting allies).
    pool: tuple[str, ...] = ()


def load_fund_history(
    nato_path: str | None = None, wb_path: str | None = None, gdp_start: int = GDP_START
) -> FundHistory:
    """GDP (World Bank, from ``gdp_start``) and defence-share histories for every country.

    The share for NATO members is NATO's defence expenditure (current US$) over World Bank GDP
    (current US$), so that share x GDP reproduces NATO's figures; countries outside NATO's tables
    use the World Bank's military expenditure share (SIPRI data).
    """
    wb = load_worldbank(wb_path, start=gdp_start)
    gdp = wb[["unique_id", "ds", "y"]].copy()
    nato = load_nato_defexp(nato_path)
    merged = nato.merge(gdp.rename(columns={"y": "gdp_wb"}), on=["unique_id", "ds"], how="left")
    merged = merged[merged["gdp_wb"].notna() & (merged["gdp_wb"] > 0)]
    nato_share = pd.DataFrame(
        {"unique_id": merged["unique_id"], "ds": merged["ds"], "y": merged["y"] / merged["gdp_wb"]}
    )
    wb_share = wb.loc[wb["wb_milex_pct_gdp"].notna(), ["unique_id", "ds", "wb_milex_pct_gdp"]]
    wb_share = wb_share[~wb_share["unique_id"].isin(set(nato_share["unique_id"]))]
    wb_share = wb_share.rename(columns={"wb_milex_pct_gdp": "y"}).assign(y=lambda d: d["y"] / 100)
    wb_share = wb_share[wb_share["ds"] >= 2010]
    share = pd.concat([nato_share, wb_share], ignore_index=True)
    # Keep each country's latest unbroken stretch, so the frame is gap-free.
    keep = []
    for _, g in share.sort_values(["unique_id", "ds"]).groupby("unique_id"):
        brk = np.flatnonzero(np.diff(g["ds"].to_numpy()) != 1)
        keep.append(g.iloc[brk[-1] + 1 :] if len(brk) else g)
    share = pd.concat(keep, ignore_index=True)
    pool = tuple(sorted(set(nato_share["unique_id"])))
    return FundHistory(gdp=gdp.reset_index(drop=True), share=share, pool=pool)


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


#: A one-year spike (a jump reversed the next year, both larger than this many robust sds of
#: the series' yearly changes) is an additive outlier: a one-off payment such as Bulgaria's
#: 2019 F-16 purchase, not a change of level.
SPIKE_SDS = 3.0


def clean_spikes(frame: pd.DataFrame, k: float = SPIKE_SDS) -> pd.DataFrame:
    """``frame`` (``unique_id, ds, y``, on the scale modelled) with one-year spikes replaced
    by the mean of their neighbours; the first and last years are never changed.

    Without this a single spike doubles a member's yearly volatility, and its band ten years
    ahead spans a factor of hundreds.
    """
    parts = []
    for _, g in frame.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False):
        y = g["y"].to_numpy(float).copy()
        if len(y) >= 5:
            d = np.diff(y)
            sd = 1.4826 * float(np.median(np.abs(d - np.median(d))))
            for t in range(1, len(y) - 1):
                d1, d2 = y[t] - y[t - 1], y[t + 1] - y[t]
                if sd > 0 and d1 * d2 < 0 and min(abs(d1), abs(d2)) > k * sd:
                    y[t] = (y[t - 1] + y[t + 1]) / 2
        parts.append(g.assign(y=y))
    return pd.concat(parts, ignore_index=True) if parts else frame


def _changes(hist: pd.DataFrame, members: Sequence[str]) -> pd.DataFrame:
    wide = hist.pivot(index="ds", columns="unique_id", values="y").reindex(columns=list(members))
    return wide.diff().iloc[1:]


def factor_loadings(hist: pd.DataFrame, members: Sequence[str], rounds: int = 25) -> np.ndarray:
    """Each member's loading on one common factor of year-on-year changes (a vector in (-1, 1)).

    Principal-axis factoring of the pairwise correlation matrix of the changes over their
    common years: the first principal axis, refitted with the communalities on the diagonal.
    The implied correlation is ``l l' + diag(1 - l**2)``: the common part of the shocks, which
    a correlation shrunk towards zero would understate (and with it the fund total's band).
    Fewer than 4 common years, or a member with no changes, gives loading 0 for those.
    """
    d = _changes(hist, members)
    n = len(members)
    if len(d) < 4 or n < 2:
        return np.zeros(n)
    c = d.corr(min_periods=4).to_numpy()
    known = np.isfinite(np.diag(c))
    c = np.where(np.isfinite(c), c, 0.0)
    np.fill_diagonal(c, 1.0)
    comm = np.ones(n)
    lam = np.zeros(n)
    for _ in range(rounds):
        r = c.copy()
        np.fill_diagonal(r, comm)
        w, v = np.linalg.eigh(r)
        lam = v[:, -1] * np.sqrt(max(w[-1], 0.0))
        comm = np.clip(lam**2, 0.0, 0.98)
    lam = np.clip(lam, -0.99, 0.99) * known
    return lam if lam.sum() >= 0 else -lam


def factor_corr(lam: np.ndarray) -> np.ndarray:
    """The correlation matrix ``l l' + diag(1 - l**2)`` of one-factor shocks."""
    c = np.outer(lam, lam)
    np.fill_diagonal(c, 1.0)
    return c


def _shock_stream(seed: int, stream: int, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Standard normals for one simulated year: their own stream, so a longer horizon adds
    years without changing the earlier ones."""
    return np.random.default_rng([seed, stream, step]).standard_normal(shape)


def _simulate(
    mean: np.ndarray,
    sd: np.ndarray,
    lam: np.ndarray,
    n_samples: int,
    seed: int,
    stream: int,
) -> np.ndarray:
    """Joint paths ``(samples, members, steps)``: one-factor random-walk shocks (a common
    factor with loadings ``lam`` plus members' own shocks), unit marginals rescaled to each
    member's forecast sd per step. Step ``j`` draws from stream ``(seed, stream, j)``."""
    n, h = mean.shape
    own = np.sqrt(np.maximum(1 - lam**2, 0.0))
    e = np.empty((n_samples, h, n))
    for j in range(h):
        z = _shock_stream(seed, stream, j, (n_samples, n + 1))
        e[:, j, :] = z[:, :1] * lam[None, :] + z[:, 1:] * own[None, :]
    z = np.cumsum(e, axis=1) / np.sqrt(np.arange(1, h + 1))[None, :, None]
    return mean[None] + sd[None] * z.transpose(0, 2, 1)


_GRID_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray, dict[str, int]]] = {}


@dataclass(frozen=True)
class _GridJob:
    """One grid to fit: the series (members and pool, in logs if asked) and its cache key."""

    sub: pd.DataFrame
    members: tuple[str, ...]
    last_year: int

    @classmethod
    def of(
        cls,
        hist: pd.DataFrame,
        members: Sequence[str],
        last_year: int,
        log: bool,
        pool: Sequence[str] = (),
    ) -> _GridJob:
        sub = hist[hist["unique_id"].isin(set(members) | set(pool))].copy()
        if log:
            sub["y"] = np.log(sub["y"])
        return cls(sub, tuple(members), last_year)

    @property
    def key(self) -> tuple:
        frame = self.sub[["unique_id", "ds", "y"]]
        return (
            int(pd.util.hash_pandas_object(frame, index=False).sum()),
            self.members,
            self.last_year,
        )

    def fit(self) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        # Hundreds of fits of tiny matrices: BLAS threads only contend (six times the CPU
        # where nothing pins them to one, e.g. in a library caller or a test).
        with threadpool_limits(limits=1, user_api="blas"):
            return _fit_grid(self.sub, self.members, self.last_year)


def _forecast_grids(
    jobs: Sequence[_GridJob], n_jobs: int
) -> list[tuple[np.ndarray, np.ndarray, dict[str, int]]]:
    """Mean and sd per member for every year up to ``last_year`` after each member's last
    observation, on a grid indexed by steps after the earliest last observation; one per job.

    Results are memoised on the data's content: comparing paths or seeds refits nothing. With
    ``n_jobs`` > 1, two grids to fit are fitted side by side, one in a forked child process.
    """
    if len(_GRID_CACHE) > 32:
        _GRID_CACHE.clear()
    keys = [job.key for job in jobs]
    todo = {key: job for key, job in zip(keys, jobs, strict=True) if key not in _GRID_CACHE}
    pending = list(todo.items())
    if n_jobs > 1 and len(pending) > 1:
        (key_a, job_a), (key_b, job_b) = pending[:2]
        with beside(job_b.fit) as fitted_b:
            _GRID_CACHE[key_a] = job_a.fit()
            _GRID_CACHE[key_b] = fitted_b()
        pending = pending[2:]
    for key, job in pending:
        _GRID_CACHE[key] = job.fit()
    out = []
    for key in keys:
        mean, sd, info = _GRID_CACHE[key]
        out.append((mean.copy(), sd.copy(), dict(info)))
    return out


def _fit_grid(
    sub: pd.DataFrame, members: Sequence[str], last_year: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    last = sub[sub["unique_id"].isin(members)].groupby("unique_id")["ds"].max().to_dict()
    h = last_year - min(last.values())
    # Backtest windows need training data: with 11 years of shares, a 10-year window would train
    # on 1-3 points. Calibrate up to half the shortest history; later years extrapolate.
    n_min = int(sub[sub["unique_id"].isin(members)].groupby("unique_id").size().min())
    model = AutoForecaster(
        candidates=FUND_CANDIDATES,
        combinations=FUND_COMBINATIONS,
        horizon=max(1, min(CALIBRATION_HORIZON, n_min // 2)),
        n_windows=3,
        # One process: worker pools pay more for their imports than they save on these few
        # dozen short series (see benchmarks/RESULTS_reports.md).
        n_jobs=1,
        # The pool (about 30 allies) gives 90+ errors per step from full windows alone; the
        # partial windows would quadruple the fits for little gain.
        partial=False,
        # The series are logs already (GDP, shares): intervals symmetric on that scale.
        positive=False,
    ).fit(sub)
    fc = model.predict(h, level=(95,))
    fc["sd"] = (fc["hi-95"] - fc["lo-95"]) / (2 * z_value(95))
    base = min(last.values())
    mean = np.zeros((len(members), h))
    sd = np.zeros((len(members), h))
    for i, m in enumerate(members):
        g = fc[fc["unique_id"] == m]
        years = g["ds"].to_numpy()
        # Years already observed for this member keep their observed value (sd 0).
        obs = sub[sub["unique_id"] == m].set_index("ds")["y"]
        for j in range(h):
            yr = base + 1 + j
            if yr in obs.index:
                mean[i, j] = obs[yr]
            else:
                k = int(np.flatnonzero(years == yr)[0])
                mean[i, j] = g["mean"].iloc[k]
                sd[i, j] = g["sd"].iloc[k]
    return mean, sd, {"base": base, "h": h}


@dataclass
class FundForecast:
    """Joint sample paths of members' contributions, with summaries.

    ``samples[s, i, t]`` is member ``members[i]``'s contribution in ``years[t]`` in path ``s``,
    in currency units.
    """

    members: list[str]
    years: list[int]
    samples: np.ndarray
    path_name: str
    path: PolicyPath
    rates: dict[str, float] = field(default_factory=dict)

    def sample_paths(self) -> pd.DataFrame:
        """Long frame ``sample, member, year, contribution``."""
        s, n, t = self.samples.shape
        idx = np.indices((s, n, t)).reshape(3, -1)
        return pd.DataFrame(
            {
                "sample": idx[0],
                "member": np.asarray(self.members)[idx[1]],
                "year": np.asarray(self.years)[idx[2]],
                "contribution": self.samples.reshape(-1),
            }
        )

    def _summary(self, x: np.ndarray, levels: Iterable[float]) -> dict[str, np.ndarray]:
        out = {"mean": x.mean(axis=0), "median": np.median(x, axis=0)}
        for lv in sorted(levels):
            a = (100 - lv) / 200
            out[f"lo-{level_label(lv)}"] = np.quantile(x, a, axis=0)
            out[f"hi-{level_label(lv)}"] = np.quantile(x, 1 - a, axis=0)
        return out

    def total(self, levels: Iterable[float] = (80, 95), members: Sequence[str] | None = None):
        """The fund's (or a group's) total per year with intervals from the summed paths."""
        idx = [self.members.index(m) for m in members] if members else slice(None)
        tot = self.samples[:, idx, :].sum(axis=1)
        return pd.DataFrame({"year": self.years, **self._summary(tot, levels)})

    def by_member(self, levels: Iterable[float] = (80, 95)) -> pd.DataFrame:
        """Each member's contribution per year with its own intervals."""
        parts = []
        for i, m in enumerate(self.members):
            parts.append(
                pd.DataFrame(
                    {"member": m, "year": self.years, **self._summary(self.samples[:, i], levels)}
                )
            )
        return pd.concat(parts, ignore_index=True)

    def select(self, years: Sequence[int]) -> FundForecast:
        """The same forecast restricted to ``years`` (a view of the same joint paths)."""
        years = [int(y) for y in years]
        missing = [y for y in years if y not in self.years]
        if missing:
            raise ForecastInputError(f"years {missing} are outside the forecast {self.years}")
        if years == self.years:
            return self
        idx = [self.years.index(y) for y in years]
        return FundForecast(
            self.members, years, self.samples[:, :, idx], self.path_name, self.path, self.rates
        )

    def median_split(self) -> np.ndarray:
        """Members' parts of the fund total's median, ``(members, years)``: each member's own
        median, all scaled by one factor per year so that the parts add up to the total's
        median exactly (the median of a sum is not the sum of the medians)."""
        own = np.median(self.samples, axis=0)
        total = np.median(self.samples.sum(axis=1), axis=0)
        s = own.sum(axis=0)
        return own * np.where(s > 0, total / np.where(s > 0, s, 1.0), 0.0)[None, :]

    def drivers(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` members whose part of the fund's median changes most, first to last year.

        Decomposition (pro-rata medians): each year members' own medians are scaled by one
        common factor so that they add up to the fund total's median (:meth:`median_split`);
        a member's change is the change of its part, so all members' changes add up to the
        median's change exactly (``share_of_change`` sums to 1 over every member). Members'
        own medians would not add up: the median of a sum is not the sum of the medians.
        """
        m = self.median_split()
        change = m[:, -1] - m[:, 0]
        total_change = float(change.sum())
        order = np.argsort(-np.abs(change), kind="stable")[:k]
        return pd.DataFrame(
            {
                "member": [self.members[i] for i in order],
                "first": m[order, 0],
                "last": m[order, -1],
                "change": change[order],
                "share_of_change": change[order] / total_change if total_change else np.nan,
            }
        )

    def pledges_at_quantile(self, quantile: float, years: Sequence[int] | None = None):
        """Members' pledges that add up to the ``quantile`` of the fund's total, per year.

        For each year, the paths whose total lies nearest that quantile (the closest 2%, at least
        20) are averaged member by member, then scaled to the quantile exactly: a coherent split,
        not a sum of members' own quantiles.
        """
        if not 0 < quantile < 1:
            raise ForecastInputError(f"quantile must be in (0, 1); got {quantile!r}")
        rows = []
        for t, yr in enumerate(self.years):
            if years is not None and yr not in years:
                continue
            tot = self.samples[:, :, t].sum(axis=1)
            q = float(np.quantile(tot, quantile))
            k = max(20, int(0.02 * len(tot)))
            near = np.argsort(np.abs(tot - q), kind="stable")[:k]
            avg = self.samples[near, :, t].mean(axis=0)
            s = avg.sum()
            avg = avg * (q / s) if s > 0 else avg
            rows += [(m, yr, float(v)) for m, v in zip(self.members, avg, strict=True)]
        return pd.DataFrame(rows, columns=["member", "year", "pledge"])


@dataclass(frozen=True)
class _Roster:
    """Who is in a forecast: the path, the years, first-year pledges, joiners and members."""

    policy: PolicyPath
    name: str
    years: list[int]
    first_pledges: pd.Series
    joiners: list[str]
    ids: list[str]
    modelled: list[str]

    def contributors(self) -> list[str]:
        """Members that get a contribution rate: positive first-year pledges, then joiners."""
        pledging = [m for m in self.modelled if self.first_pledges.get(m, 0.0) > 0]
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
    joiners = [m for m in pol.join if m not in p0.index]
    ids = sorted(set(p0.index) | set(joiners))
    have_gdp = set(hist.gdp["unique_id"])
    have_share = set(hist.share["unique_id"])
    modelled = [m for m in ids if m in have_gdp and m in have_share]
    for m in ids:
        if m not in modelled and (m in joiners or p0.get(m, 0.0) > 0):
            what = "GDP" if m not in have_gdp else "defence-share"
            raise ForecastInputError(f"member {m!r}: no {what} history in the shipped data")
    return _Roster(pol, name, years, p0, joiners, ids, modelled)


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
    pol, name, years = roster.policy, roster.name, roster.years
    p0, joiners, ids, modelled = roster.first_pledges, roster.joiners, roster.ids, roster.modelled
    last_year = years[-1]

    jobs = [_GridJob.of(hist.gdp, modelled, last_year, log=True, pool=hist.pool)]
    # In logs: shares stay positive and their changes are proportional; one-year spikes are
    # cleaned (on the log scale) before the models see them.
    share_pos = hist.share[hist.share["y"] > 0]
    if pol.base == "trend":
        job = _GridJob.of(share_pos, modelled, last_year, log=True, pool=hist.pool)
        jobs.append(_GridJob(clean_spikes(job.sub), job.members, job.last_year))
    grids = _forecast_grids(jobs, n_jobs)

    gdp_mean, gdp_sd, gg = grids[0]
    lam_g = factor_loadings(hist.gdp.assign(y=np.log(hist.gdp["y"])).query("ds >= 2000"), modelled)
    log_gdp = _simulate(gdp_mean, gdp_sd, lam_g, n_samples, seed, 0)
    gdp = np.exp(log_gdp)
    gdp_years = gg["base"] + 1 + np.arange(gg["h"])

    share_last = hist.share.sort_values("ds").groupby("unique_id").last()
    if pol.base == "trend":
        sh_mean, sh_sd, sg = grids[1]
        lam_s = factor_loadings(jobs[1].sub, modelled)
        share = np.exp(_simulate(sh_mean, sh_sd, lam_s, n_samples, seed, 1))
        share_years = sg["base"] + 1 + np.arange(sg["h"])
    else:
        target = pol.target_share()
        if target is None or pol.target_year is None:
            raise ForecastInputError(f"policy path {name!r}: gdp_share needs a target")
        share_years = np.arange(int(share_last["ds"].min()) + 1, last_year + 1)
        share = np.zeros((1, len(modelled), len(share_years)))
        for i, m in enumerate(modelled):
            y0, s0 = int(share_last.at[m, "ds"]), float(share_last.at[m, "y"])
            goal = max(target, s0) if pol.never_cut else target
            span = max(pol.target_year - y0, 1)
            frac = np.clip((share_years - y0) / span, 0.0, 1.0)
            share[0, i] = s0 + (goal - s0) * frac
        share = np.broadcast_to(share, (n_samples, *share.shape[1:]))

    def on_years(arr: np.ndarray, grid: np.ndarray, observed: pd.DataFrame) -> np.ndarray:
        """The simulated years, and years before the grid from every member's history."""
        wide = observed.pivot(index="ds", columns="unique_id", values="y")
        wide = wide.reindex(columns=modelled)
        cols = []
        for y in years:
            if y in grid:
                cols.append(arr[:, :, int(np.flatnonzero(grid == y)[0])])
            elif y < grid[0] and y in wide.index and wide.loc[y].notna().all():
                cols.append(np.broadcast_to(wide.loc[y].to_numpy(float), arr.shape[:2]))
            else:
                raise ForecastInputError(f"years {years} fall outside the forecast grid")
        return np.stack(cols, axis=2)

    defexp = on_years(gdp, gdp_years, hist.gdp) * on_years(share, share_years, hist.share)
    contrib = np.zeros((n_samples, len(ids), len(years)))
    rates: dict[str, float] = {}
    base_rates = []
    for i, m in enumerate(modelled):
        pledge = float(p0.get(m, 0.0))
        if m in p0.index and pledge > 0:
            d0 = defexp[:, i, 0]
            rates[m] = pledge / float(d0.mean())
            base_rates.append(rates[m])
            contrib[:, ids.index(m), :] = pledge * defexp[:, i, :] / d0[:, None]
    join_rate = float(np.median(base_rates)) if base_rates else 0.0
    yrs = np.asarray(years)
    for m in joiners:
        i = modelled.index(m)
        rates[m] = join_rate
        contrib[:, ids.index(m), :] = join_rate * defexp[:, i, :] * (yrs >= pol.join[m])
    for m, y in pol.leave.items():
        if m in ids:
            contrib[:, ids.index(m), yrs >= y] = 0.0
    for m, rc in pol.rate_change.items():
        if m in ids:
            contrib[:, ids.index(m), yrs >= rc.from_year] *= rc.factor
    return FundForecast(ids, years, contrib, name, pol, rates)


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
