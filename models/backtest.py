"""Rolling-origin cross-validation, run in parallel over series.

``cross_validation`` refits every model at each of the last ``n_windows`` full-horizon cutoffs,
and with ``partial`` also at the ``h - 1`` later cutoffs whose horizon is cut short by the end of
the data (more errors for the short steps, which small panels need for calibration). It returns
a long frame with a ``cutoff`` column like statsforecast's. A model that fails on a series at a
cutoff (or gives a non-finite forecast) gets NaN there, so that selection can fall back to
another model. :func:`cv_and_fit_series` also fits every model on the whole series in the same
pass (what :class:`models.selection.AutoForecaster` maps over the series), and models with a
vectorised ``_fit_prefixes`` fit all their windows at once (:func:`forecast_prefixes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.base import Forecaster, check_horizon

# Parallel workers pay a start-up cost of about a second; below this many series it is not worth it.
PARALLEL_MIN_SERIES = 24


def map_series(func: Callable[..., Any], items: Sequence[tuple], n_jobs: int = 1) -> list[Any]:
    """``[func(*item) for item in items]``, in ``n_jobs`` processes when it pays off.

    Items are sent in chunks (four per worker) to keep the inter-process traffic small.
    """
    if n_jobs == 1 or len(items) < PARALLEL_MIN_SERIES:
        return [func(*it) for it in items]
    from joblib import Parallel, delayed

    n_chunks = max(1, min(len(items), 4 * n_jobs))
    chunks = [items[i::n_chunks] for i in range(n_chunks)]
    done = Parallel(n_jobs=n_jobs)(delayed(_run_chunk)(func, c) for c in chunks)
    # Restore the original order (chunks were taken round-robin).
    out: list[Any] = [None] * len(items)
    for i, res in enumerate(done):
        out[i::n_chunks] = res
    return out


def _run_chunk(func: Callable[..., Any], chunk: Sequence[tuple]) -> list[Any]:
    return [func(*it) for it in chunk]


def safe_forecast(
    model: Forecaster, y: np.ndarray, X: pd.DataFrame | None, h: int
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Fit ``model`` on one series and forecast ``h`` steps; NaNs (and no state) on failure."""
    nan = np.full(h, np.nan)
    if len(y) < model.required_length():
        return nan, nan, None
    try:
        xtr = X.iloc[: len(y)] if X is not None else None
        xf = X.iloc[len(y) : len(y) + h] if X is not None and len(X) > len(y) else None
        state = model._fit_series(y, xtr)
        mean, sd = model._predict_series(state, h, xf)
    except Exception:  # any failure of a third-party fit means "this model is unavailable here"
        return nan, nan, None
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))):
        return nan, nan, None
    return mean, sd, state


def forecast_prefixes(
    model: Forecaster, y: np.ndarray, X: pd.DataFrame | None, lengths: Sequence[int], h: int
) -> list[tuple[np.ndarray, np.ndarray, Any]]:
    """:func:`safe_forecast` of ``model`` on each prefix ``y[:L]``, ``min(h, n - L)`` steps ahead.

    Models with a vectorised ``_fit_prefixes`` (:mod:`models.smoothing`) fit all prefixes in one
    pass; if that fails, each prefix is fitted on its own so one bad window cannot hide the others.
    """
    n = len(y)
    fit_all = getattr(model, "_fit_prefixes", None)
    ok = [L for L in lengths if model.required_length() <= L]
    if fit_all is None or X is not None or not ok:
        return [safe_forecast(model, y[:L], X, max(min(h, n - L), 1)) for L in lengths]
    try:
        states = dict(zip(ok, fit_all(y, ok), strict=True))
    except Exception:  # as in safe_forecast: fall back to one fit per prefix
        return [safe_forecast(model, y[:L], X, max(min(h, n - L), 1)) for L in lengths]
    out = []
    for L in lengths:
        steps = max(min(h, n - L), 1)
        nan = np.full(steps, np.nan)
        if L not in states:
            out.append((nan, nan, None))
            continue
        mean, sd = model._predict_series(states[L], steps, None)
        mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
        if np.all(np.isfinite(mean)) and np.all(np.isfinite(sd)):
            out.append((mean, sd, states[L]))
        else:
            out.append((nan, nan, None))
    return out


def window_lengths(n: int, h: int, n_windows: int, partial: bool, min_length: int = 2) -> list[int]:
    """Training lengths of the backtest windows of a series of ``n`` values (see module doc).

    No window is shorter than ``min_length``: callers pass the largest required length of the
    models they compare, so that every model forecasts at every window and all are scored on
    the same rows (a window of 2-3 points would score only the models that fit on 2).
    """
    first = max(n - h - n_windows + 1, min_length, 2)
    end = n if partial else max(n - h + 1, first)
    return list(range(first, end))


def pool_length(models: Mapping[str, Forecaster]) -> int:
    """The largest required length among ``models``: where the comparison's windows start."""
    return max((m.required_length() for m in models.values()), default=2)


def cv_series(
    models: Mapping[str, Forecaster],
    uid: str,
    y: np.ndarray,
    ds: np.ndarray,
    X: pd.DataFrame | None,
    h: int,
    n_windows: int,
    partial: bool = True,
) -> pd.DataFrame:
    """Rolling-origin forecasts of one series by every model (see module docstring)."""
    return cv_and_fit_series(models, uid, y, ds, X, h, n_windows, partial, final=False)[0]


def cv_and_fit_series(
    models: Mapping[str, Forecaster],
    uid: str,
    y: np.ndarray,
    ds: np.ndarray,
    X: pd.DataFrame | None,
    h: int,
    n_windows: int,
    partial: bool = True,
    final: bool = True,
    min_length: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`cv_series`, and with ``final`` each model's state fitted on the whole series.

    The final fits ride along with the backtest's (one vectorised pass for the fast models); a
    model that cannot fit the whole series has state None. Windows start at ``min_length``
    (default: the largest required length of ``models``, :func:`pool_length`).
    """
    n = len(y)
    parts: dict[str, list] = {"unique_id": [], "ds": [], "cutoff": [], "step": [], "y": []}
    vals: dict[str, list] = {f"{k}{s}": [] for k in models for s in ("", "__sd")}
    start = pool_length(models) if min_length is None else min_length
    lengths = window_lengths(n, h, n_windows, partial, start)
    for L in lengths:
        steps = min(h, n - L)
        parts["unique_id"] += [uid] * steps
        parts["ds"] += list(ds[L : L + steps])
        parts["cutoff"] += [ds[L - 1]] * steps
        parts["step"] += list(range(1, steps + 1))
        parts["y"] += list(y[L : L + steps])
    fit_at = [*lengths, n] if final else lengths
    states: dict[str, Any] = {}
    for name, m in models.items():
        if X is None:
            fcs = forecast_prefixes(m, y, None, fit_at, h)
        else:
            fcs = [
                safe_forecast(m, y[:L], X.iloc[: L + max(min(h, n - L), 1)], max(min(h, n - L), 1))
                for L in fit_at
            ]
        if final:
            states[name] = fcs.pop()[2]
        for mean, sd, _ in fcs:
            vals[name] += list(mean)
            vals[f"{name}__sd"] += list(sd)
    return pd.DataFrame({**parts, **vals}), states


def cross_validation(
    models: Mapping[str, Forecaster],
    df: pd.DataFrame,
    h: int,
    n_windows: int = 3,
    n_jobs: int = 1,
    partial: bool = True,
) -> pd.DataFrame:
    """Rolling-origin forecasts for every series and model.

    Returns
    -------
    DataFrame with ``unique_id, ds, cutoff, step, y`` and, per model, a forecast column named after
    it and its own standard deviation in ``<name>__sd``.
    """
    from models.data import validate_long

    h = check_horizon(h)
    frame = validate_long(df)
    has_x = [c for c in frame.columns if c not in ("unique_id", "ds", "y")]
    items = []
    for uid, g in frame.groupby("unique_id", sort=True):
        X = g.reset_index(drop=True) if has_x else None
        items.append(
            (models, uid, g["y"].to_numpy(float), g["ds"].to_numpy(), X, h, n_windows, partial)
        )
    parts = map_series(cv_series, items, n_jobs)
    return pd.concat(parts, ignore_index=True)
