"""Counts and year spans read as a planner writes them."""

from __future__ import annotations

import pytest

from engine import count_noun, year_span


@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [(1, "member", "1 member"), (2, "member", "2 members"), (0, "area", "0 areas"),
     (1, "policy", "1 policy"), (3, "policy", "3 policies"), (2, "day", "2 days")],
)  # fmt: skip
def test_a_count_takes_the_noun_in_its_number(n, noun, expected):
    assert count_noun(n, noun) == expected


def test_one_year_is_written_once_and_a_run_as_first_last():
    assert year_span([2026]) == "2026"
    assert year_span([2026, 2027, 2028]) == "2026-2028"
