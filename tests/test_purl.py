"""The PURL scenario (datasets/scenarios/purl-2025.yaml): it validates and solves, every
funded package is paid in full by its reported contributors, the pledges follow the
reported packages, and a further round of pledges funds the next candidates."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets import DATA_DIR, scenario_path
from engine import load_with_edits, members_table, solve
from tests.cli_runs import run_many

PACKAGES = pd.read_csv(DATA_DIR / "purl_packages_2025.csv")


@pytest.fixture(scope="module")
def purl():
    return load_with_edits(scenario_path("purl-2025"), [])


@pytest.fixture(scope="module")
def plan(purl):
    return solve(purl)


def test_the_scenario_validates_and_solves(purl, plan):
    assert plan.ok
    assert {m.id for m in purl.members} == set(";".join(PACKAGES["contributors"]).split(";"))


def test_pledges_add_up_to_the_reported_packages(purl):
    pledged = sum(m.pledges[2025] for m in purl.members)
    reported = PACKAGES["amount_usd_m"].sum() * 1e6
    assert pledged == pytest.approx(reported, abs=1e4)  # 0.01m of rounding (thirds)
    costs = {p.id: sum(p.cost.values()) for p in purl.projects if p.id.startswith("p")}
    assert costs == pytest.approx(
        {
            f"p{n}": a * 1e6
            for n, a in zip(PACKAGES["package"], PACKAGES["amount_usd_m"], strict=True)
        }
    )


def test_every_reported_package_is_funded_by_its_contributors_only(purl, plan):
    funded = plan.projects[plan.projects["funded"]]
    assert set(funded["project"]) == {f"p{n}" for n in PACKAGES["package"]}
    paid = plan.project_members.groupby(["project", "member"])["amount"].sum()
    for row in PACKAGES.itertuples():
        key = f"p{row.package}"
        payers = paid.loc[key]
        assert set(payers.index) <= set(row.contributors.split(";"))
        assert payers.sum() == pytest.approx(row.amount_usd_m * 1e6, rel=1e-9)
        # As assumed in the file: a joint package is split equally among its contributors.
        assert payers.to_numpy() == pytest.approx(row.amount_usd_m * 1e6 / len(payers), rel=1e-6)
        assert len(payers) == len(row.contributors.split(";"))
    for m in purl.members:  # nobody pays more than it pledged
        assert paid.xs(m.id, level="member").sum() <= m.pledges[2025] * (1 + 1e-9)


def test_without_new_pledges_no_next_round_package_is_funded(plan):
    nxt = plan.projects[plan.projects["project"].str.startswith("n")]
    assert not nxt["funded"].any()


def test_a_further_round_funds_air_defence_first():
    edits = [
        "members.DEU.pledge={2025: 666.667m, 2026: 500m}",
        "members.NLD.pledge={2025: 578m, 2026: 500m}",
    ]
    result = solve(load_with_edits(scenario_path("purl-2025"), edits))
    funded = set(result.projects.loc[result.projects["funded"], "project"])
    assert {"n1", "n2"} <= funded
    assert not funded & {"n3", "n4", "n5", "n6"}
    paid = result.project_members.groupby("project")["amount"].sum()
    assert paid["n1"] == pytest.approx(500e6)
    assert paid["n2"] == pytest.approx(500e6)


def test_members_table_of_purl_says_who_could_buy_a_package_alone(plan):
    table = members_table(plan).set_index("member")
    # Alone, only members with at least one package's cost could buy one.
    assert table.at["NLD", "standalone_value"] > 0
    assert table.at["EST", "standalone_value"] == 0
    assert not table["better_off_outside"].any()


def test_members_command_writes_its_tables(tmp_path, repo_root):
    out = tmp_path / "members"
    run, bad = run_many(
        [
            ("optimise.py", ["members", "purl-2025", "--participation", "--out", str(out)]),
            ("optimise.py", ["members", "purl-2025", "--key", "nato"]),
        ],
        cwd=repo_root,
    )
    assert run.returncode == 0, run.stderr
    written = {p.name for p in out.iterdir()}
    assert {
        "members.csv",
        "burden.csv",
        "flows.csv",
        "project_shares.csv",
        "summary.json",
    } <= written
    assert bad.returncode == 2
    assert "--key-file" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_what_each_members_money_buys_adds_up_to_the_plan(plan):
    # No member states priorities or opts out: all value the plan alike, and the parts
    # bought with each member's money add up to the whole.
    table = members_table(plan)
    assert table["value_in_fund"].nunique() == 1
    assert table["value_bought"].sum() == pytest.approx(table["value_in_fund"].iloc[0], rel=1e-9)


def test_members_command_refuses_a_bad_key_file_or_member_before_solving(tmp_path, repo_root):
    bad = tmp_path / "key.csv"
    bad.write_text("member,share\nNOR,lots\n", encoding="utf-8")
    twice = tmp_path / "twice.csv"
    twice.write_text("member,share\nNOR,0.5\nNOR,0.5\n", encoding="utf-8")
    typo = tmp_path / "typo.csv"
    typo.write_text("member,share\nNOR,0.5\nNRO,0.5\n", encoding="utf-8")
    cases = (
        (["--key-file", str(bad)], "column share: expected positive numbers, not for NOR"),
        (["--key-file", str(twice)], "twice.csv: column member: NOR listed more than once"),
        (["--key-file", str(typo)], "typo.csv: column member: no member 'NRO' in the scenario"),
        (["--key-file", str(tmp_path / "missing.csv")], "cannot read the key file"),
        (["--member", "XXX"], "--member: no member 'XXX'"),
    )
    runs = run_many([("optimise.py", ["members", "purl-2025", *a]) for a, _ in cases], repo_root)
    for run, (_, expected) in zip(runs, cases, strict=True):
        assert run.returncode == 2
        assert expected in " ".join(run.stderr.split())
        assert "Traceback" not in run.stderr


def test_a_key_whose_shares_do_not_add_up_is_read_as_weights_with_a_warning(tmp_path, repo_root):
    weights = tmp_path / "weights.csv"
    weights.write_text("member,share\nNOR,1\nDEU,0.5\n", encoding="utf-8")
    out = tmp_path / "out"
    [run] = run_many(
        [("optimise.py", ["members", "purl-2025", "--key-file", str(weights), "--out", str(out)])],
        repo_root,
    )
    assert run.returncode == 0, run.stderr
    assert "the shares add up to 1.5, not 1 or 100" in " ".join(run.stderr.split())
    burden = pd.read_csv(out / "burden.csv").set_index("member")
    assert burden["key_share"].sum() == pytest.approx(1.0)
