"""Forecast the coalition fund and any annual series (thin CLI over :mod:`models`).

    python forecast.py                      # the default fund, ten years, 80/95% intervals
    python forecast.py run --data CSV --horizon H [--model auto] [--levels 80 95] [--out DIR]
    python forecast.py backtest --data CSV --horizon H [--windows K] [--out DIR]
    python forecast.py fund [--scenario FILE] [--path trend|hague-2035|...] [--out DIR]

Exit codes: 0 success; 2 invalid input or usage (one-line message naming the file, series and
problem; no traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

# One BLAS thread per process: the work is many small fits, parallelised over processes.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import typer  # noqa: E402
from rich.table import Table  # noqa: E402

from cli.entry import PipedConsole  # noqa: E402

# Spelled out, not read from models.selection.MODEL_CHOICES, so that --help does not import the
# forecasting stack; tests/test_forecast_models.py checks the two agree.
MODEL_HELP = "auto|naive|drift|ets|arima|theta|dotm|ces|ensemble"

ROOT = Path(__file__).resolve().parent
DEFAULT_SCENARIO = ROOT / "datasets" / "scenarios" / "aspf-2026.yaml"

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    help="Forecast the coalition fund and annual series with calibrated intervals.",
)
console = PipedConsole()


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2."""
    # Plain write: rich would wrap a long path over several lines.
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    raise typer.Exit(code=2)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a library warning as one ``warning:`` line, not Python's file:line format."""
    # The planner needs the message, not where in our source it was raised.
    sys.stderr.write(f"warning: {' '.join(str(message).split())}\n")


#: Longest horizon, in years, and most joint sample paths a command accepts.
MAX_HORIZON = 100
MAX_SAMPLES = 100_000
#: Largest magnitude of a value in a CSV: beyond it the models' sums of squares overflow.
MAX_ABS_VALUE = 1e30
#: Smallest largest-magnitude of a series that is not all zeros: below it squares underflow.
MIN_SERIES_SCALE = 1e-30

RUN_FILES = ("forecast.csv",)
BACKTEST_FILES = ("backtest_forecasts.csv", "metrics_series.csv", "metrics_overall.csv")
FUND_FILES = ("fund.csv", "members.csv", "drivers.csv")


def check_out(out: Path | None, owned: tuple[str, ...]) -> None:
    """Refuse, before any work, an --out that is a file or holds files this command did not
    write (one rule for every --out: :func:`engine.write_folder`)."""
    from engine import check_folder

    if out is not None:
        check_folder(out, owned)


def write_out(out: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Write the command's CSVs as one set, replaced in one step (:func:`engine.write_folder`)."""
    from engine import write_folder

    writers = {
        name: (lambda path, f=frame: f.to_csv(path, index=False)) for name, frame in frames.items()
    }
    write_folder(out, writers, tuple(frames))


def check_data_file(path: Path) -> None:
    """Refuse a --data that is a folder, a device or pipe (reading /dev/zero or a FIFO
    would never end) or holds NUL bytes (not a text CSV)."""
    if path.is_dir():
        fail(f"{path}: is a folder, expected a CSV file")
    if not path.exists():
        return  # the reader says "file not found"
    if not path.is_file():
        fail(f"{path}: is a device, pipe or socket, not a file; give a CSV file")
    with path.open("rb") as fh:
        if fh.read(4) == b"PK\x03\x04":  # the zip container of .xlsx, .ods and .docx
            fail(f"{path}: is an Excel workbook (or another zip file); save the sheet as CSV")
        fh.seek(0)
        offset = 0
        while chunk := fh.read(1 << 20):
            at = chunk.find(b"\x00")
            if at >= 0:
                fail(f"{path}: holds a NUL byte at byte {offset + at:,}; expected a text CSV")
            offset += len(chunk)


def largest_values(df: pd.DataFrame) -> pd.Series:
    """Each series' largest |y| (the scale both the size checks and the band warning use)."""
    return df["y"].abs().groupby(df["unique_id"]).max()


def check_values(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The series of ``df`` (``unique_id, ds, y``): other columns are dropped with a warning
    (no CLI model uses drivers). Refuses values too large for the models (their squares
    overflow), naming the row, and series too small (their squares underflow)."""
    import warnings

    extra = [c for c in df.columns if c not in ("unique_id", "ds", "y")]
    if extra:
        warnings.warn(
            f"{path}: column(s) {', '.join(map(str, extra))} not used: the command's models "
            "forecast y from its own history",
            stacklevel=2,
        )
        df = df[["unique_id", "ds", "y"]]
    big = df["y"].abs() > MAX_ABS_VALUE
    if big.any():
        row = df.loc[big.idxmax()]
        fail(
            f"{path}: y holds {row['y']:g} (series {row['unique_id']}, ds {row['ds']}); values "
            f"beyond +-{MAX_ABS_VALUE:g} are not supported: rescale the series (e.g. to billions)"
        )
    scale = largest_values(df)
    tiny = scale[(scale > 0) & (scale < MIN_SERIES_SCALE)]
    if len(tiny):
        fail(
            f"{path}: series {tiny.index[0]!r} never exceeds {tiny.iloc[0]:g} in magnitude; "
            f"series below {MIN_SERIES_SCALE:g} are not supported (their squares underflow): "
            "rescale the series (e.g. multiply by a power of ten)"
        )
    return df


#: A band whose upper bound passes this multiple of the series' largest |value| says nothing.
WIDE_BAND = 1000.0


def warn_wide_bands(fc: pd.DataFrame, df: pd.DataFrame) -> None:
    """Warn, naming them, about series whose widest band is infinite or beyond
    :data:`WIDE_BAND` times the series' largest |value| (huge jumps in the history)."""
    import warnings

    hi = [c for c in fc.columns if c.startswith("hi-")]
    if not hi:
        return
    top = fc.groupby("unique_id")[hi[-1]].max()
    scale = largest_values(df).reindex(top.index)
    wide = top[~np.isfinite(top) | (top > WIDE_BAND * scale.where(scale > 0, 1.0))]
    if len(wide):
        named = ", ".join(map(repr, wide.index[:5])) + (
            f" and {len(wide) - 5} more" if len(wide) > 5 else ""
        )
        warnings.warn(
            f"{len(wide)} series have a {hi[-1][3:]}% band beyond {WIDE_BAND:g} times their "
            f"largest value (or infinite): {named}; their history's jumps leave the forecast "
            "uninformative at that level",
            stacklevel=2,
        )


def number(value: float) -> str:
    """A metric for the table: 3 decimals, or 4 significant digits beyond a million (an MSIS
    of 1e80 would print as 80 digits)."""
    return f"{value:.3f}" if not abs(value) >= 1e6 else f"{value:.4g}"


def warn_flat_series(df: pd.DataFrame) -> None:
    """Warn, naming them, about series that never changed: their bands have no width, since
    nothing in their history measures how far they could move."""
    import warnings

    flat = df.groupby("unique_id")["y"].nunique()
    flat = flat[flat == 1].index
    if len(flat):
        named = ", ".join(map(repr, flat[:5])) + (
            f" and {len(flat) - 5} more" if len(flat) > 5 else ""
        )
        warnings.warn(
            f"{len(flat)} series never change in their history: {named}; their bands have next "
            "to no width, as nothing in the history measures how far they could move",
            stacklevel=2,
        )


def _guard(func):
    """Turn input errors into exit 2 with their one-line message."""
    import functools

    from models.errors import ForecastInputError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from engine import EngineError

        try:
            return func(*args, **kwargs)
        except (ForecastInputError, EngineError) as exc:
            # Every problem, not only the first: a scenario may have several.
            fail(str(exc) or type(exc).__name__)
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".strip(": "))

    return wrapper


def print_fund(fc, currency: str, unit: str, levels=(80, 95)) -> None:
    """Rich tables: the fund's size per year with intervals, and the five main drivers, in the
    scenario's currency and unit (``EUR m`` for the NIF, ``USD bn`` for the ASPF)."""
    from engine import UNIT_FACTORS

    factor = UNIT_FACTORS.get(unit, 1.0)
    label = f"{currency} {unit}".strip()

    def shown(x: float) -> str:
        return f"{x / factor:,.1f}"

    tot = fc.total(levels)
    t = Table(title=f"Fund size, {label} (path: {fc.path_name}; {fc.samples.shape[0]} joint paths)")
    t.add_column("year", justify="right")
    t.add_column("median", justify="right")
    t.add_column("mean", justify="right")
    for lv in levels:
        t.add_column(f"{lv}% interval", justify="right")
    for d in tot.to_dict("records"):
        cells = [str(d["year"]), shown(d["median"]), shown(d["mean"])]
        for lv in levels:
            cells.append(f"{shown(d[f'lo-{lv}'])} - {shown(d[f'hi-{lv}'])}")
        t.add_row(*cells)
    console.print(t)
    if len(fc.years) < 2:  # one year: no change to share out
        return
    drv = fc.drivers(5)
    t2 = Table(
        title=f"Members driving the change {fc.years[0]}-{fc.years[-1]} ({label}; pro-rata "
        "medians: members' medians scaled to add up to the fund's, so the changes add up)"
    )
    for c in ("member", fc.years[0], fc.years[-1], "change", "share of change"):
        t2.add_column(str(c), justify="right")
    for r in drv.itertuples(index=False):
        t2.add_row(
            r.member,
            shown(r.first),
            shown(r.last),
            shown(r.change),
            f"{100 * r.share_of_change:.0f}%" if np.isfinite(r.share_of_change) else "-",
        )
    console.print(t2)
    if drv["share_of_change"].isna().all():
        console.print("Members' changes nearly cancel: no share of the fund's net change is shown.")


def _fund(
    scenario: Path, path: str, horizon: int, samples: int, seed: int, out: Path | None, jobs: int
) -> None:
    from engine import forecast_settings, load_scenario
    from models.base import check_horizon
    from models.errors import ForecastInputError
    from models.fund import fund_forecast

    horizon = check_horizon(horizon)
    check_out(out, FUND_FILES)
    sc = load_scenario(scenario)
    paths, _ = forecast_settings(sc)
    first = int(sc.fund.years[0])
    years = list(range(first, first + horizon))
    try:
        fc = fund_forecast(sc, path, years, paths=paths, n_samples=samples, seed=seed, n_jobs=jobs)
    except ForecastInputError as exc:  # the scenario's members, paths: name the file
        raise ForecastInputError(f"{scenario}: {exc}") from None
    print_fund(fc, sc.fund.currency, sc.fund.unit)
    if out is not None:
        tot = fc.total((80, 95))
        frames = {"fund.csv": tot, "members.csv": fc.by_member((80, 95))}
        write_out(out, {**frames, "drivers.csv": fc.drivers(len(fc.members))})
        console.print(
            f"wrote {out}/fund.csv, members.csv, drivers.csv "
            f"(amounts in {sc.fund.currency}, not {sc.fund.currency} {sc.fund.unit})",
            highlight=False,
        )


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Without a command: forecast the default fund ten years ahead and print it."""
    if ctx.invoked_subcommand is None:
        _guard(_fund)(DEFAULT_SCENARIO, "trend", 10, 2000, 0, None, 2)


#: Models ``run --scheduler`` computes (naive and drift need no cluster: seconds in-process).
SCHEDULER_MODELS = ("auto", "naive", "drift")
#: From this many series ``run --model auto`` takes the panel path (models/panel_auto.py: the
#: same computation over arrays, to rounding); smaller panels keep the per-series path.
PANEL_MIN_SERIES = 1_000


def _run_forecast(
    fc_model, data: Path, h: int, lv: list[float], runner, jobs: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``data`` and forecast it; returns the forecasts and the series read. naive/drift
    and large ``auto`` panels run over arrays
    (``runner`` a Dask runner or None), anything else series by series."""
    from models import panel_auto
    from models.data import leave_out_short, read_long_csv
    from models.errors import ForecastInputError
    from models.panel import fast_forecast  # naive/drift on a whole panel at once, same numbers

    df = leave_out_short(read_long_csv(data), fc_model.required_length(), str(data))
    df = check_values(df, data)
    fc = fast_forecast(fc_model, df, h, lv)
    if fc is not None:
        return fc, df
    n_series = df["unique_id"].nunique()
    if runner is not None or n_series >= PANEL_MIN_SERIES:
        fc = panel_auto.forecast_panel(fc_model, df, h, lv, runner or panel_auto.local_runner(jobs))
        if fc is not None:
            note = panel_auto.sample_note(n_series)
            if note:
                console.print(note, highlight=False, soft_wrap=True)
            return fc, df
    try:
        fc_model.fit(df)
    except ForecastInputError as exc:
        raise ForecastInputError(f"{data}: {exc}") from None
    return fc_model.predict(h, level=lv), df


def option_levels(levels: list[float] | None) -> list[float]:
    """``--levels`` checked (default 80 95); a bad level is a usage error naming the option."""
    from models.base import check_levels
    from models.errors import ForecastInputError

    try:
        return check_levels(levels or [80, 95])
    except ForecastInputError as exc:
        raise ForecastInputError(f"--levels: {exc}") from None


@app.command()
@_guard
def run(
    data: Annotated[Path, typer.Option(help="long CSV with unique_id, ds, y")],
    horizon: Annotated[int, typer.Option(help="years ahead (1 to 100)", min=1, max=MAX_HORIZON)],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "auto",
    levels: Annotated[list[float] | None, typer.Option(help="interval levels, e.g. 80 95")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("forecast_out"),
    windows: Annotated[
        int | None,
        typer.Option(help="backtest windows for choice/calibration (default 5)", min=1),
    ] = None,
    jobs: Annotated[int, typer.Option(help="worker processes", min=1, max=256)] = 2,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="run --model auto on Dask: a scheduler tcp://host:8786, or local / local:N "
            "for a LocalCluster of N processes"
        ),
    ] = None,
) -> None:
    """Forecast every series of a long CSV; writes OUT/forecast.csv."""
    from contextlib import nullcontext

    from models.base import check_horizon
    from models.selection import make_forecaster

    h = check_horizon(horizon)
    lv = option_levels(levels)
    check_out(out, RUN_FILES)
    check_data_file(data)
    fc_model = make_forecaster(model, h, n_jobs=jobs, n_windows=windows)
    if scheduler is not None and model not in SCHEDULER_MODELS:
        fail(f"--scheduler runs --model {', '.join(SCHEDULER_MODELS)}; got --model {model}")
    context = nullcontext(None)
    if scheduler is not None:
        from models.panel_dask import dask_runner

        context = dask_runner(scheduler)  # connects on entry: a bad address fails before any work
    with context as runner:
        fc, df = _run_forecast(fc_model, data, h, lv, runner, jobs)
    warn_wide_bands(fc, df)
    warn_flat_series(df)
    write_out(out, {"forecast.csv": fc})
    years = f"{h} year{'s' * (h != 1)}"
    console.print(f"wrote {out / 'forecast.csv'} ({fc['unique_id'].nunique()} series, {years})")


@app.command()
@_guard
def backtest(
    data: Annotated[Path, typer.Option(help="long CSV with unique_id, ds, y")],
    horizon: Annotated[int, typer.Option(help="years ahead (1 to 100)", min=1, max=MAX_HORIZON)],
    windows: Annotated[int, typer.Option(help="evaluation windows per series", min=1)] = 3,
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "auto",
    levels: Annotated[list[float] | None, typer.Option(help="interval levels")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("backtest_out"),
    jobs: Annotated[int, typer.Option(help="worker processes", min=1, max=256)] = 2,
) -> None:
    """Rolling-origin backtest; writes OUT/backtest_forecasts.csv, metrics_series.csv,
    metrics_overall.csv (MASE, sMAPE, calibrated coverage and MSIS, and the models' own coverage
    as coverage_uncal). Each series needs horizon + windows + L years (L = 4 for auto; README
    lists each model's); shorter ones are left out with a warning."""
    from models.base import check_horizon
    from models.data import leave_out_short, read_long_csv
    from models.errors import ForecastInputError
    from models.evaluation import run_backtest
    from models.selection import make_forecaster

    h = check_horizon(horizon)
    lv = option_levels(levels)
    check_out(out, BACKTEST_FILES)
    check_data_file(data)
    need = make_forecaster(model, h).required_length()
    df = leave_out_short(read_long_csv(data), need, str(data))
    df = check_values(df, data)
    try:
        fc, per, overall = run_backtest(
            df, h, model=model, n_windows=windows, levels=lv, n_jobs=jobs
        )
    except ForecastInputError as exc:
        raise ForecastInputError(f"{data}: {exc}") from None
    warn_wide_bands(fc, df)  # their MSIS, and the mean MSIS, then say little but that
    write_out(
        out,
        {"backtest_forecasts.csv": fc, "metrics_series.csv": per, "metrics_overall.csv": overall},
    )
    t = Table(title=f"Backtest of {model}: {len(per)} series, {windows} window(s), horizon {h}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for c, v in overall.iloc[0].items():  # one row per metric: any number of levels fits
        t.add_row(str(c), number(v) if isinstance(v, float) else str(v))
    console.print(t)
    console.print(f"wrote {out}/backtest_forecasts.csv, metrics_series.csv, metrics_overall.csv")


@app.command()
@_guard
def fund(
    scenario: Annotated[
        str, typer.Option(help="the fund: scenario file or shipped name (e.g. nif)")
    ] = "aspf-2026",
    path: Annotated[str, typer.Option(help="policy path: trend, hague-2035 or the scenario's")] = (
        "trend"
    ),
    horizon: Annotated[
        int, typer.Option(help="years from the first fund year", min=1, max=MAX_HORIZON)
    ] = 10,
    samples: Annotated[
        int, typer.Option(help="joint sample paths", min=100, max=MAX_SAMPLES)
    ] = 2000,
    seed: Annotated[int, typer.Option(help="random seed (0 or more)", min=0)] = 0,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    jobs: Annotated[int, typer.Option(help="worker processes", min=1, max=256)] = 2,
) -> None:
    """Forecast the fund's size and members' contributions under a policy path."""
    from datasets import scenario_path

    _fund(scenario_path(scenario), path, horizon, samples, seed, out, jobs)


def expand_levels(argv: list[str]) -> list[str]:
    """Accept ``--levels 80 95`` (the documented form) as well as ``--levels 80 --levels 95``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] == "--levels":
            j = i + 1
            values = []
            while j < len(argv) and not argv[j].startswith("--"):
                values.append(argv[j])
                j += 1
            if values:
                out.append(values[0])
                for v in values[1:]:
                    out += ["--levels", v]
            i = j
            continue
        i += 1
    return out


def register_report(argv: list[str]) -> None:
    """Mount ``report`` (cli/report.py, the forecast report) when asked for: importing it costs
    every other command half a second."""
    if argv[:1] == ["report"] or "--help" in argv:
        try:
            from cli.report import forecast_report_cmd
        except ImportError:
            return
        app.command("report", help="Write the forecast report (HTML; --pdf, --xlsx).")(
            forecast_report_cmd
        )


if __name__ == "__main__":
    import warnings

    warnings.showwarning = show_warning
    sys.argv[1:] = expand_levels(sys.argv[1:])
    register_report(sys.argv[1:])
    from cli.entry import run as run_app

    run_app(app)
