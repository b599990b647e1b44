"""What-if re-solve speed: engine warm vs engine cold vs raw highspy warm, in one run.

    python -m benchmarks.bench_whatif [--repeats 15]

For the default scenario (aspf-2026) and the medium generated scenario (31x40x10), each
what-if edit (alternately a floor and a pledge) is timed three ways:
- engine warm: ``Resolver.solve(edited, reference=baseline)``: builds the edited model,
  pushes the changed numbers into the live HiGHS model, re-solves from the basis, breaks
  ties towards the baseline (second warm solve) and extracts the result frames;
- engine cold: ``solve(edited)``: a fresh build, cold solve, tie-break and extraction;
- raw highspy: the same LP already loaded in a ``Highs`` object, the same bounds changed
  in place with ``changeRowsBounds``, ``run()`` from the previous basis (no tie-break, no
  extraction): the floor for this work.
Prints medians and ratios. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.generate import generate
from datasets import DEFAULT_SCENARIO
from engine.edits import apply_edits
from engine.io import load_scenario
from engine.model import build_model
from engine.resolve import Resolver
from engine.scenario import Scenario, validate_scenario
from engine.solve import solve
from engine.solvers import SolverOptions, highs_lp, new_highs


def edits_for(scenario: Scenario, repeats: int) -> list[list[str]]:
    """Alternating floor and pledge edits that change only numbers."""
    floored = [a for a in scenario.areas if a.floor is not None and a.floor.amount]
    pledger = max(scenario.members, key=lambda m: sum(m.pledges.values()))
    area = floored[0]
    out = []
    for k in range(repeats):
        if k % 2 == 0:
            out.append([f"areas.{area.id}.floor={area.floor.amount * (1.02 + 0.01 * k):.0f}"])
        else:
            first = pledger.pledges[scenario.fund.years[0]]
            out.append([f"members.{pledger.id}.pledge={first * (1.05 + 0.01 * k):.0f}"])
    return out


def changed_rows(base, edited) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo0, hi0 = np.asarray(base.row_lo), np.asarray(base.row_hi)
    lo1, hi1 = np.asarray(edited.row_lo), np.asarray(edited.row_hi)
    rows = np.flatnonzero((lo0 != lo1) | (hi0 != hi1))
    return rows.astype(np.int32), lo1[rows], hi1[rows]


def bench(name: str, scenario: Scenario, repeats: int) -> None:
    edit_sets = edits_for(scenario, repeats)
    edited = [apply_edits(scenario, e) for e in edit_sets]

    resolver = Resolver()
    baseline = resolver.solve(scenario)
    warm = []
    for sc in edited:
        t = time.perf_counter()
        result = resolver.solve(sc, reference=baseline.allocation)
        warm.append(time.perf_counter() - t)
        if resolver.last_mode != "warm" or not result.ok:
            raise RuntimeError(f"expected a warm optimal re-solve, got {resolver.last_mode}")

    cold = []
    for sc in edited:
        t = time.perf_counter()
        solve(sc)
        cold.append(time.perf_counter() - t)

    base_model = build_model(scenario)
    h = new_highs(SolverOptions())
    h.passModel(highs_lp(base_model))
    h.run()
    raw = []
    objectives = []
    for sc in edited:
        rows, lo, hi = changed_rows(base_model, build_model(sc))
        t = time.perf_counter()
        h.changeRowsBounds(len(rows), rows, lo, hi)
        h.run()
        raw.append(time.perf_counter() - t)
        objectives.append(h.getInfo().objective_function_value)
        h.changeRowsBounds(
            len(rows),
            rows,
            np.asarray(base_model.row_lo)[rows],
            np.asarray(base_model.row_hi)[rows],
        )

    check = [resolver.solve(sc).objective for sc in edited]
    agree = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(check, objectives, strict=True))
    mw, mc, mr = (statistics.median(x) * 1e3 for x in (warm, cold, raw))
    print(
        f"{name:<8} n_cols={base_model.n_cols:>6} n_rows={base_model.n_rows:>6} | "
        f"engine warm {mw:7.1f} ms | engine cold {mc:7.1f} ms | "
        f"raw highspy warm {mr:6.1f} ms | "
        f"warm/raw {mw / mr:4.1f}x | cold/warm {mc / mw:4.1f}x | "
        f"max rel. objective diff {agree:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    bench("default", load_scenario(DEFAULT_SCENARIO), args.repeats)
    bench("medium", validate_scenario(generate(31, 40, 10, seed=1)), args.repeats)


if __name__ == "__main__":
    main()
