"""CSV dialects found in the wild: encoding and separator detection, Windows-1252 transcoding.

Register and hospital extracts arrive as UTF-8 (with or without a byte-order mark) or Windows-1252
text, separated by ``;`` (the Norwegian spreadsheet default), ``,`` or a tab
(domain/extract-and-timeline.md §1). Neither is asked of the user: the encoding is the one the
bytes decode as (UTF-8 first), the separator the one the header line uses most.

Polars decodes Windows-1252 only eagerly, in Python; so such files are transcoded to a temporary
UTF-8 file in one streaming pass (bounded memory) and read lazily from there.
"""

from __future__ import annotations

import atexit
import codecs
import csv
import shutil
import tempfile
from pathlib import Path
from typing import Final, Literal

from pakkeforlop.errors import ExtractError

__all__ = [
    "CHUNK",
    "Encoding",
    "TempDir",
    "detect_encoding",
    "detect_separator",
    "first_ragged_line",
    "header_line",
    "transcode",
]

Encoding = Literal["utf-8", "windows-1252"]

#: Bytes read per step when scanning or transcoding a file.
CHUNK: Final = 1 << 20

_SEPARATORS: Final = (";", ",", "\t")


def detect_encoding(path: Path, label: str) -> Encoding:
    """Decide whether a text file is UTF-8 or Windows-1252, reading it once in chunks.

    A file that decodes as UTF-8 from start to end (a byte-order mark is allowed) is UTF-8;
    otherwise it must decode as Windows-1252.

    Args:
        path: The file.
        label: The file name used in error messages.

    Returns:
        ``"utf-8"`` or ``"windows-1252"``.

    Raises:
        ExtractError: If the file is empty, holds NUL bytes (binary, not text), or is neither
            UTF-8 nor Windows-1252.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    utf8 = True
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                _check_text(chunk, label)
                size += len(chunk)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
                    break
            else:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8 = False
        if size == 0:
            msg = f"{label}: the file is empty; expected a header line and rows"
            raise ExtractError(msg)
        if utf8:
            return "utf-8"
        _check_cp1252(path, label)
    except OSError as exc:
        msg = f"{label}: cannot be read: {exc.strerror or exc}"
        raise ExtractError(msg) from None
    return "windows-1252"


def _check_text(chunk: bytes, label: str) -> None:
    if b"\x00" in chunk:
        msg = f"{label}: not a text file (it holds NUL bytes); expected CSV text"
        raise ExtractError(msg)


def _check_cp1252(path: Path, label: str) -> None:
    decoder = codecs.getincrementaldecoder("cp1252")()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            _check_text(chunk, label)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                msg = (
                    f"{label}: byte 0x{chunk[exc.start]:02x} at offset {offset + exc.start} is"
                    " neither UTF-8 nor Windows-1252 text; save the file as UTF-8"
                )
                raise ExtractError(msg) from None
            offset += len(chunk)


def header_line(path: Path, encoding: Encoding) -> str:
    """The first line of a text file, decoded (without a byte-order mark or line end)."""
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else "cp1252") as fh:
        return fh.readline().rstrip("\r\n")


def detect_separator(header: str) -> str:
    r"""The field separator a header line uses: ``;``, ``,`` or a tab (the most frequent).

    Separators inside double quotes do not count. A header with none of them is one column;
    ``,`` is returned then.

    Examples:
        >>> detect_separator("NPRId;institusjonId;dato;kode")
        ';'
        >>> detect_separator('"a,b";c;d')
        ';'
        >>> detect_separator("patient_id\tevent_date")
        '\t'
    """
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def transcode(path: Path, dest: Path) -> None:
    """Copy a Windows-1252 file to ``dest`` as UTF-8 in one streaming pass."""
    with (
        path.open("r", encoding="cp1252", newline="") as src,
        dest.open("w", encoding="utf-8", newline="") as out,
    ):
        shutil.copyfileobj(src, out, CHUNK)


def first_ragged_line(path: Path, separator: str) -> tuple[int, int, int] | None:
    """The first line with more fields than the header, for an error message.

    Only called once reading has failed, so the extra pass costs nothing in the normal case.

    Args:
        path: A UTF-8 CSV file (after any transcoding).
        separator: Its field separator.

    Returns:
        ``(line number, fields found, fields in the header)``, or ``None`` if every line fits.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator)
        header = next(reader, [])
        for row in reader:
            if len(row) > len(header):
                return reader.line_num, len(row), len(header)
    return None


class TempDir:
    """A temporary folder for transcoded files, removed by :meth:`cleanup` or at exit.

    The eager reader removes it as soon as the tables are collected; a lazy scan must keep it for
    as long as its plans may run, so there it is removed when the interpreter exits.
    """

    def __init__(self) -> None:
        self._path: Path | None = None

    def new_file(self, name: str) -> Path:
        """A fresh path inside the folder (created on first use)."""
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="pakkeforlop-"))
            atexit.register(shutil.rmtree, self._path, ignore_errors=True)
        return self._path / f"{len(list(self._path.iterdir()))}-{name}"

    def cleanup(self) -> None:
        """Remove the folder and everything in it now."""
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None
