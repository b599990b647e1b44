"""Rolling-origin evaluation of a CLI model with honestly calibrated intervals.

:func:`run_backtest` scores the forecasts of :func:`models.selection.make_forecaster` at the
last few cutoffs of each series, with the model choice and the conformal half-widths learnt only
from backtest errors whose target year is at or before each cutoff.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from models.backtest import pool_length
from models.base import DEFAULT_LEVELS, check_horizon, check_levels, level_label, z_value
from models.combinations import used_label
from models.conformal import (
    calibrated_columns,
    floor_at_zero,
    interval_scale,
    is_nonnegative,
    is_positive,
    log_mase_scale,
    scaled_errors,
)
from models.data import validate_long
from models.errors import ForecastInputError
from models.metrics import coverage, mase, mase_scale, msis, smape
from models.scoring import fallback_order, global_choice, panel_scores
from models.selection import AutoForecaster, make_forecaster


def _normal_columns(
    mean: np.ndarray, sd: np.ndarray, levels: Sequence[float]
) -> dict[str, np.ndarray]:
    """Normal ``lo-L``/``hi-L`` columns from the model's own sd (no pooled errors to calibrate)."""
    return {
        f"{side}-{level_label(L)}": mean + sign * z_value(L) * sd
        for L in levels
        for side, sign in (("lo", -1), ("hi", 1))
    }


def _long_enough(frame: pd.DataFrame, h: int, n_windows: int, start: int) -> pd.DataFrame:
    """The series long enough to score every window: ``h + n_windows + start`` years, with
    ``start`` (at least 2) the models' largest required length, so that the earliest scored
    window is trained on ``start`` years plus one and has a calibration error before it.
    The others are left out with a warning naming them. Raises ForecastInputError when none
    is long enough."""
    sizes = frame.groupby("unique_id").size()
    need = h + n_windows + max(start, 2)
    short = sizes[sizes < need]
    if len(short) == len(sizes):
        raise ForecastInputError(
            f"no series is long enough: a backtest with horizon {h} and {n_windows} window(s) "
            f"needs at least {need} observations per series; the longest, {sizes.idxmax()!r}, "
            f"has {int(sizes.max())}"
        )
    if len(short):
        named = ", ".join(f"{uid!r} ({n})" for uid, n in short.iloc[:5].items())
        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
        warnings.warn(
            f"{len(short)} of {len(sizes)} series left out of the backtest: a backtest with "
            f"horizon {h} and {n_windows} window(s) needs at least {need} observations; "
            f"{named}{more}",
            stacklevel=3,
        )
        frame = frame[~frame["unique_id"].isin(short.index)].reset_index(drop=True)
    return frame


def _window_label(name: str, combos, window: pd.DataFrame) -> str:
    """The model a backtest window's forecast used: ``name``, or where a combination's
    components did not all forecast the window, the ones that did (:func:`used_label`)."""
    if name not in combos:
        return name
    parts = combos[name]
    used = [c for c in parts if c in window and np.isfinite(window[c].to_numpy(float)).all()]
    return used_label(name, parts, used)


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
    ``coverage_uncal-L``); the means over series. A series shorter than ``h + n_windows +
    L`` (L the models' largest required length, at least 2: 4 for ``auto``) is left out with a
    warning; ForecastInputError if every series is.
    """
    h = check_horizon(h)
    lv = check_levels(levels)
    if n_windows < 1:
        raise ForecastInputError(f"windows must be >= 1; got {n_windows}")
    auto = make_forecaster(model, h, n_jobs=n_jobs, n_windows=n_windows + n_calib)
    assert isinstance(auto, AutoForecaster)
    auto.partial = True  # the calibration history of each evaluated window needs them
    frame = validate_long(df, min_length=auto.required_length())
    frame = _long_enough(frame, h, n_windows, pool_length(auto._atomic()))
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
        forced = auto.forced_choice()
        for uid, g in groups.items():
            y_tr = ys[uid][: len(ys[uid]) - h - k]
            if forced:
                chosen[uid] = forced
            elif auto.select == "series":
                chosen[uid] = fallback_order(None, table.loc[uid].to_dict(), order)[0]
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
            nonneg = auto.nonnegative_[uid] and is_nonnegative(y_tr)
            mean = floor_at_zero(mean, np.asarray(nonneg))  # as ``run`` reports it
            cols = calibrated_columns(
                mean,
                sd,
                interval_scale(1.0, y_tr) ** 2,
                log_mase_scale(y_tr) if pos else None,
                scaled,
                scaled_log,
                lv,
                fallback=partial(_normal_columns, mean, sd, lv),
                nonnegative=nonneg,
            )
            out = pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ev["ds"].to_numpy(),
                    "cutoff": c,
                    "model": _window_label(name, combos, ev),
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
    unscaled = []
    for uid, g in fc.groupby("unique_id", sort=True):
        # A training part without a single change has no MASE scale: MASE and MSIS are
        # undefined there (NaN, left out of the means), not the raw errors in the series' units.
        sc = mase_scale(ys[uid][: len(ys[uid]) - h - n_windows + 1])
        if not np.isfinite(sc):
            unscaled.append(uid)
        rec: dict[str, Any] = {
            "unique_id": uid,
            "model": g["model"].mode().iloc[0],
            "windows": g["cutoff"].nunique(),
            "mase": mase(g["y"], g["mean"], sc),
            "smape": smape(g["y"], g["mean"]),
        }
        for L in lv:
            lab = level_label(L)
            rec[f"coverage-{lab}"] = coverage(g["y"], g[f"lo-{lab}"], g[f"hi-{lab}"])
            rec[f"msis-{lab}"] = msis(g["y"], g[f"lo-{lab}"], g[f"hi-{lab}"], sc, L)
            rec[f"coverage_uncal-{lab}"] = coverage(
                g["y"], g[f"lo_uncal-{lab}"], g[f"hi_uncal-{lab}"]
            )
        rows.append(rec)
    if unscaled:
        warnings.warn(
            f"MASE and MSIS undefined (NaN, left out of the means) for {len(unscaled)} series "
            f"whose training years never change: {', '.join(map(repr, unscaled[:5]))}",
            stacklevel=2,
        )
    per_series = pd.DataFrame(rows)
    metric_cols = [c for c in per_series.columns if c not in ("unique_id", "model", "windows")]
    overall = per_series[metric_cols].mean().to_frame().T
    overall.insert(0, "series", len(per_series))
    overall.insert(0, "model", model)
    keep = [c for c in fc.columns if "_uncal" not in c]
    return fc[keep], per_series, overall
