"""Reading registry extracts into the canonical event table, with a findings table.

:func:`read_extract` (eager) and :func:`scan_extract` (lazy) read Parquet, CSV or Arrow IPC files,
a folder, a glob or a list of them, or a polars frame, in either layout (combined code or split
type/event/outcome columns, mixed row by row), and return the canonical event table of
domain/extract-and-timeline.md §1 together with the read findings.

Whole-input problems (a missing or unreadable file, a missing required column) raise
:class:`~pakkeforlop.errors.ExtractError` or :class:`~pakkeforlop.errors.MappingError`; problems
with single rows become findings and the row is kept, flagged:

* ``source_row`` is the row as the user's editor counts it: for CSV the line number (the header is
  line 1), for Parquet, Arrow IPC and data frames the 1-based row. A CSV field in quotes that spans
  lines shifts the line numbers after it (the row count is right, the line number is not).
* Findings name file, row, the column as the user named it, the value and what was expected; they
  are listed by source, then row, with the ``duplicate_registration`` findings last.
* Only *usable* registrations are events (domain/extract-and-timeline.md §1, "Which rows feed
  the timeline"): a patient, an institution, a valid date (on or after 2019-01-01, on or before
  the reference date, and never after today) and a code valid for its type on its date. Every
  other row is *excluded*: it has an error finding saying why and is counted under one reason
  (:data:`~pakkeforlop.schema.EXCLUSION_REASONS`) in :attr:`ReadInfo.rows_excluded`; it never
  joins a pathway. Rows read = usable + excluded + duplicates collapsed.
* Exact duplicates among the usable rows are dropped from the events, keeping the first (lowest
  source, then row); each dropped row gets a ``duplicate_registration`` finding naming the row
  kept, and keeps any other findings of its own (they are about that source row).
* The reference date is ``as_of`` when given, else the latest date of a usable registration.
* Register codings: care level ``omsorgsniva`` 1/2/3 → inpatient/day/outpatient (also the
  words, English or Norwegian); sex ``kjonn`` 1/2/0/9 → male/female/unknown/unknown;
  ``ErMann`` 1/0 → male/female; municipality numbers of 3 digits get their leading 0 back
  [DERIVED]; birth year 1900–2100 and age 0–130 are the accepted ranges [DERIVED].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final, Literal, NamedTuple

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pakkeforlop.codes import DEFAULT_EDITION, load_catalogue
from pakkeforlop.errors import ConfigurationError, ExtractError, MappingError
from pakkeforlop.findings import empty_findings, finding_rows
from pakkeforlop.io.columns import ColumnMapping, load_mapping, resolve_columns
from pakkeforlop.io.csvfiles import TempDir
from pakkeforlop.io.firstseen import first_seen
from pakkeforlop.io.normalise import DUPLICATE_KEYS, CodeSets, normalise
from pakkeforlop.io.sources import (
    READ_ERRORS,
    ROW,
    Opened,
    SourceLike,
    expand,
    explain_failure,
    open_frame,
    open_source,
)
from pakkeforlop.schema import (
    CANONICAL_SCHEMA,
    EXCLUSION_REASON,
    EXCLUSION_REASONS,
    FINDINGS_SCHEMA,
)

__all__ = [
    "EXCLUDED_SCHEMA",
    "ColumnsLike",
    "Duplicates",
    "Extract",
    "LazyExtract",
    "ReadInfo",
    "ScannedRows",
    "collapse_duplicates",
    "conservation_line",
    "exclusion_counts",
    "explain_read_failure",
    "read_extract",
    "scan_extract",
    "scan_rows",
]

#: What ``columns=`` accepts: a mapping, the path of a mapping TOML file, or canonical → source.
ColumnsLike = ColumnMapping | str | Path | dict[str, str]

Layout = Literal["combined", "split"]

#: What :func:`scan_extract` does with exact duplicates: collapse them (the default) or keep them
#: for :func:`collapse_duplicates` to collapse later, e.g. per patient partition.
Duplicates = Literal["collapse", "keep"]

#: Rows per file are numbered below this; ``__order`` = file index × this + row.
_ROWS_PER_FILE = 1 << 40

#: The excluded registrations: where each is and why it was left out.
EXCLUDED_SCHEMA: Final = pl.Schema(
    {
        "source_file": pl.String(),
        "source_row": pl.UInt64(),
        "patient_id": pl.String(),
        "reason": EXCLUSION_REASON,
    }
)


class ReadInfo(BaseModel):
    """What the reader found out about an extract: a run summary.

    :func:`scan_extract` fills only what is known without reading the rows (sources, formats,
    encodings, separators, mappings, layouts from the columns, ``as_of``); the counts are then
    ``None``. :func:`read_extract` fills the counts and the reference date, and narrows ``layouts``
    to those the rows actually use.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[str, ...]
    """Each source as labelled in ``source_file`` (the path as given, or ``<dataframe>``)."""
    formats: tuple[str, ...]
    """Format of each source: ``csv``, ``parquet``, ``ipc`` or ``dataframe``."""
    encodings: dict[str, str]
    """Detected text encoding per CSV source (``utf-8`` or ``windows-1252``)."""
    separators: dict[str, str]
    """Detected field separator per CSV source."""
    mappings: dict[str, dict[str, str]]
    """Per source: canonical column → source column used."""
    edition: str
    """Catalogue edition the codes were checked against."""
    layouts: tuple[Layout, ...]
    """Layouts seen: ``combined`` (a combined code) and/or ``split`` (type/event/outcome)."""
    as_of: dt.date | None
    """The reference date given by the caller, if any."""
    today: dt.date | None = None
    """The run's date: without ``as_of``, registrations dated after it are excluded."""
    reference_date: dt.date | None = None
    """The reference date used: ``as_of``, else the latest date of a usable registration."""
    rows_read: int | None = None
    """Rows in all sources together."""
    rows_flagged: int | None = None
    """Source rows with at least one finding."""
    rows_usable: int | None = None
    """Registrations that feed the timeline (duplicates collapsed): the events."""
    rows_excluded: dict[str, int] | None = None
    """Rows left out of pathways and indicators, by reason (every reason listed, 0 included)."""
    duplicates_collapsed: int | None = None
    """Exact duplicate rows dropped from the events (each has a ``duplicate_registration``)."""
    code_first_seen: dict[str, dt.date] = Field(default_factory=dict)
    """Local codes without a ``valid_from``: the first month the extract holds each (its first
    day), which is when the indicators resting on them start (domain/indicators.md §3)."""

    def conservation(self) -> str:
        """The run summary's identity: rows read = usable + excluded (by reason) + duplicates.

        Returns:
            One line (:func:`conservation_line`).
        """
        return conservation_line(
            self.rows_read, self.rows_usable, self.rows_excluded, self.duplicates_collapsed
        )


def conservation_line(
    rows_read: int | None,
    rows_usable: int | None,
    rows_excluded: dict[str, int] | None,
    duplicates_collapsed: int | None,
) -> str:
    """The identity every run summary prints: rows read = usable + excluded + duplicates.

    domain/extract-and-timeline.md §1, "Which rows feed the timeline".

    Args:
        rows_read: Rows in all sources.
        rows_usable: Registrations that fed the timeline.
        rows_excluded: Rows left out, by reason.
        duplicates_collapsed: Exact duplicates collapsed.

    Returns:
        One line; reasons with no row are left out.

    Examples:
        >>> conservation_line(10, 7, {"bad_date": 1, "invalid_code": 1, "missing_code": 0}, 1)
        '10 rows read = 7 usable + 2 excluded (bad_date 1, invalid_code 1) + 1 duplicate collapsed'
    """
    excluded = rows_excluded or {}
    total = sum(excluded.values())
    reasons = ", ".join(f"{k} {v:,}" for k, v in excluded.items() if v)
    dup = duplicates_collapsed or 0
    return (
        f"{rows_read or 0:,} rows read = {rows_usable or 0:,} usable + {total:,} excluded"
        + (f" ({reasons})" if reasons else "")
        + f" + {dup:,} duplicate{'' if dup == 1 else 's'} collapsed"
    )


class Extract(NamedTuple):
    """An extract read eagerly: usable events, read findings, a run summary, excluded rows."""

    events: pl.DataFrame
    """The usable registrations (:data:`~pakkeforlop.schema.CANONICAL_SCHEMA`)."""
    findings: pl.DataFrame
    info: ReadInfo
    excluded: pl.DataFrame
    """Rows left out, with their reason (:data:`EXCLUDED_SCHEMA`)."""


class LazyExtract(NamedTuple):
    """An extract scanned lazily: canonical events, read findings and what is known up front.

    The frames share their sources; collect them together (``pl.collect_all``) to read once.
    """

    events: pl.LazyFrame
    """The usable registrations (rows dated after ``as_of``, or after today, are excluded)."""
    findings: pl.LazyFrame
    info: ReadInfo
    excluded: pl.LazyFrame
    """Rows left out, with their reason (:data:`EXCLUDED_SCHEMA`)."""


def _mapping(columns: ColumnsLike | None) -> ColumnMapping | None:
    """The caller's column mapping, validated (a TOML file is read here)."""
    if columns is None or isinstance(columns, ColumnMapping):
        return columns
    if isinstance(columns, dict):
        try:
            return ColumnMapping(columns=columns)
        except ValidationError as exc:
            msg = f"columns: {exc.errors()[0]['msg']}"
            raise MappingError(msg) from None
    return load_mapping(columns)


def _open(source: SourceLike, temp: TempDir) -> list[Opened]:
    if isinstance(source, pl.DataFrame | pl.LazyFrame):
        return [open_frame(source)]
    if isinstance(source, list | tuple) and any(
        isinstance(s, pl.DataFrame | pl.LazyFrame) for s in source
    ):
        msg = "source: a list may hold file paths only; pass a data frame on its own"
        raise ExtractError(msg)
    return [open_source(label, path, temp) for label, path in expand(source)]


class _Plan(NamedTuple):
    events: pl.LazyFrame
    """Every row before duplicates are dropped, with ``__order`` (file index and row) and
    ``__exclusion`` (why it is not usable, else null)."""
    findings: pl.LazyFrame
    """Row findings of every source (without ``duplicate_registration``)."""
    info: ReadInfo
    opened: list[Opened]
    findings_of: Callable[[pl.DataFrame], pl.LazyFrame]
    """The row findings of the given rows only (``source_file``, ``source_row``): the same
    plan on those rows, so only they are normalised again."""


def _scan(
    source: SourceLike,
    *,
    columns: ColumnsLike | None,
    as_of: dt.date | None,
    today: dt.date,
    edition: str,
    extension: str | Path | None,
    temp: TempDir,
) -> _Plan:
    """Build the lazy plans: events with ``__order``, row findings, and the info."""
    mapping = _mapping(columns)
    codes = CodeSets.of(load_catalogue(edition, extension=extension))
    opened = _open(source, temp)
    parts = []
    mappings: dict[str, dict[str, str]] = {}
    layouts: set[Layout] = set()
    for index, src in enumerate(opened):
        names = src.frame.collect_schema().names()
        resolved = resolve_columns(
            [n for n in names if not n.startswith("__")], mapping=mapping, source=src.label
        )
        mappings[src.label] = resolved
        if "code" in resolved:
            layouts.add("combined")
        if "event" in resolved:
            layouts.add("split")
        parts.append(
            normalise(
                src, resolved, codes, as_of=as_of, today=today, order_base=index * _ROWS_PER_FILE
            )
        )
    labels = [s.label for s in opened]
    info = ReadInfo(
        sources=tuple(labels),
        formats=tuple(s.format for s in opened),
        encodings={s.label: s.encoding for s in opened if s.encoding},
        separators={s.label: s.separator for s in opened if s.separator},
        mappings=mappings,
        edition=codes.edition,
        layouts=tuple(sorted(layouts)),
        as_of=as_of,
        today=today,
    )
    events = pl.concat([p.events for p in parts], how="vertical")

    def findings_of(rows: pl.DataFrame) -> pl.LazyFrame:
        subsets = []
        for index, src in enumerate(opened):
            wanted = rows.filter(pl.col("source_file") == src.label)["source_row"]
            if wanted.is_empty():
                continue
            mine = pl.col(ROW).cast(pl.UInt64).is_in(wanted.implode())
            subsets.append(
                normalise(
                    replace(src, frame=src.frame.filter(mine)),
                    mappings[src.label],
                    codes,
                    as_of=as_of,
                    today=today,
                    order_base=index * _ROWS_PER_FILE,
                ).findings
            )
        return pl.concat(subsets, how="vertical") if subsets else empty_findings().lazy()

    return _Plan(
        events=events,
        findings=pl.concat([p.findings for p in parts], how="vertical"),
        info=info,
        opened=opened,
        findings_of=findings_of,
    )


def _usable(events: pl.LazyFrame) -> pl.LazyFrame:
    """The usable rows of a normalised plan (no exclusion reason)."""
    return events.filter(pl.col("__exclusion").is_null())


def _excluded(events: pl.LazyFrame) -> pl.LazyFrame:
    """The excluded rows of a normalised plan, as :data:`EXCLUDED_SCHEMA`."""
    return events.filter(pl.col("__exclusion").is_not_null()).select(
        "source_file", "source_row", "patient_id", pl.col("__exclusion").alias("reason")
    )


def exclusion_counts(excluded: pl.DataFrame | pl.LazyFrame) -> dict[str, int]:
    """Excluded rows counted by reason, every reason listed (0 where none), in reason order.

    Args:
        excluded: Excluded rows (:data:`EXCLUDED_SCHEMA`), e.g. :attr:`Extract.excluded`.

    Returns:
        Reason → rows.

    Examples:
        >>> rows = pl.DataFrame({"reason": ["bad_date", "bad_date"]})
        >>> exclusion_counts(rows)["bad_date"], exclusion_counts(rows)["invalid_code"]
        (2, 0)
    """
    counted = excluded.lazy().group_by(pl.col("reason").cast(pl.String)).agg(pl.len()).collect()
    found = dict(zip(counted["reason"].to_list(), counted["len"].to_list(), strict=True))
    return {reason: int(found.get(reason, 0)) for reason in EXCLUSION_REASONS}


def explain_read_failure(source: SourceLike, exc: BaseException) -> str:
    """One line for a lazy read of ``source`` that failed while running, naming the file.

    For plans built by :func:`scan_extract` (the partition pass): the sources are opened again
    to find which one is broken (only on this failure path).

    Args:
        source: The extract, as given to :func:`scan_extract`.
        exc: What the run raised.

    Returns:
        The message.
    """
    temp = TempDir()
    try:
        return explain_failure(_open(source, temp), exc)
    except ExtractError as again:
        return str(again)
    finally:
        temp.cleanup()


def _duplicate_candidate() -> pl.Expr:
    """Whether a row can be a duplicate at all: it has a patient, institution, date and event."""
    return pl.all_horizontal(
        pl.col(k).is_not_null() for k in ("patient_id", "institution_id", "event_date", "event")
    )


def _with_first_of_duplicates(events: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``__first``: ``__order`` of the first row with the same duplicate key.

    Exact duplicates are the same patient, institution, date, type, event and outcome
    (domain/extract-and-timeline.md §1); rows missing a patient, institution, date or event are
    never duplicates, and a unique row is its own first. A window over the whole table; eager
    callers use :func:`_first_of_duplicates`, which gives the same column faster.
    """
    first = pl.col("__order").min().over(list(DUPLICATE_KEYS))
    return events.with_columns(
        pl.when(_duplicate_candidate()).then(first).otherwise(pl.col("__order")).alias("__first")
    )


def _key_hash() -> pl.Expr:
    """One 64-bit hash of a row's duplicate key (equal keys, equal hashes)."""
    return pl.struct(DUPLICATE_KEYS).hash()


def _first_of_duplicates(events: pl.DataFrame, *, usable_only: bool = False) -> pl.Series:
    """``__first`` of :func:`_with_first_of_duplicates`, computed eagerly and faster.

    A window over six columns (two of them text) hashes every row's whole key into a table the
    size of the extract. Duplicates are rare, so instead one 64-bit hash of the key is sorted to
    find the hash values seen more than once, and the exact window runs on those rows only.
    Rows with the same key have the same hash, so every group of exact duplicates lies whole
    among them: a hash collision only adds a row that the exact window then keeps apart. The
    result is therefore exact, whatever the hash.
    """
    order = events["__order"]
    keyed = _duplicate_candidate()
    if usable_only:  # duplicates are collapsed among the usable rows only
        keyed = keyed & pl.col("__exclusion").is_null()
    hashes = events.select(pl.when(keyed).then(_key_hash())).to_series()
    ordered = hashes.drop_nulls().sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.is_empty():
        return order.alias("__first")
    rows = hashes.is_in(repeated.implode()).fill_null(value=False).arg_true()
    candidates = events[rows].select(
        pl.col("__order").min().over(list(DUPLICATE_KEYS)).alias("__first")
    )
    return order.clone().scatter(rows, candidates["__first"]).alias("__first")


def _duplicate_findings(events: pl.LazyFrame, labels: list[str]) -> pl.LazyFrame:
    """``duplicate_registration`` on every dropped duplicate, naming the row that was kept."""
    dropped = events.filter(pl.col("__order") != pl.col("__first"))
    kept_file = (pl.col("__first") // _ROWS_PER_FILE).replace_strict(
        dict(enumerate(labels)), return_dtype=pl.String
    )
    kept_row = (pl.col("__first") % _ROWS_PER_FILE).cast(pl.String)
    message = pl.concat_str(
        pl.col("source_file"),
        pl.lit(" row "),
        pl.col("source_row").cast(pl.String),
        pl.lit(": '"),
        pl.col("code").fill_null(""),
        pl.lit("' on "),
        pl.col("event_date").cast(pl.String),
        pl.lit(" is an exact duplicate of "),
        kept_file,
        pl.lit(" row "),
        kept_row,
        pl.lit(
            " (same patient, institution, date, type, event and outcome); collapsed into that"
            " row, expected each registration once"
        ),
    )
    return finding_rows(dropped, "duplicate_registration", message, value=pl.col("code"))


def scan_extract(
    source: SourceLike,
    *,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    duplicates: Duplicates = "collapse",
    today: dt.date | None = None,
) -> LazyExtract:
    """Scan an extract lazily into the canonical event table and its read findings.

    File names, formats, encodings and columns are checked now; rows are read when the frames
    are collected. Windows-1252 CSV files are transcoded to temporary UTF-8 files now (one
    streaming pass); these stay until the interpreter exits, as the plans read them.

    Collapsing exact duplicates compares every row with all others (a window over the whole
    table), so the collapsed events cannot be streamed in bounded memory. Duplicates share their
    patient: with ``duplicates="keep"`` the events can be streamed, split by patient, and each
    part collapsed on its own by :func:`collapse_duplicates`, with the same result.

    Args:
        source: A file (Parquet, CSV or Arrow IPC), a folder, a glob, a list of files, or a
            polars DataFrame/LazyFrame.
        columns: Column mapping for names the built-in aliases do not cover: a
            :class:`~pakkeforlop.io.columns.ColumnMapping`, the path of a mapping TOML file, or
            a dict canonical → source column.
        as_of: The extract's reference date; later registrations are excluded (findings).
        edition: Catalogue edition to check codes against (``"2019"`` or ``"2024"``).
        extension: A catalogue extension file with local codes.
        duplicates: ``"collapse"`` (default): exact duplicates are dropped from the events, each
            with a ``duplicate_registration`` finding; ``"keep"``: every usable row stays in the
            events and the findings hold no ``duplicate_registration`` (collapse them with
            :func:`collapse_duplicates`).
        today: The run's date (default: the system date): without ``as_of``, registrations dated
            after it are excluded.

    Returns:
        A :class:`LazyExtract`: the usable events (exactly the canonical schema, exact
        duplicates collapsed unless kept), findings (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`),
        a :class:`ReadInfo` without counts, and the excluded rows.

    Raises:
        ExtractError: If a file is missing, unreadable or of an unsupported type.
        MappingError: If a required column is missing or the mapping is invalid.
        CatalogueError: If the edition or extension is invalid.

    Examples:
        >>> import polars as pl
        >>> raw = pl.DataFrame(
        ...     {"NPRId": ["p1"], "institusjonId": ["974"], "dato": ["02.01.2024"],
        ...      "kode": ["D11A"]}
        ... )
        >>> lazy = scan_extract(raw)
        >>> lazy.events.select("patient_id", "event_date", "pathway_type", "event").collect()
        shape: (1, 4)
        ┌────────────┬────────────┬──────────────┬───────┐
        │ patient_id ┆ event_date ┆ pathway_type ┆ event │
        │ ---        ┆ ---        ┆ ---          ┆ ---   │
        │ str        ┆ date       ┆ enum         ┆ enum  │
        ╞════════════╪════════════╪══════════════╪═══════╡
        │ p1         ┆ 2024-01-02 ┆ D11          ┆ A     │
        └────────────┴────────────┴──────────────┴───────┘
    """
    if duplicates not in ("collapse", "keep"):
        msg = f"duplicates: expected 'collapse' or 'keep', got {duplicates!r}"
        raise ConfigurationError(msg)
    rows, findings, info, _, _ = _scan(
        source,
        columns=columns,
        as_of=as_of,
        today=today or dt.date.today(),
        edition=edition,
        extension=extension,
        temp=TempDir(),
    )
    rows = rows.drop("__flagged")
    usable, excluded = _usable(rows), _excluded(rows)
    if duplicates == "keep":
        return LazyExtract(
            events=usable.select(CANONICAL_SCHEMA.names()),
            findings=findings,
            info=info,
            excluded=excluded,
        )
    events = _with_first_of_duplicates(usable)
    kept = events.filter(pl.col("__order") == pl.col("__first")).select(CANONICAL_SCHEMA.names())
    labels = list(info.sources)
    all_findings = pl.concat([findings, _duplicate_findings(events, labels)], how="vertical")
    return LazyExtract(events=kept, findings=all_findings, info=info, excluded=excluded)


class ScannedRows(NamedTuple):
    """Every row of an extract, lazily, and how to get the findings of some of them."""

    rows: pl.LazyFrame
    """Every row: the canonical columns, ``__exclusion`` (why it is not usable, else null) and
    ``__flagged`` (whether it has a read finding)."""
    info: ReadInfo
    findings_of: Callable[[pl.DataFrame], pl.LazyFrame]
    """The read findings of the given rows (``source_file``, ``source_row``): the extract is
    read again, but only those rows are normalised and checked."""


def scan_rows(
    source: SourceLike,
    *,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    today: dt.date | None = None,
) -> ScannedRows:
    """Scan an extract lazily into every row, flagged, for a single streaming pass over it.

    The partition pass (:func:`pakkeforlop.partition.partition_extract`) writes these rows in
    one pass and asks for the findings of the flagged ones afterwards, instead of checking every
    row a second time for its findings. Arguments as in :func:`scan_extract`.

    Examples:
        >>> raw = pl.DataFrame({"NPRId": ["p1", "p1"], "institusjonId": ["974", "974"],
        ...                     "dato": ["02.01.2024", "31.02.2024"], "kode": ["D11A", "D11M"]})
        >>> scanned = scan_rows(raw)
        >>> rows = scanned.rows.collect()
        >>> rows["__flagged"].to_list(), rows["__exclusion"].to_list()
        ([False, True], [None, 'bad_date'])
        >>> flagged = rows.filter("__flagged").select("source_file", "source_row")
        >>> scanned.findings_of(flagged).collect()["rule_id"].to_list()
        ['bad_date']
    """
    rows, _, info, _, findings_of = _scan(
        source,
        columns=columns,
        as_of=as_of,
        today=today or dt.date.today(),
        edition=edition,
        extension=extension,
        temp=TempDir(),
    )
    return ScannedRows(rows.drop("__order", "__from_code", "__from_split"), info, findings_of)


def collapse_duplicates(
    events: pl.DataFrame | pl.LazyFrame, sources: Sequence[str]
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Collapse exact duplicates in canonical events scanned with ``duplicates="keep"``.

    The same rule as :func:`scan_extract`: rows with the same patient, institution, date, type,
    event and outcome are collapsed into the first (lowest source, then row; see
    domain/extract-and-timeline.md §1), and every dropped row gets a ``duplicate_registration``
    finding naming the row kept. Duplicates share their patient, so the events may be any set of
    whole patients (a hash partition by ``patient_id``): each part collapses on its own exactly
    as the whole would.

    Args:
        events: Canonical events of one or more whole patients, with ``source_file`` and
            ``source_row`` as the reader set them.
        sources: The extract's sources in reading order (:attr:`ReadInfo.sources` of the scan),
            which orders rows across files.

    Returns:
        ``(events, findings)``: the kept events (canonical schema) and the
        ``duplicate_registration`` findings (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`),
        lazily.

    Raises:
        ExtractError: If a source is listed twice (rows of the two copies could not be told
            apart by file and row).

    Examples:
        >>> import polars as pl
        >>> raw = pl.DataFrame(
        ...     {"NPRId": ["p1", "p1"], "institusjonId": ["974", "974"],
        ...      "dato": ["02.01.2024", "02.01.2024"], "kode": ["D11A", "D11A"]}
        ... )
        >>> scanned = scan_extract(raw, duplicates="keep")
        >>> kept, found = collapse_duplicates(scanned.events, scanned.info.sources)
        >>> kept.collect()["source_row"].to_list(), found.collect()["source_row"].to_list()
        ([1], [2])
    """
    labels = list(sources)
    if len(set(labels)) < len(labels):
        twice = next(s for s in labels if labels.count(s) > 1)
        msg = f"{twice}: this source is listed twice; give each file once"
        raise ExtractError(msg)
    index = pl.col("source_file").replace_strict(
        {label: i for i, label in enumerate(labels)}, return_dtype=pl.UInt64
    )
    ordered = (
        events.lazy()
        .select(CANONICAL_SCHEMA.names())
        .with_columns((index * _ROWS_PER_FILE + pl.col("source_row")).alias("__order"))
    )
    if isinstance(events, pl.DataFrame):
        frame = ordered.collect()
        ordered = frame.with_columns(_first_of_duplicates(frame)).lazy()
    else:
        ordered = _with_first_of_duplicates(ordered)
    kept = ordered.filter(pl.col("__order") == pl.col("__first")).select(CANONICAL_SCHEMA.names())
    found = _duplicate_findings(ordered, labels).cast(FINDINGS_SCHEMA)
    return kept, found


def read_extract(
    source: SourceLike,
    *,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    today: dt.date | None = None,
) -> Extract:
    """Read an extract into the canonical event table, its read findings and a run summary.

    See domain/extract-and-timeline.md §1. Columns are matched by built-in aliases (ignoring
    case) or the ``columns`` mapping; CSV separator (``;``, ``,``, tab) and encoding (UTF-8 or
    Windows-1252) are detected; dates may be ``dd.mm.yyyy`` or ``yyyy-mm-dd``; register codings
    (``omsorgsniva`` 1/2/3, ``kjonn`` 1/2/0/9) are decoded. Row problems become findings naming
    file, row, column, value and what was expected; the row is kept. Exact duplicates are
    collapsed into the first (lowest file, then row).

    Args:
        source: A file (Parquet, CSV or Arrow IPC), a folder, a glob, a list of files, or a
            polars DataFrame/LazyFrame.
        columns: Column mapping for names the built-in aliases do not cover: a
            :class:`~pakkeforlop.io.columns.ColumnMapping`, the path of a mapping TOML file, or
            a dict canonical → source column.
        as_of: The extract's reference date; later registrations are excluded (findings).
            Defaults to the latest date of a usable registration (``info.reference_date``).
        edition: Catalogue edition to check codes against (``"2019"`` or ``"2024"``).
        extension: A catalogue extension file with local codes.
        today: The run's date (default: the system date): without ``as_of``, registrations dated
            after it are excluded.

    Returns:
        An :class:`Extract` of the usable events (exactly
        :data:`~pakkeforlop.schema.CANONICAL_SCHEMA`), findings
        (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`), :class:`ReadInfo` and the excluded rows.

    Raises:
        ExtractError: If a file is missing, unreadable or of an unsupported type.
        MappingError: If a required column is missing or the mapping is invalid.
        CatalogueError: If the edition or extension is invalid.

    Examples:
        >>> import polars as pl
        >>> raw = pl.DataFrame(
        ...     {
        ...         "NPRId": ["p1", "p1", "p1"],
        ...         "institusjonId": ["974", "974", "974"],
        ...         "dato": ["02.01.2024", "2024-01-09", "31.02.2024"],
        ...         "kode": ["D11A", "d11m", "D11CZ"],
        ...     }
        ... )
        >>> ex = read_extract(raw)
        >>> ex.events["event"].to_list()
        ['A', 'M']
        >>> ex.findings["rule_id"].to_list()
        ['bad_date', 'invalid_code']
        >>> print(ex.findings["message"][0])  # doctest: +NORMALIZE_WHITESPACE
        <dataframe> row 3, column 'dato': '31.02.2024' is not a date;
        expected dd.mm.yyyy or yyyy-mm-dd
        >>> ex.info.rows_read, ex.info.rows_flagged, ex.info.reference_date
        (3, 1, datetime.date(2024, 1, 9))
        >>> print(ex.info.conservation())
        3 rows read = 2 usable + 1 excluded (bad_date 1) + 0 duplicates collapsed
    """
    temp = TempDir()
    try:
        rows, findings, info, opened, _ = _scan(
            source,
            columns=columns,
            as_of=as_of,
            today=today or dt.date.today(),
            edition=edition,
            extension=extension,
            temp=temp,
        )
        try:
            # __flagged is for the partition pass (scan_rows); not computing it here saves a
            # tenth of the read
            all_rows, found = pl.collect_all([rows.drop("__flagged"), findings])
            rows_read = all_rows.height
            excluded = _excluded(all_rows.lazy()).collect()
            # duplicates among the usable rows (an excluded row is its own first)
            all_rows = all_rows.with_columns(_first_of_duplicates(all_rows, usable_only=True))
            duplicates = _duplicate_findings(all_rows.lazy(), list(info.sources)).collect()
        except READ_ERRORS as exc:
            raise ExtractError(explain_failure(opened, exc)) from None
    finally:
        temp.cleanup()
    found = pl.concat([found, duplicates], how="vertical")
    duplicate = all_rows["__order"] != all_rows["__first"]
    kept = all_rows.filter(~duplicate & all_rows["__exclusion"].is_null())
    del all_rows
    layouts: list[Layout] = []
    if kept.select(pl.col("__from_code").any()).item():
        layouts.append("combined")
    if kept.select(pl.col("__from_split").any()).item():
        layouts.append("split")
    kept = kept.select(CANONICAL_SCHEMA.names())
    latest = kept["event_date"].max()
    info = info.model_copy(
        update={
            "rows_read": rows_read,
            "rows_flagged": found.select(pl.struct("source_file", "source_row").n_unique()).item()
            if found.height
            else 0,
            "rows_usable": kept.height,
            "rows_excluded": exclusion_counts(excluded),
            "duplicates_collapsed": int(duplicate.sum()),
            "reference_date": as_of if as_of is not None else latest,
            "layouts": tuple(layouts) if layouts else info.layouts,
            "code_first_seen": first_seen(
                kept.lazy(), load_catalogue(edition, extension=extension)
            ),
        }
    )
    return Extract(events=kept, findings=found.cast(FINDINGS_SCHEMA), info=info, excluded=excluded)
