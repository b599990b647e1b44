"""The same report as a paginated PDF, rendered from the HTML by WeasyPrint.

WeasyPrint lays out the HTML with the stylesheet's print rules (A4, each section on new
pages, page numbers, a contents list with page numbers, wide tables on landscape pages).
It needs Pango on the system (Debian: libpango-1.0-0, libpangoft2-1.0-0); without it
:func:`pdf_bytes` raises OutputError saying so.
"""

from __future__ import annotations

from engine.errors import OutputError


def pdf_bytes(html: str) -> bytes:
    """Render ``html`` (a self-contained report) to PDF.

    Raises OutputError when WeasyPrint or its system libraries are missing.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise OutputError(
            "PDF output needs WeasyPrint and Pango (pip install weasyprint; Debian: "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0): {error}"
        ) from None
    # A fetcher that refuses everything: the report is self-contained, so nothing may be
    # loaded from disk or the network while it is laid out.
    return HTML(string=html, url_fetcher=_refuse).write_pdf()


def _refuse(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"reports load nothing from outside the file (asked for {url})")
