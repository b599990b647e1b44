"""A global forecaster: one pooled regression fitted across every series of a panel.

Local models (naive, drift, Theta, ETS) learn from one short series each. A global model learns
from all series at once ("cross-learning", as pooled models did on M4's yearly data): every
origin ``t`` of every series is one training row, the target is the growth from ``t`` to
``t + h``, and one regression per step ``h = 1..horizon`` (direct multi-horizon) is fitted with
scikit-learn's ``Ridge``, reweighted for Huber's loss. Inputs and targets are scale-free, so series
of any size share the coefficients: the intercepts learn the panel's typical growth, the inputs
how much of a series' own trend and recent moves persist.

- Inputs at origin ``t``: the ``lags - 1`` earlier values relative to ``y[t]``, the share of
  those lags available, the series' mean yearly growth up to ``t`` and its mean absolute yearly
  change up to ``t`` (relative). Origins with fewer than ``lags - 1`` earlier values repeat the
  first value, so short series train and forecast too.
- Positive series are modelled on the log scale (ratios are ``log(y[t-j] / y[t])``, the target
  ``log(y[t+h] / y[t])``). A series with a zero or negative value is modelled on the level scale
  by a second regression trained on every series: ``(y[t-j] - y[t]) / s_t`` and ``(y[t+h] -
  y[t]) / s_t``, with ``s_t`` the mean absolute yearly change up to ``t`` (known at ``t``).
- Rows are weighted so that every series weighs the same in total (the metrics average over
  series; otherwise the longest series would dominate).
- Beyond ``horizon`` the last step's growth continues linearly (a constant growth rate).
- The model's own sd is the random walk's, ``sigma * sqrt(h)`` with ``sigma`` the sd of the
  series' yearly changes: the pooled fit has no per-series likelihood. The auto forecaster
  replaces it with conformal intervals (:mod:`models.conformal`).

Fitted on a panel, the model needs the whole panel at once, so :class:`models.selection.
AutoForecaster` does not send it to the per-series workers: :func:`panel_cv` refits it once per
backtest cutoff in the parent (cutoffs are counted from each series' end, the way the per-series
backtest counts them), training only on every series truncated at that cutoff, so no value after
a cutoff reaches the forecasts made at it. A single series is a panel of one.

Not in the auto forecaster's default pool: on the development split of M3 yearly it did not
improve the chosen combination (``benchmarks/RESULTS_forecast.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from models.backtest import window_lengths
from models.base import Forecaster, check_horizon, residual_sd
from models.data import validate_long

#: Huber's tuning constant (95% efficiency under Gaussian errors) and the reweighting rounds.
HUBER_K = 1.345
HUBER_ROUNDS = 10


def _scales(y: np.ndarray) -> np.ndarray:
    """``s_t`` for t = 1..n-1: mean |yearly change| up to ``t`` (1 where that is 0)."""
    d = np.cumsum(np.abs(np.diff(y))) / np.arange(1, len(y))
    return np.where(d > 0, d, 1.0)


def series_windows(
    y: np.ndarray, lags: int, horizon: int, log: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets at every origin ``t = 1..n-1`` of one series.

    Returns ``(F, T)``: ``F[t-1]`` holds the ``lags - 1`` lagged ratios (log scale) or scaled
    differences (level scale), the share of lags available, the mean yearly change and the mean
    absolute yearly change up to ``t`` (both on the same scale; only values up to ``t`` enter);
    ``T[t-1, h-1]`` the target at step ``h`` (NaN after the end of the series, or where the log
    is undefined).
    """
    n = len(y)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
        s = np.ones(n - 1)
    else:
        z = y
        s = _scales(y)
    t = np.arange(1, n)
    back = np.arange(1, lags)
    past = z[np.maximum(t[:, None] - back[None, :], 0)]
    F = np.empty((n - 1, lags + 2))
    F[:, : lags - 1] = (past - z[t][:, None]) / s[:, None]
    F[:, lags - 1] = np.minimum(t, lags - 1) / (lags - 1)
    F[:, lags] = (z[t] - z[0]) / t / s
    with np.errstate(invalid="ignore"):
        F[:, lags + 1] = np.cumsum(np.abs(np.diff(z))) / t / s
    ahead = t[:, None] + np.arange(1, horizon + 1)[None, :]
    fut = z[np.minimum(ahead, n - 1)]
    T = np.where(ahead <= n - 1, (fut - z[t][:, None]) / s[:, None], np.nan)
    return F, T


class _Panel:
    """The windows of every series in both representations, computed once and truncated per
    cutoff (features at an origin only use values up to it)."""

    def __init__(self, ys: Mapping[str, np.ndarray], lags: int, horizon: int) -> None:
        self.ys = dict(ys)
        self.lags, self.horizon = lags, horizon
        self.win = {
            rep: {u: series_windows(y, lags, horizon, rep == "log") for u, y in self.ys.items()}
            for rep in ("log", "level")
        }

    def training_rows(self, k: int, rep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stacked inputs, targets and row weights of every series cut ``k`` values before its
        end (targets after the cut are NaN); the log scale takes only series positive up to the
        cut. Each series weighs the same in total, as every series counts once in the metrics."""
        Fs, Ts, Ws = [], [], []
        for u, y in self.ys.items():
            m = len(y) - k  # length of the truncated series
            if m < 2 or (rep == "log" and not np.all(y[:m] > 0)):
                continue
            F, T = self.win[rep][u]
            F, T = F[: m - 1], T[: m - 1].copy()
            origin = np.arange(1, m)
            T[origin[:, None] + np.arange(1, self.horizon + 1)[None, :] > m - 1] = np.nan
            Fs.append(F)
            Ts.append(T)
            Ws.append(np.full(m - 1, 1.0 / (m - 1)))
        if not Fs:
            return np.empty((0, self.lags + 2)), np.empty((0, self.horizon)), np.empty(0)
        return np.vstack(Fs), np.vstack(Ts), np.concatenate(Ws)


def _fit_steps(F: np.ndarray, T: np.ndarray, W: np.ndarray, alpha: float) -> list[Any]:
    """One robust ridge regression per step on the rows with that step's target (None: fewer
    than two rows).

    Huber's loss by iteratively reweighted ridge fits: rows whose residual exceeds
    ``HUBER_K`` robust standard deviations (1.4826 x the median absolute residual) are
    down-weighted in proportion. Yearly growth has outliers (a series that jumps tenfold) that
    would otherwise pull the pooled coefficients; on noise-free data every weight stays 1 and
    the fit is exact ridge.
    """
    from sklearn.linear_model import Ridge

    out: list[Any] = []
    for j in range(T.shape[1]):
        ok = np.isfinite(T[:, j])
        if ok.sum() < 2:
            out.append(None)
            continue
        X, y, w0 = F[ok], T[ok, j], W[ok] * ok.sum() / W[ok].sum()
        robust = np.ones(len(y))
        for _ in range(HUBER_ROUNDS):
            est = Ridge(alpha=alpha).fit(X, y, sample_weight=w0 * robust)
            r = np.abs(y - est.predict(X))
            cut = HUBER_K * 1.4826 * float(np.median(r))
            new = np.where(r > cut, cut / np.where(r > cut, r, 1.0), 1.0) if cut > 0 else robust
            if np.allclose(new, robust, atol=1e-3):
                break
            robust = new
        out.append(est)
    return out


def _predict_steps(fits: Sequence[Any], F: np.ndarray) -> np.ndarray:
    """Predicted targets (rows of ``F`` x steps); a step without a fit continues the growth of
    the last fitted step linearly (no fitted step: no change)."""
    out = np.zeros((len(F), len(fits)))
    last = None
    for j, est in enumerate(fits):
        if est is not None:
            out[:, j] = est.predict(F)
            last = j
        elif last is not None:
            out[:, j] = out[:, last] * (j + 1) / (last + 1)
    return out


def _state(y: np.ndarray, path: np.ndarray, log: bool) -> dict[str, Any]:
    scale = 1.0 if log else float(_scales(y)[-1]) if len(y) > 1 else 1.0
    return {
        "last": float(y[-1]),
        "path": np.asarray(path, dtype=float),
        "log": log,
        "scale": scale,
        "sigma": residual_sd(np.diff(y), 0),
    }


def fit_at_cut(
    panel: _Panel, k: int, targets: Sequence[str], alpha: float, log: bool = True
) -> dict[str, dict[str, Any]]:
    """Fit the global model on every series cut ``k`` values before its end and return the
    state of each of ``targets`` (series ids) at its cut (``log``: positive series on the log
    scale, else every series on the level scale)."""
    reps: dict[str, list[str]] = {"log": [], "level": []}
    for u in targets:
        y = panel.ys[u][: len(panel.ys[u]) - k]
        reps["log" if log and np.all(y > 0) else "level"].append(u)
    states: dict[str, dict[str, Any]] = {}
    for rep, uids in reps.items():
        if not uids:
            continue
        fits = _fit_steps(*panel.training_rows(k, rep), alpha)
        rows = np.vstack([panel.win[rep][u][0][len(panel.ys[u]) - k - 2][None, :] for u in uids])
        paths = _predict_steps(fits, rows)
        for u, path in zip(uids, paths, strict=True):
            states[u] = _state(panel.ys[u][: len(panel.ys[u]) - k], path, rep == "log")
    return states


class GlobalRidge(Forecaster):
    """Direct multi-horizon robust ridge regression pooled across the series (see the module
    docstring).

    Parameters
    ----------
    horizon : steps with their own regression; later steps continue the last step's growth.
    lags : values of the recent past used as inputs (the last one included).
    alpha : ridge penalty (scikit-learn's: against a data term that sums over the training rows,
        so it shrinks more on small panels; the intercept is not penalised).
    log : model positive series on the log scale (else every series on the level scale).
    """

    name = "global_ridge"
    min_length = 3
    #: Fitted across the panel: :class:`models.selection.AutoForecaster` backtests it in the
    #: parent with :func:`panel_cv` instead of per series.
    panel: ClassVar[bool] = True

    def __init__(
        self, horizon: int = 6, lags: int = 6, alpha: float = 1.0, log: bool = True
    ) -> None:
        self.horizon = horizon
        self.lags = lags
        self.alpha = alpha
        self.log = log

    def fit(self, df: pd.DataFrame, X_df: pd.DataFrame | None = None) -> Self:
        """Fit the pooled regressions on every series of ``df`` (drivers are ignored).

        Raises
        ------
        ForecastInputError
            Malformed frame, or a series shorter than three values.
        """
        frame = validate_long(df, min_length=self.required_length())
        ys, last = {}, {}
        for uid, g in frame.groupby("unique_id", sort=True):
            ys[uid], last[uid] = g["y"].to_numpy(float), int(g["ds"].iloc[-1])
        self.y_, self.last_ds_ = ys, last
        self.states_ = self.fit_panel(ys)
        return self

    def fit_panel(self, ys: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        """The per-series states of the model fitted on the whole panel ``ys``."""
        panel = _Panel(ys, self.lags, check_horizon(self.horizon))
        return fit_at_cut(panel, 0, list(ys), self.alpha, self.log)

    def _fit_series(self, y: np.ndarray, X: pd.DataFrame | None) -> dict[str, Any]:
        return self.fit_panel({"_": np.asarray(y, dtype=float)})["_"]

    def _predict_series(self, state, h, X_future):
        path = state["path"]
        H = len(path)
        steps = np.arange(1, h + 1)
        r = np.where(steps <= H, path[np.minimum(steps, H) - 1], path[-1] * steps / H)
        mean = state["last"] * np.exp(r) if state["log"] else state["last"] + state["scale"] * r
        return mean, state["sigma"] * np.sqrt(steps)


def panel_cv(
    model: GlobalRidge,
    ys: Mapping[str, np.ndarray],
    dss: Mapping[str, np.ndarray],
    h: int,
    n_windows: int,
    partial: bool,
    name: str | None = None,
    min_length: int | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Backtest forecasts of a panel model at the same cutoffs as the per-series backtest
    (:func:`models.backtest.window_lengths`), refitted at each cutoff on data up to it, and its
    states fitted on the whole panel.

    Returns ``(frame, states)``: ``unique_id, cutoff, step, <name>, <name>__sd`` rows (``name``
    defaults to the model's) and the final per-series states.
    """
    panel = _Panel(ys, model.lags, check_horizon(model.horizon))
    at: dict[int, list[str]] = {}
    for u, y in ys.items():
        start = max(model.required_length(), min_length or 2)
        for L in window_lengths(len(y), h, n_windows, partial, start):
            if model.required_length() <= L:  # as the per-series backtest skips short windows
                at.setdefault(len(y) - L, []).append(u)
    cols: dict[str, list] = {"unique_id": [], "cutoff": [], "step": [], "mean": [], "sd": []}
    for k in sorted(at):
        for u, st in fit_at_cut(panel, k, at[k], model.alpha, model.log).items():
            steps = min(h, k)
            mean, sd = model._predict_series(st, steps, None)
            cols["unique_id"] += [u] * steps
            cols["cutoff"] += [dss[u][len(ys[u]) - k - 1]] * steps
            cols["step"] += list(range(1, steps + 1))
            cols["mean"] += list(mean)
            cols["sd"] += list(sd)
    name = name or model.name
    frame = pd.DataFrame(cols).rename(columns={"mean": name, "sd": f"{name}__sd"})
    fit_all = [u for u, y in ys.items() if len(y) >= model.required_length()]
    return frame, fit_at_cut(panel, 0, fit_all, model.alpha, model.log)
