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


#: Mutations of the rows: name -> (what it does to rows, codes, words).
BAD_Y = ["abc", "", "1,5", "NaN", "inf", "-inf", "1e400", "--", "1e31", "0x10", "१२"]
ODD_Y = ["0", "-1", "-1e6", "1e-300", "0.0"]
BAD_DS = ["20xx", "2020.5", "", "year 2020", "1e400", "-"]
ODD_DS = ["2020-01-01", "99999999", "-5", "0"]
HEADERS = [
    "Unique_ID,ds,y",
    "unique_id,date,y",
    "unique_id,ds,value",
    "unique_id,ds,y ",
    "id;ds;y",
    "unique_id,ds",
    "ds,y",
    ",,",
    "unique_id,unique_id,y",
]


@st.composite
def _mutated_rows(
    draw: st.DrawFn, rows: list[list[str]]
) -> tuple[str, str, frozenset[int], tuple[str, ...]]:
    """A mutation of the table ``rows`` (header first): its name, the file text, the exit
    codes and the words of the refusal."""
    kind = draw(
        st.sampled_from(
            [
                "drop column",
                "header",
                "duplicate",
                "gap",
                "bad y",
                "odd y",
                "bad ds",
                "odd ds",
                "one row",
                "empty",
                "header only",
                "nul",
                "latin-1",
                "crlf",
                "bom",
                "blank lines",
                "extra column",
                "spaces",
            ]
        )
    )
    body = rows[1:]
    i = draw(st.integers(0, len(body) - 1))
    if kind == "drop column":
        col = draw(st.integers(0, 2))
        name = rows[0][col]
        return (
            kind,
            _text([[c for j, c in enumerate(r) if j != col] for r in rows]),
            INVALID,
            (name,),
        )
    if kind == "header":
        header = draw(st.sampled_from(HEADERS))
        return kind, _text([header.split(","), *body]), INVALID, ("column",)
    if kind == "duplicate":
        return (
            kind,
            _text([rows[0], *body[: i + 1], body[i], *body[i + 1 :]]),
            INVALID,
            ("duplicate",),
        )
    if kind == "gap":
        series = [r for r in body if r[0] == body[i][0]]
        middle = series[len(series) // 2]
        return kind, _text([rows[0], *[r for r in body if r is not middle]]), INVALID, ("gap",)
    if kind in ("bad y", "odd y", "bad ds", "odd ds"):
        col = 2 if kind.endswith("y") else 1
        value = draw(
            st.sampled_from(
                BAD_Y
                if kind == "bad y"
                else ODD_Y
                if kind == "odd y"
                else BAD_DS
                if kind == "bad ds"
                else ODD_DS
            )
        )
        body = [list(r) for r in body]
        body[i][col] = f'"{value}"' if "," in value else value
        codes = INVALID if kind.startswith("bad") else MAYBE_VALID
        return (
            f"{kind} {value!r}",
            _text([rows[0], *body]),
            codes,
            (rows[0][col],) if kind.startswith("bad") else (),
        )
    if kind == "one row":
        return kind, _text([rows[0], body[i]]), MAYBE_VALID, ()
    if kind in ("empty", "header only"):
        return kind, "" if kind == "empty" else _text([rows[0]]), INVALID, ()
    if kind == "nul":
        text = _text(rows)
        at = draw(st.integers(0, len(text) - 1))
        return kind, text[:at] + "\x00" + text[at:], INVALID, ("NUL",)
    if kind == "latin-1":
        return kind, _text([rows[0], *[[f"caf\xe9{r[0]}", *r[1:]] for r in body]]), MAYBE_VALID, ()
    if kind == "crlf":
        return kind, _text(rows).replace("\n", "\r\n"), frozenset({0}), ()
    if kind == "bom":
        return kind, "\ufeff" + _text(rows), frozenset({0}), ()
    if kind == "blank lines":
        return kind, _text(rows) + "\n\n\n", frozenset({0}), ()
    if kind == "extra column":
        return (
            kind,
            _text([[*r, "note" if k == 0 else "x"] for k, r in enumerate(rows)]),
            MAYBE_VALID,
            (),
        )
    return kind, _text([[f" {c} " for c in r] for r in rows]), MAYBE_VALID, ()


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
]


@st.composite
def hostile_series(draw: st.DrawFn) -> Case:
    """``forecast.py run`` on a mutated CSV, on a good one with a bad option, or writing
    where it may not (a file, a folder that cannot be made, a folder holding other files);
    the ``--out`` folder is often a previous run's, which a refusal must leave alone."""
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
        what = draw(st.sampled_from(["a file", "under a file", "a folder of other files"]))
        codes = INVALID
        if what == "a folder of other files":
            out_files, words = ("forecast.csv", "notes.txt"), ("out", "notes.txt")
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
    args = ("run", "--data", f"{DIR}/series.csv", "--model", model, "--jobs", "1", *options)
    encoding = "latin-1" if "\xe9" in text else "utf-8"
    return Case(
        f"{kind}: {what}",
        "forecast.py",
        (*args, "--out", out_arg),
        codes,
        words,
        files={"series.csv": text.encode(encoding)},
        out=out,
        out_files=out_files,
    )
