"""The same report as a paginated PDF, rendered from the HTML by WeasyPrint.

WeasyPrint lays out the HTML with the stylesheet's print rules (A4, one section per page
run, page numbers, a contents list with page numbers). It needs Pango on the system
(Debian: libpango-1.0-0, libpangoft2-1.0-0); without it :func:`write_pdf` raises
OutputError saying so.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.errors import OutputError


def write_pdf(html: str, path: str | os.PathLike[str]) -> Path:
    """Render ``html`` (a self-contained report) to a PDF at ``path``, atomically.

    Raises OutputError when WeasyPrint or its system libraries are missing, or the file
    cannot be written.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise OutputError(
            f"{path}: PDF output needs WeasyPrint and Pango (pip install weasyprint; "
            f"Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0): {error}"
        ) from None
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            # mkstemp makes the file private; give it the permissions a new file gets.
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
            # No base URL and a fetcher that refuses everything: the report is
            # self-contained, so nothing may be loaded from disk or the network.
            HTML(string=html, url_fetcher=_refuse).write_pdf(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def _refuse(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"reports load nothing from outside the file (asked for {url})")
