"""Assigning registrations to pathway instances (domain/extract-and-timeline.md §2, rules 1–5).

The result is the event table in *instance order* — by group, then type, then the order within
the group (rule 2) — with, per row, the instance it belongs to (``_type``, ``_k``: the k-th start
of that type in its group) or why it belongs to none (``assignment``). Everything is vectorised:
a group is (patient, institution, given pathway id); within a group and type, the instance number
is the running count of starts (A), and a row belongs to instance ``k`` when no end (X) of that
instance comes before it. Because every group, type and instance is a contiguous run of rows in
instance order, running counts are one cumulative sum over the whole table less its value at the
start of the run, and aggregations run on sorted keys: no hashing windows over millions of rows.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from pakkeforlop.schema import PATHWAY_TYPE

__all__ = [
    "ASSIGNMENT",
    "GROUP",
    "GROUP_ID",
    "IN_MEMORY",
    "NARROW",
    "all_typed",
    "assign_instances",
    "hash_collision",
    "order_events",
    "outcome_code",
    "run_start",
    "segmented_count",
]

#: What became of each registration.
ASSIGNMENT: Final = pl.Enum(["assigned", "orphan", "ambiguous", "excluded"])

#: The columns that define a group within which pathways are reconstructed (rule 1 and 2): a given
#: pathway id refines the grouping, so given instances are checked by the same rules.
GROUP: Final = ("patient_id", "institution_id", "pathway_id")

#: A dense integer id of the group (1, 2, ...), numbered in sorted order (windows on one integer
#: column are far cheaper than on three strings).
GROUP_ID: Final = "_gid"

#: The engine for the timeline's plans: the event table is in memory by then, and polars' in-memory
#: engine keeps frames in one piece and uses the sorted-key fast paths the instance order is built
#: for (the streaming engine returns many chunks and hashes every group).
IN_MEMORY: Final = "in-memory"

_INF: Final = 2**62
#: Sort code of a row without a type: after every type of its group.
_NO_TYPE: Final = 15


def _order_key(*, by_type: bool = False) -> pl.Expr:
    """One unsigned 64-bit key for the order within a group (rule 2).

    Date, the fixed same-day event order, type, outcome, then source row — packed, since sorting
    on one integer is many times faster than on several columns (style.md, performance notes).
    With ``by_type`` the row's own type comes first (rows without a type, or unusable, last): the
    instance order of an extract whose registrations all carry their type.
    """
    u64 = pl.UInt64
    # 20 bits of days around 1970: years 535 to 3405 keep their order (the rest is clipped)
    days = (pl.col("event_date").cast(pl.Int64).fill_null(0) + 2**19).clip(0, 2**20 - 1).cast(u64)
    event = pl.col("event").to_physical().fill_null(15).cast(u64)
    ptype = pl.col("pathway_type").to_physical().fill_null(15).cast(u64)
    outcome = outcome_code()
    # the source row breaks remaining ties; 30 bits (a billion rows per file)
    row = pl.col("source_row").fill_null(0).cast(u64) & (2**30 - 1)
    if by_type:
        code = pl.when(usable_row()).then(ptype).otherwise(_NO_TYPE).cast(u64)
        return code * 2**60 + days * 2**40 + event * 2**36 + outcome * 2**30 + row
    return days * 2**44 + event * 2**40 + ptype * 2**36 + outcome * 2**30 + row


def outcome_code() -> pl.Expr:
    """The outcome's first letter as a number: A..Z 1..26, anything else 27, none or empty 0.

    An enum cast of the first character is a look-up in 26 values, far cheaper than decoding
    bytes.

    Examples:
        >>> import polars as pl
        >>> pl.DataFrame({"outcome": ["U", None, "?", "B"]}).select(outcome_code())["outcome"]
        ... # doctest: +NORMALIZE_WHITESPACE
        shape: (4,)
        Series: 'outcome' [u64]
        [
            21
            0
            27
            2
        ]
    """
    first = pl.col("outcome").str.slice(0, 1)
    letter = first.cast(pl.Enum([chr(c) for c in range(65, 91)]), strict=False).to_physical()
    return (
        pl.when(letter.is_not_null())
        .then(letter.cast(pl.Int64) + 1)
        .when(first.str.len_bytes() > 0)
        .then(27)
        .otherwise(0)
        .cast(pl.UInt64)
    )


def usable_row() -> pl.Expr:
    """Whether a row has what assignment needs: patient, institution, date and event."""
    return pl.all_horizontal(
        pl.col("patient_id").is_not_null(),
        pl.col("institution_id").is_not_null(),
        pl.col("event_date").is_not_null(),
        pl.col("event").is_not_null(),
    )


def all_typed(events: pl.LazyFrame | pl.DataFrame) -> bool:
    """Whether every usable registration carries its pathway type (rule 3 never applies).

    Always so for the combined layout (the type is part of every code); then the instance order
    is one sort (see :func:`order_events`).
    """
    typeless = usable_row() & pl.col("pathway_type").is_null()
    return not events.lazy().select(typeless.any()).collect(engine=IN_MEMORY).item()


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


def order_events(
    events: pl.LazyFrame, *, exact: bool = False, by_type: bool = False
) -> pl.DataFrame:
    """The order of the registrations: by group, date and the fixed same-day order (rule 2).

    Groups are ordered by a 64-bit hash of (patient, institution, pathway id) and rows within a
    group by a packed integer key (date, event order, type, outcome, source row), so the order —
    and everything built on it — does not depend on the row order of the input. Only keys are
    kept: ``_row`` (the row number in ``events``), ``event``, ``pathway_type``, ``_pos``
    (position in this order), ``_gid`` (the group's number, from 1), ``_usable`` (whether the row
    has what assignment needs: patient, institution, date, event) and the hashes ``_g``, ``_g2``.

    Args:
        events: The canonical event table.
        exact: Order groups by their values instead of their hash: slower, and only needed in
            the (about one in 10^19 per pair) case that two groups share a hash — see
            :func:`hash_collision`.
        by_type: Order by group, the row's own type, then the order within the group: the
            instance order when every usable row has its type (:func:`all_typed`). The
            :data:`NARROW` columns then come along (one sort instead of a sort and a gather).

    Returns:
        The keys in order, in memory (the sort needs them all).
    """
    group = pl.struct(*GROUP)
    group_key = [*GROUP] if exact else ["_g"]
    payload = [c for c in NARROW if c not in ("event", "pathway_type")] if by_type else []
    # the keys are computed by the streaming engine (fastest over a scan or a wide table), then
    # sorted in memory as one contiguous frame
    keys = (
        events.with_row_index("_row")
        .select(
            "_row",
            "event",
            "pathway_type",
            *payload,
            *(GROUP if exact else ()),
            _usable=usable_row(),
            _g=group.hash(seed=0),
            _g2=group.hash(seed=1),
            _o=_order_key(by_type=by_type),
        )
        .collect(engine="streaming")
        .rechunk()
    )
    # hashes and order keys are never null; nulls_last (for the exact order's text) costs a
    # several times slower sort
    ordered = keys.sort([*group_key, "_o"], nulls_last=exact)
    if ordered.select((~run_start(*group_key, "_o")).any()).item():
        # rows the key cannot tell apart (the same source row number in two files, or outcomes
        # alike in their first letter; exact duplicates are usually collapsed before): break the
        # tie by file, outcome and full row number, so the order still does not depend on the
        # input's (rare, and a slower sort)
        ties = events.select("source_file", "outcome", "source_row").collect(engine=IN_MEMORY)
        ordered = (
            pl.concat(
                [
                    keys,
                    ties.select(pl.all().name.prefix("_tie_")).select(
                        pl.all().gather(keys["_row"])
                    ),
                ],
                how="horizontal",
            )
            .sort(
                [*group_key, "_o", "_tie_source_file", "_tie_outcome", "_tie_source_row"],
                nulls_last=True,
            )
            .drop("_tie_source_file", "_tie_outcome", "_tie_source_row")
        )
    new_group = run_start(*group_key)
    return ordered.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"),
        pl.exclude("_o", *(GROUP if exact else ())),
        new_group.cum_sum().cast(pl.Int64).set_sorted().alias(GROUP_ID),
    )


def hash_collision(ordered: pl.DataFrame) -> bool:
    """Whether two different groups share a hash (their rows would interleave).

    A second, independently seeded hash must agree within every run of equal first hashes.
    """
    clash = (pl.col("_g") == pl.col("_g").shift(1)) & (pl.col("_g2") != pl.col("_g2").shift(1))
    return bool(ordered.select(clash.any()).item())


def run_start(*columns: str) -> pl.Expr:
    """Whether a row starts a run of equal values of ``columns`` (the first row does)."""
    return ~pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).shift(1)) for c in columns)


def segmented_count(flag: pl.Expr, *run: str, inclusive: bool = False) -> pl.Expr:
    """How many rows of the run, up to this one, have ``flag`` (a window on sorted runs).

    The same as ``flag.cum_sum().over(run)`` when each run of ``run`` values is contiguous, at
    the price of one cumulative sum: the count at the row less the count before the run began.
    With ``inclusive=False`` the row itself is not counted (strictly before).
    """
    # a null flag counts as false: a null in the first row of a run would otherwise leave the
    # run without its base, and counts (and the keys built on them) must never be null
    as_int = flag.fill_null(value=False).cast(pl.Int64)
    total = as_int.cum_sum()
    before_run = pl.when(run_start(*run)).then(total - as_int).forward_fill()
    counted = total - before_run
    return counted if inclusive else counted - as_int


def _in_instance_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Sort rows (given in group order) by group, type and position; number the instances.

    The sort is on one integer: a group's rows occupy positions ``[start, start + len)``; a row's
    key is ``16·start + type·len + (position − start)``, which orders types within the group and
    keeps groups apart. Adds ``_tkey`` (group and type packed in one integer), ``_k`` (the
    running count of starts), ``_ikey`` (group, type and ``_k`` packed: one integer per
    instance, non-decreasing in this order) and ``_x_before`` (ends of the instance before the
    row).
    """
    pos = pl.col("_pos")
    start = pl.when(run_start(GROUP_ID)).then(pos).forward_fill()
    end = pl.when(run_start(GROUP_ID).shift(-1).fill_null(True)).then(pos).backward_fill()
    code = pl.col("_type").to_physical().cast(pl.Int64).fill_null(_NO_TYPE)
    key = 16 * start + code * (end - start + 1) + (pos - start)
    return _numbered(frame.sort(key))


def _numbered(ordered: pl.DataFrame) -> pl.DataFrame:
    """Number the instances of rows in instance order (see :func:`_in_instance_order`)."""
    code = pl.col("_type").to_physical().cast(pl.Int64).fill_null(_NO_TYPE)
    is_a = pl.col("event") == "A"
    is_x = pl.col("event") == "X"
    return (
        ordered.with_columns(_tkey=(pl.col(GROUP_ID) * 16 + code).set_sorted())
        .with_columns(_k=segmented_count(is_a, "_tkey", inclusive=True))
        .with_columns(
            _ikey=(pl.col("_tkey") * 2**24 + pl.col("_k")).set_sorted(),
            _x_before=segmented_count(is_x, "_tkey", "_k"),
        )
    )


def _open_intervals(frame: pl.DataFrame) -> pl.LazyFrame:
    """Per instance: the position of its start, of its end (X) and of the next start of its type."""
    members = frame.lazy().filter(
        pl.col("_type").is_not_null() & (pl.col("_k") > 0) & (pl.col("_x_before") == 0)
    )
    inst = members.group_by([GROUP_ID, "_type", "_k"]).agg(
        _open=pl.col("_pos").filter(pl.col("event") == "A").min(),
        _close=pl.col("_pos").filter(pl.col("event") == "X").min().fill_null(_INF),
    )
    return inst.sort([GROUP_ID, "_type", "_k"], nulls_last=True).with_columns(
        _next_open=pl.col("_open").shift(-1).over([GROUP_ID, "_type"]).fill_null(_INF)
    )


def _pending(typed: pl.DataFrame) -> pl.LazyFrame:
    """Usable rows still without a type."""
    return (
        typed.lazy().filter(pl.col("_type").is_null() & pl.col("_usable")).select(GROUP_ID, "_pos")
    )


def _resolve_typeless(multi: pl.DataFrame) -> pl.DataFrame:
    """Give typeless rows of multi-type groups the type of the only instance open there (rule 3).

    A typeless end (X) closes the instance it joins, which can leave a single open instance for
    later typeless rows; so this repeats until nothing changes. Each pass types at least one row
    or ends the loop, so there are at most as many passes as typeless rows (usually one or two; a
    chain of typeless ends that each open the way for the next takes one pass per link).
    ``multi`` holds whole groups in group order, and so does the result.
    """
    frame = multi
    while True:
        typed = _in_instance_order(frame)
        intervals = _open_intervals(typed)
        found = (
            _pending(typed)
            .join(intervals, on=GROUP_ID, how="inner")
            .filter(
                (pl.col("_open") < pl.col("_pos"))
                & (pl.col("_pos") <= pl.col("_close"))
                & (pl.col("_pos") < pl.col("_next_open"))
            )
            .group_by("_pos")
            .agg(_n=pl.len(), _only=pl.col("_type").first())
            .filter(pl.col("_n") == 1)
            .select("_pos", "_only")
            .collect(engine=IN_MEMORY)
        )
        if found.height == 0:
            break
        frame = (
            frame.join(found, on="_pos", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_type", "_only").alias("_type"))
            .drop("_only")
        )
    return frame


def _typeless_fate(typed: pl.DataFrame) -> pl.DataFrame:
    """Why a typeless row that found no single instance was not assigned: 0 or several open."""
    pending = _pending(typed).collect(engine=IN_MEMORY)
    if pending.height == 0:
        return pending.select(
            "_pos",
            _n_open=pl.lit(0, dtype=pl.UInt32),
            _started_before=pl.lit(value=False),
        )
    # only the groups that have such rows need their instance intervals
    involved = typed.filter(pl.col(GROUP_ID).is_in(pending[GROUP_ID].unique().implode()))
    intervals = _open_intervals(involved)
    return (
        pending.lazy()
        .join(intervals, on=GROUP_ID, how="inner")
        .group_by("_pos")
        .agg(
            _n_open=(
                (pl.col("_open") < pl.col("_pos"))
                & (pl.col("_pos") <= pl.col("_close"))
                & (pl.col("_pos") < pl.col("_next_open"))
            ).sum(),
            _started_before=(pl.col("_open") < pl.col("_pos")).any(),
        )
        .collect(engine=IN_MEMORY)
    )


def _with_types(ordered: pl.DataFrame) -> pl.DataFrame:
    """Each row's pathway type for assignment, ``_type`` (rule 3, the common case).

    A typeless row of a group whose starts are all of one type takes that type. In groups with
    starts of several types, typeless rows are resolved by :func:`_resolve_typeless`; they are
    marked ``_needs_resolution``.
    """
    a_type = pl.when(pl.col("event") == "A").then(pl.col("pathway_type").to_physical())
    per_group = (
        ordered.lazy()
        .group_by(GROUP_ID, maintain_order=True)
        .agg(
            _t_min=a_type.min(),
            _t_max=a_type.max(),
            _typeless=(pl.col("pathway_type").is_null() & pl.col("_usable")).any(),
        )
        .collect(engine=IN_MEMORY)
    )
    # group ids are 1, 2, ... in order, so the group's row is a gather, not a join
    index = ordered[GROUP_ID] - 1
    multi = (per_group["_t_min"] != per_group["_t_max"]).fill_null(value=False)
    single = pl.Series(PATHWAY_TYPE.categories).gather(per_group["_t_min"]).cast(PATHWAY_TYPE)
    return ordered.with_columns(
        _multi=multi.gather(index),
        _group_type=single.gather(index),
        _needs_resolution=(multi & per_group["_typeless"]).gather(index),
    ).with_columns(
        _type=pl.when(pl.col("_usable"))
        .then(
            pl.when(~pl.col("_multi"))
            .then(pl.coalesce("pathway_type", "_group_type"))
            .otherwise(pl.col("pathway_type"))
        )
        .cast(PATHWAY_TYPE)
    )


def assign_instances(ordered: pl.DataFrame, narrow: pl.DataFrame | None = None) -> pl.DataFrame:
    """Assign every ordered registration to an instance, or say why not.

    Args:
        ordered: The output of :func:`order_events`.
        narrow: The :data:`NARROW` columns of the event table, in its row order (``_row``);
            ``None`` when ``ordered`` is already in instance order with them
            (``order_events(..., by_type=True)``, for an extract where :func:`all_typed`).

    Returns:
        The rows in instance order (group, type, position; so each instance's rows are
        contiguous and in the order of rule 2), with ``_row``, ``_pos``, ``_gid``, ``_usable``,
        the :data:`NARROW` columns, ``_type`` (the instance's type), ``_k`` (its start number
        within the group and type), ``_tkey`` and ``_ikey`` (see :func:`_in_instance_order`),
        ``_x_before``, ``assignment`` (:data:`ASSIGNMENT`) and ``orphan_rule`` (``no_start``,
        ``event_after_end`` or ``ambiguous_event``; null when assigned or excluded).
    """
    if narrow is None:
        # every usable row has its type: it is the instance's type (rule 3 has nothing to do)
        # and there are no typeless rows to explain
        typed = _numbered(
            ordered.drop("_g", "_g2").with_columns(
                _type=pl.when(pl.col("_usable")).then(pl.col("pathway_type"))
            )
        ).with_columns(
            _n_open=pl.lit(None, dtype=pl.UInt32), _started_before=pl.lit(None, dtype=pl.Boolean)
        )
    else:
        framed = _with_types(
            ordered.select("_row", "_pos", GROUP_ID, "_usable", "event", "pathway_type")
        )
        needs = framed["_needs_resolution"]
        if needs.any():
            resolved = _resolve_typeless(framed.filter(needs))
            framed = pl.concat([framed.filter(~needs), resolved]).sort("_pos")
        typed = _in_instance_order(
            framed.select("_row", "_pos", GROUP_ID, "_usable", "event", "_type")
        )
        fate = _typeless_fate(typed)
        # the few rows not yet typed learn why; the rest of the table only gets nulls
        typed = typed.join(fate, on="_pos", how="left", maintain_order="left")
        gathered = narrow.select(pl.all().gather(typed["_row"]))
        typed = pl.concat([typed.drop("event"), gathered], how="horizontal")
    return (
        typed.lazy()
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
                    | pl.col("_started_before").fill_null(value=False)
                )
                .then(pl.lit("event_after_end"))
                .otherwise(pl.lit("no_start"))
            )
        )
        .drop("_n_open", "_started_before")
        .collect(engine=IN_MEMORY)
    )
