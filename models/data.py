"""Loading and validating long-format annual series.

Every frame the forecasters see is tidy and long: ``unique_id`` (str), ``ds`` (int year), ``y``
(float), plus optional driver columns, sorted by ``unique_id`` then ``ds``, one row per year and no
gaps. Loaders for the shipped NATO and World Bank tables return the same shape.
"""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import ForecastInputError

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
NATO_WIDE = DATASETS / "nato_defexp_2014_2024_wide.csv"
WORLDBANK = DATASETS / "worldbank_wdi_gdp_nato_partners.csv"

REQUIRED = ("unique_id", "ds", "y")
#: Largest |ds| read as a year: beyond it a number is a typo, and int64 cannot hold 1e20.
MAX_YEAR = 1e9


def _years(ds: pd.Series, source: str, ids: pd.Series) -> pd.Series:
    """Turn a ``ds`` column into integer years: whole numbers, or dates in any spelling (each
    value parsed on its own, so ``2001`` and ``2001-01-01`` may share a column)."""
    if pd.api.types.is_integer_dtype(ds):
        return ds.astype("int64")

    def refuse(bad: pd.Series, what: str) -> None:
        i = bad.idxmax()
        value = ds[i]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise ForecastInputError(
            f"{source}: series {ids[i]!r} has a ds that is {what}: {shown} "
            "(write years as 2024 or dates as 2024-01-01)"
        )

    if pd.api.types.is_float_dtype(ds):
        if ds.isna().any():
            refuse(ds.isna(), "missing")
        if not (ds.abs() <= MAX_YEAR).all():
            refuse(~(ds.abs() <= MAX_YEAR), "not a year")
        if not np.all(np.mod(ds, 1) == 0):
            refuse(np.mod(ds, 1) != 0, "not a whole year")
        return ds.astype("int64")
    text = ds.astype(str).str.strip()
    empty = ds.isna() | text.isin(["", "nan", "NaN", "NaT", "None"])
    if empty.any():
        refuse(empty, "missing")
    number = pd.to_numeric(text, errors="coerce")
    dated = number.isna()
    huge = ~dated & ~(number.abs() <= MAX_YEAR)
    if huge.any():
        refuse(huge, "not a year")
    fraction = ~dated & (np.mod(number.fillna(0), 1) != 0)
    if fraction.any():
        refuse(fraction, "not a whole year")
    years = pd.Series(0, index=ds.index, dtype="int64")
    years[~dated] = number[~dated].astype("int64")
    if dated.any():
        dates = pd.to_datetime(text[dated], format="mixed", errors="coerce")
        if dates.isna().any():
            refuse(dated & text.index.isin(dates.index[dates.isna()]), "not a year or a date")
        years[dated] = dates.dt.year.astype("int64")
    return years


def validate_long(
    df: pd.DataFrame,
    *,
    source: str = "<frame>",
    min_length: int = 1,
    require_y: bool = True,
) -> pd.DataFrame:
    """Check and normalise a long frame of annual series.

    Parameters
    ----------
    df : DataFrame with ``unique_id``, ``ds`` (years), ``y`` and optional drivers.
    source : name of the file or frame, used in messages.
    min_length : the shortest series accepted (the model's own minimum).
    require_y : whether ``y`` must be present (False for future driver frames).

    Returns
    -------
    A copy sorted by ``unique_id``, ``ds`` with ``unique_id`` as str, ``ds`` as int, ``y`` as float.

    Raises
    ------
    ForecastInputError
        Missing columns, a row without ``unique_id``, text or non-finite ``y``, duplicate
        (unique_id, ds), gaps between years, or a series shorter than ``min_length``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ForecastInputError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    needed = REQUIRED if require_y else REQUIRED[:2]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ForecastInputError(
            f"{source}: missing column(s) {', '.join(missing)} "
            f"(need {', '.join(needed)}; found {', '.join(map(str, df.columns))})"
            + _separator_hint(df.columns)
        )
    if df.empty:
        raise ForecastInputError(f"{source}: no rows")
    no_id = df["unique_id"].isna() | (df["unique_id"].astype(str).str.strip() == "")
    if no_id.any():
        row = df.loc[no_id].iloc[0]
        raise ForecastInputError(
            f"{source}: a row has no unique_id (ds {row['ds']}, y {row.get('y')}); "
            "every row names its series"
        )
    out = df.copy()
    ids = out["unique_id"].astype(str)
    out["unique_id"] = ids.str.strip()
    # A spreadsheet's stray space ('DEU ') would otherwise make a second series of the same one.
    padded = sorted(set(ids[ids != out["unique_id"]]))
    if padded:
        shown = ", ".join(repr(u) for u in padded[:5]) + (" ..." if len(padded) > 5 else "")
        warnings.warn(
            f"{source}: unique_id(s) {shown} read without the spaces around them", stacklevel=2
        )
    out["ds"] = _years(out["ds"], source, out["unique_id"])
    if require_y:
        if pd.api.types.is_bool_dtype(out["y"]):
            raise ForecastInputError(f"{source}: column 'y' holds True/False, not numbers")
        y = pd.to_numeric(out["y"], errors="coerce")
        bad = y.isna() | ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = out.loc[bad].iloc[0]
            shown = repr(row["y"]) if isinstance(row["y"], str) else str(row["y"])
            raise ForecastInputError(
                f"{source}: series {row['unique_id']!r} has a missing, non-numeric or non-finite "
                f"y in {row['ds']}: {shown}"
            )
        out["y"] = y.astype(float)
    dup = out.duplicated(["unique_id", "ds"])
    if dup.any():
        row = out.loc[dup].iloc[0]
        same = (out["unique_id"] == row["unique_id"]) & (out["ds"] == row["ds"])
        written = df.loc[same.to_numpy(), "ds"].astype(str).str.strip().unique()
        hint = (
            f" (dates {', '.join(written[:3])} fall in the same year: the series must be yearly)"
            if len(written) > 1
            else ""
        )
        raise ForecastInputError(
            f"{source}: series {row['unique_id']!r} has duplicate rows for ds={row['ds']}{hint}"
        )
    out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    step = out.groupby("unique_id", sort=False)["ds"].diff()
    gap = step.notna() & (step != 1)
    if gap.any():
        i = int(np.flatnonzero(gap.to_numpy())[0])
        uid, ds = out.at[i, "unique_id"], out.at[i, "ds"]
        raise ForecastInputError(
            f"{source}: series {uid!r} has a gap: {out.at[i - 1, 'ds']} is followed by {ds}"
        )
    if min_length > 1:
        sizes = out.groupby("unique_id", sort=True).size()
        short = sizes[sizes < min_length]
        if len(short):
            raise ForecastInputError(
                f"{source}: series {short.index[0]!r} has {int(short.iloc[0])} observation(s); "
                f"the model needs at least {min_length}"
            )
    return out


def leave_out_short(frame: pd.DataFrame, min_length: int, source: str = "<frame>") -> pd.DataFrame:
    """``frame`` without its series shorter than ``min_length`` observations, with a warning
    naming them (the first five), so that one short series does not stop a whole panel.

    Raises
    ------
    ForecastInputError
        Every series is shorter than ``min_length``.
    """
    sizes = frame.groupby("unique_id", sort=True).size()
    short = sizes[sizes < min_length]
    if not len(short):
        return frame
    if len(short) == len(sizes):
        raise ForecastInputError(
            f"{source}: no series is long enough: the model needs at least {min_length} "
            f"observations; the longest, {sizes.idxmax()!r}, has {int(sizes.max())}"
        )
    named = ", ".join(f"{uid!r} ({n})" for uid, n in short.iloc[:5].items())
    more = f" and {len(short) - 5} more" if len(short) > 5 else ""
    warnings.warn(
        f"{source}: {len(short)} of {len(sizes)} series left out: the model needs at least "
        f"{min_length} observations; {named}{more}",
        stacklevel=2,
    )
    return frame[~frame["unique_id"].isin(short.index)].reset_index(drop=True)


def read_long_csv(path: str | Path, *, min_length: int = 1) -> pd.DataFrame:
    """Read and validate a long CSV (``unique_id,ds,y``, optional drivers).

    Raises
    ------
    ForecastInputError
        The file is missing or unreadable, or its content fails :func:`validate_long`.
    """
    p = Path(path)
    if not p.is_file():
        raise ForecastInputError(f"{p}: file not found")
    header = _header(p)
    names = [h.strip() for h in header]
    # pandas would rename a second ``y`` to ``y.1`` and silently use the first.
    repeated = sorted({h for h in names if h and names.count(h) > 1})
    if repeated:
        raise ForecastInputError(
            f"{p}: column(s) {', '.join(repeated)} appear more than once in the header"
        )
    # Series names as written: pandas would read NA (Namibia), null or nan as missing, and
    # 007 as 7; a spreadsheet's " unique_id " header still names the id column.
    id_cols = {raw: str for raw, name in zip(header, names, strict=True) if name == "unique_id"}
    try:
        df = pd.read_csv(
            p, dtype=id_cols or {"unique_id": str}, keep_default_na=False, index_col=False
        )
    except UnicodeDecodeError:
        raise ForecastInputError(
            f"{p}: is not UTF-8 text ({_first_non_utf8(p)}); save it as CSV UTF-8"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ForecastInputError(f"{p}: not a readable CSV ({first})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return validate_long(df, source=str(p), min_length=min_length)


def _first_non_utf8(path: Path) -> str:
    """Where a file stops being UTF-8, as ``byte 0xf4 at byte 16`` (pandas' error counts from
    the start of the chunk it was decoding, not of the file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])  # a character split across chunks
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                bad = exc.object[exc.start]
                return f"byte {bad:#04x} at byte {max(at, 0):,}"
            offset += len(chunk)
    return "a sequence cut short at its end"


def _header(path: Path) -> list[str]:
    """A CSV's header cells as written; [] if it cannot be read (pandas then says why)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), [])
    except (csv.Error, UnicodeDecodeError, OSError):
        return []


def _separator_hint(columns: Iterable[object]) -> str:
    """A hint when one header holds the wanted names run together: a file saved with another
    separator (a spreadsheet set to a European locale writes ';')."""
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if any(sep in str(c) for c in columns):
            return f"; the header is separated by {name}: save the file with commas"
    return ""


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise ForecastInputError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ForecastInputError(f"{path}: not a readable CSV ({type(exc).__name__})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ForecastInputError(
            f"{path}: missing column(s) {', '.join(missing)}" + _separator_hint(df.columns)
        )
    for c in columns[2:]:
        if not pd.api.types.is_numeric_dtype(df[c]):
            bad = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
            if len(bad):
                raise ForecastInputError(
                    f"{path}: column {c!r} has a non-numeric value {bad.iloc[0]!r}"
                )
            df[c] = pd.to_numeric(df[c], errors="coerce")
    if df.duplicated(["iso3", "year"]).any():
        row = df[df.duplicated(["iso3", "year"])].iloc[0]
        raise ForecastInputError(
            f"{path}: duplicate rows for series {row['iso3']!r} year {row['year']}"
        )
    return df


def load_nato_defexp(path: str | Path | None = None, *, aggregates: bool = False) -> pd.DataFrame:
    """NATO defence expenditure 2014-2024 (2023-24 estimates) as a tidy long frame.

    Returns columns ``unique_id`` (ISO alpha-3), ``ds`` (year), ``y`` (defence expenditure,
    current US$), ``pct_gdp`` (% of GDP), ``gdp`` (current US$), ``defexp_const2015`` (constant
    2015 US$) and ``is_estimate``. Aggregates (NATO_TOTAL, NATO_EUR_CAN) are dropped unless asked.

    Raises
    ------
    ForecastInputError
        The file is missing or malformed.
    """
    p = Path(path) if path is not None else NATO_WIDE
    cols = [
        "iso3",
        "year",
        "defexp_usd_current_m",
        "defexp_pct_gdp",
        "gdp_usd_current_m",
        "defexp_usd_const2015_m",
        "is_estimate",
    ]
    df = _read_table(p, cols)
    if not aggregates:
        df = df[~df["iso3"].str.startswith("NATO")]
    out = pd.DataFrame(
        {
            "unique_id": df["iso3"].astype(str),
            "ds": df["year"].astype("int64"),
            "y": df["defexp_usd_current_m"] * 1e6,
            "pct_gdp": df["defexp_pct_gdp"],
            "gdp": df["gdp_usd_current_m"] * 1e6,
            "defexp_const2015": df["defexp_usd_const2015_m"] * 1e6,
            "is_estimate": df["is_estimate"].fillna(0).astype(int),
        }
    )
    return validate_long(out, source=str(p))


def load_worldbank(
    path: str | Path | None = None,
    *,
    value: str = "gdp_current_usd",
    start: int | None = None,
) -> pd.DataFrame:
    """World Bank WDI indicators as a tidy long frame, one series per country.

    ``y`` is the indicator ``value`` (default GDP in current US$); the other indicators come as
    driver columns (``gdp_real_growth_pct``, ``gdp_deflator_inflation_pct``, ``population``,
    ``wb_milex_pct_gdp``). Leading and trailing years where ``y`` is missing are dropped, and a
    country whose remaining series has a hole is cut to its latest complete stretch.

    Raises
    ------
    ForecastInputError
        The file is missing or malformed, or ``value`` is not one of its columns.
    """
    p = Path(path) if path is not None else WORLDBANK
    drivers = [
        "gdp_current_usd",
        "gdp_real_growth_pct",
        "gdp_deflator_inflation_pct",
        "population",
        "wb_milex_pct_gdp",
    ]
    if value not in drivers:
        raise ForecastInputError(f"{p}: unknown indicator {value!r}; choose from {drivers}")
    df = _read_table(p, ["iso3", "year", *drivers])
    df = df.rename(columns={"iso3": "unique_id", "year": "ds"})
    df["y"] = df[value]
    if start is not None:
        df = df[df["ds"] >= start]
    keep = []
    for _, g in df.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=True):
        ok = g["y"].notna().to_numpy()
        if not ok.any():
            continue
        # The latest unbroken run of observed years: older history before a hole is dropped.
        last = int(np.flatnonzero(ok)[-1])
        first = last
        while first > 0 and ok[first - 1]:
            first -= 1
        keep.append(g.iloc[first : last + 1])
    if not keep:
        raise ForecastInputError(f"{p}: no observed values of {value!r}")
    out = pd.concat(keep)[["unique_id", "ds", "y", *[d for d in drivers if d != value]]]
    return validate_long(out, source=str(p))
