"""Automatic model choice from rolling-origin backtests, with calibrated intervals.

:class:`AutoForecaster` runs a rolling-origin backtest of every candidate model on every series
(each worker also fits the models on the whole series in the same pass), scores the candidates
and their median and mean combinations on the backtest (:mod:`models.scoring`,
:mod:`models.combinations`), picks one for the panel (or per series), falls back down the
ranking where the chosen model failed to fit, and calibrates the intervals with conformal
half-widths learnt from the same backtest errors (see :mod:`models.conformal`). With one
candidate it is simply that model with calibrated intervals: the CLI's ``--model ets`` and
friends use it that way (:func:`make_forecaster`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self, cast

import numpy as np
import pandas as pd

from models.backtest import cv_and_fit_series, map_series, pool_length
from models.base import DEFAULT_LEVELS, Forecaster, check_horizon
from models.baselines import Naive
from models.combinations import (
    DEFAULT_COMBINATIONS,
    MENUS,
    Combo,
    add_combinations,
    as_combo,
    combo_forecast,
    default_combinations,
    small_combinations,
    used_label,
)
from models.conformal import (
    calibrated_columns,
    floor_at_zero,
    interval_scale,
    is_nonnegative,
    is_positive,
    log_mase_scale,
    pool_by_step,
    scaled_errors,
)
from models.data import validate_long
from models.errors import ForecastInputError
from models.global_model import GlobalRidge, panel_cv
from models.metrics import mase_scale
from models.registry import ATOMIC, DEFAULT_CANDIDATES
from models.scoring import (
    common_rows,
    fallback_order,
    global_choice,
    left_out_message,
    panel_scores,
    selection_table,
)

#: Backtest windows per series for the choice and the calibration: 5 scored best on the same
#: development split (4, 6 and 8 chose the same combination; 3 did worse); series too short
#: for them use partial windows.
DEFAULT_WINDOWS = 5
MODEL_CHOICES = ("auto", "naive", "drift", "ets", "arima", "theta", "dotm", "ces", "ensemble")


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


class AutoForecaster(Forecaster):
    """Model choice from a rolling-origin backtest, with conformally calibrated intervals.

    By default (``menu="median"``) every series gets the median of the whole pool: no choice
    is made on the backtest, which only scores the candidates (``selection_``) and calibrates
    the intervals. Why: a few windows of short annual series cannot tell near-equal candidates
    apart. On the development sets (M3 yearly's training data minus its last 6 years, and the
    allies' GDP and spending at origins 2005-2011) the panel-level choice from the small menu
    gave MASE 3.223 against the median's 3.263 on M3 but 2.665/3.458/2.846/2.976 against
    2.613/3.150/2.590/3.227 on the domain (GDP and spending, h = 5 and 10): 2.0% worse on
    average, and its choice of pool transferred from M3's development split to its test part
    with rank correlation 0.16 (benchmarks/RESULTS_forecast.md).

    With ``menu="small"`` or ``"subsets"``, ``select="global"`` picks, from the pooled
    backtest, the one candidate with the best mean MASE and sMAPE over the panel's series
    (:func:`global_choice`); ``select="series"`` picks per series by its backtest MASE (on M3
    yearly it raised sMAPE from 16.02 to 16.67 against the median for every series). Either
    way a series whose chosen model fails to fit falls back down its own ranking (then to
    naive).

    Parameters
    ----------
    candidates : names of single models to try (keys of ``ATOMIC``).
    combinations : name -> component names (a median) or a :class:`Combo` (median or mean); a
        combination of already-tried models costs no extra fit in the backtest (default: the
        ``menu``'s).
    menu : ``"median"`` (the median of the whole pool for every series; the backtest scores
        the singles, the median and the mean), ``"small"`` (the backtest chooses from those:
        :func:`small_combinations`) or ``"subsets"`` (medians and means of every subset of
        three or more: :func:`default_combinations`).
    horizon : the horizon of the backtest windows (and of the calibration); forecasts beyond it
        are allowed, their intervals widen like a random walk.
    n_windows : number of full-horizon backtest windows per series.
    choose : force this candidate for every series (fall back down the ranking only if it fails).
    select : ``"global"`` or ``"series"``, when the backtest chooses (see above).
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
    (the backtest forecasts, with a ``cutoff`` column), ``labels_`` (series -> the model its
    forecast used: the chosen combination's name, or the components that fitted where some
    did not, e.g. ``median(naive,drift)`` on a two-year series) and ``scaled_errors_`` (the
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
        menu: str = "median",
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
            if self.menu in ("median", "small"):
                return small_combinations(self.candidates)
            return default_combinations(self.candidates)
        return {k: as_combo(v) for k, v in self.combinations.items()}

    def forced_choice(self) -> str | None:
        """The candidate every series uses without a backtest choice: ``choose``, or with the
        ``"median"`` menu (and three or more candidates) the median of the pool; None when the
        backtest chooses."""
        if self.choose is not None:
            return self.choose
        if self.combinations is None and self.menu == "median" and len(self.candidates) >= 3:
            return f"median({','.join(self.candidates)})"
        return None

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
        items: list[tuple[Any, ...]] = []
        ys, last, xs = {}, {}, {}
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
            if name not in local:  # ``panel = True``: GlobalRidge, fitted across the series
                ridge = cast(GlobalRidge, m)
                cv = self._add_panel_model(cv, results, name, ridge, ys, dss, partial, start)
        self.scale_ = {uid: interval_scale(1.0, y) ** 2 for uid, y in ys.items()}  # MASE scales
        self.positive_ = {u: self.positive is not False and is_positive(y) for u, y in ys.items()}
        self.nonnegative_ = {
            u: self.positive is not False and is_nonnegative(y) for u, y in ys.items()
        }
        self.log_scale_ = {u: log_mase_scale(y) for u, y in ys.items() if self.positive_[u]}
        cv = add_combinations(cv, combos)
        scales = {u: s if np.isfinite(s := mase_scale(y)) else 1.0 for u, y in ys.items()}
        rows, self.excluded_ = common_rows(cv, order, combos)
        if self.excluded_:
            warnings.warn(
                left_out_message(self.excluded_, self.forced_choice()),
                stacklevel=2,
            )
        mase_t, smape_t = panel_scores(cv, order, scales, rows)
        mase_t[self.excluded_] = np.nan
        smape_t[self.excluded_] = np.nan
        self.panel_scores_ = mase_t.reindex(list(ys))
        self.selection_ = selection_table(mase_t, smape_t, order)
        first = self.forced_choice()
        if first is None and self.select == "global":
            first = global_choice(mase_t, smape_t, order)
        self.y_ = ys
        self.last_ds_ = last
        self.atomic_ = atomic
        self.states_ = {}
        self.chosen_ = {}
        self.labels_ = {}
        self.ranking_ = {}
        for (_, uid, *_rest), (_, fitted) in zip(items, results, strict=True):
            scores = self.panel_scores_.loc[uid].to_dict()
            self.ranking_[uid] = fallback_order(None, scores, order)
            name, state = _final_state(combos, fitted, fallback_order(first, scores, order))
            if state is None:
                state = {"how": "median", "parts": [("naive", Naive()._fit_series(ys[uid], None))]}
            self.states_[uid], self.chosen_[uid] = state, name
            used = [part for part, _ in state["parts"]]
            self.labels_[uid] = used_label(name, combos.get(name, (name,)), used)
        cv["chosen"] = cv["unique_id"].map(self.chosen_)
        self.cv_ = cv
        self.scaled_errors_, self.scaled_log_errors_ = self._learn_errors(self.cv_)
        return self

    def _add_panel_model(
        self,
        cv: pd.DataFrame,
        results: list[tuple[pd.DataFrame, dict[str, Any]]],
        name: str,
        model: GlobalRidge,
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
        series = uid.to_numpy()
        return pool_by_step(e, steps, series, ~pos), pool_by_step(e, steps, series, pos)

    def _predict_series(self, state, h, X_future):
        parts = []
        for name, st in state["parts"]:
            m = self.atomic_[name] if name in getattr(self, "atomic_", {}) else ATOMIC[name]()
            parts.append(m._predict_series(st, h, X_future))
        if len(parts) == 1:
            return parts[0]
        return combo_forecast(parts, state["how"])

    def _label(self, uid: str) -> str:
        return self.labels_[uid]

    def _point(self, uid: str, mean: np.ndarray) -> np.ndarray:
        return floor_at_zero(mean, np.asarray(self.nonnegative_.get(uid, False)))

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
            nonnegative=self.nonnegative_.get(uid, False),
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
        parts = DEFAULT_COMBINATIONS["ensemble"]
        return AutoForecaster(
            candidates=parts,
            combinations={"ensemble": parts},
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
