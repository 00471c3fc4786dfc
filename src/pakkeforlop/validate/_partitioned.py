"""Validating an extract one patient partition at a time (bounded memory, same report).

Every finding but two lives inside one patient — reader findings, duplicates, the timeline's
register checks and ``open_too_long`` — so each partition is checked on its own. The two
institution-level rules are computed from what adds up across partitions: closed treatment
pathways counted per institution for ``unit_never_registers``, and registrations counted per
institution and date for ``unit_sudden_drop``. See docs/distributed.md for why patient
partitions are exact.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl

from pakkeforlop.codes import DEFAULT_EDITION, load_catalogue
from pakkeforlop.findings import empty_findings
from pakkeforlop.io._sources import SourceLike
from pakkeforlop.io.read import ColumnsLike
from pakkeforlop.partition import partition_extract, partition_pathways
from pakkeforlop.schema import FINDINGS_SCHEMA
from pakkeforlop.validate._checks import (
    open_too_long,
    unit_never_registers_from_counts,
    unit_sudden_drop,
    unit_treatment_counts,
)
from pakkeforlop.validate._report import ValidationReport, conform
from pakkeforlop.validate._run import _check_decision, build_report, thresholds_from

__all__ = ["validate_partitioned"]


def validate_partitioned(
    source: SourceLike,
    n_partitions: int,
    *,
    directory: str | Path | None = None,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    open_limit_days: int = 1095,
    unit_min_pathways: int = 20,
    unit_drop_share: float = 0.7,
    unit_drop_min_count: int = 50,
    fail_on: str = "error",
    max_error_rate: float | None = None,
    today: dt.date | None = None,
) -> ValidationReport:
    """:func:`pakkeforlop.validate` computed one patient partition at a time.

    The same findings and report as :func:`pakkeforlop.validate` on the whole extract, with
    memory for about one partition: the extract is written to ``n_partitions`` Parquet files by
    a hash of the patient id (:func:`pakkeforlop.partition.partition_extract`), each is checked on
    its own, and the institution-level rules run on counts added up over the partitions.

    Args:
        source: The extract (a file, folder, glob, list of files or a polars frame).
        n_partitions: Number of partitions (1 to 128).
        directory: Where to write the partitions (a temporary folder, removed after, if None).
        columns: Column mapping, as in :func:`pakkeforlop.read_extract`.
        as_of: The extract's reference date; later dates are findings.
        edition: Code catalogue edition.
        extension: Catalogue extension file with local codes.
        open_limit_days: ``open_too_long``: longest plausible time open, in days.
        unit_min_pathways: ``unit_never_registers``: fewest closed treatment pathways judged.
        unit_drop_share: ``unit_sudden_drop``: month-to-month fall counted as sudden (0–1].
        unit_drop_min_count: ``unit_sudden_drop``: fewest registrations in the earlier month.
        fail_on: ``"error"`` or ``"warning"``: the lowest severity that fails the run.
        max_error_rate: Pass anyway when at most this share of rows has failing findings.
        today: The date "the future" starts after (defaults to the system date; for tests).

    Returns:
        The :class:`ValidationReport`.

    Raises:
        ExtractError: If the extract cannot be read.
        MappingError: If a required column is missing or the mapping is invalid.
        ConfigurationError: If an option or ``n_partitions`` is out of range.
    """
    thresholds = thresholds_from(
        open_limit_days=open_limit_days,
        unit_min_pathways=unit_min_pathways,
        unit_drop_share=unit_drop_share,
        unit_drop_min_count=unit_drop_min_count,
    )
    _check_decision(fail_on, max_error_rate)
    now = today or dt.date.today()
    with tempfile.TemporaryDirectory(prefix="pakkeforlop-") as temp:
        folder = Path(directory) if directory is not None else Path(temp)
        # the reader checks dates against as_of, else today (as validate does)
        plan = partition_extract(
            source,
            folder,
            n_partitions,
            columns=columns,
            as_of=as_of if as_of is not None else now,
            edition=edition,
            extension=extension,
        )
        files = [f for i in range(plan.n_partitions) for f in plan.files(i)]
        # the pathways' reference date: as_of, else the latest event date not after today
        reference = as_of
        if reference is None and files:
            latest = (
                pl.scan_parquet(files)
                .filter(pl.col("event_date") <= now)
                .select(pl.col("event_date").max())
                .collect()
                .item()
            )
            reference = latest if isinstance(latest, dt.date) else None
        catalogue = load_catalogue(edition, extension=extension)
        parts: list[pl.DataFrame] = [
            empty_findings(),
            conform(pl.scan_parquet(plan.directory / "read_findings.parquet")).collect(),
        ]
        unit_counts: list[pl.DataFrame] = []
        registrations: list[pl.DataFrame] = []
        for index in range(plan.n_partitions):
            if not plan.files(index):
                continue
            part = partition_pathways(plan, index, as_of=reference, catalogue=catalogue)
            kept, duplicates, pathways = part.events, part.duplicates, part.pathways
            timeline_findings = part.timeline_findings
            parts += [conform(duplicates).collect(), conform(timeline_findings).collect()]
            if reference is not None:
                parts.append(
                    conform(
                        open_too_long(
                            pathways,
                            as_of=reference,
                            limit_days=thresholds.open_limit_days,
                            events=kept,
                        )
                    ).collect()
                )
            unit_counts.append(
                unit_treatment_counts(
                    pathways, treatment_outcomes=thresholds.treatment_outcomes
                ).collect()
            )
            registrations.append(
                kept.group_by("institution_id", "event_date").agg(
                    pl.len().cast(pl.Int64).alias("registrations")
                )
            )
            # let this partition go before the next is read (else two are held at once)
            del part, kept, duplicates, pathways, timeline_findings
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
    findings = pl.concat(parts, how="diagonal_relaxed").cast(FINDINGS_SCHEMA)
    return build_report(
        findings,
        rows_read=plan.info.rows_read or 0,
        source=", ".join(plan.info.sources),
        edition=catalogue.edition,
        as_of=reference,
        thresholds=thresholds,
        fail_on=fail_on,
        max_error_rate=max_error_rate,
    )
