"""Outputs written whole, as a set (issue 15): a kill never mixes old and new files.

``solve --out``, ``report --pdf --xlsx``, ``forecast.py run/backtest/fund --out`` all go
through :func:`engine.files.folder.write_folder` (files written into a temporary folder
beside the target, then swapped in one step). Killed at chosen points (deterministic) and
at seeded random moments (the real CLI), the set is always the old one or the new one,
every file complete, and the next run leaves no temporary litter.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.scenario_factory import tiny_scenario

ROOT = Path(__file__).resolve().parents[1]
FORECAST_CSV = ROOT / "tests" / "data" / "forecast" / "random_walks.csv"
LITTER = (".tmp-", ".old-", ".link-")


def command(script: str, *args: str) -> list[str]:
    return [sys.executable, str(ROOT / script), *args]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if any(k in p.name for k in LITTER))


# ---------------------------------------------------------------------- kills at set points

_KILLER = """
import os, signal, sys
from pathlib import Path
import engine.files.folder as folder
from engine import write_file_set, write_folder

out, stage = Path(sys.argv[1]), sys.argv[2]
def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
def second(path):
    path.write_text("new b")
    if stage == "mid-set":
        die()
if stage == "after-swap":
    folder.shutil.rmtree = die  # killed once the new set is in, before the old is removed
if stage == "fallback-between-renames":
    folder._exchange = lambda a, b: False
    real = folder.os.rename
    calls = []
    def rename(a, b):
        calls.append(a)
        real(a, b)
        if len(calls) == 1:
            die()
    folder.os.rename = rename
if sys.argv[3] == "folder":
    writers = {"a.csv": lambda p: p.write_text("new a"), "b.csv": second}
    write_folder(out, writers, ("a.csv", "b.csv"))
else:
    files = {out / "r.html": b"new a", out / "r.pdf": b"new b"}
    if stage == "mid-set":
        folder.write_folder = lambda target, writers, owned: die()
    write_file_set(files, ("r.html", "r.pdf", "r.xlsx"))
"""


def _kill_at(out: Path, stage: str, kind: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(out), stage, kind], cwd=ROOT, capture_output=True
    )
    return proc.returncode


@pytest.mark.parametrize(
    ("stage", "expected"),
    [("mid-set", "old"), ("after-swap", "new"), ("fallback-between-renames", None)],
)
def test_write_folder_killed_at_each_step_leaves_one_whole_set(
    tmp_path: Path, stage: str, expected: str | None
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old a")
    (out / "b.csv").write_text("old b")
    assert _kill_at(out, stage, "folder") == -signal.SIGKILL
    if expected is not None:
        assert {p.name: p.read_text() for p in out.iterdir()} == {
            "a.csv": f"{expected} a",
            "b.csv": f"{expected} b",
        }
    # The next run sweeps what the killed one left and writes the whole new set.
    from engine import write_folder

    write_folder(out, {"a.csv": lambda p: p.write_text("3 a")}, ("a.csv", "b.csv"))
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.csv": "3 a"}
    assert litter(tmp_path) == []


@pytest.mark.parametrize("stage", ["mid-set", "after-swap"])
def test_a_set_of_files_beside_each_other_is_replaced_in_one_step(
    tmp_path: Path, stage: str
) -> None:
    from engine import write_file_set

    owned = ("r.html", "r.pdf", "r.xlsx")
    write_file_set(
        {tmp_path / "r.html": b"old a", tmp_path / "r.pdf": b"old b", tmp_path / "r.xlsx": b"x"},
        owned,
    )
    assert _kill_at(tmp_path, stage, "set") == -signal.SIGKILL
    state = {n: (tmp_path / n).read_bytes() for n in owned if (tmp_path / n).exists()}
    if stage == "mid-set":
        assert state == {"r.html": b"old a", "r.pdf": b"old b", "r.xlsx": b"x"}
    else:  # the new set is in; the workbook it does not have is gone with the old set
        assert state == {"r.html": b"new a", "r.pdf": b"new b"}
    write_file_set({tmp_path / "r.html": b"3"}, owned)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.html.files", "r.html"]
    assert (tmp_path / "r.html").read_bytes() == b"3"


# ---------------------------------------------------------------------- one rule for --out


def test_forecast_run_refuses_a_folder_holding_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "forecast.csv").write_text("my own numbers\n")
    (out / "notes.txt").write_text("keep me\n")
    res = run(command("forecast.py", "run", "--data", str(FORECAST_CSV), "--horizon", "2",
                      "--model", "naive", "--out", str(out), "--jobs", "1"))  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "notes.txt" in res.stderr
    assert "did not write" in res.stderr
    assert (out / "forecast.csv").read_text() == "my own numbers\n"


def test_forecast_run_replaces_its_own_previous_output(tmp_path: Path) -> None:
    args = ["run", "--data", str(FORECAST_CSV), "--horizon", "2", "--model", "naive",
            "--out", str(tmp_path / "fc"), "--jobs", "1"]  # fmt: skip
    for _ in range(2):
        res = run(command("forecast.py", *args))
        assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "fc").iterdir()) == ["forecast.csv"]
    assert litter(tmp_path) == []


def test_report_refuses_a_set_folder_holding_foreign_files(tmp_path: Path) -> None:
    hidden = tmp_path / ".r.html.files"
    hidden.mkdir()
    (hidden / "mine.txt").write_text("x")
    res = run(command("optimise.py", "report", "aspf-2026", "--out", str(tmp_path / "r.html")))
    assert res.returncode == 2, res.stderr
    assert "mine.txt" in res.stderr
    assert not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------------- kills at random moments


def _generation(paths: list[Path], started: float) -> set[str]:
    return {"new" if p.stat().st_mtime >= started else "old" for p in paths}


def _complete(path: Path) -> bool:
    data = path.read_bytes()
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    if path.suffix == ".pdf":
        return data.rstrip().endswith(b"%%EOF")
    if path.suffix in (".xlsx",):
        return zipfile.is_zipfile(path)
    if path.suffix == ".csv":
        return data.endswith(b"\n")
    return True


def _kill_runs(cmd: list[str], visible: list[Path], kills: int, seed: int) -> list[str]:
    """Run ``cmd`` once whole (timed), then ``kills`` times killed at seeded random moments
    over the span where it writes; after each kill the visible set must be one generation,
    every file complete. Returns the states seen."""
    started = time.time()
    first = run(cmd)
    assert first.returncode == 0, first.stderr
    span = time.time() - started
    rng = random.Random(seed)
    seen = []
    for _ in range(kills):
        started = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.05) * span)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        generations = _generation(visible, started)
        assert len(generations) == 1, [(p.name, p.stat().st_mtime, started) for p in visible]
        assert all(_complete(p) for p in visible)
        seen.append(generations.pop())
    final = run(cmd)
    assert final.returncode == 0, final.stderr
    return seen


@pytest.mark.slow
def test_report_killed_at_random_moments_keeps_html_pdf_and_workbook_together(
    tmp_path: Path,
) -> None:
    # A hand-sized scenario: the set is the same three files, written the same way, and
    # each run costs half the default scenario's.
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario()), encoding="utf-8")
    out = tmp_path / "r.html"
    cmd = command("optimise.py", "report", str(scenario), "--out", str(out), "--pdf", "--xlsx")
    visible = [out, out.with_suffix(".pdf"), out.with_suffix(".xlsx")]
    _kill_runs(cmd, visible, kills=4, seed=15)
    assert litter(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".r.html.files",
        "r.html",
        "r.pdf",
        "r.xlsx",
        "tiny.yaml",
    ]


@pytest.mark.slow
def test_backtest_killed_at_random_moments_keeps_its_three_files_together(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    args = ["--horizon", "2", "--windows", "2", "--model", "drift", "--out", str(out)]
    cmd = command("forecast.py", "backtest", "--data", str(FORECAST_CSV), *args, "--jobs", "1")
    names = ("backtest_forecasts.csv", "metrics_series.csv", "metrics_overall.csv")
    _kill_runs(cmd, [out / n for n in names], kills=5, seed=16)
    assert litter(tmp_path) == []


@pytest.mark.slow
def test_solve_killed_at_random_moments_leaves_whole_results_and_no_litter(tmp_path: Path) -> None:
    out = tmp_path / "base"
    cmd = command("optimise.py", "solve", "aspf-2026", "--out", str(out))
    names = ("allocation.csv", "areas.csv", "members.csv", "constraints.csv", "summary.json")
    _kill_runs(cmd, [out / n for n in names], kills=5, seed=17)
    assert litter(tmp_path) == []


def test_kill_helpers_see_a_mixed_set(tmp_path: Path) -> None:
    """The generation check can fail: one old file beside a new one is caught."""
    old, new = tmp_path / "a.csv", tmp_path / "b.csv"
    old.write_text("x\n")
    os.utime(old, (1, 1))
    new.write_text("y\n")
    assert _generation([old, new], time.time() - 60) == {"old", "new"}


def test_an_out_folder_under_a_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    from engine import OutputError, check_folder

    (tmp_path / "afile").write_text("mine\n")
    with pytest.raises(OutputError, match=r"afile is a file, not a folder"):
        check_folder(tmp_path / "afile" / "sub" / "out", ("forecast.csv",))
    assert (tmp_path / "afile").read_text() == "mine\n"


@pytest.mark.parametrize(
    "command",
    [
        ["whatif", "aspf-2026", "--set", "areas.cyber.floor=14bn"],
        ["members", "aspf-2026"],
        # No plan exists here: the bad --out is named before any solve, not after.
        ["robust", "inf.yaml", "--futures", "2", "--source", "stated", "--floors", "hard"],
    ],
)
def test_a_bad_out_is_refused_before_the_work(tmp_path: Path, command: list[str]) -> None:
    from tests.cli_runs import cli

    (tmp_path / "afile").write_text("mine\n")
    data = tiny_scenario()
    data["areas"][0]["floor"] = "1000bn"
    (tmp_path / "inf.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    args = [str(tmp_path / a) if a == "inf.yaml" else a for a in command]
    done = cli("optimise.py", *args, "--out", str(tmp_path / "afile" / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "afile is a file, not a folder" in done.stderr
    assert (tmp_path / "afile").read_text() == "mine\n"
