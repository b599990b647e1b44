"""``python optimise.py app``: its options and the Streamlit command it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli.app import streamlit_command

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "optimise.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_app_help_documents_port_and_data_dir() -> None:
    done = _run("app", "--help")
    assert done.returncode == 0
    assert "--port" in done.stdout
    assert "--data-dir" in done.stdout


def test_a_port_out_of_range_exits_2_with_a_message() -> None:
    done = _run("app", "--port", "70000")
    assert done.returncode == 2
    assert "--port: 70000 is not a port" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_server_listens_on_localhost_only_with_the_upload_limit() -> None:
    command = streamlit_command(8600)
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert Path(command[4]) == ROOT / "app" / "streamlit_app.py"
    assert options["--server.address"] == "127.0.0.1"
    assert options["--server.port"] == "8600"
    assert options["--server.maxUploadSize"] == "5"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--client.showErrorDetails"] == "none"
