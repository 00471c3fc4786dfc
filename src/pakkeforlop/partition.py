"""Processing an extract partition by partition, with exactly the indicators of the whole.

Every pathway lives inside one patient (domain/extract-and-timeline.md §2), and so do exact
duplicates, parallel pathways and transfer chains. An extract split by a hash of ``patient_id``
can therefore be read, turned into pathways and counted one part at a time, and the parts'
partial results added up (:func:`pakkeforlop.indicators.combine_partials`) give exactly the
table of the whole extract. Memory then follows the largest part, not the extract.

Three steps, each usable on its own (a cluster runs the middle one on its workers; see
:mod:`pakkeforlop.distributed` and docs/distributed.md):

1. :func:`partition_extract` reads the extract once, streaming, and writes its usable events to
   ``n`` Parquet files by ``hash(patient_id) % n``, plus the read findings and the excluded rows;
   it fixes what must be the same for every part: the reference date.
2. :func:`run_partition` turns one part into pathways and partial indicator results.
3. :func:`combine` adds the parts' results into the indicator table, metadata included.

:func:`pakkeforlop.pipeline.run_indicators` runs the three (in this process, one part at a
time, or through any executor).

What keeps the result exact: exact duplicates share their patient, so each part collapses its own
(:func:`pakkeforlop.io.read.collapse_duplicates`; ``source_file`` and ``source_row`` travel with
the rows, so findings still name the user's file and row); every part uses the extract's
reference date, not its own latest date; counts add up and day quantiles are read off merged
histograms (:mod:`pakkeforlop.indicators.partials`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, NamedTuple

import polars as pl
from pydantic import BaseModel, ConfigDict

from pakkeforlop.codes import DEFAULT_EDITION, Catalogue, load_catalogue
from pakkeforlop.errors import ConfigurationError, ExtractError, checked
from pakkeforlop.indicators import IndicatorTable, combine_partials, compute_partials
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.io.firstseen import first_seen
from pakkeforlop.io.read import (
    EXCLUDED_SCHEMA,
    ColumnsLike,
    ReadInfo,
    collapse_duplicates,
    exclusion_counts,
    explain_read_failure,
    scan_rows,
)
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.io.sources import READ_ERRORS, SourceLike, expand, metadata_rows
from pakkeforlop.schema import CANONICAL_SCHEMA, FINDINGS_SCHEMA
from pakkeforlop.timeline import build_pathways

__all__ = [
    "MAX_PARTITIONS",
    "MAX_ROWS_IN_ONE_PIECE",
    "ROWS_PER_PARTITION",
    "PartitionPathways",
    "PartitionPlan",
    "PartitionResult",
    "combine",
    "estimated_rows",
    "partition_extract",
    "partition_key",
    "partition_pathways",
    "run_partition",
    "suggest_partitions",
]

#: Most partitions one pass writes: the writer holds a buffer per partition (style.md).
MAX_PARTITIONS: Final = 128

_EVENTS: Final = "events"
_READ_FINDINGS: Final = "read_findings.parquet"
_EXCLUDED: Final = "excluded.parquet"


class PartitionPlan(BaseModel):
    """An extract written as ``n`` patient partitions: where they are and what they share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: Path
    """Folder holding the partitions (``events/part-NNNN-*.parquet``) and the read findings."""
    n_partitions: int
    info: ReadInfo
    """The reader's summary: sources, mappings, ``rows_read``, ``rows_excluded`` and
    ``reference_date`` (``rows_usable`` and ``duplicates_collapsed`` are known once the
    partitions have been processed)."""
    reference_date: dt.date | None
    """The extract's reference date: ``as_of``, else the latest date of a usable registration;
    the pathways of every partition are built with it."""
    rows_partitioned: int
    """Usable registrations written to the partitions (exact duplicates still in)."""
    read_findings_by_severity: dict[str, int]
    """Counts of the read findings (exact duplicates are found per partition)."""
    edition: str
    extension: str | None = None
    treatment_start: str | None = None
    """The treatment-start rule every partition's pathways are built with (ReadSettings)."""

    @property
    def read_findings(self) -> Path:
        """The read findings of the whole extract (Parquet, without duplicate findings)."""
        return self.directory / _READ_FINDINGS

    @property
    def excluded(self) -> Path:
        """The excluded rows of the whole extract (Parquet, :data:`EXCLUDED_SCHEMA`)."""
        return self.directory / _EXCLUDED

    def files(self, index: int) -> list[Path]:
        """The Parquet files of one partition (none when it is empty).

        Args:
            index: The partition, from 0 to ``n_partitions - 1``.

        Returns:
            Paths, sorted.

        Raises:
            ConfigurationError: If the index is out of range.
        """
        if not 0 <= index < self.n_partitions:
            msg = f"partition {index} does not exist; expected 0 to {self.n_partitions - 1}"
            raise ConfigurationError(msg)
        return sorted((self.directory / _EVENTS).glob(f"part-{index:04d}-*.parquet"))


class PartitionResult(NamedTuple):
    """What one partition contributes: partial indicators, findings counts, row counts."""

    partials: pl.DataFrame
    """:func:`pakkeforlop.indicators.compute_partials` of the partition."""
    findings_by_severity: dict[str, int]
    """Duplicate and timeline findings of the partition, counted by severity."""
    rows_read: int
    """Rows of the extract in this partition (duplicates included)."""
    duplicates_collapsed: int
    findings: pl.DataFrame
    """The partition's duplicate and timeline findings when asked for (else empty)."""


def partition_key(n_partitions: int) -> pl.Expr:
    """The partition of each row: a 64-bit hash of ``patient_id`` modulo ``n_partitions``.

    Rows of one patient share it (rows without a patient id are excluded before partitioning).
    The hash is polars' (seed 0): stable for one polars version, which is all a run needs (the
    files are written once and read back).

    Args:
        n_partitions: Number of partitions.

    Returns:
        An unsigned integer expression.

    Examples:
        >>> df = pl.DataFrame({"patient_id": ["a", "b", "a"]})
        >>> keys = df.select(partition_key(4))["patient_id"].to_list()
        >>> keys[0] == keys[2], all(0 <= k < 4 for k in keys)
        (True, True)
    """
    return pl.col("patient_id").hash(seed=0) % n_partitions


#: Partition files are scratch space, written once and read once: a fast codec beats a small one.
_COMPRESSION: Final = "lz4"


def _write_partitions(
    rows: pl.LazyFrame,
    findings_of: Callable[[pl.DataFrame], pl.LazyFrame],
    folder: Path,
    directory: Path,
    n: int,
) -> None:
    """Stream the rows into ``part-NNNN-K.parquet``, then write the findings and excluded rows.

    One pass over the source normalises and checks every row: usable rows go to partitions
    ``0 … n - 1`` by patient, excluded rows to partition ``n`` (moved to the excluded file
    afterwards), each with ``__flagged`` (the row has a read finding). The findings are then
    built for the flagged rows only (:func:`pakkeforlop.io.read.scan_rows`): checking every row
    a second time for them cost a quarter of the partition pass.
    """
    usable = pl.col("__exclusion").is_null()
    keyed = rows.with_columns(
        pl.when(usable).then(partition_key(n)).otherwise(n).alias("_part"),
    )
    partition_by = getattr(pl, "PartitionBy", None)
    if partition_by is not None:
        # polars >= 2: one streaming sink splitting by key (unstable API; fallback below)
        sinks = [
            keyed.sink_parquet(
                partition_by(
                    folder,
                    key="_part",
                    include_key=False,
                    file_path_provider=lambda args: (
                        f"part-{args.partition_keys['_part'][0]:04d}"
                        f"-{args.index_in_partition}.parquet"
                    ),
                ),
                mkdir=True,
                lazy=True,
                compression=_COMPRESSION,
            )
        ]
    else:
        # polars 1.x: one filtered sink per partition, collected together (the scan is shared)
        folder.mkdir(parents=True, exist_ok=True)
        sinks = [
            keyed.filter(pl.col("_part") == i)
            .drop("_part")
            .sink_parquet(folder / f"part-{i:04d}-0.parquet", lazy=True, compression=_COMPRESSION)
            for i in range(n + 1)
        ]
    pl.collect_all(sinks)
    excluded_files = sorted(folder.glob(f"part-{n:04d}-*.parquet"))
    files = sorted(folder.glob("part-*.parquet"))
    flagged = (
        pl.scan_parquet(files).filter("__flagged").select("source_file", "source_row").collect()
        if files
        else pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.UInt64})
    )
    findings_of(flagged).sink_parquet(directory / _READ_FINDINGS)
    excluded = (
        pl.scan_parquet(excluded_files).select(
            "source_file", "source_row", "patient_id", pl.col("__exclusion").alias("reason")
        )
        if excluded_files
        else pl.LazyFrame(schema=EXCLUDED_SCHEMA)
    )
    excluded.cast(EXCLUDED_SCHEMA).sink_parquet(directory / _EXCLUDED)
    for path in excluded_files:
        path.unlink()


def partition_extract(
    source: SourceLike,
    directory: str | Path,
    n_partitions: int,
    read: ReadSettings | None = None,
    *,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
) -> PartitionPlan:
    """Write an extract's usable events as patient partitions, streaming.

    The extract is read lazily (:func:`pakkeforlop.io.read.scan_rows`, duplicates kept)
    and its usable rows split by :func:`partition_key` into Parquet files under
    ``directory/events``; the read findings go to ``directory/read_findings.parquet`` and the
    excluded rows to ``directory/excluded.parquet``. Exact duplicates stay in the files and are
    collapsed per partition by :func:`run_partition` (they share their patient). Then the files
    are scanned once for the row count and the reference date every part must share.

    Args:
        source: As in :func:`pakkeforlop.read_extract`: a file, folder, glob, list or frame.
        directory: Folder to write to (created; files of an earlier plan there are replaced).
        n_partitions: Number of partitions, 1 to :data:`MAX_PARTITIONS`. More partitions, less
            memory per part.
        read: All read options as one :class:`~pakkeforlop.io.settings.ReadSettings` (instead
            of ``columns`` … ``extension``).
        columns: Column mapping, as in :func:`pakkeforlop.read_extract`.
        as_of: The extract's reference date (default: the latest date of a usable registration).
        edition: Code catalogue edition.
        extension: Catalogue extension file with local codes.

    Returns:
        The :class:`PartitionPlan`.

    Raises:
        ConfigurationError: If ``n_partitions`` is out of range.
        ExtractError: If the extract cannot be read, or a source is listed twice.
        MappingError: If a required column is missing.

    Examples:
        >>> import tempfile
        >>> raw = pl.DataFrame(
        ...     {"NPRId": ["p1", "p2", "p1"], "institusjonId": ["974"] * 3,
        ...      "dato": ["02.01.2024", "03.01.2024", "02.01.2024"],
        ...      "kode": ["D11A", "D11A", "D11A"]}
        ... )
        >>> plan = partition_extract(raw, tempfile.mkdtemp(), 2)
        >>> plan.info.rows_read, plan.reference_date
        (3, datetime.date(2024, 1, 3))
        >>> sum(run_partition(plan, i).duplicates_collapsed for i in range(2))
        1
    """
    if not 1 <= n_partitions <= MAX_PARTITIONS:
        msg = f"n_partitions must be 1 to {MAX_PARTITIONS}, got {n_partitions}"
        raise ConfigurationError(msg)
    if read is None:
        read = checked(
            ReadSettings, columns=columns, as_of=as_of, edition=edition, extension=extension
        )
    folder = Path(directory)
    scanned = scan_rows(
        source,
        columns=read.columns,
        as_of=read.as_of,
        edition=read.edition,
        extension=read.extension,
        today=read.today,
    )
    sources = list(scanned.info.sources)
    if len(set(sources)) < len(sources):
        twice = next(s for s in sources if sources.count(s) > 1)
        msg = f"{twice}: this source is listed twice; give each file once"
        raise ConfigurationError(msg)
    events_dir = folder / _EVENTS
    if events_dir.exists():
        shutil.rmtree(events_dir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _write_partitions(scanned.rows, scanned.findings_of, events_dir, folder, n_partitions)
    except READ_ERRORS as exc:
        raise ExtractError(explain_read_failure(source, exc)) from None
    files = sorted(events_dir.glob("part-*.parquet"))
    stats = (
        pl.scan_parquet(files).select(
            pl.len().alias("rows"), pl.col("event_date").max().alias("latest")
        )
        if files
        else pl.LazyFrame(
            {"rows": [0], "latest": [None]}, schema={"rows": pl.UInt32, "latest": pl.Date}
        )
    )
    counted = (
        pl.scan_parquet(folder / _READ_FINDINGS)
        .group_by(pl.col("severity").cast(pl.String))
        .agg(pl.len())
    )
    row, by_severity, excluded = pl.collect_all(
        [stats, counted, pl.scan_parquet(folder / _EXCLUDED).cast(EXCLUDED_SCHEMA)]
    )
    rows = int(row["rows"].item())
    latest = row["latest"].item()
    reference = read.as_of if read.as_of is not None else latest
    return PartitionPlan(
        directory=folder,
        n_partitions=n_partitions,
        info=scanned.info.model_copy(
            update={
                "rows_read": rows + excluded.height,
                "rows_excluded": exclusion_counts(excluded),
                "reference_date": reference,
                "code_first_seen": first_seen(
                    pl.scan_parquet(files), load_catalogue(read.edition, extension=read.extension)
                )
                if files
                else {},
            }
        ),
        reference_date=reference,
        rows_partitioned=rows,
        read_findings_by_severity=dict(
            zip(by_severity["severity"].to_list(), by_severity["len"].to_list(), strict=True)
        ),
        edition=read.edition,
        extension=str(read.extension) if read.extension is not None else None,
        treatment_start=read.treatment_start,
    )


def _severity_counts(findings: pl.DataFrame) -> dict[str, int]:
    counted = findings.group_by(pl.col("severity").cast(pl.String)).agg(pl.len())
    return dict(zip(counted["severity"].to_list(), counted["len"].to_list(), strict=True))


class PartitionPathways(NamedTuple):
    """One partition read, its duplicates collapsed and its pathways built."""

    rows_read: int
    events: pl.DataFrame
    """The partition's events with exact duplicates collapsed (canonical schema)."""
    duplicates: pl.DataFrame
    """``duplicate_registration`` findings of the rows collapsed."""
    pathways: pl.DataFrame
    timeline_findings: pl.DataFrame


def partition_pathways(
    plan: PartitionPlan, index: int, *, catalogue: Catalogue
) -> PartitionPathways:
    """Read one partition, collapse its exact duplicates and build its pathways.

    The step every per-partition computation (indicator partials, validation) starts from;
    the pathways are built with the plan's reference date (the same for every partition).

    Args:
        plan: The plan from :func:`partition_extract`.
        index: Which partition (0 to ``plan.n_partitions - 1``).
        catalogue: The code catalogue.

    Returns:
        A :class:`PartitionPathways`.
    """
    files = plan.files(index)
    events = (
        pl.scan_parquet(files).select(CANONICAL_SCHEMA.names()).cast(CANONICAL_SCHEMA)
        if files
        else pl.LazyFrame(schema=CANONICAL_SCHEMA)
    ).collect()
    kept_lazy, duplicates_lazy = collapse_duplicates(events, plan.info.sources)
    kept, duplicates = pl.collect_all([kept_lazy, duplicates_lazy])
    rows = events.height
    del events
    timeline = build_pathways(
        kept,
        as_of=plan.reference_date,
        catalogue=catalogue,
        treatment_start=plan.treatment_start,
    )
    pathways, timeline_findings = pl.collect_all([timeline.pathways, timeline.findings])
    return PartitionPathways(rows, kept, duplicates, pathways, timeline_findings)


def run_partition(
    plan: PartitionPlan,
    index: int,
    settings: IndicatorSettings | None = None,
    *,
    keep_findings: bool = False,
) -> PartitionResult:
    """Pathways and partial indicator results of one partition.

    Reads the partition's files, collapses its exact duplicates, builds its pathways and
    computes its partials with the extract's reference date (so that the parts add up to the
    whole). Independent of every other partition: run them in any order, in any process that
    can read the plan's folder.

    Args:
        plan: The plan from :func:`partition_extract`.
        index: Which partition (0 to ``plan.n_partitions - 1``).
        settings: The indicator settings, the same for every part (defaults when ``None``).
        keep_findings: Return the partition's duplicate and timeline findings as well (they are
            always counted).

    Returns:
        A :class:`PartitionResult`.

    Raises:
        ConfigurationError: If the index is out of range or a setting is invalid.
    """
    catalogue = load_catalogue(plan.edition, extension=plan.extension)
    part = partition_pathways(plan, index, catalogue=catalogue)
    rows, duplicates, pathways = part.rows_read, part.duplicates, part.pathways
    timeline_findings = part.timeline_findings
    partials = compute_partials(
        pathways,
        catalogue=catalogue,
        reference_date=plan.reference_date,
        settings=settings or IndicatorSettings(),
    )
    findings = pl.concat([duplicates, timeline_findings], how="diagonal_relaxed").cast(
        FINDINGS_SCHEMA
    )
    return PartitionResult(
        partials=partials,
        findings_by_severity=_severity_counts(findings),
        rows_read=rows,
        duplicates_collapsed=duplicates.height,
        findings=findings if keep_findings else findings.clear(),
    )


def combine(
    results: Sequence[PartitionResult],
    plan: PartitionPlan,
    settings: IndicatorSettings | None = None,
) -> IndicatorTable:
    """Add the partitions' results into the indicator table of the whole extract.

    Args:
        results: One :class:`PartitionResult` per partition, in any order (every partition
            exactly once).
        plan: The plan the partitions came from.
        settings: The indicator settings the partitions were run with.

    Returns:
        The :class:`~pakkeforlop.indicators.IndicatorTable`, with the metadata of the whole
        extract (rows read, pathways, findings of every stage, reference date).

    Raises:
        ConfigurationError: If the results do not cover the extract's rows, or were computed
            with other settings.
    """
    rows = sum(r.rows_read for r in results)
    expected = plan.rows_partitioned
    if rows != expected:
        msg = (
            f"the partition results hold {rows} rows, the extract {expected};"
            " give every partition's result exactly once"
        )
        raise ConfigurationError(msg)
    counts = dict(plan.read_findings_by_severity)
    for r in results:
        for severity, n in r.findings_by_severity.items():
            counts[severity] = counts.get(severity, 0) + n
    return combine_partials(
        [r.partials for r in results],
        catalogue=load_catalogue(plan.edition, extension=plan.extension),
        input_rows=plan.info.rows_read,
        findings=counts,
        settings=settings or IndicatorSettings(),
    )


#: The largest extract (registrations) ``suggest_partitions`` leaves in one piece. Splitting costs
#: one more pass over the source (reading, normalising, writing the partitions), so it is paid
#: only when memory calls for it: in one piece, working memory grows by about 0.5 GB per million
#: registrations (10 M: indicators 4.8 GB, validate 5.7 GB; benchmarks/RESULTS.md).
MAX_ROWS_IN_ONE_PIECE: Final = 12_000_000

#: Registrations per partition that ``suggest_partitions`` aims at once an extract is split:
#: about 4 GB of working memory for validate, well under 8 GB with the partition writing pass.
ROWS_PER_PARTITION: Final = 6_000_000

#: Bytes per registration assumed for text files, whose row count is not in any header.
_CSV_BYTES_PER_ROW: Final = 60


def estimated_rows(source: SourceLike) -> int | None:
    """A cheap estimate of the registrations in an extract, without reading its rows.

    Parquet and Arrow files give their exact row count from metadata; CSV files are estimated
    from their size. ``None`` when the source is a list mixing what cannot be counted.

    Raises:
        ExtractError: If a file is missing or its metadata cannot be read (the file is named).

    Examples:
        >>> import polars as pl
        >>> estimated_rows(pl.DataFrame({"a": [1, 2, 3]}))
        3
    """
    if isinstance(source, pl.DataFrame):
        return source.height
    if isinstance(source, pl.LazyFrame):
        return None
    total = 0
    for label, path in expand(source):
        counted = metadata_rows(label, path)
        if counted is None:
            try:
                counted = path.stat().st_size // _CSV_BYTES_PER_ROW
            except OSError as exc:
                msg = f"{label}: cannot be read: {(exc.strerror or str(exc)).lower()}"
                raise ExtractError(msg) from None
        total += counted
    return total


def suggest_partitions(
    source: SourceLike,
    *,
    rows_per_partition: int = ROWS_PER_PARTITION,
    in_one_piece: int = MAX_ROWS_IN_ONE_PIECE,
) -> int:
    """How many patient partitions keep memory bounded for this extract (1: none needed).

    Args:
        source: The extract, as for :func:`partition_extract`.
        rows_per_partition: Registrations to aim at per partition.
        in_one_piece: The largest extract processed without splitting.

    Returns:
        1 up to ``in_one_piece`` registrations, else ``ceil(rows / rows_per_partition)``, at
        most :data:`MAX_PARTITIONS`.

    Examples:
        >>> import polars as pl
        >>> frame = pl.DataFrame({"a": range(10)})
        >>> suggest_partitions(frame, rows_per_partition=4, in_one_piece=9)
        3
        >>> suggest_partitions(frame, rows_per_partition=4, in_one_piece=10)
        1
    """
    rows = estimated_rows(source)
    if rows is None:
        return 1
    if rows <= in_one_piece:
        return 1
    return max(1, min(MAX_PARTITIONS, -(-rows // rows_per_partition)))
