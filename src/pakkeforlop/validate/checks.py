"""The validate-stage rules: plausibility of pathways and data-quality signals per unit.

The reader and the timeline report the register's own checks (domain/codes.md §6) and the
reconstruction findings (domain/extract-and-timeline.md §2). These rules add what only a view of
the whole extract shows: pathways open far longer than plausible, and institutions whose
registrations look incomplete. All limits are options (:class:`ValidationThresholds`); the domain
notes give none of them, so the defaults are our own choice [DERIVED].
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from pakkeforlop.findings import finding_rows
from pakkeforlop.validate.report import ValidationThresholds, materialised

__all__ = [
    "last_complete_month",
    "no_usable_registrations",
    "open_too_long",
    "start_rows",
    "unit_never_registers",
    "unit_sudden_drop",
    "validate_stage_findings",
]


def no_usable_registrations(source: str, rows_read: int, excluded: dict[str, int]) -> pl.LazyFrame:
    """``no_usable_registrations``: the whole extract, when no row can feed the pathways.

    Args:
        source: What was validated.
        rows_read: Rows read.
        excluded: Rows excluded, by reason.

    Returns:
        One finding about the whole extract (no row).

    Examples:
        >>> f = no_usable_registrations("x.csv", 2, {"bad_date": 2}).collect()
        >>> f["rule_id"].item(), f["severity"].item()
        ('no_usable_registrations', 'error')
    """
    reasons = ", ".join(f"{k} {v:,}" for k, v in excluded.items() if v)
    what = (
        f"all {rows_read:,} rows read are excluded" + (f" ({reasons})" if reasons else "")
        if rows_read
        else "it holds no registrations"
    )
    message = f"{source}: no usable registration: {what}; expected at least one usable row"
    whole = pl.LazyFrame({"source_file": [source]})
    return finding_rows(
        whole.with_columns(pl.lit(None, dtype=pl.UInt64).alias("source_row")),
        "no_usable_registrations",
        pl.lit(message),
    )


#: The columns that tie a pathway to its start (A) row in the event table.
_START_KEYS: Final = ("patient_id", "institution_id", "pathway_type", "start_date")


def start_rows(
    events: pl.LazyFrame | pl.DataFrame, of: pl.LazyFrame | pl.DataFrame | None = None
) -> pl.LazyFrame:
    """The source row of each start (A), keyed like the pathway it opens.

    Used to point pathway-level findings at the line a user can open (the A row), as the
    timeline's pathway-level findings do.

    Args:
        events: The canonical event table.
        of: Only the starts of these pathways (columns ``patient_id``, ``institution_id``,
            ``pathway_type`` as text, ``start_date``): the few a finding needs, so that only
            their rows are grouped, not every start of the extract.

    Returns:
        Columns ``patient_id``, ``institution_id``, ``pathway_type``, ``start_date``,
        ``source_file``, ``source_row`` (the first such row when a start is duplicated).

    Examples:
        >>> import datetime as dt
        >>> ev = pl.LazyFrame({"patient_id": ["p1", "p1", "p2"], "institution_id": ["u"] * 3,
        ...     "pathway_type": ["D11"] * 3, "event": ["A", "A", "A"],
        ...     "event_date": [dt.date(2023, 1, 2), dt.date(2023, 5, 2), dt.date(2023, 1, 2)],
        ...     "source_file": ["x.csv"] * 3, "source_row": [2, 3, 4]})
        >>> wanted = pl.LazyFrame({"patient_id": ["p1"], "institution_id": ["u"],
        ...     "pathway_type": ["D11"], "start_date": [dt.date(2023, 5, 2)]})
        >>> start_rows(ev, of=wanted).collect()["source_row"].to_list()
        [3]
    """
    starts = (
        events.lazy()
        .filter(pl.col("event") == "A")
        .select(
            "patient_id",
            "institution_id",
            pl.col("pathway_type").cast(pl.String),
            pl.col("event_date").alias("start_date"),
            "source_file",
            "source_row",
        )
    )
    if of is not None:
        wanted = of.lazy().select(_START_KEYS).unique()
        starts = starts.join(wanted, on=_START_KEYS, how="semi", nulls_equal=True)
    return starts.group_by(_START_KEYS).agg(
        pl.col("source_file", "source_row").sort_by("source_file", "source_row").first()
    )


def open_too_long(
    pathways: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: dt.date,
    limit_days: int = 1095,
    events: pl.LazyFrame | pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Findings ``open_too_long``: open pathways that started more than ``limit_days`` ago.

    A pathway is *open* when it has no end (X) by the reference date (domain/extract-and-timeline.md
    §2). No rule says how long a pathway may last; three years is our default [DERIVED].

    Args:
        pathways: The pathway table (:data:`~pakkeforlop.schema.PATHWAY_SCHEMA`; uses
            ``pathway_key``, ``patient_id``, ``status`` and ``start_date``).
        as_of: The reference date the age of the pathway is measured to.
        limit_days: The longest plausible time open, in calendar days.
        events: The event table the pathways were built from; when given, each finding points
            at the pathway's start (A) row.

    Returns:
        One finding per pathway, about its ``start_date``.

    Examples:
        >>> import datetime as dt
        >>> p = pl.LazyFrame(
        ...     {
        ...         "pathway_key": ["a", "b", "c"],
        ...         "status": ["open", "open", "closed"],
        ...         "start_date": [dt.date(2019, 1, 1), dt.date(2022, 1, 1), dt.date(2019, 1, 1)],
        ...     }
        ... )
        >>> open_too_long(p, as_of=dt.date(2023, 1, 1)).collect()["pathway_key"].to_list()
        ['a']
    """
    days = (pl.lit(as_of, dtype=pl.Date) - pl.col("start_date")).dt.total_days()
    flagged = pathways.lazy().filter(
        (pl.col("status").cast(pl.String) == "open")
        & pl.col("start_date").is_not_null()
        & (days > limit_days)
    )
    if events is not None:
        flagged = materialised(flagged.with_columns(pl.col("pathway_type").cast(pl.String)))
        flagged = flagged.join(
            start_rows(events, of=flagged), on=_START_KEYS, how="left", nulls_equal=True
        )
    flagged = materialised(flagged)
    message = pl.format(
        "pathway open for {} days on {} (limit {} days)",
        days,
        pl.lit(as_of.isoformat()),
        pl.lit(limit_days),
    )
    return finding_rows(
        flagged, "open_too_long", message, column="start_date", value=pl.col("start_date")
    )


def unit_never_registers(
    pathways: pl.LazyFrame | pl.DataFrame,
    *,
    min_pathways: int = 20,
    treatment_outcomes: tuple[str, ...] = ("P", "T"),
) -> pl.LazyFrame:
    """Findings ``unit_never_registers``: institutions that never register a plan or an evaluation.

    Among an institution's closed pathways whose final clinical decision was a treatment decision
    (C-P or C-T, domain/indicators.md §3), none has a treatment plan made with the patient (U-U,
    ``plan_date``) or none has an evaluation point (E, ``evaluation_count``). Such a unit most
    likely does not register the code at all, which biases the involvement and coordination
    indicators. Only institutions with at least ``min_pathways`` such pathways are judged.

    Args:
        pathways: The pathway table (uses ``institution_id``, ``status``,
            ``final_decision_outcome``, ``plan_date`` and ``evaluation_count``).
        min_pathways: The fewest closed treatment pathways an institution must have.
        treatment_outcomes: Final-decision outcomes that count as a treatment decision.

    Returns:
        Up to two findings per institution (one for U-U, one for E), about ``institution_id``.

    Examples:
        >>> import datetime as dt
        >>> p = pl.LazyFrame(
        ...     {
        ...         "institution_id": ["u1"] * 3 + ["u2"] * 3,
        ...         "status": ["closed"] * 6,
        ...         "final_decision_outcome": ["P"] * 6,
        ...         "plan_date": [None] * 3 + [dt.date(2020, 1, 1)] * 3,
        ...         "evaluation_count": [1, 0, 0, 0, 0, 0],
        ...     }
        ... )
        >>> f = unit_never_registers(p, min_pathways=3).collect()
        >>> f["value"].to_list()
        ['u1', 'u2']
        >>> for message in f["message"]:  # doctest: +NORMALIZE_WHITESPACE
        ...     print(message)
        institution u1: none of 3 closed pathways with a treatment decision has a treatment plan
        made with the patient (U-U)
        institution u2: none of 3 closed pathways with a treatment decision has an evaluation
        point (E)
    """
    return unit_never_registers_from_counts(
        unit_treatment_counts(pathways, treatment_outcomes=treatment_outcomes),
        min_pathways=min_pathways,
    )


def unit_treatment_counts(
    pathways: pl.LazyFrame | pl.DataFrame, *, treatment_outcomes: tuple[str, ...] = ("P", "T")
) -> pl.LazyFrame:
    """Per institution: closed pathways with a treatment decision, and how many have a plan / an E.

    The counts of :func:`unit_never_registers`. They add up over disjoint sets of pathways (patient
    partitions), so a partitioned run keeps these few rows per partition, not its pathways.

    Args:
        pathways: The pathway table (or part of it).
        treatment_outcomes: Final-decision outcomes that count as a treatment decision.

    Returns:
        ``institution_id``, ``pathways``, ``plans``, ``evaluated`` (UInt32 counts).
    """
    return (
        pathways.lazy()
        .filter(
            (pl.col("status").cast(pl.String) == "closed")
            & pl.col("final_decision_outcome").is_in(list(treatment_outcomes))
            & pl.col("institution_id").is_not_null()
        )
        .group_by("institution_id")
        .agg(
            pl.len().cast(pl.UInt32).alias("pathways"),
            pl.col("plan_date").is_not_null().sum().cast(pl.UInt32).alias("plans"),
            (pl.col("evaluation_count").fill_null(0) > 0).sum().cast(pl.UInt32).alias("evaluated"),
        )
    )


def unit_never_registers_from_counts(
    counts: pl.LazyFrame | pl.DataFrame, *, min_pathways: int = 20
) -> pl.LazyFrame:
    """:func:`unit_never_registers` from :func:`unit_treatment_counts`.

    Rows of one institution may repeat (one per partition): they are added up first.
    """
    per_unit = (
        counts.lazy()
        .group_by("institution_id")
        .agg(pl.col("pathways", "plans", "evaluated").sum())
        .filter(pl.col("pathways") >= min_pathways)
    )
    per_unit = materialised(per_unit)

    def missing(count: str, what: str) -> pl.LazyFrame:
        message = pl.format(
            "institution {}: none of {} closed pathways with a treatment decision has {}",
            pl.col("institution_id"),
            pl.col("pathways"),
            pl.lit(what),
        )
        return finding_rows(
            per_unit.filter(pl.col(count) == 0),
            "unit_never_registers",
            message,
            column="institution_id",
            value=pl.col("institution_id"),
        )

    return pl.concat(
        [
            missing("plans", "a treatment plan made with the patient (U-U)"),
            missing("evaluated", "an evaluation point (E)"),
        ]
    ).sort("value", "message")


def last_complete_month(as_of: dt.date) -> dt.date:
    """The first day of the last calendar month that ends on or before ``as_of``.

    The month holding the reference date is incomplete unless the reference date is its last
    day, and an incomplete month would look like a drop.

    Args:
        as_of: The reference date.

    Returns:
        The first day of that month.

    Examples:
        >>> last_complete_month(dt.date(2021, 3, 31)), last_complete_month(dt.date(2021, 3, 30))
        (datetime.date(2021, 3, 1), datetime.date(2021, 2, 1))
        >>> last_complete_month(dt.date(2021, 1, 15))
        datetime.date(2020, 12, 1)
    """
    after = as_of + dt.timedelta(days=1)
    year, month = (after.year, after.month - 1) if after.month > 1 else (after.year - 1, 12)
    return dt.date(year, month, 1)


def unit_sudden_drop(
    events: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: dt.date,
    drop_share: float = 0.7,
    min_count: int = 50,
) -> pl.LazyFrame:
    """Findings ``unit_sudden_drop``: an institution's monthly registrations fell sharply.

    Registrations (rows of the event table) are counted per institution and calendar month, from
    the institution's first month to the last complete month before the reference date; months
    without any registration count as zero, so a unit that stopped registering is found. A month
    is flagged when the month before had at least ``min_count`` registrations and the count fell
    by more than ``drop_share`` of it. Registrations after ``as_of`` are left out (the reader
    reports them).

    Args:
        events: The canonical event table (uses ``institution_id`` and ``event_date``), or
            registrations already counted per institution and date in a ``registrations``
            column (so partitions can be counted apart and added up).
        as_of: The reference date.
        drop_share: The fall, as a share of the earlier month, that counts as sudden.
        min_count: The fewest registrations the earlier month must have.

    Returns:
        One finding per institution and month of a drop, about ``institution_id``.

    Examples:
        >>> import datetime as dt
        >>> days = [dt.date(2021, 1, 5)] * 10 + [dt.date(2021, 2, 5)] * 2
        >>> days += [dt.date(2021, 3, 5)] * 2
        >>> ev = pl.LazyFrame({"institution_id": ["u1"] * 14, "event_date": days})
        >>> f = unit_sudden_drop(ev, as_of=dt.date(2021, 3, 31), min_count=10).collect()
        >>> f["message"].to_list()
        ['institution u1: 2 registrations in 2021-02, down 80 % from 10 in 2021-01']
    """
    last = last_complete_month(as_of)
    # pre-counted registrations (a `registrations` column, as partitioned runs pass) or rows
    names = events.lazy().collect_schema().names()
    weight = pl.col("registrations") if "registrations" in names else pl.lit(1, dtype=pl.Int64)
    monthly = (
        events.lazy()
        .filter(
            pl.col("institution_id").is_not_null()
            & pl.col("event_date").is_not_null()
            & (pl.col("event_date") <= as_of)
        )
        .select(
            "institution_id",
            pl.col("event_date").dt.truncate("1mo").alias("month"),
            weight.alias("_weight"),
        )
        .filter(pl.col("month") <= last)
        .group_by("institution_id", "month")
        .agg(pl.col("_weight").sum().cast(pl.Int64).alias("count"))
    )
    grid = (
        monthly.group_by("institution_id")
        .agg(pl.col("month").min().alias("first"))
        .select(
            "institution_id",
            pl.date_ranges("first", pl.lit(last, dtype=pl.Date), "1mo").alias("month"),
        )
        .explode("month")
    )
    flagged = (
        grid.join(monthly, on=["institution_id", "month"], how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort("institution_id", "month")
        .with_columns(
            pl.col("count").shift(1).over("institution_id").alias("before"),
            pl.col("month").shift(1).over("institution_id").alias("month_before"),
        )
        .filter(
            (pl.col("before") >= min_count)
            & ((pl.col("before") - pl.col("count")) > drop_share * pl.col("before"))
        )
    )
    flagged = materialised(flagged)
    message = pl.format(
        "institution {}: {} registrations in {}, down {} % from {} in {}",
        pl.col("institution_id"),
        pl.col("count"),
        pl.col("month").dt.strftime("%Y-%m"),
        (100 * (pl.col("before") - pl.col("count")) / pl.col("before")).round(0).cast(pl.Int64),
        pl.col("before"),
        pl.col("month_before").dt.strftime("%Y-%m"),
    )
    return finding_rows(
        flagged,
        "unit_sudden_drop",
        message,
        column="institution_id",
        value=pl.col("institution_id"),
    )


def validate_stage_findings(
    events: pl.LazyFrame | pl.DataFrame,
    pathways: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: dt.date,
    thresholds: ValidationThresholds | None = None,
) -> pl.LazyFrame:
    """Every validate-stage finding (open too long, unit never registers, unit sudden drop).

    Args:
        events: The canonical event table.
        pathways: The pathway table built from it.
        as_of: The reference date.
        thresholds: The limits (defaults of :class:`ValidationThresholds` when ``None``).

    Returns:
        A lazy findings table; pathway-level findings point at the pathway's start (A) row.
    """
    t = thresholds or ValidationThresholds()
    return pl.concat(
        [
            open_too_long(pathways, as_of=as_of, limit_days=t.open_limit_days, events=events),
            unit_never_registers(
                pathways, min_pathways=t.unit_min_pathways, treatment_outcomes=t.treatment_outcomes
            ),
            unit_sudden_drop(
                events, as_of=as_of, drop_share=t.unit_drop_share, min_count=t.unit_drop_min_count
            ),
        ]
    )
