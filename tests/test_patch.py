"""Patching bounds in place gives exactly the model a fresh build gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.files.scenario_files import load_scenario
from engine.formulation.build import build_model
from engine.formulation.patch import patch_bounds
from engine.scenario.edits import apply_edits
from engine.scenario.fields import money_text
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve
from engine.solving.resolver import Resolver
from tests.scenario_factory import random_scenario

ROOT = Path(__file__).resolve().parents[1]


def assert_same_model(a, b):
    assert a.col_names == b.col_names
    assert [r.name for r in a.rows] == [r.name for r in b.rows]
    for field in ("col_lb", "col_ub", "row_lo", "row_hi", "row_start", "row_cols", "row_vals"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.objective == b.objective


@pytest.mark.parametrize(
    "edits",
    [
        ["members.DEU.pledge=3m"],
        ["members.NLD.pledge={2026: 5m, 2027: 4m}"],
        ["areas.quantum.floor=9m"],
        ["policies.deep_tech.at_least=20m"],
    ],
)
def test_bound_edits_patch_to_the_freshly_built_model(edits):
    base = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    if "floor" in edits[0]:
        base = apply_edits(base, ["areas.quantum.floor=4m"])
    if "policies" in edits[0]:
        base = apply_edits(base, ["policies.deep_tech.at_least=10m"])
    edited = apply_edits(base, edits)
    patched = patch_bounds(build_model(base), edited)
    assert patched is not None
    assert_same_model(patched, build_model(edited))


@pytest.mark.parametrize(
    "edits",
    [
        ["members.DEU.opt_out=[ai]"],
        ["areas.ai.priority=2"],
        ["policies.deep_tech.at_least=25%"],
        ["areas.quantum.floor=10%"],
        ["members.DEU.pledge=0"],
    ],
)
def test_structural_edits_are_not_patched(edits):
    base = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    assert patch_bounds(build_model(base), apply_edits(base, edits)) is None


@pytest.mark.parametrize("seed", range(8))
def test_patched_warm_resolves_give_the_plan_of_a_cold_solve(seed):
    data = random_scenario(seed)
    base = validate_scenario(data)
    member = base.members[0]
    pledge = max(member.pledges.values())
    edited = apply_edits(
        base, [f"members.{member.id}.pledge={money_text(pledge * 1.1, base.fund.unit)}"]
    )
    resolver = Resolver()
    resolver.solve(base)
    warm = resolver.solve(edited)
    cold = solve(edited)
    assert warm.status == cold.status
    if cold.ok:
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        merged = warm.areas.merge(cold.areas, on=["area", "year"])
        np.testing.assert_allclose(merged["amount_x"], merged["amount_y"], rtol=1e-6, atol=1.0)


@pytest.mark.parametrize(
    "edits",
    [["members.DEU.pledge=30bn"], ["areas.cyber.floor=13bn"], ["members.FRA.pledge=1bn"]],
)
def test_bound_edits_of_a_scenario_with_projects_patch_to_the_freshly_built_model(edits):
    base = load_scenario(ROOT / "datasets" / "scenarios" / "aspf-2026.yaml")
    assert base.projects, "the default scenario carries go/no-go projects"
    edited = apply_edits(base, edits)
    patched = patch_bounds(build_model(base), edited)
    assert patched is not None
    assert_same_model(patched, build_model(edited))


def test_a_changed_project_is_not_patched():
    base = load_scenario(ROOT / "datasets" / "scenarios" / "aspf-2026.yaml")
    project = base.projects[0]
    data = base.to_input()
    data["projects"][0]["value"] = project.value * 2 + 1
    assert patch_bounds(build_model(base), validate_scenario(data)) is None


def test_pledges_are_not_patched_under_an_area_coalition():
    # A member's pledges are the big-M coefficient of its commitment rows there.
    data = random_scenario(3)
    area = data["areas"][0]["id"]
    data["area_coalitions"] = [{"area": area, "min_members": 2, "min_contribution": "1bn"}]
    base = validate_scenario(data)
    member = base.members[0]
    doubled = money_text(max(member.pledges.values()) * 2, base.fund.unit)
    edited = apply_edits(base, [f"members.{member.id}.pledge={doubled}"])
    assert patch_bounds(build_model(base), edited) is None


def test_warm_re_solves_with_projects_match_cold_solves_when_the_decisions_must_change():
    from tests.test_projects_behaviour import funded, small

    base = validate_scenario(small())
    resolver = Resolver()
    seen = set()
    for pledge in ["3m", "0.5m", "1m", "1.5m", "2m", "2.5m", "3m", "3m"]:
        edited = apply_edits(base, [f"members.{m}.pledge={pledge}" for m in ("AAA", "BBB", "CCC")])
        warm, cold = resolver.solve(edited), solve(edited)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        assert funded(warm) == funded(cold)
        seen.add(frozenset(funded(warm)))
    assert len(seen) >= 4, "the pledges were meant to change which projects are funded"


def test_warm_re_solve_keeps_the_go_no_go_decisions_while_they_stay_optimal():
    base = load_scenario(ROOT / "datasets" / "scenarios" / "aspf-2026.yaml")
    resolver = Resolver()
    first = resolver.solve(base)
    edited = apply_edits(base, ["areas.cyber.floor=13bn"])
    warm, cold = resolver.solve(edited), solve(edited)
    assert resolver.last_mode == "warm"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    before = first.projects.set_index("project")["funded"]
    pd.testing.assert_series_equal(warm.projects.set_index("project")["funded"], before)


@pytest.mark.parametrize("seed", range(3))
def test_large_models_solved_cold_by_interior_point_give_the_simplex_plan(seed, monkeypatch):
    import engine.solving.resolver

    data = random_scenario(seed)
    scenario = validate_scenario(data)
    member = scenario.members[0]
    raised = money_text(max(member.pledges.values()) * 1.2, scenario.fund.unit)
    edited = apply_edits(scenario, [f"members.{member.id}.pledge={raised}"])
    simplex = Resolver()
    expected = [simplex.solve(scenario), simplex.solve(edited)]
    monkeypatch.setattr(engine.solving.resolver, "IPM_ROWS", 0)
    interior = Resolver()
    got = [interior.solve(scenario), interior.solve(edited)]
    assert interior.last_mode == "warm"
    for a, b in zip(got, expected, strict=True):
        assert a.status == b.status
        if b.ok:
            assert a.objective == pytest.approx(b.objective, rel=1e-7)
            keys = ["member", "area", "year"]
            both = a.allocation.merge(b.allocation, on=keys, how="outer").fillna(0.0)
            scale = {"k": 1e3, "m": 1e6, "bn": 1e9}[scenario.fund.unit]
            np.testing.assert_allclose(both["amount_x"], both["amount_y"], atol=1e-5 * scale)


ARRAYS = ("col_lb", "col_ub", "row_lo", "row_hi", "row_start", "row_cols", "row_vals")


def test_a_built_model_is_frozen_and_a_patch_leaves_it_unchanged():
    base = load_scenario(ROOT / "datasets" / "scenarios" / "nif.yaml")
    model = build_model(base)
    before = {name: getattr(model, name).copy() for name in ARRAYS}
    for name in ARRAYS:
        array = getattr(model, name)
        assert isinstance(array, np.ndarray)
        with pytest.raises(ValueError, match="read-only"):
            array[:1] = 0
    patched = patch_bounds(model, apply_edits(base, ["members.DEU.pledge=3m"]))
    assert patched is not None
    assert not np.array_equal(patched.row_hi, model.row_hi)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(model, name), before[name], err_msg=name)
