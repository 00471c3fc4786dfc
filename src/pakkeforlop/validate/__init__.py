"""Validating extracts before delivery: every stage's findings gathered into one report.

:func:`pakkeforlop.validate` (in :mod:`pakkeforlop.pipeline`) reads an extract, builds its
pathways and runs the validate-stage rules; ``validate_events`` does the same for an event
table already in memory. The report
(:class:`ValidationReport`) summarises the findings by rule, gives the error rate and the exit
decision the CLI uses (0 clean or within ``max_error_rate``, 1 findings at or above ``fail_on``),
and writes the findings file (:func:`write_report`) or JUnit XML (:func:`junit_xml`).
See domain/codes.md §6 for the register's own checks.
"""

from __future__ import annotations

from pakkeforlop.validate.checks import (
    last_complete_month,
    open_too_long,
    start_rows,
    unit_never_registers,
    unit_sudden_drop,
    validate_stage_findings,
)
from pakkeforlop.validate.output import (
    FINDINGS_FILE_COLUMNS,
    JUNIT_MAX_FINDINGS,
    ReportFormat,
    findings_file,
    junit_xml,
    mask_ids,
    report_format,
    report_json,
    write_report,
)
from pakkeforlop.validate.report import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    FailOn,
    RuleSummary,
    ValidationReport,
    ValidationThresholds,
    at_or_above,
    summarise,
    summary_frame,
)
from pakkeforlop.validate.run import build_report, thresholds_from, validate_events
from pakkeforlop.validate.settings import ValidationSettings

__all__ = [
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "FINDINGS_FILE_COLUMNS",
    "JUNIT_MAX_FINDINGS",
    "FailOn",
    "ReportFormat",
    "RuleSummary",
    "ValidationReport",
    "ValidationSettings",
    "ValidationThresholds",
    "at_or_above",
    "build_report",
    "findings_file",
    "junit_xml",
    "last_complete_month",
    "mask_ids",
    "open_too_long",
    "report_format",
    "report_json",
    "start_rows",
    "summarise",
    "summary_frame",
    "thresholds_from",
    "unit_never_registers",
    "unit_sudden_drop",
    "validate_events",
    "validate_stage_findings",
    "write_report",
]
