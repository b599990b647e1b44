"""``optimise.py robust``, ``alternatives`` and ``frontier`` as users run them: exit codes,
messages and the files of ``--out``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli_runs import CLI_ENV, Ran, cli
from tests.test_robust import tiny_data

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # each command solves a stochastic programme


def run(*args: str) -> Ran:
    return cli("optimise.py", *args, env=CLI_ENV)


def own_process(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: what one shared process could hide (hash seeds, import-time state)."""
    return subprocess.run(
        [sys.executable, "optimise.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **CLI_ENV},
    )


@pytest.fixture
def scenario(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(project=True)))
    return str(path)


def test_robust_prints_the_comparison_and_writes_the_files(scenario, tmp_path):
    out = tmp_path / "robust"
    args = ["robust", scenario, "--source", "stated", "--futures", "4"]
    done = run(*args, "--out-of-sample", "25", "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "robust" in done.stdout
    assert "median" in done.stdout
    assert "VSS" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    for key in ("expected_value", "cvar", "vss_median", "vss_p10", "evpi"):
        assert isinstance(summary[key], float)
    assert summary["futures"] == 4
    assert summary["out_of_sample_futures"] == 25
    assert summary["evpi"] >= -1e-7
    with (out / "areas.csv").open() as f:
        areas = {r["area"]: r for r in csv.DictReader(f)}
    assert 0.0 <= float(areas["alpha"]["floor_probability"]) <= 1.0
    assert areas["beta"]["floor_probability"] == ""  # no floor
    with (out / "allocation.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["year"] for r in rows} == {"2026"}
    with (out / "recourse.csv").open() as f:
        recourse = list(csv.DictReader(f))
    assert {r["year"] for r in recourse} == {"2027"}
    assert {r["future"] for r in recourse} == {"0", "1", "2", "3"}
    assert (out / "decisions.csv").exists()


def test_robust_is_reproducible_with_the_same_seed(scenario, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["robust", scenario, "--source", "stated", "--futures", "3"]
        done = own_process(*args, "--out-of-sample", "10", "--no-evpi", "--out", str(out))
        assert done.returncode == 0, done.stderr
        outs.append(json.loads((out / "summary.json").read_text()))
    for key in ("expected_value", "cvar", "vss_median", "vss_p10"):
        assert outs[0][key] == outs[1][key]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--floors", "sometimes", "--floors"),
        ("--objective", "cvar:2", "--objective"),
        ("--source", "guess", "--source"),
    ],
)
def test_robust_refuses_bad_options_with_exit_2(scenario, option, value, words):
    done = run("robust", scenario, option, value)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler tcp://127.0.0.1:9: cannot connect"),
        (["--scheduler", "local:0"], "--scheduler local:0"),
        (["--scheduler", "local", "--method", "extensive"], "--scheduler"),
    ],
)
def test_robust_refuses_a_bad_scheduler_with_exit_2(scenario, extra, words):
    done = run("robust", scenario, "--source", "stated", "--futures", "3", *extra)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_robust_names_the_path_when_the_forecast_futures_cannot_be_made(scenario):
    done = run("robust", scenario, "--path", "nopath", "--futures", "3")
    assert done.returncode == 2, done.stderr
    assert "--path nopath: unknown policy path 'nopath'" in done.stderr
    assert "--source stated" in done.stderr
    assert "--futures" not in done.stderr


def test_alternatives_and_frontier_print_tables(scenario):
    done = run("alternatives", scenario, "--within", "5%", "--count", "2")
    assert done.returncode == 0, done.stderr
    assert "alternative 2" in done.stdout
    assert "below the optimum" in done.stdout
    done = run("frontier", scenario, "--over", "budget")
    assert done.returncode == 0, done.stderr
    assert "per extra unit" in done.stdout
    bad = run("alternatives", scenario, "--within", "lots")
    assert bad.returncode == 2
    assert "--within" in bad.stderr


def test_alternatives_of_an_infeasible_scenario_give_the_diagnosis(tmp_path: Path):
    path = tmp_path / "inf.yaml"
    data = {
        "fund": {"name": "F", "unit": "bn", "years": [2026]},
        "members": [{"id": "DEU", "pledge": "1bn"}, {"id": "FRA", "pledge": "5bn"}],
        "areas": [{"id": "cyber", "floor": "3bn"}, {"id": "space"}],
    }
    data["members"][1]["opt_out"] = ["cyber"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = run("alternatives", str(path))
    assert done.returncode == 1
    assert "lower the cyber floor in 2026 by $2bn" in done.stdout
    assert "Infeasible" not in done.stdout + done.stderr


def test_frontier_takes_the_forecast_path_its_advice_names(scenario):
    done = run("frontier", scenario, "--over", "risk", "--futures", "3", "--path", "nopath")
    assert done.returncode == 2, done.stderr
    assert "unknown policy path 'nopath'" in done.stderr
    assert "No such option" not in done.stderr
