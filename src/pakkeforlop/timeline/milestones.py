"""One row per pathway instance with its milestone dates (domain/extract-and-timeline.md §2).

Works on the assigned, ordered registrations of :mod:`pakkeforlop.timeline.assign`; every
"first X" is the first in that order (date, then the fixed same-day event order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from pakkeforlop.schema import AGE_GROUPS, PATHWAY_SCHEMA
from pakkeforlop.timeline.assign import GROUP_ID, segmented_count

__all__ = [
    "INSTANCE",
    "age_group",
    "aggregate_instances",
    "derived_milestones",
    "with_running_counts",
]

#: The column that identifies one instance among the assigned rows (group, type and start
#: number packed in one integer, see :func:`pakkeforlop.timeline.assign.assign_instances`).
INSTANCE: Final = "_ikey"

#: Stands in for a missing outcome while outcomes are carried forward.
_NO_OUTCOME: Final = "\x00"

_ev = pl.col("event")
_oc = pl.col("outcome")
_date = pl.col("event_date")


def with_running_counts(assigned: pl.LazyFrame) -> pl.LazyFrame:
    """Add, per row, how many M, C and D came before it in its instance (strictly before).

    These drive both the milestones (treatment start after detox) and the register checks
    (M after C, E without C, ...). ``assigned`` is in instance order (each instance's rows
    contiguous, :func:`~pakkeforlop.timeline.assign.assign_instances`), so the counts are running
    sums on sorted runs. ``_first_c_outcome`` is the outcome of the instance's first C, on that C
    and every row after it (null before it, where no check reads it).
    """
    counts = {
        f"_{letter.lower()}_before": segmented_count(_ev == letter, INSTANCE)
        for letter in ("M", "C", "D")
    }
    is_c = _ev == "C"
    # the first C of an instance marks its outcome (a stand-in for none); rows after it up to
    # the next instance see the nearest mark before them, which is that first C
    mark = pl.when(is_c & (pl.col("_c_before") == 0)).then(_oc.fill_null(_NO_OUTCOME))
    seen = mark.forward_fill()
    return assigned.with_columns(**counts).with_columns(
        _first_c_outcome=pl.when((is_c | (pl.col("_c_before") > 0)) & (seen != _NO_OUTCOME)).then(
            seen
        )
    )


def age_group(age: pl.Expr) -> pl.Expr:
    """The default age group label of an age (domain/extract-and-timeline.md §2).

    Examples:
        >>> import polars as pl
        >>> pl.select(age_group(pl.lit(17, dtype=pl.Int16))).item()
        '13-17'
    """
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for label, low, high in reversed(AGE_GROUPS):
        expr = pl.when(age.is_between(low, high)).then(pl.lit(label)).otherwise(expr)
    return expr


def _first(col: str | pl.Expr, cond: pl.Expr) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.filter(cond).first()


def _count(cond: pl.Expr) -> pl.Expr:
    # counting the filtered rows is several times faster than summing a boolean per group
    return pl.col("event").filter(cond).len().cast(pl.UInt32)


def aggregate_instances(
    assigned: pl.LazyFrame, not_treatment: Sequence[str] = ("D", "H", "X")
) -> pl.LazyFrame:
    """Collapse the assigned rows (with running counts) to one row per instance.

    ``not_treatment``: events that cannot be the treatment start after detox, from the named
    rule (:func:`pakkeforlop.timeline.rules.treatment_start_rule`); the first other
    registration after the first D is the treatment start.

    Returns the instance keys plus every milestone of :data:`~pakkeforlop.schema.PATHWAY_SCHEMA`
    that can be read off its own registrations, and the row number of its start (A) in the event
    table (``_a_row``), by which the caller looks up identifiers and strata. Status, end of
    superseded instances, keys and chains are settled by the caller.
    """
    final_c = (_ev == "C") & (_oc.fill_null("") != "U")
    after_detox = (pl.col("_d_before") > 0) & ~_ev.is_in(list(not_treatment))
    is_a = _ev == "A"
    evaluations = (
        assigned.filter(_ev == "E")
        .group_by(INSTANCE)
        .agg(evaluation_dates=_date, evaluation_care_levels=pl.col("care_level"))
    )
    activities = (
        assigned.filter((_ev == "U") & _oc.is_not_null())
        .select(INSTANCE, "outcome")
        .unique()
        .sort(INSTANCE, "outcome")
        .group_by(INSTANCE)
        .agg(activity_outcomes=_oc)
    )
    first_c_pos = _first("_pos", _ev == "C")
    first_m_pos = _first("_pos", _ev == "M")
    return (
        assigned.with_columns(pl.col(INSTANCE).set_sorted())
        .group_by(INSTANCE, maintain_order=True)
        .agg(
            *(pl.col(c).first() for c in (GROUP_ID, "_tkey", "_type", "_k")),
            _age_a=_first("age", is_a),
            _birth_year=pl.col("birth_year").drop_nulls().first(),
            start_date=_first("event_date", is_a),
            _a_row=_first("_row", is_a),
            _start_pos=_first("_pos", is_a),
            first_attendance_date=_first("event_date", _ev == "M"),
            first_decision_date=_first("event_date", _ev == "C"),
            first_decision_outcome=_first("outcome", _ev == "C"),
            final_decision_date=_first("event_date", final_c),
            final_decision_outcome=_first("outcome", final_c),
            decision_count=_count(_ev == "C"),
            _first_c_pos=first_c_pos,
            _first_m_pos=first_m_pos,
            detox_end_date=_first("event_date", _ev == "D"),
            detox_end_care_level=_first("care_level", _ev == "D"),
            treatment_start_date=_first("event_date", after_detox),
            treatment_start_care_level=_first("care_level", after_detox),
            evaluation_count=_count(_ev == "E"),
            first_evaluation_date=_first("event_date", _ev == "E"),
            plan_date=_first("event_date", (_ev == "U") & (_oc == "U")),
            information_date=_first("event_date", (_ev == "U") & (_oc == "B")),
            feedback_tool=((_ev == "U") & (_oc == "F")).any(),
            standard_tool=((_ev == "U") & (_oc == "V")).any(),
            collaboration=pl.when(((_ev == "S") & (_oc == "M")).any())
            .then(pl.lit("M"))
            .when(((_ev == "S") & (_oc == "I")).any())
            .then(pl.lit("I")),
            referrer_feedback_date=_first("event_date", _ev == "F"),
            postponements=_count(_ev == "L"),
            first_postponement_date=_first("event_date", _ev == "L"),
            help_needed=_oc.filter(_ev == "H").last(),
            end_date=_first("event_date", _ev == "X"),
            end_reason=_first("outcome", _ev == "X"),
            care_level=_first("care_level", final_c),
            event_count=pl.len().cast(pl.UInt32),
        )
        # list milestones from the few rows that feed them (far cheaper than filtering lists
        # inside the main aggregation)
        .join(evaluations, on=INSTANCE, how="left")
        .join(activities, on=INSTANCE, how="left")
        .with_columns(
            pl.col("evaluation_dates").fill_null([]),
            pl.col("evaluation_care_levels").fill_null([]),
            pl.col("activity_outcomes").fill_null([]),
            direct_to_treatment=pl.col("_first_c_pos").is_not_null()
            & (
                pl.col("_first_m_pos").is_null() | (pl.col("_first_m_pos") > pl.col("_first_c_pos"))
            ),
        )
        .drop("_first_c_pos", "_first_m_pos")
        .pipe(derived_milestones)
    )


def derived_milestones(instances: pl.LazyFrame) -> pl.LazyFrame:
    """Add what follows from an instance's own milestones: age at start and group, C-U first.

    The age at start is the age on the start (A) registration, else the start year less the
    birth year (domain/extract-and-timeline.md §2). Shared by both ways of building the
    instances (this module and :mod:`pakkeforlop.timeline.compiled`).
    """
    return instances.with_columns(
        age_at_start=pl.coalesce(
            "_age_a", pl.col("start_date").dt.year() - pl.col("_birth_year")
        ).cast(PATHWAY_SCHEMA["age_at_start"]),
        extended_assessment=pl.col("first_decision_outcome") == "U",
    ).with_columns(age_group=age_group(pl.col("age_at_start")))
