"""``--model auto`` on a whole panel at once: the choice of :class:`models.selection.AutoForecaster`
computed over arrays, in chunks of series that can run anywhere (processes or Dask workers).

The per-series path backtests every candidate on every series, one series at a time; at 50,000
series that is the Python around each series, not the arithmetic. Here it is two phases:

1. :func:`chunk_forecasts` (per chunk of :data:`CHUNK` series; independent, so chunks run in
   worker processes or on a Dask cluster): every candidate of the default pool (naive, drift,
   Theta, Theta on logs, ETS) fitted on every backtest window and on the whole series, all the
   rows of the chunk at once (:mod:`models.panel_fits`). It returns the forecasts as arrays.
2. :func:`forecast_panel` (the parent): the rest of ``AutoForecaster.fit`` and ``predict``
   on the arrays - the combinations, the comparison on the same backtest rows
   (:func:`models.selection.common_rows`' rule), the global choice
   (:func:`models.selection.selection_table`), each series' fallback down its own ranking, the
   pooled errors of the chosen model and the calibrated intervals (:mod:`models.panel`).

Same figures: on panels of up to :data:`SAMPLE_ABOVE` series this is the per-series path's
computation, equal to rounding (tests/test_forecast_panel_auto.py). Beyond it, the backtest
(choice and calibration) runs on a seeded sample of :data:`SAMPLE_SIZE` series, every series
still getting its own fits and its own fallback (by the panel's ranking); the caller says so.
Chunks are fixed by position, so a run on workers gives exactly the single-process figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models import panel, panel_fits
from models.combinations import used_label
from models.conformal import floor_at_zero, pool_by_step, scaled_errors
from models.registry import DEFAULT_CANDIDATES
from models.scoring import MAX_MISSING, global_choice, left_out_message, selection_table
from models.selection import AutoForecaster

#: Series per chunk: the unit of work sent to a process or a Dask worker (some MB of arrays).
CHUNK = 200
#: Above this many series the backtest runs on a seeded sample of SAMPLE_SIZE series.
SAMPLE_ABOVE = 5_000
SAMPLE_SIZE = 5_000
SAMPLE_SEED = 0
#: The pool's models, the shortest series each fits, and where the backtest windows start.
REQUIRED = {"naive": 2, "drift": 3, "fast_theta": 4, "fast_theta_log": 4, "fast_ets": 3}
START = max(REQUIRED.values())


def applies(model: Any, df: pd.DataFrame) -> bool:
    """Whether ``model`` is the CLI's ``auto`` (default pool; the pool's median, or the global
    choice from the small menu; calibrated) on a panel without drivers: what this module
    computes."""
    return (
        type(model) is AutoForecaster
        and tuple(model.candidates) == DEFAULT_CANDIDATES
        and model.combinations is None
        and model.menu in ("small", "median")
        and model.choose is None
        and model.select == "global"
        and model.calibrate
        and set(df.columns) == {"unique_id", "ds", "y"}
    )


def sample_of(n_series: int) -> np.ndarray:
    """Which series are backtested: all of them, or a seeded sample on a large panel."""
    if n_series <= SAMPLE_ABOVE:
        return np.ones(n_series, dtype=bool)
    picked = np.random.default_rng(SAMPLE_SEED).choice(n_series, SAMPLE_SIZE, replace=False)
    out = np.zeros(n_series, dtype=bool)
    out[picked] = True
    return out


def _smooth_rows(name: str, y: np.ndarray, n: np.ndarray, lengths: np.ndarray, steps: int):
    """Theta, Theta on logs or ETS on rows (``y`` of each row, prefix ``lengths``), as
    :func:`models.backtest.forecast_prefixes` gives them: mean, sd (rows, steps) and ok."""
    v, norm_on, ok = y, n, np.ones(len(y), dtype=bool)
    if name == "fast_theta_log":
        cols = np.arange(y.shape[1])[None, :]
        positive = np.all(np.where(cols < n[:, None], y > 0, True), axis=1)
        # A series with a value <= 0 is fitted prefix by prefix (forecast_prefixes' fallback):
        # each positive prefix normalised on itself.
        ok = np.all(np.where(cols < lengths[:, None], y > 0, True), axis=1)
        norm_on = np.where(positive, n, lengths)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(np.where(cols < np.maximum(n, lengths)[:, None], np.abs(y), 1.0))
    z, shift, scale = panel_fits.normalise_rows(np.where(np.isfinite(v), v, 0.0), norm_on)
    order = np.argsort(-lengths, kind="stable")
    back = np.argsort(order)
    z, shift, scale, L = z[order], shift[order], scale[order], lengths[order]
    if name == "fast_ets":
        state, fitted = panel_fits.ets_states(z, shift, scale, L)
        mean, sd = panel_fits.ets_predict(state, steps)
        ok = ok & fitted[back]
    else:
        alpha, level = panel_fits.theta_rows(z, L)
        raw = np.where(np.isfinite(v), v, 0.0)[order]
        state = panel_fits.theta_states(raw, L, alpha, shift + scale * level)
        mean, sd = panel_fits.theta_predict(state, steps)
    mean, sd = mean[back], sd[back]
    if name == "fast_theta_log":
        mean = np.exp(mean)
        sd = mean * sd
    return mean, sd, ok


def _rows_forecast(name: str, y: np.ndarray, n: np.ndarray, lengths: np.ndarray, steps: int):
    """Forecasts ``steps`` ahead of model ``name`` fitted on each row's prefix (NaN where it
    cannot fit): mean, sd of shape (rows, steps) and whether it fitted."""
    fits = lengths >= REQUIRED[name]
    safe = np.where(fits, lengths, REQUIRED[name])
    if name in ("naive", "drift"):
        last, slope, sigma = panel._fit(name, y, safe[:, None])
        mean, sd = panel._forecast(
            name, last[:, 0], slope[:, 0], sigma[:, 0], safe, np.arange(1, steps + 1)
        )
        return mean, sd, fits
    if not fits.any():
        nan = np.full((len(y), steps), np.nan)
        return nan, nan, fits
    mean = np.full((len(y), steps), np.nan)
    sd = np.full((len(y), steps), np.nan)
    m, s, ok = _smooth_rows(name, y[fits], n[fits], lengths[fits], steps)
    mean[fits], sd[fits] = m, s
    fits[fits] = ok
    return mean, sd, fits


def chunk_forecasts(
    y: np.ndarray,
    n: np.ndarray,
    backtest: np.ndarray,
    h: int,
    h_out: int,
    n_windows: int,
    partial: bool,
) -> dict[str, Any]:
    """Phase 1 for a chunk of series (``y`` padded with NaN, lengths ``n``): every candidate's
    backtest forecasts (the series where ``backtest``) and its final forecasts ``h_out`` ahead.

    Returns ``lengths`` (series x windows, 0 where none) and per model ``name``: ``bt`` (mean,
    sd) of shape (series, windows, h) with NaN where a window has no forecast, and ``final``
    (mean, sd, ok) of shape (series, h_out) and (series,).
    """
    lengths = panel._windows(n, h, n_windows, partial, START)
    lengths = np.where(backtest[:, None], lengths, 0)
    s_idx, w_idx = np.nonzero(lengths)
    row_s = np.concatenate([s_idx, np.arange(len(n))])
    row_len = np.concatenate([lengths[s_idx, w_idx], n])
    steps = max(h, h_out)
    in_window = np.arange(h)[None, :] < np.minimum(h, n[s_idx] - lengths[s_idx, w_idx])[:, None]
    out: dict[str, Any] = {"lengths": lengths}
    for name in DEFAULT_CANDIDATES:
        mean, sd, ok = _rows_forecast(name, y[row_s], n[row_s], row_len, steps)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(mean) & np.isfinite(sd)
        k = len(s_idx)
        good = ok[:k] & np.all(finite[:k, :h] | ~in_window, axis=1)
        bt_m = np.full((*lengths.shape, h), np.nan)
        bt_s = np.full((*lengths.shape, h), np.nan)
        bt_m[s_idx, w_idx] = np.where(good[:, None] & in_window, mean[:k, :h], np.nan)
        bt_s[s_idx, w_idx] = np.where(good[:, None] & in_window, sd[:k, :h], np.nan)
        final_ok = ok[k:] & finite[k:, 0]
        out[name] = {"bt": (bt_m, bt_s), "final": (mean[k:, :h_out], sd[k:, :h_out], final_ok)}
    return out


def _gather(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The chunks' results joined along the series axis (windows padded to the widest)."""
    width = max(p["lengths"].shape[1] for p in parts)

    def pad(a: np.ndarray, fill: float) -> np.ndarray:
        extra = [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
        return np.pad(a, extra, constant_values=fill)

    out: dict[str, Any] = {"lengths": np.concatenate([pad(p["lengths"], 0) for p in parts])}
    for name in DEFAULT_CANDIDATES:
        bt = tuple(np.concatenate([pad(p[name]["bt"][i], np.nan) for p in parts]) for i in (0, 1))
        final = tuple(np.concatenate([p[name]["final"][i] for p in parts]) for i in (0, 1, 2))
        out[name] = {"bt": bt, "final": final}
    return out


Runner = Callable[[Callable[..., Any], list[tuple]], list[Any]]


def local_runner(n_jobs: int) -> Runner:
    """Run the chunks in this process (``n_jobs`` 1) or in ``n_jobs`` worker processes."""

    def run(func: Callable[..., Any], items: list[tuple]) -> list[Any]:
        if n_jobs == 1 or len(items) == 1:
            return [func(*it) for it in items]
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=n_jobs)(delayed(func)(*it) for it in items))

    return run


def _backtest(y: np.ndarray, n: np.ndarray, res: dict[str, Any], combos, h: int):
    """The backtest as arrays (series, windows, steps): actuals, which cells exist, and each
    candidate's (mean, sd), combinations included (:func:`models.selection.add_combinations`)."""
    lengths = res["lengths"]
    at = lengths[..., None] + np.arange(h)
    valid = (lengths > 0)[..., None] & (at < n[:, None, None])
    actual = np.take_along_axis(y[:, None, :], np.minimum(at, y.shape[1] - 1), axis=2)
    fc = {name: res[name]["bt"] for name in DEFAULT_CANDIDATES}
    for name, parts in combos.items():
        m = np.stack([fc[c][0] for c in parts], axis=-1)
        s = np.stack([fc[c][1] for c in parts], axis=-1)
        ok = np.isfinite(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
            centre = np.nanmean if parts.how == "mean" else np.nanmedian
            fc[name] = (
                centre(np.where(ok, m, np.nan), axis=-1),
                np.nanmean(np.where(ok, s, np.nan), axis=-1),
            )
    return actual, valid, fc


def _compared(valid: np.ndarray, fc, order: Sequence[str], combos) -> tuple[np.ndarray, list[str]]:
    """:func:`models.selection.common_rows` on the arrays: the cells every compared candidate
    forecast, and the candidates left out (missing on more than MAX_MISSING of the cells)."""
    cells = valid.sum()
    share = {
        a: 1 - np.isfinite(fc[a][0])[valid].sum() / cells if cells else 0.0
        for a in DEFAULT_CANDIDATES
    }
    bad = {a for a, s in share.items() if s > MAX_MISSING}
    left_out = [c for c in order if c in bad or (c in combos and bad & set(combos[c]))]
    rows = valid.copy()
    for a in DEFAULT_CANDIDATES:
        if a not in bad:
            rows &= np.isfinite(fc[a][0])
    return rows, left_out


def _scores(actual, rows, fc, order, scale, uids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`models.selection.panel_scores` on the arrays: backtest MASE and sMAPE of every
    candidate per series over the compared cells (NaN if one is missing there)."""
    count = rows.sum(axis=(1, 2))
    out: list[dict[str, np.ndarray]] = [{}, {}]
    for name in order:
        f = fc[name][0]
        err = np.abs(actual - f)
        den = np.abs(actual) + np.abs(f)
        with np.errstate(divide="ignore", invalid="ignore"):
            sm = np.where(den > 0, 200 * err / np.where(den > 0, den, 1), 0.0)
            sm = np.where(np.isfinite(err), sm, np.nan)
            rel = err / scale[:, None, None]
            for table, col in zip(out, (rel, sm), strict=True):
                bad = (rows & ~np.isfinite(col)).sum(axis=(1, 2))
                tot = np.where(rows, np.nan_to_num(col), 0.0).sum(axis=(1, 2))
                table[name] = np.where((bad == 0) & (count > 0), tot / count, np.nan)
    index = pd.Index(uids, name="unique_id")
    return pd.DataFrame(out[0], index=index), pd.DataFrame(out[1], index=index)


def _choose(first: str, scores: np.ndarray, fitted: np.ndarray, order: Sequence[str]) -> np.ndarray:
    """Each series' candidate: ``first``, else down its ranking (scores, NaN last, ties in menu
    order) to the first with a fitted component; -1 where none fitted (then naive)."""
    key = np.where(np.isfinite(scores), scores, np.inf)
    key[:, list(order).index(first)] = -np.inf
    tries = np.argsort(key, axis=1, kind="stable")
    has = np.take_along_axis(fitted, tries, axis=1)
    pick = tries[np.arange(len(tries)), np.argmax(has, axis=1)]
    return np.where(has.any(axis=1), pick, -1)


def _final(res: dict[str, Any], combos) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each candidate's forecast of every series (mean, sd, fitted): a combination is the
    median or mean of its fitted components with finite forecasts (one fitted: that one)."""
    out = {name: res[name]["final"] for name in DEFAULT_CANDIDATES}
    for name, parts in combos.items():
        m = np.stack([out[c][0] for c in parts], axis=1)
        s = np.stack([out[c][1] for c in parts], axis=1)
        fit = np.stack([out[c][2] for c in parts], axis=1)
        use = fit & np.all(np.isfinite(m), axis=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean if parts.how == "mean" else np.nanmedian
            mean = centre(np.where(use[..., None], m, np.nan), axis=1)
            sd = np.nanmean(np.where(use[..., None], s, np.nan), axis=1)
        single = fit.sum(axis=1) == 1
        only = np.argmax(fit, axis=1)
        rows = np.arange(len(m))
        mean = np.where(single[:, None], m[rows, only], mean)
        sd = np.where(single[:, None], s[rows, only], sd)
        out[name] = (mean, sd, fit.any(axis=1))
    return out


def _learn_errors(actual, valid, fc, chosen, order, mase, positive, logs):
    """Pooled scaled |errors| per step of each backtested series' chosen model (level scale,
    and log scale for positive series): ``AutoForecaster._learn_errors``."""
    f = np.full(actual.shape, np.nan)
    sd = np.full(actual.shape, np.nan)
    for j, name in enumerate(order):
        mine = chosen == j
        f[mine], sd[mine] = fc[name][0][mine], fc[name][1][mine]
    pos = np.broadcast_to(positive[:, None, None], actual.shape)
    e = scaled_errors(actual, f, sd, mase[:, None, None], logs[:, None, None], pos)
    step = np.broadcast_to(np.arange(1, actual.shape[2] + 1), actual.shape)
    series = np.broadcast_to(np.arange(actual.shape[0])[:, None, None], actual.shape)
    return (
        pool_by_step(e, step, series, valid & ~pos),
        pool_by_step(e, step, series, valid & pos),
    )


def forecast_panel(
    model: Any, df: pd.DataFrame, h: int, levels: list[float], runner: Runner | None = None
) -> pd.DataFrame | None:
    """What ``model.fit(df).predict(h, levels)`` gives for the CLI's ``auto`` (None if
    :func:`applies` is False), computed by chunks of series run by ``runner`` (default: this
    process). ``df`` is a validated long frame; on a panel of more than :data:`SAMPLE_ABOVE`
    series the backtest runs on the seeded sample of :func:`sample_of` (see module doc)."""
    if not applies(model, df):
        return None
    uids, n, last_ds, y = panel._padded(df)
    partial = model.partial if model.partial is not None else len(uids) < 50
    backtest = sample_of(len(uids))
    hb = int(model.horizon)
    items = [
        (
            y[i : i + CHUNK],
            n[i : i + CHUNK],
            backtest[i : i + CHUNK],
            hb,
            h,
            model.n_windows,
            partial,
        )
        for i in range(0, len(uids), CHUNK)
    ]
    res = _gather((runner or local_runner(1))(chunk_forecasts, items))
    combos = model._combos()
    order = [*combos, *DEFAULT_CANDIDATES]
    mase, positive, logs = panel._scales(y, n)
    positive, nonneg = panel.signs(model, y, positive)
    actual, valid, fc = _backtest(y, n, res, combos, hb)
    rows, left_out = _compared(valid, fc, order, combos)
    if left_out:
        warnings.warn(
            left_out_message(left_out, model.forced_choice()),
            stacklevel=2,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmean(np.abs(np.diff(y, axis=1)), axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    mase_t, smape_t = _scores(
        actual[backtest],
        rows[backtest],
        {k: (v[0][backtest],) for k, v in fc.items()},
        order,
        scale[backtest],
        uids[backtest],
    )
    mase_t[left_out] = np.nan
    smape_t[left_out] = np.nan
    table = selection_table(mase_t, smape_t, order)
    first = model.forced_choice() or global_choice(mase_t, smape_t, order)
    scores = np.tile(table["criterion"].reindex(order).to_numpy(float), (len(uids), 1))
    scores[backtest] = mase_t[order].to_numpy(float)
    final = _final(res, combos)
    fitted = np.stack([final[c][2] for c in order], axis=1)
    chosen = _choose(first, scores, fitted, order)
    labels = np.array([*order, "naive"], dtype=object)[chosen]
    for j, name in enumerate(order):
        if name in combos:
            parts = combos[name]
            fit = np.stack([final[c][2] for c in parts], axis=1)
            for i in np.flatnonzero((chosen == j) & ~fit.all(axis=1)):
                labels[i] = used_label(
                    name, parts, [c for c, f in zip(parts, fit[i], strict=True) if f]
                )
    cands = [*order, "naive"]
    mean = np.full((len(uids), h), np.nan)
    sd = np.full((len(uids), h), np.nan)
    for j, name in enumerate(cands):
        mine = chosen == (j if j < len(order) else -1)
        mean[mine], sd[mine] = final[name][0][mine], final[name][1][mine]
    naive_j = order.index("naive")
    chosen_bt = np.where(chosen < 0, naive_j, chosen)
    errors, log_errors = _learn_errors(actual, valid, fc, chosen_bt, order, mase, positive, logs)
    mean = floor_at_zero(mean, nonneg)
    cols = panel._columns(mean, sd, mase, positive, nonneg, logs, errors, log_errors, levels)
    out = {
        "unique_id": np.repeat(uids, h),
        "ds": (last_ds[:, None] + np.arange(1, h + 1)).ravel(),
        "model": np.repeat(labels, h),
        "mean": mean.ravel(),
    }
    out.update({k: v.ravel() for k, v in cols.items()})
    return pd.DataFrame(out)


def sample_note(n_series: int) -> str | None:
    """What the CLI prints when the backtest ran on a sample (None when it ran on every series)."""
    if n_series <= SAMPLE_ABOVE:
        return None
    return (
        f"auto: the backtest (the candidates' scores, the choice and the calibration of the "
        f"intervals) ran on a seeded sample of {SAMPLE_SIZE:,} of the {n_series:,} series "
        f"(seed {SAMPLE_SEED}); every series has its own fits"
    )
