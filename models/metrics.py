"""Accuracy metrics for annual forecasts: MASE, sMAPE, interval coverage and MSIS.

All take arrays of actuals and forecasts of one series (or a pooled set); MASE and MSIS are
scaled by the in-sample mean absolute one-year change of the training data (seasonality 1).
"""

from __future__ import annotations

import numpy as np


def mase_scale(y_train: np.ndarray) -> float:
    """Mean absolute year-on-year change of the training data (MASE's denominator)."""
    d = np.abs(np.diff(np.asarray(y_train, dtype=float)))
    s = float(np.mean(d)) if len(d) else np.nan
    return s if s > 0 else np.nan


def smape(y: np.ndarray, f: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200), the M3 definition ``200 |y-f| / (|y|+|f|)``."""
    y, f = np.asarray(y, dtype=float), np.asarray(f, dtype=float)
    den = np.abs(y) + np.abs(f)
    ratio = np.where(den > 0, 2 * np.abs(y - f) / np.where(den > 0, den, 1), 0.0)
    return float(100 * np.mean(ratio))


def mase(y: np.ndarray, f: np.ndarray, scale: float) -> float:
    """Mean absolute error divided by ``scale`` (see :func:`mase_scale`)."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(f, float))) / scale)


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of actuals inside ``[lo, hi]``."""
    y = np.asarray(y, dtype=float)
    return float(np.mean((y >= np.asarray(lo, float)) & (y <= np.asarray(hi, float))))


def msis(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: float, level: float = 95) -> float:
    """Mean scaled interval score (M4): width plus ``2/alpha`` times the misses, over ``scale``."""
    y, lo, hi = (np.asarray(a, dtype=float) for a in (y, lo, hi))
    a = 1 - level / 100
    score = (hi - lo) + (2 / a) * (lo - y) * (y < lo) + (2 / a) * (y - hi) * (y > hi)
    return float(np.mean(score) / scale)
