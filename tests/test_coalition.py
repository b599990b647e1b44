"""Coalition economics: members' priorities (AHP, swing, weights), what each member gets,
standalone values against an independent LP, participation constraints, burden bands."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from datasets import scenario_path
from engine.coalition.ahp import RANDOM_INDEX, ahp
from engine.coalition.burden import burden_bands, contribution_key, key_from_table
from engine.coalition.members import members_table, plan_values, standalone
from engine.coalition.priorities import aggregation_weights, area_priorities, member_weights
from engine.coalition.stability import solve_with_participation, stability, unstable
from engine.errors import ScenarioError
from engine.files.scenario_files import read_scenario_data
from engine.scenario.validate import validate_scenario
from engine.solving.pipeline import solve
from engine.solving.resolver import Resolver
from tests.cli_runs import cli

# Saaty, T. L. (2008), "Decision making with the analytic hierarchy process", Int. J.
# Services Sciences 1(1), 83-98: relative consumption of drinks in the United States.
DRINKS = ("coffee", "wine", "tea", "beer", "soda", "milk", "water")
DRINKS_MATRIX = np.array(
    [
        [1, 9, 5, 2, 1, 1, 1 / 2],
        [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
        [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
        [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
        [1, 9, 4, 2, 1, 2, 1 / 2],
        [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
        [2, 9, 9, 3, 2, 3, 1],
    ]
)
#: The paper's derived priorities and consistency ratio (three decimals).
DRINKS_WEIGHTS = (0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327)
DRINKS_CR = 0.022


def _upper(items, matrix):
    n = len(items)
    return [(items[i], items[j], float(matrix[i, j])) for i in range(n) for j in range(i + 1, n)]


def test_consistent_comparisons_give_exact_weights():
    w = np.array([0.5, 0.25, 0.15, 0.1])
    items = ("a", "b", "c", "d")
    result = ahp(items, _upper(items, w[:, None] / w[None, :]))
    assert np.allclose(result.weights, w, atol=1e-12)
    assert result.lambda_max == pytest.approx(4.0, abs=1e-9)
    assert result.cr == pytest.approx(0.0, abs=1e-9)
    assert result.consistent


def test_saatys_drinks_example_gives_the_published_weights_and_consistency_ratio():
    result = ahp(DRINKS, _upper(DRINKS, DRINKS_MATRIX))
    assert tuple(round(v, 3) for v in result.weights) == DRINKS_WEIGHTS
    assert round(result.cr, 3) == DRINKS_CR
    assert result.consistent


def test_random_index_is_saatys_table():
    assert [RANDOM_INDEX[n] for n in range(3, 11)] == [
        0.58,
        0.90,
        1.12,
        1.24,
        1.32,
        1.41,
        1.45,
        1.49,
    ]


def _fund(members, areas=None, **objective):
    areas = areas or [
        {
            "id": "a",
            "priority": 1.0,
            "value_curve": [{"up_to": "60m", "marginal": 1}, {"marginal": 0.2}],
        },
        {
            "id": "b",
            "priority": 2.0,
            "value_curve": [{"up_to": "20m", "marginal": 1}, {"marginal": 0.1}],
        },
        {"id": "c", "priority": 1.5},
        {
            "id": "d",
            "priority": 0.5,
            "value_curve": [{"up_to": "10m", "marginal": 1}, {"marginal": 0.3}],
        },
    ]
    data = {
        "fund": {"name": "test fund", "unit": "m", "years": [2026, 2027]},
        "members": members,
        "areas": areas,
    }
    if objective:
        data["objective"] = objective
    return data


def _errors(data) -> str:
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(data)
    return str(caught.value)


def test_an_inconsistent_matrix_is_refused_naming_the_pair_that_breaks_it():
    w = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
    pairs = [[x, y, w[x] / w[y]] for x, y in itertools.combinations("abcd", 2)]
    pairs[2] = ["a", "d", "1/4"]  # the others imply a is 4 times d
    text = _errors(_fund([{"id": "AAA", "pledge": "10m", "priorities": {"pairwise": pairs}}]))
    assert "members[AAA].priorities.pairwise" in text
    assert "inconsistent" in text
    assert "a to d" in text
    assert "given 1/4" in text


def test_priority_problems_name_the_field():
    members = [
        {"id": "AAA", "pledge": "10m", "opt_out": ["d"], "priorities": {"a": 1, "d": 2}},
        {"id": "BBB", "pledge": "10m", "priorities": {"zz": 1}},
        {"id": "CCC", "pledge": "10m", "priorities": [["a", "b", 2], ["a", "c", 2]]},
        {"id": "DDD", "pledge": "10m", "priorities": [["a", "b", 12]]},
    ]
    text = _errors(_fund(members))
    assert (
        "members[AAA].priorities.weights: AAA gives a priority to 'd', an area it does not join"
        in text
    )
    assert "members[BBB].priorities.weights: unknown area 'zz'" in text
    assert "members[CCC].priorities.pairwise: b and c are not compared" in text
    assert "members[DDD].priorities.pairwise: a to b is 12, outside Saaty's scale" in text
    text = _errors(
        _fund([{"id": "AAA", "pledge": "1m", "priorities": {"swing": {"a": 60, "b": 30}}}])
    )
    assert "members[AAA].priorities" in text
    assert "scores 100" in text
    text = _errors(_fund([{"id": "AAA", "pledge": "1m"}], member_weights="gdp"))
    assert "objective.member_weights" in text


def test_swing_and_weights_are_normalised_and_pairwise_uses_ahp():
    sc = validate_scenario(
        _fund(
            [
                {
                    "id": "AAA",
                    "pledge": "10m",
                    "priorities": {"swing": {"a": 100, "b": 50, "c": 50}},
                },
                {"id": "BBB", "pledge": "30m", "priorities": {"weights": {"b": 3, "c": 1}}},
                {
                    "id": "CCC",
                    "pledge": "10m",
                    "priorities": [["a", "b", 2], ["b", "c", 2], ["a", "c", 4]],
                },
                {"id": "DDD", "pledge": "50m", "opt_out": ["a"]},
            ]
        )
    )
    assert member_weights(sc, sc.member("AAA")) == {"a": 0.5, "b": 0.25, "c": 0.25, "d": 0.0}
    assert member_weights(sc, sc.member("BBB")) == {"a": 0.0, "b": 0.75, "c": 0.25, "d": 0.0}
    ccc = member_weights(sc, sc.member("CCC"))
    assert [ccc[k] for k in "abc"] == pytest.approx([4 / 7, 2 / 7, 1 / 7], abs=1e-12)
    # A member without priorities values the areas it joined by their own priorities.
    assert member_weights(sc, sc.member("DDD")) == pytest.approx(
        {"a": 0.0, "b": 0.5, "c": 0.375, "d": 0.125}
    )
    lam = aggregation_weights(sc)
    assert lam == pytest.approx({"AAA": 0.1, "BBB": 0.3, "CCC": 0.1, "DDD": 0.5})
    weights = {m.id: member_weights(sc, m) for m in sc.members}
    raw = {a: sum(lam[m] * weights[m][a] for m in lam) for a in "abcd"}
    expected = {a: v * 5.0 / sum(raw.values()) for a, v in raw.items()}  # written sum 5.0
    assert area_priorities(sc) == pytest.approx(expected)
    equal = validate_scenario({**sc.to_input(), "objective": {"member_weights": "equal"}})
    assert aggregation_weights(equal) == pytest.approx({m: 0.25 for m in lam})


@pytest.mark.parametrize("name", ["aspf-2026", "nif", "diana"])
def test_shipped_scenarios_keep_their_area_priorities(name):
    sc = validate_scenario(read_scenario_data(scenario_path(name)))
    assert not any(m.priorities for m in sc.members)
    assert area_priorities(sc) == {a.id: a.priority for a in sc.areas}


def test_members_stating_the_areas_own_priorities_get_the_same_plan():
    members = [
        {"id": "AAA", "pledge": "40m", "caps": {"a": "10m"}},
        {"id": "BBB", "pledge": {2026: "20m", 2027: "35m"}},
        {"id": "CCC", "pledge": "25m"},
    ]
    plain = validate_scenario(_fund(members))
    own = {a.id: a.priority for a in plain.areas}
    stated = validate_scenario(_fund([{**m, "priorities": own} for m in members]))
    assert area_priorities(stated) == pytest.approx(own, rel=1e-12)
    first, second = solve(plain), solve(stated)
    assert second.objective == pytest.approx(first.objective, rel=1e-9)
    pd.testing.assert_frame_equal(first.allocation, second.allocation, atol=1e-3)


def test_changed_priorities_are_not_patched_into_a_warm_model():
    members = [{"id": "AAA", "pledge": "40m"}, {"id": "BBB", "pledge": "30m"}]
    before = validate_scenario(_fund(members))
    after = validate_scenario(_fund([members[0], {**members[1], "priorities": {"d": 1}}]))
    resolver = Resolver()
    resolver.solve(before)
    warm = resolver.solve(after)
    cold = solve(after)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    assert warm.objective != pytest.approx(solve(before).objective, rel=1e-6)


def test_priorities_survive_the_file_format():
    data = _fund(
        [
            {
                "id": "AAA",
                "pledge": "10m",
                "priorities": [["a", "b", "1/3"], ["a", "c", 2], ["b", "c", 6]],
            },
            {"id": "BBB", "pledge": "10m", "priorities": {"swing": {"b": 100, "c": 20}}},
        ],
        member_weights="equal",
    )
    sc = validate_scenario(data)
    again = validate_scenario(sc.to_input())
    assert again.members == sc.members
    assert again.objective == sc.objective


def _linprog_standalone(areas, weights, pledge, caps, years, scale):
    """The member alone, written from the data: pieces y[a,t,k] within their widths,
    a budget per year, caps per area and year; maximise sum w_a * marginal_k * y."""
    cols, cost, bounds = [], [], []
    for a in areas:
        if weights.get(a["id"], 0.0) <= 0:
            continue
        curve = a.get("value_curve") or [{"marginal": 1}]
        for t in years:
            start = 0.0
            for k, seg in enumerate(curve):
                end = seg.get("up_to")
                width = None if end is None else float(end.rstrip("m")) - start
                start = float(end.rstrip("m")) if end else start
                cols.append((a["id"], t, k))
                cost.append(-weights[a["id"]] * seg["marginal"])
                bounds.append((0, width))
    rows, rhs = [], []
    for t in years:
        rows.append([1.0 if c[1] == t else 0.0 for c in cols])
        rhs.append(pledge / scale)
        for area, cap in caps.items():
            rows.append([1.0 if c[1] == t and c[0] == area else 0.0 for c in cols])
            rhs.append(cap / scale)
    out = linprog(cost, A_ub=rows, b_ub=rhs, bounds=bounds, method="highs")
    assert out.status == 0
    return -out.fun


def test_standalone_values_match_an_independent_lp():
    members = [
        {
            "id": "AAA",
            "pledge": "30m",
            "opt_out": ["c"],
            "caps": {"b": "8m"},
            "priorities": {"a": 1, "b": 3},
        },
        {"id": "BBB", "pledge": "70m", "priorities": [["a", "d", 3], ["a", "c", 1], ["c", "d", 3]]},
        {"id": "CCC", "pledge": "15m", "opt_in": ["b", "d"]},
    ]
    data = _fund(members)
    sc = validate_scenario(data)
    for m in sc.members:
        value, alone = standalone(sc, m.id)
        assert alone is not None
        assert alone.ok
        expected = _linprog_standalone(
            data["areas"],
            member_weights(sc, m),
            m.pledges[2026],
            m.caps,
            sc.fund.years,
            1e6,
        )
        assert value == pytest.approx(expected, rel=1e-7)
        assert plan_values(alone)[m.id] == pytest.approx(value, rel=1e-7)
        assert standalone(sc, m.id, frames=False) == (pytest.approx(value, rel=1e-9), None)


def _unstable_fund():
    members = [
        {"id": "AAA", "pledge": "10m", "priorities": {"d": 1}},
        {"id": "BBB", "pledge": "90m", "priorities": {"a": 1}},
        {"id": "CCC", "pledge": "40m", "opt_out": ["d"]},
    ]
    return validate_scenario(_fund(members))


def test_a_member_the_fund_neglects_is_flagged_and_participation_rows_keep_it():
    sc = _unstable_fund()
    result = solve(sc)
    table = members_table(result)
    flagged = table.set_index("member")["better_off_outside"]
    assert flagged["AAA"]
    assert not flagged["BBB"]
    assert not flagged["CCC"]
    alone = dict(zip(table["member"], table["standalone_value"], strict=True))
    for margin in (0.0, 0.1):
        kept = solve_with_participation(sc, alone, margin)
        assert kept.ok
        values = plan_values(kept)
        for m, v in alone.items():
            assert values[m] >= v * (1 + margin) - 1e-6
        assert unstable(values, alone, margin) == []
        assert kept.objective <= result.objective + 1e-9
    check = stability(result, margin=0.0, participation=True)
    assert check.unstable == ["AAA"]
    assert check.price_of_stability > 0
    assert "AAA" in check.summary()


def test_participation_that_no_plan_can_meet_is_reported_infeasible():
    sc = _unstable_fund()
    alone = {"AAA": 1e6, "BBB": 0.0, "CCC": 0.0}
    kept = solve_with_participation(sc, alone)
    assert not kept.ok


def test_with_one_member_the_fund_value_equals_its_standalone_value():
    areas = _fund([])["areas"]
    data = {
        "fund": {"name": "one", "unit": "m", "years": [2026, 2027, 2028], "carry_over": True},
        "members": [
            {
                "id": "AAA",
                "pledge": {2026: "30m", 2027: "10m"},
                "opt_out": ["c"],
                "caps": {"a": "12m"},
            }
        ],
        "areas": areas,
        "objective": {"discount_rate": "3%"},
        "projects": [{"id": "radar", "area": "b", "cost": {2026: "5m", 2027: "5m"}, "value": 14}],
    }
    sc = validate_scenario(data)
    fund = solve(sc)
    value, _alone = standalone(sc, "AAA")
    assert plan_values(fund)["AAA"] == pytest.approx(value, rel=1e-7)
    # The fund's objective is the member's value in the written priorities' scale.
    joined = sum(a.priority for a in sc.areas if sc.member("AAA").joins(a.id))
    assert fund.objective == pytest.approx(value * joined, rel=1e-7)
    assert not members_table(fund).loc[0, "better_off_outside"]


def test_marginal_value_of_a_pledge_is_the_sum_of_its_budget_duals():
    sc = _unstable_fund()
    result = solve(sc)
    table = members_table(result).set_index("member")
    budgets = result.constraints[result.constraints["kind"] == "budget"]
    for m in ("AAA", "BBB", "CCC"):
        expected = budgets[budgets["member"] == m]["shadow_price"].sum() * 1e6
        assert table.at[m, "marginal_value"] == pytest.approx(expected)
        assert "one more $1m a year" in table.at[m, "text"]


def test_burden_bands_read_over_and_under_against_the_key():
    members = pd.DataFrame(
        {
            "member": ["AAA", "BBB", "CCC"],
            "pledged": [50.0, 30.0, 20.0],
            "allocated": [50.0, 30.0, 20.0],
            "value_bought": [4.0, 4.0, 2.0],
        }
    )
    bands = burden_bands(members, {"AAA": 2.0, "BBB": 2.0, "ZZZ": 9.0}, band=0.05).set_index(
        "member"
    )
    assert bands.at["AAA", "key_share"] == pytest.approx(0.5)
    assert bands.at["BBB", "burden_gap"] == pytest.approx(-0.2)
    assert bands.at["BBB", "burden"] == "under"
    assert bands.at["CCC", "burden"] == "no key"
    assert bands.at["AAA", "burden"] == "within"
    assert bands.at["BBB", "retour"] == pytest.approx(0.4 / 0.5)
    own = burden_bands(members, contribution_key(members)).set_index("member")
    assert (own["burden"] == "within").all()
    table = pd.DataFrame(
        {"iso3": ["AAA", "AAA", "BBB"], "year": [2023, 2024, 2023], "gdp": [1.0, 2.0, 3.0]}
    )
    assert key_from_table(table, ["AAA", "BBB"], "gdp") == ({"AAA": 1.0, "BBB": 3.0}, 2023)


def test_the_aspf_is_labelled_unconfirmed_and_illustrative(repo_root):
    sentence = "described in public commentary but not confirmed by NATO"
    readme = " ".join((repo_root / "README.md").read_text(encoding="utf-8").split())
    assert sentence in readme
    header = (repo_root / "datasets" / "scenarios" / "aspf-2026.yaml").read_text(encoding="utf-8")
    assert sentence in " ".join(header.split("fund:")[0].replace("#", " ").split())
    from reports.sources import scenario_note

    (note,) = scenario_note("aspf-2026.yaml")
    assert sentence in note
    assert "illustrative" in note
    assert scenario_note("purl-2025.yaml") == ()


def test_another_members_opt_in_that_drives_instability_is_found():
    # The floor on a must be met by BBB and AAA while CCC may fund only c: AAA's money goes
    # to a, which it does not value. With CCC's opt-in relaxed, CCC pays that part of the
    # floor and AAA's money goes to b.
    areas = [
        {
            "id": "a",
            "floor": "100m",
            "value_curve": [{"up_to": "50m", "marginal": 1}, {"marginal": 0.1}],
        },
        {"id": "b", "value_curve": [{"up_to": "20m", "marginal": 1}, {"marginal": 0.1}]},
        {"id": "c", "value_curve": [{"up_to": "10m", "marginal": 1}, {"marginal": 0.01}]},
    ]
    members = [
        {"id": "AAA", "pledge": "10m", "priorities": {"b": 1}},
        {"id": "BBB", "pledge": "90m", "priorities": {"a": 1}},
        {"id": "CCC", "pledge": "20m", "opt_in": ["c"]},
    ]
    sc = validate_scenario(
        {**_fund(members, areas), "fund": {"name": "t", "unit": "m", "years": [2026]}}
    )
    check = stability(solve(sc))
    assert check.unstable == ["AAA"]
    drivers = check.drivers.set_index("member")
    assert list(drivers.index) == ["CCC"]
    assert drivers.at["CCC", "relaxed"] == "opt-in only c"
    assert drivers.at["CCC", "unstable_before"] == 1
    assert drivers.at["CCC", "unstable_after"] == 0
    assert drivers.at["CCC", "made_stable"] == "AAA"


def test_members_command_exits_1_when_no_plan_keeps_everyone(tmp_path, repo_root):
    import subprocess
    import sys

    path = tmp_path / "ceiling.yaml"
    path.write_text(
        "fund: {name: t, unit: m, years: [2026]}\n"
        "members:\n"
        "- {id: AAA, pledge: 20m, priorities: {a: 1}}\n"
        "- {id: BBB, pledge: 80m, priorities: {b: 1}}\n"
        "areas: [{id: a, ceiling: 5m}, {id: b}]\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "optimise.py", "members", str(path), "--participation"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    text = " ".join(run.stdout.split())
    assert "1 of 2 members would be better off outside" in text
    assert "No plan keeps every member at least as well off as alone" in text
    assert "ceiling" in text


def test_priorities_and_the_aggregation_rule_survive_a_workbook(tmp_path):
    from engine.files.excel import write_workbook_scenario
    from engine.files.scenario_files import load_scenario

    data = _fund(
        [
            {
                "id": "AAA",
                "pledge": "10m",
                "priorities": [["a", "b", "1/3"], ["a", "c", 2], ["b", "c", 6]],
            },
            {
                "id": "BBB",
                "pledge": "10m",
                "opt_out": ["d"],
                "priorities": {"swing": {"b": 100, "c": 20}},
            },
            {"id": "CCC", "pledge": "10m", "priorities": {"a": 2, "d": 1}},
            {"id": "DDD", "pledge": "10m"},
        ],
        member_weights="equal",
    )
    sc = validate_scenario(data)
    path = tmp_path / "fund.xlsx"
    write_workbook_scenario(sc, path)
    again = load_scenario(path)
    assert again.members == sc.members
    assert again.objective == sc.objective


def test_an_inconsistent_matrix_in_a_workbook_names_the_member_and_the_pair(tmp_path):
    from openpyxl import load_workbook

    from engine.files.excel import write_workbook_scenario
    from engine.files.scenario_files import load_scenario

    sc = validate_scenario(_fund([{"id": "AAA", "pledge": "10m", "priorities": {"a": 1, "b": 1}}]))
    path = tmp_path / "fund.xlsx"
    write_workbook_scenario(sc, path)
    book = load_workbook(path)
    ws = book["members"]
    column = next(c.column for c in ws[1] if c.value == "priorities")
    ws.cell(2, column, "[[a, b, 3], [b, c, 3], [a, c, 1/3]]")
    book.save(path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "members[AAA].priorities.pairwise" in str(caught.value)
    assert "inconsistent" in str(caught.value)


def test_the_members_table_reports_how_priorities_are_stated_and_their_consistency():
    pairs = [["a", "b", 2], ["a", "c", 5], ["b", "c", 3]]
    sc = validate_scenario(
        _fund(
            [
                {"id": "AAA", "pledge": "10m", "priorities": pairs},
                {"id": "BBB", "pledge": "10m", "priorities": {"swing": {"a": 100}}},
                {"id": "CCC", "pledge": "10m"},
            ]
        )
    )
    table = members_table(solve(sc)).set_index("member")
    assert list(table["priorities"]) == ["pairwise", "swing", "areas' own"]
    expected = ahp(("a", "b", "c"), [tuple(p) for p in pairs]).cr
    assert table.at["AAA", "consistency_ratio"] == pytest.approx(expected)
    assert 0 < expected < 0.1
    assert pd.isna(table.at["BBB", "consistency_ratio"])


def _linprog_participation(sc, bars):
    """The one-year fund with participation rows, written from the data for linprog:
    flows x[m,a] (members' budgets), curve pieces s[a,k] within their widths and within the
    area's funding, each member's value sum_a w_m[a] sum_k marginal_k s[a,k] >= its bar;
    maximise sum_a p_a sum_k marginal_k s[a,k] with the fund's aggregate priorities."""
    priority = area_priorities(sc)
    flows = [(m.id, a.id) for m in sc.members for a in sc.areas if m.joins(a.id)]
    pieces = []
    for a in sc.areas:
        start = 0.0
        for k, seg in enumerate(a.value_curve):
            end = None if seg.up_to is None else seg.up_to / 1e6
            pieces.append((a.id, k, seg.marginal, None if end is None else end - start))
            start = end if end is not None else start
    n_x = len(flows)
    cost = [0.0] * n_x + [-priority[a] * marg for a, _, marg, _ in pieces]
    bounds = [(0, None)] * n_x + [(0, width) for *_, width in pieces]
    rows, rhs = [], []
    for m in sc.members:  # budgets
        rows.append([1.0 if f[0] == m.id else 0.0 for f in flows] + [0.0] * len(pieces))
        rhs.append(m.pledges[2026] / 1e6)
    for a in sc.areas:  # pieces within the area's funding
        rows.append(
            [-1.0 if f[1] == a.id else 0.0 for f in flows]
            + [1.0 if p[0] == a.id else 0.0 for p in pieces]
        )
        rhs.append(0.0)
    for m in sc.members:  # participation: -value <= -bar
        w = member_weights(sc, m)
        rows.append([0.0] * n_x + [-w[a] * marg for a, _, marg, _ in pieces])
        rhs.append(-bars[m.id])
    out = linprog(cost, A_ub=rows, b_ub=rhs, bounds=bounds, method="highs")
    assert out.status in (0, 2)  # optimal or infeasible
    return -out.fun if out.status == 0 else None


def test_the_price_of_stability_matches_an_independent_lp():
    members = [
        {"id": "AAA", "pledge": "10m", "priorities": {"d": 1}},
        {"id": "BBB", "pledge": "90m", "priorities": {"a": 1, "b": 1}},
        {"id": "CCC", "pledge": "40m", "opt_out": ["d"]},
    ]
    areas = [
        {**a, "value_curve": a.get("value_curve") or [{"marginal": 1}]} for a in _fund([])["areas"]
    ]
    data = _fund(members, areas)
    data["fund"]["years"] = [2026]
    sc = validate_scenario(data)
    base = solve(sc)
    table = members_table(base)
    alone = dict(zip(table["member"], table["standalone_value"], strict=True))
    assert unstable(plan_values(base), alone) == ["AAA", "BBB"]
    for margin in (0.0, 0.01, 0.2):  # 0.2: BBB and CCC cannot both get 20% more
        kept = solve_with_participation(sc, alone, margin)
        expected = _linprog_participation(sc, {m: v * (1 + margin) for m, v in alone.items()})
        assert kept.ok == (expected is not None)
        if expected is not None:
            assert kept.objective == pytest.approx(expected, rel=1e-7)
            assert base.objective - kept.objective > 0  # the price of stability
    no_bars = dict.fromkeys(alone, 0.0)
    assert base.objective == pytest.approx(_linprog_participation(sc, no_bars), rel=1e-7)


def test_a_participation_check_with_no_stable_plan_writes_standard_json(tmp_path):
    path = tmp_path / "st.yaml"
    path.write_text(
        "fund: {name: ST, years: [2026]}\n"
        "members: [{id: DEU, pledge: 10bn, priorities: {a: 1}},"
        " {id: FRA, pledge: 10bn, priorities: {b: 1}}]\n"
        "areas: [{id: a}, {id: b}]\n"
        "policies: [{id: bmin, areas: [b], at_least: 60%}]\n"
        "objective: {member_weights: equal}\n"
    )
    res = cli("optimise.py", "members", str(path), "--participation", "--out", str(tmp_path / "o"))
    assert res.returncode == 1, res.stderr

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    text = (tmp_path / "o" / "summary.json").read_text()
    assert json.loads(text, parse_constant=refuse)["price_of_stability"] is None
