"""``pakkeforlop validate``: check an extract before delivery (issue 6); made for CI."""

from __future__ import annotations

import difflib
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from pakkeforlop.codes import DEFAULT_EDITION, editions
from pakkeforlop.files import check_writable
from pakkeforlop.findings import rules
from pakkeforlop.pipeline import validate
from pakkeforlop.validate import (
    JUNIT_MAX_FINDINGS,
    ValidationReport,
    ValidationThresholds,
    junit_xml,
    report_json,
    write_report,
)

from .common import (
    AsOfOption,
    ColumnsOption,
    EditionOption,
    ExtensionOption,
    OptionalExtractArgument,
    PartitionsOption,
    Progress,
    fail,
    guarded,
    out_console,
    partitions_choice,
)

#: The limits' defaults, from validate/data/thresholds.toml.
_LIMITS = ValidationThresholds()


class ValidateFormat(StrEnum):
    """Output formats of ``validate``."""

    table = "table"
    json = "json"
    csv = "csv"
    junit = "junit"


class FailOnLevel(StrEnum):
    """The lowest severity that fails the run."""

    error = "error"
    warning = "warning"


def _explain(rule_id: str) -> None:
    known = rules()
    wanted = rule_id.strip()
    if wanted.lower() == "all":
        chosen = list(known.values())
    elif wanted.isdigit():
        chosen = [r for r in known.values() if r.npr_error == int(wanted)]
    else:
        chosen = [known[wanted]] if wanted in known else []
    if not chosen:
        close = difflib.get_close_matches(wanted, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; '--explain all' lists every rule"
        raise fail(f"unknown rule {rule_id!r}{hint}")
    for r in chosen:
        npr = f", NPR error {r.npr_error}" if r.npr_error is not None else ""
        typer.echo(f"{r.id} ({r.severity}, {r.stage} stage{npr}): {r.explanation}")


def _short(location: str, source: str) -> str:
    """``9`` for ``<source>:9`` (the header line names the file), else as is."""
    prefix = f"{source}:"
    return location.removeprefix(prefix)


def _summary_table(report: ValidationReport, *, show_ids: bool) -> None:
    counts = report.counts
    out_console.print(
        f"{report.source}: {report.rows_read:,} rows read; "
        f"{counts['error']:,} errors, {counts['warning']:,} warnings, {counts['info']:,} info; "
        f"rows with errors: {report.rows_with_errors:,} ({100 * report.error_rate:.2f} %)",
        soft_wrap=True,
    )
    if report.rows_usable is not None:
        out_console.print(report.conservation(), soft_wrap=True)
    fired = report.rules_with_findings()
    if fired:
        table = Table(title="Findings by rule")
        for name in ("rule", "severity", "NPR", "count", "share", "example rows"):
            # Only the examples wrap; rule ids stay whole (users copy them into --explain).
            table.add_column(
                name,
                justify="right" if name in ("NPR", "count", "share") else "left",
                overflow="fold",
                no_wrap=name != "example rows",
            )
        for s in fired:
            cells = [
                s.rule_id,
                s.severity,
                "" if s.npr_error is None else str(s.npr_error),
                f"{s.count:,}",
                f"{100 * s.share:.2f} %",
                ", ".join(_short(e, report.source) for e in s.examples),
            ]
            table.add_row(*cells)
        out_console.print(table)
        if show_ids:
            out_console.print("Example pathways (patient|institution|type|start):")
            for s in fired:
                keys = ", ".join(p for p in s.example_pathways if p)
                if keys:
                    out_console.print(f"  {s.rule_id}: {keys}", soft_wrap=True)
        out_console.print("Explain a rule with: pakkeforlop validate --explain RULE")
    else:
        out_console.print("No findings.")
    verdict = "PASSED" if report.passed else "FAILED"
    tolerance = (
        f", tolerated share {100 * report.max_error_rate:.2f} %"
        if report.max_error_rate is not None
        else ""
    )
    out_console.print(
        f"{verdict}: {report.failing_findings:,} findings at or above {report.fail_on}"
        f" (share of rows {100 * report.failing_rate:.2f} %{tolerance}); exit code"
        f" {report.exit_code}",
        soft_wrap=True,
    )


@guarded
def validate_command(
    *,
    extract: OptionalExtractArgument = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help=(
                "Write the full findings file here, one row per finding with patient ids"
                " (format from --format, else the suffix: .csv, .json, .xml = JUnit, .parquet)."
            ),
        ),
    ] = None,
    fmt: Annotated[
        ValidateFormat,
        typer.Option(
            "--format",
            help=(
                "table, json or csv: the summary by rule; junit: JUnit XML (one test case per"
                " rule). Goes to --report when given, else to standard output."
            ),
        ),
    ] = ValidateFormat.table,
    fail_on: Annotated[
        FailOnLevel,
        typer.Option("--fail-on", help="Lowest severity that makes the run fail (exit code 1)."),
    ] = FailOnLevel.error,
    max_error_rate: Annotated[
        float | None,
        typer.Option(
            "--max-error-rate",
            min=0.0,
            max=1.0,
            help=(
                "Pass (exit 0) when at most this share of rows (0-1) has findings at or above"
                " --fail-on."
            ),
        ),
    ] = None,
    as_of: AsOfOption = None,
    edition: EditionOption = DEFAULT_EDITION,
    columns: ColumnsOption = None,
    extension: ExtensionOption = None,
    open_limit_days: Annotated[
        int,
        typer.Option(
            "--open-limit-days", min=1, help="open_too_long: longest plausible open pathway, days."
        ),
    ] = _LIMITS.open_limit_days,
    unit_min_pathways: Annotated[
        int,
        typer.Option(
            "--unit-min-pathways",
            min=1,
            help="unit_never_registers: fewest closed treatment pathways an institution needs.",
        ),
    ] = _LIMITS.unit_min_pathways,
    unit_drop_share: Annotated[
        float,
        typer.Option(
            "--unit-drop-share",
            min=0.0,
            max=1.0,
            help="unit_sudden_drop: month-to-month fall (share, 0-1) that counts as sudden.",
        ),
    ] = _LIMITS.unit_drop_share,
    unit_drop_min_count: Annotated[
        int,
        typer.Option(
            "--unit-drop-min-count",
            min=1,
            help="unit_sudden_drop: fewest registrations in the month before the drop.",
        ),
    ] = _LIMITS.unit_drop_min_count,
    show_ids: Annotated[
        bool,
        typer.Option(
            "--show-ids",
            help="Show patient ids and pathway keys, on the terminal and in --report FILE"
            " (masked as *** by default; only inside a secure environment).",
        ),
    ] = False,
    partitions: PartitionsOption = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="RULE",
            help="Explain a rule (id, NPR error number, or 'all') and exit.",
        ),
    ] = None,
) -> None:
    """Check an extract before delivery, the way the register does and more.

    Rules: every reader finding (columns, types, dates, codes, duplicates,
    missing ids), every timeline finding (NPR errors 208, 211, 216, 221-225,
    decision counts, orphans, ambiguous and superseded registrations) and the
    validate rules (open too long, units that never register plans or
    evaluations, sudden monthly drops). Explain one with --explain RULE.

    The terminal shows a summary by rule; --report FILE writes the full findings
    file. Patient ids are masked (***) in both unless --show-ids is given.

    JUnit (--format junit): one test suite per stage, one test case per rule;
    a rule with findings at or above --fail-on fails and lists up to 100.

    Exit codes:
      0  clean, or the share of rows with findings is within --max-error-rate
      1  findings at or above --fail-on (default: error)
      2  the extract could not be read, or the arguments are wrong

    Examples:
      pakkeforlop validate extract.parquet
      pakkeforlop validate extract.csv --format junit --report findings.xml
      pakkeforlop validate x.parquet --fail-on warning --max-error-rate 0.01
      pakkeforlop validate --explain 208
    """
    if explain is not None:
        _explain(explain)
        return
    if extract is None:
        raise fail("missing EXTRACT: name the extract to check (or use --explain RULE)")
    if report is not None:
        check_writable(report)  # before any work
    if edition not in editions():
        raise fail(f"unknown edition {edition!r}; expected one of {', '.join(editions())}")
    # the library builds the read and validation settings from the same keywords
    result = validate(
        extract,
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        open_limit_days=open_limit_days,
        unit_min_pathways=unit_min_pathways,
        unit_drop_share=unit_drop_share,
        unit_drop_min_count=unit_drop_min_count,
        fail_on=fail_on.value,
        max_error_rate=max_error_rate,
        partitions=partitions_choice(partitions),
        progress=Progress(),
    )
    if report is not None:
        kind = None if fmt is ValidateFormat.table else fmt.value
        write_report(result, report, fmt=kind, show_ids=show_ids)
        _summary_table(result, show_ids=show_ids)
        out_console.print(f"Findings file: {report}", soft_wrap=True)
    elif fmt is ValidateFormat.json:
        typer.echo(json.dumps(report_json(result, show_ids=show_ids), ensure_ascii=False, indent=1))
    elif fmt is ValidateFormat.csv:
        frame = result.summary_frame()
        if show_ids:
            pathways = ["; ".join(p or "" for p in s.example_pathways) for s in result.summary]
            frame = frame.with_columns(pl.Series("example_pathways", pathways, dtype=pl.String))
        typer.echo(frame.write_csv(), nl=False)
    elif fmt is ValidateFormat.junit:
        typer.echo(junit_xml(result, show_ids=show_ids, max_findings=JUNIT_MAX_FINDINGS), nl=False)
    else:
        _summary_table(result, show_ids=show_ids)
    raise typer.Exit(result.exit_code)
