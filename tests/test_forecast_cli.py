"""forecast.py in a subprocess: outputs, exit codes and one-line error messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "forecast"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "forecast.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def test_run_writes_the_contract_columns_and_exact_drift_forecasts(tmp_path):
    res = cli(
        "run", "--data", str(DATA / "linear_and_flat.csv"), "--horizon", "3",
        "--model", "drift", "--out", str(tmp_path), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    fc = pd.read_csv(tmp_path / "forecast.csv")
    assert list(fc.columns) == [
        "unique_id",
        "ds",
        "model",
        "mean",
        "lo-80",
        "hi-80",
        "lo-95",
        "hi-95",
    ]
    lin = fc[fc["unique_id"] == "lin"]
    np.testing.assert_allclose(lin["mean"], 10 + 2.5 * np.arange(16, 19))
    assert lin["ds"].tolist() == [2016, 2017, 2018]
    np.testing.assert_allclose(fc.loc[fc["unique_id"] == "flat", "mean"], 7.0)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_run_honours_requested_levels(tmp_path):
    res = cli(
        "run", "--data", str(DATA / "random_walks.csv"), "--horizon", "2", "--model", "naive",
        "--levels", "50", "90", "--out", str(tmp_path), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    cols = pd.read_csv(tmp_path / "forecast.csv").columns.tolist()
    assert cols[-4:] == ["lo-50", "hi-50", "lo-90", "hi-90"]


def test_a_library_warning_reaches_the_planner_as_one_plain_line(tmp_path):
    # A series below zero cannot be forecast on logs, so one candidate is left out with a warning.
    years = np.arange(2000, 2015)
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": "up", "ds": years, "y": 100.0 + 3 * (years - 2000)}),
            pd.DataFrame({"unique_id": "down", "ds": years, "y": -100.0 - 3 * (years - 2000)}),
        ]
    )
    df.to_csv(tmp_path / "mixed.csv", index=False)
    res = cli(
        "run", "--data", str(tmp_path / "mixed.csv"), "--horizon", "3",
        "--out", str(tmp_path / "out"), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines, res.stderr
    assert all(line.startswith("warning: ") for line in lines), res.stderr
    assert "UserWarning" not in res.stderr
    assert "forecast.py:" not in res.stderr


def test_backtest_writes_series_and_overall_metrics(tmp_path):
    res = cli(
        "backtest", "--data", str(DATA / "random_walks.csv"), "--horizon", "3",
        "--windows", "2", "--model", "drift", "--out", str(tmp_path), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    per = pd.read_csv(tmp_path / "metrics_series.csv")
    overall = pd.read_csv(tmp_path / "metrics_overall.csv")
    fc = pd.read_csv(tmp_path / "backtest_forecasts.csv")
    assert len(per) == 4
    assert {"mase", "smape", "coverage-95", "msis-95"} <= set(overall.columns)
    assert "cutoff" in fc.columns
    assert fc["cutoff"].nunique() == 2
    for metric in overall.columns:  # printed whole, one row each, however narrow the pipe
        assert metric in res.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--data", "missing_column.csv", "--horizon", "2"], "missing column(s) ds"),
        (["--data", "duplicate.csv", "--horizon", "2"], "duplicate rows for ds=2001"),
        (["--data", "gap.csv", "--horizon", "2"], "series 'b' has a gap"),
        (["--data", "text_in_y.csv", "--horizon", "2"], "series 'a' has a missing, non-numeric"),
        (["--data", "boolean_y.csv", "--horizon", "2"], "column 'y' holds True/False"),
        (["--data", "infinite_y.csv", "--horizon", "2"], "non-finite y in 2001: inf"),
        (["--data", "repeated_column.csv", "--horizon", "2"], "column(s) y appear more than once"),
        (
            ["--data", "random_walks.csv", "--horizon", "0"],
            "'--horizon': Input should be greater than or equal to 1",
        ),
        (
            ["--data", "random_walks.csv", "--horizon", "2", "--levels", "0.8", "0.95"],
            "--levels: levels are percentages from 1 to below 100 (80 for an 80% interval)",
        ),
        (
            ["--data", "random_walks.csv", "--horizon", "2", "--levels", "0"],
            "--levels: level must be between 0 and 100 (exclusive); got 0.0",
        ),
        (["--data", "nope.csv", "--horizon", "2"], "nope.csv: file not found"),
        (
            ["--data", "semicolons.csv", "--horizon", "2"],
            "the header is separated by semicolons: save the file with commas",
        ),
        (["--data", "random_walks.csv", "--horizon", "2", "--model", "magic"], "unknown model"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args, expected, tmp_path):
    args = [str(DATA / a) if a.endswith(".csv") else a for a in args]
    res = cli("run", *args, "--out", str(tmp_path), "--jobs", "1")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert expected in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    if "--data" in args and not any(w in expected for w in ("horizon", "model", "levels")):
        assert Path(args[args.index("--data") + 1]).name in res.stderr
    assert not (tmp_path / "forecast.csv").exists()


@pytest.mark.parametrize("command", ["run", "backtest"])
def test_a_series_too_short_for_the_model_is_left_out_with_a_warning_naming_it(command, tmp_path):
    data = tmp_path / "mixed.csv"
    sizes = {"long": 12, "four": 4, "one": 1}
    data.write_text(
        "unique_id,ds,y\n"
        + "".join(f"{u},{2000 + t},{10 + t + t % 3}\n" for u, n in sizes.items() for t in range(n))
    )
    res = cli(command, "--data", str(data), "--horizon", "2", "--model", "arima",
              "--windows", "1", "--out", str(tmp_path / "o"), "--jobs", "1")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 of 3 series left out: the model needs at least 6 observations" in res.stderr
    assert "'four' (4), 'one' (1)" in res.stderr
    written = "forecast.csv" if command == "run" else "backtest_forecasts.csv"
    assert set(pd.read_csv(tmp_path / "o" / written)["unique_id"]) == {"long"}


def test_a_panel_where_every_series_is_too_short_is_refused_naming_the_longest(tmp_path):
    res = cli("run", "--data", str(DATA / "short.csv"), "--horizon", "2", "--model", "arima",
              "--out", str(tmp_path / "o"))  # fmt: skip
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "short.csv: no series is long enough: the model needs at least 6" in res.stderr
    assert "the longest, 'a', has 5" in res.stderr
    assert not (tmp_path / "o").exists()


def test_a_series_too_small_to_square_is_refused_by_name(tmp_path):
    data = tmp_path / "tiny.csv"
    scales = {"ok": 1.0, "tiny": 1e-298}
    rows = [f"{u},{2000 + t},{(1 + 0.1 * t) * s!r}\n" for u, s in scales.items() for t in range(8)]
    data.write_text("unique_id,ds,y\n" + "".join(rows))
    res = cli("run", "--data", str(data), "--horizon", "2", "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert "series 'tiny' never exceeds 1.7e-298" in res.stderr
    assert not (tmp_path / "o").exists()


def test_columns_no_cli_model_uses_are_dropped_with_a_warning(tmp_path):
    data = tmp_path / "drivers.csv"
    data.write_text(
        "unique_id,ds,y,gdp\n" + "".join(f"a,{2000 + t},{10 + t},{1e40}\n" for t in range(8))
    )
    res = cli("run", "--data", str(data), "--horizon", "2", "--model", "drift",
              "--out", str(tmp_path / "o"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "warning: " in res.stderr
    assert "column(s) gdp not used" in res.stderr
    np.testing.assert_allclose(pd.read_csv(tmp_path / "o" / "forecast.csv")["mean"], [18, 19])


def test_a_band_made_uninformative_by_huge_jumps_is_named_in_a_warning(tmp_path):
    data = tmp_path / "jumps.csv"
    values = [10, 500, 10, 2200, 15, 16, 17, 18, 16, 17, 18, 15, 16, 17, 18]
    data.write_text(
        "unique_id,ds,y\n" + "".join(f"J,{2000 + t},{v}\n" for t, v in enumerate(values))
    )
    res = cli("run", "--data", str(data), "--horizon", "10", "--model", "drift",
              "--out", str(tmp_path / "o"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "overflow" not in res.stderr
    assert "95% band beyond 1000 times their largest value (or infinite): 'J'" in res.stderr


def test_fund_writes_coherent_outputs_for_a_scenario_path(tmp_path):
    res = cli(
        "fund", "--scenario", str(DATA / "mini_scenario.yaml"), "--path", "hague-pol-leaves",
        "--horizon", "4", "--samples", "400", "--out", str(tmp_path), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Fund size" in res.stdout
    fund = pd.read_csv(tmp_path / "fund.csv")
    members = pd.read_csv(tmp_path / "members.csv")
    assert fund["year"].tolist() == [2026, 2027, 2028, 2029]
    assert fund.loc[0, "mean"] == pytest.approx(31e9)
    np.testing.assert_allclose(fund["mean"], members.groupby("year")["mean"].sum().to_numpy())
    assert (
        members.loc[(members["member"] == "POL") & (members["year"] >= 2028), "mean"] == 0
    ).all()
    drivers = pd.read_csv(tmp_path / "drivers.csv")
    assert set(drivers["member"]) == set(members["member"])  # every member, not the top five
    assert drivers["share_of_change"].sum() == pytest.approx(1.0)


def test_fund_refuses_a_negative_seed_in_one_line():
    res = cli("fund", "--scenario", str(DATA / "mini_scenario.yaml"), "--seed", "-1")
    assert res.returncode == 2
    assert res.stderr.startswith("error: Invalid value for '--seed'")
    assert len(res.stderr.strip().splitlines()) == 1


def test_fund_with_an_unknown_path_exits_2(tmp_path):
    res = cli("fund", "--scenario", str(DATA / "mini_scenario.yaml"), "--path", "moon")
    assert res.returncode == 2
    assert "unknown policy path 'moon'" in res.stderr
    assert "Traceback" not in res.stderr


def test_fund_with_a_missing_scenario_exits_2():
    res = cli("fund", "--scenario", "no/such.yaml")
    assert res.returncode == 2
    assert "no/such.yaml: file not found" in res.stderr


def test_fund_tables_agree_to_the_cent_for_the_years_two_horizons_share(tmp_path):
    common = ["--scenario", str(DATA / "mini_scenario.yaml"), "--samples", "400", "--jobs", "1"]
    ten = cli("fund", *common, "--out", str(tmp_path / "ten"))  # the default's horizon
    five = cli("fund", *common, "--horizon", "5", "--out", str(tmp_path / "five"))
    assert ten.returncode == 0, ten.stderr
    assert five.returncode == 0, five.stderr
    a = pd.read_csv(tmp_path / "ten" / "fund.csv")
    b = pd.read_csv(tmp_path / "five" / "fund.csv")
    assert len(a) == 10
    assert len(b) == 5
    pd.testing.assert_frame_equal(a.iloc[:5].round(2), b.round(2))
    ma = pd.read_csv(tmp_path / "ten" / "members.csv")
    mb = pd.read_csv(tmp_path / "five" / "members.csv")
    pd.testing.assert_frame_equal(
        ma[ma["year"] < 2031].reset_index(drop=True).round(2), mb.round(2)
    )


def test_fund_takes_a_shipped_name_and_shows_the_scenarios_currency_and_unit(tmp_path):
    # The NIF (EUR m) has Iceland, which pledges but has no defence share: it follows its GDP.
    res = cli(
        "fund", "--scenario", "nif", "--horizon", "3", "--samples", "200",
        "--out", str(tmp_path), "--jobs", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Fund size, EUR m" in res.stdout
    assert "US$" not in res.stdout
    members = pd.read_csv(tmp_path / "members.csv")
    first = members[members["year"] == 2026].set_index("member")["median"]
    assert first["ISL"] == pytest.approx(2.736e6)
    assert (members.loc[members["member"] == "ISL", "median"] > 0).all()


@pytest.mark.parametrize("command", ["fund", "report"])
def test_a_fund_where_no_one_pledges_is_refused_naming_the_file(command, tmp_path):
    nif = yaml.safe_load((ROOT / "datasets" / "scenarios" / "nif.yaml").read_text())
    for member in nif["members"]:
        member["pledge"] = 0
    source = tmp_path / "nothing.yaml"
    source.write_text(yaml.safe_dump(nif, sort_keys=False))
    out = tmp_path / ("report.html" if command == "report" else "o")
    res = cli(command, "--scenario", str(source), "--out", str(out))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "nothing.yaml: no member pledges more than 0 in the first fund year 2026" in res.stderr
    assert not out.exists()


def test_an_excel_workbook_given_as_data_is_named_as_one(tmp_path):
    book = tmp_path / "series.csv"
    book.write_bytes(b"PK\x03\x04" + b"\x14\x00" * 20)  # a zip header: what .xlsx files start with
    res = cli("run", "--data", str(book), "--horizon", "2", "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert "series.csv: is an Excel workbook (or another zip file); save the sheet as CSV" in (
        res.stderr
    )


def test_a_csv_not_in_utf8_is_named_with_the_byte_and_the_fix(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"unique_id,ds,y\nC\xf4te,2000,1\nC\xf4te,2001,2\nC\xf4te,2002,3\n")
    res = cli("run", "--data", str(latin), "--horizon", "2", "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert "latin.csv: is not UTF-8 text (byte 0xf4 at byte 16); save it as CSV UTF-8" in (
        res.stderr
    )
    assert not (tmp_path / "o").exists()


def test_a_series_that_never_changed_is_named_as_having_bands_of_no_width(tmp_path):
    data = tmp_path / "flat.csv"
    rows = [f"K,{year},100" for year in range(2000, 2020)]
    rows += [f"R,{year},{100 + (year % 3) * 5 + year - 2000}" for year in range(2000, 2020)]
    data.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    res = cli("run", "--data", str(data), "--horizon", "2", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    assert "1 series never change in their history: 'K'" in res.stderr


def test_backtest_names_a_series_whose_bands_are_uninformative_and_prints_huge_msis_short(
    tmp_path,
):
    data = tmp_path / "spike.csv"
    values = [100, 101, 102, 103, 1e6, 104, 105, 106, 107, 108, 109, 110]
    data.write_text(
        "unique_id,ds,y\n" + "".join(f"A,{2000 + i},{v}\n" for i, v in enumerate(values))
    )
    res = cli("backtest", "--data", str(data), "--horizon", "3", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    assert "95% band beyond 1000 times their largest value (or infinite): 'A'" in res.stderr
    msis = next(line for line in res.stdout.splitlines() if "msis-95" in line)
    assert "e+" in msis
    assert len(msis) < 80
