"""Time report generation for the default scenario, phase by phase, with the PDF step
compared side by side against Chromium's own print-to-PDF; or whole commands, side by
side with another checkout of the repository.

    python -m benchmarks.bench_reports [--repeats 3] [--forecast]
    python -m benchmarks.bench_reports --whole [--baseline DIR] [--repeats 3]

Prints wall and CPU seconds per phase (median over repeats) and the ratio of WeasyPrint
to Chromium for the PDF. CPU seconds include child processes (the forecast's backtest
runs in a forked child), so they say what an idle machine's wall clock would show at most.

``--whole`` runs the report and forecast commands as a user would, each a fresh process,
alternating with the same commands in ``--baseline`` (e.g. an older commit unpacked with
``git archive COMMIT | tar -x -C DIR``), and prints both and their ratios. Its CPU seconds
count every descendant process, including those a command leaves behind (this process
adopts and reaps them: Linux's child subreaper).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.files.scenario_files import load_scenario
from reports.allocation import Inputs, allocation_report
from reports.excel import xlsx_bytes
from reports.html import render_html
from reports.pdf import pdf_bytes

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"
CHROMIUM = Path("/usr/bin/chromium")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _time(func: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), _cpu()
    value = func()
    return time.perf_counter() - wall, _cpu() - cpu, value


def _chromium_pdf(html: str) -> bytes:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        page_file = Path(folder) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(page_file.as_uri())
        pdf = page.pdf(format="A4", print_background=True)
        browser.close()
        return pdf


#: Whole commands (``{out}``: a scratch folder), as in benchmarks/RESULTS_reports.md.
COMMANDS = {
    "forecast.py report --pdf --xlsx": (
        ["forecast.py", "report", "--out", "{out}/f/report.html", "--pdf", "--xlsx"]
    ),
    "forecast.py": ["forecast.py"],
    "optimise.py report --pdf --xlsx": (
        ["optimise.py", "report", "aspf-2026", "--out", "{out}/r/report.html", "--pdf", "--xlsx"]
    ),
}
PR_SET_CHILD_SUBREAPER = 36


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _run_whole(root: Path, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command run in ``root``, every descendant included."""
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, *[a.format(out=out) for a in args]]
        cpu, wall = _children_cpu(), time.perf_counter()
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - wall
        while True:  # reap the processes the command left behind, adopted by this one
            try:
                os.wait()
            except ChildProcessError:
                break
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} in {root} failed:\n{done.stderr}")
        return wall, _children_cpu() - cpu


def whole(baseline: Path | None, repeats: int) -> None:
    """Time whole commands here and in ``baseline``, alternating, and print the ratios."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    trees = {"this tree": ROOT, **({"baseline": baseline} if baseline else {})}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for command, args in COMMANDS.items():
            for tree, root in trees.items():
                times.setdefault((command, tree), []).append(_run_whole(root, args))
    print(f"load average {os.getloadavg()[0]:.1f} at the end; {repeats} repeats; medians")
    print(f"{'command':34} {'tree':10} {'wall s':>8} {'CPU s':>8}")
    for (command, tree), values in times.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{command:34} {tree:10} {wall:8.2f} {cpu:8.2f}")
        if tree == "baseline":
            here = times[(command, "this tree")]
            ratio_wall = wall / statistics.median(v[0] for v in here)
            ratio_cpu = cpu / statistics.median(v[1] for v in here)
            print(f"{'':34} {'ratio':10} {ratio_wall:7.2f}x {ratio_cpu:7.2f}x  (baseline / this)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--forecast", action="store_true", help="also time the forecast report")
    parser.add_argument("--whole", action="store_true", help="time whole commands instead")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    if args.whole:
        whole(args.baseline, args.repeats)
        return
    rows: dict[str, list[tuple[float, float]]] = {}

    def record(name: str, func: Callable[[], object]) -> object:
        wall, cpu, value = _time(func)
        rows.setdefault(name, []).append((wall, cpu))
        return value

    scenario = load_scenario(ASPF)
    for _ in range(args.repeats):
        report = record(
            "allocation: solve + build", lambda: allocation_report(Inputs(scenario, ASPF))[0]
        )
        html = record("allocation: HTML", lambda r=report: render_html(r))
        record("allocation: PDF (WeasyPrint)", lambda h=html: pdf_bytes(h))
        if CHROMIUM.exists():
            record("allocation: PDF (Chromium print)", lambda h=html: _chromium_pdf(h))
        record("allocation: Excel", lambda r=report: xlsx_bytes(r))
        if args.forecast:
            from models import fund
            from reports.forecast_inputs import ForecastOptions, forecast_data
            from reports.forecast_report import forecast_report

            fund.clear_caches()  # every repeat fits, as a fresh process does
            data = record(
                "forecast: models (backtest in a child)",
                lambda: forecast_data(scenario, ASPF, ForecastOptions()),
            )
            freport = record("forecast: build", lambda d=data: forecast_report(d, ()))
            fhtml = record("forecast: HTML", lambda r=freport: render_html(r))
            record("forecast: PDF (WeasyPrint)", lambda h=fhtml: pdf_bytes(h))
            record("forecast: Excel", lambda r=freport: xlsx_bytes(r))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.repeats} repeats; medians")
    print(f"{'phase':42} {'wall s':>8} {'CPU s':>8}")
    medians = {}
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        medians[name] = (wall, cpu)
        print(f"{name:42} {wall:8.2f} {cpu:8.2f}")
    for kind in ("allocation", "forecast"):
        phases = [v for k, v in medians.items() if k.startswith(kind) and "Chromium" not in k]
        if phases:
            wall = sum(v[0] for v in phases)
            cpu = sum(v[1] for v in phases)
            print(f"{kind + ': total (HTML+PDF+Excel)':42} {wall:8.2f} {cpu:8.2f}")
    weasy = medians.get("allocation: PDF (WeasyPrint)")
    chrome = medians.get("allocation: PDF (Chromium print)")
    if weasy and chrome:
        print(f"PDF: WeasyPrint / Chromium wall = {weasy[0] / chrome[0]:.2f}x")


if __name__ == "__main__":
    main()
