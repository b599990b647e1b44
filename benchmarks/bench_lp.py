"""Benchmark the allocation LP: the engine against the same LP built directly for highspy.

For each size (benchmarks/generate.py) two child processes run side by side on the same
generated scenario: the engine (validate, ``engine.formulation.build.build_model``,
``engine.solving.backends.solve_highs``, ``engine.results.extract.extract``, then the
tie-break stage on its own) and an independent vectorised numpy builder passing the same LP
to highspy. Each
child reports its timings, optimum and peak memory (ru_maxrss); the parent checks the
optima agree to 1e-9 relative and prints ratios.

    python benchmarks/bench_lp.py                    # small, medium, large
    python benchmarks/bench_lp.py --sizes small medium --highs solver=ipm
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import SIZES, generate  # noqa: E402

SEED = 20261127
UNIT = {"k": 1e3, "m": 1e6, "bn": 1e9}
GOALS = {"small": 2.0, "medium": 1.5, "large": 3.0}


def _money(value: Any) -> float:
    return float(value)


def _limit(value: Any) -> tuple[str, float]:
    """("share", s) for ``"12.5%"``, else ("amount", currency units)."""
    if isinstance(value, str) and value.endswith("%"):
        return "share", float(value[:-1]) / 100
    return "amount", float(value)


class RawLP:
    """The allocation LP as numpy arrays, from scenario data, without the engine.

    Column blocks: flows x[pair, t] (pairs = member x joined area, pledging members only),
    area funding F[a, t], year totals T[t], carry c[m, t], value pieces s[a, t, k].
    Rows are collected as COO triplets block by block and passed row-wise to HiGHS.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        fund = data["fund"]
        self.scale = UNIT[fund["unit"]]
        years = list(fund["years"])
        ny = len(years)
        areas = data["areas"]
        members = data["members"]
        area_ix = {a["id"]: i for i, a in enumerate(areas)}
        member_ix = {m["id"]: i for i, m in enumerate(members)}
        na, nm = len(areas), len(members)

        pledge = np.zeros((nm, ny))
        joins = np.ones((nm, na), dtype=bool)
        for i, m in enumerate(members):
            p = m.get("pledge", 0)
            if isinstance(p, dict):
                given = {int(k): _money(v) for k, v in p.items()}
                last = None
                for k, t in enumerate(years):
                    last = given.get(t, last)
                    pledge[i, k] = last
            else:
                pledge[i, :] = _money(p)
            for a in m.get("opt_out", []):
                joins[i, area_ix[a]] = False
            if m.get("opt_in") is not None:
                joins[i, :] = False
                joins[i, [area_ix[a] for a in m["opt_in"]]] = True
        pledge /= self.scale
        pledging = (pledge > 0).any(axis=1)
        pairs = np.argwhere(joins & pledging[:, None])  # (m, a), member-major
        npairs = len(pairs)

        n = 0
        x0, n = n, n + npairs * ny
        f0, n = n, n + na * ny
        t0, n = n, n + ny
        carry = fund.get("carry_over", False) and ny > 1
        payers = np.flatnonzero(pledging)
        c0, n = n, n + (len(payers) * (ny - 1) if carry else 0)
        lb, ub, cost = [np.zeros(n)], [np.full(n, np.inf)], [np.zeros(n)]

        rows_i: list[np.ndarray] = []
        rows_j: list[np.ndarray] = []
        rows_v: list[np.ndarray] = []
        lo: list[np.ndarray] = []
        hi: list[np.ndarray] = []
        self.nrow = 0

        def block(count: int, i: np.ndarray, j: np.ndarray, v, low, high) -> None:
            rows_i.append(self.nrow + np.asarray(i))
            rows_j.append(np.asarray(j))
            rows_v.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(i)))
            lo.append(np.broadcast_to(np.asarray(low, dtype=float), (count,)))
            hi.append(np.broadcast_to(np.asarray(high, dtype=float), (count,)))
            self.nrow += count

        tt = np.arange(ny)
        x_idx = x0 + np.arange(npairs)[:, None] * ny + tt[None, :]  # (pair, t)
        f_idx = f0 + np.arange(na)[:, None] * ny + tt[None, :]  # (a, t)
        t_idx = t0 + tt

        # Caps bound flows.
        for i, m in enumerate(members):
            for a, cap in (m.get("caps") or {}).items():
                sel = (pairs[:, 0] == i) & (pairs[:, 1] == area_ix[a])
                ub[0][x_idx[sel].ravel()] = _money(cap) / self.scale

        # funding[a,t]: F - sum_m x = 0
        pa = pairs[:, 1]
        fr = pa[:, None] * ny + tt[None, :]  # row of each flow
        block(
            na * ny,
            np.concatenate([np.arange(na * ny), fr.ravel()]),
            np.concatenate([f_idx.ravel(), x_idx.ravel()]),
            np.concatenate([np.ones(na * ny), -np.ones(npairs * ny)]),
            0.0,
            0.0,
        )
        # total[t]: T - sum_a F = 0
        block(
            ny,
            np.concatenate([tt, np.tile(tt, na)]),
            np.concatenate([t_idx, f_idx.ravel()]),
            np.concatenate([np.ones(ny), -np.ones(na * ny)]),
            0.0,
            0.0,
        )
        # budget[m,t]: sum_a x + c[t] - c[t-1] <= pledge
        payer_row = {m: k for k, m in enumerate(payers)}
        pm = np.array([payer_row[m] for m in pairs[:, 0]], dtype=int)
        bi = [(pm[:, None] * ny + tt[None, :]).ravel()]
        bj = [x_idx.ravel()]
        bv = [np.ones(npairs * ny)]
        if carry:
            c_idx = c0 + np.arange(len(payers))[:, None] * (ny - 1) + np.arange(ny - 1)[None, :]
            rows_out = np.arange(len(payers))[:, None] * ny + np.arange(ny - 1)[None, :]
            bi += [rows_out.ravel(), (rows_out + 1).ravel()]
            bj += [c_idx.ravel(), c_idx.ravel()]
            bv += [np.ones(c_idx.size), -np.ones(c_idx.size)]
        block(
            len(payers) * ny,
            np.concatenate(bi),
            np.concatenate(bj),
            np.concatenate(bv),
            -np.inf,
            pledge[payers].ravel(),
        )

        def limit_rows(cols: list[np.ndarray], per_row_years: list[list[int]], spec, lower):
            """One row per entry: sum(cols[k]) (>= or <=) amount, or - share*sum T >= 0."""
            kind, value = spec
            ii, jj, vv = [], [], []
            for k, (c, ys) in enumerate(zip(cols, per_row_years, strict=True)):
                ii.append(np.full(len(c), k))
                jj.append(c)
                vv.append(np.ones(len(c)))
                if kind == "share":
                    ii.append(np.full(len(ys), k))
                    jj.append(t_idx[ys])
                    vv.append(np.full(len(ys), -value))
            rhs = 0.0 if kind == "share" else value / self.scale
            block(
                len(cols),
                np.concatenate(ii),
                np.concatenate(jj),
                np.concatenate(vv),
                rhs if lower else -np.inf,
                np.inf if lower else rhs,
            )

        first = years[0]
        disc = (1 + float(data.get("objective", {}).get("discount_rate", 0.0))) ** -(
            np.array(years) - first
        )
        pieces: list[tuple[int, float | None, float]] = []  # (F column, width, cost)
        for ai, a in enumerate(areas):
            for side, lower in (("floor", True), ("ceiling", False)):
                if a.get(side) is not None:
                    spec = _limit(a[side])
                    limit_rows([f_idx[ai, [k]] for k in tt], [[k] for k in tt], spec, lower)
            if a.get("absorption") is not None and ny > 1:
                r = float(a["absorption"])
                now, before = f_idx[ai, 1:], f_idx[ai, :-1]
                k = np.arange(ny - 1)
                for factor, low, high in ((1 + r, -np.inf, 0.0), (1 - r, 0.0, np.inf)):
                    block(
                        ny - 1,
                        np.concatenate([k, k]),
                        np.concatenate([now, before]),
                        np.concatenate([np.ones(ny - 1), np.full(ny - 1, -factor)]),
                        low,
                        high,
                    )
            weight = float(a.get("priority", 1.0)) * disc
            if a.get("value_curve") is None:
                cost[0][f_idx[ai]] += weight
                continue
            start = 0.0
            for seg in a["value_curve"]:
                up = seg.get("up_to")
                width = None if up is None else (_money(up) - start) / self.scale
                for k in tt:
                    pieces.append((f_idx[ai, k], width, weight[k] * float(seg["marginal"])))
                start = _money(up) if up is not None else start

        # Policies: single member-and-area rules in bulk, the others one by one.
        bulk_pairs, bulk_share = [], []
        pair_ix = {(int(m), int(a)): k for k, (m, a) in enumerate(pairs)}
        for p in data.get("policies", []):
            per_year = p.get("per", "year") == "year"
            group = [area_ix[a] for a in p["areas"]] if p.get("areas") else list(range(na))
            who = p.get("members")
            single = (
                who is not None
                and len(who) == 1
                and len(group) == 1
                and per_year
                and p.get("at_least") is None
                and _limit(p["at_most"])[0] == "share"
            )
            if single:
                k = pair_ix.get((member_ix[who[0]], group[0]))
                if k is not None:
                    bulk_pairs.append(k)
                    bulk_share.append(_limit(p["at_most"])[1])
                continue
            periods = [[k] for k in tt] if per_year else [list(tt)]
            if who is None:
                cols = [f_idx[np.ix_(group, ys)].ravel() for ys in periods]
            else:
                ms = {member_ix[m] for m in who}
                mine = np.array([k for k, (m, a) in enumerate(pairs) if m in ms and a in group])
                cols = [
                    x_idx[np.ix_(mine, ys)].ravel() if len(mine) else np.zeros(0, dtype=int)
                    for ys in periods
                ]
            for side, lower in (("at_least", True), ("at_most", False)):
                if p.get(side) is not None:
                    limit_rows(cols, periods, _limit(p[side]), lower)
        if bulk_pairs:
            kp = np.asarray(bulk_pairs)
            share = np.asarray(bulk_share)
            nb = len(kp) * ny
            r = np.arange(nb)
            block(
                nb,
                np.concatenate([r, r]),
                np.concatenate([x_idx[kp].ravel(), np.tile(t_idx, len(kp))]),
                np.concatenate([np.ones(nb), -np.repeat(share, ny)]),
                -np.inf,
                0.0,
            )

        # value[a,t]: sum_k s - F <= 0, pieces bounded by their widths.
        s0 = n
        ns = len(pieces)
        s_f = np.array([f for f, _, _ in pieces], dtype=int)
        s_w = np.array([np.inf if w is None else w for _, w, _ in pieces])
        s_c = np.array([c for _, _, c in pieces])
        lb.append(np.zeros(ns))
        ub.append(s_w)
        cost.append(s_c)
        fcols, owner = np.unique(s_f, return_inverse=True)
        block(
            len(fcols),
            np.concatenate([owner, np.arange(len(fcols))]),
            np.concatenate([s0 + np.arange(ns), fcols]),
            np.concatenate([np.ones(ns), -np.ones(len(fcols))]),
            -np.inf,
            0.0,
        )

        self.col_lb = np.concatenate(lb)
        self.col_ub = np.concatenate(ub)
        self.cost = np.concatenate(cost)
        self.row_lo = np.concatenate(lo)
        self.row_hi = np.concatenate(hi)
        i = np.concatenate(rows_i)
        j = np.concatenate(rows_j)
        v = np.concatenate(rows_v)
        order = np.argsort(i, kind="stable")
        self.index = j[order].astype(np.int32)
        self.value = v[order]
        self.start = np.searchsorted(i[order], np.arange(self.nrow + 1)).astype(np.int32)

    def highs_lp(self):
        import highspy

        lp = highspy.HighsLp()
        lp.num_col_ = len(self.cost)
        lp.num_row_ = self.nrow
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.col_lb
        lp.col_upper_ = self.col_ub
        lp.row_lower_ = self.row_lo
        lp.row_upper_ = self.row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = self.start
        lp.a_matrix_.index_ = self.index
        lp.a_matrix_.value_ = self.value
        lp.a_matrix_.num_col_ = len(self.cost)
        lp.a_matrix_.num_row_ = self.nrow
        lp.sense_ = highspy.ObjSense.kMaximize
        return lp


def _highs(options: dict[str, str]):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in options.items():
        h.setOptionValue(key, _typed(value))
    return h


def _typed(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return {"true": True, "false": False}.get(value.lower(), value)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Laps:
    """Wall and CPU seconds (all threads of this process) between successive marks.

    The benchmark machine may be shared: CPU seconds are the fairer comparison then.
    """

    def __init__(self) -> None:
        self.last = (time.perf_counter(), time.process_time())
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall[name] = now[0] - self.last[0]
        self.cpu[name] = now[1] - self.last[1]
        self.last = now


def child_raw(size: str, options: dict[str, str]) -> dict[str, Any]:
    data = generate(*SIZES[size], seed=SEED)
    laps = Laps()
    lp = RawLP(data)
    laps.lap("build")
    h = _highs(options)
    h.passModel(lp.highs_lp())
    h.run()
    laps.lap("solve")
    sol = h.getSolution()
    values = np.asarray(sol.col_value)
    duals = np.asarray(sol.row_dual)
    laps.lap("extract")
    return {
        **laps.wall,
        "cpu": laps.cpu,
        "objective": h.getInfo().objective_function_value,
        "status": h.modelStatusToString(h.getModelStatus()),
        "cols": len(lp.cost),
        "rows": lp.nrow,
        "nnz": len(lp.index),
        "checksum": float(values.sum() + duals.sum()),
        "peak_mib": _peak_mib(),
    }


def child_engine(size: str, options: dict[str, str]) -> dict[str, Any]:
    from engine.formulation.build import build_model
    from engine.results.extract import extract
    from engine.scenario.validate import validate_scenario
    from engine.solving.backends import SolverOptions, highs_lp, highs_solution, new_highs
    from engine.solving.tiebreak import pro_rata_reference, tie_break_model

    data = generate(*SIZES[size], seed=SEED)

    def run(model):
        # engine.solving.backends.solve_highs, with the benchmark's HiGHS options applied.
        h = new_highs(SolverOptions())
        for key, value in options.items():
            h.setOptionValue(key, _typed(value))
        start = time.perf_counter()
        h.passModel(highs_lp(model))
        h.run()
        return highs_solution(h, time.perf_counter() - start)

    laps = Laps()
    scenario = validate_scenario(data)
    laps.lap("validate")
    model = build_model(scenario)
    laps.lap("build")
    solution = run(model)
    laps.lap("solve")
    result = extract(model, solution, solution, laps.wall["build"])
    laps.lap("extract")
    peak_one_stage = _peak_mib()
    stage_one = {
        **laps.wall,
        "cpu": dict(laps.cpu),
        "objective": result.objective,
        "status": solution.status.value,
        "cols": model.n_cols,
        "rows": model.n_rows,
        "nnz": len(model.row_cols),
        "peak_mib": peak_one_stage,
    }
    # Printed now so that a timeout in the tie-break stage keeps the first stage's numbers.
    print(json.dumps(stage_one), flush=True)
    tb = tie_break_model(model, solution, pro_rata_reference(model))
    laps.lap("tie_build")
    second = run(tb)
    laps.lap("tie_solve")
    plan = replace(
        second,
        col_value=second.col_value[: model.n_cols],
        row_value=second.row_value[: model.n_rows],
    )
    extract(model, solution, plan, laps.wall["build"])
    laps.lap("tie_extract")
    return {
        **laps.wall,
        "cpu": laps.cpu,
        "objective": result.objective,
        "status": solution.status.value,
        "cols": model.n_cols,
        "rows": model.n_rows,
        "nnz": len(model.row_cols),
        "peak_mib": peak_one_stage,
        "tie_status": second.status.value,
        "tie_cols": tb.n_cols,
        "tie_rows": tb.n_rows,
        "peak_mib_with_tie": _peak_mib(),
    }


def run_child(kind: str, size: str, highs: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--sizes", size]
    for opt in highs:
        cmd += ["--highs", opt]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as stopped:
        partial = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else stopped.stdout
        lines = (partial or "").strip().splitlines()
        if lines:  # the first stage finished; the tie-break did not
            return {**json.loads(lines[-1]), "tie_error": f"timed out after {timeout:.0f} s"}
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--highs", action="append", default=[], help="HiGHS option KEY=VALUE")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    parser.add_argument("--child", choices=["raw", "engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = dict(opt.split("=", 1) for opt in args.highs)
    if args.child:
        fn = child_raw if args.child == "raw" else child_engine
        print(json.dumps(fn(args.sizes[0], options)))
        return

    print(f"HiGHS options: {options or 'defaults'}; seed {SEED}")
    header = (
        f"{'size':<7}{'cols':>8}{'rows':>8}{'nnz':>9} | {'engine: valid':>13}{'build':>8}"
        f"{'solve':>8}{'extract':>8}{'e2e':>8} | {'raw: build':>10}{'solve':>8}{'extract':>8}"
        f"{'e2e':>8} | {'ratio':>6}{'goal':>5} | {'MiB eng':>8}{'raw':>6} | tie-break b/s/e"
    )
    print(header)
    for size in args.sizes:
        raw = run_child("raw", size, args.highs, args.timeout)
        # Shown at once: at large the engine child (with its tie-break stage) runs long.
        print(f"{size:<7}raw highspy: {json.dumps(raw)}", flush=True)
        eng = run_child("engine", size, args.highs, args.timeout)
        if "error" in raw or "error" in eng:
            print(f"{size:<7} raw: {raw.get('error', 'ok')}; engine: {eng.get('error', 'ok')}")
            continue
        e2e = eng["validate"] + eng["build"] + eng["solve"] + eng["extract"]
        raw_e2e = raw["build"] + raw["solve"] + raw["extract"]
        rel = abs(eng["objective"] - raw["objective"]) / max(1.0, abs(raw["objective"]))
        agree = "same optimum" if rel <= 1e-9 else f"OPTIMA DIFFER (rel {rel:.1e})"
        ec, rc = eng["cpu"], raw["cpu"]
        if "tie_solve" in eng:
            tie = (
                f"{eng['tie_build']:.2f}/{eng['tie_solve']:.2f}/{eng['tie_extract']:.2f} s "
                f"({eng['tie_status']}, peak {eng['peak_mib_with_tie']:.0f} MiB)"
            )
            tie_cpu = f"{ec['tie_build']:.2f}/{ec['tie_solve']:.2f}/{ec['tie_extract']:.2f}"
        else:
            tie = tie_cpu = eng.get("tie_error", "not run")
        print(
            f"{size:<7}{eng['cols']:>8}{eng['rows']:>8}{eng['nnz']:>9} | {eng['validate']:>13.3f}"
            f"{eng['build']:>8.3f}{eng['solve']:>8.2f}{eng['extract']:>8.3f}{e2e:>8.2f} | "
            f"{raw['build']:>10.3f}{raw['solve']:>8.2f}{raw['extract']:>8.3f}{raw_e2e:>8.2f} | "
            f"{e2e / raw_e2e:>6.2f}{GOALS[size]:>5.1f} | {eng['peak_mib']:>8.0f}"
            f"{raw['peak_mib']:>6.0f} | {tie}"
        )
        e2e_cpu = ec["validate"] + ec["build"] + ec["solve"] + ec["extract"]
        raw_cpu = rc["build"] + rc["solve"] + rc["extract"]
        print(
            f"{'':<7}CPU s: engine valid {ec['validate']:.3f} build {ec['build']:.3f} solve "
            f"{ec['solve']:.2f} extract {ec['extract']:.3f} e2e {e2e_cpu:.2f} | raw build "
            f"{rc['build']:.3f} solve {rc['solve']:.2f} e2e {raw_cpu:.2f} | ratio "
            f"{e2e_cpu / raw_cpu:.2f} | tie-break {tie_cpu}"
        )
        print(
            f"{'':<7}objective engine {eng['objective']:.9f} raw {raw['objective']:.9f}: {agree}; "
            f"raw {raw['cols']} cols x {raw['rows']} rows, {raw['nnz']} nnz"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
