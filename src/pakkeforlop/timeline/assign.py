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

__all__ = [
    "ASSIGNMENT",
    "GROUP",
    "GROUP_ID",
    "NARROW",
    "assign_instances",
    "hash_collision",
    "order_events",
]

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


def _order_key() -> pl.Expr:
    """One unsigned 64-bit key for the order within a group (rule 2).

    Date, the fixed same-day event order, type, outcome, then source row — packed, since sorting
    on one integer is many times faster than on several columns (style.md, performance notes).
    """
    u64 = pl.UInt64
    days = (pl.col("event_date").cast(pl.Int32).fill_null(0).clip(0, 2**16 - 1)).cast(u64)
    event = pl.col("event").to_physical().fill_null(15).cast(u64)
    ptype = pl.col("pathway_type").to_physical().fill_null(15).cast(u64)
    # outcome letters A..Z -> 1..26, anything else (e.g. '?') 27, none 0
    letter = (
        pl.col("outcome").str.slice(0, 1).str.encode("hex").str.to_integer(base=16, strict=False)
    )
    outcome = (
        (pl.when(letter.is_between(65, 90)).then(letter - 64).when(letter.is_not_null()).then(27))
        .fill_null(0)
        .cast(u64)
    )
    row = pl.col("source_row").fill_null(0).cast(u64) & (2**34 - 1)
    return days * 2**48 + event * 2**44 + ptype * 2**40 + outcome * 2**34 + row


#: The event columns the timeline works on; everything else (identifiers, strata, source) is
#: looked up by row number for the few rows that need it, so sorting and grouping stay narrow.
NARROW: Final = (
    "event",
    "pathway_type",
    "outcome",
    "event_date",
    "care_level",
    "age",
    "birth_year",
)


def order_events(events: pl.LazyFrame, *, exact: bool = False) -> pl.LazyFrame:
    """The narrow event table, ordered by group, date and the fixed same-day order (rule 2).

    Groups are ordered by a 64-bit hash of (patient, institution, pathway id) and rows within a
    group by a packed integer key (date, event order, type, outcome, source row), so the order —
    and everything built on it — does not depend on the row order of the input. Only the
    :data:`NARROW` columns are kept, with ``_row`` (the row number in ``events``, to look the rest
    up), ``_pos`` (position in this order), ``_gid`` (the group's number), ``_usable`` (whether
    the row has what assignment needs: patient, institution, date, event) and the hashes.

    Args:
        events: The canonical event table.
        exact: Order groups by their values instead of their hash: slower, and only needed in
            the (about one in 10^19 per pair) case that two groups share a hash — see
            :func:`hash_collision`.
    """
    usable = pl.all_horizontal(
        pl.col("patient_id").is_not_null(),
        pl.col("institution_id").is_not_null(),
        pl.col("event_date").is_not_null(),
        pl.col("event").is_not_null(),
    )
    group = pl.struct(*GROUP)
    group_key = [*GROUP] if exact else ["_g"]
    return (
        events.with_row_index("_row")
        .select(
            "_row",
            *NARROW,
            *(GROUP if exact else ()),
            _usable=usable,
            _g=group.hash(seed=0),
            _g2=group.hash(seed=1),
            _o=_order_key(),
        )
        .sort([*group_key, "_o"], nulls_last=True)
        .with_row_index("_pos")
        .with_columns(
            pl.col("_pos").cast(pl.Int64),
            pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in group_key)
            .cum_sum()
            .cast(pl.Int64)
            .alias(GROUP_ID),
        )
    )


def hash_collision(ordered: pl.DataFrame) -> bool:
    """Whether two different groups share a hash (their rows would interleave).

    A second, independently seeded hash must agree within every run of equal first hashes.
    """
    clash = (pl.col("_g") == pl.col("_g").shift(1)) & (pl.col("_g2") != pl.col("_g2").shift(1))
    return bool(ordered.select(clash.any()).item())


def _typed_instances(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Number instances per (group, type) and mark rows before a start or after an end.

    Adds ``_tkey`` (group and type packed in one integer), ``_k`` (the running count of starts),
    ``_ikey`` (group, type and ``_k`` packed: one integer per instance) and ``_x_before`` (ends of
    the instance before the row).
    """
    is_a = (pl.col("event") == "A").cast(pl.Int32)
    is_x = (pl.col("event") == "X").cast(pl.Int32)
    tkey = pl.col(GROUP_ID) * 16 + pl.col("_type").to_physical().cast(pl.Int64)
    return (
        frame.with_columns(_tkey=tkey)
        .with_columns(_k=is_a.cum_sum().over("_tkey"))
        .with_columns(_ikey=pl.col("_tkey") * 2**24 + pl.col("_k"))
        .with_columns(_x_before=(is_x.cum_sum() - is_x).over("_ikey"))
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
    pending = typed.filter(pl.col("_type").is_null() & pl.col("_usable")).select(GROUP_ID, "_pos")
    # only the groups that have such rows need their instance intervals
    involved = typed.join(pending.select(GROUP_ID).unique(), on=GROUP_ID, how="semi")
    intervals = _open_intervals(involved)
    return (
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


def assign_instances(ordered: pl.DataFrame) -> pl.DataFrame:
    """Assign every ordered registration to an instance, or say why not.

    Args:
        ordered: The output of :func:`order_events`, collected.

    Returns:
        The same rows, in order, with ``_type`` (the instance's type), ``_k`` (its start number
        within the group and type), ``_tkey`` and ``_ikey`` (see :func:`_typed_instances`),
        ``assignment`` (:data:`ASSIGNMENT`) and ``orphan_rule`` (``no_start``,
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
        typed.join(fate, on="_pos", how="left", maintain_order="left")
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
        .collect()
    )
