"""Every face gives the same figures for the same scenario.

The scenario asks for forecast pledges (``pledges: {from_forecast: ...}``), which the faces
used to resolve differently (or not at all): the CLI's ``solve``, ``whatif`` and ``report``,
the app's upload and saved versions, and the engine's API must all plan on the same
pledges, and an edit of the forecast block must take effect wherever it is made.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import engine
from app.uploads import read_upload
from app.versions import VersionStore
from tests.cli_runs import run_many

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "forecast" / "mini_scenario.yaml"
QUANTILE_EDIT = "pledges.from_forecast.quantile=0.9"


def _pledges(scenario: engine.Scenario, year: int = 2028) -> dict[str, float]:
    return {m.id: m.pledges[year] for m in scenario.members}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "optimise.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _cli_pledges(out: Path, year: int = 2028) -> dict[str, float]:
    members = pd.read_csv(out / "members.csv")
    rows = members[members["year"] == year]
    return dict(zip(rows["member"], rows["pledged"].astype(float), strict=True))


@pytest.fixture(scope="module")
def api_pledges() -> dict[str, float]:
    return _pledges(engine.load_with_edits(MINI))


def test_the_api_plans_on_forecast_pledges_not_the_hand_written_ones(api_pledges):
    written = {m.id: m.pledges[2028] for m in engine.load_scenario(MINI).members}
    assert api_pledges != pytest.approx(written)
    assert set(api_pledges) == {"DEU", "POL", "ESP"}


@pytest.mark.slow
def test_solve_on_the_command_line_plans_on_the_api_pledges(api_pledges, tmp_path):
    done = _cli("solve", str(MINI), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _cli_pledges(tmp_path / "out") == pytest.approx(api_pledges, rel=1e-12)


def test_an_uploaded_scenario_in_the_app_plans_on_the_api_pledges(api_pledges, tmp_path):
    uploaded = read_upload("mini.yaml", MINI.read_bytes(), tmp_path)
    assert _pledges(uploaded) == pytest.approx(api_pledges, rel=1e-12)


def test_a_saved_app_version_keeps_the_scenario_as_written(api_pledges, tmp_path):
    store = VersionStore(tmp_path / "versions")
    version = store.save(engine.load_with_edits(MINI), "baseline")
    assert _pledges(store.load(version.id)) == pytest.approx(api_pledges, rel=1e-12)
    assert "from_forecast" in store.yaml_text(version.id)
    assert "20bn" in store.yaml_text(version.id) or "20000000000" in store.yaml_text(version.id)


def test_an_edit_of_the_forecast_block_takes_effect_through_edit_scenario(api_pledges):
    edited = engine.edit_scenario(engine.load_with_edits(MINI), [QUANTILE_EDIT])
    direct = engine.load_with_edits(MINI, [QUANTILE_EDIT])
    assert _pledges(edited) == pytest.approx(_pledges(direct), rel=1e-12)
    assert _pledges(edited)["DEU"] > api_pledges["DEU"]


@pytest.mark.slow
def test_whatif_on_the_command_line_applies_an_edit_of_the_forecast_block(tmp_path):
    solved, done = run_many(
        [
            ("optimise.py", [command, str(MINI), "--set", QUANTILE_EDIT, "--out", str(out)])
            for command, out in (("solve", tmp_path / "s"), ("whatif", tmp_path / "d"))
        ],
        cwd=tmp_path,
    )
    assert solved.returncode == 0, solved.stderr
    members = pd.read_csv(tmp_path / "s" / "members.csv").set_index(["member", "year"])
    assert done.returncode == 0, done.stderr
    changes = pd.read_csv(tmp_path / "d" / "member_changes.csv").set_index(["member", "year"])
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["edits"] == [QUANTILE_EDIT]
    assert changes.loc[("DEU", 2028), "after"] == pytest.approx(
        members.loc[("DEU", 2028), "allocated"], rel=1e-9
    )
    assert changes.loc[("DEU", 2028), "after"] > changes.loc[("DEU", 2028), "before"]


def test_a_report_baseline_plans_on_the_api_pledges(api_pledges):
    base = engine.load_with_edits(MINI)
    result = engine.solve(base)
    pledged = result.members[result.members["year"] == 2028].set_index("member")["pledged"]
    assert pledged.to_dict() == pytest.approx(api_pledges, rel=1e-12)


def test_writing_a_resolved_scenario_gives_back_the_file_as_written(tmp_path):
    target = tmp_path / "copy.yaml"
    engine.save_scenario(engine.load_with_edits(MINI), target)
    again = engine.load_with_edits(target)
    assert _pledges(again) == pytest.approx(_pledges(engine.load_with_edits(MINI)), rel=1e-12)
