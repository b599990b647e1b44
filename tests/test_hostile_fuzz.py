"""Hostile inputs generated, not hand-made: a deterministic fuzzer over both CLIs.

Hypothesis (``derandomize=True``: the same cases on every run) breaks the shipped
scenarios and the test series CSVs one way at a time (:mod:`tests.fuzz_scenarios`,
:mod:`tests.fuzz_series`) and runs each case through the real entry point in one shared
process (:func:`tests.cli_runs.cli`). Every outcome must keep the contract
(:func:`tests.fuzz_inputs.problems`): exit 0 only for valid input, 1 only for no plan,
2 for invalid input with a message naming the file (or option) and the field, never a
traceback, and an ``--out`` folder a refused command leaves as it was.

``benchmarks/bench_hostile.py --fuzz`` runs the same strategies with more examples and
counts what they find (benchmarks/RESULTS_hostile.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from tests.fuzz_edits import bad_edits, other_commands
from tests.fuzz_files import corrupted_files
from tests.fuzz_inputs import Case, problems
from tests.fuzz_scenarios import mutated_scenarios
from tests.fuzz_series import hostile_series

#: The strategies by name (benchmarks/bench_hostile.py --fuzz runs them too).
STRATEGIES: dict[str, SearchStrategy[Case]] = {
    "mutated": mutated_scenarios(),
    "corrupted": corrupted_files(),
    "edits": bad_edits(),
    "commands": other_commands(),
    "series": hostile_series(),
}
#: Examples per strategy: 670 commands in all, about 40 CPU s (RESULTS_hostile.md).
EXAMPLES = {"mutated": 200, "corrupted": 120, "edits": 120, "commands": 80, "series": 150}
FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_contract_kept(case: Case) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        found = problems(case, Path(folder))
    assert not found, "\n".join(found)


@settings(FUZZ, max_examples=EXAMPLES["mutated"])
@given(STRATEGIES["mutated"])
def test_mutated_scenario_fields_are_refused_by_file_and_field(case: Case) -> None:
    assert_contract_kept(case)


@settings(FUZZ, max_examples=EXAMPLES["corrupted"])
@given(STRATEGIES["corrupted"])
def test_corrupted_scenario_files_are_refused_naming_the_file(case: Case) -> None:
    assert_contract_kept(case)


@settings(FUZZ, max_examples=EXAMPLES["edits"])
@given(STRATEGIES["edits"])
def test_hostile_set_edits_are_refused_naming_the_edit(case: Case) -> None:
    assert_contract_kept(case)


@settings(FUZZ, max_examples=EXAMPLES["commands"])
@given(STRATEGIES["commands"])
def test_mutated_scenarios_are_refused_by_every_command_that_reads_them(case: Case) -> None:
    assert_contract_kept(case)


@settings(FUZZ, max_examples=EXAMPLES["series"])
@given(STRATEGIES["series"])
def test_hostile_series_and_options_are_refused_and_leave_out_alone(case: Case) -> None:
    assert_contract_kept(case)
