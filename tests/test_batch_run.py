"""Running batches: process pool and Dask, warm re-solves, failures, resume after SIGKILL."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from engine.batch import pools, worker
from engine.batch.driver import run_batch
from engine.batch.store import Outcome, RunStore, store_url
from engine.batch.summary import (
    export,
    floor_met,
    funding_quantiles,
    n_minus_1,
    n_minus_1_no_plan,
)
from engine.batch.sweep import load_sweep
from engine.batch.sweep_schema import SolverSettings
from engine.batch.tables import DETAIL_TABLES
from engine.batch.worker import solve_one
from engine.errors import ScenarioError
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve
from tests.cli_runs import run_many
from tests.scenario_factory import tiny_scenario
from tests.test_batch_store import (
    backend_url,  # noqa: F401 - the store fixture
    v1_rows,
    write_v1,
)

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


def write_sweep(folder: Path, spec: dict[str, Any], base: dict[str, Any] | None = None) -> Path:
    (folder / "base.yaml").write_text(yaml.safe_dump(base or tiny_scenario()), encoding="utf-8")
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "base": "base.yaml", **spec}), encoding="utf-8")
    return path


GRID = {
    "grid": {"areas.cyber.floor": ["2bn", "4bn"]},
    "draws": {"n": 3, "seed": 4, "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.2}}},
}


def stored(store: RunStore, batch_id: str) -> dict[str, tuple[str, float | None]]:
    res = store.frame("results", batch_id)
    return {
        r.scenario_id: (r.status, None if r.objective is None else round(r.objective, 6))
        for r in res.itertuples()
    }


def test_a_batch_stores_every_scenario_with_the_plan_a_fresh_solve_gives(tmp_path: Path):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store, workers=2)
        assert (tally.done, tally.failed, tally.skipped) == (6, 0, 0)
        got = stored(store, plan.batch_id)
        funding = store.frame("area_funding", plan.batch_id)
    for item in plan.scenarios():
        fresh = solve(item.scenario)
        assert got[item.scenario_id] == ("optimal", round(fresh.objective, 6))
        mine = funding[funding["scenario_id"] == item.scenario_id].sort_values(["area", "year"])
        theirs = fresh.areas.sort_values(["area", "year"])
        assert mine["amount"].to_numpy() == pytest.approx(theirs["amount"].to_numpy(), abs=1e3)
    assert tally.warm >= 2  # draws of one grid point share the LP's structure


def test_running_the_same_sweep_again_solves_nothing_and_stores_nothing_twice(
    tmp_path: Path, in_process
):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        run_batch(plan, store, limit=4)
        again = run_batch(plan, store)
        assert (again.skipped, again.done) == (4, 2)
        third = run_batch(plan, store)
        assert (third.skipped, third.done) == (6, 0)
        assert len(store.frame("results", plan.batch_id)) == 6
        assert len(store.frame("area_funding", plan.batch_id)) == 6 * 3 * 2


def test_the_dask_path_gives_the_same_results_as_the_process_pool(tmp_path: Path):
    distributed = pytest.importorskip("distributed")
    plan = load_sweep(write_sweep(tmp_path, GRID))
    with (
        RunStore(store_url(str(tmp_path / "pool"))) as pool,
        RunStore(store_url(str(tmp_path / "local"))) as local,
        RunStore(store_url(str(tmp_path / "tcp"))) as tcp,
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
    ):
        run_batch(plan, pool, workers=1)
        assert run_batch(plan, local, scheduler="local:2").done == 6
        assert run_batch(plan, tcp, scheduler=cluster.scheduler_address).done == 6
        assert stored(local, plan.batch_id) == stored(pool, plan.batch_id)
        assert stored(tcp, plan.batch_id) == stored(pool, plan.batch_id)


class _ThreadPool(pools.LocalPool):
    """The local pool on one thread (HiGHS runs one solve per process at a time), so that a
    test can make one scenario raise."""

    def _new(self) -> None:
        self.starts = None
        self.ex = cf.ThreadPoolExecutor(
            self.workers, initializer=worker.keep_plan, initargs=(self.plan,)
        )


def one_thread(workers, scheduler, plan, timeout):
    return _ThreadPool(1, plan)


@pytest.fixture
def in_process(monkeypatch):
    """Batches on one thread of this process: for tests of what the driver and the store
    do, which need no worker process (spawning one costs seconds)."""
    monkeypatch.setattr(pools, "make_pool", one_thread)


def test_a_failing_scenario_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    bad = next(plan.scenarios()).scenario
    real = worker.resolver_for

    def flaky(settings, scenario):
        if scenario == bad:
            raise RuntimeError("the solver exploded")
        return real(settings, scenario)

    monkeypatch.setattr(pools, "make_pool", one_thread)
    monkeypatch.setattr(worker, "resolver_for", flaky)
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store)
        res = store.frame("results", plan.batch_id).set_index("scenario_id")
    bad_id = next(plan.scenarios()).scenario_id
    assert (tally.done, tally.failed) == (6, 1)
    assert res.loc[bad_id, "status"] == "error"
    assert "RuntimeError: the solver exploded" in res.loc[bad_id, "error"]
    assert (res.drop(index=bad_id)["status"] == "optimal").all()

    monkeypatch.setattr(worker, "resolver_for", real)
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        assert run_batch(plan, store).done == 0  # a failure counts as stored...
        again = run_batch(plan, store, retry_failed=True)  # ...until asked to retry it
        res = store.frame("results", plan.batch_id)
    assert (again.done, again.skipped, again.failed) == (1, 5, 0)
    assert set(res["status"]) == {"optimal"}


def test_an_invalid_combination_stops_the_batch_with_its_labels(tmp_path: Path, in_process):
    spec = {"grid": {"areas.space.floor": ["1bn", "2.5bn"], "areas.space.ceiling": ["3bn", "2bn"]}}
    plan = load_sweep(write_sweep(tmp_path, spec))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        with pytest.raises(ScenarioError, match=r"areas\.space\.floor=2\.5bn.*above the ceiling"):
            run_batch(plan, store, chunk_size=1)
        assert set(store.frame("results", plan.batch_id)["status"]) <= {"optimal"}


def test_a_stored_scenario_whose_content_no_longer_matches_is_solved_again(
    tmp_path: Path, in_process
):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        run_batch(plan, store, limit=1)
        stale = Outcome("0" * 64, "optimal", objective=1.0)
        store.record(plan.batch_id, 1, {}, "{}", stale)  # position 1, another content
        tally = run_batch(plan, store)
        ids = set(store.frame("results", plan.batch_id)["scenario_id"])
    assert (tally.skipped, tally.done) == (1, 5)
    assert {i.scenario_id for i in plan.scenarios()} <= ids


def test_ctrl_c_during_a_store_write_lets_the_chunk_be_stored_and_stops(
    tmp_path, in_process, request
):
    # A write cut short by Ctrl-C left SQLite's lock taken: storing what still finished
    # then waited a minute (the busy timeout) and failed, and the scenario was lost.
    plan = load_sweep(write_sweep(tmp_path, GRID))
    writes = []
    # Started in the background, a shell's jobs (and so this test process) ignore SIGINT:
    # give the test Python's own Ctrl-C, as a user's terminal does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    def ctrl_c_on_the_second_result(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO results"):
            writes.append(statement)
            if len(writes) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # inside the second scenario's transaction

    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        sa.event.listen(store.engine, "before_cursor_execute", ctrl_c_on_the_second_result)
        tally = run_batch(plan, store, chunk_size=3)
        sa.event.remove(store.engine, "before_cursor_execute", ctrl_c_on_the_second_result)
        positions = sorted(store.frame("results", plan.batch_id)["position"])
        assert tally.interrupted
        assert positions[:3] == [0, 1, 2]  # the whole chunk, the scenario written included
        assert tally.done == len(positions) == len(writes)
        again = run_batch(plan, store)
        assert (again.skipped, again.done) == (len(positions), 6 - len(positions))


def test_local_workers_send_back_a_short_path_and_the_replies_go_by_file(tmp_path: Path):
    # A worker killed halfway through writing a long answer to the pool's pipe would leave
    # CPython's pool waiting for the rest forever; a pickled path fits in one atomic write.
    plan = load_sweep(write_sweep(tmp_path, GRID))
    worker.keep_plan(plan)
    points = list(plan.points())
    spool = tmp_path / "spool"
    spool.mkdir()
    path = worker.solve_points_to_file(str(spool), plan.batch_id, points, SolverSettings())
    assert len(pickle.dumps(path)) < select.PIPE_BUF
    with open(path, "rb") as stream:
        replies = pickle.load(stream)
    direct = worker.solve_points(plan.batch_id, points, SolverSettings())
    assert [(r.position, r.content, r.outcome.objective) for r in replies] == [
        (r.position, r.content, r.outcome.objective) for r in direct
    ]
    assert [p.name for p in spool.iterdir()] == [Path(path).name]  # no partial file left


def test_solve_one_turns_an_exception_into_an_error_outcome(tiny):
    broken = tiny.model_copy(update={"areas": None})
    out = solve_one("z" * 64, broken, SolverSettings())
    assert out.status == "error"
    assert out.failed
    assert "TypeError" in out.error


@pytest.mark.parametrize("edits", [[], ["areas.cyber.floor=12bn"], ["members.DEU.pledge=0"]])
def test_an_optimal_outcome_stores_exactly_the_tables_of_the_full_result(edits: list[str]):
    from engine.files.scenario_files import load_scenario
    from engine.scenario.edits import apply_edits
    from engine.solving.resolver import Resolver

    scenario = apply_edits(load_scenario(ASPF), edits)  # a MIP: go/no-go projects
    resolver = Resolver()
    for each in (scenario, scenario):  # cold, then warm on the same resolver
        solved = resolver.solve_arrays(each)
        assert solved.plan.status.value == "optimal"
        lean = worker.optimal_details(solved)
        full = worker.result_details(solved.result())
        assert lean == full
        assert len(lean["constraints"]["name"]) > 0
        out = solve_one("a" * 64, each, SolverSettings())
        result = solved.result()
        assert (out.objective, out.total_allocated) == (
            result.objective,
            result.summary["total_allocated"],
        )


def test_a_scenario_at_its_time_limit_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    plan = load_sweep(write_sweep(tmp_path, {**GRID, "solver": {"time_limit": 1e-9}}))
    monkeypatch.setattr(pools, "make_pool", one_thread)
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store)
        res = store.frame("results", plan.batch_id)
    assert (tally.done, tally.failed, tally.no_plan) == (6, 0, 6)
    assert set(res["status"]) == {"no_solution"}
    assert res["message"].str.contains("without a plan").all()


def _hang_on(scenario_id: str) -> None:
    """Make this worker process hang (in Python, outside any solver) on one scenario."""
    real = worker.solve_one

    def hanging(sid, scenario, settings):
        if sid == scenario_id:
            time.sleep(3600)
        return real(sid, scenario, settings)

    worker.solve_one = hanging


def _start_hanging_worker(plan, starts) -> None:
    worker.start_worker(plan, starts)
    _hang_on(os.environ["BATCH_TEST_HANGS"])


class _HangingPool(pools.LocalPool):
    """The real process pool, whose workers hang on the scenario BATCH_TEST_HANGS names."""

    initializer = staticmethod(_start_hanging_worker)


@pytest.mark.slow
def test_a_scenario_over_the_timeout_is_recorded_and_its_worker_replaced(
    tmp_path: Path, monkeypatch
):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    hung = list(plan.scenarios())[1]
    monkeypatch.setenv("BATCH_TEST_HANGS", hung.scenario_id)  # spawned workers inherit it
    monkeypatch.setattr(
        pools, "make_pool", lambda workers, scheduler, plan, timeout: _HangingPool(2, plan, timeout)
    )
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store, timeout=5, chunk_size=2)
        res = store.frame("results", plan.batch_id).set_index("scenario_id")
    assert (tally.done, tally.timed_out, tally.failed) == (6, 1, 1)
    assert res.loc[hung.scenario_id, "status"] == "timed_out"
    assert res.loc[hung.scenario_id, "wall_seconds"] == 5
    assert "within 5 s" in res.loc[hung.scenario_id, "error"]
    assert (res.drop(index=hung.scenario_id)["status"] == "optimal").all()

    monkeypatch.setattr(pools, "make_pool", one_thread)  # what the store keeps: no hangs
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        assert run_batch(plan, store).done == 0  # a timeout counts as stored...
        again = run_batch(plan, store, retry_failed=True)  # ...until retried
        assert store.frame("results", plan.batch_id)["status"].eq("optimal").all()
    assert (again.done, again.skipped) == (1, 5)


def _install_hang(scenario_id: str) -> None:
    _hang_on(scenario_id)


@pytest.mark.slow
def test_a_scenario_over_the_timeout_on_dask_is_recorded_and_the_batch_goes_on(tmp_path: Path):
    distributed = pytest.importorskip("distributed")
    plan = load_sweep(write_sweep(tmp_path, GRID))
    hung = list(plan.scenarios())[4]
    with (
        RunStore(store_url(str(tmp_path / "runs"))) as store,
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
    ):
        with distributed.Client(cluster) as client:
            client.run(_install_hang, hung.scenario_id)
        tally = run_batch(plan, store, scheduler=cluster.scheduler_address, timeout=5)
        res = store.frame("results", plan.batch_id).set_index("scenario_id")
    assert (tally.done, tally.timed_out) == (6, 1)
    assert res.loc[hung.scenario_id, "status"] == "timed_out"
    assert (res.drop(index=hung.scenario_id)["status"] == "optimal").all()


def test_an_infeasible_scenario_is_stored_with_its_diagnosis(tmp_path: Path, in_process):
    spec = {"grid": {"areas.cyber.floor": ["4bn", "30bn"]}}
    plan = load_sweep(write_sweep(tmp_path, spec))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store)
        assert (tally.done, tally.no_plan, tally.failed) == (2, 1, 0)
        diag = store.frame("diagnoses", plan.batch_id)
        floors = floor_met(store, plan.batch_id).set_index("area")
        quantiles = funding_quantiles(store, plan.batch_id)
    assert diag["name"].str.startswith("floor[cyber").any()
    assert floors.loc["cyber", "probability"] == 0.5
    assert set(quantiles["scenarios"]) == {1}  # the infeasible scenario has no funding


def test_a_scenario_without_a_plan_meets_no_floor(tmp_path: Path, in_process):
    # Infeasible for a rule that is not the cyber floor: the diagnosis relaxes something
    # else, and without a plan no floor is met.
    base = tiny_scenario()
    base["policies"] = [{"id": "space_min", "label": "Space", "areas": ["space"],
                         "at_least": "5bn"}]  # fmt: skip
    plan = load_sweep(
        write_sweep(tmp_path, {"grid": {"areas.space.ceiling": ["3bn", "2bn"]}}, base)
    )
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store)
        floors = floor_met(store, plan.batch_id).set_index("area")
    assert tally.no_plan == 2
    assert floors.loc["cyber", "scenarios"] == 2
    assert floors.loc["cyber", "probability"] == 0.0


def test_n_minus_1_names_the_areas_that_lose_funding_and_the_members_no_plan_survives(
    tmp_path: Path, in_process
):
    # France alone (4bn in 2027) cannot pay a 5bn cyber floor: without Germany, no plan.
    spec = {"set": ["areas.cyber.floor=5bn"], "n_minus_1": True}
    plan = load_sweep(write_sweep(tmp_path, spec))
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        run_batch(plan, store)
        losses = n_minus_1(store, plan.batch_id)
        stuck = n_minus_1_no_plan(store, plan.batch_id)
    assert set(losses["leaves"]) == {"FRA"}
    assert (losses["change"] < 0).all()
    assert losses["change"].sum() == pytest.approx(-10e9, rel=1e-6)  # France's 6bn + 4bn
    assert stuck.to_dict("records") == [
        {"leaves": "DEU", "scenarios": 1, "no_plan": 1, "statuses": "infeasible"}
    ]


def utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps in UTC: SQLite gives them back without their zone, PostgreSQL with it."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = pd.to_datetime(out[column], utc=True)
    return out


def test_a_migrated_version_1_store_exports_the_same_tables_and_resumes(
    tmp_path: Path,
    backend_url: str,  # noqa: F811
    in_process,
):
    spec = {**GRID, "grid": {"areas.cyber.floor": ["2bn", "30bn"]}}  # 30bn: infeasible
    plan = load_sweep(write_sweep(tmp_path, spec))
    with RunStore(store_url(str(tmp_path / "v2"))) as store:
        run_batch(plan, store, limit=4)
        export(store, plan.batch_id, tmp_path / "before", "parquet")
        write_v1(backend_url, v1_rows(store))
    with RunStore(store_url(backend_url)) as store:
        assert store.migrated_from == 1
        export(store, plan.batch_id, tmp_path / "after", "parquet")
        tally = run_batch(plan, store)
        ids = set(store.frame("results", plan.batch_id)["scenario_id"])
    files = sorted(p.name for p in (tmp_path / "before").iterdir())
    assert {"results.parquet", "allocations.parquet", "diagnoses.parquet"} <= set(files)
    assert files == sorted(p.name for p in (tmp_path / "after").iterdir())
    for name in files:
        pd.testing.assert_frame_equal(
            utc(pd.read_parquet(tmp_path / "after" / name)),
            utc(pd.read_parquet(tmp_path / "before" / name)),
            obj=name,
        )
    assert (tally.skipped, tally.done) == (4, 2)  # the hashes kept: nothing solved twice
    assert ids == {item.scenario_id for item in plan.scenarios()}


_DIE_AFTER = """
import os, signal, sys
import sqlalchemy as sa
from engine.batch.store import open_store
url, prefix = sys.argv[1:]
original = sa.Connection.exec_driver_sql
def dying(self, statement, *args, **kwargs):
    out = original(self, statement, *args, **kwargs)
    if statement.startswith(prefix):
        os.kill(os.getpid(), signal.SIGKILL)
    return out
sa.Connection.exec_driver_sql = dying
open_store(url, writer=True)
"""


def _v1_snapshot(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = sa.create_engine(store_url(url))
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("select version from schema_version")).scalar()
            tables = {"schema_version": [(str(version),)]}
            for name in ["batches", "scenarios", "results", *DETAIL_TABLES]:
                frame = pd.read_sql(sa.text(f"select * from {name}"), conn)
                tables[name] = sorted(map(tuple, frame.astype(str).to_numpy().tolist()))
    finally:
        engine.dispose()
    return tables


@pytest.mark.parametrize(
    "prefix", ["ALTER TABLE results", "INSERT INTO allocations", "DROP TABLE batches_v1"]
)
def test_a_migration_killed_midway_leaves_version_1_whole_and_the_next_one_completes(
    tmp_path: Path,
    backend_url: str,  # noqa: F811
    prefix: str,
    in_process,
):
    plan = load_sweep(write_sweep(tmp_path, GRID))
    with RunStore(store_url(str(tmp_path / "v2"))) as store:
        run_batch(plan, store, limit=4)
        export(store, plan.batch_id, tmp_path / "before", "parquet")
        write_v1(backend_url, v1_rows(store))
    before = _v1_snapshot(backend_url)
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_AFTER, backend_url, prefix],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _v1_snapshot(backend_url) == before
    with RunStore(store_url(backend_url)) as store:
        assert store.migrated_from == 1
        export(store, plan.batch_id, tmp_path / "after", "parquet")
        tally = run_batch(plan, store)
    for path in sorted((tmp_path / "before").iterdir()):
        pd.testing.assert_frame_equal(
            utc(pd.read_parquet(tmp_path / "after" / path.name)), utc(pd.read_parquet(path))
        )
    assert (tally.skipped, tally.done) == (4, 2)


# --------------------------------------------------------------------------- crash safety


def _own_session_with_default_ctrl_c() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored:
    # give the batch the terminal's default, as when a user presses Ctrl-C.
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "optimise.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_own_session_with_default_ctrl_c,
    )


def wait_for_results(url: str, at_least: int, proc: subprocess.Popen) -> int:
    engine = sa.create_engine(store_url(url))
    try:
        while proc.poll() is None:
            try:
                with engine.connect() as conn:
                    n = conn.execute(sa.text("select count(*) from results")).scalar()
                if n >= at_least:
                    return n
            except sa.exc.SQLAlchemyError:
                pass  # tables not created yet
            time.sleep(0.05)
    finally:
        engine.dispose()
    pytest.fail(f"the batch ended before {at_least} results: {proc.communicate()}")


def aspf_draws(tmp_path: Path, n: int) -> Path:
    """Pledge draws on the default scenario's LP (its go/no-go sections, a MIP, left out so
    that a run takes a few seconds)."""
    full = yaml.safe_load(ASPF.read_text(encoding="utf-8"))
    base = {k: full[k] for k in ("fund", "members", "areas", "policies", "objective")}
    spec = {
        "draws": {"n": n, "seed": 11, "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.1}}}
    }
    return write_sweep(tmp_path, spec, base)


def check_exact(url: str, sweep: Path, sample: int = 4) -> None:
    """Every scenario stored once, whole, and equal to a fresh solve (a sample of them)."""
    plan = load_sweep(sweep)
    with RunStore(store_url(url)) as store:
        res = store.frame("results", plan.batch_id)
        funding = store.frame("area_funding", plan.batch_id)
        contents = store.contents(plan.batch_id, res["scenario_id"])
    items = list(plan.scenarios())
    assert sorted(res["scenario_id"]) == sorted(i.scenario_id for i in items)
    assert (res["status"] == "optimal").all()
    per = funding.groupby("scenario_id").size()
    assert set(per) == {14 * 5}
    assert len(per) == len(items)
    for item in items[:: max(1, len(items) // sample)]:
        row = res[res["scenario_id"] == item.scenario_id].iloc[0]
        assert row["objective"] == pytest.approx(solve(item.scenario).objective, rel=1e-9)
        assert validate_scenario(contents[item.scenario_id]) == item.scenario


def test_resume_after_sigkill_of_the_driver_is_exact(tmp_path: Path, backend_url: str):  # noqa: F811
    # 24 draws: chunks of 3 on one worker, so the kill comes with most of them unsolved.
    sweep = aspf_draws(tmp_path, 24)
    proc = cli("batch", str(sweep), "--store", backend_url, "--workers", "1")
    partial = wait_for_results(backend_url, 10, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # driver and workers die at once, as with a power cut
    proc.wait()
    assert 10 <= partial < 24
    again = cli("batch", str(sweep), "--store", backend_url, "--workers", "2")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "24 of 24 stored" in out
    check_exact(backend_url, sweep)


def test_a_killed_worker_is_replaced_and_the_batch_completes(tmp_path: Path):
    sweep = aspf_draws(tmp_path, 16)  # chunks of 2: the kill leaves most unsolved
    url = str(tmp_path / "runs")
    proc = cli("batch", str(sweep), "--store", url, "--workers", "1")
    wait_for_results(url, 5, proc)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(c) for c in children if "spawn_main" in _cmdline(int(c))]
    assert workers, children
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "16 of 16 stored" in out
    check_exact(url, sweep, sample=2)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_next_run_completes(tmp_path: Path):
    # 24 draws: chunks of 3 on one worker, so Ctrl-C comes with most of them unsolved.
    sweep = aspf_draws(tmp_path, 24)
    url = str(tmp_path / "runs")
    proc = cli("batch", str(sweep), "--store", url, "--workers", "1")
    wait_for_results(url, 5, proc)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in out
    assert "Traceback" not in err
    with RunStore(store_url(url)) as store:
        batch = store.batches().iloc[0]
        assert 5 <= batch["stored"] < 24
    again = cli("batch", str(sweep), "--store", url, "--workers", "1")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    check_exact(url, sweep, sample=2)


def test_batch_cli_summary_json_and_exports(tmp_path: Path):
    sweep = write_sweep(tmp_path, GRID)
    url = str(tmp_path / "runs")
    batch = ["batch", str(sweep), "--store", url, "--timeout", "600", "--workers", "1"]
    done = subprocess.run(
        [sys.executable, "optimise.py", *batch], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # The commands that read the store, through the real entry point in one process.
    export_to = [["--out", str(tmp_path / "x.xlsx"), "--format", "xlsx"],
                 ["--out", str(tmp_path / "csv"), "--format", "csv"]]  # fmt: skip
    shown, listed, *exported = run_many(
        [
            ("optimise.py", ["runs", "show", "t", "--store", url, "--json"]),
            ("optimise.py", ["runs", "list", "--store", url]),
            *(("optimise.py", ["runs", "export", "t", "--store", url, *to]) for to in export_to),
        ]
    )
    assert shown.returncode == 0, shown.stderr
    payload = json.loads(shown.stdout)
    assert payload["statuses"] == {"optimal": 6}
    assert listed.returncode == 0, listed.stderr
    assert payload["batch_id"][:12] in listed.stdout
    assert {r["area"] for r in payload["funding_quantiles"]} == {"cyber", "space", "ai"}
    for run in exported:
        assert run.returncode == 0, run.stderr
    with RunStore(store_url(url)) as store:
        export(store, store.find_batch("t")["batch_id"], tmp_path / "parquet", "parquet")
    assert len(pd.read_parquet(tmp_path / "parquet" / "results.parquet")) == 6
    assert len(pd.read_csv(tmp_path / "csv" / "allocations.csv")) > 6
    sheets = pd.read_excel(tmp_path / "x.xlsx", sheet_name=None)
    assert {"results", "area_funding", "funding_quantiles", "floor_met"} <= set(sheets)


def test_batch_cli_refuses_a_bad_sweep_with_exit_2(tmp_path: Path):
    sweep = write_sweep(tmp_path, {"grid": {"areas.cyber.flor": ["1bn"]}})
    run = subprocess.run(
        [sys.executable, "optimise.py", "batch", str(sweep), "--store", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "sweep.yaml" in run.stderr
    assert "areas.cyber.flor" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_summary_counts_scenarios_with_identical_content_as_stored_once(tmp_path: Path):
    sweep = write_sweep(tmp_path, {"grid": {"areas.cyber.floor": ["2bn", "2bn", "2bn"]}})
    store = str(tmp_path / "runs")
    first, again, listed = run_many(
        [
            ("optimise.py", ["batch", str(sweep), "--store", store, "--workers", "1"]),
            ("optimise.py", ["batch", str(sweep), "--store", store, "--workers", "1"]),
            ("optimise.py", ["runs", "list", "--store", store]),
        ]
    )
    assert first.returncode == again.returncode == listed.returncode == 0, first.stderr
    repeat = (
        "3 of 3 scenarios, 1 distinct (2 repeat another scenario's content and are stored once)"
    )
    flat = " ".join(first.stdout.split())
    assert f"{repeat}: 1 stored now, 0 before;" in flat
    assert "3 of 3 stored" not in flat
    assert f"{repeat}: 0 stored now, 1 before;" in " ".join(again.stdout.split())
    cells = next(line for line in listed.stdout.splitlines() if " t " in line).split("│")
    assert [c.strip() for c in cells[4:6]] == ["3", "1"]  # scenarios, stored
