"""Every command in README.md runs as written (issue 14).

The README's ``bash`` blocks are parsed (continuation lines joined, trailing comments
dropped) and each command is run, in README order, by bash in a scratch folder that links
to the repository's files, with ``python`` the venv's interpreter: outputs (``out/``,
``plan.xlsx``, ``runs``) land in the scratch folder. The scenario-format example is saved
as ``my-scenario.yaml`` first, the file the tour validates. Commands that cannot be run as
a test are listed in :data:`NOT_RUN` with the reason (and where they are tested instead).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: Commands not run here, by their start, and why.
NOT_RUN = {
    "python3 -m venv": "installs the environment the tests run in (.ci/run runs it verbatim)",
    ". .venv/bin/activate": "sets up the shell; the commands below run with the venv's python",
    "python optimise.py app": "a server that runs until stopped (tests/test_app_cli.py)",
    ".venv/bin/python -m pytest": "runs the test suite, of which this test is part",
}
#: Commands whose documented exit code is not 0, with it (README: "1 infeasible ...").
EXIT_CODES = {"python optimise.py explain aspf-2026 --set areas.cyber.floor=60bn": 1}
#: Commands that need a browser to print PDFs, with the browser they need.
NEEDS_CHROMIUM = ("--pdf",)


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``, in order."""
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def _strip_comment(line: str) -> str:
    return re.split(r"\s+#\s", line, maxsplit=1)[0].rstrip()


def readme_commands() -> list[str]:
    """Every command of the README's bash blocks (continuations joined, comments dropped)."""
    commands: list[str] = []
    for block in blocks("bash"):
        pending = ""
        for raw in block.splitlines():
            line = _strip_comment(raw)
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            commands.append((pending + line.strip()).strip())
            pending = ""
    return commands


def _skipped(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


def test_the_readme_has_commands_and_every_one_is_run_or_says_why_not():
    commands = readme_commands()
    assert len(commands) > 20
    run = [c for c in commands if _skipped(c) is None]
    assert all(c.startswith("python ") for c in run), [
        c for c in run if not c.startswith("python ")
    ]


def test_the_scenario_format_example_is_a_valid_scenario():
    from engine import scenario_from_data

    (example,) = blocks("yaml")
    scenario = scenario_from_data(yaml.safe_load(example), "README.md")
    assert scenario.area("cyber").floor.amount == 5e9
    assert scenario.area("space").ceiling.amount == 4e9


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder linking to the repository's files, the README's example saved as
    ``my-scenario.yaml``, and ``python`` on the PATH the venv's interpreter."""
    work = tmp_path_factory.mktemp("readme")
    for item in ROOT.iterdir():
        if item.name not in (".git", ".venv", "out", "runs") and not item.name.startswith("."):
            (work / item.name).symlink_to(item)
    (work / "my-scenario.yaml").write_text(blocks("yaml")[0], encoding="utf-8")
    bin_dir = work / ".bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python"  # a script, not a link: a venv is found by its path
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return work


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_runs_as_written(command: str, workdir: Path) -> None:
    why = _skipped(command)
    if why is not None:
        pytest.skip(why)
    if any(flag in command for flag in NEEDS_CHROMIUM) and shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium to print the PDF (apt-get install chromium)")
    env = {**os.environ, "PATH": f"{workdir / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    env["COLUMNS"] = "120"
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == EXIT_CODES.get(command, 0), (
        f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr
