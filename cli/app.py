"""``python optimise.py app [--port N] [--data-dir DIR]``: start the what-if web app.

Replaces itself with Streamlit serving the app's page on 127.0.0.1 only, without usage
statistics, with uploads limited to the app's own size limit. Saved versions go to the data folder
(``--data-dir``, else ``$ENGINE_APP_DATA``, else ~/.local/share/coalition-fund-planner).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import EXIT_BAD_INPUT, err_console

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "app" / "streamlit_app.py"


def streamlit_command(port: int) -> list[str]:
    """The command line that serves the page on ``127.0.0.1:port``."""
    from app.uploads import MAX_UPLOAD_MB

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PAGE),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]


def app_cmd(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to listen on.")] = 8501,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where saved versions go (default: $ENGINE_APP_DATA "
            "or ~/.local/share/coalition-fund-planner).",
        ),
    ] = None,
) -> None:
    """Start the what-if web app on http://127.0.0.1:PORT (stop it with Ctrl+C)."""
    if not 1 <= port <= 65535:
        err_console.print(f"[bold red]error:[/] --port: {port} is not a port (1-65535)")
        sys.exit(EXIT_BAD_INPUT)
    try:
        import streamlit  # noqa: F401
    except ImportError:
        err_console.print(
            "[bold red]error:[/] the app needs streamlit: pip install streamlit openpyxl"
        )
        sys.exit(EXIT_BAD_INPUT)
    from app.versions import DATA_ENV
    from app.versions import data_dir as resolve_data_dir

    env = dict(os.environ)
    env[DATA_ENV] = str(resolve_data_dir(data_dir))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    err_console.print(f"what-if app on http://127.0.0.1:{port} (data in {env[DATA_ENV]})")
    command = streamlit_command(port)
    os.chdir(ROOT)
    # Replace this process with Streamlit, so signals (Ctrl+C, a supervisor's SIGTERM)
    # reach the server itself and no orphan is left behind.
    os.execve(command[0], command, env)
