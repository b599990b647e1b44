"""Sweep files: scenario generation, stable content ids, draws, N-1 and clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.batch.sweep import BatchPlan, ScenarioMaker, load_sweep
from engine.batch.sweep_schema import parse_sweep
from engine.errors import ScenarioError
from engine.files.scenario_files import read_scenario_data
from engine.scenario.schema import scenario_sha256
from engine.scenario.validate import validate_scenario
from tests.cli_runs import run_many
from tests.scenario_factory import tiny_scenario

ROOT = Path(__file__).resolve().parents[1]


def plan_of(spec: dict[str, Any]) -> BatchPlan:
    return BatchPlan(
        parse_sweep({"name": "t", "base": "tiny", **spec}, "t.yaml"), tiny_scenario(), "t.yaml"
    )


def test_grid_is_the_product_of_its_axes_in_file_order():
    plan = plan_of(
        {
            "grid": {
                "areas.cyber.floor": ["1bn", "2bn"],
                "members.DEU.pledge": ["8bn", "9bn", "10bn"],
            }
        }
    )
    items = list(plan.scenarios())
    assert plan.size == len(items) == 6
    assert [i.labels for i in items[:3]] == [
        {"areas.cyber.floor": "1bn", "members.DEU.pledge": "8bn"},
        {"areas.cyber.floor": "1bn", "members.DEU.pledge": "9bn"},
        {"areas.cyber.floor": "1bn", "members.DEU.pledge": "10bn"},
    ]
    assert items[4].scenario.area("cyber").floor.amount == 2e9
    assert items[4].scenario.member("DEU").pledges == {2026: 9e9, 2027: 9e9}


def test_scenario_ids_are_content_hashes_and_stable_across_runs():
    spec = {
        "grid": {"areas.cyber.floor": ["1bn", "2bn"]},
        "draws": {"n": 3, "seed": 5, "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.2}}},
    }
    first = list(plan_of(spec).scenarios())
    again = list(plan_of(spec).scenarios())
    assert [i.scenario_id for i in first] == [i.scenario_id for i in again]
    assert all(i.scenario_id == scenario_sha256(i.scenario) for i in first)
    assert len({i.scenario_id for i in first}) == 6


def test_batch_id_follows_the_sweep_and_the_base_content():
    a = plan_of({"grid": {"areas.cyber.floor": ["1bn", "2bn"]}})
    assert a.batch_id == plan_of({"grid": {"areas.cyber.floor": ["1bn", "2bn"]}}).batch_id
    assert a.batch_id != plan_of({"grid": {"areas.cyber.floor": ["1bn", "3bn"]}}).batch_id
    changed = tiny_scenario()
    changed["areas"][0]["priority"] = 2.0
    other = BatchPlan(a.sweep, changed, "t.yaml")
    assert other.batch_id != a.batch_id


def test_n_minus_1_has_a_baseline_and_each_pledging_member_leaving():
    items = list(plan_of({"n_minus_1": True}).scenarios())
    assert [i.labels["leaves"] for i in items] == [None, "DEU", "FRA"]  # USA pledges nothing
    deu_gone = items[1].scenario
    assert deu_gone.member("DEU").pledges == {2026: 0.0, 2027: 0.0}
    assert deu_gone.member("FRA").pledges == items[0].scenario.member("FRA").pledges


def test_draws_are_reproducible_and_change_with_the_seed():
    spec = {
        "draws": {
            "n": 4,
            "seed": 7,
            "pledges": {"DEU": {"dist": "normal", "mean": "10bn", "sd": "2bn"}},
        }
    }
    pledges = [i.scenario.member("DEU").pledges[2026] for i in plan_of(spec).scenarios()]
    assert pledges == [i.scenario.member("DEU").pledges[2026] for i in plan_of(spec).scenarios()]
    spec["draws"]["seed"] = 8
    assert pledges != [i.scenario.member("DEU").pledges[2026] for i in plan_of(spec).scenarios()]
    assert len(set(pledges)) == 4


def test_a_lognormal_factor_scales_every_year_of_a_pledge_alike():
    spec = {
        "draws": {"n": 5, "seed": 1, "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.3}}}
    }
    for item in plan_of(spec).scenarios():
        fra = item.scenario.member("FRA").pledges
        assert fra[2026] / 6e9 == pytest.approx(fra[2027] / 4e9, rel=1e-9)
        assert item.scenario.member("USA").pledges == {2026: 0.0, 2027: 0.0}


def test_a_member_entry_does_not_change_other_members_draws():
    star = {"*": {"dist": "uniform_factor", "low": 0.5, "high": 1.5}}
    alone = plan_of({"draws": {"n": 3, "seed": 2, "pledges": star}})
    pinned = plan_of(
        {
            "draws": {
                "n": 3,
                "seed": 2,
                "pledges": {**star, "DEU": {"dist": "uniform", "low": "1bn", "high": "2bn"}},
            }
        }
    )
    fra = [i.scenario.member("FRA").pledges for i in alone.scenarios()]
    assert fra == [i.scenario.member("FRA").pledges for i in pinned.scenarios()]
    assert all(1e9 <= i.scenario.member("DEU").pledges[2026] <= 2e9 for i in pinned.scenarios())


def test_normal_draws_below_zero_become_zero_pledges():
    spec = {
        "draws": {
            "n": 50,
            "seed": 3,
            "pledges": {"DEU": {"dist": "normal", "mean": "1bn", "sd": "5bn"}},
        }
    }
    pledges = [i.scenario.member("DEU").pledges[2026] for i in plan_of(spec).scenarios()]
    assert min(pledges) == 0.0
    assert max(pledges) > 0


def test_limit_gives_the_first_scenarios_in_sweep_order():
    plan = plan_of({"grid": {"areas.cyber.floor": ["1bn", "2bn", "3bn"]}, "n_minus_1": True})
    every = list(plan.scenarios())
    assert [i.scenario_id for i in plan.scenarios(limit=4)] == [i.scenario_id for i in every[:4]]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"grid": {"areas.cyber.flor": ["1bn"]}}, "grid.areas.cyber.flor"),
        ({"grid": {"areas.cyber.floor": ["lots"]}}, "areas[cyber].floor"),
        ({"grid": {"areas.cyber.floor": []}}, "give at least one value"),
        ({"n_minus_1": ["GER"]}, "unknown member(s) GER"),
        ({"draws": {"n": 2, "pledges": {"DEU": {"dist": "poisson"}}}}, "draws.pledges.DEU"),
        (
            {"draws": {"n": 2, "pledges": {"DEU": {"dist": "lognormal_factor", "sigma": 9}}}},
            "draws.pledges.DEU.sigma: Input should be less than or equal to 5 (got 9)",
        ),
        ({"gird": {}}, "gird: unknown field"),
        (  # numpy's generators refuse a negative seed: say so before anything is stored
            {
                "draws": {
                    "n": 2,
                    "seed": -1,
                    "pledges": {"DEU": {"dist": "uniform", "low": 0, "high": 1}},
                }
            },
            "draws.seed: Input should be greater than or equal to 0 (got -1)",
        ),
        (  # a plain grid value is typed, as a --set value: $3 for a ceiling is not meant
            {"grid": {"areas.space.ceiling": [3, "2bn"]}},
            "grid.areas.space.ceiling=3: areas[space].ceiling: 3 is ambiguous",
        ),
        ({}, "nothing varies"),
    ],
)
def test_bad_sweeps_are_refused_naming_the_field(spec, expected):
    with pytest.raises(ScenarioError) as info:
        plan_of(spec)
    assert expected in str(info.value)
    assert "t.yaml" in str(info.value)


def test_base_is_found_beside_the_sweep_file(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()), encoding="utf-8")
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        yaml.safe_dump({"name": "s", "base": "base.yaml", "n_minus_1": True}), encoding="utf-8"
    )
    assert load_sweep(sweep).size == 3


def test_a_plain_drawn_amount_is_refused_as_ambiguous_like_a_set_value(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()), encoding="utf-8")
    sweep = tmp_path / "s.yaml"

    def draws(deu: dict[str, Any]) -> None:
        spec = {"name": "s", "base": "base.yaml", "draws": {"n": 2, "pledges": {"DEU": deu}}}
        sweep.write_text(yaml.safe_dump(spec), encoding="utf-8")

    draws({"dist": "normal", "mean": 50, "sd": "5bn"})
    with pytest.raises(ScenarioError, match=r"draws\.pledges\.DEU\.mean: 50 is ambiguous") as info:
        load_sweep(sweep)
    assert "s.yaml" in str(info.value)
    draws({"dist": "uniform", "low": "40bn", "high": "60bn"})
    assert load_sweep(sweep).size == 2
    draws({"dist": "lognormal_factor", "sigma": 0.2})  # a factor, not an amount
    assert load_sweep(sweep).size == 2


def test_a_base_not_beside_the_sweep_file_is_found_by_the_callers_look_up(tmp_path: Path):
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(tiny_scenario()), encoding="utf-8")
    sweep = tmp_path / "sweeps" / "s.yaml"
    sweep.parent.mkdir()
    sweep.write_text(
        yaml.safe_dump({"name": "s", "base": "tiny", "n_minus_1": True}), encoding="utf-8"
    )
    asked = []

    def shipped(name: str) -> Path:
        asked.append(name)
        return tmp_path / "elsewhere.yaml"

    assert load_sweep(sweep, find_scenario=shipped).size == 3
    assert asked == ["tiny"]
    with pytest.raises(ScenarioError, match="tiny"):
        load_sweep(sweep)  # without a look-up the name is a path, and there is no such file


def test_shipped_example_sweeps_load(repo_root: Path):
    n1 = load_sweep(repo_root / "datasets" / "sweeps" / "aspf-n1.yaml")
    grid = load_sweep(repo_root / "datasets" / "sweeps" / "aspf-grid.yaml")
    assert n1.size == 31  # the baseline and the 30 members that pledge something
    assert grid.size == 36


def test_draws_from_the_forecast_follow_its_sample_paths():
    pytest.importorskip("models.fund")
    spec = {"draws": {"from_forecast": {"path": "trend", "n": 3, "seed": 2}}}
    items = list(plan_of(spec).scenarios())
    assert [i.labels for i in items] == [{"draw": 0}, {"draw": 1}, {"draw": 2}]
    deu = [i.scenario.member("DEU").pledges for i in items]
    assert all(p[2026] == pytest.approx(10e9) for p in deu)  # paths start at the pledge
    assert len({p[2027] for p in deu}) == 3
    assert [i.scenario_id for i in plan_of(spec).scenarios()] == [i.scenario_id for i in items]


def test_draws_need_one_source():
    with pytest.raises(ScenarioError, match="either pledges"):
        plan_of({"draws": {"n": 2}})


#: Ids written by the engine before workers built scenarios (stores of that time must
#: resume): sha256 over the concatenated ids of each sweep, in sweep order.
PINNED = {
    "cb0056990a97566ee5cec56327c179e14712a47c632a956d1138234ad2f9dd0f": {
        "set": ["areas.space.priority=2"],
        "grid": {"areas.cyber.floor": ["1bn", "2bn"], "members.DEU.pledge": [8e9, 9e9]},
        "draws": {
            "n": 3,
            "seed": 5,
            "pledges": {
                "*": {"dist": "lognormal_factor", "sigma": 0.2},
                "DEU": {"dist": "normal", "mean": "10bn", "sd": "2bn"},
            },
        },
    },
    "b29ffaf8b8f22adc51a40ec5343bf49b6dc1dc72048caed6e093fc1e26105a5a": {
        "n_minus_1": True,
        "draws": {
            "n": 2,
            "seed": 9,
            "pledges": {
                "FRA": {"dist": "uniform", "low": "1bn", "high": "3bn"},
                "*": {"dist": "uniform_factor", "low": 0.5, "high": 1.5},
            },
        },
    },
}


@pytest.mark.parametrize("digest", sorted(PINNED))
def test_scenario_ids_are_those_earlier_stores_hold(digest: str):
    ids = "".join(i.scenario_id for i in plan_of(PINNED[digest]).scenarios())
    assert hashlib.sha256(ids.encode()).hexdigest() == digest


def test_a_built_scenario_is_what_a_full_validation_of_its_content_gives():
    # Shipped scenario with go/no-go sections; a grid on the horizon re-normalises pledges.
    base = read_scenario_data(ROOT / "datasets" / "scenarios" / "aspf-2026.yaml")
    spec = {
        "name": "t",
        "base": "aspf",
        "grid": {"objective.discount_rate": [0, 0.03]},
        "n_minus_1": ["DEU", "FRA"],
        "draws": {"n": 2, "seed": 1, "pledges": {"*": {"dist": "lognormal_factor", "sigma": 0.1}}},
    }
    plan = BatchPlan(parse_sweep(spec, "t.yaml"), base, "t.yaml")
    maker = ScenarioMaker(plan)
    for point in plan.points():
        made = maker.make(point)
        canonical = made.scenario.model_dump(mode="json", exclude_defaults=True)
        assert made.content == json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        assert made.scenario_id == scenario_sha256(made.scenario)
        assert validate_scenario(json.loads(made.content)) == made.scenario


def test_a_combination_of_valid_grid_values_can_still_be_refused_with_its_labels():
    grid = {"areas.space.floor": ["1bn", "2.5bn"], "areas.space.ceiling": ["3bn", "2bn"]}
    plan = plan_of({"grid": grid})
    with pytest.raises(ScenarioError) as caught:
        list(plan.scenarios())
    assert "areas.space.floor=2.5bn, areas.space.ceiling=2bn" in str(caught.value)
    assert "above the ceiling" in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"base": "no-such-scenario"}, "base: 'no-such-scenario': no such file or shipped"),
        ({"base": "missing.yaml"}, "base: 'missing.yaml'"),
        ({}, "base: is required but missing"),
    ],
)
def test_a_missing_or_unknown_base_is_refused_naming_the_sweep_file_and_base(
    tmp_path: Path, spec: dict[str, Any], expected: str
):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"name": "s", "n_minus_1": True, **spec}), encoding="utf-8")
    (ran,) = run_many([("optimise.py", ["batch", str(sweep), "--store", str(tmp_path / "r")])])
    assert ran.returncode == 2, ran.stderr
    assert f"{sweep}: {expected}" in ran.stderr
    assert not (tmp_path / "r").exists()


def test_unknown_n_minus_1_members_are_refused_naming_the_field_n_minus_1():
    with pytest.raises(ScenarioError) as info:
        plan_of({"n_minus_1": ["GER", "DEU"]})
    assert "t.yaml: n_minus_1: unknown member(s) GER (known: " in str(info.value)
    with pytest.raises(ScenarioError) as info:
        plan_of({"draws": {"n": 2, "pledges": {"GER": {"dist": "uniform", "low": 0, "high": 1}}}})
    assert "t.yaml: draws.pledges: unknown member(s) GER" in str(info.value)


def test_a_member_listed_twice_in_n_minus_1_is_refused_by_name():
    with pytest.raises(ScenarioError) as info:
        plan_of({"n_minus_1": ["DEU", "FRA", "DEU"]})
    assert str(info.value) == "t.yaml: n_minus_1: DEU is listed more than once"
