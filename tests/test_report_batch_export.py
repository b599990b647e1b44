"""Batch outputs a planner reads (issue 14): ``runs export`` workbooks name each scenario
by its labels beside the 64-character id and are written 0644 like every other output;
``runs show`` keeps whole row names (rows of one rule differ only in them) at 80 columns
and shows shadow prices with significant digits."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.scenario_factory import tiny_scenario

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, str(ROOT / "optimise.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def n1_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An N-1 batch of the tiny scenario (each member leaves in turn) in its own store."""
    folder = tmp_path_factory.mktemp("batch")
    (folder / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()), encoding="utf-8")
    spec = {"name": "tiny-n1", "base": "base.yaml", "n_minus_1": True}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    done = _cli("batch", "sweep.yaml", "--store", "runs", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_an_exported_workbook_names_each_scenario_by_its_labels_and_is_0644(n1_store: Path):
    from openpyxl import load_workbook

    old = os.umask(0o022)
    try:
        done = _cli(
            "runs", "export", "tiny-n1", "--store", "runs", "--out", "n1.xlsx", cwd=n1_store
        )
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    path = n1_store / "n1.xlsx"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    book = load_workbook(path, read_only=True)
    results = list(book["results"].iter_rows(values_only=True))
    for sheet in ("area_funding", "allocations"):
        rows = list(book[sheet].iter_rows(values_only=True))
        assert rows[0][:2] == ("scenario_id", "leaves"), rows[0]
        position = {r[1]: r[2] for r in results[1:]}  # scenario_id -> leaves
        assert all(row[1] == position[row[0]] for row in rows[1:])


def test_runs_show_at_80_columns_keeps_whole_row_names_and_significant_prices(n1_store: Path):
    done = _cli("runs", "show", "tiny-n1", "--store", "runs", cwd=n1_store)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in done.stdout
    block = done.stdout[done.stdout.index("Constraints most often binding") :].splitlines()[3:]
    names = [line.split()[0] for line in block if re.match(r"^\S+\s+\d+%", line)]
    assert names, done.stdout
    assert len(names) == len(set(names))  # every row tells which constraint it is
    prices = [line.split()[-1] for line in block if re.match(r"^\S+\s+\d+%", line)]
    assert not any(re.fullmatch(r"-?0\.000", p) for p in prices)  # never a rounded zero
