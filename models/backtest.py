"""Rolling-origin cross-validation, run in parallel over series.

``cross_validation`` refits every model at each of the last ``n_windows`` full-horizon cutoffs,
and with ``partial`` also at the ``h - 1`` later cutoffs whose horizon is cut short by the end of
the data (more errors for the short steps, which small panels need for calibration). It returns
a long frame with a ``cutoff`` column like statsforecast's. A model that fails on a series at a
cutoff (or gives a non-finite forecast) gets NaN there, so that selection can fall back to
another model.
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
    n = len(y)
    first = max(n - h - n_windows + 1, 2)
    end = n if partial else max(n - h + 1, first)
    parts: dict[str, list] = {"unique_id": [], "ds": [], "cutoff": [], "step": [], "y": []}
    vals: dict[str, list] = {f"{k}{s}": [] for k in models for s in ("", "__sd")}
    for L in range(first, end):
        steps = min(h, n - L)
        parts["unique_id"] += [uid] * steps
        parts["ds"] += list(ds[L : L + steps])
        parts["cutoff"] += [ds[L - 1]] * steps
        parts["step"] += list(range(1, steps + 1))
        parts["y"] += list(y[L : L + steps])
        xs = X.iloc[: L + steps] if X is not None else None
        for name, m in models.items():
            mean, sd, _ = safe_forecast(m, y[:L], xs, steps)
            vals[name] += list(mean)
            vals[f"{name}__sd"] += list(sd)
    return pd.DataFrame({**parts, **vals})


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
