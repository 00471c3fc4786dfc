"""Register checks that need the timeline (kodeverk 9329, domain/codes.md §6) as findings.

Registration-level findings carry the offending registration's file and row; pathway-level ones
(216, superseded, parallel, extended assessment without a second decision) carry the pathway's
start (A) row, so every finding points at a line the user can open.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pakkeforlop.codes import Catalogue
from pakkeforlop.findings import empty_findings, finding_rows
from pakkeforlop.timeline.milestones import INSTANCE

__all__ = [
    "invalid_for_type",
    "orphan_findings",
    "parallel_findings",
    "pathway_findings",
    "registration_findings",
    "registration_flags",
    "type_validity_findings",
]


_ev = pl.col("event")
_where = pl.format("{} row {}", pl.col("source_file"), pl.col("source_row"))


def _msg(text: str, *cols: str | pl.Expr) -> pl.Expr:
    return pl.format("{}: " + text, _where, *cols)


def _registration_checks() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Per register check on single registrations: its condition and its message.

    The conditions read the running counts of :func:`~pakkeforlop.timeline.milestones.
    with_running_counts`; the compiled pass evaluates the same conditions as it walks
    (:mod:`pakkeforlop.timeline.kernel`, in the order of ``REGISTRATION_RULES``).
    """
    c_before = pl.col("_c_before")
    m_before = pl.col("_m_before")
    direct = (c_before == 0) & pl.col("outcome").is_in(["P", "T"])
    date = pl.col("event_date")
    return {
        "decision_without_attendance": (
            (_ev == "C") & (m_before == 0) & ~direct,
            _msg(
                "clinical decision (C-{}) on {} without an earlier first attendance (M), and not"
                " a direct-to-treatment decision (C-P or C-T)",
                pl.col("outcome").fill_null("?"),
                date,
            ),
        ),
        "attendance_after_decision": (
            (_ev == "M") & (c_before > 0),
            _msg("first attendance (M) on {} comes after the clinical decision (C)", date),
        ),
        "evaluation_without_decision": (
            (_ev == "E") & (c_before == 0),
            _msg("evaluation point (E) on {} without an earlier clinical decision (C)", date),
        ),
        "feedback_without_decision": (
            (_ev == "F") & (c_before == 0),
            _msg("feedback to referrer (F) on {} without an earlier clinical decision (C)", date),
        ),
        "onset_after_decision": (
            (_ev == "P") & (c_before > 0),
            _msg("onset of psychotic symptoms (P) on {} after the clinical decision (C)", date),
        ),
        "too_many_decisions": (
            (_ev == "C") & (c_before >= 2),
            _msg(
                "clinical decision (C) on {} is number {} in the pathway; at most two are allowed",
                date,
                c_before + 1,
            ),
        ),
        "second_decision_without_extended": (
            (_ev == "C") & (c_before == 1) & (pl.col("_first_c_outcome").fill_null("") != "U"),
            _msg(
                "second clinical decision (C) on {} although the first (C-{}) did not call for"
                " extended assessment (C-U)",
                date,
                pl.col("_first_c_outcome").fill_null("?"),
            ),
        ),
    }


def registration_flags(rows: pl.LazyFrame) -> pl.LazyFrame:
    """208, 211, 221, 222, 223 and the decision-count rules: which registrations break them.

    Args:
        rows: Assigned registrations with running counts (the general path).

    Returns:
        One row per (registration, rule it breaks): ``_row``, the instance, ``_rule`` (the
        rule id), ``_c_before`` and ``_first_c_outcome`` (what the messages quote).
    """
    return pl.concat(
        [
            rows.filter(cond).select(
                "_row",
                INSTANCE,
                pl.lit(rule_id).alias("_rule"),
                pl.col("_c_before").cast(pl.Int64),
                pl.col("_first_c_outcome").cast(pl.String),
            )
            for rule_id, (cond, _) in _registration_checks().items()
        ]
    )


def registration_findings(flagged: pl.LazyFrame) -> list[pl.LazyFrame]:
    """The findings of the flagged registrations (:func:`registration_flags`), enriched.

    Args:
        flagged: The flagged rows with their file, row, code, date, outcome and pathway key
            looked up (few rows: the wide event table is read once whatever the number of rules).
    """
    return [
        finding_rows(
            flagged.filter(pl.col("_rule") == rule_id),
            rule_id,
            message,
            column="event",
            value=pl.col("code"),
        )
        for rule_id, (_, message) in _registration_checks().items()
    ]


def orphan_findings(rows: pl.LazyFrame) -> pl.LazyFrame:
    """No start, after the end (225), ambiguous: one finding per unassigned usable registration."""
    rule_message = {
        "no_start": "registration {} on {} comes before any start (A) of a pathway of this type at"
        " institution {}; it belongs to no pathway",
        "event_after_end": "registration {} on {} comes after the end (X) that closed the pathway"
        " at institution {}, before any new start (A)",
        "ambiguous_event": "registration {} on {} has no pathway type and several pathways of"
        " different types are open at institution {}; it is not assigned",
    }
    parts = []
    for rule_id, text in rule_message.items():
        flagged = rows.filter(pl.col("orphan_rule") == rule_id)
        message = _msg(
            text,
            pl.col("code").fill_null(pl.col("event").cast(pl.String)),
            pl.col("event_date"),
            pl.col("institution_id"),
        )
        parts.append(finding_rows(flagged, rule_id, message, column="event", value=pl.col("code")))
    return pl.concat(parts)


def pathway_findings(instances: pl.LazyFrame) -> list[pl.LazyFrame]:
    """216, superseded, C-U without a second C and shared given ids, on the start row."""
    at_start = instances.with_columns(
        source_file=pl.col("_start_file"), source_row=pl.col("_start_row")
    )
    checks: list[tuple[str, pl.Expr, pl.Expr, str | None, pl.Expr | None]] = [
        (
            "adult_in_child_pathway",
            (pl.col("pathway_type") == "D12") & (pl.col("age_at_start") >= 18),
            _msg(
                "D12 (children and youth) pathway started on {} for a patient aged {}",
                pl.col("start_date"),
                pl.col("age_at_start"),
            ),
            "age",
            pl.col("age_at_start"),
        ),
        (
            "superseded",
            pl.col("status") == "superseded",
            _msg(
                "a new start (A) of {} on {} while this pathway (started {}) was open; it is"
                " taken to end the day before",
                pl.col("pathway_type"),
                pl.col("_next_start"),
                pl.col("start_date"),
            ),
            "event",
            None,
        ),
        (
            "extended_without_second_decision",
            (pl.col("status") == "closed")
            & pl.col("extended_assessment")
            & (pl.col("decision_count") == 1),
            _msg(
                "pathway closed on {} after a decision for extended assessment (C-U) on {}"
                " without a second clinical decision",
                pl.col("end_date"),
                pl.col("first_decision_date"),
            ),
            "event",
            None,
        ),
    ]
    shared_id = pl.col("pathway_id").is_not_null() & (pl.len().over("pathway_id") > 1)
    checks.append(
        (
            "pathway_id_inconsistent",
            shared_id,
            _msg(
                "pathway_id {} is given to {} pathway instances (patient, institution, type or"
                " start differ); expected one",
                pl.col("pathway_id"),
                pl.len().over("pathway_id"),
            ),
            "pathway_id",
            pl.col("pathway_id"),
        )
    )
    return [
        finding_rows(at_start.filter(cond), rule_id, message, column=column, value=value)
        for rule_id, cond, message, column, value in checks
    ]


def parallel_findings(instances: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """224: a pathway overlapping another pathway of the same patient (any institution).

    Intervals are [start, end]; an open pathway runs past the reference date. Overlap is strict,
    so a same-day hand-over (an end and a new start on one day) is not parallel, and pathways of
    one transfer chain are never parallel to each other.
    """
    # only a patient with two pathways or more can have parallel ones: most have one, and
    # leaving them out of the self-join makes it a third faster
    spans = instances.filter(pl.len().over("patient_id") > 1).select(
        "patient_id",
        "pathway_key",
        "chain_id",
        "pathway_type",
        "institution_id",
        "start_date",
        # an open pathway is still running on the reference date, so it reaches past it
        pl.col("end_date").fill_null(as_of + dt.timedelta(days=1)).alias("_until"),
        source_file=pl.col("_start_file"),
        source_row=pl.col("_start_row"),
    )
    other = spans.select(
        "patient_id",
        pl.col("pathway_key").alias("_other_key"),
        pl.col("chain_id").alias("_other_chain"),
        pl.col("pathway_type").alias("_other_type"),
        pl.col("institution_id").alias("_other_inst"),
        pl.col("start_date").alias("_other_start"),
        pl.col("_until").alias("_other_until"),
    )
    pairs = (
        spans.join(other, on="patient_id")
        .filter(
            (pl.col("pathway_key") != pl.col("_other_key"))
            & (pl.col("chain_id") != pl.col("_other_chain"))
            & (pl.col("start_date") < pl.col("_other_until"))
            & (pl.col("_other_start") < pl.col("_until"))
        )
        .group_by("pathway_key")
        .agg(
            pl.exclude("pathway_key").first(),
        )
    )
    message = _msg(
        "pathway {} at institution {} (from {}) overlaps pathway {} at institution {} (from {})",
        pl.col("pathway_type"),
        pl.col("institution_id"),
        pl.col("start_date"),
        pl.col("_other_type"),
        pl.col("_other_inst"),
        pl.col("_other_start"),
    )
    return finding_rows(pairs, "parallel_pathways", message, column="pathway_type")


def invalid_for_type(rows: pl.LazyFrame, catalogue: Catalogue) -> pl.LazyFrame:
    """Assigned registrations whose type the timeline supplied but which that type does not allow.

    The reader checks rows that carry a type; a typeless row (split layout) can only be checked
    once it has joined a pathway (domain/codes.md §5). Pairs no type allows were flagged by the
    reader already (missing or unexpected outcome) and excluded there.

    Args:
        rows: Assigned registrations with ``_type`` (the pathway's type), ``event``, ``outcome``.
        catalogue: The code catalogue.

    Returns:
        Those rows (all their columns).
    """
    valid = catalogue.combined_table.lazy().select(
        pl.col("pathway_type").alias("_type"), "event", "outcome", _valid=pl.lit(True)
    )
    some_type = catalogue.combined_table.lazy().select("event", "outcome").unique()
    filled = rows.filter(pl.col("pathway_type").is_null() & pl.col("_type").is_not_null()).join(
        some_type, on=["event", "outcome"], how="semi", nulls_equal=True
    )
    return (
        filled.join(valid, on=["_type", "event", "outcome"], how="left", nulls_equal=True)
        .filter(pl.col("_valid").is_null())
        .drop("_valid")
    )


def type_validity_findings(bad_rows: pl.LazyFrame | None) -> pl.LazyFrame:
    """``code_invalid_for_type`` on the rows :func:`invalid_for_type` found (then excluded).

    Args:
        bad_rows: Those rows, enriched with their source position and ids (or ``None``).

    Returns:
        The findings (no pathway key: the row is excluded from every pathway).
    """
    if bad_rows is None:
        return empty_findings().lazy()
    message = _msg(
        "event {}{} is not valid for pathway type {} (the type of the pathway it would join);"
        " the registration is excluded",
        pl.col("event"),
        pl.col("outcome").fill_null(""),
        pl.col("_type"),
    )
    return finding_rows(
        bad_rows,
        "code_invalid_for_type",
        message,
        column="event",
        value=pl.format("{}{}", pl.col("event"), pl.col("outcome").fill_null("")),
    )
