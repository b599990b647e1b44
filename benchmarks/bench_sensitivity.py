"""Sensitivity report cost: the engine's report against HiGHS's one-call ranging, in one run.

    python -m benchmarks.bench_sensitivity [--repeats 5]

For the default scenario (aspf-2026, a MIP) and a generated LP, after one solve:
- engine: ``sensitivity(scenario, resolver, result)``: shadow-price ranges from HiGHS's
  ranging plus, per area, the exact priority range (two small LPs over the plan's
  optimality conditions, :mod:`engine.analysis.ranging`);
- raw ranging: ``Highs.getRanging()`` on the loaded model alone (what the report used
  before, with one-column-at-a-time priority ranges that are wrong for degenerate plans
  and were once found by matching column names);
- solve: the warm re-solve of the same scenario, for scale.
Prints medians and ratios. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.generate import generate
from datasets import DEFAULT_SCENARIO
from engine.analysis.sensitivity import sensitivity
from engine.files.scenario_files import load_scenario
from engine.scenario.schema import Scenario
from engine.scenario.validate import validate_scenario
from engine.solving.resolver import Resolver


def _median(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(name: str, scenario: Scenario, repeats: int) -> None:
    resolver = Resolver()
    result = resolver.solve(scenario)
    model = resolver.model
    engine = _median(lambda: sensitivity(scenario, resolver, result), repeats)
    raw = _median(resolver.ranging, repeats)
    warm = _median(lambda: resolver.solve(scenario), repeats)
    areas = len(scenario.areas)
    print(
        f"| {name} | {model.n_cols:,} x {model.n_rows:,} | {areas} | {engine * 1e3:,.0f} ms "
        f"| {raw * 1e3:,.1f} ms | {warm * 1e3:,.0f} ms | {engine / raw:,.1f}x "
        f"| {engine / warm:,.1f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        "| scenario | columns x rows | areas | engine report | raw ranging | warm solve "
        "| report / raw | report / solve |"
    )
    print("|---|---|---|---|---|---|---|---|")
    bench("default (aspf-2026)", load_scenario(DEFAULT_SCENARIO), args.repeats)
    medium = validate_scenario(generate(members=31, areas=40, years=10, seed=1))
    bench("medium generated (31 x 40 x 10)", medium, args.repeats)


if __name__ == "__main__":
    main()
