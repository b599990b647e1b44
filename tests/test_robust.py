"""Planning under uncertainty (engine.planning): the two-stage programme against the
deterministic optimum and against an independent extensive form written with scipy from
the scenario data (not from the engine's arrays), non-anticipativity, CVaR, VSS, EVPI,
out-of-sample scoring, chance-constrained floors and reproducible futures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from datasets import scenario_path
from engine import load_with_edits, scenario_from_data, solve
from engine.errors import ScenarioError
from engine.planning.evaluate import score_first_stage
from engine.planning.extensive import first_stage
from engine.planning.futures import Futures, draw_futures, stated_futures
from engine.planning.robust import plan_robust
from engine.planning.rules import FloorRule, Risk, cvar
from engine.planning.stochastic import solve_stochastic

YEARS = (2026, 2027)
DISCOUNT = 0.05
ALPHA_CURVE = [(4.0, 1.0), (None, 0.2)]  # area alpha: marginal 1 up to 4bn, then 0.2
BETA_CURVE = [(3.0, 1.0), (None, 0.1)]
PRIORITY = {"alpha": 1.0, "beta": 0.8, "gamma": 0.5}
FLOOR_ALPHA = 3.0
CEILING_BETA = 5.0
JOINS = {"A": ("alpha", "beta", "gamma"), "B": ("alpha", "gamma")}
PROJECT = {"area": "beta", "cost": {2026: 1.0, 2027: 2.0}, "value": 3.0}


def tiny_data(project: bool = False) -> dict:
    """Two members (AAA, BBB), three areas, two years; BBB stays out of beta."""
    data = {
        "fund": {"name": "Tiny", "unit": "bn", "years": list(YEARS)},
        "objective": {"discount_rate": DISCOUNT},
        "members": [
            {"id": "AAA", "pledge": "10bn"},
            {"id": "BBB", "pledge": "6bn", "opt_out": ["beta"]},
        ],
        "areas": [
            {
                "id": "alpha",
                "priority": PRIORITY["alpha"],
                "floor": f"{FLOOR_ALPHA}bn",
                "value_curve": [{"up_to": "4bn", "marginal": 1.0}, {"marginal": 0.2}],
            },
            {
                "id": "beta",
                "priority": PRIORITY["beta"],
                "ceiling": f"{CEILING_BETA}bn",
                "value_curve": [{"up_to": "3bn", "marginal": 1.0}, {"marginal": 0.1}],
            },
            {"id": "gamma", "priority": PRIORITY["gamma"]},
        ],
    }
    if project:
        data["projects"] = [
            {
                "id": "p1",
                "area": PROJECT["area"],
                "cost": {y: f"{c}bn" for y, c in PROJECT["cost"].items()},
                "value": PROJECT["value"],
            }
        ]
    return data


def tiny(project: bool = False):
    return scenario_from_data(tiny_data(project), "tiny.yaml")


def tiny_futures(pledges_2027: list[tuple[float, float]]) -> Futures:
    """Futures with the first year as pledged (10, 6) and these 2027 pledges ($bn)."""
    cube = np.array([[[10.0, a], [6.0, b]] for a, b in pledges_2027]) * 1e9
    return Futures(("AAA", "BBB"), YEARS, cube)


SPREAD = [(10.0, 6.0), (7.0, 3.0), (13.0, 8.0), (9.0, 1.0)]
SHORT = [(10.0, 6.0), (2.0, 0.5), (12.0, 7.0)]  # future 1 cannot fund alpha's 3bn floor


class Independent:
    """The extensive form of the tiny scenario, written from its data with scipy.milp."""

    def __init__(self, pledges_2027, floors="hard", penalty=10.0, project=False, alpha=None):
        self.n = len(pledges_2027)
        self.p = 1.0 / self.n
        self.names: dict[tuple, int] = {}
        self.lb, self.ub, self.cost, self.integer = [], [], [], []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.value: list[dict[int, float]] = [{} for _ in range(self.n)]
        self.build(pledges_2027, floors, penalty, project)
        if alpha is not None:
            self.add_cvar(alpha)

    def var(self, key, lb=0.0, ub=np.inf, integer=False) -> int:
        if key not in self.names:
            self.names[key] = len(self.lb)
            self.lb.append(lb)
            self.ub.append(ub)
            self.cost.append(0.0)
            self.integer.append(1 if integer else 0)
        return self.names[key]

    def flow(self, k, m, a, t) -> int:
        # The first year is shared by every future (non-anticipative).
        return self.var(("x", m, a, t) if t == YEARS[0] else ("x", k, m, a, t))

    def build(self, pledges_2027, floors, penalty, project):
        z = self.var(("z",), 0, 1, integer=True) if project else None
        for k, (pa, pb) in enumerate(pledges_2027):
            pledge = {("A", 2026): 10.0, ("B", 2026): 6.0, ("A", 2027): pa, ("B", 2027): pb}
            if z is not None:
                self.value[k][z] = PROJECT["value"] * PRIORITY[PROJECT["area"]]
            for t in YEARS:
                disc = 1.0 / (1.0 + DISCOUNT) ** (t - YEARS[0])
                for m, areas in JOINS.items():
                    terms = {self.flow(k, m, a, t): 1.0 for a in areas}
                    self.rows.append((terms, -np.inf, pledge[m, t]))
                funding = {
                    a: [self.flow(k, m, a, t) for m in JOINS if a in JOINS[m]] for a in PRIORITY
                }
                floor = {j: 1.0 for j in funding["alpha"]}
                if floors == "soft":
                    floor[self.var(("short", k, t))] = 1.0
                    self.value[k][self.names[("short", k, t)]] = -penalty
                self.rows.append((floor, FLOOR_ALPHA, np.inf))
                self.rows.append(({j: 1.0 for j in funding["beta"]}, -np.inf, CEILING_BETA))
                spend = PROJECT["cost"][t] if project else 0.0
                if project:  # the project's money comes out of beta's funding
                    row = {j: -1.0 for j in funding["beta"]}
                    row[z] = spend
                    self.rows.append((row, -np.inf, 0.0))
                for a, curve in (("alpha", ALPHA_CURVE), ("beta", BETA_CURVE)):
                    row = {j: -1.0 for j in funding[a]}
                    start = 0.0
                    for i, (up, marginal) in enumerate(curve):
                        width = np.inf if up is None else up - start
                        s = self.var(("s", k, a, t, i), 0.0, width)
                        row[s] = 1.0
                        self.value[k][s] = disc * PRIORITY[a] * marginal
                        start = up or start
                    if a == PROJECT["area"] and project:
                        row[z] = spend
                    self.rows.append((row, -np.inf, 0.0))
                for j in funding["gamma"]:
                    self.value[k][j] = self.value[k].get(j, 0.0) + disc * PRIORITY["gamma"]

    def add_cvar(self, alpha):
        eta = self.var(("eta",), -np.inf, np.inf)
        self.cvar_cols = (eta, [self.var(("u", k)) for k in range(self.n)], alpha)

    def solve(self):
        c = np.zeros(len(self.lb))
        if hasattr(self, "cvar_cols"):
            eta, us, alpha = self.cvar_cols
            c[eta] = 1.0
            for k, u in enumerate(us):
                c[u] = -self.p / alpha
                row = dict(self.value[k])
                row[u] = row.get(u, 0.0) + 1.0
                row[eta] = -1.0
                self.rows.append((row, 0.0, np.inf))
        else:
            for k in range(self.n):
                for j, v in self.value[k].items():
                    c[j] += self.p * v
        a = np.zeros((len(self.rows), len(self.lb)))
        for i, (terms, _lo, _hi) in enumerate(self.rows):
            for j, v in terms.items():
                a[i, j] += v
        lo = [r[1] for r in self.rows]
        hi = [r[2] for r in self.rows]
        res = milp(
            -c,
            constraints=LinearConstraint(a, lo, hi),
            bounds=Bounds(self.lb, self.ub),
            integrality=np.array(self.integer),
            options={"mip_rel_gap": 1e-9},
        )
        return res.status, (-res.fun if res.status == 0 else None)


@pytest.mark.parametrize("project", [False, True])
def test_identical_futures_give_the_deterministic_optimum(project):
    sc = tiny(project)
    futures = tiny_futures([(8.0, 4.0)]).identical(3)
    plan = solve_stochastic(sc, futures, FloorRule("hard"))
    alone = solve(futures.scenario(sc, 0))
    assert plan.ok
    assert alone.ok
    assert plan.objective == pytest.approx(alone.objective, abs=1e-6)


def test_identical_forecast_like_futures_on_nif_give_the_deterministic_optimum():
    sc = load_with_edits(scenario_path("nif"))
    futures = stated_futures(sc, 2, seed=3).identical(2, k=1)
    plan = solve_stochastic(sc, futures, FloorRule("hard"))
    assert plan.objective == pytest.approx(solve(futures.scenario(sc, 1)).objective, abs=1e-6)


@pytest.mark.parametrize("project", [False, True])
def test_first_stage_is_identical_in_every_future(project):
    sc = tiny(project)
    plan = solve_stochastic(sc, tiny_futures(SPREAD), FloorRule("soft"))
    first = first_stage(plan.model)
    assert len(first) >= 5
    assert np.allclose(plan.solutions[:, first], plan.solutions[0, first])
    # and the recourse does differ between futures
    assert not np.allclose(plan.solutions, plan.solutions[0])
    if project:
        z = plan.model.projects.go["p1"]
        assert first.tolist().count(z) == 1


@pytest.mark.parametrize(
    ("futures", "floors", "project"),
    [
        (SPREAD, "hard", False),
        (SPREAD, "hard", True),
        (SHORT, "soft", False),
        (SHORT, "soft", True),
    ],
)
def test_extensive_form_matches_an_independent_milp(futures, floors, project):
    sc = tiny(project)
    plan = solve_stochastic(sc, tiny_futures(futures), FloorRule.parse(floors))
    status, objective = Independent(futures, floors, project=project).solve()
    assert status == 0
    assert plan.ok
    assert plan.objective == pytest.approx(objective, abs=1e-6)
    assert plan.expected == pytest.approx(objective, abs=1e-6)


def test_hard_floors_have_no_plan_when_one_future_cannot_fund_them():
    plan = solve_stochastic(tiny(), tiny_futures(SHORT), FloorRule("hard"))
    status, _ = Independent(SHORT, "hard").solve()
    assert not plan.ok
    assert status == 2


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_cvar_objective_matches_an_independent_rockafellar_uryasev_lp(alpha):
    sc = tiny()
    plan = solve_stochastic(sc, tiny_futures(SPREAD), FloorRule("hard"), Risk(1.0, alpha))
    _, objective = Independent(SPREAD, "hard", alpha=alpha).solve()
    assert plan.objective == pytest.approx(objective, abs=1e-6)
    assert plan.cvar(alpha) == pytest.approx(objective, abs=1e-6)


def test_cvar_at_level_one_equals_the_expected_value():
    sc, futures = tiny(True), tiny_futures(SPREAD)
    expected = solve_stochastic(sc, futures, FloorRule("soft"), Risk.parse("expected"))
    at_one = solve_stochastic(sc, futures, FloorRule("soft"), Risk.parse("cvar:1"))
    assert at_one.objective == pytest.approx(expected.objective, abs=1e-6)
    assert cvar(expected.values, 1.0) == pytest.approx(expected.expected, abs=1e-9)


def test_risk_averse_plan_trades_expected_value_for_a_better_tail():
    sc, futures = tiny(), tiny_futures(SPREAD)
    neutral = solve_stochastic(sc, futures, FloorRule("hard"))
    averse = solve_stochastic(sc, futures, FloorRule("hard"), Risk.parse("cvar:0.25"))
    assert averse.cvar(0.25) >= neutral.cvar(0.25) - 1e-9
    assert neutral.expected >= averse.expected - 1e-9


def test_cvar_is_the_mean_of_the_worst_share():
    values = np.array([5.0, 1.0, 3.0, 2.0])
    assert cvar(values, 0.5) == pytest.approx(1.5)
    assert cvar(values, 0.25) == pytest.approx(1.0)
    assert cvar(values, 0.375) == pytest.approx((1.0 + 0.5 * 2.0) / 1.5)
    assert cvar(values, 1.0) == pytest.approx(values.mean())


def test_chance_constrained_floor_is_met_with_the_stated_probability():
    sc = tiny()
    futures = tiny_futures([*SHORT, (1.0, 1.0)])  # two of four futures cannot fund alpha
    plan = solve_stochastic(sc, futures, FloorRule.parse("chance:0.5"))
    assert plan.ok
    assert plan.floor_probability()["alpha"] >= 0.5
    assert not solve_stochastic(sc, futures, FloorRule.parse("chance:0.75")).ok


def test_out_of_sample_scoring_reproduces_the_in_sample_recourse():
    sc, futures = tiny(True), tiny_futures(SHORT)
    plan = solve_stochastic(sc, futures, FloorRule("soft"))
    scores = score_first_stage(sc, futures, plan.first_values)
    assert scores.feasible.all()
    assert np.allclose(scores.values, plan.values, atol=1e-6)
    assert scores.floor_probability()["alpha"] == pytest.approx(2 / 3)


def test_in_sample_vss_and_evpi_are_not_negative_and_nobody_pays_more_than_pledged():
    sc = load_with_edits(scenario_path("nif"))
    report = plan_robust(sc, 6, 20, source="stated", seed=2)
    summary = report.summary()
    assert summary["in_sample_vss_median"] >= -1e-7
    assert summary["in_sample_vss_p10"] >= -1e-7
    assert summary["evpi"] >= -1e-7
    assert summary["max_over_pledge_probability"] == 0.0
    assert summary["out_of_sample_futures"] == 20
    assert summary["futures"] == 6
    assert set(report.comparison()["plan"]) == {"robust", "median", "p10"}


def test_evpi_is_positive_when_futures_differ_and_zero_when_they_do_not():
    data = tiny_data()
    data["areas"][2]["absorption"] = 0.2  # gamma's first year now binds its second
    sc = scenario_from_data(data, "tiny.yaml")
    spread = plan_robust_on(sc, tiny_futures(SPREAD))
    same = plan_robust_on(sc, tiny_futures([(7.0, 3.0)]).identical(3))
    assert spread > 1e-6
    assert same == pytest.approx(0.0, abs=1e-7)


def plan_robust_on(sc, futures):
    from engine.planning.robust import wait_and_see

    plan = solve_stochastic(sc, futures, FloorRule("hard"))
    return float(wait_and_see(plan).mean() - plan.objective)


def test_futures_are_seeded_and_split_in_and_out_of_sample():
    sc = tiny()
    a_in, a_out = draw_futures(sc, 5, 7, source="stated", seed=4)
    b_in, _ = draw_futures(sc, 5, 7, source="stated", seed=4)
    c_in, _ = draw_futures(sc, 5, 7, source="stated", seed=5)
    assert len(a_in) == 5
    assert len(a_out) == 7
    assert np.array_equal(a_in.pledges, b_in.pledges)
    assert not np.array_equal(a_in.pledges, c_in.pledges)
    assert not np.isin(a_out.pledges[:, :, 1], a_in.pledges[:, :, 1]).any()
    assert np.allclose(a_in.pledges[:, :, 0], [10e9, 6e9])  # the first year is pledged


def test_quantile_split_adds_up_to_the_total_quantile():
    sc = tiny()
    futures = stated_futures(sc, 10, sigma=0.3, seed=1)
    split = futures.at_quantile(0.1)
    totals = futures.reference.sum(axis=1)
    assert split.sum(axis=0) == pytest.approx(np.quantile(totals, 0.1, axis=0))


@pytest.mark.parametrize("text", ["hard:1", "chance", "chance:1.5", "soft:-1", "always"])
def test_bad_floor_rules_are_refused(text):
    with pytest.raises(ScenarioError, match="--floors"):
        FloorRule.parse(text)


@pytest.mark.parametrize("text", ["cvar", "cvar:0", "mix:2:0.1", "median"])
def test_bad_objectives_are_refused(text):
    with pytest.raises(ScenarioError, match="--objective"):
        Risk.parse(text)


@pytest.mark.parametrize("project", [False, True])
def test_benders_decomposition_reaches_the_extensive_form_optimum(project):
    from engine.planning.decompose import solve_benders

    data = tiny_data(project)
    data["areas"][2]["absorption"] = 0.2  # the first year matters for the second
    sc = scenario_from_data(data, "tiny.yaml")
    futures = tiny_futures(SPREAD)
    extensive = solve_stochastic(sc, futures, FloorRule())
    decomposed = solve_benders(sc, futures)
    assert decomposed.gap <= 1e-6
    assert decomposed.objective == pytest.approx(extensive.objective, abs=1e-6)
    scores = score_first_stage(sc, futures, decomposed.first_values)
    assert scores.values.mean() == pytest.approx(extensive.objective, abs=1e-6)


def test_benders_adds_a_future_whose_recourse_has_no_plan():
    from engine.planning.decompose import solve_benders

    # The poorest future (held in the master first) can pay the project's 2bn of beta in
    # 2027; the second cannot (only AAA joins beta and it pledges 1bn), so it must join.
    sc = tiny(project=True)
    futures = tiny_futures([(10.0, 0.5), (1.0, 20.0), (12.0, 7.0)])
    extensive = solve_stochastic(sc, futures, FloorRule())
    decomposed = solve_benders(sc, futures)
    assert sorted(decomposed.held) == [0, 1]
    assert decomposed.objective == pytest.approx(extensive.objective, abs=1e-6)
    assert extensive.decisions()["go"].tolist() == [0]


def test_benders_on_nif_matches_the_extensive_form():
    from engine.planning.decompose import solve_benders

    sc = load_with_edits(scenario_path("nif"))
    futures = stated_futures(sc, 8, seed=5)
    extensive = solve_stochastic(sc, futures, FloorRule())
    decomposed = solve_benders(sc, futures)
    assert decomposed.objective == pytest.approx(extensive.objective, rel=1e-7)


def test_robust_report_by_decomposition_equals_the_extensive_one():
    data = tiny_data(project=True)
    data["areas"][2]["absorption"] = 0.2
    sc = scenario_from_data(data, "tiny.yaml")
    a = plan_robust(sc, 5, 15, source="stated", seed=1, method="extensive").summary()
    b = plan_robust(sc, 5, 15, source="stated", seed=1, method="benders").summary()
    for key in ("in_sample_objective", "expected_value", "evpi"):
        assert b[key] == pytest.approx(a[key], abs=1e-6)
    with pytest.raises(ScenarioError, match="--method"):
        plan_robust(sc, 3, 3, source="stated", risk=Risk.parse("cvar:0.5"), method="benders")


def test_out_of_sample_evpi_is_the_fresh_futures_own_optima_less_the_robust_plans_value():
    from engine.planning.robust import alone_values

    data = tiny_data()
    data["areas"][2]["absorption"] = 0.2
    sc = scenario_from_data(data, "tiny.yaml")
    report = plan_robust(sc, 4, 12, source="stated", seed=4, evpi_futures=5)
    first = report.out_of_sample.subset(slice(0, 5))
    own = alone_values(sc, first, FloorRule("soft"))
    robust = report.scores["robust"].values[:5]
    assert report.out_of_sample_evpi == pytest.approx(float(np.mean(own - robust)), abs=1e-9)
    assert report.out_of_sample_evpi > 1e-6  # the futures differ: knowing one is worth something
    summary = report.summary()
    assert summary["evpi_out_of_sample_futures"] == 5
    assert summary["sample"]["out_of_sample_evpi"] == "out"
    assert summary["sample"]["evpi"] == "in"
