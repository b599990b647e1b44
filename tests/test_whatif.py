"""What-if: warm re-solves equal cold ones, diffs show only the edit's consequences,
sensitivity matches finite differences, infeasible edits are diagnosed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.analysis.sensitivity import sensitivity
from engine.analysis.whatif import compare, what_if
from engine.files.scenario_files import load_scenario
from engine.scenario.edits import apply_edits
from engine.scenario.fields import money_text
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve
from engine.solving.resolver import Resolver
from tests.cli_runs import cli
from tests.scenario_factory import random_scenario

ROOT = Path(__file__).resolve().parents[1]
ASPF = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"


@pytest.fixture(scope="module")
def aspf():
    return load_scenario(ASPF)


def small():
    """Two members, three areas, two years; B may not fund cyber."""
    return validate_scenario(
        {
            "fund": {"name": "small", "currency": "USD", "unit": "m", "years": [2026, 2027]},
            "members": [
                {"id": "AAA", "pledge": "10m"},
                {"id": "BBB", "pledge": "6m", "opt_out": ["cyber"]},
            ],
            "areas": [
                {
                    "id": "cyber",
                    "priority": 1.0,
                    "value_curve": [{"up_to": "4m", "marginal": 1.0}, {"marginal": 0.2}],
                },
                {
                    "id": "space",
                    "priority": 1.0,
                    "value_curve": [{"up_to": "5m", "marginal": 0.9}, {"marginal": 0.1}],
                },
                {
                    "id": "ai",
                    "priority": 1.0,
                    "value_curve": [{"up_to": "3m", "marginal": 0.8}, {"marginal": 0.3}],
                },
            ],
        }
    )


def assert_same_flows(a, b, atol):
    keys = ["member", "area", "year"]
    merged = a.allocation.merge(b.allocation, on=keys, how="outer").fillna(0.0)
    np.testing.assert_allclose(merged["amount_x"], merged["amount_y"], rtol=1e-6, atol=atol)


def test_warm_resolve_matches_cold_build_for_bound_edits(aspf):
    resolver = Resolver()
    base = resolver.solve(aspf)
    edits = ["areas.cyber.floor=12bn", "members.DEU.pledge=25bn", "areas.quantum.ceiling=3bn"]
    # Repeated what-ifs against one baseline start from its bases: same plans as cold.
    for edit in [*edits, *edits]:
        edited = apply_edits(aspf, [edit])
        warm = resolver.solve(edited, reference=base.allocation)
        assert resolver.last_mode == "warm"
        cold = solve(edited, reference=base.allocation)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        assert_same_flows(warm, cold, atol=1e3)


@pytest.mark.parametrize("seed", range(4))
def test_what_ifs_against_one_baseline_give_the_flows_of_cold_solves(seed):
    data = random_scenario(seed)
    base_scenario = validate_scenario(data)
    resolver = Resolver()
    base = resolver.solve(base_scenario)
    member = base_scenario.members[0]
    pledge = max(member.pledges.values())
    for factor in (1.3, 0.7, 1.3, 1.1):
        new = money_text(pledge * factor, base_scenario.fund.unit)
        edited = apply_edits(base_scenario, [f"members.{member.id}.pledge={new}"])
        warm = resolver.solve(edited, reference=base.allocation)
        cold = solve(edited, reference=base.allocation)
        assert warm.status == cold.status
        if cold.ok:
            scale = {"k": 1e3, "m": 1e6, "bn": 1e9}[edited.fund.unit]
            assert_same_flows(warm, cold, atol=1e-6 * scale)


def test_structural_edit_falls_back_to_a_cold_build(aspf):
    resolver = Resolver()
    resolver.solve(aspf)
    result = resolver.solve(apply_edits(aspf, ["members.GBR.opt_out=[space]"]))
    assert resolver.last_mode == "cold"
    assert result.ok
    gbr_space = result.allocation.query("member == 'GBR' and area == 'space'")
    assert gbr_space.empty


def test_comparing_a_result_with_itself_shows_no_change(aspf):
    result = solve(aspf)
    cmp = compare(result, result)
    assert cmp.value_change == 0
    assert cmp.allocation.empty
    assert cmp.areas.empty
    assert cmp.binding.empty
    assert cmp.caveats == ()


def test_a_baseline_in_another_unit_is_flagged_as_not_comparable_in_value():
    base = small()
    in_k = validate_scenario(
        {
            **base.model_dump(mode="json", context={"unit": "k"}),
            "fund": {**base.fund.model_dump(mode="json"), "unit": "k"},
        }
    )
    cmp = compare(solve(base), solve(in_k))
    [caveat] = cmp.caveats
    assert "the baseline counts in USD m and the edited scenario in USD k" in caveat
    assert "value change compares different scales" in caveat


def test_an_edit_that_changes_nothing_shows_no_change(aspf):
    """A slack ceiling raised further: alternative optima must not appear as changes."""
    base = solve(aspf)
    assert base.areas.query("area == 'space'")["amount"].max() < 8e9
    w = what_if(aspf, ["areas.space.ceiling=9bn"], base=base)
    assert w.comparison.allocation.empty
    assert w.comparison.areas.empty
    assert w.comparison.value_change == pytest.approx(0.0, abs=1e-6)


def test_raising_a_floor_moves_exactly_the_extra_money_into_the_area(aspf):
    w = what_if(aspf, ["areas.cyber.floor=12bn"])
    cyber = w.comparison.areas.query("area == 'cyber'")
    assert len(cyber) == len(aspf.fund.years)
    np.testing.assert_allclose(cyber["after"], 12e9, rtol=1e-9)
    assert w.comparison.value_change < 0
    assert set(w.comparison.binding.query("status == 'became binding'")["name"]) >= {
        f"floor[cyber,{y}]" for y in aspf.fund.years
    }
    # money is conserved: what leaves other areas is what cyber gains
    assert w.comparison.areas["change"].sum() == pytest.approx(0.0, abs=1e3)


def test_shadow_price_and_its_range_match_finite_differences():
    sc = apply_edits(small(), ["areas.cyber.floor=7m"])
    report = sensitivity(sc)
    row = report.constraints.set_index("name").loc["floor[cyber,2026]"]
    base = report.result.objective
    # The floor is one amount for every year, so move the 2026 row alone, by $0.1m, in
    # the live HiGHS model and re-solve.
    resolver = Resolver()
    resolver.solve(sc)
    i = resolver.model.row_index("floor[cyber,2026]")
    h = resolver._value.h  # the test checks the live HiGHS model
    lo = resolver.model.row_lo[i]
    h.changeRowBounds(i, lo + 0.1, resolver.model.row_hi[i])
    h.run()
    fd = (h.getInfo().objective_function_value - base) / (0.1 * 1e6)
    assert row["shadow_price"] == pytest.approx(fd, rel=1e-6)
    # beyond 8m the last free money would come out of ai's first segment: a kink
    assert row["valid_from"] <= 7e6 < row["valid_to"] == pytest.approx(8e6)
    assert row["shadow_price"] < 0  # a floor above the free choice costs value


def test_infeasible_floor_is_diagnosed_with_the_amount_to_lower_it():
    sc = apply_edits(small(), ["areas.cyber.floor=12m"])
    result = solve(sc)
    assert not result.ok
    d = result.diagnosis
    assert set(d["name"]) == {"floor[cyber,2026]", "floor[cyber,2027]"}
    # only AAA (10m a year) joined cyber
    np.testing.assert_allclose(d["relax_by"], 2e6, rtol=1e-9)
    assert "lower the cyber floor in 2026 by" in " ".join(d["message"])
    assert "can give at most" in " ".join(d["message"])


def test_a_floor_held_back_by_another_rule_is_not_blamed_on_missing_members():
    data = small().to_input()
    data["policies"] = [
        {"id": "cyber_cap", "areas": ["cyber"], "at_most": "5m", "hard": True},
    ]
    sc = apply_edits(validate_scenario(data), ["areas.cyber.floor=7m"])
    result = solve(sc)
    assert not result.ok
    text = " ".join(result.diagnosis["message"])
    assert "lower the cyber floor in 2026 by" in text
    assert "other rules" in text
    assert "join cyber" not in text
    assert "can give at most" not in text


def test_hard_constraints_are_never_proposed_for_relaxation():
    data = small().to_input()
    data["areas"][0]["floor"] = "12m"
    data["areas"][0]["hard"] = True
    data["areas"][1]["ceiling"] = "1m"
    result = solve(validate_scenario(data))
    assert not result.ok
    assert "hard" in result.summary["message"]


def run_cli(*args):
    # The real entry point, in the shared CLI process (tests/cli_runs.py).
    return cli("optimise.py", *args)


def test_whatif_cli_prints_and_writes_the_diff(tmp_path):
    out = tmp_path / "diff"
    proc = run_cli("whatif", "aspf-2026", "--set", "areas.cyber.floor=12bn", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "became binding" in proc.stdout
    assert (out / "area_changes.csv").read_text().count("cyber") == 5


def test_explain_cli_exits_1_with_a_diagnosis_when_infeasible():
    proc = run_cli("explain", "aspf-2026", "--set", "areas.cyber.floor=150bn")
    assert proc.returncode == 1
    assert "cyber floor" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_explain_cli_prints_plain_language_shadow_prices():
    proc = run_cli("explain", "aspf-2026", "--set", "areas.cyber.floor=12bn")
    assert proc.returncode == 0, proc.stderr
    assert "each extra $1bn on the cyber floor" in proc.stdout


def test_solve_uses_pledges_from_the_forecast_when_the_scenario_asks(tmp_path):
    out = tmp_path / "fc"
    proc = run_cli(
        "solve",
        "aspf-2026",
        "--set",
        "pledges={from_forecast: {path: trend, quantile: 0.5}}",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    members = pd.read_csv(out / "members.csv")
    own = load_scenario(ASPF)
    # the first year calibrates the rates, so 2026 pledges are the scenario's own
    first = members[members["year"] == 2026].set_index("member")["pledged"]
    assert first["DEU"] == pytest.approx(own.member("DEU").pledges[2026], rel=1e-6)
    later = members[members["year"] == 2030].set_index("member")["pledged"]
    assert later.sum() != pytest.approx(first.sum(), rel=1e-6)
