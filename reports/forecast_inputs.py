"""Fill a :class:`~reports.forecast_report.ForecastData` from the forecasting models.

The fund's members and first-year pledges come from a scenario; :func:`models.fund.
fund_forecast` simulates their contributions under each policy path (joint sample paths,
so the fund's intervals are coherent). History is shown on the same scale: each member's
defence spending (NATO, 2014-2024) times the contribution rate the pledges imply. The
backtest scores the same automatic model choice on members' defence spending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from engine import Scenario, forecast_settings
from models.data import NATO_WIDE, WORLDBANK, load_nato_defexp
from models.errors import ForecastInputError
from models.evaluation import run_backtest
from models.forked import beside
from models.fund import (
    DEFAULT_HORIZON,
    FundForecast,
    FundHistory,
    contributing_members,
    fund_forecast,
    load_fund_history,
)
from models.paths import resolve_path
from reports.document import sha256_files
from reports.forecast_report import LEVELS, ForecastData, PathForecast
from reports.sources import NATO_DEFEXP, WORLD_BANK, scenario_note

DEFAULT_PATHS = ("trend", "hague-2035")
#: Years ahead scored in the backtest, and rolling origins per series.
BACKTEST_HORIZON = 3
BACKTEST_WINDOWS = 3


@dataclass(frozen=True)
class ForecastOptions:
    """What shapes a forecast report: policy paths, joint sample paths and the seed."""

    paths: tuple[str, ...] = DEFAULT_PATHS
    n_samples: int = 2000
    seed: int = 0


def _path_forecast(fc: FundForecast, description: str) -> PathForecast:
    """The path's fund and member summaries; raises ForecastInputError if not finite."""
    fund = fc.total(LEVELS).rename(columns={"year": "ds"})
    if not np.isfinite(fund.drop(columns="ds").to_numpy(float)).all():
        raise ForecastInputError(
            f"path {fc.path_name!r}: the simulated fund has values that are not finite; "
            "the forecast cannot be reported"
        )
    members = fc.by_member(LEVELS).rename(columns={"member": "unique_id", "year": "ds"})
    keep = ["mean", *[f"{side}-{lv}" for lv in LEVELS for side in ("lo", "hi")]]
    return PathForecast(
        fc.path_name, description, fund[["ds", *keep]], members[["unique_id", "ds", *keep]]
    )


def _history(rates: dict[str, float], inputs: FundHistory) -> pd.DataFrame:
    """Each pledging member's defence spending times its contribution rate (currency units),
    over the years of NATO's records: NATO's figures, else GDP times the defence share of
    the fund's own inputs (a partner such as Japan), else GDP alone (a member with no
    defence share, whose rate is of GDP, as in :mod:`models.fund`)."""
    spending = load_nato_defexp()[["unique_id", "ds", "y"]]
    spending = spending[spending["unique_id"].isin(rates)]
    rest = [m for m in rates if m not in set(spending["unique_id"])]
    years = inputs.gdp["ds"].between(*spending["ds"].agg(["min", "max"]))
    gdp = inputs.gdp[inputs.gdp["unique_id"].isin(rest) & years][["unique_id", "ds", "y"]]
    shared = set(inputs.share["unique_id"])
    share = inputs.share[["unique_id", "ds", "y"]].rename(columns={"y": "share"})
    with_share = gdp[gdp["unique_id"].isin(shared)].merge(share, on=["unique_id", "ds"])
    own = [
        with_share.assign(y=with_share["y"] * with_share["share"]).drop(columns="share"),
        gdp[~gdp["unique_id"].isin(shared)],
    ]
    both = pd.concat([spending, *own], ignore_index=True)
    return both.assign(y=both["y"] * both["unique_id"].map(rates))


def _backtest(members: Sequence[str]) -> pd.DataFrame:
    """Per-series accuracy (MASE, sMAPE, calibrated and raw coverage) on defence spending."""
    spending = load_nato_defexp()[["unique_id", "ds", "y"]]
    spending = spending[spending["unique_id"].isin(members)]
    # Hundreds of fits of tiny matrices: BLAS threads only contend.
    with threadpool_limits(limits=1, user_api="blas"):
        _, per_series, _ = run_backtest(
            spending,
            BACKTEST_HORIZON,
            model="auto",
            n_windows=BACKTEST_WINDOWS,
            levels=LEVELS,
        )
    return per_series


def forecast_data(
    scenario: Scenario, scenario_path: Path, options: ForecastOptions
) -> ForecastData:
    """Forecast the scenario's fund under each path and score the models.

    Raises ForecastInputError (models.errors) for an unknown path or members without data.
    """
    history_inputs = load_fund_history()
    custom, _ = forecast_settings(scenario)
    # Bad paths and members without data are refused before any work starts.
    contributors = [
        contributing_members(scenario, name, paths=custom, history=history_inputs)
        for name in options.paths
    ]
    # The backtest (the larger half of the model fits) runs in a forked child process beside
    # the fund's forecasts: on two cores this beats worker pools, whose fresh interpreters pay
    # for their own imports (see benchmarks/RESULTS_reports.md).
    # The same years as ``python forecast.py`` (and the same forecast object for them).
    first = int(scenario.fund.years[0])
    years = list(range(first, first + DEFAULT_HORIZON))
    with beside(_backtest, sorted(contributors[0])) as backtest_result:
        forecasts = [
            fund_forecast(
                scenario,
                name,
                years,
                paths=custom,
                n_samples=options.n_samples,
                seed=options.seed,
                history=history_inputs,
            )
            for name in options.paths
        ]
        backtest = backtest_result()
    paths = tuple(
        _path_forecast(fc, resolve_path(fc.path_name, custom).description or fc.path_name)
        for fc in forecasts
    )
    history = _history(forecasts[0].rates, history_inputs)
    first_year = forecasts[0].years[0]
    assumptions = (
        *scenario_note(scenario_path.name),
        "Each member contributes a fixed rate of its defence spending; the rate is set so "
        f"that the {first_year} contributions equal the pledges in {scenario_path.name}.",
        "Defence spending is GDP (World Bank, forecast) times the defence share of GDP "
        "(NATO 2014-2024, forecast or set by the policy path).",
        "History before the fund existed is shown on the same scale: past defence spending "
        "times each member's contribution rate, i.e. what the fund would have been.",
        f"{options.n_samples} joint sample paths (seed {options.seed}); members' shocks share "
        "a common factor (loadings estimated from members' year-on-year changes, not shrunk) "
        "plus their own part; GDP and defence shares are modelled in logs, so spending stays "
        "positive; the fund's intervals are quantiles of the summed paths.",
        "Members that pledge nothing in the first year contribute nothing (unless a path has "
        "them join). A member with no defence "
        "share on record (Iceland has no armed forces) contributes a fixed rate of its GDP.",
        *(f"Path '{p.name}': {p.description}" for p in paths),
        f"Backtest: the automatic model choice forecasts members' defence spending "
        f"{BACKTEST_HORIZON} years ahead from {BACKTEST_WINDOWS} rolling origins; intervals "
        "are calibrated on errors before each origin only.",
    )
    models = backtest[["unique_id", "model"]]
    return ForecastData(
        fund_name=scenario.fund.name,
        currency=scenario.fund.currency,
        unit=scenario.fund.unit,
        history=history,
        paths=paths,
        models=models,
        backtest=backtest,
        backtest_horizon=BACKTEST_HORIZON,
        names={m.id: m.name or m.id for m in scenario.members},
        assumptions=assumptions,
        sources=(NATO_DEFEXP, WORLD_BANK),
    )


def inputs_sha256(scenario_path: Path, options: ForecastOptions) -> str:
    """Hash of the scenario file, the shipped data files and the options."""
    return sha256_files(
        [scenario_path, NATO_WIDE, WORLDBANK],
        {"paths": list(options.paths), "n_samples": options.n_samples, "seed": options.seed},
    )
