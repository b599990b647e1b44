"""Batch throughput: the engine's batch runs against a raw highspy loop, in one run.

    python -m benchmarks.bench_batch [--default-n 1000] [--medium-n 200] [--no-dask] [--repeats 3]

Two sweeps, each varying members' pledges (seeded lognormal factors, sigma 0.1) and one
area's floor (a grid of values), so every scenario has the LP structure of its base:
- default: the shipped scenario (aspf-2026, 32 members x 14 areas x 5 years) as an LP: its
  go/no-go sections (projects, exclusions, industrial return, burden sharing) left out, as
  they make every scenario a MIP with a different search (``--default-mip N`` times N
  scenarios of the full default scenario through the engine alone, for information);
- medium: ``benchmarks.generate.generate(31, 40, 10, seed=1)``.

Timed, per sweep:
- raw highspy, value LP: one ``Highs`` object; for each scenario the changed row bounds
  pushed with ``changeRowsBounds`` and ``run()`` from the previous basis (models are built
  outside the timer): the floor for this work;
- raw highspy, both stages: the same plus the engine's second (tie-break) LP on the optimal
  face, also kept in one ``Highs`` object and changed in place (column and row bounds);
- engine batch with 1 and 2 local worker processes, and on a Dask LocalCluster of 2
  workers: ``run_batch`` into a fresh SQLite store (workers build, hash and warm re-solve
  each scenario and send back its result columns; the driver stores each in one
  transaction). Rates are given over the whole run (including process start-up) and in
  steady state (first to last stored result).
CPU: seconds per scenario of the driver and of the workers (their start-up included), and
of the raw loops; robust to other jobs on the machine, unlike the rates.
Memory: resident set size of the worker processes after 10% and after 100% of the batch.
Each run is repeated (``--repeats``, rounds interleaving all runs) and the median shown.
Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psutil

from benchmarks.generate import generate
from datasets import DEFAULT_SCENARIO
from engine import scenario_from_data
from engine.batch.driver import Tally, run_batch
from engine.batch.store import RunStore, store_url
from engine.batch.sweep import BatchPlan
from engine.batch.sweep_schema import parse_sweep
from engine.files.scenario_files import read_scenario_data
from engine.formulation.build import build_model
from engine.scenario.fields import money_text
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions, highs_lp, highs_solution, new_highs
from engine.solving.tiebreak import pro_rata_reference, tie_break_model

#: Sections of a scenario that make an LP (the rest are go/no-go decisions: a MIP).
LP_SECTIONS = ("fund", "members", "areas", "policies", "objective")


def sweep_plan(name: str, scenario: Scenario, n: int) -> BatchPlan:
    """``n`` scenarios: four values of the first floored area's floor x n/4 pledge draws."""
    area = next(a for a in scenario.areas if a.floor is not None and a.floor.amount)
    unit = scenario.fund.unit
    floors = [money_text(area.floor.amount * f, unit) for f in (0.9, 1.0, 1.1, 1.2)]
    spec = {
        "name": name,
        "base": name,
        "grid": {f"areas.{area.id}.floor": floors},
        "draws": {
            "n": max(1, n // 4),
            "seed": 1,
            "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.1}},
        },
    }
    # The base as a file gives it (amounts with their unit), as a sweep file's base is read.
    return BatchPlan(parse_sweep(spec, f"{name} (benchmark)"), scenario.to_input(), name)


def _changed(base: np.ndarray, new: np.ndarray) -> np.ndarray:
    return np.flatnonzero(base != new).astype(np.int32)


def raw_loop(scenarios: list[Scenario], two_stage: bool) -> tuple[float, float]:
    """Wall and CPU seconds for in-place changes and warm runs of highspy over the
    scenarios (each scenario's models are built outside the timer)."""
    first = build_model(scenarios[0])
    value = new_highs(SolverOptions())
    value.passModel(highs_lp(first))
    lo0, hi0 = np.asarray(first.row_lo), np.asarray(first.row_hi)
    tie = None
    tie_bounds: tuple[np.ndarray, ...] = ()
    seconds = cpu = 0.0
    for scenario in scenarios:
        model = build_model(scenario)
        lo, hi = np.asarray(model.row_lo), np.asarray(model.row_hi)
        rows = np.union1d(_changed(lo0, lo), _changed(hi0, hi)).astype(np.int32)
        start, started = time.perf_counter(), time.process_time()
        value.changeRowsBounds(len(rows), rows, lo[rows], hi[rows])
        value.run()
        solution = highs_solution(value, 0.0) if two_stage else None
        seconds += time.perf_counter() - start
        cpu += time.process_time() - started
        lo0, hi0 = lo, hi
        if solution is None:
            continue
        # The engine's second stage: the optimal face (bounds fixed by complementary
        # slackness) and the deviations from pro rata; only bounds differ between scenarios.
        tb = tie_break_model(model, solution, pro_rata_reference(model))
        bounds = tuple(
            np.asarray(b, dtype=float) for b in (tb.col_lb, tb.col_ub, tb.row_lo, tb.row_hi)
        )
        start, started = time.perf_counter(), time.process_time()
        if tie is None:
            tie = new_highs(SolverOptions())
            tie.passModel(highs_lp(tb))
        else:
            clb, cub, rlo, rhi = bounds
            cols = np.union1d(_changed(tie_bounds[0], clb), _changed(tie_bounds[1], cub))
            cols = cols.astype(np.int32)
            tie.changeColsBounds(len(cols), cols, clb[cols], cub[cols])
            trows = np.union1d(_changed(tie_bounds[2], rlo), _changed(tie_bounds[3], rhi))
            trows = trows.astype(np.int32)
            tie.changeRowsBounds(len(trows), trows, rlo[trows], rhi[trows])
        tie.run()
        seconds += time.perf_counter() - start
        cpu += time.process_time() - started
        tie_bounds = bounds
    return seconds, cpu


def _raw_passes(scenarios: list[Scenario], passes: int) -> list[float]:
    return [raw_loop(scenarios, two_stage=True)[0] for _ in range(passes)]


def raw_in_parallel(scenarios: list[Scenario], processes: int, passes: int = 3) -> float:
    """Scenarios per second of ``processes`` raw both-stage loops running at once (each
    over all the scenarios, ``passes`` times; its middle pass, when the others run too):
    how far this machine itself scales this work, with no driver and no store."""
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [pool.submit(_raw_passes, scenarios, passes) for _ in range(processes)]
        seconds = [sorted(f.result())[passes // 2] for f in futures]
    return sum(len(scenarios) / s for s in seconds)


@dataclass
class Run:
    label: str
    seconds: float
    steady_rate: float
    warm: int
    rss_early_mb: float
    rss_late_mb: float
    driver_cpu: float
    workers_cpu: float


class _Memory:
    """Samples the workers' (children of this process) resident memory as the batch goes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.early: float | None = None
        self.late = 0.0
        self._lock = threading.Lock()

    def __call__(self, tally: Tally) -> None:
        rss = 0.0
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):  # ended between listing and sampling
                rss += child.memory_info().rss / 2**20
        with self._lock:
            if self.early is None and tally.done >= max(1, self.total // 10):
                self.early = rss
            if tally.done < self.total:
                self.late = rss


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (workers), once they have ended."""
    workers = []
    for child in psutil.Process().children():
        try:
            if "resource_tracker" in " ".join(child.cmdline()):
                continue
        except psutil.ZombieProcess:
            pass  # an ended worker, not reaped yet: reaped below, so its CPU is counted
        except psutil.Error:
            continue  # gone (and reaped) already
        workers.append(child)
    psutil.wait_procs(workers, timeout=60)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def engine_run(label: str, plan: BatchPlan, limit: int | None = None, **how: object) -> Run:
    size = limit or plan.size
    memory = _Memory(size)
    children = _children_cpu()
    with (
        tempfile.TemporaryDirectory(prefix="bench-batch-") as folder,
        RunStore(store_url(os.path.join(folder, "runs.sqlite"))) as store,
    ):
        start, cpu = time.perf_counter(), time.process_time()
        tally = run_batch(plan, store, on_progress=memory, limit=limit, **how)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        res = store.frame("results", plan.batch_id)
    children = _children_cpu() - children
    if tally.done != size or tally.failed:
        raise RuntimeError(f"{label}: not every scenario solved ({tally})")
    finished = pd.to_datetime(res["finished_at"]).sort_values()
    span = (finished.iloc[-1] - finished.iloc[0]).total_seconds()
    steady = (len(finished) - 1) / span if span > 0 else float("nan")
    return Run(
        label,
        seconds,
        steady,
        tally.warm,
        memory.early or 0.0,
        memory.late,
        cpu / size,
        children / size,
    )


def _median_run(runs: list[Run]) -> Run:
    """The run with the median steady rate (all its columns come from one run)."""
    return sorted(runs, key=lambda r: r.steady_rate)[len(runs) // 2]


def bench(name: str, base: Scenario, n: int, dask: bool, repeats: int) -> list[str]:
    plan = sweep_plan(name, base, n)
    scenarios = [p.scenario for p in plan.scenarios()]
    n = len(scenarios)
    # Rounds interleave the four runs, so a slow spell of the (shared) machine hits all.
    raws1, raws2, ones, twos = [], [], [], []
    for _ in range(repeats):
        raws1.append(raw_loop(scenarios, two_stage=False))
        raws2.append(raw_loop(scenarios, two_stage=True))
        ones.append(engine_run("engine, 1 worker", plan, workers=1))
        twos.append(engine_run("engine, 2 workers", plan, workers=2))
    parallel = raw_in_parallel(scenarios, 2)
    # A worker's start-up (spawn, imports, first build) is in its CPU: measured on its own.
    start_up = engine_run("start-up", plan, limit=1, workers=1).workers_cpu
    raw1, raw1_cpu = sorted(raws1)[repeats // 2]
    raw2, raw2_cpu = sorted(raws2)[repeats // 2]
    runs = [_median_run(ones), _median_run(twos)]
    if dask:
        runs.append(engine_run("engine, Dask LocalCluster 2 workers", plan, scheduler="local:2"))
    lines = [
        f"### {name}: {n} scenarios",
        "",
        "| run | scenarios/s (whole run) | scenarios/s (steady) | warm | CPU ms/scenario: "
        "driver + workers | worker RSS 10% -> 100% |",
        "|---|---:|---:|---:|---:|---|",
        f"| raw highspy loop, value LP only | {n / raw1:.1f} | {n / raw1:.1f} | all | "
        f"{raw1_cpu / n * 1e3:.1f} | - |",
        f"| raw highspy loop, both stages | {n / raw2:.1f} | {n / raw2:.1f} | all | "
        f"{raw2_cpu / n * 1e3:.1f} | - |",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {n / r.seconds:.1f} | {r.steady_rate:.1f} | {r.warm} | "
            f"{r.driver_cpu * 1e3:.1f} + {r.workers_cpu * 1e3:.1f} | "
            f"{r.rss_early_mb:.0f} MB -> {r.rss_late_mb:.0f} MB |"
        )
    one, two = runs[0], runs[1]
    steady_cpu = max(one.workers_cpu - start_up / n, 0.0)
    lines += [
        "",
        f"- raw both stages / engine 1 worker (steady): {(n / raw2) / one.steady_rate:.2f}x "
        f"(value LP only: {(n / raw1) / one.steady_rate:.2f}x; goal <= 1.5x)",
        f"- CPU per scenario, engine 1 worker / raw both stages: workers "
        f"{one.workers_cpu / (raw2_cpu / n):.2f}x, driver + workers "
        f"{(one.driver_cpu + one.workers_cpu) / (raw2_cpu / n):.2f}x",
        f"- speed-up 1 -> 2 workers: whole run {one.seconds / two.seconds:.2f}x, steady "
        f"{two.steady_rate / one.steady_rate:.2f}x (goal ~2x); two raw both-stage loops "
        f"at once (no driver, no store): {parallel:.1f}/s, {parallel / (n / raw2):.2f}x one",
        f"- the two workers and the driver share {os.cpu_count()} cores: at the 1-worker "
        f"run's CPU per scenario without start-up (driver {one.driver_cpu * 1e3:.1f} ms + "
        f"worker {steady_cpu * 1e3:.1f} ms; a worker's start-up: {start_up:.2f} s) they "
        f"allow at most {os.cpu_count() / (one.driver_cpu + steady_cpu):.0f}/s, "
        f"{os.cpu_count() / (one.driver_cpu + steady_cpu) / one.steady_rate:.2f}x the "
        "1-worker rate",
        f"- steady scenarios/s over {repeats} rounds: 1 worker "
        f"{', '.join(f'{r.steady_rate:.1f}' for r in ones)}; 2 workers "
        f"{', '.join(f'{r.steady_rate:.1f}' for r in twos)} (the median run is shown); raw "
        f"both stages {', '.join(f'{n / s:.1f}' for s, _ in raws2)}",
    ]
    if dask:
        d = runs[2]
        lines.append(
            f"- Dask LocalCluster vs process pool, 2 workers: whole run "
            f"{d.seconds / two.seconds:.2f}x the time, "
            f"steady {two.steady_rate / d.steady_rate:.2f}x"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-n", type=int, default=1000)
    parser.add_argument("--medium-n", type=int, default=200)
    parser.add_argument("--default-mip", type=int, default=0)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every run (median)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
    full = read_scenario_data(DEFAULT_SCENARIO)
    if args.default_mip:
        plan = sweep_plan("default-mip", scenario_from_data(full), args.default_mip)
        for label, how in (("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})):
            run = engine_run(label, plan, **how)
            print(
                f"default with go/no-go sections (MIP), {plan.size} scenarios, engine {label}: "
                f"{plan.size / run.seconds:.2f}/s whole run, {run.steady_rate:.2f}/s steady"
            )
        print()
    lp = scenario_from_data({k: v for k, v in full.items() if k in LP_SECTIONS})
    sweeps = [
        ("default", lp, args.default_n),
        ("medium", validate_scenario(generate(31, 40, 10, seed=1)), args.medium_n),  # in code
    ]
    for name, base, n in sweeps:
        if n > 0:  # 0 leaves a sweep out
            for line in bench(name, base, n, not args.no_dask, args.repeats):
                print(line, flush=True)
            print()


if __name__ == "__main__":
    main()
