"""Rounding that adds up (issue 14): one money formatter, equal figures shown alike, one
precision per column, and totals that are the sums of the figures shown (or say so)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import column_digits, footed, format_money, money_column, shown_total
from engine.files.scenario_files import load_scenario
from tests.cli_runs import cli

ROOT = Path(__file__).resolve().parents[1]
MONEY = re.compile(r"(?:\$|EUR |£)([\d,]+(?:\.(\d+))?)(bn|m|k)")


def _cli(*args: str) -> str:
    # The real entry point, in the shared CLI process (tests/cli_runs.py), 200 columns wide.
    done = cli("optimise.py", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cells(line: str) -> list[str]:
    """A table row's cells after its first (columns are apart by two spaces or more)."""
    return re.split(r"\s{2,}", line.strip())[1:]


def _row(text: str, first: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if re.match(rf"^{re.escape(first)}\s{{2,}}", ln))
    return _cells(line)


def _number(cell: str) -> Decimal:
    match = MONEY.search(cell)
    assert match, cell
    return Decimal(match.group(1).replace(",", ""))


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (155e6, "$0.16bn"),
        (155e6 * (1 + 1e-15), "$0.16bn"),
        (155e6 * (1 - 1e-15), "$0.16bn"),
        (0.155e9 + 0.4, "$0.16bn"),  # an allocation off by the solver's tolerance
        (4.475e9, "$4.48bn"),
        (98e9, "$98bn"),
        (float("nan"), "n/a"),
        (-0.0, "$0bn"),
    ],
)
def test_equal_amounts_show_alike_rounded_half_up(amount: float, shown: str) -> None:
    assert format_money(amount, "USD", "bn") == shown


def test_a_column_has_one_precision():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "aspf-2026.yaml")
    cells = money_column([9e9, 9.7e9, 25e9, 10e9], sc)
    assert {len(MONEY.search(c).group(2)) for c in cells} == {2}
    assert money_column([9e9, 10e9], sc) == ["$9bn", "$10bn"]


@given(st.lists(st.floats(0, 1e11, allow_nan=False), min_size=1, max_size=30))
@settings(max_examples=200, derandomize=True, deadline=None)
def test_footed_figures_add_up_to_their_rounded_total(amounts: list[float]) -> None:
    digits = column_digits(amounts, "bn", exact=False)
    shown = footed(amounts, "bn", digits)
    assert format_money(shown_total(shown, "bn", digits), "USD", "bn", digits) == format_money(
        sum(amounts), "USD", "bn", digits
    )
    for a, s in zip(amounts, shown, strict=True):
        assert abs(a - s) <= 10 ** (9 - digits) * 1.0000001


@pytest.mark.parametrize(
    ("scenario", "members"), [("aspf-2026", ["MNE", "PRT"]), ("diana", ["CZE"])]
)
def test_the_cli_shows_pledged_and_allocated_alike_and_totals_that_add_up(scenario, members):
    text = _cli("solve", scenario)
    for member in members:
        pledged, allocated, _ = _row(text, member)
        assert pledged == allocated
    # Members over the horizon: one precision per column, the total row is their sum.
    block = text[text.index("Members over the horizon") :]
    rows = [ln for ln in block.splitlines() if re.match(r"^[A-Z]{3}\s{2,}(?:\$|EUR|£)", ln)]
    cells = [_cells(ln) for ln in rows]
    total = _row(block, "total")
    for k in range(3):
        column = [row[k] for row in cells]
        assert len({len(MONEY.search(c).group(2) or "") for c in column}) == 1, column
        assert sum(_number(c) for c in column) == _number(total[k])
    # Allocation by area (bare figures, the unit in the title): each year's total is the
    # sum of its figures as shown.
    area = text[text.index("Allocation by area (") : text.index("Members over the horizon")]
    lines = [ln for ln in area.splitlines() if re.match(r"^(?!total|area\s)[a-z_]+\s{2,}\d", ln)]
    grid = [[Decimal(c.replace(",", "")) for c in _cells(ln)] for ln in lines]
    total = [Decimal(c.replace(",", "")) for c in _row(area, "total")]
    assert len(grid) >= 3
    for k in range(len(total)):
        assert sum(row[k] for row in grid) == total[k]


@pytest.mark.parametrize("scenario", ["aspf-2026", "diana", "nif"])
def test_at_80_columns_solve_tables_keep_whole_ids_and_unwrapped_money(scenario: str) -> None:
    """Issue 14: at 80 columns rich cut ids ("capacity_build…") and wrapped money cells."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "optimise.py", "solve", scenario],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in done.stdout
    sc = load_scenario(ROOT / "datasets" / "scenarios" / f"{scenario}.yaml")
    starts = {line.split(" ", 1)[0] for line in lines}
    assert {a.id for a in sc.areas} <= starts  # every area's row names it whole
    for line in lines:  # a money cell is never split across lines
        assert not re.search(r"(?:\$|EUR|£)[\d,.]*$", line.rstrip()), line


def test_just_below_the_line_names_the_exclusion_that_keeps_a_project_out() -> None:
    """Issue 14: "just below the line: ammo_plant_rou" did not say that the exclusion with
    the funded Polish plant blocks it."""
    text = _cli("solve", "aspf-2026")
    block = text[text.index("Just below the line") :]
    line = next(ln for ln in block.splitlines() if ln.startswith("ammo_plant_rou"))
    assert "excluded by one_ammo_plant: ammo_plant_pol funded" in line
