"""Write files atomically: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> None:
    """Produce ``path`` by calling ``write(tmp)`` on a temporary file beside it, then
    renaming, so no reader ever sees a half-written file and a failure leaves the old file.

    The file gets the permissions a new file gets (mkstemp's are private). Raises
    OutputError if the folder is not writable.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            write(Path(tmp))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write`); raises OutputError."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes atomically (see :func:`atomic_write`); raises OutputError."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
