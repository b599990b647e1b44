"""The decomposition's re-solves on workers (engine.planning.pool): a Dask cluster of two
processes and two local processes reach the single-process plan; groups of futures (one
cut per group) reach the same optimum as one cut per future; bad schedulers are refused."""

from __future__ import annotations

import numpy as np
import pytest

from engine import scenario_from_data
from engine.errors import BatchError
from engine.planning.decompose import solve_benders
from engine.planning.pool import Subproblems, open_pool, solve_group
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
