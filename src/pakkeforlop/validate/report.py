"""The validation report: thresholds, the summary by rule, the error rate and the exit decision.

See domain/codes.md §6 for the register's own checks the rules mirror. The report is a frozen
pydantic model; the full findings table travels with it as a plain attribute (``findings``),
excluded from validation and from ``model_dump``.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from pakkeforlop.findings import Severity, rules
from pakkeforlop.io.read import conservation_line
from pakkeforlop.schema import FINDINGS_SCHEMA, SEVERITY
from pakkeforlop.validate.settings import FailOn, ValidationThresholds

__all__ = [
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "FailOn",
    "RuleSummary",
    "ValidationReport",
    "ValidationThresholds",
    "affected_rows",
    "as_lazy",
    "at_or_above",
    "summarise",
]

#: Exit code when nothing at or above ``fail_on`` was found (or the share stayed within
#: ``max_error_rate``).
EXIT_CLEAN: Final = 0
#: Exit code when findings at or above ``fail_on`` were found.
EXIT_FINDINGS: Final = 1

#: Number of example locations kept per rule in the summary.
SUMMARY_EXAMPLES: Final = 3


class RuleSummary(BaseModel):
    """One row of the summary table: how often one rule fired.

    Attributes:
        rule_id: The rule (a key of :func:`pakkeforlop.findings.rules`).
        stage: ``read``, ``timeline`` or ``validate``.
        severity: ``info``, ``warning`` or ``error``.
        npr_error: The register's error number (kodeverk 9329), if the rule has one.
        explanation: The rule's one-line explanation.
        count: Number of findings.
        rows: Number of distinct source rows with a finding of this rule.
        share: ``rows`` divided by the rows read (0 when nothing was read).
        examples: Up to three locations, ``file:row`` (or ``column=value`` for findings about a
            whole unit), in file and row order. They never hold patient ids.
        example_pathways: The pathway keys of the same examples (they contain patient ids; show
            them only on request).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    stage: str
    severity: Severity
    npr_error: int | None
    explanation: str
    count: int
    rows: int
    share: float
    examples: tuple[str, ...] = ()
    example_pathways: tuple[str | None, ...] = ()


class ValidationReport(BaseModel):
    """The result of validating one extract: summary, rates and the exit decision.

    Attributes:
        source: What was validated (a path, or ``"<dataframe>"``).
        rows_read: Rows read from the source (before duplicates were collapsed).
        edition: The code-catalogue edition used.
        as_of: The reference date used (``None`` when the data held no valid date).
        thresholds: The validate-stage limits used.
        fail_on: The lowest severity that fails the run.
        max_error_rate: The tolerated share of rows with failing findings, if any.
        summary: One row per known rule, in the documented rule order, clean rules included.
        counts: Number of findings by severity.
        rows_with_errors: Distinct source rows with at least one error-level finding.
        error_rate: ``rows_with_errors / rows_read``.
        failing_findings: Findings at or above ``fail_on``.
        failing_rate: Share of rows with a finding at or above ``fail_on`` (equal to
            ``error_rate`` when ``fail_on`` is ``"error"``).
        passed: True when nothing at or above ``fail_on`` was found, or ``failing_rate`` is at
            most ``max_error_rate``.
        exit_code: 0 when ``passed``, else 1 (the CLI's exit code).
        rows_usable: Registrations that fed the pathways (when the extract was read here).
        rows_excluded: Rows left out of pathways, by reason (every excluded row also has an
            error finding saying why).
        duplicates_collapsed: Exact duplicates collapsed.
        findings: The full findings table (:data:`~pakkeforlop.schema.FINDINGS_SCHEMA`), one
            row per finding, patient ids included. Not part of ``model_dump``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    source: str
    rows_read: int
    edition: str
    as_of: dt.date | None
    thresholds: ValidationThresholds
    fail_on: FailOn
    max_error_rate: float | None
    summary: tuple[RuleSummary, ...]
    counts: dict[str, int]
    rows_with_errors: int
    error_rate: float
    failing_findings: int
    failing_rate: float
    passed: bool
    exit_code: int
    rows_usable: int | None = None
    rows_excluded: dict[str, int] = Field(default_factory=dict)
    duplicates_collapsed: int | None = None
    findings: pl.DataFrame = Field(exclude=True, repr=False)

    def conservation(self) -> str:
        """The run summary's identity: rows read = usable + excluded (by reason) + duplicates.

        Returns:
            One line (:func:`pakkeforlop.io.read.conservation_line`).
        """
        return conservation_line(
            self.rows_read, self.rows_usable, self.rows_excluded, self.duplicates_collapsed
        )

    def summary_frame(self) -> pl.DataFrame:
        """The summary as a table (one row per rule; examples joined with ``"; "``).

        Returns:
            Columns ``rule_id, stage, severity, npr_error, count, rows, share, examples,
            explanation``.
        """
        return summary_frame(self.summary)

    def rules_with_findings(self) -> tuple[RuleSummary, ...]:
        """The summary rows of rules that fired at least once, most severe first."""
        order = {"error": 0, "warning": 1, "info": 2}
        fired = [s for s in self.summary if s.count > 0]
        return tuple(sorted(fired, key=lambda s: (order[s.severity], -s.count)))


def as_lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """A lazy view of ``frame``; an eager frame is rechunked first.

    Polars 2.1's streaming engine can panic (``assertion failed: i < self.len()``) when it
    formats strings after filtering a multi-chunk frame; one chunk avoids it. Rechunking an
    already contiguous frame is free.
    """
    return frame.rechunk().lazy() if isinstance(frame, pl.DataFrame) else frame


def materialised(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Collect a small intermediate result into one chunk (see :func:`as_lazy`).

    The validate-stage checks filter large tables (events, pathways) down to a few flagged
    rows and only then format their messages, on this one-chunk copy.
    """
    return frame.collect().rechunk().lazy()


def at_or_above(severity: str) -> pl.Expr:
    """Whether a finding's severity is at or above ``severity`` (info < warning < error).

    Args:
        severity: ``"info"``, ``"warning"`` or ``"error"``.

    Returns:
        A boolean expression over the ``severity`` column.

    Examples:
        >>> sev = pl.Series("severity", ["info", "warning", "error"], dtype=SEVERITY)
        >>> df = sev.to_frame()
        >>> df.select(at_or_above("warning"))["severity"].to_list()
        [False, True, True]
    """
    rank = SEVERITY.categories.to_list().index(severity)
    return pl.col("severity").to_physical() >= rank


def affected_rows(findings: pl.DataFrame, mask: pl.Expr | None = None) -> int:
    """Distinct source rows (``source_file``, ``source_row``) with a finding.

    Findings about a whole unit or pathway carry no row and are not counted.

    Args:
        findings: A findings table.
        mask: Only findings where this boolean expression holds.

    Returns:
        The number of distinct rows.

    Examples:
        >>> df = pl.DataFrame(
        ...     {"source_file": ["a", "a", "a", None], "source_row": [2, 2, 3, None]},
        ...     schema={"source_file": pl.String, "source_row": pl.UInt64},
        ... )
        >>> affected_rows(df)
        2
    """
    rows = as_lazy(findings)
    if mask is not None:
        rows = rows.filter(mask)
    n = (
        rows.filter(pl.col("source_row").is_not_null())
        .select(pl.struct("source_file", "source_row").n_unique())
        .collect()
        .item()
    )
    return int(n)


def _location() -> pl.Expr:
    """Where a finding is, without patient ids: ``file:row``, else ``column=value``."""
    return (
        pl.when(pl.col("source_row").is_not_null())
        .then(
            pl.concat_str(pl.col("source_file").fill_null("?"), pl.lit(":"), pl.col("source_row"))
        )
        .when(pl.col("value").is_not_null())
        .then(pl.concat_str(pl.col("column").fill_null("value"), pl.lit("="), pl.col("value")))
        .otherwise(pl.lit("-"))
    )


def summarise(
    findings: pl.DataFrame, *, rows_read: int, examples: int = SUMMARY_EXAMPLES
) -> tuple[RuleSummary, ...]:
    """Summarise a findings table by rule.

    Every known rule gets a row (count 0 when it never fired), in the order of ``rules.toml``;
    a rule id found in the table but unknown to the vocabulary is kept at the end.

    Args:
        findings: A findings table with :data:`~pakkeforlop.schema.FINDINGS_SCHEMA`.
        rows_read: The rows read from the source (the denominator of ``share``).
        examples: How many example locations to keep per rule.

    Returns:
        One :class:`RuleSummary` per rule.

    Examples:
        >>> from pakkeforlop.findings import finding_rows
        >>> bad = pl.LazyFrame({"source_file": ["x.csv"] * 2, "source_row": [5, 3]})
        >>> f = finding_rows(bad, "bad_date", pl.lit("bad")).collect()
        >>> s = {r.rule_id: r for r in summarise(f, rows_read=10)}
        >>> s["bad_date"].count, s["bad_date"].share, s["bad_date"].examples
        (2, 0.2, ('x.csv:3', 'x.csv:5'))
        >>> s["no_start"].count
        0
    """
    per_rule = (
        as_lazy(findings)
        .with_columns(_location().alias("_location"))
        .sort("source_file", "source_row", nulls_last=True, maintain_order=True)
        .group_by("rule_id", maintain_order=True)
        .agg(
            pl.len().alias("count"),
            pl.struct("source_file", "source_row")
            .filter(pl.col("source_row").is_not_null())
            .n_unique()
            .alias("rows"),
            pl.col("_location").head(examples).alias("examples"),
            pl.col("pathway_key").head(examples).alias("example_pathways"),
        )
        .collect()
    )
    # One dict per *rule* (a few dozen), not per data row.
    fired = {r["rule_id"]: r for r in per_rule.to_dicts()}
    known = rules()
    out: list[RuleSummary] = []
    for rule_id in [*known, *(r for r in fired if r not in known)]:
        spec = known.get(rule_id)
        got = fired.get(rule_id, {})
        count = int(got.get("count", 0))
        rows = int(got.get("rows", 0))
        out.append(
            RuleSummary(
                rule_id=rule_id,
                stage=spec.stage if spec else "unknown",
                severity=spec.severity if spec else _severity_of(findings, rule_id),
                npr_error=spec.npr_error if spec else None,
                explanation=spec.explanation if spec else "(rule not in rules.toml)",
                count=count,
                rows=rows,
                share=rows / rows_read if rows_read else 0.0,
                examples=tuple(got.get("examples") or ()),
                example_pathways=tuple(got.get("example_pathways") or ()),
            )
        )
    return tuple(out)


def _severity_of(findings: pl.DataFrame, rule_id: str) -> Severity:
    sev = findings.filter(pl.col("rule_id") == rule_id)["severity"].cast(pl.String).max()
    if sev == "error":
        return "error"
    if sev == "warning":
        return "warning"
    return "info"


def summary_frame(summary: tuple[RuleSummary, ...]) -> pl.DataFrame:
    """Turn summary rows into a table (examples joined with ``"; "``, no patient ids).

    Args:
        summary: Summary rows, e.g. :attr:`ValidationReport.summary`.

    Returns:
        Columns ``rule_id, stage, severity, npr_error, count, rows, share, examples,
        explanation``.
    """
    return pl.DataFrame(
        [
            {
                "rule_id": s.rule_id,
                "stage": s.stage,
                "severity": s.severity,
                "npr_error": s.npr_error,
                "count": s.count,
                "rows": s.rows,
                "share": s.share,
                "examples": "; ".join(s.examples),
                "explanation": s.explanation,
            }
            for s in summary
        ],
        schema={
            "rule_id": pl.String,
            "stage": pl.String,
            "severity": pl.String,
            "npr_error": pl.Int16,
            "count": pl.Int64,
            "rows": pl.Int64,
            "share": pl.Float64,
            "examples": pl.String,
            "explanation": pl.String,
        },
        orient="row",
    )


def severity_counts(findings: pl.DataFrame) -> dict[str, int]:
    """Number of findings by severity, every severity present (zero when absent)."""
    got = findings.group_by(pl.col("severity").cast(pl.String)).len()
    counts = dict(zip(got["severity"].to_list(), got["len"].to_list(), strict=True))
    return {s: int(counts.get(s, 0)) for s in SEVERITY.categories.to_list()}


def conform(findings: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Cast a findings table to :data:`~pakkeforlop.schema.FINDINGS_SCHEMA` (columns in order)."""
    lf = as_lazy(findings)
    names = lf.collect_schema().names()
    return lf.select(
        (pl.col(c).cast(t) if c in names else pl.lit(None, dtype=t)).alias(c)
        for c, t in FINDINGS_SCHEMA.items()
    )
