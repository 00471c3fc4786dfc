"""CSV dialects found in the wild: encoding and separator detection, transcoding, line checks.

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

import polars as pl

from pakkeforlop.errors import ExtractError

__all__ = [
    "CHUNK",
    "Encoding",
    "TempDir",
    "detect_encoding",
    "detect_separator",
    "first_ragged_line",
    "first_stray_quote",
    "header_line",
    "line_fields",
    "transcode",
]

Encoding = Literal["utf-8", "windows-1252", "utf-16"]

#: Python's codec for each encoding read.
_CODECS: Final[dict[str, str]] = {
    "utf-8": "utf-8-sig",
    "windows-1252": "cp1252",
    "utf-16": "utf-16",
}

#: A byte that never occurs in register text: splitting on it reads whole lines.
_NO_SEPARATOR: Final = "\x1f"

#: Bytes read per step when scanning or transcoding a file.
CHUNK: Final = 1 << 20

_SEPARATORS: Final = (";", ",", "\t")


def detect_encoding(path: Path, label: str) -> Encoding:
    """Decide whether a text file is UTF-8, Windows-1252 or UTF-16, reading it once in chunks.

    A file that starts with a UTF-16 byte-order mark is UTF-16 (spreadsheets save "Unicode text"
    so); a file that decodes as UTF-8 from start to end (a byte-order mark is allowed) is UTF-8;
    otherwise it must decode as Windows-1252.

    Args:
        path: The file.
        label: The file name used in error messages.

    Returns:
        ``"utf-8"``, ``"windows-1252"`` or ``"utf-16"``.

    Raises:
        ExtractError: If the file is empty, holds NUL bytes (binary, not text), or is neither
            UTF-8, UTF-16 with a byte-order mark, nor Windows-1252.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    utf8 = True
    try:
        with path.open("rb") as fh:
            if fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                _check_utf16(path, label)
                return "utf-16"
            fh.seek(0)
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


def _check_utf16(path: Path, label: str) -> None:
    try:
        with path.open("r", encoding="utf-16") as fh:
            while fh.read(CHUNK):
                pass
    except UnicodeDecodeError as exc:
        msg = (
            f"{label}: starts as UTF-16 text but byte {exc.start} does not decode as UTF-16;"
            " save the file as UTF-8"
        )
        raise ExtractError(msg) from None


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
    with path.open("r", encoding=_CODECS[encoding]) as fh:
        return fh.readline().rstrip("\r\n").lstrip("\ufeff")


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


def transcode(path: Path, dest: Path, encoding: Encoding = "windows-1252") -> None:
    """Copy a Windows-1252 or UTF-16 file to ``dest`` as UTF-8 in one streaming pass."""
    with (
        path.open("r", encoding=_CODECS[encoding], newline="") as src,
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


def line_fields(path: Path, separator: str) -> pl.LazyFrame:
    """Per line of a UTF-8 CSV file: its number, whether it is blank, and its number of fields.

    One lazy scan of the lines as text (``__line_no`` from 1, the header included). Separators in
    double quotes do not count; a line with an odd number of quotes (a quoted field running on,
    or a stray quote) gets no count (``__fields`` null): the parser decides about it.

    Args:
        path: The file (after any transcoding).
        separator: Its field separator.

    Returns:
        ``__line_no`` (UInt32), ``__blank`` (Boolean), ``__fields`` (UInt32, null when unknown).
    """
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator=_NO_SEPARATOR,
        quote_char=None,
        new_columns=["__text"],
        infer_schema=False,
        row_index_name="__line_no",
        row_index_offset=1,
        truncate_ragged_lines=True,
    )
    text = pl.col("__text").fill_null("")
    unquoted = text.str.replace_all('"[^"]*"', "")
    balanced = text.str.count_matches('"', literal=True) % 2 == 0
    fields = unquoted.str.count_matches(separator, literal=True) + 1
    return lines.select(
        "__line_no",
        (text.str.strip_chars().str.len_bytes() == 0).alias("__blank"),
        pl.when(balanced).then(fields).cast(pl.UInt32).alias("__fields"),
    )


def first_stray_quote(path: Path, separator: str, header: list[str]) -> tuple[int, str] | None:
    """The first line with an unbalanced double quote, and the column it opens in.

    Only called once reading has failed. Nothing of the line's content is returned (it may hold
    patient data).

    Args:
        path: A UTF-8 CSV file.
        separator: Its field separator.
        header: The column names.

    Returns:
        ``(line number, column name)``, or ``None``.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if line.count('"') % 2:
                before = line[: line.index('"')]
                index = before.count(separator)
                name = header[index] if index < len(header) else f"field {index + 1}"
                return number, name
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
