"""Usage errors of both entry points: one ``error:`` line naming the option, exit 2, and the
help the user asked for printed as before (cli/entry.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli_runs import ROOT, cli

CASES = [
    (("forecast.py", "run", "--data", "x.csv", "--horizon", "101"), "'--horizon'", "100"),
    (("forecast.py", "run", "--horizon", "2"), "Missing option '--data'", "run --help"),
    (
        ("forecast.py", "run", "--data", "x.csv", "--horizon", "2", "--windows", "0"),
        "'--windows'",
        "1",
    ),
    (
        ("forecast.py", "run", "--data", "x.csv", "--horizon", "2", "--levels", "abc"),
        "'--levels'",
        "number",
    ),
    (("forecast.py", "nonsense"), "No such command 'nonsense'", "forecast.py --help"),
    (("optimise.py", "solve", "--bogus"), "No such option: --bogus", "solve --help"),
    (("optimise.py", "solve", "--time-limit", "soon"), "'--time-limit'", "number"),
]


@pytest.mark.parametrize(
    ("args", "option", "words"), CASES, ids=[" ".join(c[0][:3]) for c in CASES]
)
def test_a_usage_error_is_one_line_naming_the_option_with_exit_2(args, option, words):
    ran = cli(*args)
    assert ran.returncode == 2
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("error: ")
    assert option in lines[0]
    assert words in lines[0]
    assert "Traceback" not in ran.stderr


def test_a_group_without_its_command_prints_its_help_and_nothing_on_stderr():
    ran = cli("optimise.py", "runs")
    assert ran.returncode == 2
    assert "List, summarise and export batch runs" in ran.stdout
    assert ran.stderr == ""


def test_help_still_exits_0():
    ran = cli("forecast.py", "run", "--help")
    assert ran.returncode == 0
    assert "--windows" in ran.stdout


def test_a_mistyped_shipped_scenario_name_is_not_called_a_file_type():
    ran = cli("optimise.py", "solve", "aspf-2062")
    assert ran.returncode == 2
    assert "aspf-2062: no such file or shipped scenario" in ran.stderr
    assert "unsupported file type" not in ran.stderr


@pytest.mark.parametrize(
    ("script", "args"),
    [("optimise.py", ["solve"]), ("forecast.py", ["fund", "--scenario"])],
)
def test_a_folder_given_as_the_scenario_is_called_a_folder(script, args, tmp_path):
    folder = tmp_path / "plans.yaml"
    folder.mkdir()
    ran = cli(script, *args, str(folder))
    assert ran.returncode == 2
    assert f"{folder}: is a folder, not a scenario file" in ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("args", [["optimise.py", "solve", "aspf-2026"], ["forecast.py"]])
def test_output_piped_into_a_reader_that_stops_exits_141_not_the_no_plan_code(args):
    # A real process: the reader closes the pipe before the command writes anything.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / args[0]), *args[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 141
    assert b"Traceback" not in err
