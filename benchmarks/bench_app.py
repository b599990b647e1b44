"""What-if latency in the web app: the page's Solve against a cold solve, in one run.

    python -m benchmarks.bench_app [--repeats 9]

On the default scenario (aspf-2026), each what-if edit (alternately the cyber floor and
Germany's pledge, numbers only) is timed four ways:
- page: the whole Solve click in the real page script (Streamlit's AppTest: the script
  run with the warm re-solve, the diff, shadow prices in words, and the re-render);
- app warm: what that click computes, without rendering: ``Resolver.solve`` near the
  baseline and ``whatif.compare``;
- ranges on request: the "Show where these prices hold" button (``sensitivity`` on the
  same resolver: one more solve and HiGHS ranging);
- warm solve only: ``Resolver.solve`` near the baseline (the new allocation itself);
- cold: ``engine.solving.pipeline.solve`` near the baseline plus ``compare`` (an app without a
  resolver);
- nearest plan on request: after an impossible edit (cyber floor $500bn), the "Find the
  nearest plan that works" button (``engine.analysis.nearest.nearest_feasible``: 16 feasibility
  solves in a bisection), timed once.
Prints medians of wall and CPU seconds and the ratios. Not a test: numbers depend on the
machine and on its other load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from datasets import DEFAULT_SCENARIO
from engine.analysis.nearest import nearest_feasible
from engine.analysis.sensitivity import sensitivity
from engine.analysis.whatif import compare
from engine.files.scenario_files import load_scenario
from engine.scenario.edits import apply_edits
from engine.scenario.schema import Scenario
from engine.solving.pipeline import solve
from engine.solving.resolver import Resolver

PAGE = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def edits_for(scenario: Scenario, repeats: int) -> list[str]:
    """Alternating floor and pledge edits (``--set`` text) that change only numbers."""
    pledge = scenario.member("DEU").pledges[scenario.fund.years[0]]
    return [
        f"areas.cyber.floor={11 + k}bn" if k % 2 == 0 else f"members.DEU.pledge={pledge * 1.1:.0f}"
        for k in range(repeats)
    ]


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_engine(scenario: Scenario, edits: list[str]) -> dict[str, list[tuple[float, float]]]:
    resolver = Resolver()
    base = resolver.solve(scenario)
    out: dict[str, list[tuple[float, float]]] = {
        "app warm": [],
        "ranges on request": [],
        "warm solve only": [],
        "cold": [],
    }
    for text in edits:
        edited = apply_edits(scenario, [text])

        def app_path(edited: Scenario = edited) -> None:
            compare(base, resolver.solve(edited, reference=base.allocation))

        def cold(edited: Scenario = edited) -> None:
            compare(base, solve(edited, reference=base.allocation))

        out["app warm"].append(timed(app_path))
        out["ranges on request"].append(timed(lambda e=edited: sensitivity(e, resolver)))
        out["warm solve only"].append(
            timed(lambda e=edited: resolver.solve(e, reference=base.allocation))
        )
        out["cold"].append(timed(cold))
    return out


def bench_page(edits: list[str]) -> list[tuple[float, float]]:
    from streamlit.testing.v1 import AppTest

    os.environ["ENGINE_APP_DATA"] = tempfile.mkdtemp(prefix="bench-app-")
    page = AppTest.from_file(PAGE, default_timeout=600).run()
    times = []
    for text in edits:
        next(t for t in page.text_input if t.label == "Edit (PATH=VALUE)").input(text).run()
        next(b for b in page.button if b.label == "Apply edit").click().run()
        solve_button = next(b for b in page.button if b.label == "Solve")
        times.append(timed(lambda b=solve_button: b.click().run()))
        if page.exception or page.error:
            raise RuntimeError(f"the page failed on {text}: {page.exception or page.error}")
    return times


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    scenario = load_scenario(DEFAULT_SCENARIO)
    edits = edits_for(scenario, args.repeats)
    results = bench_engine(scenario, edits)
    results["page"] = bench_page(edits)
    impossible = apply_edits(scenario, ["areas.cyber.floor=500bn"])
    results["nearest plan on request"] = [timed(lambda: nearest_feasible(scenario, impossible))]
    cold = statistics.median(w for w, _ in results["cold"])
    print(f"{DEFAULT_SCENARIO.name}: {len(edits)} edits, load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':<24}{'wall s':>9}{'cpu s':>9}{'cold/this':>11}")
    for name in (
        "page",
        "app warm",
        "ranges on request",
        "warm solve only",
        "cold",
        "nearest plan on request",
    ):
        wall = statistics.median(w for w, _ in results[name])
        cpu = statistics.median(c for _, c in results[name])
        print(f"{name:<24}{wall:>9.3f}{cpu:>9.3f}{cold / wall:>10.1f}x")


if __name__ == "__main__":
    main()
