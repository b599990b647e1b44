"""The stability check on the default scenario: the fund plus every member alone, engine
vs the same models solved by raw highspy, in one run.

    python -m benchmarks.bench_coalition [--repeats 5]

- engine: ``solve(scenario)`` (the fund: MIP, tie-break, result frames), then
  ``stability(result, drivers=False)``: for every pledging member its one-member scenario
  built and solved with ``engine.solve`` (go/no-go stage, extraction), its value of the
  fund's plan and alone, the flags and the members table;
- raw highspy: the same models (built by the engine outside the timer) passed to a fresh
  ``Highs`` object each and run (a MIP solved as a MIP), the objective read: the floor for
  "solve 1 + N models";
- participation: the fund re-solved with every member's participation row (reported on
  its own; not part of the check).
Prints medians of wall and CPU seconds and their ratios, and checks that the engine's
standalone values equal the raw objectives. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from datasets import DEFAULT_SCENARIO
from engine.coalition.stability import solve_with_participation, stability
from engine.coalition.standalone import standalone_scenario
from engine.files.scenario_files import load_scenario
from engine.formulation.build import build_model
from engine.solving.backends import SolverOptions, highs_lp, new_highs
from engine.solving.pipeline import solve


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def engine_check(scenario):
    result = solve(scenario)
    return stability(result, drivers=False)


def raw_check(models):
    options = SolverOptions()
    objectives = []
    for model in models:
        h = new_highs(options)
        h.passModel(highs_lp(model))
        h.run()
        objectives.append(h.getInfo().objective_function_value)
    return objectives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = load_scenario(DEFAULT_SCENARIO)
    pledging = [m.id for m in scenario.members if any(v > 0 for v in m.pledges.values())]
    models = [build_model(scenario)] + [
        build_model(standalone_scenario(scenario, m)) for m in pledging
    ]
    engine_check(scenario)  # imports and caches warm, as in a long-lived process
    runs_e, runs_r = [], []
    for _ in range(args.repeats):
        check, wall, cpu = _timed(lambda: engine_check(scenario))
        runs_e.append((wall, cpu))
        objectives, wall, cpu = _timed(lambda: raw_check(models))
        runs_r.append((wall, cpu))
    alone = dict(zip(check.members["member"], check.members["standalone_value"], strict=True))
    worst = max(
        abs(alone[m] - o) / max(1.0, abs(o)) for m, o in zip(pledging, objectives[1:], strict=True)
    )
    fund_gap = abs(check.result.objective - objectives[0]) / max(1.0, abs(objectives[0]))
    _, p_wall, p_cpu = _timed(lambda: solve_with_participation(scenario, alone))
    e_wall = statistics.median(w for w, _ in runs_e)
    e_cpu = statistics.median(c for _, c in runs_e)
    r_wall = statistics.median(w for w, _ in runs_r)
    r_cpu = statistics.median(c for _, c in runs_r)
    print(f"default scenario: the fund + {len(pledging)} members alone ({args.repeats} repeats)")
    print(f"{'':34} {'wall s':>8} {'CPU s':>8}")
    print(f"{'engine stability check':34} {e_wall:8.3f} {e_cpu:8.3f}")
    print(f"{'raw highspy, same models':34} {r_wall:8.3f} {r_cpu:8.3f}")
    print(f"{'ratio engine / raw':34} {e_wall / r_wall:8.2f} {e_cpu / r_cpu:8.2f}")
    print(f"{'participation re-solve (once)':34} {p_wall:8.3f} {p_cpu:8.3f}")
    print(
        f"unstable members: {len(check.unstable)}; goal < 2 s: {'met' if e_wall < 2 else 'MISSED'}"
    )
    print(f"largest relative gap, standalone vs raw: {worst:.1e}; fund vs raw: {fund_gap:.1e}")


if __name__ == "__main__":
    main()
