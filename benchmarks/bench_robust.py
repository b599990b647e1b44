"""The two-stage extensive form through the engine against the same form by raw highspy,
and the decomposition (Benders, multi-cut by group) on local processes or a Dask cluster.

    python -m benchmarks.bench_robust [--scenario aspf-2026] [--futures 200] [--seed 0]
        [--methods engine raw benders] [--scheduler local:2|ADDRESS] [--groups 50]

On the same in-sample futures (the forecast's joint paths, trend path, seeded):

- engine: ``engine.solve_stochastic`` end to end: each future's PlanModel (built once,
  then bounds patched), the reduced block-diagonal stack (``engine.planning.layout``:
  members pooled in the recourse, determined first-year columns shared, rows over shared
  columns kept once, first-year carries eliminated) with shared first-stage columns and
  soft-floor shortfall columns (``engine.planning.extensive``), one HiGHS MIP in process,
  then each future's solution recovered over its own model's columns;
- raw highspy: the same reduced arrays the engine solves (``build_extensive(...,
  reduce=True)``) put into a ``Highs`` object by its own API (``addCols``, ``addRows``),
  then ``run()``;
- raw highspy, unreduced: the extensive form stacked as it is, every future's model row
  for row, built by highspy's API (``addCols`` for the shared columns, then per future
  ``addCols`` for its recourse and shortfall columns and one ``addRows`` with its rows
  remapped), from each future's model arrays, then ``run()``: what the reduction gains.

- benders: ``engine.planning.decompose.solve_benders`` on ``--scheduler`` (none: in
  process), with its per-round trace: bounds, cuts, futures re-solved, the driver's and
  the workers' peak resident memory (flat in the futures processed when it does not grow
  from the first rounds to the last).

Prints wall and CPU seconds of building and solving (the workers' CPU for benders), the
ratios engine / raw, and checks that all reach the same optimum and the same first stage.
Not a test: numbers depend on the machine and its other load (CPU seconds are the fairer
comparison on a shared host).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from datasets import scenario_path
from engine import FloorRule, Risk, draw_futures, load_with_edits, solve_stochastic
from engine.planning.decompose import DEFAULT_GROUPS, Decomposed, solve_benders
from engine.planning.extensive import (
    Extensive,
    build_extensive,
    first_stage,
    future_models,
    objective_vector,
)
from engine.planning.rules import DEFAULT_PENALTY


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def raw_extensive(models, penalty: float = DEFAULT_PENALTY):
    """The extensive form in a Highs object through highspy's own API; returns it and
    the number of shared columns."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-6)
    base = models[0]
    n, p = base.n_cols, 1.0 / len(models)
    first = first_stage(base)
    recourse = np.setdiff1d(np.arange(n), first)
    floors = np.array([i for i, r in enumerate(base.rows) if r.kind == "floor"], dtype=np.int64)
    costs = [objective_vector(m) for m in models]
    shared_cost = p * np.sum([c[first] for c in costs], axis=0)
    lb = np.max([m.col_lb[first] for m in models], axis=0)
    ub = np.min([m.col_ub[first] for m in models], axis=0)
    h.addCols(
        len(first),
        shared_cost,
        lb,
        ub,
        0,
        np.array([], np.int32),
        np.array([], np.int32),
        np.array([], float),
    )
    for m, cost in zip(models, costs, strict=True):
        offset = h.getNumCol()
        where = np.empty(n, dtype=np.int64)
        where[first] = np.arange(len(first))
        where[recourse] = offset + np.arange(len(recourse))
        h.addCols(
            len(recourse),
            p * cost[recourse],
            m.col_lb[recourse],
            m.col_ub[recourse],
            0,
            np.array([], np.int32),
            np.array([], np.int32),
            np.array([], float),
        )
        short = h.getNumCol() + np.arange(len(floors))
        h.addCols(
            len(floors),
            np.full(len(floors), -p * penalty),
            np.zeros(len(floors)),
            np.full(len(floors), highspy.kHighsInf),
            0,
            np.array([], np.int32),
            np.array([], np.int32),
            np.array([], float),
        )
        # Each floor row gets its shortfall column: rebuild the CSR with one more entry.
        cols, vals, starts = [], [], [0]
        extra = dict(zip(floors.tolist(), short.tolist(), strict=True))
        for i in range(m.n_rows):
            a, b = m.row_start[i], m.row_start[i + 1]
            cols.append(where[m.row_cols[a:b]])
            vals.append(m.row_vals[a:b])
            if i in extra:
                cols.append(np.array([extra[i]]))
                vals.append(np.array([1.0]))
            starts.append(starts[-1] + (b - a) + (i in extra))
        h.addRows(
            m.n_rows,
            m.row_lo,
            m.row_hi,
            starts[-1],
            np.array(starts[:-1], np.int32),
            np.concatenate(cols).astype(np.int32),
            np.concatenate(vals),
        )
    integer = np.array(sorted(base.integer), dtype=np.int32)
    where0 = {int(j): k for k, j in enumerate(first)}
    if len(integer):
        idx = np.array([where0[int(j)] for j in integer], dtype=np.int32)
        h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h, len(first)


def raw_reduced(ext: Extensive):
    """The engine's (reduced) extensive-form arrays in a Highs object through highspy's
    own API; returns it."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-6)
    matrix = ext.matrix.tocsr()
    empty = np.array([], np.int32)
    h.addCols(len(ext.cost), ext.cost, ext.col_lb, ext.col_ub, 0, empty, empty, np.array([]))
    h.addRows(
        matrix.shape[0],
        ext.row_lo,
        ext.row_hi,
        matrix.nnz,
        matrix.indptr[:-1].astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
    )
    idx = ext.integer.astype(np.int32)
    if len(idx):
        h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h


def run_benders(sc, inside, scheduler: str | None, groups: int) -> Decomposed:
    """Solve by decomposition; print its totals and its trace at 10%, 50% and 100% of the
    rounds (memory: flat when it does not grow with the futures re-solved)."""
    start = _clock()
    dec = solve_benders(sc, inside, scheduler=scheduler, groups=groups)
    wall, cpu = _since(start)
    trace = dec.trace
    worker_cpu = float(trace["worker_cpu_seconds"].sum())
    print(
        f"benders on {scheduler or 'the driver'} ({dec.workers} workers, {groups} groups): "
        f"{dec.objective:.6f} (bound {dec.bound:.6f}, gap {dec.gap:.1e}) in "
        f"{dec.iterations} rounds, {dec.cuts} cuts kept, {len(dec.held)} futures held; wall "
        f"{wall:.1f} s, driver CPU {cpu:.1f} s, workers' re-solves {worker_cpu:.1f} CPU s",
        flush=True,
    )
    print("| round | phase | futures re-solved | bound | value | driver MB | worker MB | s |")
    print("|---|---|---|---|---|---|---|---|")
    picks = sorted({max(0, round(f * len(trace)) - 1) for f in (0.1, 0.5, 1.0)})
    for r in trace.iloc[picks].itertuples(index=False):
        print(
            f"| {r.iteration} | {r.phase} | {r.futures_solved:,} | {r.bound:.6f} | "
            f"{r.value:.6f} | {r.driver_rss_mb:.0f} | {r.worker_rss_mb:.0f} | {r.seconds:.1f} |"
        )
    return dec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="aspf-2026")
    parser.add_argument("--futures", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", nargs="+", default=["engine", "raw"], choices=["engine", "raw", "benders"]
    )
    parser.add_argument("--scheduler", default=None, help="benders: local, local:N or ADDRESS")
    parser.add_argument("--groups", type=int, default=DEFAULT_GROUPS, help="benders' groups")
    args = parser.parse_args()
    sc = load_with_edits(scenario_path(args.scenario))
    start = _clock()
    inside, _ = draw_futures(sc, args.futures, 0, seed=args.seed)
    print(f"futures: {len(inside)} forecast paths in {_since(start)[0]:.1f} s", flush=True)

    dec = None
    if "benders" in args.methods:
        dec = run_benders(sc, inside, args.scheduler, args.groups)
    if "engine" not in args.methods:
        return
    start = _clock()
    plan = solve_stochastic(sc, inside, FloorRule())
    eng_wall, eng_cpu = _since(start)
    print(
        f"engine: {plan.status.value} {plan.objective:.6f} wall {eng_wall:.1f} s cpu "
        f"{eng_cpu:.1f} s (HiGHS {plan.seconds:.1f} s)",
        flush=True,
    )

    if dec is not None:
        gap = abs(dec.objective - plan.objective) / max(1.0, abs(plan.objective))
        go = [] if plan.model.projects is None else list(plan.model.projects.go.values())
        pos = [int(np.searchsorted(plan.first, j)) for j in go]
        same_go = np.array_equal(np.round(dec.first_values[pos]), np.round(plan.first_values[pos]))
        moved = float(np.abs(dec.first_values - plan.first_values).max())
        print(
            f"benders vs engine extensive form: objective relative difference {gap:.1e}, "
            f"same go/no-go: {'yes' if same_go else 'no'}, largest first-stage difference "
            f"{moved:.2e} fund units"
        )
    if "raw" in args.methods:
        compare_raw(sc, inside, plan, eng_wall, eng_cpu)


def _run_raw(label: str, sc, inside, make) -> tuple[float, float, float, np.ndarray, int]:
    """Build (``make(models)`` gives the Highs object and its first-stage count) and
    run; prints and returns wall, CPU, objective, first stage and rows."""
    start = _clock()
    models = future_models(sc, inside)
    h, n_first = make(models)
    build = _since(start)
    solve_start = _clock()
    h.run()
    run = _since(solve_start)
    wall, cpu = build[0] + run[0], build[1] + run[1]
    obj = h.getInfo().objective_function_value
    print(
        f"{label}: {h.modelStatusToString(h.getModelStatus())} {obj:.6f} wall {wall:.1f} s "
        f"cpu {cpu:.1f} s (build {build[0]:.1f} s, run {run[0]:.1f} s; {h.getNumRow():,} rows, "
        f"{h.getNumCol():,} columns, {h.getInfo().simplex_iteration_count:,} simplex "
        "iterations)",
        flush=True,
    )
    first = np.asarray(h.getSolution().col_value)[:n_first]
    return wall, cpu, obj, first, h.getNumRow()


def _reduced(models):
    ext = build_extensive(models, FloorRule(), Risk(), reduce=True)
    return raw_reduced(ext), len(ext.first)


def compare_raw(sc, inside, plan, eng_wall: float, eng_cpu: float) -> None:
    """The same (reduced) extensive form by raw highspy, and the unreduced one; prints the
    side-by-side table."""
    runs = {
        "raw highspy, same reduced arrays": _run_raw("raw highspy (reduced)", sc, inside, _reduced),
        "raw highspy, unreduced": _run_raw("raw highspy (unreduced)", sc, inside, raw_extensive),
    }
    maps = plan.model.projects
    go = [] if maps is None else list(maps.go.values())
    pos = [int(np.searchsorted(plan.first, j)) for j in go]
    print(
        "| futures | method | objective | wall s | CPU s | engine / this (wall, CPU) "
        "| same optimum | same go/no-go |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(inside)} | engine (reduced) | {plan.objective:.6f} | {eng_wall:.1f} | "
        f"{eng_cpu:.1f} | 1 | - | - |"
    )
    for label, (wall, cpu, obj, first, _rows) in runs.items():
        gap = abs(plan.objective - obj) / max(1.0, abs(obj))
        same_go = np.array_equal(np.round(first[pos]), np.round(plan.first_values[pos]))
        print(
            f"| {len(inside)} | {label} | {obj:.6f} | {wall:.1f} | {cpu:.1f} | "
            f"{eng_wall / wall:.2f}x, {eng_cpu / cpu:.2f}x | "
            f"{'yes' if gap < 1e-6 else f'no ({gap:.1e})'} | {'yes' if same_go else 'no'} |"
        )


if __name__ == "__main__":
    main()
