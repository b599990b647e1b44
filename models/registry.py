"""The named single models the automatic forecaster and the CLI can use.

``ATOMIC`` maps each name (as written in ``candidates``, ``choose`` and combinations) to its
model class; ``DEFAULT_CANDIDATES`` is the automatic forecaster's pool.
"""

from __future__ import annotations

from models.base import Forecaster
from models.baselines import Drift, Naive
from models.fast_arima import FastARIMA
from models.global_model import GlobalRidge
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
