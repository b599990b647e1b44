"""The robust-planning study that the allocation report and the web app show, in one call.

:func:`robust_study` runs, on one scenario, what ``optimise.py robust``, ``alternatives``
and ``frontier --over budget|risk`` print: the robust plan against the median and
10th-percentile plans (scored out of sample), each area's floor probability, near-optimal
alternatives, the value of the fund's size and expected value against CVaR. Sizes are
smaller than the CLI's defaults so that a report or a page stays quick; every number says
how many futures it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.errors import ScenarioError
from engine.planning.alternatives import (
    Alternative,
    alternatives,
    alternatives_table,
    budget_frontier,
    risk_frontier,
)
from engine.planning.futures import Source
from engine.planning.robust import RobustReport, plan_robust
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions

#: The weights on CVaR of the study's risk frontier.
RISK_WEIGHTS = [0.0, 0.5, 1.0]


@dataclass
class RobustStudy:
    """The robust plan and its options.

    ``alternatives``: :func:`~engine.planning.alternatives.alternatives_table` (``plan,
    area, funding, change, value, loss, loss_share, distance``; funding in fund units over
    the horizon); ``budget``: ``scale, total, value, marginal, status``; ``risk``:
    ``weight, expected_value, cvar, status`` (in sample, on the report's futures)."""

    report: RobustReport
    found: list[Alternative]
    alternatives: pd.DataFrame
    budget: pd.DataFrame
    risk: pd.DataFrame
    within: float
    alpha: float


def robust_study(
    scenario: Scenario,
    futures: int = 20,
    out_of_sample: int = 200,
    *,
    seed: int = 0,
    within: float = 0.02,
    count: int = 3,
    alpha: float = 0.1,
    evpi_futures: int = 50,
    source: Source = "forecast",
    options: SolverOptions | None = None,
) -> RobustStudy:
    """Plan on ``futures`` futures (soft floors, expected value), score on
    ``out_of_sample`` fresh ones, find ``count`` alternatives within ``within`` of the
    optimum and both frontiers. Futures come from ``source``; when the forecast does not
    cover the scenario's members they come from stated distributions, and the report's
    notes say so."""
    options = options or SolverOptions(mip_gap=1e-6)

    def run(src: Source) -> RobustReport:
        return plan_robust(
            scenario,
            futures,
            out_of_sample,
            source=src,
            seed=seed,
            alpha=alpha,
            options=options,
            evpi_futures=evpi_futures,
        )

    try:
        report = run(source)
    except ScenarioError as error:
        if source != "forecast":
            raise
        report = run("stated")
        report.notes.append(
            f"futures from stated distributions: the forecast could not draw them ({error})"
        )
    try:
        found = alternatives(scenario, within, count, options)
    except ValueError:
        found = []
    table = alternatives_table(found) if found else pd.DataFrame()
    budget = budget_frontier(scenario, options=options)
    risk = (
        risk_frontier(scenario, report.plan.futures, alpha, RISK_WEIGHTS, options=options)
        if report.plan.ok
        else pd.DataFrame(columns=["weight", "expected_value", "cvar", "status"])
    )
    return RobustStudy(report, found, table, budget, risk, within, alpha)
