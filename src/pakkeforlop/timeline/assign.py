"""Assigning registrations to pathway instances (domain/extract-and-timeline.md §2, rules 1–5).

The result is the *ordered* event table with, per row, the instance it belongs to (``_type``,
``_k``: the k-th start of that type in its group) or why it belongs to none (``assignment``).
Everything is vectorised: a group is (patient, institution, given pathway id); within a group and
type, the instance number is the running count of starts (A), and a row belongs to instance ``k``
when no end (X) of that instance comes before it.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from pakkeforlop.schema import PATHWAY_TYPE

__all__ = ["ASSIGNMENT", "GROUP", "GROUP_ID", "assign_instances", "order_events"]

#: What became of each registration.
ASSIGNMENT: Final = pl.Enum(["assigned", "orphan", "ambiguous", "excluded"])

#: The columns that define a group within which pathways are reconstructed (rule 1 and 2): a given
#: pathway id refines the grouping, so given instances are checked by the same rules.
GROUP: Final = ("patient_id", "institution_id", "pathway_id")

#: A dense integer id of the group, numbered in sorted order (windows on one integer column are
#: far cheaper than on three strings).
GROUP_ID: Final = "_gid"

_INF: Final = 2**62
_MAX_PASSES: Final = 10


def order_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """Order registrations by group, date and the fixed same-day event order (rule 2).

    Ties are broken by type, outcome and source position, so the order (and everything built on
    it) does not depend on the row order of the input. Adds ``_pos``, the row's position, and
    ``_usable``: whether the row has what assignment needs (patient, institution, date, event).
    """
    usable = pl.all_horizontal(
        pl.col("patient_id").is_not_null(),
        pl.col("institution_id").is_not_null(),
        pl.col("event_date").is_not_null(),
        pl.col("event").is_not_null(),
    )
    return (
        events.with_columns(_usable=usable)
        .sort(
            [
                "patient_id",
                "institution_id",
                "pathway_id",
                "event_date",
                "event",
                "pathway_type",
                "outcome",
                "source_file",
                "source_row",
            ],
            nulls_last=True,
        )
        .with_row_index("_pos")
        .with_columns(
            pl.col("_pos").cast(pl.Int64),
            pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in GROUP)
            .cum_sum()
            .cast(pl.Int64)
            .alias(GROUP_ID),
        )
    )


def _typed_instances(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Number instances per (group, type) and mark rows before a start or after an end."""
    is_a = (pl.col("event") == "A").cast(pl.Int32)
    is_x = (pl.col("event") == "X").cast(pl.Int32)
    keys = [GROUP_ID, "_type"]
    return frame.with_columns(_k=is_a.cum_sum().over(keys)).with_columns(
        _x_before=(is_x.cum_sum() - is_x).over([*keys, "_k"])
    )


def _open_intervals(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Per instance: the position of its start, of its end (X) and of the next start of its type."""
    members = frame.filter(
        pl.col("_type").is_not_null() & (pl.col("_k") > 0) & (pl.col("_x_before") == 0)
    )
    inst = members.group_by([GROUP_ID, "_type", "_k"]).agg(
        _open=pl.col("_pos").filter(pl.col("event") == "A").min(),
        _close=pl.col("_pos").filter(pl.col("event") == "X").min().fill_null(_INF),
    )
    return inst.sort([GROUP_ID, "_type", "_k"], nulls_last=True).with_columns(
        _next_open=pl.col("_open").shift(-1).over([GROUP_ID, "_type"]).fill_null(_INF)
    )


def _resolve_typeless(multi: pl.DataFrame) -> pl.DataFrame:
    """Give typeless rows of multi-type groups the type of the only instance open there (rule 3).

    A typeless end (X) closes the instance it joins, which can leave a single open instance for
    later typeless rows; so this repeats until nothing changes (a few passes at most).
    """
    frame = multi
    for _ in range(_MAX_PASSES):
        typed = _typed_instances(frame.lazy())
        intervals = _open_intervals(typed)
        pending = typed.filter(pl.col("_type").is_null() & pl.col("_usable")).select(
            GROUP_ID, "_pos"
        )
        found = (
            pending.join(intervals, on=GROUP_ID, how="inner")
            .filter(
                (pl.col("_open") < pl.col("_pos"))
                & (pl.col("_pos") <= pl.col("_close"))
                & (pl.col("_pos") < pl.col("_next_open"))
            )
            .group_by("_pos")
            .agg(_n=pl.len(), _only=pl.col("_type").first())
            .filter(pl.col("_n") == 1)
            .select("_pos", "_only")
            .collect()
        )
        if found.height == 0:
            break
        frame = (
            frame.join(found, on="_pos", how="left")
            .with_columns(pl.coalesce("_type", "_only").alias("_type"))
            .drop("_only")
        )
    return frame


def _typeless_fate(typed: pl.LazyFrame) -> pl.LazyFrame:
    """Why a typeless row that found no single instance was not assigned: 0 or several open."""
    intervals = _open_intervals(typed)
    pending = typed.filter(pl.col("_type").is_null() & pl.col("_usable")).select(GROUP_ID, "_pos")
    counts = (
        pending.join(intervals, on=GROUP_ID, how="inner")
        .group_by("_pos")
        .agg(
            _n_open=(
                (pl.col("_open") < pl.col("_pos"))
                & (pl.col("_pos") <= pl.col("_close"))
                & (pl.col("_pos") < pl.col("_next_open"))
            ).sum(),
            _started_before=(pl.col("_open") < pl.col("_pos")).any(),
        )
    )
    return counts


def assign_instances(ordered: pl.DataFrame) -> pl.DataFrame:
    """Assign every ordered registration to an instance, or say why not.

    Args:
        ordered: The output of :func:`order_events`, collected.

    Returns:
        The same rows with ``_type`` (the instance's type), ``_k`` (its start number within the
        group and type), ``assignment`` (:data:`ASSIGNMENT`) and ``orphan_rule`` (``no_start``,
        ``event_after_end`` or ``ambiguous_event``; null when assigned or excluded).
    """
    starts = pl.col("pathway_type").filter(pl.col("event") == "A").drop_nulls()
    framed = ordered.with_columns(
        _n_types=starts.n_unique().over(GROUP_ID),
        _group_type=starts.first().over(GROUP_ID),
    ).with_columns(
        _type=pl.when(pl.col("_usable"))
        .then(
            pl.when(pl.col("_n_types") <= 1)
            .then(pl.coalesce("pathway_type", "_group_type"))
            .otherwise(pl.col("pathway_type"))
        )
        .cast(PATHWAY_TYPE)
    )
    needs_resolution = (pl.col("_n_types") > 1) & (
        (pl.col("pathway_type").is_null() & pl.col("_usable")).any().over(GROUP_ID)
    )
    multi = framed.filter(needs_resolution)
    if multi.height:
        resolved = _resolve_typeless(multi)
        framed = pl.concat([framed.filter(~needs_resolution), resolved]).sort("_pos")
    typed = _typed_instances(framed.lazy())
    fate = _typeless_fate(typed)
    return (
        typed.join(fate, on="_pos", how="left")
        .with_columns(
            assignment=pl.when(~pl.col("_usable"))
            .then(pl.lit("excluded"))
            .when(pl.col("_type").is_null() & (pl.col("_n_open").fill_null(0) > 1))
            .then(pl.lit("ambiguous"))
            .when(pl.col("_type").is_null() | (pl.col("_k") == 0) | (pl.col("_x_before") > 0))
            .then(pl.lit("orphan"))
            .otherwise(pl.lit("assigned"))
            .cast(ASSIGNMENT),
        )
        .with_columns(
            orphan_rule=pl.when(pl.col("assignment") == "ambiguous")
            .then(pl.lit("ambiguous_event"))
            .when(pl.col("assignment") == "orphan")
            .then(
                pl.when(
                    (pl.col("_type").is_not_null() & (pl.col("_k") > 0))
                    | pl.col("_started_before").fill_null(False)
                )
                .then(pl.lit("event_after_end"))
                .otherwise(pl.lit("no_start"))
            )
        )
        .drop("_n_open", "_started_before", "_n_types", "_group_type")
        .sort("_pos")
        .collect()
    )
