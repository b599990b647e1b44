"""The robust study on workers (engine.planning.pool): a Dask cluster of two processes and
two local processes reach the single-process plan; groups of futures (one cut per group)
reach the same optimum as one cut per future; bad schedulers are refused; a whole study
(scores, in-sample VSS, both EVPIs) on workers gives the numbers one process gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import scenario_from_data
from engine.errors import BatchError
from engine.planning.decompose import plan_from_first_stage, solve_benders
from engine.planning.evaluate import score_first_stage
from engine.planning.pool import Subproblems, open_pool, solve_group
from engine.planning.robust import alone_values, plan_robust
from engine.planning.stochastic import solve_stochastic
from tests.test_robust import tiny_data, tiny_futures

#: Pledges of AAA and BBB in 2027, one pair per future (six futures: groups of two).
PLEDGES = [(10.0, 6.0), (7.0, 3.0), (13.0, 8.0), (9.0, 1.0), (11.0, 2.0), (8.0, 7.0)]


def coupled():
    """The tiny scenario with a project, where the first year matters for the second."""
    data = tiny_data(project=True)
    data["areas"][2]["absorption"] = 0.2
    return scenario_from_data(data, "tiny.yaml")


def _same_optimum(spread, alone) -> None:
    """Workers reply in whatever order they finish, so the master sees its cuts in another
    order and may stop at another of the programme's many optimal first stages (money can
    move between years at no loss): the plans must agree in value, proven optimal, not in
    every first-year amount."""
    assert spread.gap <= 1e-6
    assert spread.objective == pytest.approx(alone.objective, abs=1e-9)


def test_benders_on_a_dask_cluster_of_two_processes_gets_the_single_process_plan():
    distributed = pytest.importorskip("distributed")
    sc, futures = coupled(), tiny_futures(PLEDGES)
    alone = solve_benders(sc, futures, groups=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster:
        spread = solve_benders(sc, futures, scheduler=cluster.scheduler_address, groups=2)
    assert spread.workers == 2
    _same_optimum(spread, alone)


def test_benders_on_two_local_processes_gets_the_single_process_plan():
    sc, futures = coupled(), tiny_futures(PLEDGES)
    alone = solve_benders(sc, futures, groups=2)
    spread = solve_benders(sc, futures, scheduler="local:2", groups=2)
    assert spread.workers == 2
    _same_optimum(spread, alone)


@pytest.mark.parametrize("groups", [1, 2, 5])
def test_one_cut_per_group_reaches_the_extensive_form_optimum(groups):
    sc, futures = coupled(), tiny_futures(PLEDGES)
    extensive = solve_stochastic(sc, futures)
    decomposed = solve_benders(sc, futures, groups=groups)
    assert decomposed.gap <= 1e-6
    assert decomposed.objective == pytest.approx(extensive.objective, abs=1e-6)
    assert len(decomposed.trace) == decomposed.iterations
    assert decomposed.trace["futures_solved"].is_monotonic_increasing


def test_a_group_reply_sums_its_futures_values_and_gradients():
    sc, futures = coupled(), tiny_futures(PLEDGES)
    plan = solve_stochastic(sc, futures)
    work = Subproblems(sc, futures, 10.0, len(plan.first))
    both = solve_group(work, plan.first_values, [1, 2])
    one, two = (solve_group(work, plan.first_values, [k]) for k in (1, 2))
    np.testing.assert_allclose(both.values, np.concatenate([one.values, two.values]))
    np.testing.assert_allclose(both.gradient, one.gradient + two.gradient, atol=1e-9)
    np.testing.assert_allclose(both.values, plan.values[[1, 2]], atol=1e-7)


@pytest.mark.parametrize("scheduler", ["local:0", "local:two", "local:-1"])
def test_a_bad_local_scheduler_is_refused(scheduler):
    work = Subproblems(coupled(), tiny_futures(PLEDGES), 10.0, 1)
    with pytest.raises(BatchError, match="--scheduler"):
        open_pool(scheduler, work)


#: A study with every per-future solve spread over several tasks (tasks.TASK_FUTURES).
STUDY = {"n_futures": 24, "n_out": 45, "source": "stated", "seed": 5, "evpi_futures": 25}


def _assert_same_report(pooled, alone) -> None:
    """Every number of the two reports agrees to 1e-9."""
    np.testing.assert_allclose(pooled.plan.first_values, alone.plan.first_values, atol=1e-9)
    np.testing.assert_allclose(pooled.wait_and_see, alone.wait_and_see, atol=1e-9)
    np.testing.assert_allclose(pooled.fresh_wait_and_see, alone.fresh_wait_and_see, atol=1e-9)
    assert pooled.scores.keys() == alone.scores.keys()
    for label, score in pooled.scores.items():
        np.testing.assert_allclose(score.values, alone.scores[label].values, atol=1e-9)
        np.testing.assert_array_equal(score.floor_met, alone.scores[label].floor_met)
        np.testing.assert_array_equal(score.over_pledge, alone.scores[label].over_pledge)
    numbers = {k: v for k, v in alone.summary().items() if isinstance(v, float)}
    assert numbers.keys() - {"seconds"}
    for key, value in numbers.items():
        if key != "seconds":
            assert pooled.summary()[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
    pd.testing.assert_frame_equal(pooled.areas(), alone.areas(), atol=1e-9)
    pd.testing.assert_frame_equal(pooled.comparison(), alone.comparison(), atol=1e-9)


@pytest.mark.slow  # spawns workers and solves a whole study twice
def test_a_study_on_two_local_processes_equals_the_study_in_process():
    sc = coupled()
    alone = plan_robust(sc, **STUDY)
    pooled = plan_robust(sc, **STUDY, scheduler="local:2")
    _assert_same_report(pooled, alone)
    assert np.isfinite(pooled.out_of_sample_evpi)


@pytest.mark.slow  # spawns workers and solves a whole study twice
def test_a_study_on_a_dask_cluster_equals_the_study_in_process():
    distributed = pytest.importorskip("distributed")
    sc = coupled()
    alone = plan_robust(sc, **STUDY, evpi=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster:
        pooled = plan_robust(sc, **STUDY, evpi=False, scheduler=cluster.scheduler_address)
    _assert_same_report(pooled, alone)


@pytest.mark.slow  # spawns workers and solves a whole study twice
def test_a_decomposed_study_on_workers_scores_its_plan_as_one_process_does():
    """The decomposition's first stage may be another optimal one on workers (see
    _same_optimum): the study's other numbers are checked against one process's solves
    of the same plans."""
    sc = coupled()
    report = plan_robust(sc, **STUDY, method="benders", scheduler="local:2")
    plan, floors = report.plan, report.plan.floors
    own = plan_from_first_stage(sc, plan.futures, plan.first_values, floors)
    np.testing.assert_allclose(plan.values, own.values, atol=1e-9)
    np.testing.assert_allclose(plan.solutions, own.solutions, atol=1e-9)
    np.testing.assert_array_equal(plan.floor_met, own.floor_met)
    assert plan.objective == pytest.approx(own.objective, abs=1e-9)
    pd.testing.assert_frame_equal(plan.recourse(), own.recourse(), atol=1e-9)
    for label, base in report.baselines.items():
        fixed = score_first_stage(sc, plan.futures, base.first_values, floors.penalty)
        vss = plan.objective - fixed.values.mean()
        assert report.in_sample_vss[label] == pytest.approx(vss, abs=1e-9)
    for label, score in report.scores.items():
        first = plan if label == "robust" else report.baselines[label]
        again = score_first_stage(sc, report.out_of_sample, first.first_values, floors.penalty)
        np.testing.assert_allclose(score.values, again.values, atol=1e-9)
        np.testing.assert_array_equal(score.floor_met, again.floor_met)
    ws = alone_values(sc, plan.futures, floors, models=own.models)
    np.testing.assert_allclose(report.wait_and_see, ws, atol=1e-9)
    fresh = report.out_of_sample.subset(slice(0, STUDY["evpi_futures"]))
    np.testing.assert_allclose(
        report.fresh_wait_and_see, alone_values(sc, fresh, floors), atol=1e-9
    )
