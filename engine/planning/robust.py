"""The robust plan and its comparison with the deterministic plans, in one call.

:func:`plan_robust` draws in-sample and out-of-sample futures, solves the two-stage
programme on the first, makes the deterministic plans on the median and on the 10th
percentile of the fund's forecast (the pledges ``from_forecast: {quantile: q}`` gives,
split from the forecast's joint paths), and scores all three first stages on the same
out-of-sample futures. It reports

- the value of the stochastic solution, out of sample: ``vss_median`` and ``vss_p10``,
  the robust plan's expected value less the quantile plan's, on the same futures; and in
  sample (the programme's own objective, with the quantile plan's first stage fixed),
  which cannot be negative;
- the expected value of perfect information, in sample: the mean of each future's own
  optimum (wait and see) less the robust plan's objective (non-negative); and out of
  sample: the same on the first ``evpi_futures`` fresh futures, against the robust plan's
  value in those futures (an estimate: it can come out slightly negative only where the
  robust plan's scoring is better than a future's own MIP within the solver's gap);
- each plan's expected value and CVaR out of sample, each area's probability of meeting
  its floors and each member's probability of paying more than it pledged (zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from engine.errors import ScenarioError
from engine.formulation.build import build_model
from engine.formulation.core import PlanModel
from engine.planning.decompose import plan_from_first_stage, solve_benders
from engine.planning.evaluate import Scores, score_first_stage
from engine.planning.extensive import first_stage
from engine.planning.futures import Futures, Source, draw_futures
from engine.planning.pool import Pool, Subproblems, open_pool
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import StochasticPlan, solve_stochastic
from engine.planning.tasks import alone_value, pooled_alone, pooled_scores
from engine.scenario.schema import Scenario
from engine.solving.backends import SolverOptions

Method = Literal["extensive", "benders"]

#: Which futures each headline number of :meth:`RobustReport.summary` is measured on:
#: ``out``, the fresh futures that did not build the plan, or ``in``, those that did.
SAMPLE = {
    "expected_value": "out",
    "cvar": "out",
    "vss_median": "out",
    "vss_p10": "out",
    "in_sample_vss_median": "in",
    "in_sample_vss_p10": "in",
    "evpi": "in",
    "in_sample_evpi": "in",
    "out_of_sample_evpi": "out",
    "in_sample_objective": "in",
}

#: Fresh futures solved alone for the out-of-sample EVPI (one MIP each).
EVPI_FUTURES = 100

#: The deterministic plans compared with the robust one: label and forecast quantile.
QUANTILE_PLANS = (("median", 0.5), ("p10", 0.1))


@dataclass
class RobustReport:
    """The robust plan, the quantile plans, and their scores in and out of sample."""

    plan: StochasticPlan
    baselines: dict[str, StochasticPlan]
    scores: dict[str, Scores]
    in_sample_vss: dict[str, float]
    wait_and_see: np.ndarray
    out_of_sample: Futures
    alpha: float = 0.1
    notes: list[str] = field(default_factory=list)
    #: Each of the first fresh futures' own optimum (out-of-sample EVPI; empty: skipped).
    fresh_wait_and_see: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def evpi(self) -> float:
        """Expected value of perfect information, in sample (>= 0)."""
        return float(self.plan.risk.of(self.wait_and_see) - self.plan.objective)

    @property
    def out_of_sample_evpi(self) -> float:
        """Expected value of perfect information on the first fresh futures: their own
        optima's mean less the robust plan's value in them (NaN when skipped)."""
        m = len(self.fresh_wait_and_see)
        if not m or "robust" not in self.scores:
            return float("nan")
        robust = self.scores["robust"].values[:m]
        both = np.isfinite(robust) & np.isfinite(self.fresh_wait_and_see)
        if not both.any():
            return float("nan")
        return float(np.mean(self.fresh_wait_and_see[both] - robust[both]))

    def vss(self, label: str) -> float:
        """Out-of-sample expected value of the robust plan less the ``label`` plan's."""
        if label not in self.scores:
            return float("nan")
        return self.scores["robust"].expected - self.scores[label].expected

    def comparison(self) -> pd.DataFrame:
        """One row per plan: its expected value and CVaR out of sample, its worst floor
        probability and the share of futures it leaves without a plan."""
        rows = []
        for label, s in self.scores.items():
            floors = s.floor_probability()
            rows.append(
                {
                    "plan": label,
                    "expected_value": s.expected,
                    "cvar": s.cvar(self.alpha),
                    "worst_floor_probability": min(floors.values()) if floors else 1.0,
                    "infeasible_share": s.infeasible_share,
                    "over_pledge_probability": max(s.over_pledge_probability().values()),
                }
            )
        return pd.DataFrame(rows)

    def areas(self) -> pd.DataFrame:
        """Per area: the robust plan's first-year money and each plan's floor probability."""
        alloc = self.plan.allocation().groupby("area")["amount"].sum()
        sc = self.plan.scenario
        out = pd.DataFrame({"area": [a.id for a in sc.areas]})
        out["first_year_funding"] = [float(alloc.get(a, 0.0)) for a in out["area"]]
        for label, s in self.scores.items():
            probs = s.floor_probability()
            column = "floor_probability" if label == "robust" else f"floor_probability_{label}"
            out[column] = [probs.get(a, np.nan) for a in out["area"]]
        return out

    def summary(self) -> dict:
        """The headline numbers (``summary.json``)."""
        robust = self.scores["robust"]
        return {
            "scenario": self.plan.scenario.fund.name,
            "objective": self.plan.risk.label,
            "floors": self.plan.floors.mode,
            "futures": len(self.plan.futures),
            "out_of_sample_futures": len(self.out_of_sample),
            "source": self.plan.futures.source,
            "seed": self.plan.futures.seed,
            "expected_value": robust.expected,
            "cvar": robust.cvar(self.alpha),
            "cvar_alpha": self.alpha,
            "vss_median": self.vss("median"),
            "vss_p10": self.vss("p10"),
            "in_sample_vss_median": self.in_sample_vss["median"],
            "in_sample_vss_p10": self.in_sample_vss["p10"],
            "evpi": self.evpi,
            "in_sample_evpi": self.evpi,
            "out_of_sample_evpi": self.out_of_sample_evpi,
            "evpi_out_of_sample_futures": len(self.fresh_wait_and_see),
            "sample": dict(SAMPLE),
            "in_sample_objective": self.plan.objective,
            "infeasible_share": robust.infeasible_share,
            "max_over_pledge_probability": max(robust.over_pledge_probability().values()),
            "seconds": self.plan.seconds,
            "notes": self.notes,
        }


def wait_and_see(
    plan: StochasticPlan, options: SolverOptions | None = None, pool: Pool | None = None
) -> np.ndarray:
    """Each in-sample future's value when it is known in advance (its own optimum); on
    ``pool`` (its work's futures begin with the plan's) one MIP per future on its
    workers, where the futures decouple (expected value, no chance constraint)."""
    if plan.risk.weight == 0 and plan.floors.mode != "chance":
        if pool is not None:
            return pooled_alone(pool, plan.floors, np.arange(len(plan.futures)), patched=True)
        return alone_values(plan.scenario, plan.futures, plan.floors, options, plan.models)
    alone = solve_stochastic(
        plan.scenario,
        plan.futures,
        plan.floors,
        plan.risk,
        options,
        models=plan.models,
        first=np.zeros(0, dtype=np.int64),
    )
    return alone.values


def alone_values(
    scenario: Scenario,
    futures: Futures,
    floors: FloorRule,
    options: SolverOptions | None = None,
    models: list[PlanModel] | None = None,
) -> np.ndarray:
    """Each future's own optimum (its deterministic plan under ``floors``; NaN where it
    has none), one model at a time unless ``models`` are given."""
    given: list[PlanModel | None] = list(models) if models else [None] * len(futures)
    return np.array(
        [alone_value(scenario, futures, k, floors, options, given[k]) for k in range(len(futures))],
        dtype=float,
    )


def quantile_plan(
    scenario: Scenario, futures: Futures, quantile: float, floors: FloorRule, options=None
) -> StochasticPlan:
    """The deterministic plan on the pledges at the forecast's ``quantile``."""
    cube = futures.at_quantile(quantile)[None]
    one = Futures(futures.members, futures.years, cube, f"quantile {quantile:g}", futures.seed)
    return solve_stochastic(scenario, one, floors, Risk(), options)


def plan_robust(
    scenario: Scenario,
    n_futures: int = 50,
    n_out: int = 1000,
    *,
    source: Source = "forecast",
    path: str = "trend",
    seed: int = 0,
    floors: FloorRule | None = None,
    risk: Risk | None = None,
    alpha: float = 0.1,
    options: SolverOptions | None = None,
    evpi: bool = True,
    method: Method = "extensive",
    scheduler: str | None = None,
    evpi_futures: int = EVPI_FUTURES,
) -> RobustReport:
    """Plan on ``n_futures`` in-sample futures and score on ``n_out`` fresh ones (see the
    module's docstring); ``method="benders"`` solves the programme by decomposition
    (expected value, soft floors). With ``scheduler`` (see
    :func:`engine.planning.pool.open_pool`) the per-future solves run on one pool of
    workers: the decomposition's re-solves, the plans' scores, the in-sample VSS (with
    ``benders``) and both EVPIs' single-future MIPs, the same results as in process.
    ``evpi`` False skips both EVPIs. Raises
    ScenarioError for futures that cannot be drawn or a method that does not take the
    rules, BatchError for a scheduler it cannot reach."""
    floors, risk = floors or FloorRule(), risk or Risk()
    if method == "benders" and (floors.mode != "soft" or risk.weight != 0):
        raise ScenarioError(
            [f"--method {method}: decomposition takes --objective expected and soft floors"],
            "--method",
        )
    inside, outside = draw_futures(scenario, n_futures, n_out, source, seed, path)
    solves = _Solves(scenario, inside, outside, floors, risk, options, method)
    solves.open(scheduler)
    try:
        return solves.report(alpha, evpi, evpi_futures)
    finally:
        solves.close()


@dataclass
class _Solves:
    """The study's solves: the programme, then per future (scores, in-sample VSS, EVPI)
    in this process, or on ``pool`` (:meth:`open`), whose work's futures are the
    in-sample ones followed by the fresh ones."""

    scenario: Scenario
    inside: Futures
    outside: Futures
    floors: FloorRule
    risk: Risk
    options: SolverOptions | None
    method: Method
    pool: Pool | None = None
    base: PlanModel | None = None  # future 0's model, for the areas' names

    def open(self, scheduler: str | None) -> None:
        """Start ``scheduler``'s pool (None: none, every solve in this process); raises
        BatchError when it cannot."""
        if not scheduler:
            return
        self.base = build_model(self.inside.scenario(self.scenario, 0))
        cube = np.concatenate([self.inside.pledges, self.outside.pledges])
        inside = self.inside
        every = Futures(inside.members, inside.years, cube, inside.source, inside.seed)
        n_first = len(first_stage(self.base))
        work = Subproblems(self.scenario, every, self.floors.penalty, n_first, self.options)
        self.pool = open_pool(scheduler, work)

    def close(self) -> None:
        """Stop the pool, if any."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def report(self, alpha: float, evpi: bool, evpi_futures: int) -> RobustReport:
        """The robust plan, the quantile plans and their scores (see :func:`plan_robust`)."""
        sc, inside, outside, options = self.scenario, self.inside, self.outside, self.options
        plan = self.robust_plan()
        if not plan.ok:
            notes = [f"the robust programme has no plan ({plan.solver_status})"]
            return RobustReport(plan, {}, {}, {}, np.zeros(0), outside, alpha, notes)
        notes = []
        baselines = {
            label: quantile_plan(sc, inside, q, self.floors, options) for label, q in QUANTILE_PLANS
        }
        in_vss = {}
        for label, base in baselines.items():
            if not base.ok:
                notes.append(f"the {label} plan has no plan ({base.solver_status})")
                in_vss[label] = np.nan
                continue
            in_vss[label] = self.in_sample_vss(plan, base)
        scores = {"robust": self.score(plan.first_values)}
        for label, base in baselines.items():
            if base.ok:
                scores[label] = self.score(base.first_values)
        ws = wait_and_see(plan, options, self.pool) if evpi else np.full(len(inside), np.nan)
        fresh = self.fresh_alone(evpi_futures) if evpi else np.zeros(0)
        return RobustReport(plan, baselines, scores, in_vss, ws, outside, alpha, notes, fresh)

    def robust_plan(self) -> StochasticPlan:
        """The two-stage plan by the extensive form or by decomposition."""
        sc, inside, floors, options = self.scenario, self.inside, self.floors, self.options
        if self.method == "extensive":
            return solve_stochastic(sc, inside, floors, self.risk, options)
        dec = solve_benders(sc, inside, floors, options, pool=self.pool)
        y = dec.first_values
        return plan_from_first_stage(sc, inside, y, floors, options, dec.seconds, self.pool)

    def score(self, first_values: np.ndarray, sample: Literal["in", "out"] = "out") -> Scores:
        """``first_values`` scored on the in-sample futures or on the fresh ones."""
        futures = self.inside if sample == "in" else self.outside
        penalty = self.floors.penalty
        if self.pool is None:
            return score_first_stage(self.scenario, futures, first_values, penalty, self.options)
        assert self.base is not None
        start = 0 if sample == "in" else len(self.inside)
        index = start + np.arange(len(futures))
        return pooled_scores(self.pool, first_values, index, self.base)

    def fresh_alone(self, count: int) -> np.ndarray:
        """The first ``count`` fresh futures' own optima (soft floors at the penalty)."""
        first = self.outside.subset(slice(0, min(count, len(self.outside))))
        rule = FloorRule("soft", penalty=self.floors.penalty)
        if self.pool is None:
            return alone_values(self.scenario, first, rule, self.options)
        index = len(self.inside) + np.arange(len(first))
        return pooled_alone(self.pool, rule, index, patched=False)

    def in_sample_vss(self, plan: StochasticPlan, base: StochasticPlan) -> float:
        """The programme's objective less its value with ``base``'s first stage fixed."""
        if self.method == "benders":
            fixed = self.score(base.first_values, "in")
            if not fixed.feasible.all():
                return np.inf
            return float(plan.objective - fixed.values.mean())
        again = solve_stochastic(
            plan.scenario,
            plan.futures,
            plan.floors,
            plan.risk,
            self.options,
            fixed=base.first_values,
            models=plan.models,
        )
        return plan.objective - again.objective if again.ok else np.inf
