"""``optimise.py`` end to end, as users run it: exit codes, messages, files.

Every test runs the real entry point from the repository root: in the module's shared CLI
process (:func:`tests.cli_runs.cli`, a second of start-up saved per command), and a few
also in a subprocess of their own (:func:`own_process`), as a user would.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_runs import CLI_ENV, Ran, cli

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


def run(*args: str) -> Ran:
    return cli("optimise.py", *args)


def own_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "optimise.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **CLI_ENV},
    )


def default_data() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def area(data: dict[str, Any], area_id: str) -> dict[str, Any]:
    return next(a for a in data["areas"] if a["id"] == area_id)


def member(data: dict[str, Any], member_id: str) -> dict[str, Any]:
    return next(m for m in data["members"] if m["id"] == member_id)


def _typo(d):
    area(d, "cyber")["florr"] = "5bn"


def _duplicate(d):
    d["members"].append(dict(member(d, "DEU")))


def _unknown_member(d):
    d["policies"][0]["members"] = ["DEU", "XYZ"]


def _unknown_area(d):
    member(d, "GBR")["opt_out"] = ["space", "atlantis"]


def _negative_pledge(d):
    member(d, "DEU")["pledge"] = "-5bn"


def _floor_above_ceiling(d):
    area(d, "cyber")["ceiling"] = "1bn"


def _share_above_one(d):
    area(d, "cyber")["ceiling"] = "150%"


def _nan_floor(d):
    area(d, "cyber")["floor"] = float("nan")


def _infinite_pledge(d):
    member(d, "DEU")["pledge"] = float("inf")


def _empty_horizon(d):
    d["fund"]["years"] = []


# (how to break the default scenario, the field path the message must name, a word in it)
BAD_FILES = {
    "unknown key": (_typo, "areas[cyber].florr", "unknown field"),
    "duplicate id": (_duplicate, "members[DEU]", "duplicate"),
    "unknown member": (_unknown_member, "policies[emerging_tech].members", "XYZ"),
    "unknown area": (_unknown_area, "members[GBR].opt_out", "atlantis"),
    "negative pledge": (_negative_pledge, "members[DEU].pledge", "negative"),
    "floor above ceiling": (_floor_above_ceiling, "areas[cyber].floor", "the ceiling 1bn"),
    "share above 100%": (_share_above_one, "areas[cyber].ceiling", "100%"),
    "NaN": (_nan_floor, "areas[cyber].floor", "finite"),
    "infinite": (_infinite_pledge, "members[DEU].pledge", "finite"),
    "empty horizon": (_empty_horizon, "fund.years", "is empty; give at least one entry"),
}


def assert_bad_input(proc: subprocess.CompletedProcess[str] | Ran, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_scenario_file_exits_2_naming_file_and_field(case: str, tmp_path: Path) -> None:
    breaker, field, word = BAD_FILES[case]
    data = default_data()
    breaker(data)
    path = write_yaml(tmp_path / "broken.yaml", data)
    assert_bad_input(run("solve", str(path)), str(path), field, word)


def test_file_that_is_not_yaml_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "garbled.yaml"
    path.write_text("fund: [unclosed\nmembers: {", encoding="utf-8")
    assert_bad_input(run("solve", str(path)), str(path), "not valid YAML")


def test_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert_bad_input(own_process("solve", str(path)), str(path), "not found")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: 21 MB on paper, no disk used
        handle.truncate(21 * 1024 * 1024)
    assert_bad_input(run("validate", str(path)), str(path), "limit")


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        ("areas.cybr.floor=4bn", ["cybr", "known:"]),
        ("areas.cyber.floor=abc", ["areas[cyber].floor", "abc"]),
        ("nonsense", ["PATH=VALUE"]),
        ("fund.name.first=x", ["fund.name", "not a section"]),
    ],
)
def test_bad_set_edit_exits_2(edit: str, needles: list[str]) -> None:
    assert_bad_input(run("solve", str(DEFAULT), "--set", edit), *needles)


def test_unknown_solver_exits_2() -> None:
    assert_bad_input(run("solve", "--solver", "gurobi"), "unknown solver", "highs")


def test_infeasible_scenario_exits_1_naming_the_conflict() -> None:
    # Without its four largest members the cyber area cannot reach a $60bn floor.
    opt_outs = [f"members.{m}.opt_out=[cyber]" for m in ("DEU", "GBR", "FRA", "POL")]
    args = [a for edit in opt_outs for a in ("--set", edit)]
    proc = own_process("solve", str(DEFAULT), *args, "--set", "areas.cyber.floor=60bn", "--json")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "infeasible"
    assert "cyber floor" in summary["message"]
    assert "from $60bn" in summary["message"]
    assert "members who joined cyber can give at most $" in summary["message"]


def test_the_terminal_diagnosis_keeps_the_area_and_year_of_each_constraint(tmp_path: Path) -> None:
    # A hard floor of 12bn a year against a 10% absorption limit: the row names carry
    # [area,year], which the terminal's markup would otherwise swallow as a style tag.
    scenario = {
        "fund": {"name": "Absorption against a floor", "unit": "bn", "years": [2026, 2027, 2028]},
        "members": [{"id": "DEU", "pledge": {2026: "10bn", 2027: "10bn", 2028: "30bn"}}],
        "areas": [
            {"id": "cyber", "floor": "12bn", "absorption": "10%", "hard": True},
            {"id": "space", "ceiling": 0},
        ],
    }
    proc = run("solve", str(write_yaml(tmp_path / "s.yaml", scenario)))
    assert proc.returncode == 1, proc.stderr
    shown = " ".join(proc.stdout.split())
    assert "floor[cyber,2026]" in shown
    assert "absorption_up[cyber,2027]" in shown


def test_validate_refuses_what_solve_refuses_naming_the_file(tmp_path: Path) -> None:
    # A project cost of $0.5 in a fund counted in bn: only the built model shows it.
    scenario = {
        "fund": {"name": "Tiny cost", "unit": "bn", "years": [2026]},
        "members": [{"id": "DEU", "pledge": "5bn"}],
        "areas": [{"id": "space"}],
        "projects": [{"id": "p1", "area": "space", "cost": {2026: 0.5}, "value": 1}],
    }
    path = write_yaml(tmp_path / "tiny.yaml", scenario)
    for command in ("validate", "solve"):
        assert_bad_input(run(command, str(path)), str(path), "out of scale", "projects")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_default_scenario_writes_the_contract_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("solve", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for name, columns in {
        "allocation.csv": ["member", "area", "year", "amount"],
        "areas.csv": ["area", "year", "amount", "share", "value"],
        "members.csv": ["member", "year", "pledged", "allocated", "unspent"],
        "constraints.csv": ["name", "kind", "slack", "shadow_price", "binding"],
    }.items():
        header = (out / name).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert [c for c in header if c in columns] == columns, (name, header)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {
        "status",
        "objective",
        "total_allocated",
        "solver",
        "solve_seconds",
        "scenario_sha256",
    } <= set(summary)
    assert summary["status"] == "optimal"
    assert len(summary["scenario_sha256"]) == 64

    scenario = default_data()
    members = read_csv(out / "members.csv")
    ids = {m["id"] for m in scenario["members"]}
    assert {r["member"] for r in members} == ids
    assert len(members) == len(ids) * len(scenario["fund"]["years"])
    assert {"USA", "ISL"} <= ids  # members pledging nothing are listed too
    pledged = sum(float(r["pledged"]) for r in members)
    allocated = sum(float(r["allocated"]) for r in members)
    unspent = sum(float(r["unspent"]) for r in members)
    assert pledged == pytest.approx(allocated + unspent, rel=1e-9)
    given: dict[str, float] = {}
    for row in read_csv(out / "allocation.csv"):
        given[row["member"]] = given.get(row["member"], 0.0) + float(row["amount"])
    for mid in ids:
        mine = sum(float(r["pledged"]) for r in members if r["member"] == mid)
        assert given.get(mid, 0.0) <= mine * (1 + 1e-9) + 1e3
    assert summary["total_allocated"] == pytest.approx(sum(given.values()), rel=1e-9)


def test_out_refuses_a_folder_holding_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert_bad_input(run("solve", "--out", str(out)), "notes.txt")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_json_prints_the_summary_only() -> None:
    proc = run("solve", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "optimal"
    assert summary["solver"] == "highs"


def test_cbc_solves_the_default_to_the_same_value() -> None:
    highs = json.loads(run("solve", "--json").stdout)
    proc = run("solve", "--json", "--solver", "cbc")
    assert proc.returncode == 0, proc.stderr
    cbc = json.loads(proc.stdout)
    assert cbc["solver"] == "cbc"
    assert cbc["objective"] == pytest.approx(highs["objective"], rel=1e-6)


def test_schema_prints_valid_json_schema() -> None:
    proc = run("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert {"fund", "members", "areas"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"fund", "members", "areas"}


def test_validate_accepts_the_shipped_scenarios() -> None:
    for name in ("aspf-2026", "nif"):
        proc = run("validate", name)
        assert proc.returncode == 0, proc.stderr
        assert "valid" in proc.stdout


def test_no_arguments_solves_the_default_scenario() -> None:
    proc = own_process()
    assert proc.returncode == 0, proc.stderr
    assert "optimal" in proc.stdout
    assert "Alternative Security Partnership Fund" in proc.stdout


def test_a_plain_number_too_small_for_the_currency_is_refused_in_whatif():
    done = run("whatif", "aspf-2026", "--set", "areas.cyber.floor=12")
    assert done.returncode == 2
    assert "areas[cyber].floor" in done.stderr
    assert "write 12bn" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_whatif_floor_edit_shows_its_changes_with_one_precision():
    done = run("whatif", "aspf-2026", "--set", "areas.cyber.floor=12bn")
    assert done.returncode == 0, done.stderr
    assert "Area funding changes: none" not in done.stdout
    rows = [ln for ln in done.stdout.splitlines() if ln.startswith("│ cyber ")]
    assert rows, done.stdout
    assert all("$10.00bn" in r and "$12.00bn" in r and "+$2.00bn" in r for r in rows)
    amounts = [c for ln in done.stdout.splitlines() for c in ln.split("│") if "bn" in c]
    assert amounts
    assert all(re.search(r"\$\d[\d,]*\.\d\dbn", c) for c in amounts), amounts


def test_solve_says_how_much_pledged_money_no_rule_let_an_area_take(tmp_path: Path) -> None:
    # Only FRA may fund ai, whose floor is half the year's total: DEU can give 2bn of 10bn.
    path = tmp_path / "idle.yaml"
    path.write_text(
        "fund: {name: Idle, years: [2026]}\n"
        "members:\n"
        "  - {id: DEU, pledge: 10bn, opt_out: [ai]}\n"
        "  - {id: FRA, pledge: 2bn}\n"
        "areas: [{id: ai, floor: 50%}, {id: cyber}]\n"
    )
    done = run("solve", str(path))
    assert done.returncode == 0, done.stderr
    assert "$8bn of the pledged money is not allocated" in " ".join(done.stdout.split())
    default = run("solve", "aspf-2026")
    assert "not allocated" not in default.stdout
