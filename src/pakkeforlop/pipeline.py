"""The one place that runs source → events → pathways → indicators or a validation report.

Every path — the command line, the HTML report, a notebook's :func:`validate`, patient
partitions on disk and a Dask cluster — goes through the functions here, so the sequence, the
reference date and the row contract are written once (domain/extract-and-timeline.md §1, "One
reference date", "``--as-of D``", "Which rows feed the timeline"):

1. **read** (:func:`pakkeforlop.read_extract`): only *usable* registrations become events;
   every other row is excluded, counted by reason and reported by ``validate``;
2. **reference date**: ``as_of`` when given, else the latest date of a usable registration —
   the same for every part of a partitioned run;
3. **pathways** (:func:`pakkeforlop.build_pathways`) with that reference date, which the
   pathway table carries;
4. **indicators** (:func:`pakkeforlop.compute_indicators`) or the **validation report**.

:func:`run_indicators` and :func:`validate` choose between one piece and patient partitions
themselves (``partitions="auto"``: one piece up to
:data:`~pakkeforlop.partition.MAX_ROWS_IN_ONE_PIECE` registrations), and give the same result
either way. Partition tasks run through an :class:`Executor`: in this process by default, on a
Dask cluster with :class:`pakkeforlop.distributed.DaskExecutor`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, Protocol, TypeVar

import polars as pl

from pakkeforlop.codes import Catalogue, load_catalogue
from pakkeforlop.errors import ConfigurationError, ExtractError, checked
from pakkeforlop.findings import empty_findings
from pakkeforlop.indicators import IndicatorTable, combine_partials, compute_indicators
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.io.read import Extract, ReadInfo, read_extract
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.io.sources import SourceLike
from pakkeforlop.partition import (
    MAX_PARTITIONS,
    PartitionPlan,
    PartitionResult,
    combine,
    estimated_rows,
    partition_extract,
    partition_pathways,
    run_partition,
    suggest_partitions,
)
from pakkeforlop.schema import FINDINGS_SCHEMA
from pakkeforlop.timeline import Timeline, build_pathways, compiled
from pakkeforlop.validate import ValidationReport, build_report, thresholds_from, validate_events
from pakkeforlop.validate.checks import (
    no_usable_registrations,
    open_too_long,
    unit_never_registers_from_counts,
    unit_sudden_drop,
    unit_treatment_counts,
)
from pakkeforlop.validate.report import conform
from pakkeforlop.validate.settings import ValidationSettings

__all__ = [
    "Executor",
    "InProcess",
    "Partitions",
    "Prepared",
    "Progress",
    "choose_partitions",
    "indicator_table",
    "prepare",
    "run_indicators",
    "validate",
    "validation_report",
    "with_code_starts",
]

T = TypeVar("T")

#: How a run is split: ``"auto"`` (by the extract's size), a number of patient partitions, or
#: ``None`` / 1 for one piece.
Partitions = int | Literal["auto"] | None


class Progress(Protocol):
    """Where a run reports its phases (the CLI shows them on a terminal; the library is quiet)."""

    def phase(self, name: str) -> AbstractContextManager[None]:
        """A context around one phase of the run."""

    def note(self, text: str) -> None:
        """A line of detail (rows read, partitions)."""


class _Quiet:
    """The default :class:`Progress`: reports nothing."""

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield

    def note(self, text: str) -> None:
        return


class Executor(Protocol):
    """Runs a partitioned run's tasks: the partition pass once, then one task per partition."""

    def one(self, func: Callable[..., T], *args: Any) -> T:
        """Run one task and return its result."""

    def each(self, func: Callable[[int], T], items: Sequence[int]) -> list[T]:
        """Run ``func`` for every item (in any order, anywhere) and return the results in order."""


class InProcess:
    """The default :class:`Executor`: every task in this process, one after the other."""

    def one(self, func: Callable[..., T], *args: Any) -> T:
        """Run one task here."""
        return func(*args)

    def each(self, func: Callable[[int], T], items: Sequence[int]) -> list[T]:
        """Run the tasks here, one at a time (memory for one partition)."""
        return [func(i) for i in items]


def choose_partitions(source: SourceLike, partitions: Partitions) -> int:
    """The number of patient partitions a run uses (1: one piece).

    Args:
        source: The extract.
        partitions: ``"auto"`` (:func:`~pakkeforlop.partition.suggest_partitions`), a number,
            or ``None`` for one piece.

    Returns:
        1 to :data:`~pakkeforlop.partition.MAX_PARTITIONS`.

    Raises:
        ConfigurationError: If the number is out of range.

    Examples:
        >>> choose_partitions(pl.DataFrame({"a": [1]}), "auto"), choose_partitions("x", 4)
        (1, 4)
    """
    if partitions is None:
        return 1
    if partitions == "auto":
        return suggest_partitions(source)
    if not 1 <= partitions <= MAX_PARTITIONS:
        msg = f"partitions must be 1 to {MAX_PARTITIONS}, got {partitions}"
        raise ConfigurationError(msg)
    return partitions


class Prepared(NamedTuple):
    """An extract read and its pathways built, in one piece: what every output starts from."""

    extract: Extract
    """Usable events, read findings, run summary, excluded rows."""
    timeline: Timeline
    pathways: pl.DataFrame
    """One row per pathway instance, built with the extract's reference date."""
    findings: pl.DataFrame
    """The findings of the stages that feed the indicators: read (duplicates included) and
    timeline; counted in the indicator metadata."""
    catalogue: Catalogue


def prepare(
    source: SourceLike | Extract,
    read: ReadSettings | None = None,
    *,
    patient: str | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Read an extract and build its pathways with its reference date (one piece).

    Args:
        source: The extract (a file, folder, glob, list or polars frame), or an
            :class:`~pakkeforlop.Extract` already read with ``read``'s settings.
        read: How to read it (default settings when ``None``).
        patient: Build the pathways of this patient only (the extract's reference date still
            applies; ``extract.events`` then holds that patient's registrations).
        progress: Where to report the phases.

    Returns:
        A :class:`Prepared`.

    Raises:
        ExtractError: If the extract cannot be read.
        MappingError: If a required column is missing.
        CatalogueError: If the edition or extension is invalid.

    Examples:
        >>> raw = pl.DataFrame({"NPRId": ["p1", "p1"], "institusjonId": ["974", "974"],
        ...                     "dato": ["02.01.2024", "31.02.2024"], "kode": ["D11A", "D11M"]})
        >>> p = prepare(raw)
        >>> p.pathways["reference_date"].to_list(), p.extract.info.rows_excluded["bad_date"]
        ([datetime.date(2024, 1, 2)], 1)
    """
    settings = read or ReadSettings()
    shown = progress or _Quiet()
    warming = compiled.warm_up_in_background() if compiled.worth_it(_rows(source)) else None
    catalogue = load_catalogue(settings.edition, extension=settings.extension)
    if isinstance(source, Extract):
        extract = source
    else:
        with shown.phase(f"reading {_label(source)}"):
            extract = read_extract(
                source,
                columns=settings.columns,
                as_of=settings.as_of,
                edition=settings.edition,
                extension=settings.extension,
                today=settings.today,
            )
        shown.note(extract.info.conservation())
    if patient is not None:
        mine = pl.col("patient_id") == patient
        extract = extract._replace(
            events=extract.events.filter(mine),
            findings=extract.findings.filter(mine),
            excluded=extract.excluded.filter(mine),
        )
    if warming is not None and warming.is_alive():
        with shown.phase(compiled.WARM_UP_LABEL):
            warming.join()
    with shown.phase("building pathways"):
        timeline = build_pathways(
            extract.events,
            as_of=extract.info.reference_date,
            catalogue=catalogue,
            treatment_start=settings.treatment_start,
        )
        pathways, timeline_findings = pl.collect_all([timeline.pathways, timeline.findings])
    findings = pl.concat([extract.findings, timeline_findings], how="vertical_relaxed").cast(
        FINDINGS_SCHEMA
    )
    return Prepared(extract, timeline, pathways, findings, catalogue)


def _rows(source: SourceLike | Extract) -> int | None:
    """The registrations of a source, if cheaply known (the read reports a bad source)."""
    if isinstance(source, Extract):
        return source.events.height
    if isinstance(source, pl.LazyFrame):
        return None
    try:
        return estimated_rows(source)
    except ExtractError:
        return None


def _label(source: SourceLike | Extract) -> str:
    if isinstance(source, pl.DataFrame | pl.LazyFrame):
        return "the data frame"
    if isinstance(source, list | tuple):
        return f"{len(source)} files"
    return str(source)


def _run_summary(table: IndicatorTable, info: ReadInfo) -> IndicatorTable:
    """The indicator table with the read's run summary in its metadata."""
    meta = table.metadata.model_copy(
        update={
            "input_rows": info.rows_read,
            "rows_usable": info.rows_usable,
            "rows_excluded": info.rows_excluded or {},
            "duplicates_collapsed": info.duplicates_collapsed,
        }
    )
    return IndicatorTable.wrap(table, meta)


#: The event columns a stratum needs in the extract (one of them); the others are always there.
_STRATUM_SOURCES: Final[dict[str, tuple[str, ...]]] = {
    "health_trust": ("health_trust",),
    "health_region": ("health_region",),
    "municipality": ("municipality",),
    "residence_trust": ("residence_trust",),
    "residence_region": ("residence_region",),
    "sex": ("sex",),
    "age_group": ("age", "birth_year"),
    "care_level": ("care_level",),
}


def check_strata(info: ReadInfo, by: Sequence[str]) -> None:
    """Refuse a stratum the extract has no column for (it would be one "unknown" cell).

    Args:
        info: The reader's summary (which canonical columns each source has).
        by: The stratum dimensions asked for.

    Raises:
        ConfigurationError: Naming the stratum, what it needs and the columns the extract has.

    Examples:
        >>> from pakkeforlop import read_extract
        >>> raw = pl.DataFrame({"NPRId": ["p1"], "institusjonId": ["1"], "dato": ["2024-01-02"],
        ...                     "kode": ["D11A"]})
        >>> check_strata(read_extract(raw).info, ["health_region"])
        Traceback (most recent call last):
        ...
        pakkeforlop.errors.ConfigurationError: --by health_region: the extract has no ...
    """
    have = {c for mapping in info.mappings.values() for c in mapping}
    for dim in by:
        needs = _STRATUM_SOURCES.get(dim)
        if needs is None or have & set(needs):
            continue
        columns = ", ".join(
            sorted({s for mapping in info.mappings.values() for s in mapping.values()})
        )
        msg = (
            f"--by {dim}: the extract has no {' or '.join(needs)} column (every pathway would be"
            f" 'unknown'); its columns are {columns}"
        )
        raise ConfigurationError(msg)


def _require_usable(info: ReadInfo) -> None:
    """Stop when nothing can be computed: every row read was excluded (or none was read)."""
    if info.rows_usable:
        return
    excluded = info.rows_excluded or {}
    reasons = ", ".join(f"{k} {v:,}" for k, v in excluded.items() if v)
    read = info.rows_read or 0
    if not read:
        msg = f"nothing to compute: {', '.join(info.sources)} holds no registrations"
    else:
        why = f": {reasons}" if reasons else ""
        msg = (
            f"nothing to compute: {read:,} rows read, all excluded{why};"
            " pakkeforlop validate lists the findings"
        )
    raise ExtractError(msg)


def indicator_table(
    prepared: Prepared, settings: IndicatorSettings, *, check_by: bool = True
) -> IndicatorTable:
    """The indicator table of an extract already prepared (:func:`prepare`).

    Args:
        prepared: The extract and its pathways.
        settings: The indicator settings.
        check_by: Refuse a stratum the extract has no column for (:func:`check_strata`); the
            report's own breakdowns (health trusts for the funnel plots) pass ``False``.

    Returns:
        The :class:`~pakkeforlop.indicators.IndicatorTable`, its metadata holding the run
        summary (rows read, usable, excluded by reason, duplicates collapsed).

    Raises:
        ExtractError: If no registration is usable ("nothing to compute").
        ConfigurationError: If a stratum has no column in the extract.
    """
    if check_by:
        check_strata(prepared.extract.info, settings.by)
    _require_usable(prepared.extract.info)
    table = compute_indicators(
        prepared.pathways,
        settings=with_code_starts(settings, prepared.extract.info),
        catalogue=prepared.catalogue,
        reference_date=prepared.extract.info.reference_date,
        findings=prepared.findings,
    )
    return _run_summary(table, prepared.extract.info)


def run_indicators(
    source: SourceLike,
    read: ReadSettings | None = None,
    indicators: IndicatorSettings | None = None,
    *,
    partitions: Partitions = "auto",
    directory: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> IndicatorTable:
    """The indicator table of an extract, in one piece or in patient partitions.

    Both give the same table and metadata (every pathway lives inside one patient; counts add
    up and day quantiles come from merged histograms: see :mod:`pakkeforlop.partition`).

    Args:
        source: The extract (a file, folder, glob, list of files or polars frame).
        read: How to read it.
        indicators: The indicator settings.
        partitions: ``"auto"`` (default: one piece up to 12 million registrations), a number of
            patient partitions, or ``None`` for one piece.
        directory: Where partitions are written (a temporary folder, removed after, if None).
        executor: Where partition tasks run (this process by default; see
            :class:`pakkeforlop.distributed.DaskExecutor`).
        progress: Where to report the phases.

    Returns:
        The :class:`~pakkeforlop.indicators.IndicatorTable`.

    Raises:
        ExtractError: If the extract cannot be read.
        MappingError: If a required column is missing.
        ConfigurationError: For invalid settings (checked before the extract is read).

    Examples:
        >>> raw = pl.DataFrame({"NPRId": ["p1", "p1"], "institusjonId": ["974", "974"],
        ...                     "dato": ["02.01.2024", "09.01.2024"], "kode": ["D11A", "D11M"]})
        >>> s = IndicatorSettings(indicators=("waiting_days_to_first_attendance",), suppress=False)
        >>> one = run_indicators(raw, indicators=s)
        >>> two = run_indicators(raw, indicators=s, partitions=2)
        >>> one.equals(two), one.metadata == two.metadata, one["median_days"].to_list()
        (True, True, [7.0])
    """
    read = read or ReadSettings()
    settings = indicators or IndicatorSettings()
    shown = progress or _Quiet()
    catalogue = load_catalogue(read.edition, extension=read.extension)
    # settings are checked before the extract is read, not after
    combine_partials([], settings=settings, catalogue=catalogue)
    n = choose_partitions(source, partitions)
    if n == 1 and executor is None:
        prepared = prepare(source, read, progress=shown)
        with shown.phase("computing indicators"):
            return indicator_table(prepared, settings)
    shown.note(f"processing the extract in {n} patient partitions")
    run = executor or InProcess()
    with _partition_folder(directory) as folder:
        with shown.phase(f"writing {n} patient partitions"):
            plan = run.one(partition_extract, source, folder, n, read)
        check_strata(plan.info, settings.by)
        _require_usable(plan.info.model_copy(update={"rows_usable": plan.rows_partitioned}))
        settings = with_code_starts(settings, plan.info)
        with shown.phase(f"computing indicators in {n} partitions"):
            results = run.each(_PartitionTask(plan, settings), range(n))
            table = combine(results, plan, settings)
    return _run_summary(table, _combined_info(plan, results))


class _PartitionTask:
    """One partition's indicator task (a picklable callable, for remote executors)."""

    def __init__(self, plan: PartitionPlan, settings: IndicatorSettings) -> None:
        self.plan = plan
        self.settings = settings

    def __call__(self, index: int) -> PartitionResult:
        return run_partition(self.plan, index, self.settings)


def with_code_starts(settings: IndicatorSettings, info: ReadInfo) -> IndicatorSettings:
    """The settings with the starts of undated local codes taken from the extract.

    domain/indicators.md §3, "Codes not yet in force": a local code without a ``valid_from``
    starts with the first month the extract holds it. A start the caller set wins for its code;
    the others still come from the data.

    Examples:
        >>> info = ReadInfo(sources=(), formats=(), encodings={}, separators={}, mappings={},
        ...                 edition="2024", layouts=(), as_of=None,
        ...                 code_first_seen={"U-S": dt.date(2023, 3, 1)})
        >>> with_code_starts(IndicatorSettings(), info).code_starts
        {'U-S': datetime.date(2023, 3, 1)}
    """
    starts = {**info.code_first_seen, **(settings.code_starts or {})}
    return settings.model_copy(update={"code_starts": starts})


def _combined_info(plan: PartitionPlan, results: Sequence[PartitionResult]) -> ReadInfo:
    duplicates = sum(r.duplicates_collapsed for r in results)
    written = sum(r.rows_read for r in results)
    return plan.info.model_copy(
        update={"duplicates_collapsed": duplicates, "rows_usable": written - duplicates}
    )


@contextlib.contextmanager
def _partition_folder(directory: str | Path | None) -> Iterator[Path]:
    if directory is not None:
        yield Path(directory)
        return
    with tempfile.TemporaryDirectory(prefix="pakkeforlop-") as temp:
        yield Path(temp)


def validation_report(
    prepared: Prepared, settings: ValidationSettings | None = None
) -> ValidationReport:
    """The validation report of an extract already prepared (:func:`prepare`).

    Args:
        prepared: The extract and its pathways.
        settings: Thresholds and the exit decision.

    Returns:
        The :class:`~pakkeforlop.validate.ValidationReport`.
    """
    s = settings or ValidationSettings()
    info = prepared.extract.info
    thresholds = s.thresholds
    return validate_events(
        prepared.extract.events,
        prepared.extract.findings,
        rows_read=info.rows_read,
        source=", ".join(info.sources),
        as_of=info.reference_date,
        catalogue=prepared.catalogue,
        timeline=prepared.timeline,
        open_limit_days=thresholds.open_limit_days,
        unit_min_pathways=thresholds.unit_min_pathways,
        unit_drop_share=thresholds.unit_drop_share,
        unit_drop_min_count=thresholds.unit_drop_min_count,
        fail_on=s.fail_on,
        max_error_rate=s.max_error_rate,
        read_info=info,
    )


def validate(
    source: SourceLike,
    *,
    columns: Any = None,
    as_of: dt.date | None = None,
    edition: str | None = None,
    extension: str | Path | None = None,
    open_limit_days: int | None = None,
    unit_min_pathways: int | None = None,
    unit_drop_share: float | None = None,
    unit_drop_min_count: int | None = None,
    fail_on: str = "error",
    max_error_rate: float | None = None,
    today: dt.date | None = None,
    partitions: Partitions = "auto",
    read: ReadSettings | None = None,
    settings: ValidationSettings | None = None,
    progress: Progress | None = None,
) -> ValidationReport:
    """Validate an extract: read it, build its pathways, run every rule, gather one report.

    The findings are those of the reader (columns, types, dates, codes, duplicates, missing
    ids; domain/extract-and-timeline.md §1), of the timeline (the register's checks 208, 211,
    216, 221–225 of domain/codes.md §6, decision counts, orphans, ambiguous and superseded
    registrations) and of the validate stage (``open_too_long``, ``unit_never_registers``,
    ``unit_sudden_drop``). Rows that cannot feed the timeline (excluded: no patient, a bad or
    future date, an invalid code ...) carry an error finding each and are counted by reason in
    the report. Large extracts are checked in patient partitions: the same report.

    Args:
        source: A file (Parquet, CSV or Arrow IPC), a folder, a glob, a list of files, or a
            polars frame.
        columns: Column mapping (a mapping, a TOML file, or a dict canonical → source).
        as_of: The extract's reference date; later dates are findings (and excluded).
        edition: Code catalogue edition (``"2019"`` or ``"2024"``; default 2024).
        extension: Catalogue extension file with local codes.
        open_limit_days: ``open_too_long``: longest plausible time open, in days.
        unit_min_pathways: ``unit_never_registers``: fewest closed treatment pathways judged.
        unit_drop_share: ``unit_sudden_drop``: month-to-month fall counted as sudden (0–1].
        unit_drop_min_count: ``unit_sudden_drop``: fewest registrations in the earlier month.
        fail_on: ``"error"`` or ``"warning"``: the lowest severity that fails the run.
        max_error_rate: Pass anyway when at most this share of rows has failing findings.
        today: The date "the future" starts after (defaults to the system date; for tests).
        partitions: ``"auto"`` (default), a number of patient partitions, or ``None``.
        read: All read options as one :class:`~pakkeforlop.io.settings.ReadSettings` (instead of
            ``columns`` … ``today``).
        settings: All thresholds and the exit decision as one
            :class:`~pakkeforlop.validate.settings.ValidationSettings` (instead of the keywords).
        progress: Where to report the phases.

    Returns:
        The :class:`~pakkeforlop.validate.ValidationReport` (``exit_code`` 0 or 1).

    Raises:
        ExtractError: If the extract cannot be read.
        MappingError: If a required column is missing or the mapping is invalid.
        CatalogueError: If the edition or extension is invalid.
        ConfigurationError: If an option is out of range.

    Examples:
        >>> raw = pl.DataFrame(
        ...     {
        ...         "NPRId": ["p1", "p1", "p1"],
        ...         "institusjonId": ["974", "974", "974"],
        ...         "dato": ["02.01.2024", "09.01.2024", "31.02.2024"],
        ...         "kode": ["D11A", "D11M", "D11CP"],
        ...     }
        ... )
        >>> report = validate(raw)
        >>> report.rows_read, report.rows_with_errors, report.exit_code
        (3, 1, 1)
        >>> [(s.rule_id, s.count) for s in report.rules_with_findings()]
        [('bad_date', 1)]
    """
    if read is None:
        read_values: dict[str, Any] = {"columns": columns, "as_of": as_of, "today": today}
        read_values["extension"] = extension
        if edition is not None:
            read_values["edition"] = edition
        read = checked(ReadSettings, **read_values)
    if settings is None:
        thresholds = thresholds_from(
            open_limit_days=open_limit_days,
            unit_min_pathways=unit_min_pathways,
            unit_drop_share=unit_drop_share,
            unit_drop_min_count=unit_drop_min_count,
        )
        settings = checked(
            ValidationSettings,
            thresholds=thresholds,
            fail_on=fail_on,
            max_error_rate=max_error_rate,
        )
    shown = progress or _Quiet()
    n = choose_partitions(source, partitions)
    if n == 1:
        prepared = prepare(source, read, progress=shown)
        with shown.phase("checking the validation rules"):
            return validation_report(prepared, settings)
    shown.note(f"checking the extract in {n} patient partitions")
    return _validate_partitioned(source, read, settings, n, shown)


def _validate_partitioned(
    source: SourceLike,
    read: ReadSettings,
    settings: ValidationSettings,
    n_partitions: int,
    progress: Progress,
) -> ValidationReport:
    """:func:`validate` one patient partition at a time (bounded memory, the same report).

    Every finding but two lives inside one patient — reader findings, duplicates, the
    timeline's register checks and ``open_too_long`` — so each partition is checked on its own.
    The two institution-level rules are computed from what adds up across partitions: closed
    treatment pathways counted per institution for ``unit_never_registers``, and registrations
    counted per institution and date for ``unit_sudden_drop``.
    """
    thresholds = settings.thresholds
    catalogue = load_catalogue(read.edition, extension=read.extension)
    with _partition_folder(None) as folder:
        with progress.phase(f"writing {n_partitions} patient partitions"):
            plan = partition_extract(source, folder, n_partitions, read)
        reference = plan.reference_date
        parts: list[pl.DataFrame] = [
            empty_findings(),
            conform(pl.scan_parquet(plan.read_findings)).collect(),
        ]
        unit_counts: list[pl.DataFrame] = []
        registrations: list[pl.DataFrame] = []
        duplicates_collapsed = 0
        with progress.phase(f"checking {n_partitions} partitions"):
            for index in range(plan.n_partitions):
                if not plan.files(index):
                    continue
                part = partition_pathways(plan, index, catalogue=catalogue)
                duplicates_collapsed += part.duplicates.height
                parts += [
                    conform(part.duplicates).collect(),
                    conform(part.timeline_findings).collect(),
                ]
                if reference is not None:
                    parts.append(
                        conform(
                            open_too_long(
                                part.pathways,
                                as_of=reference,
                                limit_days=thresholds.open_limit_days,
                                events=part.events,
                            )
                        ).collect()
                    )
                unit_counts.append(
                    unit_treatment_counts(
                        part.pathways, treatment_outcomes=thresholds.treatment_outcomes
                    ).collect()
                )
                registrations.append(
                    part.events.group_by("institution_id", "event_date").agg(
                        pl.len().cast(pl.Int64).alias("registrations")
                    )
                )
                # let this partition go before the next is read (else two are held at once)
                del part
    if reference is not None and unit_counts:
        parts.append(
            conform(
                unit_never_registers_from_counts(
                    pl.concat(unit_counts), min_pathways=thresholds.unit_min_pathways
                )
            ).collect()
        )
        parts.append(
            conform(
                unit_sudden_drop(
                    pl.concat(registrations),
                    as_of=reference,
                    drop_share=thresholds.unit_drop_share,
                    min_count=thresholds.unit_drop_min_count,
                )
            ).collect()
        )
    if plan.rows_partitioned == 0:
        source = ", ".join(plan.info.sources)
        excluded = plan.info.rows_excluded or {}
        parts.append(
            conform(no_usable_registrations(source, plan.info.rows_read or 0, excluded)).collect()
        )
    findings = pl.concat(parts, how="diagonal_relaxed").cast(FINDINGS_SCHEMA)
    written = plan.rows_partitioned
    info = plan.info.model_copy(
        update={
            "duplicates_collapsed": duplicates_collapsed,
            "rows_usable": written - duplicates_collapsed,
        }
    )
    return build_report(
        findings,
        rows_read=plan.info.rows_read or 0,
        source=", ".join(plan.info.sources),
        edition=catalogue.edition,
        as_of=reference,
        thresholds=thresholds,
        fail_on=settings.fail_on,
        max_error_rate=settings.max_error_rate,
        read_info=info,
    )
