"""Automatic model choice from rolling-origin backtests, with calibrated intervals.

:class:`AutoForecaster` runs a rolling-origin backtest of every candidate model on every series
(each worker also fits the models on the whole series in the same pass), scores the candidates
and their median and mean combinations on the backtest, picks one for the panel (or per series),
falls back down the ranking where the chosen model failed to fit, and calibrates the intervals
with conformal half-widths learnt from the same backtest errors (see :mod:`models.conformal`).
With one candidate it is simply that model with calibrated intervals: the CLI's ``--model ets``
and friends use it that way.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from models.backtest import cv_and_fit_series, map_series, pool_length
from models.base import (
    DEFAULT_LEVELS,
    Forecaster,
    check_horizon,
    check_levels,
    level_label,
    z_value,
)
from models.baselines import Drift, Naive
from models.conformal import (
    halfwidths,
    interval_columns,
    interval_scale,
    is_positive,
    log_interval_columns,
    log_interval_scale,
    log_mase_scale,
)
from models.data import validate_long
from models.ensemble import combine
from models.errors import ForecastInputError
from models.fast_arima import FastARIMA
from models.global_model import GlobalRidge, panel_cv
from models.metrics import coverage, mase, mase_scale, msis, smape
from models.regression import DriverRegression
from models.smoothing import FastETS, FastETSLog, FastTheta, FastThetaLog
from models.statsmodels_models import ARIMA, ETS, Theta, ThetaLog
from models.theta import OptimisedTheta, OptimisedThetaLog

ATOMIC: dict[str, type[Forecaster]] = {
    "naive": Naive,
    "drift": Drift,
    "ets": ETS,
    "arima": ARIMA,
    "theta": Theta,
    "theta_log": ThetaLog,
    "regression": DriverRegression,
    "fast_theta": FastTheta,
    "fast_theta_log": FastThetaLog,
    "fast_ets": FastETS,
    "fast_ets_log": FastETSLog,
    "fast_arima": FastARIMA,
    "global_ridge": GlobalRidge,
    "dotm": OptimisedTheta,
    "dotm_log": OptimisedThetaLog,
}
# The auto pool uses the numpy fits of Theta and ETS (models/smoothing.py: the same models as the
# statsmodels ones, 5-25x cheaper) and Theta on log y, with the small menu (the singles, the
# median and the mean of the pool). Re-decided after the same-rows fix of the backtest (issue 13)
# on the development split of M3 yearly's training data (never its test part), see
# benchmarks/RESULTS_forecast.md: this pool with the small or the wide menu 18.85 sMAPE / 3.223
# MASE (both chose Theta on logs); with DOTM instead of Theta 18.87 / 3.261; naive, drift, DOTM
# and ETS 19.13 / 3.300. DOTM (models/theta.py) stays available as "dotm".
DEFAULT_CANDIDATES = ("naive", "drift", "fast_theta", "fast_theta_log", "fast_ets")
#: Backtest windows per series for the choice and the calibration: 5 scored best on the same
#: development split (4, 6 and 8 chose the same combination; 3 did worse); series too short
#: for them use partial windows.
DEFAULT_WINDOWS = 5
DEFAULT_COMBINATIONS: dict[str, tuple[str, ...]] = {"ensemble": ("drift", "theta", "ets")}
MODEL_CHOICES = ("auto", "naive", "drift", "ets", "arima", "theta", "ensemble")
COMBINERS = ("median", "mean")


class Combo(tuple):
    """The component model names of a combination, with ``how`` they combine (median or mean).

    A plain tuple of names in ``combinations`` means the median.
    """

    how: str

    def __new__(cls, parts: Iterable[str], how: str = "median") -> Combo:
        if how not in COMBINERS:
            raise ForecastInputError(f"a combination is a median or a mean; got {how!r}")
        obj = super().__new__(cls, tuple(parts))
        obj.how = how
        return obj

    def __reduce__(self) -> tuple[type[Combo], tuple[tuple[str, ...], str]]:
        return (Combo, (tuple(self), self.how))


def as_combo(parts: Sequence[str]) -> Combo:
    """``parts`` as a :class:`Combo` (a plain sequence of names is a median)."""
    return Combo(parts, getattr(parts, "how", "median"))


def default_combinations(candidates: Sequence[str]) -> dict[str, Combo]:
    """The menu of combinations the backtest chooses from: ``ensemble`` (the median of drift,
    theta and ETS) and the median and the mean of every subset of three or more candidates.
    Scoring a combination on the backtest costs no fit, so the menu can be wide."""
    from itertools import combinations as subsets

    out: dict[str, Combo] = {}
    if set(DEFAULT_COMBINATIONS["ensemble"]) <= set(candidates):
        out["ensemble"] = Combo(DEFAULT_COMBINATIONS["ensemble"])
    seen = {tuple(v) for v in out.values()}
    for k in range(3, len(candidates) + 1):
        for combo in subsets(candidates, k):
            if combo not in seen:
                out[f"median({','.join(combo)})"] = Combo(combo)
            out[f"mean({','.join(combo)})"] = Combo(combo, "mean")
    return out


MENUS = ("small", "subsets")


def small_combinations(candidates: Sequence[str]) -> dict[str, Combo]:
    """The small menu: the median and the mean of the whole pool (with three or more
    candidates); with the single candidates, that is all the backtest chooses from. A few
    windows of short annual series cannot tell dozens of near-equal candidates apart (a wide
    menu made the choice close to random on unseen data); the combination of every member of
    a diverse pool is the forecasting literature's robust default."""
    if len(candidates) < 3:
        return {}
    names = ",".join(candidates)
    return {
        f"median({names})": Combo(candidates),
        f"mean({names})": Combo(candidates, "mean"),
    }


def _combo_forecast(
    parts: list[tuple[np.ndarray, np.ndarray]], how: str = "median"
) -> tuple[np.ndarray, np.ndarray]:
    ok = [(m, s) for m, s in parts if np.all(np.isfinite(m))]
    if not ok:
        n = len(parts[0][0])
        return np.full(n, np.nan), np.full(n, np.nan)
    return combine([m for m, _ in ok], [s for _, s in ok], how)


def add_combinations(cv: pd.DataFrame, combinations: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """A cv frame with one column per combination (and its sd), over every row at once.

    A component missing on a row (it failed to fit there) is left out of that row's combination.
    """
    new: dict[str, np.ndarray] = {}
    for name, comps in combinations.items():
        m = cv[list(comps)].to_numpy(float)
        s = cv[[f"{c}__sd" for c in comps]].to_numpy(float)
        ok = np.isfinite(m)
        any_ok = ok.any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN, on purpose
            centre = np.nanmean if getattr(comps, "how", "median") == "mean" else np.nanmedian
            new[name] = np.where(any_ok, centre(np.where(ok, m, np.nan), axis=1), np.nan)
            sd = np.nanmean(np.where(ok, s, np.nan), axis=1)
            new[f"{name}__sd"] = np.where(any_ok, sd, np.nan)
    keep = cv.drop(columns=[c for c in new if c in cv.columns])
    return pd.concat([keep, pd.DataFrame(new, index=cv.index)], axis=1)


#: A candidate with no backtest forecast on more than this share of the scored rows is left
#: out of the comparison (with a warning and a row in ``AutoForecaster.excluded_``).
MAX_MISSING = 0.1


def common_rows(
    cv: pd.DataFrame, names: Sequence[str], combos: Mapping[str, Sequence[str]] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The backtest rows every compared candidate forecast, and the candidates left out.

    A candidate missing on more than :data:`MAX_MISSING` of the rows is left out (returned, so
    that callers can say so), and with it every combination of ``combos`` that uses it; every
    other candidate is scored on exactly the same rows: those where each of them, and each
    component of a kept combination, has a forecast.
    """
    combos = combos or {}
    atoms = list(dict.fromkeys([n for n in names if n not in combos]))
    atoms += [c for n in names if n in combos for c in combos[n] if c not in atoms]
    atoms = [a for a in dict.fromkeys(atoms) if a in cv.columns]
    f = cv[atoms].to_numpy(float)
    ok = np.isfinite(f)
    share = 1 - ok.mean(axis=0) if len(f) else np.zeros(len(atoms))
    bad = {a for a, s in zip(atoms, share, strict=True) if s > MAX_MISSING}
    left_out = [n for n in names if n in bad or (n in combos and bad & set(combos[n]))]
    keep = [j for j, a in enumerate(atoms) if a not in bad]
    rows = ok[:, keep].all(axis=1) if keep else np.zeros(len(f), dtype=bool)
    return rows, left_out


def panel_scores(
    cv: pd.DataFrame,
    names: Sequence[str],
    scales: Mapping[str, float],
    rows: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest MASE and sMAPE of every candidate per series, on the same rows for all.

    ``rows`` (default: :func:`common_rows`) masks the backtest rows scored; a series with no
    such row, or a candidate missing on one of them, is NaN. Returns two frames indexed by
    ``unique_id`` (in order of appearance), one column per name.
    """
    if rows is None:
        rows, _ = common_rows(cv, names)
    codes, uids = pd.factorize(cv["unique_id"])
    y = cv["y"].to_numpy(float)
    sc = cv["unique_id"].map(scales).to_numpy(float)
    f = cv[list(names)].to_numpy(float)
    err = np.abs(y[:, None] - f)
    den = np.abs(y)[:, None] + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        sm = np.where(den > 0, 200 * err / np.where(den > 0, den, 1), 0.0)
        sm = np.where(np.isfinite(err), sm, np.nan)
        rel = err / sc[:, None]
    w = np.asarray(rows, dtype=float)
    n = np.bincount(codes, weights=w, minlength=len(uids))
    out = []
    for table in (rel, sm):
        cols = {}
        for j, name in enumerate(names):
            col = table[:, j]
            bad = np.bincount(codes, weights=w * ~np.isfinite(col), minlength=len(uids))
            tot = np.bincount(codes, weights=w * np.nan_to_num(col), minlength=len(uids))
            with np.errstate(divide="ignore", invalid="ignore"):
                cols[name] = np.where((bad == 0) & (n > 0), tot / n, np.nan)
        out.append(pd.DataFrame(cols, index=pd.Index(uids, name="unique_id")))
    return out[0], out[1]


def selection_table(
    mase_t: pd.DataFrame, smape_t: pd.DataFrame, order: Sequence[str]
) -> pd.DataFrame:
    """Backtest means of the candidates and the global criterion, best first.

    Every candidate with a score is ranked, over the series where all of them have one (the
    scores come from the same backtest rows, :func:`common_rows`); a candidate with no score
    at all is listed last with NaN, never dropped silently.
    ``criterion = MASE / best MASE + sMAPE / best sMAPE`` (M4's OWA with the best candidate as
    the reference).
    """
    ok = [c for c in order if mase_t[c].notna().any()]
    common = mase_t[ok].notna().all(axis=1) & smape_t[ok].notna().all(axis=1)
    rows = common if common.any() else slice(None)
    table = pd.DataFrame(
        {"mase": mase_t.loc[rows, ok].mean(), "smape": smape_t.loc[rows, ok].mean()}
    )
    table["criterion"] = table["mase"] / table["mase"].min() + table["smape"] / table["smape"].min()
    table["rank_in_menu"] = [ok.index(c) for c in table.index]
    table = table.sort_values(["criterion", "rank_in_menu"]).drop(columns="rank_in_menu")
    missing = [c for c in order if c not in ok]
    if missing:
        table = pd.concat([table, pd.DataFrame(index=missing, columns=table.columns, dtype=float)])
    table.index.name = "candidate"
    return table


def global_choice(mase_t: pd.DataFrame, smape_t: pd.DataFrame, order: Sequence[str]) -> str:
    """The candidate with the best backtest on the panel (first row of :func:`selection_table`;
    the first of ``order`` if none is eligible)."""
    table = selection_table(mase_t, smape_t, order).dropna(subset=["criterion"])
    return str(table.index[0]) if len(table) else order[0]


def _tries(first: str | None, scores: Mapping[str, float], order: Sequence[str]) -> list[str]:
    def key(nm: str) -> tuple[float, int]:
        v = scores.get(nm, np.nan)
        return (v if np.isfinite(v) else np.inf, list(order).index(nm))

    ranking = sorted(order, key=key)
    return [first, *[r for r in ranking if r != first]] if first else ranking


def _final_state(
    combinations: Mapping[str, Combo], fitted: Mapping[str, Any], tries: Sequence[str]
) -> tuple[str, dict[str, Any] | None]:
    """The first candidate of ``tries`` with a fitted component (the fallback chain).

    Returns ``(name, state)``; the state is ``{"how", "parts": [(model, fitted state), ...]}``,
    None if nothing fitted (the caller falls back to naive).
    """
    for name in tries:
        combo = combinations.get(name, Combo((name,)))
        parts = [(c, fitted[c]) for c in combo if fitted.get(c) is not None]
        if parts:
            return name, {"how": combo.how, "parts": parts}
    return "naive", None


def scaled_errors(
    y: np.ndarray,
    f: np.ndarray,
    sd: np.ndarray,
    mase_s: np.ndarray,
    log_s: np.ndarray,
    positive: np.ndarray,
) -> np.ndarray:
    """Backtest |errors| in units of each row's interval scale (see :mod:`models.conformal`):
    ``|y - f| / sqrt(sd * MASE scale)``, or for positive series ``|log y - log f|`` over the
    log-scale version (NaN where the forecast is not positive)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.abs(y - f) / np.sqrt(np.maximum(sd, 0.0) * mase_s)
        ok = positive & (f > 0) & (y > 0)
        lg = np.abs(np.log(np.where(ok, y, 1.0)) - np.log(np.where(ok, f, 1.0)))
        lg = lg / np.sqrt(np.where(ok, np.maximum(sd, 0.0) / np.where(ok, f, 1.0), np.nan) * log_s)
    return np.where(positive, np.where(ok, lg, np.nan), add)


def calibrated_columns(
    mean: np.ndarray,
    sd: np.ndarray,
    mase_s: float,
    log_s: float | None,
    errors: Mapping[int, np.ndarray],
    log_errors: Mapping[int, np.ndarray],
    levels: Sequence[float],
    fallback: Any = None,
) -> dict[str, np.ndarray]:
    """Conformal ``lo-L``/``hi-L`` of one series: on the log scale for a positive series
    (``log_s`` given) whose forecast is positive, else on the level scale (for a positive
    series the lower bound is then cut at 0); ``fallback()`` if no errors were pooled."""
    mean = np.asarray(mean, dtype=float)
    if log_s is not None and np.all(mean > 0) and any(len(v) for v in log_errors.values()):
        half = halfwidths(log_errors, len(mean), levels)
        return log_interval_columns(mean, log_interval_scale(mean, sd, log_s), half, own_sd=sd)
    if any(len(v) for v in errors.values()):
        half = halfwidths(errors, len(mean), levels)
        scale = np.sqrt(np.maximum(sd, 0.0) * mase_s)
        cols = interval_columns(mean, scale, half, own_sd=sd)
    else:
        cols = fallback() if fallback else {}
    if log_s is not None:
        cols = {k: np.maximum(v, 0.0) if k.startswith("lo-") else v for k, v in cols.items()}
    return cols


class AutoForecaster(Forecaster):
    """Model choice from a rolling-origin backtest, with conformally calibrated intervals.

    ``select="global"`` (default) picks, from the pooled backtest, the one candidate with the best
    mean MASE and sMAPE over the panel's series (:func:`global_choice`); ``select="series"``
    picks per series by its backtest MASE. Either way a series whose chosen model fails to fit
    falls back down its own ranking (then to naive). With a single series the two coincide. Why
    global by default: on M3 yearly (645 series, 3 windows) the per-series choice among naive,
    drift, theta, ETS and their median raised sMAPE from 16.02 (the median for every series) to
    16.67; three windows of short annual series are too few to tell models apart per series.

    Parameters
    ----------
    candidates : names of single models to try (keys of ``ATOMIC``).
    combinations : name -> component names (a median) or a :class:`Combo` (median or mean); a
        combination of already-tried models costs no extra fit in the backtest (default: the
        ``menu``'s).
    menu : ``"small"`` (the single candidates, the median and the mean of all of them:
        :func:`small_combinations`) or ``"subsets"`` (medians and means of every subset of
        three or more: :func:`default_combinations`).
    horizon : the horizon of the backtest windows (and of the calibration); forecasts beyond it
        are allowed, their intervals widen like a random walk.
    n_windows : number of full-horizon backtest windows per series.
    choose : force this candidate for every series (fall back down the ranking only if it fails).
    select : ``"global"`` or ``"series"`` (see above).
    calibrate : whether to replace the models' own intervals with conformal ones.
    n_jobs : worker processes for the per-series fits.
    partial : also backtest the cutoffs whose horizon is cut short by the end of the data
        (None: only for panels of fewer than 50 series, which need the extra errors).
    positive : calibrate the intervals of positive series on the log scale, so that no bound
        is negative and bands are skewed as growth is (None: every series positive throughout;
        False: none). Their errors are pooled apart from the other series'.

    Attributes (after ``fit``): ``chosen_`` (series -> candidate), ``selection_`` (the backtest's
    mean MASE, sMAPE and criterion per eligible candidate, best first), ``panel_scores_`` (backtest
    MASE per series and candidate, all on the same backtest rows), ``excluded_`` (candidates
    left out of the comparison for want of forecasts, with a warning), ``ranking_``, ``cv_``
    (the backtest forecasts, with a ``cutoff`` column) and ``scaled_errors_`` (the
    calibration's errors per step).
    """

    name = "auto"

    def __init__(
        self,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        combinations: Mapping[str, Sequence[str]] | None = None,
        horizon: int = 6,
        n_windows: int = DEFAULT_WINDOWS,
        choose: str | None = None,
        calibrate: bool = True,
        n_jobs: int = 1,
        partial: bool | None = None,
        select: str = "global",
        positive: bool | None = None,
        menu: str = "small",
    ) -> None:
        self.candidates = candidates
        self.combinations = combinations
        self.horizon = horizon
        self.n_windows = n_windows
        self.choose = choose
        self.calibrate = calibrate
        self.n_jobs = n_jobs
        self.partial = partial
        self.select = select
        self.positive = positive
        self.menu = menu

    def _combos(self) -> dict[str, Combo]:
        if self.combinations is None:
            if self.menu not in MENUS:
                raise ForecastInputError(f"'menu' must be one of {MENUS}; got {self.menu!r}")
            if self.menu == "small":
                return small_combinations(self.candidates)
            return default_combinations(self.candidates)
        return {k: as_combo(v) for k, v in self.combinations.items()}

    def _atomic(self) -> dict[str, Forecaster]:
        combos = self._combos()
        names = list(dict.fromkeys([*self.candidates, *[c for v in combos.values() for c in v]]))
        unknown = [n for n in names if n not in ATOMIC]
        if unknown:
            raise ForecastInputError(
                f"unknown model(s) {unknown}; choose from {sorted(ATOMIC)} or a combination"
            )
        return {n: ATOMIC[n]() for n in names}

    def required_length(self) -> int:
        return min(m.required_length() for m in self._atomic().values())

    def fit(self, df: pd.DataFrame, X_df: pd.DataFrame | None = None) -> Self:
        """Backtest, choose, refit and calibrate on every series of ``df`` (see class doc).

        Each worker backtests every model on its series and fits it on the whole series in the
        same pass, returning plain arrays and small states; the choice (which needs the whole
        panel) and the combinations are computed once, vectorised, in the parent.
        """
        h = check_horizon(self.horizon)
        atomic = self._atomic()
        combos = self._combos()
        order = [*combos, *[c for c in self.candidates if c not in combos]]
        if self.choose is not None and self.choose not in (*atomic, *combos):
            raise ForecastInputError(f"'choose' must be one of {order}; got {self.choose!r}")
        if self.select not in ("global", "series"):
            raise ForecastInputError(f"'select' must be 'global' or 'series'; got {self.select!r}")
        frame = validate_long(df, min_length=self.required_length())
        has_x = [c for c in frame.columns if c not in ("unique_id", "ds", "y")]
        n_series = frame["unique_id"].nunique()
        partial = self.partial if self.partial is not None else n_series < 50
        items, ys, last, xs = [], {}, {}, {}
        for uid, g in frame.groupby("unique_id", sort=True):
            y = g["y"].to_numpy(float)
            ys[uid], last[uid] = y, int(g["ds"].iloc[-1])
            xs[uid] = g.reset_index(drop=True) if has_x else None
            items.append((atomic, uid, y, g["ds"].to_numpy(), xs[uid], h, self.n_windows, partial))
        # Every model's windows start where the most demanding one can fit, so that all are
        # compared on the same backtest rows.
        start = pool_length(atomic)
        local = {n: m for n, m in atomic.items() if not getattr(m, "panel", False)}
        items = [(local, *it[1:], True, start) for it in items]
        results = map_series(cv_and_fit_series, items, self.n_jobs)
        cv = pd.concat([r[0] for r in results], ignore_index=True)
        dss = {uid: g["ds"].to_numpy() for uid, g in frame.groupby("unique_id", sort=True)}
        for name, m in atomic.items():
            if name not in local:
                cv = self._add_panel_model(cv, results, name, m, ys, dss, partial, start)
        self.scale_ = {uid: interval_scale(1.0, y) ** 2 for uid, y in ys.items()}  # MASE scales
        self.positive_ = {u: self.positive is not False and is_positive(y) for u, y in ys.items()}
        self.log_scale_ = {u: log_mase_scale(y) for u, y in ys.items() if self.positive_[u]}
        cv = add_combinations(cv, combos)
        scales = {u: s if np.isfinite(s := mase_scale(y)) else 1.0 for u, y in ys.items()}
        rows, self.excluded_ = common_rows(cv, order, combos)
        if self.excluded_:
            warnings.warn(
                f"left out of the model comparison (no backtest forecast on more than "
                f"{MAX_MISSING:.0%} of the rows): {', '.join(self.excluded_)}",
                stacklevel=2,
            )
        mase_t, smape_t = panel_scores(cv, order, scales, rows)
        mase_t[self.excluded_] = np.nan
        smape_t[self.excluded_] = np.nan
        self.panel_scores_ = mase_t.reindex(list(ys))
        self.selection_ = selection_table(mase_t, smape_t, order)
        first = self.choose
        if first is None and self.select == "global":
            first = global_choice(mase_t, smape_t, order)
        self.y_ = ys
        self.last_ds_ = last
        self.atomic_ = atomic
        self.states_ = {}
        self.chosen_ = {}
        self.ranking_ = {}
        for (_, uid, *_rest), (_, fitted) in zip(items, results, strict=True):
            scores = self.panel_scores_.loc[uid].to_dict()
            self.ranking_[uid] = _tries(None, scores, order)
            name, state = _final_state(combos, fitted, _tries(first, scores, order))
            if state is None:
                state = {"how": "median", "parts": [("naive", Naive()._fit_series(ys[uid], None))]}
            self.states_[uid], self.chosen_[uid] = state, name
        cv["chosen"] = cv["unique_id"].map(self.chosen_)
        self.cv_ = cv
        self.scaled_errors_, self.scaled_log_errors_ = self._learn_errors(self.cv_)
        return self

    def _add_panel_model(
        self,
        cv: pd.DataFrame,
        results: list[tuple[pd.DataFrame, dict[str, Any]]],
        name: str,
        model: Forecaster,
        ys: Mapping[str, np.ndarray],
        dss: Mapping[str, np.ndarray],
        partial: bool,
        start: int = 2,
    ) -> pd.DataFrame:
        """Backtest and fit a panel model (fitted across the series, in this process) at the
        per-series backtest's cutoffs; merge its forecasts into ``cv`` and its final states into
        each series' ``results`` (NaN and None if it fails, like a failed per-series fit)."""
        h = check_horizon(self.horizon)
        model = type(model)(**{**model.get_params(), "horizon": h})  # a regression per step
        try:
            frame, states = panel_cv(model, ys, dss, h, self.n_windows, partial, name, start)
        except Exception:  # a failed fit means "unavailable here", as for the per-series models
            frame = pd.DataFrame(columns=["unique_id", "cutoff", "step", name, f"{name}__sd"])
            states = {}
        for uid, (_, fitted) in zip(ys, results, strict=True):
            fitted[name] = states.get(uid)
        keys = ["unique_id", "cutoff", "step"]
        return cv.merge(frame.astype({k: cv[k].dtype for k in keys}), on=keys, how="left")

    def _learn_errors(
        self, cv: pd.DataFrame
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Pooled scaled |errors| per step, each series contributing its chosen model's
        errors: on the level scale for other series, on the log scale for positive ones."""
        if cv.empty:
            return {}, {}
        err = np.full(len(cv), np.nan)
        sd = np.full(len(cv), np.nan)
        fc = np.full(len(cv), np.nan)
        for name in cv["chosen"].unique():
            mask = (cv["chosen"] == name).to_numpy()
            if name in cv.columns:
                fc[mask] = cv.loc[mask, name].to_numpy(float)
                err[mask] = cv.loc[mask, "y"].to_numpy(float) - fc[mask]
                sd[mask] = cv.loc[mask, f"{name}__sd"].to_numpy(float)
        uid = cv["unique_id"]
        pos = uid.map(self.positive_).to_numpy(bool)
        e = scaled_errors(
            cv["y"].to_numpy(float),
            fc,
            sd,
            uid.map(self.scale_).to_numpy(float),
            uid.map(self.log_scale_).to_numpy(float),
            pos,
        )
        steps = cv["step"].to_numpy()
        ok = np.isfinite(e)

        def pool(rows: np.ndarray) -> dict[int, np.ndarray]:
            return {int(s): np.sort(e[rows & (steps == s)]) for s in np.unique(steps[rows])}

        return pool(ok & ~pos), pool(ok & pos)

    def _predict_series(self, state, h, X_future):
        parts = []
        for name, st in state["parts"]:
            m = self.atomic_[name] if name in getattr(self, "atomic_", {}) else ATOMIC[name]()
            parts.append(m._predict_series(st, h, X_future))
        if len(parts) == 1:
            return parts[0]
        return _combo_forecast(parts, state["how"])

    def _label(self, uid: str) -> str:
        return self.chosen_[uid]

    def _intervals(self, uid, mean, sd, levels):
        if not self.calibrate:
            return super()._intervals(uid, mean, sd, levels)
        return calibrated_columns(
            mean,
            sd,
            self.scale_[uid],
            self.log_scale_.get(uid) if self.positive_.get(uid) else None,
            self.scaled_errors_,
            self.scaled_log_errors_,
            levels,
            fallback=lambda: super(AutoForecaster, self)._intervals(uid, mean, sd, levels),
        )

    def predict(
        self, h: int, level: Iterable[float] = DEFAULT_LEVELS, X_df: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast ``h`` years with calibrated intervals; ``model`` names each series' choice."""
        return super().predict(h, level, X_df)


def make_forecaster(
    model: str, horizon: int, n_jobs: int = 1, n_windows: int | None = None
) -> Forecaster:
    """The CLI's forecaster for ``--model``: always calibrated, ``auto`` chooses per series;
    ``n_windows`` backtest windows (None: :data:`DEFAULT_WINDOWS`).

    Raises
    ------
    ForecastInputError
        An unknown model name.
    """
    if model not in MODEL_CHOICES:
        raise ForecastInputError(f"unknown model {model!r}; choose from {', '.join(MODEL_CHOICES)}")
    n_windows = DEFAULT_WINDOWS if n_windows is None else n_windows
    if model == "auto":
        return AutoForecaster(horizon=horizon, n_windows=n_windows, n_jobs=n_jobs)
    if model == "ensemble":
        return AutoForecaster(
            candidates=DEFAULT_COMBINATIONS["ensemble"],
            horizon=horizon,
            n_windows=n_windows,
            choose="ensemble",
            n_jobs=n_jobs,
        )
    return AutoForecaster(
        candidates=(model,),
        combinations={},
        horizon=horizon,
        n_windows=n_windows,
        choose=model,
        n_jobs=n_jobs,
    )


def run_backtest(
    df: pd.DataFrame,
    h: int,
    model: str = "auto",
    n_windows: int = 3,
    levels: Iterable[float] = DEFAULT_LEVELS,
    n_calib: int = 3,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rolling-origin evaluation of a CLI model with honestly calibrated intervals.

    For each of the last ``n_windows`` full-horizon cutoffs of each series, the model choice and
    the conformal half-widths are learnt only from backtest errors whose target year is at or
    before that cutoff (pooled across series), then the next ``h`` years are scored.

    Returns
    -------
    ``(forecasts, per_series, overall)``: the scored forecasts with a ``cutoff`` column; MASE,
    sMAPE, coverage and MSIS per series (calibrated, plus the models' own coverage as
    ``coverage_uncal-L``); the means over series.
    """
    h = check_horizon(h)
    lv = check_levels(levels)
    if n_windows < 1:
        raise ForecastInputError(f"windows must be >= 1; got {n_windows}")
    auto = make_forecaster(model, h, n_jobs=n_jobs, n_windows=n_windows + n_calib)
    assert isinstance(auto, AutoForecaster)
    auto.partial = True  # the calibration history of each evaluated window needs them
    frame = validate_long(df, min_length=auto.required_length())
    sizes = frame.groupby("unique_id").size()
    need = h + n_windows + 2
    short = sizes[sizes < need]
    if len(short):
        raise ForecastInputError(
            f"series {short.index[0]!r} has {int(short.iloc[0])} observations; a backtest with "
            f"horizon {h} and {n_windows} window(s) needs at least {need}"
        )
    auto.fit(frame)
    cv = auto.cv_
    combos = auto._combos()
    order = [*combos, *[c for c in auto.candidates if c not in combos]]
    ys = {uid: g["y"].to_numpy(float) for uid, g in frame.groupby("unique_id")}
    dss = {uid: g["ds"].to_numpy() for uid, g in frame.groupby("unique_id")}
    rows, fc_parts = [], []
    for k in range(n_windows):
        # The k-th evaluation cutoff of each series (k = 0 is the latest full window).
        cut = {uid: dss[uid][len(ys[uid]) - h - k - 1] for uid in ys}
        hist = cv[cv["ds"] <= cv["unique_id"].map(cut)]
        chosen, scales, errs = {}, {}, []
        groups = dict(list(hist.groupby("unique_id", sort=True)))
        sc_k = {}
        for uid in groups:
            sc = mase_scale(ys[uid][: len(ys[uid]) - h - k])
            sc_k[uid] = sc if np.isfinite(sc) else 1.0
        table, table_smape = panel_scores(hist, order, sc_k)
        best = global_choice(table, table_smape, order)
        for uid, g in groups.items():
            y_tr = ys[uid][: len(ys[uid]) - h - k]
            if auto.choose:
                chosen[uid] = auto.choose
            elif auto.select == "series":
                chosen[uid] = _tries(None, table.loc[uid].to_dict(), order)[0]
            else:
                chosen[uid] = best
            scales[uid] = y_tr
            pos = auto.positive_[uid] and is_positive(y_tr)
            n_rows = len(g)
            e = scaled_errors(
                g["y"].to_numpy(float),
                g[chosen[uid]].to_numpy(float),
                g[f"{chosen[uid]}__sd"].to_numpy(float),
                np.full(n_rows, interval_scale(1.0, y_tr) ** 2),
                np.full(n_rows, log_mase_scale(y_tr) if pos else np.nan),
                np.full(n_rows, pos),
            )
            errs.append(pd.DataFrame({"step": g["step"].to_numpy(), "e": e, "log": pos}))
        pooled = pd.concat(errs) if errs else pd.DataFrame({"step": [], "e": [], "log": []})
        pooled = pooled[np.isfinite(pooled["e"])]
        scaled, scaled_log = (
            {int(s): np.sort(g["e"].to_numpy()) for s, g in part.groupby("step")}
            for part in (pooled[~pooled["log"].astype(bool)], pooled[pooled["log"].astype(bool)])
        )
        for uid in ys:
            c = cut[uid]
            ev = cv[(cv["unique_id"] == uid) & (cv["cutoff"] == c)]
            name = chosen.get(uid, order[0])
            mean = ev[name].to_numpy(float)
            if len(mean) != h or not np.all(np.isfinite(mean)):
                continue
            sd = ev[f"{name}__sd"].to_numpy(float)
            y_tr = scales.get(uid, ys[uid][: len(ys[uid]) - h - k])
            pos = auto.positive_[uid] and is_positive(y_tr)
            cols = calibrated_columns(
                mean,
                sd,
                interval_scale(1.0, y_tr) ** 2,
                log_mase_scale(y_tr) if pos else None,
                scaled,
                scaled_log,
                lv,
                fallback=lambda mean=mean, sd=sd: {
                    f"{side}-{level_label(L)}": mean + sign * z_value(L) * sd
                    for L in lv
                    for side, sign in (("lo", -1), ("hi", 1))
                },
            )
            out = pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ev["ds"].to_numpy(),
                    "cutoff": c,
                    "model": name,
                    "y": ev["y"].to_numpy(float),
                    "mean": mean,
                }
            )
            for L in lv:
                out[f"lo-{level_label(L)}"] = cols[f"lo-{level_label(L)}"]
                out[f"hi-{level_label(L)}"] = cols[f"hi-{level_label(L)}"]
                out[f"lo_uncal-{level_label(L)}"] = mean - z_value(L) * sd
                out[f"hi_uncal-{level_label(L)}"] = mean + z_value(L) * sd
            fc_parts.append(out)
    if not fc_parts:
        raise ForecastInputError("the backtest produced no scorable window")
    fc = pd.concat(fc_parts, ignore_index=True)
    for uid, g in fc.groupby("unique_id", sort=True):
        y_tr = ys[uid][: len(ys[uid]) - h]
        sc = mase_scale(ys[uid][: len(ys[uid]) - h - n_windows + 1])
        sc = sc if np.isfinite(sc) else 1.0
        rec: dict[str, Any] = {
            "unique_id": uid,
            "model": g["model"].mode().iloc[0],
            "windows": g["cutoff"].nunique(),
            "mase": mase(g["y"], g["mean"], sc),
            "smape": smape(g["y"], g["mean"]),
        }
        del y_tr
        for L in lv:
            lab = level_label(L)
            rec[f"coverage-{lab}"] = coverage(g["y"], g[f"lo-{lab}"], g[f"hi-{lab}"])
            rec[f"msis-{lab}"] = msis(g["y"], g[f"lo-{lab}"], g[f"hi-{lab}"], sc, L)
            rec[f"coverage_uncal-{lab}"] = coverage(
                g["y"], g[f"lo_uncal-{lab}"], g[f"hi_uncal-{lab}"]
            )
        rows.append(rec)
    per_series = pd.DataFrame(rows)
    metric_cols = [c for c in per_series.columns if c not in ("unique_id", "model", "windows")]
    overall = per_series[metric_cols].mean().to_frame().T
    overall.insert(0, "series", len(per_series))
    overall.insert(0, "model", model)
    keep = [c for c in fc.columns if "_uncal" not in c]
    return fc[keep], per_series, overall
