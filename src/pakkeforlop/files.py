"""Writing output files atomically: a complete file under the real name, or none at all.

Every output (CSV, Parquet, JSON, xlsx, HTML, JUnit, the synthetic extract) is written to a
temporary file beside its target and renamed onto it only when complete (domain/
extract-and-timeline.md §1, reading rules): an interrupted or failed run leaves no truncated file
under the real name, and a previous good file survives. A failure to write is one
:class:`~pakkeforlop.errors.OutputError` naming the file and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from pakkeforlop.errors import OutputError

__all__ = ["atomic_output", "check_writable", "write_atomic"]

#: Why a write failed, in words, for the errors users meet.
_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def check_writable(target: str | Path) -> Path:
    """Check up front that ``target`` can be written (its folder exists and takes files).

    Args:
        target: The output file.

    Returns:
        The target as a path.

    Raises:
        OutputError: Naming the file and what is wrong.

    Examples:
        >>> check_writable("/no/such/folder/out.csv")
        Traceback (most recent call last):
        ...
        pakkeforlop.errors.OutputError: cannot write /no/such/folder/out.csv: the folder ...
    """
    path = Path(target)
    folder = path.parent
    if path.is_dir():
        msg = f"cannot write {path}: it is a folder; expected a file name"
        raise OutputError(msg)
    if not folder.is_dir():
        msg = f"cannot write {path}: the folder {folder} does not exist"
        raise OutputError(msg)
    if not os.access(folder, os.W_OK):
        msg = f"cannot write {path}: permission denied in {folder}"
        raise OutputError(msg)
    return path


@contextlib.contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it when the block completes.

    On any failure or interruption (``KeyboardInterrupt`` included) the temporary file is removed
    and ``target`` is left as it was.

    Args:
        target: The output file.

    Yields:
        The temporary path to write (``.<name>.<random>.partial`` in the same folder).

    Raises:
        OutputError: If the file cannot be written (naming it and why).

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_output(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text(), [p.name for p in target.parent.iterdir()]
        ('done', ['out.txt'])
    """
    path = check_writable(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        msg = f"cannot write {path}: {_reason(exc)}"
        raise OutputError(msg) from None
    os.close(fd)
    temp = Path(name)
    # mkstemp makes the file readable by its owner alone; the output gets the permissions a
    # plain write would give it (those of the file it replaces, else 0666 less the umask), where
    # the file system lets us set them (os.chmod: os.fchmod is POSIX-only before Python 3.13)
    with contextlib.suppress(OSError):
        temp.chmod(_mode_for(path))
    try:
        yield temp
        temp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError | pl.exceptions.PolarsError):
            msg = f"cannot write {path}: {_reason(exc)}"
            raise OutputError(msg) from None
        raise


def _mode_for(path: Path) -> int:
    """The permission bits a file written at ``path`` the ordinary way would have."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:  # no file there yet
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    # elsewhere the only way to read it is to set it and set it back; meanwhile a file another
    # thread creates gets 0o077, so the race can only make a file more private, never less
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_atomic(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``target`` atomically with ``write(temporary_path)``.

    Args:
        target: The output file.
        write: Writes the whole file to the path it is given.

    Returns:
        The target path.

    Raises:
        OutputError: If the file cannot be written.
    """
    with atomic_output(target) as temp:
        write(temp)
    return Path(target)
