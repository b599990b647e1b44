"""Hostile and huge inputs through the real CLI: a clear refusal, fast (issue 15).

Every case runs ``optimise.py`` or ``forecast.py`` through its real entry point and expects
exit 2, a message naming the file (or option) and the field, no traceback, and nothing
written. The hostile files are built here, small: a zip whose *declared* sizes are huge, a
sheet whose ``<dimension>`` spans the whole grid, entity declarations, deep nesting.

All the commands run in one Python process (:func:`tests.cli_runs.run_many`: each as its
script's ``__main__``, exit code and output as a process gives them), once per module
(the suite runs each file on one xdist worker); a few cases of each kind also run in a
subprocess of their own, as a user would.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_runs import CLI_ENV, Ran, run_many

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "datasets" / "scenarios" / "aspf-2026.xlsx"
FORECAST_CSV = ROOT / "tests" / "data" / "forecast" / "random_walks.csv"

# ---------------------------------------------------------------------- running the CLI


def cli(script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (optimise.py or forecast.py) as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **CLI_ENV},
    )


def assert_refused(res: subprocess.CompletedProcess[str] | Ran, *names: str) -> str:
    """Exit 2, every one of ``names`` in the message, no traceback nor internal error."""
    message = " ".join((res.stderr + res.stdout).split())
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    assert "Traceback" not in message, message
    assert "internal error" not in message, message
    for name in names:
        assert name in message, (name, message)
    return message


# ---------------------------------------------------------------------- scenario texts

TINY_YAML = """\
fund:
  name: Tiny fund
  unit: bn
  years: [2026, 2027]
members:
  - id: DEU
    name: Germany
    pledge: 10bn
  - id: FRA
    name: France
    pledge: 6bn
areas:
  - id: cyber
    priority: 1.3
    floor: 4bn
    value_curve:
      - {up_to: 5bn, marginal: 1.0}
      - {marginal: 0.2}
  - id: space
    priority: 1.0
    ceiling: 3bn
"""


def tiny_data() -> dict[str, Any]:
    return yaml.safe_load(TINY_YAML)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def yaml_with(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = tiny_data()
    edit(data)
    return write(path, yaml.safe_dump(data, sort_keys=False))


# ---------------------------------------------------------------------- workbook builders


def rebuild_xlsx(
    target: Path, replace: dict[str, bytes] | None = None, declared: dict[str, int] | None = None
) -> Path:
    """The shipped workbook with some parts replaced and, optionally, the uncompressed size
    its headers declare for some parts forged (the bytes on disk stay small)."""
    replace = replace or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(WORKBOOK) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    raw = bytearray(buffer.getvalue())
    for name, size in (declared or {}).items():
        _forge_size(raw, name.encode(), size)
    return write(target, bytes(raw))


def _forge_size(raw: bytearray, name: bytes, size: int) -> None:
    """Set the uncompressed size of ``name`` in its local and central headers to ``size``."""
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := raw.find(signature, start)) >= 0:
            start = at + 4
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            length = struct.unpack_from("<H", raw, at + offset + 4)[0]
            if raw[name_at : name_at + length] == name:
                struct.pack_into("<I", raw, at + offset, size)


def sheet_part(name: str) -> str:
    """The zip path of the workbook's sheet called ``name``."""
    with zipfile.ZipFile(WORKBOOK) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{name}"[^>]*r:id="(rId\d+)"', book)
    assert rid is not None
    target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert target is not None
    path = target.group(1).lstrip("/")
    return path if path.startswith("xl/") else f"xl/{path}"


def areas_xml() -> str:
    with zipfile.ZipFile(WORKBOOK) as z:
        return z.read(sheet_part("areas")).decode()


def with_doctype(xml: str, doctype: str) -> str:
    head, sep, rest = xml.partition("?>")
    return f"{head}{sep}{doctype}{rest}" if sep else doctype + xml


def xlsx_declared_huge(tmp: Path) -> Path:
    """1.5 GB declared for the areas sheet; a few kB on disk."""
    return rebuild_xlsx(tmp / "bomb.xlsx", declared={sheet_part("areas"): 1_500_000_000})


def xlsx_compressible(tmp: Path) -> Path:
    """A real 60 MB sheet of blanks that compresses to ~60 kB (the zip bomb, to scale)."""
    xml = areas_xml()
    padded = xml.replace("<sheetData>", "<sheetData>" + " " * 60_000_000, 1)
    return rebuild_xlsx(tmp / "compressible.xlsx", {sheet_part("areas"): padded.encode()})


def xlsx_whole_grid(tmp: Path) -> Path:
    """One cell at XFD1048576: the sheet's dimension spans every row and column."""
    from openpyxl import load_workbook

    book = load_workbook(WORKBOOK)
    book["areas"]["XFD1048576"] = 1
    path = tmp / "grid.xlsx"
    book.save(path)
    return path


def xlsx_many_cells(tmp: Path) -> Path:
    """300,000 cells in one sheet (10 MB of XML, 1 MB on disk), written directly."""
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "ABCDEFGHIJ") + "</row>"
        for r in range(2, 30_002)
    )
    xml = re.sub(
        r"<sheetData>.*</sheetData>",
        f"<sheetData>{rows}</sheetData>",
        areas_xml(),
        count=1,
        flags=re.S,
    )
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:J30001"/>', xml)
    return rebuild_xlsx(tmp / "many.xlsx", {sheet_part("areas"): xml.encode()})


def xlsx_xxe(tmp: Path) -> Path:
    """An external entity reading /etc/passwd into a cell."""
    doctype = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = with_doctype(areas_xml(), doctype).replace("<sheetData>", "<sheetData>", 1)
    xml = re.sub(
        r"(<c r=\"B2\"[^>]*)>.*?</c>", r'\1 t="inlineStr"><is><t>&xxe;</t></is></c>', xml, count=1
    )
    return rebuild_xlsx(tmp / "xxe.xlsx", {sheet_part("areas"): xml.encode()})


def xlsx_laughs(tmp: Path) -> Path:
    """Billion laughs in the workbook part (10^9 "ha" once expanded)."""
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    with zipfile.ZipFile(WORKBOOK) as z:
        book = z.read("xl/workbook.xml").decode()
    book = with_doctype(book, f"<!DOCTYPE workbook [{entities}]>")
    book = book.replace("<definedNames />", "<definedNames>&a9;</definedNames>", 1)
    return rebuild_xlsx(tmp / "laughs.xlsx", {"xl/workbook.xml": book.encode()})


def xlsx_malformed(tmp: Path) -> Path:
    """The areas sheet's XML cut in the middle of a tag."""
    xml = areas_xml()
    return rebuild_xlsx(
        tmp / "malformed.xlsx", {sheet_part("areas"): xml[: len(xml) // 2].encode()}
    )


def xlsx_deep_cell(tmp: Path) -> Path:
    """A go/no-go-style cell (the fund's ``pledges`` row) holding 15,000 nested lists."""
    from openpyxl import load_workbook

    book = load_workbook(WORKBOOK)
    ws = book["fund"]
    row = ws.max_row + 1
    ws.cell(row=row, column=1, value="pledges")
    ws.cell(row=row, column=2, value="[" * 15_000 + "]" * 15_000)
    path = tmp / "deep.xlsx"
    book.save(path)
    return path


# ---------------------------------------------------------------------- the cases

# (name, build(tmp) -> args for optimise.py, words the message must hold)
Case = tuple[str, Callable[[Path], list[str]], tuple[str, ...]]


def _validate(build: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["validate", str(build(tmp))]


def _args(*argv: str) -> Callable[[Path], list[str]]:
    """A command line that needs nothing written first."""
    return lambda tmp: list(argv)


def _highs(option: str) -> Callable[[Path], list[str]]:
    """``solve`` with one ``--highs NAME=VALUE`` option."""
    return _args("solve", "aspf-2026", "--highs", option)


def _deep_json(tmp: Path) -> Path:
    return write(tmp / "deep.json", "[" * 100_000 + "]" * 100_000)


def _deep_json_in_scenario(tmp: Path) -> Path:
    text = json.dumps(tiny_data())
    return write(
        tmp / "deep2.json",
        text[:-1] + ', "pledges": ' + "{" + '"a":{' * 50_000 + "}" * 50_001 + "}",
    )


def _deep_yaml(tmp: Path) -> Path:
    return write(tmp / "deep.yaml", "fund: " + "[" * 100_000 + "]" * 100_000 + "\n")


def _dup_floor_yaml(tmp: Path) -> Path:
    return write(
        tmp / "dup.yaml", TINY_YAML.replace("    floor: 4bn\n", "    floor: 4bn\n    floor: 9bn\n")
    )


def _dup_areas_yaml(tmp: Path) -> Path:
    return write(tmp / "dup2.yaml", TINY_YAML + "areas:\n  - id: ai\n")


def _dup_floor_json(tmp: Path) -> Path:
    text = json.dumps(tiny_data(), indent=2).replace(
        '"floor": "4bn"', '"floor": "4bn",\n "floor": "9bn"'
    )
    return write(tmp / "dup.json", text)


def _dup_areas_json(tmp: Path) -> Path:
    text = json.dumps(tiny_data(), indent=2)
    return write(tmp / "dup2.json", text[:-2] + ',\n  "areas": []\n}')


def _priority(value: Any, suffix: str = "yaml") -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        data = tiny_data()
        data["areas"][0]["priority"] = value
        if suffix == "json":
            text = json.dumps(data).replace('"@"', "1e400")
            return write(tmp / "p.json", text)
        return write(tmp / "p.yaml", yaml.safe_dump(data, sort_keys=False))

    return build


def _first_marginal_inf(tmp: Path) -> Path:
    return write(
        tmp / "m.yaml",
        TINY_YAML.replace("{up_to: 5bn, marginal: 1.0}", "{up_to: 5bn, marginal: .inf}"),
    )


def _huge_amount(tmp: Path) -> Path:
    return write(tmp / "a.yaml", TINY_YAML.replace("pledge: 10bn", "pledge: 1.0e+308"))


def _huge_amount_bn(tmp: Path) -> Path:
    return write(tmp / "a2.yaml", TINY_YAML.replace("floor: 4bn", "floor: 1e300bn"))


def _priority_range(tmp: Path) -> Path:
    text = TINY_YAML.replace("priority: 1.3", "priority: 1.0e+12").replace(
        "priority: 1.0\n", "priority: 1.0e-9\n"
    )
    return write(tmp / "range.yaml", text)


def _tiny_priorities(tmp: Path) -> Path:
    text = TINY_YAML.replace("priority: 1.3", "priority: 1.3e-8").replace(
        "priority: 1.0\n", "priority: 1.0e-8\n"
    )
    return write(tmp / "tiny.yaml", text)


def _big_int_yaml(tmp: Path) -> Path:
    return write(tmp / "int.yaml", TINY_YAML.replace("priority: 1.3", "priority: " + "9" * 5000))


def _sweep_dir(tmp: Path) -> list[str]:
    (tmp / "a-folder.yaml").mkdir()
    return ["batch", str(tmp / "a-folder.yaml"), "--store", str(tmp / "runs.sqlite")]


def _sweep_base_dir(tmp: Path) -> list[str]:
    (tmp / "base.yaml").mkdir()
    sweep = write(tmp / "sweep.yaml", "name: s\nbase: base.yaml\nn_minus_1: true\n")
    return ["batch", str(sweep), "--store", str(tmp / "runs.sqlite")]


def _scenario_dir(tmp: Path) -> list[str]:
    (tmp / "sc.yaml").mkdir()
    return ["validate", str(tmp / "sc.yaml")]


def _nul_yaml(tmp: Path) -> Path:
    return write(tmp / "nul.yaml", TINY_YAML.replace("Germany", "Ger\x00many").encode())


def _flag_priority(tmp: Path) -> Path:
    return write(tmp / "flag.yaml", TINY_YAML.replace("priority: 1.3", "priority: true"))


def _flag_year(tmp: Path) -> Path:
    return write(tmp / "year.yaml", TINY_YAML.replace("[2026, 2027]", "[2026, yes]"))


def _alias_laughs(tmp: Path) -> Path:
    """Nine levels of ten YAML aliases each: 10^9 values once expanded, 600 bytes."""
    lines = ["laughs:", "  a0: &a0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return write(tmp / "laughs.yaml", TINY_YAML + "\n".join(lines) + "\n")


def _json_nan_priority(tmp: Path) -> Path:
    text = json.dumps(tiny_data()).replace('"priority": 1.0', '"priority": -Infinity')
    return write(tmp / "nan.json", text)


def _device(name: str) -> Callable[[Path], Path]:
    """``name`` in the case's folder as a link to /dev/zero (reading it never ends)."""

    def build(tmp: Path) -> Path:
        (tmp / name).symlink_to("/dev/zero")
        return tmp / name

    return build


def _fifo(name: str) -> Callable[[Path], Path]:
    """``name`` in the case's folder as a named pipe nobody writes to (reading it blocks)."""

    def build(tmp: Path) -> Path:
        os.mkfifo(tmp / name)
        return tmp / name

    return build


#: A file name longer than any file system takes (255 bytes).
LONG_NAME = "n" * 300


OPTIMISE_CASES: list[Case] = [
    (
        "scenario name too long",
        lambda tmp: ["validate", str(tmp / f"{LONG_NAME}.yaml")],
        (LONG_NAME, "File name too long"),
    ),
    (
        "solve --out name too long",
        lambda tmp: ["solve", "purl-2025", "--out", str(tmp / LONG_NAME)],
        (LONG_NAME, "File name too long"),
    ),
    (
        "report --out name too long",
        lambda tmp: ["report", "purl-2025", "--out", str(tmp / f"{LONG_NAME}.html")],
        (LONG_NAME, "File name too long"),
    ),
    (
        "yaml of comments only",
        _validate(lambda tmp: write(tmp / "c.yaml", "# nothing yet\n")),
        ("c.yaml", "is empty"),
    ),
    ("empty json", _validate(lambda tmp: write(tmp / "e.json", "\n")), ("e.json", "is empty")),
    ("scenario is /dev/zero", _validate(_device("zero.yaml")), ("zero.yaml", "device")),
    ("workbook is /dev/zero", _validate(_device("zero.xlsx")), ("zero.xlsx", "device")),
    ("scenario is a FIFO", _validate(_fifo("pipe.json")), ("pipe.json", "pipe")),
    (
        "sweep is a FIFO",
        lambda tmp: ["batch", str(_fifo("sweep.yaml")(tmp)), "--store", str(tmp / "r.sqlite")],
        ("sweep.yaml", "pipe"),
    ),
    # Found by the fuzzer (tests/test_hostile_fuzz.py):
    ("priority true", _validate(_flag_priority), ("flag.yaml", "areas[cyber].priority", "True")),
    ("year yes", _validate(_flag_year), ("year.yaml", "fund.years", "True")),
    ("yaml aliases of aliases", _validate(_alias_laughs), ("laughs.yaml", "aliases")),
    (
        "json -Infinity priority",
        _validate(_json_nan_priority),
        ("nan.json", "areas[space].priority", "-Infinity"),
    ),
    (
        "--set a path as messages write it",
        _args("validate", "nif", "--set", "areas[energy].priority=-3"),
        ("with --set areas[energy].priority=-3", "greater than or equal to 0"),
    ),
    (
        "--set empty path part",
        _args("validate", "aspf-2026", "--set", "areas..floor=1bn"),
        ("--set areas..floor", "empty part"),
    ),
    (
        "--set bad value names the edit",
        _args("validate", "nif", "--set", "areas.energy.priority=1e400"),
        ("nif.yaml with --set areas.energy.priority=1e400", "areas[energy].priority"),
    ),
    ("xlsx declared 1.5 GB", _validate(xlsx_declared_huge), ("bomb.xlsx", "uncompressed", "areas")),
    ("xlsx 60 MB of blanks", _validate(xlsx_compressible), ("compressible.xlsx", "uncompressed")),
    ("xlsx cell at XFD1048576", _validate(xlsx_whole_grid), ("grid.xlsx", "areas", "XFD1048576")),
    ("xlsx 300,000 cells", _validate(xlsx_many_cells), ("many.xlsx", "areas")),
    ("xlsx external entity", _validate(xlsx_xxe), ("xxe.xlsx", "entit")),
    ("xlsx billion laughs", _validate(xlsx_laughs), ("laughs.xlsx", "entit", "workbook.xml")),
    ("xlsx malformed XML", _validate(xlsx_malformed), ("malformed.xlsx", "XML")),
    ("xlsx cell nested 15,000 deep", _validate(xlsx_deep_cell), ("deep.xlsx", "fund", "nested")),
    ("json nested 100,000 deep", _validate(_deep_json), ("deep.json", "nested")),
    ("json field nested 50,000 deep", _validate(_deep_json_in_scenario), ("deep2.json", "nested")),
    ("yaml nested 100,000 deep", _validate(_deep_yaml), ("deep.yaml", "nested")),
    ("yaml floor twice", _validate(_dup_floor_yaml), ("dup.yaml", "'floor'", "line 16", "line 15")),
    ("yaml areas twice", _validate(_dup_areas_yaml), ("dup2.yaml", "'areas'", "line 22")),
    ("json floor twice", _validate(_dup_floor_json), ("dup.json", "'floor'", "line")),
    ("json areas twice", _validate(_dup_areas_json), ("dup2.json", "'areas'", "line")),
    ("priority 'inf'", _validate(_priority("inf")), ("p.yaml", "areas[cyber].priority", "finite")),
    ("priority '1e400'", _validate(_priority("1e400")), ("p.yaml", "areas[cyber].priority")),
    ("priority 1e400 in JSON", _validate(_priority("@", "json")), ("p.json", "priority")),
    ("priority 5,000 digits", _validate(_big_int_yaml), ("int.yaml", "digits")),
    ("first marginal inf", _validate(_first_marginal_inf), ("m.yaml", "areas[cyber].value_curve")),
    ("pledge 1e308", _validate(_huge_amount), ("a.yaml", "members[DEU].pledge")),
    ("floor 1e300bn", _validate(_huge_amount_bn), ("a2.yaml", "areas[cyber].floor")),
    (
        "priorities 1e12 and 1e-9",
        _validate(_priority_range),
        ("range.yaml", "areas[space].priority"),
    ),
    (
        "priorities all 1e-8",
        _validate(_tiny_priorities),
        ("tiny.yaml", "areas[cyber].priority", "multiply every priority by 1e+08"),
    ),
    ("NUL byte in YAML", _validate(_nul_yaml), ("nul.yaml",)),
    ("scenario is a folder", _scenario_dir, ("sc.yaml", "folder")),
    ("sweep is a folder", _sweep_dir, ("a-folder.yaml", "folder")),
    ("sweep base is a folder", _sweep_base_dir, ("base.yaml", "folder")),
    (
        "--set 5,000-digit integer",
        _args("validate", "aspf-2026", "--set", "areas.cyber.priority=" + "7" * 5000),
        ("--set", "areas.cyber.priority", "digits"),
    ),
    (
        "--set nested 100,000 deep",
        _args("validate", "aspf-2026", "--set", "areas.cyber.floor=" + "[" * 100_000),
        ("--set", "areas.cyber.floor"),
    ),
    ("--time-limit -1", _args("solve", "aspf-2026", "--time-limit", "-1"), ("--time-limit",)),
    ("--time-limit nan", _args("solve", "aspf-2026", "--time-limit", "nan"), ("--time-limit",)),
    ("--time-limit inf", _args("solve", "aspf-2026", "--time-limit", "inf"), ("--time-limit",)),
    ("explain --top -5", _args("explain", "aspf-2026", "--top", "-5"), ("--top",)),
    (
        "--highs log_file",
        lambda tmp: ["solve", "aspf-2026", "--highs", f"log_file={tmp / 'x.log'}"],
        ("--highs", "log_file", "allowed"),
    ),
    (
        "--highs write_solution_to_file",
        _highs("write_solution_to_file=true"),
        ("--highs", "write_solution_to_file"),
    ),
    ("--highs malformed", _highs("solver"), ("--highs", "NAME=VALUE")),
    ("--highs bad value", _highs("mip_rel_gap=-3"), ("--highs", "mip_rel_gap")),
]


# ---------------------------------------------------------------------- forecast.py


def _csv_nul(tmp: Path) -> list[str]:
    text = FORECAST_CSV.read_text()
    lines = text.splitlines()
    lines[3] = lines[3].replace(",", ",\x00", 1)
    write(tmp / "nul.csv", "\n".join(lines) + "\n")
    return ["run", "--data", str(tmp / "nul.csv"), "--horizon", "2", "--model", "naive",
            "--out", str(tmp / "out")]  # fmt: skip


def _csv_huge(tmp: Path) -> list[str]:
    lines = FORECAST_CSV.read_text().splitlines()
    head, *rows = lines
    rows = [",".join([*r.split(",")[:-1], "1e300"]) for r in rows]
    write(tmp / "huge.csv", "\n".join([head, *rows]) + "\n")
    return ["run", "--data", str(tmp / "huge.csv"), "--horizon", "2", "--model", "drift",
            "--out", str(tmp / "out")]  # fmt: skip


def _run(*extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["run", "--data", str(FORECAST_CSV), "--horizon", "2", "--model", "naive",
                        "--out", str(tmp / "out"), *extra]  # fmt: skip


def _backtest(*extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["backtest", "--data", str(FORECAST_CSV), "--horizon", "2", "--model",
                        "naive", "--out", str(tmp / "out"), *extra]  # fmt: skip


def _fund(*extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["fund", "--out", str(tmp / "out"), *extra]


def _forecast_dir_data(tmp: Path) -> list[str]:
    (tmp / "d.csv").mkdir()
    return ["run", "--data", str(tmp / "d.csv"), "--horizon", "2", "--out", str(tmp / "out")]


def _csv_without_id(tmp: Path) -> list[str]:
    lines = FORECAST_CSV.read_text().splitlines()
    lines[5] = "," + lines[5].split(",", 1)[1]  # the sixth row names no series
    write(tmp / "noid.csv", "\n".join(lines) + "\n")
    return ["run", "--data", str(tmp / "noid.csv"), "--horizon", "2", "--model", "naive",
            "--out", str(tmp / "out")]  # fmt: skip


def _unknown_member(tmp: Path) -> Path:
    """The NIF with Iceland replaced by a country the shipped data does not know."""
    text = (ROOT / "datasets" / "scenarios" / "nif.yaml").read_text(encoding="utf-8")
    path = tmp / "atlantis.yaml"
    path.write_text(text.replace("id: ISL", "id: ATL"), encoding="utf-8")
    return path


FORECAST_CASES: list[Case] = [
    ("CSV row without unique_id", _csv_without_id, ("noid.csv", "no unique_id")),
    (
        "fund member without history",
        lambda tmp: [
            "fund",
            "--scenario",
            str(_unknown_member(tmp)),
            "--samples",
            "100",
            "--out",
            str(tmp / "out"),
        ],
        ("atlantis.yaml", "ATL", "no GDP history"),
    ),
    (
        "CSV is a FIFO",
        lambda tmp: [
            "run",
            "--data",
            str(_fifo("pipe.csv")(tmp)),
            "--horizon",
            "2",
            "--out",
            str(tmp / "out"),
        ],
        ("pipe.csv", "pipe"),
    ),
    (
        "CSV is /dev/zero",
        lambda tmp: [
            "backtest",
            "--data",
            str(_device("zero.csv")(tmp)),
            "--horizon",
            "2",
            "--out",
            str(tmp / "out"),
        ],
        ("zero.csv", "device"),
    ),
    ("CSV with a NUL byte", _csv_nul, ("nul.csv", "NUL")),
    ("CSV values of 1e300", _csv_huge, ("huge.csv", "y", "1e+300")),
    ("CSV is a folder", _forecast_dir_data, ("d.csv", "folder")),
    ("run --jobs 0", _run("--jobs", "0"), ("--jobs",)),
    ("run --jobs -2", _run("--jobs", "-2"), ("--jobs",)),
    ("run --windows 0", _run("--windows", "0"), ("--windows",)),
    (
        "run --horizon 1000000",
        lambda tmp: [*_run()(tmp)[:4], "1000000", "--out", str(tmp / "out")],
        ("--horizon",),
    ),
    ("backtest --windows 0", _backtest("--windows", "0"), ("--windows",)),
    ("backtest --jobs 0", _backtest("--jobs", "0"), ("--jobs",)),
    ("fund --samples 0", _fund("--samples", "0"), ("--samples",)),
    ("fund --samples -1", _fund("--samples", "-1"), ("--samples",)),
    ("fund --horizon 1000000", _fund("--horizon", "1000000"), ("--horizon",)),
    ("fund --jobs 0", _fund("--jobs", "0"), ("--jobs",)),
]


ALL_CASES = [("optimise.py", *c) for c in OPTIMISE_CASES] + [
    ("forecast.py", *c) for c in FORECAST_CASES
]


def _big_and_small_priorities(tmp: Path) -> list[list[str]]:
    text = TINY_YAML.replace("priority: 1.3", "priority: 1.3e+6")
    big = write(tmp / "big.yaml", text.replace("priority: 1.0\n", "priority: 1.0e+6\n"))
    small = write(tmp / "small.yaml", TINY_YAML)
    return [["solve", str(path), "--out", str(tmp / path.stem)] for path in (big, small)]


def _json_with_bom(tmp: Path) -> list[list[str]]:
    """A JSON scenario starting with a byte-order mark, as some Windows editors save it."""
    path = write(tmp / "bom.json", ("\ufeff" + json.dumps(tiny_data())).encode("utf-8"))
    return [["validate", str(path)]]


#: Commands that must be accepted: (name, build(tmp) -> optimise.py argument lists).
ACCEPTED: list[tuple[str, Callable[[Path], list[list[str]]]]] = [
    (
        "--set areas[cyber].floor",
        lambda tmp: [["validate", "aspf-2026", "--set", "areas[cyber].floor=1bn"]],
    ),
    ("json with a byte-order mark", _json_with_bom),
    (
        "allowed --highs options",
        lambda tmp: [
            [
                "solve",
                "aspf-2026",
                "--json",
                "--highs",
                "solver=ipm",
                "--highs",
                "primal_feasibility_tolerance=1e-8",
                "--highs",
                "threads=1",
            ],
        ],
    ),
    ("priorities 1e6 times larger", _big_and_small_priorities),
]


@dataclass(frozen=True)
class Done:
    """One case as it ran: each command's outcome, its folder and what it held before."""

    ran: list[Ran]
    folder: Path
    before: list[str]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Done]:
    """Every case and accepted command of this module, run once in one process, by name."""
    built: list[tuple[str, str, list[list[str]], Path]] = []
    for script, name, build, _words in ALL_CASES:
        folder = tmp_path_factory.mktemp("hostile")
        built.append((name, script, [build(folder)], folder))
    for name, build_all in ACCEPTED:
        folder = tmp_path_factory.mktemp("accepted")
        built.append((name, "optimise.py", build_all(folder), folder))
    listings = {name: sorted(p.name for p in folder.iterdir()) for name, _, _, folder in built}
    outcomes = iter(run_many([(script, a) for _, script, argvs, _ in built for a in argvs]))
    return {
        name: Done([next(outcomes) for _ in argvs], folder, listings[name])
        for name, _, argvs, folder in built
    }


def assert_refused_and_nothing_written(case: Done, words: tuple[str, ...]) -> None:
    assert_refused(case.ran[0], *words)
    assert sorted(p.name for p in case.folder.iterdir()) == case.before  # nothing written
    assert not (case.folder / "x.log").exists()


def test_every_case_has_its_own_name() -> None:
    names = [c[1] for c in ALL_CASES] + [name for name, _ in ACCEPTED]
    assert len(set(names)) == len(names)
    assert set(OWN_PROCESS) <= set(names)


@pytest.mark.parametrize(
    ("name", "words"), [(c[0], c[2]) for c in OPTIMISE_CASES], ids=[c[0] for c in OPTIMISE_CASES]
)
def test_optimise_refuses_hostile_input_with_file_and_field(
    ran: dict[str, Done], name: str, words: tuple[str, ...]
) -> None:
    assert_refused_and_nothing_written(ran[name], words)


@pytest.mark.parametrize(
    ("name", "words"), [(c[0], c[2]) for c in FORECAST_CASES], ids=[c[0] for c in FORECAST_CASES]
)
def test_forecast_refuses_hostile_input_with_file_and_field(
    ran: dict[str, Done], name: str, words: tuple[str, ...]
) -> None:
    assert_refused_and_nothing_written(ran[name], words)


#: A few cases of each kind (a workbook bomb, deep nesting, a bad option, a bad CSV), also
#: in a process of their own: the exit code and output a user sees, with no traceback.
OWN_PROCESS = ["xlsx declared 1.5 GB", "json nested 100,000 deep", "--highs malformed",
               "CSV with a NUL byte"]  # fmt: skip


@pytest.mark.parametrize(
    ("script", "name", "build", "words"),
    [c for c in ALL_CASES if c[1] in OWN_PROCESS],
    ids=[c[1] for c in ALL_CASES if c[1] in OWN_PROCESS],
)
def test_a_hostile_input_is_refused_in_a_process_of_its_own(
    tmp_path: Path,
    script: str,
    name: str,
    build: Callable[[Path], list[str]],
    words: tuple[str, ...],
) -> None:
    args = build(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_refused(cli(script, *args), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_allowed_highs_options_still_solve(ran: dict[str, Done]) -> None:
    (res,) = ran["allowed --highs options"].ran
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["status"] == "optimal"


def test_uniform_large_priorities_are_rescaled_not_refused(ran: dict[str, Done]) -> None:
    """Priorities all 1e6 times larger: accepted, and the same plan (only the range of the
    objective's weights is what the solver cannot take)."""
    import pandas as pd

    case = ran["priorities 1e6 times larger"]
    plans = []
    for res, stem in zip(case.ran, ("big", "small"), strict=True):
        assert res.returncode == 0, res.stderr
        plans.append(pd.read_csv(case.folder / stem / "allocation.csv"))
    pd.testing.assert_frame_equal(plans[0], plans[1], rtol=1e-9, atol=1e-3)


def test_a_json_file_with_a_byte_order_mark_is_read(ran: dict[str, Done]) -> None:
    (res,) = ran["json with a byte-order mark"].ran
    assert res.returncode == 0, res.stderr
    assert "bom.json: valid" in res.stdout


def test_series_named_like_missing_values_are_read_as_written(tmp_path: Path) -> None:
    """NA (Namibia's code), null and nan are series names, not missing ones."""
    rows = [f"{name},{year},{year - 1999}" for name in ("NA", "null", "nan")
            for year in (2000, 2001, 2002)]  # fmt: skip
    write(tmp_path / "names.csv", "unique_id,ds,y\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    args = ["run", "--data", str(tmp_path / "names.csv"), "--horizon", "1", "--model", "naive"]
    (res,) = run_many([("forecast.py", [*args, "--out", str(out)])])
    assert res.returncode == 0, res.stderr
    import pandas as pd

    forecast = pd.read_csv(out / "forecast.csv", keep_default_na=False)
    assert sorted(forecast["unique_id"]) == ["NA", "nan", "null"]


def test_an_edit_may_name_a_field_as_messages_do(ran: dict[str, Done]) -> None:
    (res,) = ran["--set areas[cyber].floor"].ran
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout
