"""Generating synthetic extracts in memory or streaming them to Parquet or CSV, chunk by chunk.

Every chunk of pathway instances is seeded from ``(seed, chunk index)``, so the output depends
only on the arguments (same seed → byte-identical files), and memory stays bounded whatever the
size: one chunk of rows is in memory at a time.

Dialects and layouts (domain/extract-and-timeline.md §1):

- ``canonical``: the canonical column names; CSV with ``,``, ISO dates, UTF-8.
- ``npr``: register-style names (:data:`~pakkeforlop.io.columns.NPR_NAMES`) and codings
  (``omsorgsniva`` 1 inpatient / 2 day / 3 outpatient, ``kjonn`` 1 male / 2 female / 9 unknown);
  CSV with ``;``, ``dd.mm.yyyy`` dates, Windows-1252.
- ``combined``: one combined-code column (``code`` / ``kode``); ``split``: ``pathway_type``,
  ``event`` and ``outcome`` columns, the type filled on every row.

The generator emits no ``pathway_id``. With injected errors, Parquet files carry ``event_date`` as
text (``yyyy-mm-dd``) so that unparseable dates can be written; without errors it is a Parquet
date. The ground truth of injected errors goes next to the output as ``<stem>.errors.csv``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, cast

import numpy as np
import polars as pl
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.files import atomic_output
from pakkeforlop.io.columns import NPR_NAMES
from pakkeforlop.synth.frame import (
    BAD_DATE_PATTERNS,
    canonical_events,
    raw_frame,
    truth_frame,
)
from pakkeforlop.synth.generate import calendar_age, simulate_chunk
from pakkeforlop.synth.inject import error_notes, inject_errors
from pakkeforlop.synth.model import EVENTS, unit_practice, world

__all__ = [
    "DEFAULT_CHUNK",
    "Dialect",
    "Format",
    "Layout",
    "SyntheticExtract",
    "WriteSummary",
    "errors_path_for",
    "generate",
    "write_synthetic",
]

Layout = Literal["combined", "split"]
Dialect = Literal["canonical", "npr"]
Format = Literal["parquet", "csv"]

#: Pathway instances per chunk (about 0.7 million registrations: one Parquet row group).
DEFAULT_CHUNK: Final = 100_000
_ROW_GROUP: Final = 1_000_000
#: Worker threads that make chunks ahead of the writer.
_WORKERS: Final = max(1, min(2, os.cpu_count() or 1))
_EPOCH: Final = dt.date(1970, 1, 1)
_HIGH_CARDINALITY: Final = frozenset({"patient_id", NPR_NAMES["patient_id"]})
_WITH_STATISTICS: Final = frozenset(
    n for c in ("event_date", "birth_year", "age") for n in (c, NPR_NAMES[c])
)
_ERRORS_SCHEMA: Final = pl.Schema(
    {"source_row": pl.UInt64, "rule_id": pl.String, "note": pl.String}
)


class SyntheticExtract(NamedTuple):
    """A synthetic extract in memory.

    Attributes:
        events: The canonical event table (``source_file`` ``"<synth>"``, ``source_row`` the
            1-based position), injected errors included.
        truth: One row per generated pathway instance, with the pathway-table columns computed
            from the clean registrations (see :func:`pakkeforlop.synth.frame.truth_frame`), as
            of the latest registration (``reference_date``).
        errors: The injected errors: ``source_row`` (in ``events``), ``rule_id``, ``note``.
    """

    events: pl.DataFrame
    truth: pl.DataFrame
    errors: pl.DataFrame


class WriteSummary(NamedTuple):
    """What :func:`write_synthetic` wrote."""

    path: Path
    rows: int
    pathways: int
    errors: int
    errors_path: Path | None


def errors_path_for(path: str | Path) -> Path:
    """Where the ground truth of injected errors goes: ``<stem>.errors.csv`` next to the output.

    Examples:
        >>> errors_path_for("out/extract.parquet").as_posix()
        'out/extract.errors.csv'
    """
    p = Path(path)
    return p.with_name(f"{p.stem}.errors.csv")


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def _check(
    n_pathways: int, seed: int, start: dt.date, end: dt.date, error_rate: float, chunk: int
) -> None:
    if n_pathways < 1:
        msg = f"--pathways must be at least 1, got {n_pathways}"
        raise ConfigurationError(msg)
    if seed < 0:
        msg = f"--seed must be 0 or more, got {seed}"
        raise ConfigurationError(msg)
    if start < dt.date(2019, 1, 1):
        msg = f"--start {start} is before 2019-01-01, when the pathways came into force"
        raise ConfigurationError(msg)
    if end <= start:
        msg = f"--end {end} must be after --start {start}"
        raise ConfigurationError(msg)
    if end > dt.date(2150, 1, 1):
        msg = f"--end {end} is too far in the future"
        raise ConfigurationError(msg)
    if not 0.0 <= error_rate <= 0.5:
        msg = f"--errors must be a rate between 0 and 0.5, got {error_rate}"
        raise ConfigurationError(msg)
    if chunk < 2:
        msg = f"chunk_pathways must be at least 2, got {chunk}"
        raise ConfigurationError(msg)


class _Part(NamedTuple):
    raw: pl.DataFrame  # the chunk's rows, errors included
    truth: pl.DataFrame | None
    errors: pl.DataFrame  # Injected.errors
    pathways: int  # instances with registrations (before injection)
    drawn: int  # instances drawn so far
    payload: object  # what ``convert`` made of the raw frame in the worker (or None)


def _parts(
    n_pathways: int,
    *,
    seed: int,
    start: dt.date,
    end: dt.date,
    error_rate: float,
    edition: str,
    chunk_pathways: int,
    with_truth: bool,
    convert: Callable[[pl.DataFrame], object] | None = None,
    workers: int = _WORKERS,
) -> Iterator[_Part]:
    """Per chunk, in order: the raw frame (errors included), the truth (if asked), the errors.

    Chunks are made in worker threads, a few ahead of the consumer (numpy, polars and pyarrow
    release the GIL in their heavy loops); each depends only on ``(seed, chunk index)`` and
    results are taken in order, so the output does not depend on ``workers``.
    """
    w = world(edition)
    plan, evaluation = unit_practice(w, seed)
    calendar_age(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))  # build look-ups once
    size = chunk_pathways + chunk_pathways % 2  # pairs never straddle two chunks
    s, e = _days(start), _days(end)

    def make(index: int) -> _Part:
        first = index * size
        chunk = simulate_chunk(
            w,
            seed=seed,
            chunk=index,
            n=min(size, n_pathways - first),
            first_index=first,
            start=s,
            end=e,
            plan_practice=plan,
            eval_practice=evaluation,
        )
        truth = truth_frame(raw_frame(w, chunk, seed), chunk) if with_truth else None
        injected = inject_errors(w, chunk, rate=error_rate, seed=seed, chunk_index=index, end=e)
        raw = raw_frame(w, injected.chunk, seed)
        return _Part(
            raw=raw,
            truth=truth,
            errors=injected.errors,
            pathways=int((chunk.rows.event == EVENTS.index("A")).sum()),
            drawn=first + chunk.n,
            payload=convert(raw) if convert is not None else None,
        )

    n_chunks = -(-n_pathways // size)
    if workers <= 1 or n_chunks == 1:
        yield from (make(i) for i in range(n_chunks))
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[_Part]] = deque()
        for index in range(n_chunks):
            pending.append(pool.submit(make, index))
            if len(pending) > workers:  # bounded look-ahead: memory stays a few chunks
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def generate(
    n_pathways: int,
    *,
    seed: int = 0,
    start: dt.date = dt.date(2019, 1, 1),
    end: dt.date = dt.date(2024, 12, 31),
    error_rate: float = 0.0,
    edition: str = "2024",
    chunk_pathways: int = DEFAULT_CHUNK,
) -> SyntheticExtract:
    """Generate a synthetic extract in memory.

    Args:
        n_pathways: Pathway instances to draw. Instances whose start would fall after ``end``
            (the second of a transfer, repeat or switch pair) are not in the output.
        seed: Seed of the random streams; the same arguments give the same extract.
        start: Earliest start (A) date; regions start later (domain/codes.md §7).
        end: End of the extract: later registrations are cut off, so some pathways are open.
        error_rate: Expected injected registration errors per registration (0 to 0.5).
        edition: Code catalogue edition whose codes may be used (``"2019"`` has no H).
        chunk_pathways: Instances per chunk; part of the random design, so a different value
            gives different (equally valid) data.

    Returns:
        Events, truth pathway table and injected errors.

    Raises:
        ConfigurationError: If an argument is out of range.

    Examples:
        >>> ex = generate(200, seed=1)
        >>> ex.events.columns[:4]
        ['patient_id', 'institution_id', 'event_date', 'code']
        >>> ex.truth.height <= 200, ex.errors.height
        (True, 0)
    """
    _check(n_pathways, seed, start, end, error_rate, chunk_pathways)
    events: list[pl.DataFrame] = []
    truths: list[pl.DataFrame] = []
    errors: list[pl.DataFrame] = []
    offset = 1
    for part in _parts(
        n_pathways,
        seed=seed,
        start=start,
        end=end,
        error_rate=error_rate,
        edition=edition,
        chunk_pathways=chunk_pathways,
        with_truth=True,
    ):
        events.append(canonical_events(part.raw, offset))
        errors.append(error_notes(part.errors, offset))
        if part.truth is not None:
            truths.append(part.truth)
        offset += part.raw.height
    all_events = pl.concat(events)
    # as build_pathways would build them: as of the latest registration
    latest = all_events["event_date"].max() if all_events.height else None
    return SyntheticExtract(
        events=all_events,
        truth=pl.concat(truths).with_columns(pl.lit(latest, dtype=pl.Date).alias("reference_date")),
        errors=pl.concat(errors).sort("source_row").cast(dict(_ERRORS_SCHEMA)),  # type: ignore[arg-type]
    )


def _wire(
    raw: pl.DataFrame,
    *,
    layout: Layout,
    dialect: Dialect,
    fmt: Format,
    text_dates: bool,
    strata: bool = True,
) -> pl.DataFrame:
    """The columns as written: names, codings and date text of the dialect, the layout's codes."""
    npr = dialect == "npr"
    date_format = "%d.%m.%Y" if npr and fmt == "csv" else "%Y-%m-%d"
    if text_dates:
        patterns = BAD_DATE_PATTERNS["npr" if date_format.startswith("%d") else "iso"]
        year = pl.col("_true_date").dt.year().cast(pl.String)
        bad = pl.col("_bad_date")
        garbage: pl.Expr = pl.lit(None, dtype=pl.String)
        for i, pattern in reversed(list(enumerate(patterns, start=1))):
            head, _, tail = pattern.partition("{y}")
            text = (
                pl.concat_str(pl.lit(head), year, pl.lit(tail))
                if "{y}" in pattern
                else pl.lit(pattern)
            )
            garbage = pl.when(bad == i).then(text).otherwise(garbage)
        date = (
            pl.when(bad > 0).then(garbage).otherwise(pl.col("event_date").dt.to_string(date_format))
        )
    else:
        date = pl.col("event_date")
    codes = ["code"] if layout == "combined" else ["pathway_type", "event", "outcome"]
    care = pl.col("care_level")
    sex = pl.col("sex")
    if npr:
        # register codings: omsorgsniva 1 døgn, 2 dag, 3 poliklinikk; kjonn 1, 2, 9 (unknown)
        care = care.to_physical().cast(pl.Int8) + 1  # CARE_LEVEL order: inpatient, day, outpatient
        sex = sex.to_physical().replace_strict({0: 1, 1: 2, 2: 9}, return_dtype=pl.Int8)
    trusts = ["health_trust", "health_region"] if strata else []
    residence = ["residence_trust", "residence_region"] if strata else []
    out = raw.select(
        "patient_id",
        "institution_id",
        date.alias("event_date"),
        *codes,
        care.alias("care_level"),
        *trusts,
        "municipality",
        *residence,
        sex.alias("sex"),
        "birth_year",
        "age",
    )
    return out.rename(NPR_NAMES, strict=False) if npr else out


def _atomic_or_none(path: Path | None) -> contextlib.AbstractContextManager[Path | None]:
    return atomic_output(path) if path is not None else contextlib.nullcontext()


def _parquet_writer(sink: object, schema: object) -> pq.ParquetWriter:
    """A Parquet writer for the chunks' Arrow schema.

    zstd; dictionary pages for the coded text columns; statistics for dates and numbers only (the
    cheap and useful ones); the Arrow schema is not stored, so enum columns read back as text.
    """
    names = list(schema.names)  # type: ignore[attr-defined]
    return pq.ParquetWriter(
        sink,
        schema,
        compression="zstd",
        use_dictionary=[n for n in names if n not in _HIGH_CARDINALITY],
        write_statistics=[n for n in names if n in _WITH_STATISTICS],
        store_schema=False,
    )


def write_synthetic(
    path: str | Path,
    n_pathways: int,
    *,
    seed: int = 0,
    layout: Layout = "combined",
    fmt: Format | None = None,
    dialect: Dialect = "canonical",
    error_rate: float = 0.0,
    start: dt.date = dt.date(2019, 1, 1),
    end: dt.date = dt.date(2024, 12, 31),
    edition: str = "2024",
    chunk_pathways: int = DEFAULT_CHUNK,
    strata: bool = True,
    truth_path: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WriteSummary:
    r"""Stream a synthetic extract to a Parquet or CSV file, chunk by chunk.

    Args:
        path: The output file.
        n_pathways: Pathway instances to draw (see :func:`generate`).
        seed: Seed; the same arguments give a byte-identical file.
        layout: ``combined`` (one code column) or ``split`` (type, event, outcome columns).
        fmt: ``parquet`` or ``csv``; by default from the file suffix (``.csv`` → CSV, else
            Parquet).
        dialect: ``canonical`` names or register-style ``npr`` names and codings.
        error_rate: Expected injected errors per registration; when above 0 the ground truth is
            written to :func:`errors_path_for` ``(path)`` (when 0, an old file there is removed).
        start: Earliest start date.
        end: End of the extract.
        edition: Code catalogue edition whose codes may be used.
        chunk_pathways: Instances per chunk (bounded memory; part of the random design).
        strata: Write the treating and residence trust and region columns. They follow from
            the institution and the municipality, so a leaner, register-like file leaves them
            out (then they are empty when read back).
        truth_path: If given, the truth pathway table is also written there (Parquet).
        progress: Called after each chunk with (rows written, instances drawn) so far.

    Returns:
        Rows, pathways (instances in the output), injected errors and the paths written.

    Raises:
        ConfigurationError: If an argument is out of range or the format is unknown.

    Examples:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> s = write_synthetic(out, 50, seed=3, dialect="npr", error_rate=0.05)
        >>> out.read_bytes().split(b"\\n")[0].decode("cp1252")[:30]
        'NPRId;institusjonId;dato;kode;'
        >>> s.errors_path.name, s.errors > 0
        ('x.errors.csv', True)
    """
    out = Path(path)
    kind = fmt or ("csv" if out.suffix.lower() == ".csv" else "parquet")
    if kind not in ("parquet", "csv"):
        msg = f"unknown format {kind!r}; expected parquet or csv"
        raise ConfigurationError(msg)
    if layout not in ("combined", "split"):
        msg = f"unknown layout {layout!r}; expected combined or split"
        raise ConfigurationError(msg)
    if dialect not in ("canonical", "npr"):
        msg = f"unknown dialect {dialect!r}; expected canonical or npr"
        raise ConfigurationError(msg)
    _check(n_pathways, seed, start, end, error_rate, chunk_pathways)
    text_dates = kind == "csv" or error_rate > 0
    rows = pathways = 0
    writer: pq.ParquetWriter | None = None
    truth_writer: pq.ParquetWriter | None = None
    first_row = 1 if kind == "parquet" else 2  # CSV: the header is line 1
    encoding = "cp1252" if (kind == "csv" and dialect == "npr") else "utf-8"
    separator = ";" if dialect == "npr" else ","

    def convert(raw: pl.DataFrame) -> tuple[list[str], object]:
        # Runs in the worker threads: the file's columns, and the chunk as Arrow or CSV bytes.
        wire = _wire(
            raw, layout=layout, dialect=dialect, fmt=kind, text_dates=text_dates, strata=strata
        )
        if kind == "csv":
            body = wire.write_csv(separator=separator, include_header=False)
            return wire.columns, body.encode(encoding)
        return wire.columns, wire.to_arrow()

    errors_path = errors_path_for(out) if error_rate > 0 else None
    if errors_path is None:
        # a ground truth from an earlier run must not sit next to a file it does not describe
        errors_path_for(out).unlink(missing_ok=True)
    n_errors = 0
    # every file is written beside its target and renamed when complete (pakkeforlop.files)
    with (
        atomic_output(out) as out_temp,
        _atomic_or_none(errors_path) as errors_temp,
        _atomic_or_none(Path(truth_path) if truth_path is not None else None) as truth_temp,
        out_temp.open("wb") as handle,
        errors_temp.open("wb") if errors_temp is not None else contextlib.nullcontext() as listing,
    ):
        if listing is not None:
            listing.write(b"source_row,rule_id,note\n")
        try:
            for part in _parts(
                n_pathways,
                seed=seed,
                start=start,
                end=end,
                error_rate=error_rate,
                edition=edition,
                chunk_pathways=chunk_pathways,
                with_truth=truth_path is not None,
                convert=convert,
            ):
                columns, payload = cast("tuple[list[str], Any]", part.payload)
                if kind == "csv":
                    if rows == 0:
                        handle.write((separator.join(columns) + "\n").encode(encoding))
                    handle.write(payload)
                else:
                    if writer is None:
                        writer = _parquet_writer(handle, payload.schema)
                    writer.write_table(payload, row_group_size=_ROW_GROUP)
                if part.truth is not None and truth_path is not None:
                    t_table = part.truth.to_arrow()
                    if truth_writer is None:
                        truth_writer = pq.ParquetWriter(
                            str(truth_temp), t_table.schema, compression="zstd"
                        )
                    truth_writer.write_table(t_table, row_group_size=_ROW_GROUP)
                pathways += part.pathways
                if listing is not None:  # chunks come in order, so sorting each sorts all
                    listed = error_notes(part.errors, first_row + rows).sort("source_row")
                    listing.write(listed.write_csv(include_header=False).encode("utf-8"))
                    n_errors += listed.height
                rows += part.raw.height
                if progress is not None:
                    progress(rows, part.drawn)
        finally:
            if writer is not None:
                writer.close()
            if truth_writer is not None:
                truth_writer.close()
    return WriteSummary(
        path=out, rows=rows, pathways=pathways, errors=n_errors, errors_path=errors_path
    )
