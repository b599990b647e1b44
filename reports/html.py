"""Render a :class:`~reports.document.Report` as one self-contained HTML file.

Styles are inlined and charts are inline SVG, so the file opens offline, by e-mail or
from a USB stick, and loads nothing from the network.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.document import Report

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["zip"] = zip
    return env


def render_html(report: Report) -> str:
    """The report as HTML text (UTF-8, styles and charts inline)."""
    provenance = dict(report.provenance)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
            version=provenance.get("engine version", ""),
            inputs_sha256=provenance.get("inputs sha256", ""),
        )
    )
