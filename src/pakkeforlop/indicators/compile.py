"""Compiling indicator definitions to polars: the named building blocks and the unit frames.

See domain/indicators.md §2–§3. A definition (:class:`IndicatorDefinition`) names an anchor, its
denominator, exclusion and numerator predicates and, for duration indicators, a duration; this
module maps each name to a polars expression over a *unit frame* and builds that frame:

* ``pathway`` units: one row per pathway instance (the pathway table, plus helper columns for
  the indicator's pathway-time interval);
* ``evaluation_gap`` units: one row per gap after an evaluation point (E) on or after the final
  clinical decision, exploded from ``evaluation_dates``.

Helper columns every interval adds (names start with ``_``): ``_limit`` (the recommended time
in days, null when the pathway type has none), ``_time_row`` (the row of the pathway-time file
that gave it), ``_due`` (interval start + limit) and ``_check_due`` (the due date by which the
unit's outcome must be known: see :func:`interval_columns`).

Care level of an interval (:func:`interval_inpatient`, domain/indicators.md §2) is the care
level of the registration that ends it: the final clinical decision (``care_level``) for
assessment, the treatment start (``treatment_start_care_level``) for detox-to-treatment, the
evaluation (``evaluation_care_levels``) for evaluation intervals; when nothing has ended it yet,
the registration that starts it (the final C for the first evaluation, the E before for a gap);
then the configurable default (outpatient) [DERIVED]. Day care counts as outpatient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import polars as pl

from pakkeforlop.indicators.models import (
    CareLevelDefault,
    IndicatorDefinition,
    Interval,
    OutcomeCodes,
)
from pakkeforlop.indicators.times import PathwayTimes
from pakkeforlop.periods import Period, period_end, period_first_day, period_number
from pakkeforlop.schema import CARE_LEVEL, PATHWAY_STATUS

__all__ = [
    "ANCHORS",
    "DURATIONS",
    "PREDICATES",
    "Block",
    "CompileContext",
    "check_names",
    "denominator_expr",
    "interval_columns",
    "latest_date",
    "unit_frame",
]


@dataclass(frozen=True)
class CompileContext:
    """What compiling a definition needs beyond the definition itself.

    Attributes:
        codes: The code letters the predicates rely on.
        times: The recommended pathway times.
        unknown_care_level: Limit used when the care level ending an interval is unknown.
        somatic_codes: Local U outcomes mapped to ``somatic_followup`` by a catalogue extension.
    """

    codes: OutcomeCodes
    times: PathwayTimes
    unknown_care_level: CareLevelDefault = "outpatient"
    somatic_codes: tuple[str, ...] = ()
    period: Period = "tertial"
    """The reporting period (units ``open_at_period_end`` are one per period end)."""


class Block(NamedTuple):
    """A named building block: a one-line description and its expression builder."""

    description: str
    build: Callable[[CompileContext], pl.Expr]


def _days(later: str | pl.Expr, earlier: str | pl.Expr) -> pl.Expr:
    """Calendar days from ``earlier`` to ``later`` (domain/extract-and-timeline.md §3)."""
    a = pl.col(later) if isinstance(later, str) else later
    b = pl.col(earlier) if isinstance(earlier, str) else earlier
    return (a - b).dt.total_days().cast(pl.Int32)


def _flag(name: str) -> pl.Expr:
    return pl.col(name).fill_null(False)


def _present(name: str) -> pl.Expr:
    return pl.col(name).is_not_null()


_REF = pl.col("_ref")

#: Predicates, by name. Each yields a Boolean expression (null counts as false).
PREDICATES: Final[dict[str, Block]] = {
    # --- who is in -------------------------------------------------------------------------------
    "has_start": Block("a start (A) is registered", lambda c: _present("start_date")),
    "has_first_attendance": Block(
        "a first attendance (M) is registered", lambda c: _present("first_attendance_date")
    ),
    "has_final_decision": Block(
        "a final clinical decision (C, outcome not U) is registered",
        lambda c: _present("final_decision_date"),
    ),
    "has_clinical_decision": Block(
        "a clinical decision (C) is registered", lambda c: _present("first_decision_date")
    ),
    "has_detox_end": Block(
        "detox finished (D) is registered", lambda c: _present("detox_end_date")
    ),
    "treatment_decision": Block(
        "the final clinical decision is a treatment decision (C-P or C-T)",
        lambda c: pl.col("final_decision_outcome").is_in(list(c.codes.treatment_decision)),
    ),
    "closed": Block(
        "the pathway is closed (X registered)",
        lambda c: pl.col("status") == pl.lit("closed", dtype=PATHWAY_STATUS),
    ),
    "ended_completed": Block(
        "the pathway ended as completed (X-G)",
        lambda c: pl.col("end_reason") == c.codes.completed,
    ),
    # --- exclusions ------------------------------------------------------------------------------
    "direct_to_treatment": Block(
        "direct to treatment: the first C has no M before it",
        lambda c: _flag("direct_to_treatment"),
    ),
    "postponed": Block(
        "postponed by the patient (at least one L)",
        lambda c: pl.col("postponements").fill_null(0) > 0,
    ),
    "postponed_before_decision": Block(
        "postponed by the patient before the assessment ended (an L on or before the final C)",
        lambda c: (pl.col("first_postponement_date") <= pl.col("final_decision_date")).fill_null(
            value=False
        ),
    ),
    "no_recommended_time": Block(
        "no recommended time for the pathway type (e.g. D06)",
        lambda c: pl.col("_limit").is_null(),
    ),
    "outpatient_interval": Block(
        "the interval's care level is outpatient (day care included; see domain/indicators.md §2)",
        lambda c: ~pl.col("_interval_inpatient"),
    ),
    "not_yet_due": Block(
        "the due date (interval start + recommended time) is after the reference date",
        lambda c: pl.col("_check_due") > _REF,
    ),
    "ended_before_due": Block(
        "the pathway ended before the due date",
        lambda c: pl.col("end_date") < pl.col("_check_due"),
    ),
    # --- numerators ------------------------------------------------------------------------------
    "assessed_within_time": Block(
        "days from M to the final C within the (basic or extended) assessment time",
        lambda c: _days("final_decision_date", "first_attendance_date") <= pl.col("_limit"),
    ),
    "ended_rejected": Block(
        "ended with right to care not granted (X-R)",
        lambda c: pl.col("end_reason") == c.codes.rejected,
    ),
    "ended_not_in_pathway": Block(
        "ended as not belonging in a pathway (X-L)",
        lambda c: pl.col("end_reason") == c.codes.not_in_pathway,
    ),
    "treatment_started_within_time": Block(
        "derived treatment start within the recommended days after detox",
        lambda c: _days("treatment_start_date", "detox_end_date") <= pl.col("_limit"),
    ),
    "evaluated_after_decision": Block(
        "at least one E on or after the final C", lambda c: _present("_first_eval")
    ),
    "first_attendance_within_time": Block(
        "first attendance (M) on or before the due date (A + recommended time)",
        lambda c: pl.col("first_attendance_date") <= pl.col("_due"),
    ),
    "first_evaluation_within_time": Block(
        "first E after the final C on or before the due date",
        lambda c: pl.col("_first_eval") <= pl.col("_due"),
    ),
    "gap_within_time": Block(
        "the next E came within the recommended time",
        lambda c: _days("_next_eval", "_eval") <= pl.col("_limit"),
    ),
    "collaboration_registered": Block(
        "a collaboration meeting (S-M or S-I) is registered", lambda c: _present("collaboration")
    ),
    "referrer_feedback_registered": Block(
        "feedback to referrer and GP (F) is registered",
        lambda c: _present("referrer_feedback_date"),
    ),
    "help_needed_registered": Block(
        "help needed at the end (H) is registered", lambda c: _present("help_needed")
    ),
    "plan_registered": Block(
        "treatment plan made together (U-U) is registered", lambda c: _present("plan_date")
    ),
    "information_registered": Block(
        "information about treatment options (U-B) is registered",
        lambda c: _present("information_date"),
    ),
    "feedback_tool_registered": Block(
        "feedback tool used (U-F) is registered", lambda c: _flag("feedback_tool")
    ),
    "standard_tool_registered": Block(
        "standardised measurement tool used (U-V) is registered", lambda c: _flag("standard_tool")
    ),
    "somatic_followup_registered": Block(
        "a local U outcome mapped to somatic_followup is registered",
        lambda c: (
            pl.col("activity_outcomes")
            .list.eval(pl.element().is_in(list(c.somatic_codes)))
            .list.any()
        ),
    ),
}

#: Anchor dates, by name: the date that places a unit in a period.
ANCHORS: Final[dict[str, Block]] = {
    "start_date": Block("start (A)", lambda c: pl.col("start_date")),
    "first_attendance_date": Block(
        "first attendance (M)", lambda c: pl.col("first_attendance_date")
    ),
    "final_decision_date": Block(
        "final clinical decision (C)", lambda c: pl.col("final_decision_date")
    ),
    "detox_end_date": Block("detox finished (D)", lambda c: pl.col("detox_end_date")),
    "end_date": Block("end (X)", lambda c: pl.col("end_date")),
    "due_date": Block("due date (interval start + recommended time)", lambda c: pl.col("_due")),
    "gap_date": Block(
        "the later E, or the due date for a gap still open",
        lambda c: pl.coalesce(pl.col("_next_eval"), pl.col("_due")),
    ),
    "period_end": Block(
        "the last day of each period the pathway is open on", lambda c: pl.col("_period_end")
    ),
}

#: Durations in days, by name, for duration indicators.
DURATIONS: Final[dict[str, Block]] = {
    "attendance_wait_days": Block(
        "days from start (A) to first attendance (M)",
        lambda c: _days("first_attendance_date", "start_date"),
    ),
    "assessment_days": Block(
        "days from first attendance (M) to the final clinical decision (C)",
        lambda c: _days("final_decision_date", "first_attendance_date"),
    ),
}


def latest_date() -> pl.Expr:
    """The latest milestone date in a pathway table, the reference date of last resort.

    A pathway table built by :func:`pakkeforlop.build_pathways` carries its reference date
    (column ``reference_date``); for a table without one (written by hand, or by an older
    version) the latest date any milestone reached stands in for it [DERIVED].

    Returns:
        A scalar date expression (an aggregation over the whole frame).

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame(
        ...     {"start_date": [dt.date(2023, 1, 1)], "end_date": [dt.date(2023, 3, 1)],
        ...      "evaluation_dates": [[dt.date(2023, 4, 1)]]}
        ... )
        >>> df.select(latest_date()).item()
        datetime.date(2023, 4, 1)
    """
    return pl.max_horizontal(
        pl.col(pl.Date).exclude("reference_date").max(),
        pl.col("evaluation_dates").list.max().max(),
    ).alias("_ref")


def _inpatient(care: pl.Expr, ctx: CompileContext) -> pl.Expr:
    """Whether the inpatient limit applies (day care counts as outpatient; unknown → the default).

    ``care`` is a :data:`~pakkeforlop.schema.CARE_LEVEL` column (compared as an enum, no strings).
    """
    inpatient = pl.lit("inpatient", dtype=CARE_LEVEL)
    return (care == inpatient).fill_null(ctx.unknown_care_level == "inpatient")


def interval_inpatient(
    ending: pl.Expr | None, starting: pl.Expr | None, ctx: CompileContext
) -> pl.Expr:
    """Whether an interval is judged at the inpatient limit (domain/indicators.md §2).

    The care level of an interval is that of the registration that ends it; when nothing has
    ended it yet, that of the registration that starts it; when neither has one, the
    configurable default (outpatient) [DERIVED]. Day care counts as outpatient. The one rule for
    every interval: assessment (ended by the final C), detox to treatment (ended by the
    treatment start, started by the detox end D), the first evaluation (ended by the first E,
    started by the final C) and the gaps between evaluations (ended by the next E, started by
    the E before).

    Args:
        ending: The care level of the registration that ends the interval (null if none yet).
        starting: The care level of the registration that starts it (``None``: not known).
        ctx: The compile context (the default).

    Returns:
        A Boolean expression.
    """
    levels = [e for e in (ending, starting) if e is not None]
    care = pl.coalesce(levels) if levels else pl.lit(None, dtype=CARE_LEVEL)
    return _inpatient(care, ctx)


def _lookup(interval: Interval, inpatient: pl.Expr, ctx: CompileContext) -> tuple[pl.Expr, pl.Expr]:
    """The recommended days and the time-file row number for each unit's pathway type."""
    rows = ctx.times.for_interval(interval)
    ptype = pl.col("pathway_type")  # an enum: replace_strict maps it without building strings

    def by_type(values: dict[str, int]) -> pl.Expr:
        return ptype.replace_strict(values, default=None, return_dtype=pl.Int32)

    days = (
        pl.when(inpatient)
        .then(by_type({t.pathway_type: t.inpatient for _, t in rows}))
        .otherwise(by_type({t.pathway_type: t.outpatient for _, t in rows}))
    )
    return days, by_type({t.pathway_type: i for i, t in rows})


def _plus_days(date: str, days: str) -> pl.Expr:
    return pl.col(date) + pl.duration(days=pl.col(days))


def _evaluations_before_decision() -> pl.Expr:
    """How many evaluation dates fall before the final clinical decision (dates are sorted)."""
    diff = pl.col("evaluation_dates").list.eval(pl.element().cast(pl.Int32)) - pl.col(
        "final_decision_date"
    ).cast(pl.Int32)
    return diff.list.eval(pl.element() < 0).list.sum()


def interval_columns(frame: pl.LazyFrame, interval: Interval, ctx: CompileContext) -> pl.LazyFrame:
    """Add the helper columns of one pathway-time interval to a pathway frame.

    ``_check_due`` is the date by which a unit's outcome must be known, used by the
    ``not_yet_due`` and ``ended_before_due`` exclusions: for assessment it is null (never
    pending: the unit needs a final decision); for detox-to-treatment it is the due date while no
    treatment start is registered; for the first evaluation it is always the due date (the
    indicator counts pathways whose first evaluation fell due and that were open then).

    Args:
        frame: A pathway frame (PATHWAY_SCHEMA columns).
        interval: The interval (not ``between_evaluations``: see :func:`unit_frame`).
        ctx: The compile context.

    Returns:
        The frame with ``_limit``, ``_time_row``, ``_due``, ``_check_due`` (and, for the first
        evaluation, ``_first_eval``).
    """
    if interval == "assessment":
        extended = _flag("extended_assessment")
        inpatient = interval_inpatient(pl.col("care_level"), None, ctx)
        basic_days, basic_row = _lookup("assessment", inpatient, ctx)
        ext_days, ext_row = _lookup("extended_assessment", inpatient, ctx)
        return frame.with_columns(
            pl.when(extended).then(ext_days).otherwise(basic_days).alias("_limit"),
            pl.when(extended).then(ext_row).otherwise(basic_row).alias("_time_row"),
            inpatient.alias("_interval_inpatient"),
        ).with_columns(
            _plus_days("first_attendance_date", "_limit").alias("_due"),
            pl.lit(None, dtype=pl.Date).alias("_check_due"),
        )
    if interval == "detox_to_treatment":
        ending = interval_inpatient(
            pl.col("treatment_start_care_level"), pl.col("detox_end_care_level"), ctx
        )
        return _pending_interval(
            frame, interval, ending, start="detox_end_date", end="treatment_start_date", ctx=ctx
        )
    if interval == "first_attendance":
        # ended by M (its care level is not in the pathway table), started by A: the default
        ending = interval_inpatient(None, None, ctx)
        return _pending_interval(
            frame, interval, ending, start="start_date", end="first_attendance_date", ctx=ctx
        )
    if interval == "first_evaluation":
        before = _evaluations_before_decision()
        framed = frame.with_columns(before.alias("_off")).with_columns(
            pl.col("evaluation_dates")
            .list.get(pl.col("_off"), null_on_oob=True)
            .alias("_first_eval"),
            pl.col("evaluation_care_levels")
            .list.get(pl.col("_off"), null_on_oob=True)
            .alias("_first_eval_care"),
        )
        # no evaluation yet: judged at the care level of the final C that starts the interval
        inpatient = interval_inpatient(pl.col("_first_eval_care"), pl.col("care_level"), ctx)
        days, row = _lookup(interval, inpatient, ctx)
        return (
            framed.with_columns(
                days.alias("_limit"), row.alias("_time_row"), inpatient.alias("_interval_inpatient")
            )
            .with_columns(_plus_days("final_decision_date", "_limit").alias("_due"))
            .with_columns(pl.col("_due").alias("_check_due"))
        )
    msg = f"interval {interval!r} has no pathway-unit helper columns"
    raise ValueError(msg)


def _pending_interval(
    frame: pl.LazyFrame,
    interval: Interval,
    inpatient: pl.Expr,
    *,
    start: str,
    end: str,
    ctx: CompileContext,
) -> pl.LazyFrame:
    """Helper columns of an interval from ``start`` to ``end`` that may not have ended yet.

    While ``end`` is not registered the unit's outcome is pending until the due date
    (``_check_due``: the ``not_yet_due`` and ``ended_before_due`` exclusions read it).
    """
    days, row = _lookup(interval, inpatient, ctx)
    return (
        frame.with_columns(
            days.alias("_limit"), row.alias("_time_row"), inpatient.alias("_interval_inpatient")
        )
        .with_columns(_plus_days(start, "_limit").alias("_due"))
        .with_columns(pl.when(pl.col(end).is_null()).then(pl.col("_due")).alias("_check_due"))
    )


def _open_frame(frame: pl.LazyFrame, ctx: CompileContext) -> pl.LazyFrame:
    """One row per pathway and period end on which the pathway is open (``_period_end``).

    Open on a day: started on or before it and not ended before it (a pathway whose X falls on
    that day was still open, domain/indicators.md §3). Only period ends on or before the
    reference date count.
    """
    per = ctx.period
    start = pl.col("start_date")
    last = pl.min_horizontal(pl.coalesce(pl.col("end_date"), _REF), _REF)
    # the periods from the start's to the last day's, as a range of period numbers (a range of
    # dates by calendar steps cost three times as much)
    numbers = pl.int_ranges(period_number(start, per), period_number(last, per) + 1)
    exploded = (
        frame.filter(start.is_not_null() & (start <= _REF))
        .with_columns(numbers.alias("_p"))
        .explode("_p")
        .with_columns(period_end(period_first_day(pl.col("_p"), per), per).alias("_period_end"))
    )
    end = pl.col("_period_end")
    still_open = pl.col("end_date").is_null() | (pl.col("end_date") >= end)
    return exploded.filter((end >= start) & still_open & (end <= _REF)).drop("_p")


def _gap_frame(frame: pl.LazyFrame, ctx: CompileContext) -> pl.LazyFrame:
    """One row per gap after an evaluation on or after the final clinical decision.

    A gap runs from an E to the next E (``_next_eval``; null for the gap after the last E, which
    is still open). Its care level is that of the next E; for an open gap, that of the E that
    opens it (:func:`interval_inpatient`).

    The evaluation lists are exploded once; the next E is the next exploded row unless the row is
    the last element of its list (evaluations before the decision are a prefix of the sorted
    list, so dropping them afterwards never separates an E from its successor).
    """
    dates = pl.col("evaluation_dates")
    n = dates.list.len()
    levels = pl.col("evaluation_care_levels")
    # care levels not aligned with the dates (a hand-made table) count as unknown
    aligned = pl.when(levels.list.len() == n).then(levels)
    care = aligned.otherwise(pl.lit(None, dtype=CARE_LEVEL).repeat_by(n))
    last = pl.col("_pos") == pl.col("_n") - 1
    gaps = (
        frame.filter(pl.col("evaluation_count").fill_null(0) > 0)
        .with_columns(
            dates.alias("_eval"),
            care.alias("_care"),
            pl.int_ranges(0, n).alias("_pos"),
            n.cast(pl.Int64).alias("_n"),
        )
        .explode(["_eval", "_care", "_pos"])
        .with_columns(
            pl.when(~last).then(pl.col("_eval").shift(-1)).alias("_next_eval"),
            pl.when(~last).then(pl.col("_care").shift(-1)).alias("_next_care"),
        )
        .filter(pl.col("_eval") >= pl.col("final_decision_date"))
    )
    closed = pl.col("_next_eval").is_not_null()
    # a gap nothing has closed yet is judged at the care level of the E that opens it
    inpatient = interval_inpatient(pl.when(closed).then(pl.col("_next_care")), pl.col("_care"), ctx)
    days, row = _lookup("between_evaluations", inpatient, ctx)
    return (
        gaps.with_columns(
            days.alias("_limit"), row.alias("_time_row"), inpatient.alias("_interval_inpatient")
        )
        .with_columns(_plus_days("_eval", "_limit").alias("_due"))
        .with_columns(pl.when(~closed).then(pl.col("_due")).alias("_check_due"))
    )


def _all(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal(*(e.fill_null(False) for e in exprs)) if exprs else pl.lit(True)


def _any(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal(*(e.fill_null(False) for e in exprs)) if exprs else pl.lit(False)


def denominator_expr(definition: IndicatorDefinition, ctx: CompileContext) -> pl.Expr:
    """Whether a unit is in the denominator: all denominator predicates, no exclusion, type kept.

    Args:
        definition: The indicator.
        ctx: The compile context.

    Returns:
        A Boolean expression over the unit frame.
    """
    keep = [PREDICATES[n].build(ctx) for n in definition.denominator]
    drop = [PREDICATES[n].build(ctx) for n in definition.exclusions]
    ptype = pl.col("pathway_type")
    if definition.pathway_types is not None:
        keep.append(ptype.is_in(list(definition.pathway_types)))
    if definition.excluded_pathway_types:
        drop.append(ptype.is_in(list(definition.excluded_pathway_types)))
    return _all(keep) & ~_any(drop)


def unit_frame(
    pathways: pl.LazyFrame,
    definition: IndicatorDefinition,
    ctx: CompileContext,
    *,
    by: Sequence[str] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.LazyFrame:
    """The denominator units of one indicator, with anchor, numerator flag, days and time row.

    Args:
        pathways: The pathway table (PATHWAY_SCHEMA) with a ``_ref`` column (reference date).
        definition: The indicator.
        ctx: The compile context.
        by: Stratum columns to carry.
        start: Keep units anchored on or after this date.
        end: Keep units anchored on or before this date.

    Returns:
        A lazy frame with the ``by`` columns, ``_anchor`` (Date), ``_num`` (Boolean; null for
        duration indicators), ``_days`` (Int32; null for proportion indicators) and
        ``_time_row`` (Int32, the pathway-time row used; null when none).

    Raises:
        ValueError: If the definition names an unknown building block (a programming error:
            definitions are checked when the catalogue is loaded).
    """
    if definition.unit == "evaluation_gap":
        frame = _gap_frame(pathways, ctx)
    elif definition.unit == "open_at_period_end":
        frame = _open_frame(pathways, ctx).with_columns(
            pl.lit(None, dtype=pl.Int32).alias("_time_row")
        )
    elif definition.interval is not None:
        frame = interval_columns(pathways, definition.interval, ctx)
    else:
        frame = pathways.with_columns(pl.lit(None, dtype=pl.Int32).alias("_time_row"))
    anchor = ANCHORS[definition.anchor].build(ctx)
    keep = denominator_expr(definition, ctx) & anchor.is_not_null()
    if start is not None:
        keep = keep & (anchor >= start)
    if end is not None:
        keep = keep & (anchor <= end)
    if definition.kind == "proportion":
        num = _all([PREDICATES[n].build(ctx) for n in definition.numerator])
        days = pl.lit(None, dtype=pl.Int32)
    elif definition.kind == "count":
        num = pl.lit(value=True)  # every unit counts
        days = pl.lit(None, dtype=pl.Int32)
    else:
        num = pl.lit(None, dtype=pl.Boolean)
        assert definition.duration is not None  # checked by the model
        days = DURATIONS[definition.duration].build(ctx)
    return frame.filter(keep).select(
        *by,
        anchor.alias("_anchor"),
        num.alias("_num"),
        days.alias("_days"),
        pl.col("_time_row").cast(pl.Int32),
    )


def check_names(definition: IndicatorDefinition) -> list[str]:
    """Names in a definition that are not building blocks (empty when all are known).

    Args:
        definition: The definition to check.

    Returns:
        Messages, one per unknown name.
    """
    problems = [
        f"unknown predicate {n!r}"
        for n in (*definition.denominator, *definition.exclusions, *definition.numerator)
        if n not in PREDICATES
    ]
    if definition.anchor not in ANCHORS:
        problems.append(f"unknown anchor {definition.anchor!r}")
    if definition.duration is not None and definition.duration not in DURATIONS:
        problems.append(f"unknown duration {definition.duration!r}")
    if definition.unit == "evaluation_gap" and definition.interval != "between_evaluations":
        problems.append("evaluation_gap units need interval = 'between_evaluations'")
    return problems
