"""Replace a set of files in one step: the ``--out DIR`` rule of every command.

The files are written into a fresh temporary folder beside DIR, which then takes DIR's
place in one atomic exchange of the two folders (Linux ``renameat2(RENAME_EXCHANGE)``;
elsewhere two renames). A reader, or a process killed at any moment, sees the old set or
the new one, never a mix and never a half-written file. A DIR holding anything other
than files this command writes is refused, not overwritten. Temporary folders left by a
killed run carry its process id and are removed by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import OutputError
from engine.files.atomic import _umask

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: What temporary names carry after the target's: ``.NAME.tmp-PID-xxxx``.
LITTER_KINDS = ("tmp", "old", "link")


def check_folder(out: str | os.PathLike[str], owned: tuple[str, ...]) -> Path:
    """``out`` as a Path if it may be (re)written; raises OutputError if it is a file or
    holds anything not in ``owned`` (call before long work, to refuse early)."""
    out = Path(out)
    try:
        is_other = out.is_symlink() or (out.exists() and not out.is_dir())
        blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    except OSError as error:  # e.g. a name too long for the file system
        raise OutputError(f"{out}: cannot be a folder ({error.strerror or error})") from None
    if is_other:
        raise OutputError(f"{out}: exists and is not a folder")
    if blocking is not None:
        raise OutputError(f"{out}: cannot be made, {blocking} is a file, not a folder")
    if out.exists():
        try:
            foreign = sorted(p.name for p in out.iterdir() if p.name not in owned)
        except OSError as error:
            raise OutputError(f"{out}: cannot read the folder ({error.strerror})") from None
        if foreign:
            raise OutputError(
                f"{out}: holds files this command did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder"
            )
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def litter_prefix(target: Path, kind: str) -> str:
    """The name prefix of this process's temporary ``kind`` beside ``target``."""
    return f".{target.name}.{kind}-{os.getpid()}-"


def sweep_litter(target: Path) -> None:
    """Remove the temporary files and folders that killed runs left beside ``target``."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:{'|'.join(LITTER_KINDS)})-(\d+)-")
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return
    for path in siblings:
        match = pattern.match(path.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: fall back to renames
        return False
    raise OSError(errno, os.strerror(errno), str(b))


def _swap_in(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous set
    else:
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=litter_prefix(out, "old")))
        os.rename(out, old / "previous")
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)


def write_folder(
    out: str | os.PathLike[str], writers: dict[str, Callable[[Path], None]], owned: tuple[str, ...]
) -> Path:
    """Write files through a temporary folder and swap it in place of ``out`` in one step.

    ``writers`` maps each file name to a function writing that file at the path given;
    ``owned`` names the files a previous run may have left: anything else in ``out``
    makes this raise OutputError instead of deleting a user's files.
    """
    out = check_folder(out, owned)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sweep_litter(out)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=litter_prefix(out, "tmp")))
        # mkdtemp makes the folder private; give it the permissions a new folder gets.
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as error:
        raise OutputError(f"{out}: cannot create the folder ({error.strerror or error})") from None
    try:
        for name, write in writers.items():
            write(tmp / name)
        _swap_in(tmp, out)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot write ({error.strerror or error})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def folder_of_bytes(files: dict[str, bytes]) -> dict[str, Callable[[Path], None]]:
    """Writers for :func:`write_folder` from each file's content."""
    return {name: _bytes_writer(data) for name, data in files.items()}


def _bytes_writer(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _link(path: Path, target: str) -> None:
    """Make ``path`` a symbolic link to ``target`` (relative), atomically."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():
        raise OutputError(f"{path}: is a folder")
    sweep_litter(path)
    tmp = path.with_name(f"{litter_prefix(path, 'link')}{os.urandom(4).hex()}")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink()
        raise


def write_file_set(files: dict[Path, bytes], owned: tuple[str, ...]) -> list[Path]:
    """Write files that belong together beside each other (a report's HTML, PDF and
    workbook) so that they are replaced as a set, in one step.

    The files live in a hidden folder beside them (``.NAME.files``, NAME the first file's
    name), written by :func:`write_folder`; each visible name is a relative symbolic link
    into it, made before the swap, so a reader sees the whole old set or the whole new
    one. ``owned`` names every file of the set a previous run may have written: one not
    written this time is removed. Raises OutputError.
    """
    paths = list(files)
    parent = paths[0].parent
    folder = check_folder(parent / f".{paths[0].name}.files", owned)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for path in paths:
            _link(path, f"{folder.name}/{path.name}")
    except OSError as error:
        raise OutputError(f"{parent}: cannot write ({error.strerror or error})") from None
    write_folder(folder, folder_of_bytes({p.name: data for p, data in files.items()}), owned)
    written = {p.name for p in paths}
    for name in owned:
        twin = parent / name
        stale = name not in written and twin.is_symlink()
        if stale and os.readlink(twin) == f"{folder.name}/{name}":
            twin.unlink()
    return paths
