"""Naive and drift forecasts of a whole panel at once: the same numbers, vectorised.

``forecast.py run --model naive|drift`` on 50,000 series went through
:class:`models.selection.AutoForecaster` one series at a time (a backtest per series, a
frame per series): minutes. :func:`fast_forecast` computes the same thing with arrays over
every series: the rolling-origin backtest windows of :func:`models.backtest.window_lengths`,
each window's forecast and standard deviation as :class:`models.baselines.Naive` and
:class:`~models.baselines.Drift` give them (``residual_sd`` of the window's year-on-year
changes), the pooled, scaled errors per step of
:meth:`~models.selection.AutoForecaster._learn_errors` (level scale, or log scale for
positive series) and the intervals of :func:`models.conformal.calibrated_columns`, with
:func:`models.conformal.halfwidths` computed once for the panel. Series are padded to the
longest one; memory is a few arrays of series x windows x length.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from models.base import level_label, z_value
from models.conformal import floor_at_zero, halfwidths, log_sd, pool_by_step, scaled_errors
from models.selection import AutoForecaster

#: Models this path computes, with the shortest series each needs.
FAST_MODELS = {"naive": 2, "drift": 3}


def applies(model: Any, df: pd.DataFrame) -> bool:
    """Whether ``model`` (the CLI's forecaster) is one this module computes exactly: a
    calibrated naive or drift, forced for every series, on a panel without drivers."""
    return (
        type(model) is AutoForecaster
        and tuple(model.candidates) in (("naive",), ("drift",))
        and model.choose == model.candidates[0]
        and model.calibrate
        and set(df.columns) == {"unique_id", "ds", "y"}
    )


def _padded(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Series ids, lengths, last ds and values padded with NaN (a validated, sorted frame)."""
    codes, uids = pd.factorize(df["unique_id"], sort=False)
    n = np.bincount(codes, minlength=len(uids))
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    pos = np.arange(len(df)) - first[codes]
    y = np.full((len(uids), int(n.max())), np.nan)
    y[codes, pos] = df["y"].to_numpy(float)
    last_ds = df["ds"].to_numpy()[first + n - 1]
    return np.asarray(uids), n, last_ds, y


def _residual_sd(r: np.ndarray, used: np.ndarray, n_params: int) -> np.ndarray:
    """:func:`models.base.residual_sd` along the last axis, counting only ``used`` entries."""
    count = used.sum(axis=-1)
    dof = np.maximum(count - n_params, 1)
    s = np.sqrt(np.where(used, r, 0.0) ** 2 @ np.ones(r.shape[-1]) / dof)
    return np.where(s > 0, s, 1e-12)


def _fit(model: str, y: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    """Last value, slope (0 for naive) and sigma of each series fitted on its first
    ``lengths`` values; ``lengths`` has shape (series, windows)."""
    rows = np.arange(len(y))[:, None]
    last = y[rows, lengths - 1]
    d = np.diff(y, axis=1)[:, None, :]  # (series, 1, len - 1)
    used = np.arange(d.shape[-1])[None, None, :] < (lengths - 1)[:, :, None]
    if model == "naive":
        return last, np.zeros_like(last), _residual_sd(d, used, 0)
    slope = (last - y[:, :1]) / (lengths - 1)
    return last, slope, _residual_sd(d - slope[:, :, None], used, 1)


def _forecast(model, last, slope, sigma, lengths, steps):
    """Mean and sd at ``steps`` (1..h) of fits with these states (broadcast on the last axis)."""
    mean = last[..., None] + slope[..., None] * steps
    if model == "naive":
        return mean, sigma[..., None] * np.sqrt(steps)
    return mean, sigma[..., None] * np.sqrt(steps * (1 + steps / (lengths[..., None] - 1)))


def _windows(n: np.ndarray, h: int, n_windows: int, partial: bool, start: int) -> np.ndarray:
    """Training lengths of every series' backtest windows, (series, windows), 0 where none
    (as :func:`models.backtest.window_lengths`)."""
    first = np.maximum(np.maximum(n - h - n_windows + 1, start), 2)
    end = n if partial else np.maximum(n - h + 1, first)
    k = np.arange(max(int((end - first).max()), 1))
    lengths = first[:, None] + k[None, :]
    return np.where(lengths < end[:, None], lengths, 0)


def _scales(y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series: the MASE scale, whether positive, and the MASE scale of ``log y``
    (:func:`models.conformal.interval_scale`, ``is_positive``, ``log_mase_scale``)."""
    d = np.abs(np.diff(y, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series of 2 has no ddof=1 sd
        mase = np.nanmean(d, axis=1)
        vol = np.nanstd(np.diff(y, axis=1), axis=1, ddof=1)
    fallback = np.where(
        (n > 2) & (vol > 0) & np.isfinite(vol), vol, np.nanmean(np.abs(y), axis=1) / 100
    )
    fallback = np.where(fallback > 0, fallback, 1.0)
    mase = np.sqrt(np.where((mase > 0) & np.isfinite(mase), mase, fallback)) ** 2  # as there
    positive = np.nanmin(y, axis=1) > 0
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        log_y = np.log(np.where(positive[:, None], y, np.nan))
        logs = np.nanmean(np.abs(np.diff(log_y, axis=1)), axis=1)
    logs = np.where((logs > 0) & np.isfinite(logs), logs, 1e-3)
    return mase, positive, logs


def signs(model: Any, y: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per series of the padded ``y``: whether calibrated on the log scale (positive
    throughout) and whether floored at 0 (never below it); neither where ``model.positive``
    is False, as in ``AutoForecaster``."""
    if model.positive is False:
        none = np.zeros(len(y), dtype=bool)
        return none, none
    return positive, np.nanmin(y, axis=1) >= 0


def _pooled_errors(model, y, n, h, n_windows, partial, mase, positive, logs):
    """Scaled |errors| of every backtest forecast, pooled per step: (level, log)."""
    lengths = _windows(n, h, n_windows, partial, FAST_MODELS[model])
    ok_window = lengths > 0
    safe = np.where(ok_window, lengths, FAST_MODELS[model])
    last, slope, sigma = _fit(model, y, safe)
    steps = np.arange(1, h + 1)
    f, sd = _forecast(model, last, slope, sigma, safe, steps)
    at = safe[..., None] + steps - 1  # index of the value each step forecasts
    valid = ok_window[..., None] & (at < n[:, None, None])
    actual = np.take_along_axis(y[:, None, :], np.minimum(at, y.shape[1] - 1), axis=2)
    finite = np.isfinite(f) & np.isfinite(sd)
    pos = np.broadcast_to(positive[:, None, None], f.shape)
    e = scaled_errors(actual, f, sd, mase[:, None, None], logs[:, None, None], pos)
    use = valid & finite
    step_of = np.broadcast_to(steps, e.shape)
    series = np.broadcast_to(np.arange(len(y))[:, None, None], e.shape)
    return (
        pool_by_step(e, step_of, series, use & ~pos),
        pool_by_step(e, step_of, series, use & pos),
    )


def _any(errors: dict[int, np.ndarray]) -> bool:
    return any(len(v) for v in errors.values())


def _columns(mean, sd, mase, positive, nonneg, logs, errors, log_errors, levels):
    """Calibrated ``lo-L``/``hi-L`` of every series, as ``calibrated_columns`` gives them."""
    h = mean.shape[1]
    log_half = halfwidths(log_errors, h, levels) if _any(log_errors) else None
    half = halfwidths(errors, h, levels) if _any(errors) else None
    use_log = positive & np.all(mean > 0, axis=1) & (log_half is not None)
    use_level = ~use_log & (half is not None)
    cols: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        log_scale = np.sqrt(log_sd(sd, mean) * logs[:, None])
        scale = np.sqrt(np.maximum(sd, 0.0) * mase[:, None])
        for lv in sorted(levels):
            z = z_value(lv)
            lo, hi = mean - z * sd, mean + z * sd  # the models' own, where nothing was pooled
            if half is not None:
                w = np.maximum(half[lv][None, :] * scale, z * np.nan_to_num(sd))
                lo = np.where(use_level[:, None], mean - w, lo)
                hi = np.where(use_level[:, None], mean + w, hi)
            if log_half is not None:
                own = np.log1p(z * np.nan_to_num(sd) / mean)
                w = np.maximum(log_half[lv][None, :] * log_scale, own)
                with np.errstate(over="ignore"):  # inf where unbounded, as conformal.py
                    lo = np.where(use_log[:, None], mean * np.exp(-w), lo)
                    hi = np.where(use_log[:, None], mean * np.exp(w), hi)
            lo = floor_at_zero(lo, nonneg)
            cols[f"lo-{level_label(lv)}"], cols[f"hi-{level_label(lv)}"] = lo, hi
    return cols


def fast_forecast(model: Any, df: pd.DataFrame, h: int, levels: list[float]) -> pd.DataFrame | None:
    """What ``model.fit(df).predict(h, levels)`` gives, for the models :func:`applies` to
    (None otherwise). ``df`` is a validated long frame (sorted by ``unique_id``, ``ds``)."""
    if not applies(model, df):
        return None
    name = model.candidates[0]
    uids, n, last_ds, y = _padded(df)
    partial = model.partial if model.partial is not None else len(uids) < 50
    mase, positive, logs = _scales(y, n)
    positive, nonneg = signs(model, y, positive)
    errors, log_errors = _pooled_errors(
        name, y, n, model.horizon, model.n_windows, partial, mase, positive, logs
    )
    last, slope, sigma = _fit(name, y, n[:, None])
    steps = np.arange(1, h + 1)
    mean, sd = _forecast(name, last[:, 0], slope[:, 0], sigma[:, 0], n, steps)
    mean = floor_at_zero(mean, nonneg)
    cols = _columns(mean, sd, mase, positive, nonneg, logs, errors, log_errors, levels)
    out = {
        "unique_id": np.repeat(uids, h),
        "ds": (last_ds[:, None] + steps).ravel(),
        "model": name,
        "mean": mean.ravel(),
    }
    out.update({k: v.ravel() for k, v in cols.items()})
    return pd.DataFrame(out)
