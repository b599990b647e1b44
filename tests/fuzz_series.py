"""Hostile series CSVs and options of ``forecast.py run`` for the fuzzer (see
:mod:`tests.fuzz_inputs`).

Each case starts from a test CSV (``tests/data/forecast``: ``unique_id,ds,y``) and breaks
it one way (a column missing or renamed, a row twice or missing, text, zero or negative
values, dates, one row, no rows, NUL or latin-1 bytes), or keeps it and gives a bad
option (horizon, levels, model, windows, ``--out``). The ``--out`` folder is often a
previous run's: a refusal must leave it as it was.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from tests.fuzz_inputs import DIR, Case

DATA = Path(__file__).resolve().parent / "data" / "forecast"
BASES = ("random_walks.csv", "linear_and_flat.csv")
#: Models that forecast the test CSVs in well under a second (ets and arima take seconds).
FAST_MODELS = ("naive", "drift", "naive", "drift", "auto")
MAYBE_VALID = frozenset({0, 2})
INVALID = frozenset({2})


@cache
def _lines(name: str) -> tuple[str, ...]:
    return tuple((DATA / name).read_text(encoding="utf-8").splitlines())


def _table(lines: list[str]) -> list[list[str]]:
    return [line.split(",") for line in lines]


def _text(rows: list[list[str]]) -> str:
    return "\n".join(",".join(row) for row in rows) + "\n"


BAD_Y = ["abc", "", "1,5", "NaN", "inf", "-inf", "1e400", "--", "1e31", "0x10", "१२", "1 000"]
ODD_Y = ["0", "-1", "-1e6", "1e-300", "0.0", "1e29", "+5", "5."]
BAD_DS = ["20xx", "2020.5", "", "year 2020", "1e400", "-", "2020-13-45"]
ODD_DS = ["2020-01-01", "99999999", "-5", "0", "2020.0", "01/01/2020"]
BAD_IDS = ["", '""']
HEADERS = ["Unique_ID,ds,y", "unique_id,date,y", "unique_id,ds,value", "unique_id,ds,y ",
           "id;ds;y", "unique_id,ds", "ds,y", ",,", "unique_id,unique_id,y"]  # fmt: skip
VALID = frozenset({0})

#: A mutated CSV: its name, text, the exit codes it allows and the words of its refusal.
Mutated = tuple[str, str, frozenset[int], tuple[str, ...]]
Rows = list[list[str]]


def _drop_column(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    col = draw(st.integers(0, 2))
    kept = [[c for j, c in enumerate(r) if j != col] for r in rows]
    return f"drop {rows[0][col]}", _text(kept), INVALID, (rows[0][col],)


def _header(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    header = draw(st.sampled_from(HEADERS))
    return f"header {header!r}", _text([header.split(","), *rows[1:]]), INVALID, ("column",)


def _duplicate(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    body = rows[1:]
    text = _text([rows[0], *body[: i + 1], body[i], *body[i + 1 :]])
    return "duplicate row", text, INVALID, ("duplicate",)


def _gap(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    series = [r for r in rows[1:] if r[0] == rows[1 + i][0]]
    middle = series[len(series) // 2]
    return "gap", _text([r for r in rows if r is not middle]), INVALID, ("gap",)


def _cell(col: int, values: list[str], codes: frozenset[int]):
    """A mutation setting one cell of column ``col`` to one of ``values``."""

    def mutate(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
        value = draw(st.sampled_from(values))
        changed = [list(r) for r in rows]
        changed[1 + i][col] = f'"{value}"' if "," in value or " " in value else value
        words = (rows[0][col],) if codes == INVALID else ()
        return f"{rows[0][col]} {value!r}", _text(changed), codes, words

    return mutate


def _constant(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    value = draw(st.sampled_from(["0", "5", "-3"]))
    return (
        f"every y {value}",
        _text([rows[0], *[[*r[:2], value] for r in rows[1:]]]),
        MAYBE_VALID,
        (),
    )


def _one_row(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    return "one row", _text([rows[0], rows[1 + i]]), MAYBE_VALID, ()


def _no_rows(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    text = draw(st.sampled_from(["", "\n", _text([rows[0]])]))
    return f"no rows {text[:10]!r}", text, INVALID, ()


def _nul(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    text = _text(rows)
    at = draw(st.integers(0, len(text) - 1))
    return "NUL byte", text[:at] + "\x00" + text[at:], INVALID, ("NUL",)


def _latin1(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    text = _text([rows[0], *[[f"caf\xe9{r[0]}", *r[1:]] for r in rows[1:]]])
    return "latin-1 ids", text, MAYBE_VALID, ()


def _layout(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    """The same table laid out otherwise: CRLF, a BOM, blank lines at the end."""
    kind = draw(st.sampled_from(["crlf", "bom", "blank lines"]))
    text = _text(rows)
    text = {"crlf": text.replace("\n", "\r\n"), "bom": "\ufeff" + text}.get(kind, text + "\n\n")
    return kind, text, VALID, ()


def _extra_column(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    text = _text([[*r, "note" if k == 0 else "x"] for k, r in enumerate(rows)])
    return "extra text column", text, MAYBE_VALID, ()


def _spaces(draw: st.DrawFn, rows: Rows, i: int) -> Mutated:
    return "spaces around cells", _text([[f" {c} " for c in r] for r in rows]), MAYBE_VALID, ()


MUTATIONS = [_drop_column, _header, _duplicate, _gap, _cell(2, BAD_Y, INVALID),
             _cell(2, ODD_Y, MAYBE_VALID), _cell(1, BAD_DS, INVALID), _cell(1, ODD_DS, MAYBE_VALID),
             _cell(0, BAD_IDS, INVALID), _constant, _one_row, _no_rows, _nul, _latin1, _layout,
             _extra_column, _spaces]  # fmt: skip


@st.composite
def _mutated_rows(draw: st.DrawFn, rows: Rows) -> Mutated:
    """One mutation of the table ``rows`` (header first)."""
    i = draw(st.integers(0, len(rows) - 2))
    return draw(st.sampled_from(MUTATIONS))(draw, rows, i)


BAD_OPTIONS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("--horizon", "0"), ("horizon",)),
    (("--horizon", "-1"), ("horizon",)),
    (("--horizon", "101"), ("--horizon",)),
    (("--horizon", "1000000"), ("--horizon",)),
    (("--horizon", "x"), ("--horizon",)),
    (("--horizon", "1.5"), ("--horizon",)),
    (("--levels", "0"), ("level",)),
    (("--levels", "100"), ("level",)),
    (("--levels", "150"), ("level",)),
    (("--levels", "-5"), ("level",)),
    (("--levels", "nan"), ("level",)),
    (("--levels", "inf"), ("level",)),
    (("--levels", "0.8", "0.95"), ("levels are percentages",)),
    (("--levels", "abc"), ("--levels",)),
    (("--levels", "80", "80", "1e400"), ("level",)),
    (("--model", "nosuch"), ("model",)),
    (("--model", ""), ("model",)),
    (("--windows", "0"), ("--windows",)),
    (("--windows", "-1"), ("--windows",)),
    (("--jobs", "0"), ("--jobs",)),
]
GOOD_OPTIONS: list[tuple[str, ...]] = [
    (),
    ("--levels", "50", "99.5"),
    ("--levels", "80"),
    ("--horizon", "100"),
    ("--windows", "2"),
    ("--levels", "1", "99.9999"),
    ("--levels", "80", "80"),
]


@st.composite
def hostile_series(draw: st.DrawFn) -> Case:
    """``forecast.py run`` or ``backtest`` on a mutated CSV, on a good one with a bad
    option, or writing where it may not (a file, a folder that cannot be made, a folder
    holding other files); the ``--out`` folder is often a previous run's, which a refusal
    must leave alone."""
    rows = _table(list(_lines(draw(st.sampled_from(BASES)))))
    text, codes, words, options = _text(rows), frozenset({0}), (), ()
    out, out_files, out_arg = "out", ("forecast.csv",), f"{DIR}/out"
    kind = draw(st.sampled_from(["data", "data", "option", "out", "good"]))
    if kind == "data":
        what, text, codes, words = draw(_mutated_rows(rows))
        words = ("series.csv", *words)
        options = draw(st.sampled_from(GOOD_OPTIONS))
    elif kind == "option":
        options, words = draw(st.sampled_from(BAD_OPTIONS))
        codes, what = INVALID, " ".join(options)
    elif kind == "out":
        what = draw(st.sampled_from(["a file", "under a file", "a folder of other files",
                                     "a name too long"]))  # fmt: skip
        codes = INVALID
        if what == "a folder of other files":
            out_files, words = ("forecast.csv", "notes.txt"), ("out", "notes.txt")
        elif what == "a name too long":
            out, out_files, words = None, (), ("o" * 300,)
            out_arg = f"{DIR}/{'o' * 300}"
        else:
            out, out_files, words = None, (), ("series.csv",)
            out_arg = f"{DIR}/series.csv" + ("/sub" if what == "under a file" else "")
    else:
        options, what = draw(st.sampled_from(GOOD_OPTIONS)), "good input"
        if draw(st.booleans()):
            out, out_files, out_arg = None, (), f"{DIR}/new-out"
    if "--horizon" not in options:
        options = ("--horizon", "2", *options)
    model = draw(st.sampled_from(FAST_MODELS))
    command = draw(st.sampled_from(["run", "run", "backtest"]))
    if command == "backtest" and out_files == ("forecast.csv",):
        out_files = ("backtest_forecasts.csv",)
    elif command == "backtest" and out_files:
        out_files = ("backtest_forecasts.csv", "notes.txt")
    if command == "backtest" and "100" in options:
        codes = codes | {2}  # 3 windows of 100 years: longer than the series, refused
    args = (command, "--data", f"{DIR}/series.csv", "--model", model, "--jobs", "1", *options)
    encoding = "latin-1" if "\xe9" in text else "utf-8"
    return Case(
        f"{command} {kind}: {what}",
        "forecast.py",
        (*args, "--out", out_arg),
        codes,
        words,
        files={"series.csv": text.encode(encoding)},
        out=out,
        out_files=out_files,
    )
