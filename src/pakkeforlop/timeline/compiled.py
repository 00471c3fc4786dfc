"""The timeline's fast path: one sort of a packed key, one compiled pass (issue 16).

When every usable registration carries its type (the combined layout always does), the
instance order of domain/extract-and-timeline.md §2 is one sort of a single 64-bit key per row
(38 bits of the group hash, the type, the day since 2019, the event in same-day order, the
outcome), with one payload word carried along (46 bits of a second group hash, the care level,
the age and the birth year). The state machine of :mod:`pakkeforlop.timeline.kernel` then
assigns the registrations and builds the instances in one pass over them. Only the few rows
that need words (findings) and the start rows (strata) are looked up in the event table
afterwards.

Groups whose hashes share the key's 38 bits sort together: a compiled pass finds those spans,
and each is re-sorted by the full first hash (as the general path orders groups); the second
hash tells the groups apart. Anything the key and payload cannot hold as the general path
reads it — typeless rows, dates outside 2019 to mid-2041, ages or birth years outside the
register's ranges, outcomes that are not null or one letter, coded columns of other types,
two usable registrations alike in the whole key, two groups sharing the full first hash —
makes :func:`walk_events` return ``None``, and :func:`pakkeforlop.timeline.build_pathways`
takes the general path, which stays the definition (tests/test_timeline_compiled.py:
identical pathways, findings and assignments). So do tables of fewer than :data:`MIN_ROWS`
registrations, on which loading the pass costs more than it saves.

The pass is compiled with numba (``cache=True``): the first run after installing compiles it
(a few seconds; :func:`warm_up`, ``pakkeforlop warm-up``) and stores the machine code in numba's
cache (next to the module when that is writable, otherwise the user's cache directory, or
``NUMBA_CACHE_DIR``; with none writable it is compiled for the process); later processes load
it in about 0.2 s. Setting ``PAKKEFORLOP_COMPILED_TIMELINE=0`` turns the fast path off, and
numba's ``NUMBA_DISABLE_JIT=1`` runs the state machine as plain Python (slow; for tests).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, cast

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from pakkeforlop.schema import CANONICAL_SCHEMA, CARE_LEVEL, EVENT_SAME_DAY_ORDER, PATHWAY_TYPE
from pakkeforlop.timeline import kernel
from pakkeforlop.timeline.assign import (
    ASSIGNMENT,
    GROUP,
    GROUP_ID,
    outcome_code,
    usable_row,
)
from pakkeforlop.timeline.milestones import INSTANCE, derived_milestones

__all__ = [
    "ENV_SWITCH",
    "MIN_ROWS",
    "WARM_UP_LABEL",
    "Walked",
    "WarmUp",
    "available",
    "fits_schema",
    "walk_events",
    "warm_up",
    "warm_up_in_background",
    "worth_it",
]

#: What a progress display says while waiting for :func:`warm_up_in_background`.
WARM_UP_LABEL: Final = (
    "loading the compiled timeline (it compiles once after installing: a few seconds)"
)

#: Environment variable that turns the compiled pass off when set to ``0``.
ENV_SWITCH: Final = "PAKKEFORLOP_COMPILED_TIMELINE"

#: Fewer registrations than this take the general path: importing numba and loading the pass
#: (about 0.3 s) costs more than it saves on them (see :func:`worth_it`). Measured whole
#: process, ``indicators``, 2-core machine, medians of 4, general vs compiled: the sample
#: (14 k rows) 0.73 vs 1.02 s; 313 k rows 1.08 vs 1.24 s; 1.0 M 1.87 vs 1.79 s; 2.1 M 2.82
#: vs 2.64 s.
MIN_ROWS = 1_000_000

#: Where the group hash starts in the key (a variable so that tests can narrow it and make
#: groups share the key's hash bits).
_HASH_SHIFT = kernel.HASH_SHIFT
_Kernel = Callable[..., tuple[np.ndarray, ...]]
_Checker = Callable[[np.ndarray, np.ndarray], tuple[int, int]]
_Spans = Callable[[np.ndarray, np.ndarray], np.ndarray]
_compiled: tuple[_Kernel, _Checker, _Spans] | None = None


def _compile() -> tuple[_Kernel, _Checker, _Spans]:
    """The compiled pass and order check (compiled, or loaded from numba's cache, once).

    Where numba finds no writable cache location (a read-only installation and home), the
    pass is compiled for this process only, every run.
    """
    global _compiled  # noqa: PLW0603 - one dispatcher per process
    if _compiled is None:
        import numba  # noqa: PLC0415 - importing numba costs time; only runs that walk pay it

        functions = (kernel.walk, kernel.check_order, kernel.clash_spans)
        try:
            jit = numba.njit(cache=True, nogil=True)
            walk, check, spans = (jit(f) for f in functions)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            jit = numba.njit(cache=False, nogil=True)
            walk, check, spans = (jit(f) for f in functions)
        _compiled = (cast("_Kernel", walk), cast("_Checker", check), cast("_Spans", spans))
    return _compiled


def _kernel() -> _Kernel:
    """The compiled state machine."""
    return _compile()[0]


def worth_it(rows: int | None) -> bool:
    """Whether an extract of ``rows`` registrations should take the compiled pass.

    ``None`` (not known in advance) counts as large.

    Examples:
        >>> worth_it(2_000) == (MIN_ROWS <= 2_000)
        True
    """
    return rows is None or rows >= MIN_ROWS


def available() -> bool:
    """Whether the compiled pass can be used: numba imports and it is not switched off.

    Examples:
        >>> import os
        >>> available() == (os.environ.get(ENV_SWITCH, "1") != "0")
        True
    """
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    try:
        import numba  # noqa: F401, PLC0415
    except ImportError:  # pragma: no cover - numba is a dependency; a broken install falls back
        return False
    return True


class Walked(NamedTuple):
    """What the timeline needs from assignment, whichever path built it."""

    assigned_all: pl.LazyFrame
    """Every registration: ``_row``, the instance (``_ikey``), ``assignment``, ``orphan_rule``."""
    rows: pl.LazyFrame
    """The assigned registrations: ``_row``, ``_ikey`` and ``_pos`` (position in the order)."""
    orphans: pl.DataFrame
    """The unassigned usable registrations: ``_row``, ``orphan_rule``."""
    flagged: pl.DataFrame
    """Registrations breaking a register check: ``_row``, ``_ikey``, ``_rule``, ``_c_before``
    and ``_first_c_outcome``."""
    milestones: pl.DataFrame
    """One row per instance (as ``aggregate_instances``)."""


def _packed_key() -> pl.Expr:
    """The instance order as one unsigned 64-bit key (see :mod:`pakkeforlop.timeline.kernel`).

    Reads the group hash ``_g`` and the outcome code ``_out`` staged before it.
    """
    u64 = pl.UInt64
    prefix = pl.col("_g") // 2**_HASH_SHIFT * 2**_HASH_SHIFT
    days = pl.col("event_date").cast(pl.Int64) - kernel.EPOCH
    typed = (
        prefix
        + pl.col("pathway_type").to_physical().cast(u64) * 2**kernel.TYPE_SHIFT
        + days.clip(0, 2**kernel.DAY_BITS - 1).cast(u64) * 2**kernel.DAY_SHIFT
        + pl.col("event").to_physical().cast(u64) * 2**kernel.EVENT_SHIFT
        + pl.col("_out").clip(0, 31)
    )
    return (
        pl.when(usable_row()).then(typed).otherwise(prefix + kernel.UNUSABLE * 2**kernel.TYPE_SHIFT)
    )


def _fits() -> pl.Expr:
    """Whether the packed key and payload hold the row as the general path reads it.

    Reads ``_out``. An outcome must be null or one letter A–Z (an empty text is a value to the
    general path, not "none").
    """
    days = pl.col("event_date").cast(pl.Int64) - kernel.EPOCH
    outcome = pl.col("outcome")
    return ~usable_row() | (
        pl.col("pathway_type").is_not_null()
        & days.is_between(0, 2**kernel.DAY_BITS - 1)
        & (outcome.is_null() | ((outcome.str.len_bytes() == 1) & (pl.col("_out") < 27)))
        & pl.col("age").is_between(0, 254).fill_null(value=True)
        & (pl.col("birth_year").cast(pl.Int64) - kernel.BIRTH_BASE)
        .is_between(0, 254)
        .fill_null(value=True)
    )


def fits_schema(schema: pl.Schema) -> bool:
    """Whether the coded columns have the canonical types the pass's codes stand for.

    The pass reads the physical codes of the type, event and care level enums; a table with
    other types (a categorical, say) takes the general path.

    Examples:
        >>> from pakkeforlop.schema import CANONICAL_SCHEMA
        >>> fits_schema(CANONICAL_SCHEMA)
        True
    """
    return all(schema.get(c) == CANONICAL_SCHEMA[c] for c in _CODED)


def _payload() -> pl.Expr:
    """Per row, what the pass reads besides the key, packed in one 64-bit word.

    From the high bits: 46 bits of a second, independent group hash (``seed=1``), the care
    level code + 1 (0 for none), the age (255 for none) and the birth year less
    ``kernel.BIRTH_BASE`` (255 for none). :func:`_fits` checks that age and birth year fit.
    """
    u64 = pl.UInt64
    care = pl.col("care_level").to_physical().cast(pl.Int64).fill_null(-1) + 1
    age = pl.col("age").cast(pl.Int64).clip(0, 254).fill_null(255)
    birth = (pl.col("birth_year").cast(pl.Int64) - kernel.BIRTH_BASE).clip(0, 254).fill_null(255)
    return (
        pl.struct(*GROUP).hash(seed=1) // 2**kernel.G2_SHIFT * 2**kernel.G2_SHIFT
        + care.cast(u64) * 2**kernel.CARE_SHIFT
        + age.cast(u64) * 2**kernel.AGE_SHIFT
        + birth.cast(u64)
    )


def _readonly(values: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    """A C-contiguous, read-only array of ``dtype``: one array kind, so one compiled version.

    polars hands out read-only views; copies made here are marked read-only too, so the
    kernel never compiles a second time for writable inputs.
    """
    # a view: the caller's own array keeps its flags
    out = np.ascontiguousarray(values, dtype=dtype).view()
    out.setflags(write=False)
    return out


def _order(keys: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Sort the packed keys; order groups whose hashes share the key's 38 bits locally.

    Groups are told apart by the key's 38 bits and the payload's 46 bits of a second hash.
    Where two groups share the 38 bits (about one pair per million groups), their rows are
    re-sorted by the full first hash, as the general path orders groups.

    Returns:
        The permutation, keys and payloads in instance order; ``None`` when two groups share
        the full first hash (the general path orders them by their values) or two usable
        registrations of a group are alike in every part of the key (only the general path's
        tie breaks order them).
    """
    # one sort of the key, the row and payload carried along (polars gathers them on every
    # core; the pass then reads them in order). As one lazy plan: a third faster than the
    # same steps eagerly (0.37 -> 0.25 s at 7 M rows), which materialise each step. Stable:
    # rows alike in the key keep their row order, as the eager sort kept them.
    ordered = (
        keys.lazy()
        .select("_k", "_payload")
        .with_row_index("_r")
        .sort("_k", maintain_order=True)
        .collect()
    )
    order, key, payload = (ordered[c].to_numpy() for c in ("_r", "_k", "_payload"))
    clashes, ties = _compile()[1](_readonly(key, np.uint64), _readonly(payload, np.uint64))
    if clashes:
        order, key, payload = (a.copy() for a in (order, key, payload))
        spans = _compile()[2](_readonly(key, np.uint64), _readonly(payload, np.uint64))
        for start, end in spans:
            part = slice(start, end)
            group = keys["_g"].gather(pl.Series(order[part])).to_numpy()
            second = payload[part] >> np.uint64(kernel.G2_SHIFT)
            pairs = pl.DataFrame({"g": group, "s": second}).unique()
            if pairs["g"].n_unique() < pairs.height:
                return None  # two groups share the full hash
            local = np.lexsort((key[part], group))
            for a in (order, key, payload):
                a[part] = a[part][local]
        # after the re-sort, ties are looked for again
        ties = _compile()[1](_readonly(key, np.uint64), _readonly(payload, np.uint64))[1]
    if ties:
        return None
    return order, key, payload


#: Outcome code (0 none, 1..26 A..Z) to its letter.
_LETTERS: Final = pl.Series("letters", [None, *(chr(c) for c in range(65, 91))], pl.String)
#: Care level code + 1 (0 none) to the care level.
_CARE: Final = pl.Series("care", [None, *CARE_LEVEL.categories], CARE_LEVEL)
_TYPES: Final = pl.Series("types", PATHWAY_TYPE.categories, PATHWAY_TYPE)
_ASSIGNMENT: Final = pl.Series("assignment", ASSIGNMENT.categories, ASSIGNMENT)
_ORPHAN_RULE: Final = pl.Series("orphan_rule", [None, "no_start", "event_after_end"], pl.String)


def _codes(values: np.ndarray) -> pl.Series:
    """Non-negative codes as gather indices (a null for :data:`~kernel.NULL` and negatives)."""
    return pl.Series(np.where(values < 0, 0, values).astype(np.uint32))


def _outcome(values: np.ndarray) -> pl.Series:
    return _LETTERS.gather(_codes(values))


def _care(values: np.ndarray) -> pl.Series:
    return _CARE.gather(_codes(np.where(values == kernel.NULL, -1, values) + 1))


def _lists(offsets: np.ndarray, values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """A list column from offsets (``n + 1``) and the flat values."""
    # through polars, not pa.array: pyarrow's numpy conversion imports pandas (a quarter second)
    listed = pa.LargeListArray.from_arrays(pl.Series(offsets).to_arrow(), values.to_arrow())
    return cast("pl.Series", pl.from_arrow(listed)).cast(dtype)


def _event_mask(events: Sequence[str]) -> int:
    """The bit mask of the events' codes (a letter that is no event matches nothing)."""
    return sum(1 << EVENT_SAME_DAY_ORDER.index(e) for e in events if e in EVENT_SAME_DAY_ORDER)


#: The codes of kernel.EVENTS, passed to the pass at run time.
_EVENT_CODES: Final = np.array([EVENT_SAME_DAY_ORDER.index(e) for e in kernel.EVENTS], np.int64)
#: The columns whose physical codes the pass reads.
_CODED: Final = ("pathway_type", "event", "care_level")


#: The instance fields read as they are (counts, numbers), as dates, outcomes and care levels.
_DATES: Final = {
    "start_date": kernel.F_START,
    "first_attendance_date": kernel.F_FIRST_M,
    "first_decision_date": kernel.F_FIRST_C,
    "final_decision_date": kernel.F_FINAL_C,
    "detox_end_date": kernel.F_DETOX,
    "treatment_start_date": kernel.F_TREAT,
    "first_evaluation_date": kernel.F_FIRST_E,
    "plan_date": kernel.F_PLAN,
    "information_date": kernel.F_INFO,
    "referrer_feedback_date": kernel.F_REFERRER,
    "first_postponement_date": kernel.F_FIRST_L,
    "end_date": kernel.F_END,
}
_OUTCOMES: Final = {
    "first_decision_outcome": kernel.F_FIRST_C_OUT,
    "final_decision_outcome": kernel.F_FINAL_C_OUT,
    "help_needed": kernel.F_HELP,
    "end_reason": kernel.F_END_REASON,
}
_CARE_LEVELS: Final = {
    "detox_end_care_level": kernel.F_DETOX_CARE,
    "treatment_start_care_level": kernel.F_TREAT_CARE,
    "care_level": kernel.F_CARE_FINAL,
}
_COUNTS: Final = {
    "decision_count": kernel.F_N_C,
    "evaluation_count": kernel.F_N_E,
    "postponements": kernel.F_N_L,
    "event_count": kernel.F_N_EV,
}
_FLAGS: Final = {
    "feedback_tool": kernel.F_FEEDBACK_TOOL,
    "standard_tool": kernel.F_STANDARD_TOOL,
    "direct_to_treatment": kernel.F_DIRECT,
}


def _milestones(
    inst: np.ndarray,
    ikey: np.ndarray,
    lists: tuple[np.ndarray, ...],
) -> pl.DataFrame:
    """The instance frame, with the columns and types of ``aggregate_instances``.

    The instance matrix becomes a frame of integer columns (no copies) that one select turns
    into dates, letters and care levels, every column on its own core.
    """
    e_off, e_day, e_care, a_off, a_code = lists
    f = inst
    by_i = np.where(f[kernel.F_COLLAB_I] == 1, ord("I") - 64, 0)
    raw = pl.DataFrame(
        {
            **{f"_f{i}": f[i] for i in range(kernel.N_FIELDS)},
            "_collaboration": np.where(f[kernel.F_COLLAB_M] == 1, ord("M") - 64, by_i),
        }
    )

    def field(i: int) -> pl.Expr:
        return pl.col(f"_f{i}")

    def known(i: int) -> pl.Expr:
        return pl.when(field(i) != kernel.NULL).then(field(i))

    def letter(column: pl.Expr) -> pl.Expr:
        return pl.lit(_LETTERS).gather(pl.when(column > 0).then(column).otherwise(0))

    def care(i: int) -> pl.Expr:
        code = pl.when(field(i) == kernel.NULL).then(0).otherwise(field(i) + 1)
        return pl.lit(_CARE).gather(code)

    u32 = pl.UInt32
    frame = raw.select(
        pl.Series(INSTANCE, ikey),
        field(kernel.F_GID).alias(GROUP_ID),
        (field(kernel.F_GID) * 16 + field(kernel.F_TYPE)).alias("_tkey"),
        pl.lit(_TYPES).gather(field(kernel.F_TYPE)).alias("_type"),
        field(kernel.F_K).alias("_k"),
        known(kernel.F_AGE_A).cast(pl.Int16).alias("_age_a"),
        known(kernel.F_BIRTH).cast(pl.Int16).alias("_birth_year"),
        field(kernel.F_A_ROW).cast(u32).alias("_a_row"),
        field(kernel.F_START_POS).alias("_start_pos"),
        *(known(i).cast(pl.Int32).cast(pl.Date).alias(name) for name, i in _DATES.items()),
        *(letter(field(i)).alias(name) for name, i in _OUTCOMES.items()),
        letter(pl.col("_collaboration")).alias("collaboration"),
        *(care(i).alias(name) for name, i in _CARE_LEVELS.items()),
        *(field(i).cast(u32).alias(name) for name, i in _COUNTS.items()),
        *((field(i) == 1).alias(name) for name, i in _FLAGS.items()),
    ).with_columns(
        _lists(e_off, pl.Series(e_day).cast(pl.Date), pl.List(pl.Date())).alias("evaluation_dates"),
        _lists(e_off, _care(e_care.astype(np.int64)), pl.List(CARE_LEVEL)).alias(
            "evaluation_care_levels"
        ),
        _lists(
            a_off, _LETTERS.gather(pl.Series(a_code.astype(np.uint32))), pl.List(pl.String())
        ).alias("activity_outcomes"),
    )
    return frame.lazy().pipe(derived_milestones).collect()


def _flagged(
    flags: np.ndarray,
    c_of: np.ndarray,
    fco_of: np.ndarray,
    instance: np.ndarray,
    ikey: np.ndarray,
    order: np.ndarray,
) -> pl.DataFrame:
    """One row per (registration, register check it breaks), as the general path flags them."""
    rows = np.flatnonzero(flags)
    parts = []
    for bit, rule_id in enumerate(kernel.REGISTRATION_RULES):
        hit = rows[(flags[rows] >> bit) & 1 == 1]
        parts.append(
            pl.DataFrame(
                {
                    "_row": order[hit].astype(np.uint32),
                    INSTANCE: ikey[instance[hit]],
                    "_rule": pl.Series([rule_id] * hit.size, dtype=pl.String),
                    "_c_before": c_of[hit].astype(np.int64),
                    "_first_c_outcome": _outcome(fco_of[hit].astype(np.int64)),
                }
            )
        )
    return pl.concat(parts)


def walk_events(events: pl.LazyFrame, not_treatment: Sequence[str]) -> Walked | None:
    """Order, assign and build the instances in one pass, or ``None`` when it does not apply.

    Args:
        events: The canonical event table (every canonical column present), in a stable row
            order; ``_row`` in the results is the row number in it.
        not_treatment: Events that cannot be the treatment start after detox (the named rule).

    Returns:
        The :class:`Walked` frames, or ``None`` (see the module docstring): the caller then
        takes the general path.
    """
    keys = (
        events.with_columns(_g=pl.struct(*GROUP).hash(seed=0), _out=outcome_code())
        .select(
            _k=_packed_key(),
            _g="_g",
            _payload=_payload(),
            _fits=_fits(),
        )
        .collect(engine="streaming")
    )
    if keys.height == 0 or not keys["_fits"].all():
        return None
    ordered = _order(keys)
    if ordered is None:
        return None
    order, key, payload = ordered
    (
        instance,
        assign,
        orphan,
        flags,
        c_of,
        fco_of,
        inst,
        *lists,
    ) = _kernel()(
        _readonly(order, np.uint32),
        _readonly(key, np.uint64),
        _readonly(payload, np.uint64),
        _readonly(_EVENT_CODES, np.int64),
        _event_mask(not_treatment),
    )
    ikey = (inst[kernel.F_GID] * 16 + inst[kernel.F_TYPE]) * 2**24 + inst[kernel.F_K]
    # per position in instance order; only the few flagged rows are mapped to their row here
    assigned_all = (
        pl.DataFrame(
            {
                "_row": order,
                "_inst": instance,
                "_assign": assign,
                "_orphan": orphan,
            }
        )
        .lazy()
        .with_columns(
            # an unassigned row (-1) points past the instances, at a null
            pl.lit(pl.concat([pl.Series(ikey), pl.Series([None], dtype=pl.Int64)]))
            .gather(pl.when(pl.col("_inst") >= 0).then(pl.col("_inst")).otherwise(ikey.size))
            .alias(INSTANCE),
            pl.lit(_ASSIGNMENT).gather(pl.col("_assign")).alias("assignment"),
            pl.lit(_ORPHAN_RULE).gather(pl.col("_orphan")).alias("orphan_rule"),
        )
    )
    orphans = np.flatnonzero(orphan)
    return Walked(
        assigned_all=assigned_all.select("_row", INSTANCE, "assignment", "orphan_rule"),
        rows=assigned_all.filter(pl.col("_inst") >= 0).select(
            "_row", INSTANCE, _pos=pl.int_range(pl.len(), dtype=pl.Int64)
        ),
        orphans=pl.DataFrame(
            {
                "_row": order[orphans].astype(np.uint32),
                "orphan_rule": _ORPHAN_RULE.gather(pl.Series(orphan[orphans])),
            }
        ),
        flagged=_flagged(flags, c_of, fco_of, instance, ikey, order),
        milestones=_milestones(inst, ikey, tuple(lists)),
    )


class WarmUp(NamedTuple):
    """What :func:`warm_up` did."""

    seconds: float
    """How long it took."""
    compiled: bool
    """Whether the pass was compiled (``False``: loaded from the cache, or not compiled at all
    because ``NUMBA_DISABLE_JIT`` is set)."""
    cache: str | None
    """Where numba keeps the machine code, when known."""


def warm_up() -> WarmUp:
    """Compile the pass now, or load it from the cache (a tiny walk with the real array kinds).

    The first call after installing compiles for a few seconds; later processes load the
    machine code from numba's cache.

    Examples:
        >>> done = warm_up()
        >>> done.seconds >= 0
        True
    """
    started = time.perf_counter()
    one = np.zeros(1, np.uint64)
    _compile()[1](_readonly(one, np.uint64), _readonly(one, np.uint64))
    _compile()[2](_readonly(one, np.uint64), _readonly(one, np.uint64))
    _kernel()(
        _readonly(np.zeros(1), np.uint32),
        _readonly(one, np.uint64),
        _readonly(one, np.uint64),
        _readonly(_EVENT_CODES, np.int64),
        0,
    )
    stats = getattr(_kernel(), "stats", None)  # none when NUMBA_DISABLE_JIT is set
    return WarmUp(
        seconds=time.perf_counter() - started,
        compiled=bool(stats and sum(stats.cache_misses.values())),
        cache=str(stats.cache_path) if stats and stats.cache_path else None,
    )


def warm_up_in_background() -> threading.Thread | None:
    """Start :func:`warm_up` in a thread (``None`` when the pass is not available).

    The pipeline starts it before reading the extract, so that loading (or, the first time,
    compiling) the pass overlaps the read; it joins the thread before building pathways and
    shows :data:`WARM_UP_LABEL` if it is still running then.
    """
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None

    def quietly() -> None:
        # numba is imported here too, off the main thread; if it cannot be imported or the
        # pass not compiled, building pathways says so (or takes the general path) itself
        with contextlib.suppress(Exception):
            if available():
                warm_up()

    thread = threading.Thread(target=quietly, name="pakkeforlop-warm-up", daemon=True)
    thread.start()
    return thread
