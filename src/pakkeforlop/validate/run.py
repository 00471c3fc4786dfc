"""Running every stage's checks over an event table and gathering the findings into one report.

The source-level :func:`pakkeforlop.validate` (read, then this) is in :mod:`pakkeforlop.pipeline`.

See domain/codes.md §6 (the register's own checks) and domain/extract-and-timeline.md §1–§2
(reading and reconstruction findings).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pakkeforlop.codes import DEFAULT_EDITION, Catalogue, load_catalogue
from pakkeforlop.errors import ConfigurationError, checked
from pakkeforlop.findings import empty_findings
from pakkeforlop.io.read import ReadInfo
from pakkeforlop.timeline import Timeline, build_pathways
from pakkeforlop.validate.checks import no_usable_registrations, validate_stage_findings
from pakkeforlop.validate.report import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    FailOn,
    ValidationReport,
    ValidationThresholds,
    affected_rows,
    at_or_above,
    conform,
    severity_counts,
    summarise,
)

__all__ = ["build_report", "thresholds_from", "validate_events"]


def thresholds_from(
    *,
    open_limit_days: int | None = None,
    unit_min_pathways: int | None = None,
    unit_drop_share: float | None = None,
    unit_drop_min_count: int | None = None,
) -> ValidationThresholds:
    """Validate the limits of the validate-stage rules; ``None`` keeps the default.

    The defaults are data (``validate/data/thresholds.toml``, :class:`ValidationThresholds`).

    Raises:
        ConfigurationError: If a limit is out of range (named in the message).

    Examples:
        >>> limits = thresholds_from(unit_min_pathways=3)
        >>> limits.unit_min_pathways, limits.open_limit_days
        (3, 1095)
    """
    limits = {
        "open_limit_days": open_limit_days,
        "unit_min_pathways": unit_min_pathways,
        "unit_drop_share": unit_drop_share,
        "unit_drop_min_count": unit_drop_min_count,
    }
    return checked(ValidationThresholds, **{k: v for k, v in limits.items() if v is not None})


def _check_decision(fail_on: str, max_error_rate: float | None) -> FailOn:
    if max_error_rate is not None and not 0 <= max_error_rate <= 1:
        msg = f"invalid max_error_rate = {max_error_rate!r}: expected a share between 0 and 1"
        raise ConfigurationError(msg)
    if fail_on == "error":
        return "error"
    if fail_on == "warning":
        return "warning"
    msg = f"invalid fail_on = {fail_on!r}: expected 'error' or 'warning'"
    raise ConfigurationError(msg)


def build_report(
    findings: pl.DataFrame,
    *,
    rows_read: int,
    source: str = "<dataframe>",
    edition: str = DEFAULT_EDITION,
    as_of: dt.date | None = None,
    thresholds: ValidationThresholds | None = None,
    fail_on: str = "error",
    max_error_rate: float | None = None,
    read_info: ReadInfo | None = None,
) -> ValidationReport:
    """Summarise a findings table into a :class:`ValidationReport` with its exit decision.

    The *error rate* is the share of rows read that carry at least one error-level finding; the
    *failing rate* counts rows with a finding at or above ``fail_on`` instead. The run passes
    (exit code 0) when nothing at or above ``fail_on`` was found, or when the failing rate is at
    most ``max_error_rate``; otherwise it fails (exit code 1). Findings about a whole institution
    carry no row and never raise the rate.

    Args:
        findings: Findings from any stages (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`).
        rows_read: Rows read from the source (the denominator of the rates).
        source: What was validated, for the report.
        edition: The catalogue edition used, for the report.
        as_of: The reference date used, for the report.
        thresholds: The validate-stage limits used, for the report.
        fail_on: ``"error"`` (default) or ``"warning"``.
        max_error_rate: Tolerated failing rate, between 0 and 1; ``None`` tolerates nothing.
        read_info: The reader's run summary, for the usable and excluded counts.

    Returns:
        The report, holding ``findings`` (sorted by file, row and rule).

    Raises:
        ConfigurationError: If ``fail_on`` or ``max_error_rate`` is invalid.

    Examples:
        >>> from pakkeforlop.findings import finding_rows
        >>> bad = pl.LazyFrame({"source_file": ["x.csv"], "source_row": [7]})
        >>> f = finding_rows(bad, "bad_date", pl.lit("unparsable date")).collect()
        >>> r = build_report(f, rows_read=100)
        >>> r.error_rate, r.exit_code
        (0.01, 1)
        >>> build_report(f, rows_read=100, max_error_rate=0.01).exit_code
        0
    """
    decision = _check_decision(fail_on, max_error_rate)
    findings = (
        conform(findings)
        .sort("source_file", "source_row", "rule_id", nulls_last=True, maintain_order=True)
        .collect()
        .rechunk()
    )
    rows_with_errors = affected_rows(findings, at_or_above("error"))
    failing = findings.filter(at_or_above(decision))
    failing_rate = affected_rows(failing) / rows_read if rows_read else 0.0
    passed = failing.height == 0 or (max_error_rate is not None and failing_rate <= max_error_rate)
    return ValidationReport(
        source=source,
        rows_read=rows_read,
        edition=edition,
        as_of=as_of,
        thresholds=thresholds or ValidationThresholds(),
        fail_on=decision,
        max_error_rate=max_error_rate,
        summary=summarise(findings, rows_read=rows_read),
        counts=severity_counts(findings),
        rows_with_errors=rows_with_errors,
        error_rate=rows_with_errors / rows_read if rows_read else 0.0,
        failing_findings=failing.height,
        failing_rate=failing_rate,
        passed=passed,
        exit_code=EXIT_CLEAN if passed else EXIT_FINDINGS,
        rows_usable=read_info.rows_usable if read_info else None,
        rows_excluded=(read_info.rows_excluded or {}) if read_info else {},
        duplicates_collapsed=read_info.duplicates_collapsed if read_info else None,
        findings=findings,
    )


def _reference_date(events: pl.LazyFrame, as_of: dt.date | None) -> dt.date | None:
    """``as_of``, else the latest event date (the reader's events are the usable rows)."""
    if as_of is not None:
        return as_of
    latest = events.select(pl.col("event_date").max()).collect().item()
    return latest if isinstance(latest, dt.date) else None


def validate_events(
    events: pl.DataFrame | pl.LazyFrame,
    findings: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    rows_read: int | None = None,
    source: str = "<dataframe>",
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    catalogue: Catalogue | None = None,
    timeline: Timeline | None = None,
    open_limit_days: int | None = None,
    unit_min_pathways: int | None = None,
    unit_drop_share: float | None = None,
    unit_drop_min_count: int | None = None,
    fail_on: str = "error",
    max_error_rate: float | None = None,
    read_info: ReadInfo | None = None,
) -> ValidationReport:
    """Validate a canonical event table a notebook already holds.

    Builds the pathways (:func:`pakkeforlop.timeline.build_pathways`) unless ``timeline`` is
    given, adds the validate-stage rules (``open_too_long``, ``unit_never_registers``,
    ``unit_sudden_drop``) and gathers them with the reader's ``findings`` into one report.

    Args:
        events: The canonical event table (:data:`~pakkeforlop.schema.CANONICAL_SCHEMA`).
        findings: The reader's findings for these events, if any.
        rows_read: Rows in the source (defaults to the rows of ``events``).
        source: What is validated, for the report.
        as_of: The reference date; defaults to the latest event date.
        edition: Code catalogue edition (``"2019"`` or ``"2024"``).
        extension: Catalogue extension file with local codes.
        catalogue: An already loaded catalogue (wins over ``edition``/``extension``).
        timeline: The timeline already built from ``events`` (saves rebuilding it).
        open_limit_days: ``open_too_long``: longest plausible time open, in days (default
            from ``validate/data/thresholds.toml``, like the three below).
        unit_min_pathways: ``unit_never_registers``: fewest closed treatment pathways judged.
        unit_drop_share: ``unit_sudden_drop``: month-to-month fall counted as sudden (0–1].
        unit_drop_min_count: ``unit_sudden_drop``: fewest registrations in the earlier month.
        fail_on: ``"error"`` or ``"warning"``: the lowest severity that fails the run.
        max_error_rate: Pass anyway when at most this share of rows has failing findings.
        read_info: The reader's run summary (:attr:`pakkeforlop.Extract.info`), for the usable
            and excluded counts of the report.

    Returns:
        The :class:`ValidationReport`.

    Raises:
        ConfigurationError: If an option is out of range.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.schema import CANONICAL_SCHEMA
        >>> cols = ("patient_id", "institution_id", "event_date", "pathway_type", "event",
        ...         "outcome", "source_file", "source_row")
        >>> events = pl.DataFrame(
        ...     [("p1", "u1", dt.date(2023, 1, 2), "D11", "A", None, "x.csv", 2),
        ...      ("p1", "u1", dt.date(2023, 1, 9), "D11", "C", "I", "x.csv", 3)],
        ...     schema={c: CANONICAL_SCHEMA[c] for c in cols}, orient="row",
        ... )
        >>> report = validate_events(events)
        >>> report.exit_code, [s.rule_id for s in report.rules_with_findings()]
        (1, ['decision_without_attendance'])
        >>> report.findings.select("source_row", "npr_error").rows()
        [(3, 208)]
    """
    thresholds = thresholds_from(
        open_limit_days=open_limit_days,
        unit_min_pathways=unit_min_pathways,
        unit_drop_share=unit_drop_share,
        unit_drop_min_count=unit_drop_min_count,
    )
    _check_decision(fail_on, max_error_rate)
    cat = catalogue or load_catalogue(edition, extension=extension)
    lf = events.lazy()
    reference = _reference_date(lf, as_of)
    tl = timeline or build_pathways(lf, as_of=reference, catalogue=cat)
    parts: list[pl.LazyFrame] = [
        empty_findings().lazy(),
        conform(findings) if findings is not None else empty_findings().lazy(),
        conform(tl.findings),
    ]
    if reference is not None:
        parts.append(
            conform(
                validate_stage_findings(lf, tl.pathways, as_of=reference, thresholds=thresholds)
            )
        )
    usable = int(lf.select(pl.len()).collect().item())
    if rows_read is None:
        rows_read = usable
    if usable == 0:
        excluded = (read_info.rows_excluded or {}) if read_info is not None else {}
        parts.append(conform(no_usable_registrations(source, rows_read, excluded)))
    gathered = pl.concat(parts).collect()
    return build_report(
        gathered,
        rows_read=rows_read,
        source=source,
        edition=cat.edition,
        as_of=reference,
        thresholds=thresholds,
        fail_on=fail_on,
        max_error_rate=max_error_rate,
        read_info=read_info,
    )
