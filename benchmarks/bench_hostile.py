"""Hostile and huge inputs: how fast, and in how much memory, each is refused (issue 15).

    python -m benchmarks.bench_hostile [--only SUBSTRING]
    python -m benchmarks.bench_hostile --fuzz N


Runs every case of ``tests/test_hostile_inputs.py`` (the same builders) through the real
CLI under ``/usr/bin/time -v`` and prints, per case, whether it was refused cleanly (exit
2, the expected words, no traceback), the wall time and peak memory, side by side with a
valid command of the same face (``optimise.py validate aspf-2026``, ``forecast.py run``
on the test CSV) as the ratio.

With ``--fuzz N`` it runs instead the fuzzer of ``tests/test_hostile_fuzz.py`` (the same
strategies and oracle, derandomized) with N examples per strategy, and prints how many
cases each generated and how many broke the contract, with the first problems of each.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_hostile_inputs import ALL_CASES, FORECAST_CSV  # noqa: E402

_RUN = ["run", "--data", str(FORECAST_CSV), "--horizon", "2", "--model", "naive", "--jobs", "1"]
REFERENCE = {"optimise.py": ["validate", "aspf-2026"], "forecast.py": [*_RUN, "--out"]}


def timed(script: str, args: list[str]) -> tuple[int, str, float, float, float]:
    """Exit code, output, wall seconds, peak resident MiB and CPU seconds of one command."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, str(ROOT / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    at = proc.stderr.rfind("Command being timed")
    stats = proc.stderr[at:]
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", stats)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats)
    assert wall is not None, stats
    assert rss is not None, stats
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", stats))
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return proc.returncode, proc.stdout + proc.stderr[:at], seconds, int(rss.group(1)) / 1024, cpu


def _clean(code: int, output: str, words: tuple[str, ...]) -> bool:
    text = " ".join(output.split())
    bad = "Traceback" in text or "internal error" in text
    return code == 2 and not bad and all(w in text for w in words)


def fuzz_strategy(strategy: Any, examples: int) -> tuple[int, list[list[str]]]:
    """Run one fuzz strategy for ``examples`` cases: how many ran, and each one's problems
    (see :func:`tests.fuzz_inputs.problems`) for those that broke the contract."""
    from hypothesis import HealthCheck, Phase, given, settings

    from tests.fuzz_inputs import Case, problems

    found: list[list[str]] = []
    count = 0

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every case counted once: no shrinking, no replay
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Case) -> None:
        nonlocal count
        count += 1
        with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
            if problem := problems(case, Path(folder)):
                found.append(problem)

    run()
    return count, found


def fuzz(examples: int) -> None:
    """Run each fuzz strategy for ``examples`` cases and print what broke the contract."""
    from tests.test_hostile_fuzz import STRATEGIES

    total = failing = 0
    for name, strategy in STRATEGIES.items():
        start = time.perf_counter()
        count, found = fuzz_strategy(strategy, examples)
        print(f"{name}: {count} cases, {len(found)} broke the contract "
              f"({time.perf_counter() - start:.1f} s wall)")  # fmt: skip
        for problem in found[:5]:
            print("   ", "\n    ".join(line[:300] for line in problem))
        total, failing = total + count, failing + len(found)
    print(f"cases generated {total}, broke the contract {failing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name holds this")
    parser.add_argument("--fuzz", type=int, default=0, help="fuzz N examples per strategy")
    options = parser.parse_args()
    if options.fuzz:
        fuzz(options.fuzz)
        return
    with tempfile.TemporaryDirectory() as tmp:
        reference = {}
        for script, args in REFERENCE.items():
            extra = [str(Path(tmp) / "ref-out")] if script == "forecast.py" else []
            code, _, seconds, mib, cpu = timed(script, [*args, *extra])
            assert code == 0, (script, code)
            reference[script] = (cpu, mib)
            print(
                f"reference {script} {args[0]}: {seconds:.2f} s wall, {cpu:.2f} s CPU, "
                f"{mib:.0f} MiB"
            )
        rows = []
        for i, (script, name, build, words) in enumerate(ALL_CASES):
            if options.only not in name:
                continue
            case_dir = Path(tmp) / f"case{i}"
            case_dir.mkdir()
            code, output, seconds, mib, cpu = timed(script, build(case_dir))
            rows.append((cpu, seconds, mib, _clean(code, output, words), code, script, name))
    print()
    head = f"{'case':44} {'exit':>4} {'clean':>5} {'CPU s':>6} {'x ref':>6} {'wall s':>7}"
    print(f"{head} {'MiB':>6} {'x ref':>6}")
    for cpu, seconds, mib, clean, code, script, name in sorted(rows, reverse=True):
        ref_cpu, ref_mib = reference[script]
        print(
            f"{script[:-3] + ': ' + name:44.44} {code:>4} {'yes' if clean else 'NO':>5} "
            f"{cpu:6.2f} {cpu / ref_cpu:6.2f} {seconds:7.2f} {mib:6.0f} {mib / ref_mib:6.2f}"
        )
    slowest = max(rows)
    print()
    print(
        f"cases tried {len(rows)}, refused cleanly {sum(r[3] for r in rows)}; slowest refusal "
        f"{slowest[5]} '{slowest[6]}': {slowest[0]:.2f} CPU s ({slowest[1]:.2f} s wall), "
        f"peak {slowest[2]:.0f} MiB; largest memory {max(r[2] for r in rows):.0f} MiB"
    )


if __name__ == "__main__":
    main()
