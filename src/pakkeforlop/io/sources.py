"""Finding and opening the files of an extract: paths, globs, folders, lists and data frames.

Each input becomes one :class:`Opened` source: a lazy frame of its columns as found, plus the
1-based row number as the user's editor counts it (``__source_row``; for CSV the line number,
header on line 1), the label used in messages and ``source_file``, the format and, for CSV, the
detected encoding and separator. See domain/extract-and-timeline.md §1.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import polars as pl

from pakkeforlop.errors import ExtractError
from pakkeforlop.io.csvfiles import (
    TempDir,
    detect_encoding,
    detect_separator,
    first_ragged_line,
    first_stray_quote,
    header_line,
    line_fields,
    transcode,
)

__all__ = [
    "READ_ERRORS",
    "ROW",
    "SUFFIXES",
    "Format",
    "Opened",
    "SourceLike",
    "expand",
    "explain_failure",
    "metadata_rows",
    "open_frame",
    "open_source",
]

Format = Literal["csv", "parquet", "ipc", "dataframe"]

#: What :func:`pakkeforlop.io.read.read_extract` accepts as ``source``.
SourceLike = str | Path | Sequence[str | Path] | pl.DataFrame | pl.LazyFrame

#: File suffixes read, by format.
SUFFIXES: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
}

#: What reading a damaged file can raise: polars' errors, its panics (a Rust assertion about
#: the file's content, e.g. a date out of range), and the system's.
READ_ERRORS: Final = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError)

#: Name of the row-number column added to every opened source.
ROW: Final = "__source_row"

DATAFRAME_LABEL: Final = "<dataframe>"

_GLOB_CHARS: Final = frozenset("*?[")


@dataclass(frozen=True)
class Opened:
    """One opened source: its columns (lazily) and what was detected about it."""

    label: str
    format: Format
    frame: pl.LazyFrame
    encoding: str | None = None
    separator: str | None = None
    read_from: Path | None = None
    """The file polars reads (for Windows-1252 CSV: the transcoded temporary copy)."""


def _supported() -> str:
    return ", ".join(SUFFIXES)


def expand(source: str | Path | Sequence[str | Path]) -> list[tuple[str, Path]]:
    """Turn a path, glob, folder or list of them into (label, path) pairs, in order.

    A glob's matches and a folder's files (searched recursively, by suffix) are sorted by name; a
    list keeps its order. The label is the path as given (for a glob or folder: the matched
    path). A path holding ``*``, ``?`` or ``[`` that does not exist as such is a glob.

    Raises:
        ExtractError: If a file is missing, a glob matches nothing, a folder holds no readable
            file, or the list is empty.
    """
    items: Sequence[str | Path] = [source] if isinstance(source, str | Path) else source
    if not items:
        msg = "no extract files given; expected a file, a folder, a glob or a list of files"
        raise ExtractError(msg)
    out: list[tuple[str, Path]] = []
    for item in items:
        text = str(item)
        path = Path(item)
        if _GLOB_CHARS & set(text) and not path.exists():
            matches = sorted(glob.glob(text, recursive=True))  # noqa: PTH207 (str patterns)
            found = [m for m in matches if Path(m).is_file()]
            if not found:
                msg = f"{text}: no files match this pattern"
                raise ExtractError(msg)
            out.extend((m, Path(m)) for m in found)
        elif path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not files:
                msg = f"{text}: the folder holds no extract files (expected {_supported()})"
                raise ExtractError(msg)
            out.extend((str(p), p) for p in files)
        elif path.is_file():
            out.append((text, path))
        else:
            msg = f"{text}: file not found"
            raise ExtractError(msg)
    return out


def metadata_rows(label: str, path: Path) -> int | None:
    """The row count a Parquet or Arrow file's metadata gives (``None`` for text files).

    Raises:
        ExtractError: If the file cannot be read as what its suffix says (named, with why).
    """
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt not in ("parquet", "ipc"):
        return None
    try:
        scan = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_ipc(path)
        return int(scan.select(pl.len()).collect().item())
    except READ_ERRORS as exc:
        kind = "Parquet" if fmt == "parquet" else "Arrow IPC"
        msg = f"{label}: cannot be read as {kind}: {_reason(exc)}"
        raise ExtractError(msg) from None


def open_source(label: str, path: Path, temp: TempDir) -> Opened:
    """Open one file lazily, with its row numbers, checking what can be checked cheaply.

    The schema (Parquet/IPC metadata, CSV header) is read here, so a corrupt file or a file of the
    wrong kind fails now, naming the file.

    Raises:
        ExtractError: If the suffix is not supported, or the file cannot be read.
    """
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        msg = f"{label}: unsupported file type {path.suffix or '(none)'!r}; expected {_supported()}"
        raise ExtractError(msg)
    if fmt == "csv":
        return _open_csv(label, path, temp)
    try:
        if fmt == "parquet":
            frame = pl.scan_parquet(path, row_index_name=ROW, row_index_offset=1)
        else:
            frame = pl.scan_ipc(path, row_index_name=ROW, row_index_offset=1)
        frame.collect_schema()
    except READ_ERRORS as exc:
        kind = "Parquet" if fmt == "parquet" else "Arrow IPC"
        msg = f"{label}: cannot be read as {kind}: {_reason(exc)}"
        raise ExtractError(msg) from None
    return Opened(label=label, format=fmt, frame=_renamed(frame), read_from=path)


def _open_csv(label: str, path: Path, temp: TempDir) -> Opened:
    encoding = detect_encoding(path, label)
    header = header_line(path, encoding)
    if not header.strip():
        msg = f"{label}: the first line is empty; expected a header line naming the columns"
        raise ExtractError(msg)
    separator = "\t" if path.suffix.lower() == ".tsv" else detect_separator(header)
    read_from = path
    if encoding != "utf-8":
        read_from = temp.new_file(path.stem + ".csv")
        transcode(path, read_from, encoding)
    try:
        frame = pl.scan_csv(
            read_from,
            separator=separator,
            infer_schema=False,
            row_index_name=ROW,
            # The header is line 1, so the first data row is line 2 in the user's editor.
            row_index_offset=2,
            # a line with too many fields is a finding (wrong_field_count), not a hard stop
            truncate_ragged_lines=True,
        )
        frame.collect_schema()
    except READ_ERRORS as exc:
        msg = f"{label}: cannot be read as CSV: {_reason(exc)}"
        raise ExtractError(msg) from None
    # blank lines and the number of fields of each line, joined by line number
    lines = line_fields(read_from, separator).filter(pl.col("__line_no") > 1)
    frame = frame.join(lines, left_on=ROW, right_on="__line_no", how="left", maintain_order="left")
    return Opened(
        label=label,
        format="csv",
        frame=_renamed(frame),
        encoding=encoding,
        separator=separator,
        read_from=read_from,
    )


def open_frame(frame: pl.DataFrame | pl.LazyFrame) -> Opened:
    """Wrap a data frame given by the caller as a source labelled ``<dataframe>``."""
    lazy = frame.lazy().with_row_index(ROW, offset=1)
    return Opened(label=DATAFRAME_LABEL, format="dataframe", frame=_renamed(lazy))


def _renamed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Strip spaces and byte-order marks around column names (spreadsheets leave them)."""
    names = frame.collect_schema().names()
    clean = {n: n.strip().lstrip("\ufeff").strip() for n in names}
    changed = {k: v for k, v in clean.items() if k != v}
    if not changed or len(set(clean.values())) < len(clean):
        return frame
    return frame.rename(changed)


def explain_failure(opened: list[Opened], exc: BaseException) -> str:
    """A one-line message for a read that failed while collecting, naming the file if it can.

    Polars' own message does not name the file; for CSV the usual cause, a line with more fields
    than the header, is looked for and named.
    """
    for src in opened:
        if src.format == "csv" and src.read_from is not None and src.separator is not None:
            names = [n for n in src.frame.collect_schema().names() if not n.startswith("__")]
            stray = first_stray_quote(src.read_from, src.separator, names)
            if stray is not None:
                line, column = stray
                return (
                    f"{src.label} line {line}, column '{column}': a double quote (\") that is"
                    " not closed on its line; expected quotes in pairs around a whole field"
                )
            ragged = first_ragged_line(src.read_from, src.separator)
            if ragged is not None:
                line, found, expected = ragged
                return (
                    f"{src.label} line {line}: {found} fields, but the header has {expected};"
                    " expected the same number on every line (check the separator and quoting)"
                )
    for src in opened:
        if src.format in ("parquet", "ipc") and src.read_from is not None:
            broken = _read_failure(src)
            if broken is not None:
                return f"{src.label}: cannot be read: {broken}"
    files = ", ".join(s.label for s in opened)
    return f"{files}: cannot be read: {_reason(exc)}"


def _read_failure(src: Opened) -> str | None:
    """Why one Parquet or Arrow file fails to read in full (``None`` if it reads)."""
    try:
        src.frame.collect()
    except READ_ERRORS as exc:
        return _reason(exc)
    return None


def _reason(exc: BaseException) -> str:
    """Polars' or the system's reason, first line, cut (it must not echo a file's content)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if "could not parse" in first:
        return "a value could not be parsed (check the quoting and the separator)"
    return first if len(first) <= 160 else first[:157] + "..."
