"""Writing a validation report: the findings file (CSV, JSON, Parquet) and JUnit XML for CI.

Patient ids appear in the findings file only. Everything meant for a terminal or a CI log goes
through :func:`mask_ids` first unless the user asks for ids (``--show-ids``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Final, Literal

import polars as pl

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.files import atomic_output
from pakkeforlop.validate.report import ValidationReport, as_lazy, at_or_above

__all__ = [
    "FINDINGS_FILE_COLUMNS",
    "JUNIT_MAX_FINDINGS",
    "MASK",
    "ReportFormat",
    "findings_file",
    "junit_xml",
    "mask_ids",
    "report_json",
    "write_report",
]

ReportFormat = Literal["csv", "json", "junit", "parquet"]

#: What replaces a patient id in masked output.
MASK: Final = "***"

#: How many findings each failing rule's JUnit test case lists (the findings file holds all).
JUNIT_MAX_FINDINGS: Final = 100

#: Columns of the findings file, one row per finding (issue 6): where, which rule, how bad, which
#: pathway, what. ``pathway`` is the pathway key, ``patient_id`` the patient.
FINDINGS_FILE_COLUMNS: Final = (
    "file",
    "row",
    "rule",
    "severity",
    "npr_error",
    "stage",
    "pathway",
    "patient_id",
    "column",
    "value",
    "message",
)


def mask_ids(findings: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Hide patient ids in a findings table.

    The ``patient_id`` column becomes ``***``; so does the patient part of a derived pathway key
    (``<patient_id>|<institution>|<type>|<start>``, the part before the first ``|``), every
    occurrence of the patient id inside the message, and the value of findings about the
    ``patient_id`` column.

    Args:
        findings: A findings table (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`).

    Returns:
        The same table, masked.

    Examples:
        >>> f = pl.DataFrame(
        ...     {
        ...         "patient_id": ["p17", None],
        ...         "pathway_key": ["p17|u1|D11|2020-01-02", "p9|u1|D11|2020-01-02"],
        ...         "message": ["C before M for p17", "x"],
        ...         "column": [None, "patient_id"],
        ...         "value": [None, "p9"],
        ...     }
        ... )
        >>> for row in mask_ids(f).collect().rows():
        ...     print(row)
        ('***', '***|u1|D11|2020-01-02', 'C before M for ***', None, None)
        (None, '***|u1|D11|2020-01-02', 'x', 'patient_id', '***')
    """
    pid = pl.col("patient_id")
    has_pid = pid.is_not_null() & (pid.str.len_chars() > 0)
    key = pl.col("pathway_key")
    return as_lazy(findings).with_columns(
        pl.when(has_pid).then(pl.lit(MASK)).otherwise(pid).alias("patient_id"),
        pl.when(key.str.contains("|", literal=True))
        .then(pl.concat_str(pl.lit(MASK), key.str.slice(key.str.find("|", literal=True))))
        .otherwise(key)
        .alias("pathway_key"),
        pl.when(has_pid)
        .then(pl.col("message").str.split(pid).list.join(MASK))
        .otherwise(pl.col("message"))
        .alias("message"),
        pl.when((pl.col("column") == "patient_id") & pl.col("value").is_not_null())
        .then(pl.lit(MASK))
        .otherwise(pl.col("value"))
        .alias("value"),
    )


def findings_file(findings: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The findings file: one row per finding, in file and row order.

    Args:
        findings: A findings table (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`).

    Returns:
        Columns :data:`FINDINGS_FILE_COLUMNS`; ``severity`` as text.
    """
    return (
        as_lazy(findings)
        .select(
            pl.col("source_file").alias("file"),
            pl.col("source_row").alias("row"),
            pl.col("rule_id").alias("rule"),
            pl.col("severity").cast(pl.String),
            "npr_error",
            "stage",
            pl.col("pathway_key").alias("pathway"),
            "patient_id",
            "column",
            "value",
            "message",
        )
        .sort("file", "row", "rule", nulls_last=True, maintain_order=True)
    )


def report_json(report: ValidationReport, *, show_ids: bool = False) -> dict[str, object]:
    """The report without its findings, as JSON-ready data.

    Args:
        report: The report.
        show_ids: Keep the example pathway keys (they contain patient ids); they are left out
            otherwise.

    Returns:
        A dict of plain JSON types.
    """
    exclude: dict[str, object] | None = (
        None if show_ids else {"summary": {"__all__": {"example_pathways"}}}
    )
    data: dict[str, object] = report.model_dump(mode="json", exclude=exclude)  # type: ignore[arg-type]
    return data


def _case_name(rule_id: str, npr_error: int | None) -> str:
    return f"{rule_id} (NPR {npr_error})" if npr_error is not None else rule_id


def junit_xml(
    report: ValidationReport,
    *,
    show_ids: bool = True,
    max_findings: int = JUNIT_MAX_FINDINGS,
) -> str:
    """The report as JUnit XML: one test suite per stage, one test case per rule.

    CI systems (GitLab, Jenkins, Azure DevOps, GitHub test-report actions) show test cases, so
    each rule is one test case, named ``<rule_id>`` (``<rule_id> (NPR <no>)`` when the register
    has an error number for it) with class name ``pakkeforlop.validate.<stage>``:

    * a rule with findings at or above ``fail_on`` *fails*: its ``<failure>`` has the count, rows
      and share in ``message``, the severity in ``type``, and lists up to ``max_findings``
      findings (``file:row  pathway  message``) in its text;
    * a rule below ``fail_on`` with findings passes, listing them in ``<system-out>``;
    * a rule without findings passes.

    The top ``<testsuites>`` element carries the totals; each test suite the run's properties
    (source, rows read, error rate, exit code). The document validates against the JUnit schema
    the Jenkins xunit plugin publishes (tested with ``tests/data/junit.xsd``). The findings
    file, not the XML, holds every finding.

    Args:
        report: The report.
        show_ids: Keep patient ids in the listed findings; masked (:func:`mask_ids`) otherwise.
        max_findings: How many findings each test case lists.

    Returns:
        The XML document as text (UTF-8, with declaration).
    """
    findings = as_lazy(report.findings)
    if not show_ids:
        findings = mask_ids(findings)
    lines = (
        findings.with_columns(
            pl.concat_str(
                pl.concat_str(
                    pl.col("source_file").fill_null("?"), pl.lit(":"), pl.col("source_row")
                ).fill_null(pl.concat_str(pl.col("column"), pl.lit("="), pl.col("value"))),
                pl.col("pathway_key"),
                pl.col("message"),
                separator="  ",
                ignore_nulls=True,
            ).alias("_line")
        )
        .sort("source_file", "source_row", nulls_last=True, maintain_order=True)
        .group_by("rule_id")
        .agg(pl.col("_line").head(max_findings))
        .collect()
    )
    listed = dict(zip(lines["rule_id"].to_list(), lines["_line"].to_list(), strict=True))
    failing_rules = set(
        report.findings.filter(at_or_above(report.fail_on))["rule_id"].unique().to_list()
    )

    root = ET.Element("testsuites", name="pakkeforlop validate")
    properties = (
        ("source", report.source),
        ("rows_read", report.rows_read),
        ("edition", report.edition),
        ("as_of", report.as_of.isoformat() if report.as_of else ""),
        ("fail_on", report.fail_on),
        ("max_error_rate", "" if report.max_error_rate is None else report.max_error_rate),
        ("error_rate", f"{report.error_rate:.6f}"),
        ("exit_code", report.exit_code),
    )
    total_tests = total_failures = 0
    for stage in dict.fromkeys(s.stage for s in report.summary):
        cases = [s for s in report.summary if s.stage == stage]
        suite = ET.SubElement(root, "testsuite", name=stage)
        # the JUnit schema allows properties on a test suite, not on <testsuites>
        props = ET.SubElement(suite, "properties")
        for name, value in properties:
            ET.SubElement(props, "property", name=name, value=str(value))
        failures = 0
        for s in cases:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"pakkeforlop.validate.{stage}",
                name=_case_name(s.rule_id, s.npr_error),
                time="0",
            )
            if s.count == 0:
                continue
            shown = listed.get(s.rule_id, [])
            more = s.count - len(shown)
            body = "\n".join(shown) + (
                f"\n... and {more} more (see the findings file)" if more > 0 else ""
            )
            head = (
                f"{s.count} {s.severity} finding(s) in {s.rows} row(s)"
                f" ({100 * s.share:.2f} %): {s.explanation}"
            )
            if s.rule_id in failing_rules:
                failures += 1
                failure = ET.SubElement(case, "failure", message=head, type=s.severity)
                failure.text = body
            else:
                out = ET.SubElement(case, "system-out")
                out.text = head + "\n" + body
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total_tests += len(cases)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def report_format(path: Path, fmt: str | None = None) -> ReportFormat:
    """The format of a report file: ``fmt`` if given, else from the suffix (``.xml`` = JUnit).

    Args:
        path: The report file.
        fmt: ``csv``, ``json``, ``junit`` or ``parquet``; ``None`` to use the suffix.

    Returns:
        The format.

    Raises:
        ConfigurationError: If neither names a known format.

    Examples:
        >>> report_format(Path("out.xml")), report_format(Path("out.txt"), "json")
        ('junit', 'json')
    """
    kind = (fmt or path.suffix.lstrip(".") or "csv").lower()
    kind = {"xml": "junit"}.get(kind, kind)
    if kind == "csv":
        return "csv"
    if kind == "json":
        return "json"
    if kind == "junit":
        return "junit"
    if kind == "parquet":
        return "parquet"
    msg = f"{path}: unknown report format {kind!r}; expected csv, json, junit (.xml) or parquet"
    raise ConfigurationError(msg)


def write_report(
    report: ValidationReport, path: str | Path, *, fmt: str | None = None, show_ids: bool = False
) -> Path:
    """Write the full findings file, atomically (patient ids masked unless ``show_ids``).

    * ``csv`` / ``parquet``: one row per finding, columns :data:`FINDINGS_FILE_COLUMNS`;
    * ``json``: ``{"report": <the report without findings>, "findings": [<one per finding>]}``;
    * ``junit``: :func:`junit_xml` with ids (each test case lists up to
      :data:`JUNIT_MAX_FINDINGS` findings).

    Args:
        report: The report.
        path: The file to write.
        fmt: The format; from the suffix when ``None`` (``.xml`` means JUnit; default CSV).
        show_ids: Write patient ids and pathway keys as they are (only inside a secure
            environment); masked by default (:func:`mask_ids`).

    Returns:
        The path written.

    Raises:
        ConfigurationError: If the format is unknown.
        OutputError: If the file cannot be written (nothing is left under its name).
    """
    path = Path(path)
    kind = report_format(path, fmt)
    with atomic_output(path) as temp:
        if kind == "junit":
            temp.write_text(junit_xml(report, show_ids=show_ids), encoding="utf-8")
            return path
        findings = report.findings.lazy() if show_ids else mask_ids(report.findings)
        table = findings_file(findings)
        if kind == "csv":
            table.sink_csv(temp)
        elif kind == "parquet":
            table.sink_parquet(temp, row_group_size=1_000_000)
        else:
            head = json.dumps(report_json(report, show_ids=show_ids), ensure_ascii=False)
            body = table.collect().write_json()
            temp.write_text(f'{{"report": {head}, "findings": {body}}}\n', encoding="utf-8")
    return path
