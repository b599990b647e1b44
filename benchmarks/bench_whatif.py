"""What-if re-solve speed: engine warm vs engine cold vs raw highspy warm, in one run.

    python -m benchmarks.bench_whatif [--repeats 15]

For the default scenario (aspf-2026, a MIP: go/no-go projects) and the medium generated
scenario (31x40x10, an LP), each what-if edit against the baseline (alternately an area's
floor raised above its funding, so that it binds, and a member's pledge) is timed:
- engine warm: ``Resolver.solve(edited, reference=baseline)``: patches the bounds of the
  built model, pushes the changed numbers into the live HiGHS models, re-solves from the
  baseline's basis (for a MIP: keeps the go/no-go decisions when the LP relaxation proves
  them optimal, else runs the MIP), breaks ties towards the baseline (second warm LP) and
  extracts the result frames;
- engine cold: ``solve(edited, reference=baseline)``: a fresh build and the same stages;
- raw highspy, value only: the same model already loaded in a ``Highs`` object, the
  same bounds changed in place, ``run()`` from the previous basis (a MIP re-solved as a
  MIP), no tie-break, no extraction: the floor named in the issue;
- raw highspy, both stages: the same plus the engine's tie-break LP loaded in a second
  ``Highs`` object whose bounds are changed in place (the bounds computed outside the
  timer): the floor for a what-if that must not show alternative optima as changes.
Prints medians and ratios. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.generate import generate
from datasets import DEFAULT_SCENARIO
from engine.analysis.whatif import compare
from engine.files.scenario_files import load_scenario
from engine.formulation.build import build_model
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions, highs_lp, highs_solution, new_highs
from engine.solving.pipeline import solve
from engine.solving.resolver import Resolver
from engine.solving.tiebreak import (
    _reference_arrays,
    allocation_targets,
    tie_break_bounds,
    tie_break_model,
)


def edits_for(scenario: Scenario, baseline, repeats: int) -> list[list[str]]:
    """Alternating floor and pledge edits that change only numbers and change the plan:
    a money floor binding in the baseline is raised by 1% or more (when none binds, the
    best-funded floored area's floor is set above its funding), and the largest
    pledger's first-year pledge by 5% or more."""
    first_year = scenario.fund.years[0]
    c = baseline.constraints
    binding = c[(c["kind"] == "floor") & c["binding"] & (c["year"] == first_year)]
    money = {a.id: a.floor.amount for a in scenario.areas if a.floor and a.floor.amount}
    candidates = sorted(a for a in binding["area"] if a in money)
    if candidates:
        area = candidates[0]
    else:  # no money floor binds: raise the best-funded floored area's above its funding
        funded = baseline.areas[
            (baseline.areas["year"] == first_year) & baseline.areas["area"].isin(money)
        ]
        best = funded.sort_values(["amount", "area"], ascending=[False, True]).iloc[0]
        area = best["area"]
        money[area] = best["amount"]
    pledger = max(scenario.members, key=lambda m: (sum(m.pledges.values()), m.id))
    out = []
    for k in range(repeats):
        if k % 2 == 0:
            out.append([f"areas.{area}.floor={money[area] * (1.01 + 0.002 * k) / 1e9:.9f}bn"])
        else:
            first = pledger.pledges[first_year]
            out.append([f"members.{pledger.id}.pledge={first * (1.05 + 0.01 * k) / 1e9:.9f}bn"])
    return out


def changed_rows(base, edited) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo0, hi0 = np.asarray(base.row_lo), np.asarray(base.row_hi)
    lo1, hi1 = np.asarray(edited.row_lo), np.asarray(edited.row_hi)
    rows = np.flatnonzero((lo0 != lo1) | (hi0 != hi1))
    return rows.astype(np.int32), lo1[rows], hi1[rows]


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench(name: str, scenario: Scenario, repeats: int) -> None:
    resolver = Resolver()
    baseline = resolver.solve(scenario)
    edited = [apply_edits(scenario, e) for e in edits_for(scenario, baseline, repeats)]
    warm, results = [], []
    for sc in edited:
        t = time.perf_counter()
        result = resolver.solve(sc, reference=baseline.allocation)
        warm.append(time.perf_counter() - t)
        results.append(result)
        if resolver.last_mode != "warm" or not result.ok:
            raise RuntimeError(f"expected a warm optimal re-solve, got {resolver.last_mode}")
    changed = sum(not compare(baseline, r).allocation.empty for r in results)
    cold = [_timed(lambda sc=sc: solve(sc, reference=baseline.allocation)) for sc in edited]

    base_model = build_model(scenario)
    lp = not base_model.integer
    h = new_highs(SolverOptions())
    h.passModel(highs_lp(base_model))
    h.run()
    if lp:
        cols, targets = _reference_arrays(allocation_targets(base_model, baseline.allocation))
        first = highs_solution(h, 0.0)
        reference = dict(zip(cols.tolist(), targets.tolist(), strict=True))
        tie = new_highs(SolverOptions())
        tie.passModel(highs_lp(tie_break_model(base_model, first, reference)))
        tie.run()
    raw, both, objectives = [], [], []
    for sc in edited:
        model = build_model(sc)
        rows, lo, hi = changed_rows(base_model, model)
        start = time.perf_counter()
        h.changeRowsBounds(len(rows), rows, lo, hi)
        h.run()
        raw.append(time.perf_counter() - start)
        objectives.append(h.getInfo().objective_function_value)
        if lp:
            b = tie_break_bounds(model, highs_solution(h, 0.0), cols, targets)
            every_col = np.arange(len(b.col_lb), dtype=np.int32)
            every_row = np.arange(len(b.row_lo), dtype=np.int32)
            start = time.perf_counter()
            tie.changeColsBounds(len(every_col), every_col, b.col_lb, b.col_ub)
            tie.changeRowsBounds(len(every_row), every_row, b.row_lo, b.row_hi)
            tie.run()
            both.append(raw[-1] + time.perf_counter() - start)
        h.changeRowsBounds(
            len(rows),
            rows,
            np.asarray(base_model.row_lo)[rows],
            np.asarray(base_model.row_hi)[rows],
        )

    agree = max(
        abs(r.objective - o) / max(1.0, abs(o)) for r, o in zip(results, objectives, strict=True)
    )
    mw, mc, mr = (statistics.median(x) * 1e3 for x in (warm, cold, raw))
    two = f"{statistics.median(both) * 1e3:6.1f} ms" if both else "   n/a (MIP)"
    ratio = f"{statistics.median(warm) / statistics.median(both):4.1f}x" if both else "  - "
    print(
        f"{name:<8} n_cols={base_model.n_cols:>6} n_rows={base_model.n_rows:>6} "
        f"{'MIP' if not lp else 'LP'} | {changed}/{len(edited)} edits change the plan\n"
        f"  engine warm {mw:7.1f} ms | engine cold {mc:7.1f} ms | "
        f"raw highspy warm, value only {mr:6.1f} ms | both stages {two}\n"
        f"  warm/raw value only {mw / mr:4.1f}x | warm/raw both stages {ratio} | "
        f"cold/warm {mc / mw:4.1f}x | max rel. objective diff {agree:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    bench("default", load_scenario(DEFAULT_SCENARIO), args.repeats)
    bench("medium", validate_scenario(generate(31, 40, 10, seed=1)), args.repeats)


if __name__ == "__main__":
    main()
