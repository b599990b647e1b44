"""The same report as a paginated PDF, rendered from the HTML by WeasyPrint.

WeasyPrint lays out the HTML with the stylesheet's print rules (A4, each section on new
pages, page numbers, a contents list with page numbers, wide tables on landscape pages).
It needs Pango on the system (Debian: libpango-1.0-0, libpangoft2-1.0-0); without it
:func:`pdf_bytes` raises OutputError saying so.
"""

from __future__ import annotations

import base64
import re

from engine import OutputError

_CHART_SVG = re.compile(r'<svg\b[^>]*\bclass="chart-svg"[^>]*>.*?</svg>', re.DOTALL)
_LABEL = re.compile(r'aria-label="([^"]*)"')


def _as_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    label = _LABEL.search(svg)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = label.group(1) if label else ""
    return f'<img class="chart-svg" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def charts_as_images(html: str) -> str:
    """The report's inline SVG charts as ``<img>`` elements with ``data:`` URLs.

    WeasyPrint draws the same vector charts (text stays text) but no longer runs the page's
    style cascade over every element of every chart, which took a third of the PDF's time.
    """
    return _CHART_SVG.sub(_as_image, html)


def pdf_bytes(html: str) -> bytes:
    """Render ``html`` (a self-contained report) to PDF.

    Raises OutputError when WeasyPrint or its system libraries are missing, or when the
    report refers to anything outside itself.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise OutputError(
            "PDF output needs WeasyPrint and Pango (pip install weasyprint; Debian: "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0): {error}"
        ) from None
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # The report is self-contained: only the charts' data: URLs may be read while it is
    # laid out, nothing from disk or the network.
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    try:
        return HTML(string=charts_as_images(html), url_fetcher=fetcher).write_pdf()
    except FatalURLFetchingError as error:
        raise OutputError(f"reports load nothing from outside the file: {error}") from None
