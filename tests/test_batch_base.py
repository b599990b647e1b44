"""A batch's base scenario is the scenario ``optimise.py solve`` solves: forecast pledges
(``pledges: {from_forecast: ...}``) resolved through the engine's one path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine import load_with_edits, solve
from engine.batch import pools
from engine.batch.driver import run_batch
from engine.batch.store import RunStore, store_url
from engine.batch.sweep import load_sweep
from engine.scenario.validate import validate_scenario
from tests.test_batch_run import one_thread

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "forecast" / "mini_scenario.yaml"


def test_a_batch_solves_a_forecast_base_on_the_pledges_solve_gives(tmp_path: Path, monkeypatch):
    pytest.importorskip("models.fund")
    sweep = tmp_path / "sweep.yaml"
    spec = {"name": "forecast-base", "base": str(MINI), "n_minus_1": ["ESP"]}
    sweep.write_text(yaml.safe_dump(spec), encoding="utf-8")
    plan = load_sweep(sweep)
    monkeypatch.setattr(pools, "make_pool", one_thread)
    with RunStore(store_url(str(tmp_path / "runs"))) as store:
        tally = run_batch(plan, store)
        results = store.frame("results", plan.batch_id)
        contents = store.contents(plan.batch_id, results["scenario_id"])
    assert (tally.done, tally.failed) == (2, 0)

    expected = load_with_edits(MINI)  # what `optimise.py solve` solves
    forecast = {m.id: m.pledges[2028] for m in expected.members}
    assert forecast["DEU"] != pytest.approx(20e9)  # not the file's hand-written 20bn
    solved = {}
    for row in results.itertuples():
        scenario = validate_scenario(contents[row.scenario_id])
        pledges = {m.id: m.pledges[2028] for m in scenario.members}
        solved[json.loads(row.labels)["leaves"]] = (row, pledges)
    base_row, base_pledges = solved[None]
    assert base_pledges == pytest.approx(forecast, rel=1e-12)
    fresh = solve(expected)
    assert base_row.objective == pytest.approx(fresh.objective, rel=1e-9)
    assert base_row.total_allocated == pytest.approx(fresh.summary["total_allocated"], rel=1e-12)
    # N-1 varies the forecast pledges: Spain's become zero, the others' stay the forecast's.
    assert solved["ESP"][1] == pytest.approx({**forecast, "ESP": 0.0}, rel=1e-12)
