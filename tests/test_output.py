"""The ``--out DIR`` files: contract columns, atomic replacement, foreign files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.errors import OutputError
from engine.files.results import frame_to_records, write_result
from engine.results.schema import Result
from engine.scenario.edits import apply_edits
from engine.scenario.schema import scenario_sha256
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve
from tests.scenario_factory import tiny_scenario

CONTRACT = {
    "allocation.csv": ["member", "area", "year", "amount"],
    "areas.csv": ["area", "year", "amount", "share", "value"],
    "members.csv": ["member", "year", "pledged", "allocated", "unspent"],
    "constraints.csv": ["name", "kind", "slack", "shadow_price", "binding"],
}
SUMMARY = {"status", "objective", "total_allocated", "solver", "solve_seconds", "scenario_sha256"}


@pytest.fixture(scope="module")
def result() -> Result:
    return solve(validate_scenario(tiny_scenario()))


@pytest.fixture(scope="module")
def infeasible() -> Result:
    sc = apply_edits(validate_scenario(tiny_scenario()), ["areas.cyber.floor=30bn"])
    return solve(sc)


def test_contract_files_hold_their_columns(result: Result, tmp_path: Path) -> None:
    out = write_result(result, tmp_path / "run")
    assert {p.name for p in out.iterdir()} == {*CONTRACT, "summary.json"}
    for name, columns in CONTRACT.items():
        frame = pd.read_csv(out / name)
        assert [c for c in frame.columns if c in columns] == columns, name
    assert list(pd.read_csv(out / "allocation.csv").columns) == CONTRACT["allocation.csv"]
    assert list(pd.read_csv(out / "areas.csv").columns) == CONTRACT["areas.csv"]


def test_files_hold_the_result_numbers(result: Result, tmp_path: Path) -> None:
    out = write_result(result, tmp_path / "run")
    allocation = pd.read_csv(out / "allocation.csv")
    assert allocation["amount"].to_numpy() == pytest.approx(result.allocation["amount"].to_numpy())
    members = pd.read_csv(out / "members.csv")
    assert set(members["member"]) == {"DEU", "FRA", "USA"}  # USA pledges nothing
    assert members.loc[members["member"] == "USA", "pledged"].eq(0).all()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY
    assert summary["objective"] == pytest.approx(result.objective)
    assert summary["scenario_sha256"] == scenario_sha256(result.scenario)
    assert summary["total_allocated"] == pytest.approx(allocation["amount"].sum())


def test_rewriting_a_previous_run_replaces_every_file(
    result: Result, infeasible: Result, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    write_result(infeasible, out)
    assert (out / "diagnosis.csv").exists()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"] == "infeasible"
    write_result(result, out)
    assert not (out / "diagnosis.csv").exists()  # no stale file from the earlier run
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"] == "optimal"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_infeasible_run_writes_the_diagnosis(infeasible: Result, tmp_path: Path) -> None:
    out = write_result(infeasible, tmp_path / "run")
    diagnosis = pd.read_csv(out / "diagnosis.csv")
    assert "floor[cyber,2026]" in set(diagnosis["name"])
    assert pd.read_csv(out / "allocation.csv").empty
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective"] is None
    assert "cyber floor" in summary["message"]


def test_folder_with_foreign_files_is_refused_untouched(result: Result, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "allocation.csv").write_text("old", encoding="utf-8")
    (out / "thesis.docx").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputError, match=r"thesis\.docx"):
        write_result(result, out)
    assert (out / "thesis.docx").read_text(encoding="utf-8") == "precious"
    assert (out / "allocation.csv").read_text(encoding="utf-8") == "old"


def test_a_file_in_place_of_the_folder_is_refused(result: Result, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="not a folder"):
        write_result(result, out)


def test_frame_records_turn_nan_into_null() -> None:
    frame = pd.DataFrame({"a": [1.0, float("nan")], "b": ["x", None]})
    assert frame_to_records(frame) == [{"a": 1.0, "b": "x"}, {"a": None, "b": None}]


# ------------------------------------------------------------ one schema, typed row kinds


def test_every_frame_and_file_has_the_schemas_columns(result: Result, tmp_path: Path) -> None:
    from engine.results.schema import CONSTRAINTS_FILE, FRAMES

    for name, columns in FRAMES.items():
        assert list(getattr(result, name).columns) == list(columns), name
    write_result(result, tmp_path / "out")
    header = (tmp_path / "out" / "constraints.csv").read_text().splitlines()[0]
    assert header.split(",") == list(CONSTRAINTS_FILE)


def test_an_infeasible_result_has_empty_frames_with_the_schemas_columns(
    infeasible: Result,
) -> None:
    from engine.results.schema import FRAMES

    for name, columns in FRAMES.items():
        assert list(getattr(infeasible, name).columns) == list(columns), name
    assert not infeasible.diagnosis.empty


def test_every_row_of_a_model_has_a_declared_kind_and_allocation_rows_unique_keys(
    default_scenario_path: Path,
) -> None:
    from engine.files.scenario_files import load_scenario
    from engine.formulation.build import build_model
    from engine.formulation.rows import RowKind

    model = build_model(load_scenario(default_scenario_path))
    assert all(type(r.kind) is RowKind for r in model.rows)
    allocation = [i for i, r in enumerate(model.rows) if r.kind.allocation]
    keys = model.row_at()
    assert sorted(keys.values()) == allocation  # one row per key
    assert keys[RowKind.BUDGET, None, "DEU", 2026, None] == model.row_index("budget[DEU,2026]")


def test_every_rule_a_planner_sees_is_named_in_words_not_by_its_row_name() -> None:
    from engine.formulation.build import build_model
    from engine.formulation.rows import RowKind
    from engine.results.describe import describe_row
    from tests.test_projects_behaviour import small

    data = small()
    data["area_coalitions"] = [{"area": "cyber", "min_members": 2, "min_contribution": "1m"}]
    data["resources"] = [{"id": "crews", "capacity": 2}]
    data["projects"][0]["uses"] = {"crews": 1}
    scenario = validate_scenario(data)
    model = build_model(scenario)
    books = {RowKind.FUNDING, RowKind.TOTAL, RowKind.VALUE}  # definitions, never shown
    rules = [r for r in model.rows if r.kind not in books]
    assert {RowKind.AREA_STAKE, RowKind.CAPACITY, RowKind.COALITION} <= {r.kind for r in rules}
    for row in rules:
        assert "[" not in describe_row(row, scenario), row.name


def test_what_if_sensitivity_and_binding_leave_out_the_same_bookkeeping_kinds() -> None:
    from engine.analysis.sensitivity import sensitivity
    from engine.analysis.whatif import compare
    from engine.formulation.rows import RowKind

    sc = validate_scenario(tiny_scenario())
    base = solve(sc)
    new = solve(apply_edits(sc, ["areas.cyber.floor=8bn"]))
    kinds = dict(zip(new.constraints["name"], new.constraints["kind"], strict=True))
    changed = compare(base, new).shadow_prices["name"]
    assert len(changed) > 0
    assert not any(RowKind(kinds[n]).bookkeeping for n in changed)
    assert not any(RowKind(k).bookkeeping for k in new.binding()["kind"])
    assert all(RowKind(k).ranged for k in sensitivity(new.scenario).constraints["kind"])
    assert "tie_break" not in {k.value for k in RowKind}  # a kind the model no longer has
