"""The one finding vocabulary every stage speaks.

A *finding* is a data problem in an extract: one row of the findings table
(:data:`pakkeforlop.schema.FINDINGS_SCHEMA`) naming the rule, its severity, the national
register's error number where one exists (kodeverk 9329, domain/codes.md §6), a message, and where
it was found (file, row, column, value, patient, pathway). Rules are data (``rules.toml``) so that
``pakkeforlop validate --explain RULE`` and the docs come from the same place as the checks.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from pakkeforlop.schema import FINDINGS_SCHEMA

__all__ = [
    "Rule",
    "Severity",
    "empty_findings",
    "finding_rows",
    "rule",
    "rules",
]

Severity = Literal["info", "warning", "error"]
Stage = Literal["read", "timeline", "validate"]


class Rule(BaseModel):
    """One check: its id, stage, severity, register error number and one-line explanation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    stage: Stage
    severity: Severity
    explanation: str
    npr_error: int | None = None


@cache
def rules() -> dict[str, Rule]:
    """Every known rule, by id, in the order they are documented.

    Returns:
        A mapping from rule id to :class:`Rule`.

    Examples:
        >>> rules()["event_after_end"].npr_error
        225
    """
    text = resources.files("pakkeforlop").joinpath("rules.toml").read_text(encoding="utf-8")
    return {r["id"]: Rule.model_validate(r) for r in tomllib.loads(text)["rule"]}


def rule(rule_id: str) -> Rule:
    """Look up one rule by id.

    Args:
        rule_id: The rule's id, e.g. ``"bad_date"``.

    Returns:
        The rule.

    Raises:
        KeyError: If no rule has that id (a programming error, not a user one).
    """
    return rules()[rule_id]


def empty_findings() -> pl.DataFrame:
    """An empty findings table with the canonical schema."""
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def finding_rows(
    flagged: pl.LazyFrame,
    rule_id: str,
    message: pl.Expr,
    *,
    column: str | None = None,
    value: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Turn flagged rows into findings of one rule.

    Args:
        flagged: Rows that break the rule. Columns ``source_file``, ``source_row``, ``patient_id``
            and ``pathway_key`` are used when present, null otherwise.
        rule_id: The rule they break (a key of :func:`rules`).
        message: A string expression for the per-row message.
        column: The canonical column the finding is about, if any.
        value: An expression for the offending value, if any (cast to string).

    Returns:
        A lazy findings table with :data:`~pakkeforlop.schema.FINDINGS_SCHEMA`.
    """
    spec = rule(rule_id)
    names = flagged.collect_schema().names()

    def carried(name: str) -> pl.Expr:
        dtype = FINDINGS_SCHEMA[name]
        if name in names:
            return pl.col(name).cast(dtype)
        return pl.lit(None, dtype=dtype).alias(name)

    return flagged.select(
        pl.lit(spec.id, dtype=pl.String).alias("rule_id"),
        pl.lit(spec.severity, dtype=FINDINGS_SCHEMA["severity"]).alias("severity"),
        pl.lit(spec.npr_error, dtype=pl.Int16).alias("npr_error"),
        pl.lit(spec.stage, dtype=pl.String).alias("stage"),
        message.cast(pl.String).alias("message"),
        carried("source_file"),
        carried("source_row"),
        pl.lit(column, dtype=pl.String).alias("column"),
        (value.cast(pl.String) if value is not None else pl.lit(None, dtype=pl.String)).alias(
            "value"
        ),
        carried("patient_id"),
        carried("pathway_key"),
    )
