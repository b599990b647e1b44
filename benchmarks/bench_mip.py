"""MIP benchmark: the synthetic DIANA scenario at 300, 1,000 and 3,000 applications.

For each size and solver (HiGHS in-process, CBC through PuLP) it times building the model
apart from solving the MIP, with a 60 s limit: time to proven optimality (relative gap
1e-4, the engine's default) or the gap reached at the limit. It also times the whole
pipeline (``engine.solving.pipeline.solve``: MIP, LP with the decisions fixed, tie-break, margins of
the five best unselected applications, extraction) with HiGHS. Seeded; run:

    python -m benchmarks.bench_mip [--sizes 300 1000 3000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import time

from datasets.make_diana import diana
from engine.formulation.build import build_model
from engine.scenario.validate import validate_scenario
from engine.solving.backends import SolverOptions, solve_cbc, solve_highs
from engine.solving.pipeline import solve


def bench(n: int, time_limit: float) -> list[dict]:
    """Rows of measurements for one size: one per solver, plus the full pipeline."""
    scenario = validate_scenario(diana(n, seed=2026))
    start = time.perf_counter()
    model = build_model(scenario)
    build = time.perf_counter() - start
    rows = []
    for name in ("highs", "cbc"):
        options = SolverOptions(solver=name, time_limit=time_limit)
        if name == "highs":
            solution, _ = solve_highs(model, options)
        else:
            solution = solve_cbc(model, options)
        rows.append(
            {
                "n": n,
                "what": f"MIP {name}",
                "cols": model.n_cols,
                "rows": model.n_rows,
                "integers": len(model.integer),
                "build_s": build,
                "solve_s": solution.seconds,
                "status": solution.status.value,
                "gap": solution.mip_gap,
                "objective": solution.objective,
            }
        )
    start = time.perf_counter()
    result = solve(scenario, SolverOptions(time_limit=time_limit))
    rows.append(
        {
            "n": n,
            "what": "pipeline highs",
            "cols": model.n_cols,
            "rows": model.n_rows,
            "integers": len(model.integer),
            "build_s": result.summary["build_seconds"],
            "solve_s": time.perf_counter() - start,
            "status": result.status.value,
            "gap": result.summary.get("mip_gap"),
            "objective": result.objective,
        }
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a Markdown table with CBC/HiGHS time ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000])
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(
        "| applications | what | columns | rows | integers | build s | solve s | status | gap "
        "| objective | CBC/HiGHS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        rows = bench(n, args.time_limit)
        highs = rows[0]["solve_s"]
        for r in rows:
            ratio = f"{r['solve_s'] / highs:.1f}x" if r["what"] == "MIP cbc" else ""
            gap = "" if r["gap"] is None else f"{r['gap']:.2e}"
            print(
                f"| {r['n']:,} | {r['what']} | {r['cols']:,} | {r['rows']:,} | "
                f"{r['integers']:,} | {r['build_s']:.2f} | {r['solve_s']:.2f} | {r['status']} | "
                f"{gap} | {r['objective']:.4f} | {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
