"""The timeline as one compiled pass over the instance order (domain/extract-and-timeline.md §2).

Rules 3–5 of §2 written as a state machine that walks the registrations once, in the order
:func:`~pakkeforlop.timeline.assign.order_events` gives them with ``by_type=True`` (group, the
row's own type, date, the fixed same-day order of events, outcome, source row). That is the
instance order whenever every usable registration carries its type (the combined layout always
does): each (group, type) is a contiguous run, and within it

- a start (A) opens the next instance of the type (rule 3, the "k-th start"), which supersedes
  the one open before it (rule 5; its end is settled later, from the next start's date);
- a registration before the first start is an orphan without a start (rule 4);
- an end (X) closes the instance; a registration after it and before the next start is an
  orphan after the end (rule 4, finding 225);
- any other registration joins the open instance, and the milestones of §2's pathway table are
  read off as it passes ("first C", "first D", the running counts of M, C and D before it, ...).

Typeless registrations (rule 3's "joins the only open instance") never reach this pass: an
extract with any of them takes the general path of :mod:`~pakkeforlop.timeline.assign` and
:mod:`~pakkeforlop.timeline.milestones`, which stays the definition this pass is tested against
(tests/test_timeline_compiled.py: identical pathways, findings and assignments).

The pass is compiled with numba (``cache=True``): the first run after installing compiles it
(a few seconds, :func:`warm_up`; ``pakkeforlop warm-up`` does it ahead of time) and stores the
machine code in numba's cache (next to this file when that is writable, otherwise the user's
cache directory, or ``NUMBA_CACHE_DIR``); later processes load it in a fraction of a second.
Setting ``PAKKEFORLOP_COMPILED_TIMELINE=0`` turns the pass off (the general path is used), and
numba's ``NUMBA_DISABLE_JIT=1`` runs the same function as plain Python (slow; for tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, cast

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from pakkeforlop.schema import CARE_LEVEL, EVENT_SAME_DAY_ORDER, PATHWAY_TYPE
from pakkeforlop.timeline.assign import ASSIGNMENT, GROUP_ID
from pakkeforlop.timeline.milestones import derived_milestones

__all__ = ["ENV_SWITCH", "Walked", "available", "walk", "warm_up"]

#: Environment variable that turns the compiled pass off when set to ``0``.
ENV_SWITCH: Final = "PAKKEFORLOP_COMPILED_TIMELINE"

#: Stands in for "no value" in the integer outputs of the pass.
NULL: Final = -(2**62)

# event codes: the physical order of the EVENT enum (A, P, M, L, C, D, S, U, F, E, H, T, X)
_A, _M, _L, _C, _D, _S, _U, _F, _E, _H, _X = (
    EVENT_SAME_DAY_ORDER.index(e) for e in ("A", "M", "L", "C", "D", "S", "U", "F", "E", "H", "X")
)
# outcome codes of the packed key: 0 none, 1..26 the letters A..Z, 27 anything else
_OUT_B, _OUT_F, _OUT_I, _OUT_M, _OUT_U, _OUT_V = (
    ord(c) - 64 for c in ("B", "F", "I", "M", "U", "V")
)

# the fields of one instance (columns of the pass's instance matrix)
(
    F_GID,
    F_TYPE,
    F_K,
    F_AGE_A,
    F_BIRTH,
    F_START,
    F_A_ROW,
    F_START_POS,
    F_FIRST_M,
    F_FIRST_C,
    F_FIRST_C_OUT,
    F_FINAL_C,
    F_FINAL_C_OUT,
    F_N_C,
    F_DETOX,
    F_DETOX_CARE,
    F_TREAT,
    F_TREAT_CARE,
    F_N_E,
    F_FIRST_E,
    F_PLAN,
    F_INFO,
    F_FEEDBACK_TOOL,
    F_STANDARD_TOOL,
    F_COLLAB_M,
    F_COLLAB_I,
    F_REFERRER,
    F_N_L,
    F_FIRST_L,
    F_HELP,
    F_END,
    F_END_REASON,
    F_CARE_FINAL,
    F_N_EV,
    F_DIRECT,
    F_U_MASK,
    N_FIELDS,
) = range(37)
#: Fields that start at 0 (counts and flags) rather than "no value".
_COUNTED: Final = (
    F_N_C,
    F_N_E,
    F_N_L,
    F_N_EV,
    F_FEEDBACK_TOOL,
    F_STANDARD_TOOL,
    F_COLLAB_M,
    F_COLLAB_I,
    F_U_MASK,
)


def _walk(
    gid: np.ndarray,
    key: np.ndarray,
    day: np.ndarray,
    care: np.ndarray,
    age: np.ndarray,
    birth: np.ndarray,
    row: np.ndarray,
    not_treatment: int,
) -> tuple[np.ndarray, ...]:
    """The state machine (compiled by :func:`_kernel`; plain Python with ``NUMBA_DISABLE_JIT``).

    Args:
        gid: Group number of each row, non-decreasing (instance order).
        key: The packed order key of ``order_events(..., by_type=True)``: type (15: the row is
            not usable), days, event, outcome code, source row.
        day: Event date in days since 1970 (any value where the row is not usable).
        care: Care level code (``-1`` for none).
        age: Age at the registration (:data:`NULL` for none).
        birth: Birth year (:data:`NULL` for none).
        row: Row number in the event table.
        not_treatment: Bit mask of the event codes that cannot be the treatment start after
            detox (the named rule).

    Returns:
        Per row: assignment code (:data:`~pakkeforlop.timeline.assign.ASSIGNMENT` order),
        orphan rule (0 none, 1 no start, 2 after the end), start number ``k``, M, C and D before
        the row in its instance, and the first C's outcome code (0: none yet, or none given).
        Per instance: the field matrix (``F_*`` columns), the offsets and values of the
        evaluation dates and care levels, and of the activity outcome codes.
    """
    n = gid.shape[0]
    n_inst = 0
    n_eval = 0
    for i in range(n):
        t = key[i] >> 60
        ev = (key[i] >> 36) & 15
        if t != 15 and ev == _A:
            n_inst += 1
        if t != 15 and ev == _E:
            n_eval += 1
    assign = np.empty(n, np.uint8)
    orphan = np.zeros(n, np.uint8)
    k_of = np.zeros(n, np.int64)
    m_before = np.zeros(n, np.int64)
    c_before = np.zeros(n, np.int64)
    d_before = np.zeros(n, np.int64)
    first_c_out = np.zeros(n, np.uint8)
    inst = np.full((N_FIELDS, n_inst), NULL, np.int64)
    e_day = np.empty(n_eval, np.int32)
    e_care = np.empty(n_eval, np.int8)
    e_off = np.zeros(n_inst + 1, np.int64)

    opened = 0  # instances opened so far (instances are numbered in instance order)
    cur = -1  # the instance open in this (group, type) run, -1 before its first start
    k = 0  # starts seen in this run
    closed = False  # the open instance has had its end (X)
    n_m = n_c = n_d = 0
    fco = 0  # first C's outcome code in the instance
    seen_c = False
    ne = 0
    prev_gid = -1
    prev_t = -1
    for i in range(n):
        kk = key[i]
        t = int(kk >> 60)
        ev = int((kk >> 36) & 15)
        out = int((kk >> 30) & 63)
        if gid[i] != prev_gid or t != prev_t:  # a new (group, type) run
            prev_gid = int(gid[i])
            prev_t = t
            cur = -1
            k = 0
            closed = False
        if t == 15:  # not usable: no patient, institution, date or event
            assign[i] = 3
            k_of[i] = k + (1 if ev == _A else 0)
            k = k_of[i]
            continue
        if ev == _A:  # rule 3: a start opens the next instance of its type (rule 5)
            k += 1
            cur = opened
            opened += 1
            inst[F_GID, cur] = gid[i]
            inst[F_TYPE, cur] = t
            inst[F_K, cur] = k
            inst[F_START, cur] = day[i]
            inst[F_A_ROW, cur] = row[i]
            inst[F_START_POS, cur] = i
            inst[F_AGE_A, cur] = age[i]
            for c in _COUNTED:
                inst[c, cur] = 0
            closed = False
            n_m = n_c = n_d = 0
            fco = 0
            seen_c = False
        k_of[i] = k
        if k == 0:  # rule 4: before any start of this type
            assign[i] = 1
            orphan[i] = 1
            continue
        if closed:  # rule 4: after the end, before the next start (225)
            assign[i] = 1
            orphan[i] = 2
            continue
        assign[i] = 0
        m_before[i] = n_m
        c_before[i] = n_c
        d_before[i] = n_d
        inst[F_N_EV, cur] += 1
        if inst[F_BIRTH, cur] == NULL and birth[i] != NULL:
            inst[F_BIRTH, cur] = birth[i]
        if n_d > 0 and inst[F_TREAT, cur] == NULL and not (not_treatment >> ev) & 1:
            inst[F_TREAT, cur] = day[i]
            inst[F_TREAT_CARE, cur] = care[i]
        if ev == _M:
            if inst[F_FIRST_M, cur] == NULL:
                inst[F_FIRST_M, cur] = day[i]
            n_m += 1
        elif ev == _C:
            if not seen_c:
                seen_c = True
                fco = out
                inst[F_FIRST_C, cur] = day[i]
                inst[F_FIRST_C_OUT, cur] = out
                inst[F_DIRECT, cur] = 1 if n_m == 0 else 0
            if out != _OUT_U and inst[F_FINAL_C, cur] == NULL:
                inst[F_FINAL_C, cur] = day[i]
                inst[F_FINAL_C_OUT, cur] = out
                inst[F_CARE_FINAL, cur] = care[i]
            inst[F_N_C, cur] += 1
            n_c += 1
        elif ev == _D:
            if inst[F_DETOX, cur] == NULL:
                inst[F_DETOX, cur] = day[i]
                inst[F_DETOX_CARE, cur] = care[i]
            n_d += 1
        elif ev == _E:
            inst[F_N_E, cur] += 1
            if inst[F_FIRST_E, cur] == NULL:
                inst[F_FIRST_E, cur] = day[i]
            e_day[ne] = day[i]
            e_care[ne] = care[i]
            ne += 1
        elif ev == _U:
            if out == _OUT_U and inst[F_PLAN, cur] == NULL:
                inst[F_PLAN, cur] = day[i]
            elif out == _OUT_B and inst[F_INFO, cur] == NULL:
                inst[F_INFO, cur] = day[i]
            elif out == _OUT_F:
                inst[F_FEEDBACK_TOOL, cur] = 1
            elif out == _OUT_V:
                inst[F_STANDARD_TOOL, cur] = 1
            if out > 0:
                inst[F_U_MASK, cur] |= np.int64(1) << out
        elif ev == _S:
            if out == _OUT_M:
                inst[F_COLLAB_M, cur] = 1
            elif out == _OUT_I:
                inst[F_COLLAB_I, cur] = 1
        elif ev == _F:
            if inst[F_REFERRER, cur] == NULL:
                inst[F_REFERRER, cur] = day[i]
        elif ev == _L:
            inst[F_N_L, cur] += 1
            if inst[F_FIRST_L, cur] == NULL:
                inst[F_FIRST_L, cur] = day[i]
        elif ev == _H:
            inst[F_HELP, cur] = out
        elif ev == _X:
            inst[F_END, cur] = day[i]
            inst[F_END_REASON, cur] = out
            closed = True
        first_c_out[i] = fco if seen_c else 0
        e_off[cur + 1] = ne

    # activity outcomes: the letters of each instance's U registrations, in alphabetical order
    a_off = np.zeros(n_inst + 1, np.int64)
    for j in range(n_inst):
        mask = inst[F_U_MASK, j]
        bits = 0
        for b in range(1, 27):
            if (mask >> b) & 1:
                bits += 1
        a_off[j + 1] = a_off[j] + bits
    a_code = np.empty(a_off[n_inst], np.uint8)
    for j in range(n_inst):
        mask = inst[F_U_MASK, j]
        p = a_off[j]
        for b in range(1, 27):
            if (mask >> b) & 1:
                a_code[p] = b
                p += 1
    return (
        assign,
        orphan,
        k_of,
        m_before,
        c_before,
        d_before,
        first_c_out,
        inst,
        e_off,
        # evaluations of assigned registrations only (orphans were counted in the allocation)
        e_day[:ne],
        e_care[:ne],
        a_off,
        a_code,
    )


_Kernel = Callable[..., tuple[np.ndarray, ...]]
_compiled: _Kernel | None = None


def _kernel() -> _Kernel:
    """The compiled state machine (compiled, or loaded from numba's cache, on first use)."""
    global _compiled  # noqa: PLW0603 - one dispatcher per process
    if _compiled is None:
        import numba  # noqa: PLC0415 - importing numba costs time; only runs that walk pay it

        _compiled = cast("_Kernel", numba.njit(cache=True, nogil=True)(_walk))
    return _compiled


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
    """The frames the general path builds, from one compiled pass."""

    assigned_all: pl.DataFrame
    """Every registration in instance order, with its assignment (as ``assign_instances``)."""
    rows: pl.LazyFrame
    """The assigned registrations with their running counts (as ``with_running_counts``)."""
    milestones: pl.DataFrame
    """One row per instance (as ``aggregate_instances``)."""


def _readonly(values: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    """A C-contiguous, read-only array of ``dtype``: one array kind, so one compiled version.

    polars hands out read-only views; copies made here are marked read-only too, so the
    kernel never compiles a second time for writable inputs.
    """
    out = np.ascontiguousarray(values, dtype=dtype)
    out.setflags(write=False)
    return out


def _ints(column: pl.Series) -> np.ndarray:
    return _readonly(column.cast(pl.Int64).fill_null(NULL).to_numpy(), np.int64)


def _inputs(ordered: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return (
        _readonly(ordered[GROUP_ID].to_numpy(), np.int64),
        _readonly(ordered["_o"].to_numpy(), np.uint64),
        _readonly(ordered["event_date"].to_physical().fill_null(0).to_numpy(), np.int32),
        _readonly(
            ordered["care_level"].to_physical().cast(pl.Int8).fill_null(-1).to_numpy(), np.int8
        ),
        _ints(ordered["age"]),
        _ints(ordered["birth_year"]),
        _readonly(ordered["_row"].to_numpy(), np.uint32),
    )


def _event_mask(events: Sequence[str]) -> int:
    return sum(1 << EVENT_SAME_DAY_ORDER.index(e) for e in events)


#: Outcome code (0 none, 1..26 A..Z) to its letter.
_LETTERS: Final = pl.Series("letters", [None, *(chr(c) for c in range(65, 91))], pl.String)
#: Care level code + 1 (0 none) to the care level.
_CARE: Final = pl.Series("care", [None, *CARE_LEVEL.categories], CARE_LEVEL)
_TYPES: Final = pl.Series("types", PATHWAY_TYPE.categories, PATHWAY_TYPE)
_ASSIGNMENT: Final = pl.Series("assignment", ASSIGNMENT.categories, ASSIGNMENT)
_ORPHAN_RULE: Final = pl.Series("orphan_rule", [None, "no_start", "event_after_end"], pl.String)


def _codes(values: np.ndarray) -> pl.Series:
    """Non-negative codes as gather indices (a null for :data:`NULL` and negative codes)."""
    return pl.Series(np.where(values < 0, 0, values).astype(np.uint32))


def _outcome(values: np.ndarray) -> pl.Series:
    return _LETTERS.gather(_codes(values))


def _care(values: np.ndarray) -> pl.Series:
    return _CARE.gather(_codes(np.where(values == NULL, -1, values) + 1))


def _date(values: np.ndarray) -> pl.Series:
    raw = pl.Series(values)
    return pl.select(pl.when(raw != NULL).then(raw).cast(pl.Int32).cast(pl.Date)).to_series()


def _int(values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    raw = pl.Series(values)
    return pl.select(pl.when(raw != NULL).then(raw).cast(dtype)).to_series()


def _lists(offsets: np.ndarray, values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """A list column from offsets (``n + 1``) and the flat values."""
    # through polars, not pa.array: pyarrow's numpy conversion imports pandas (a quarter second)
    listed = pa.LargeListArray.from_arrays(pl.Series(offsets).to_arrow(), values.to_arrow())
    return cast("pl.Series", pl.from_arrow(listed)).cast(dtype)


def walk(ordered: pl.DataFrame, not_treatment: Sequence[str]) -> Walked:
    """Assign the registrations and build the instances in one compiled pass.

    Args:
        ordered: ``order_events(..., by_type=True)`` of an extract whose usable registrations
            all carry their type and whose outcomes are single letters (the caller checks;
            :func:`~pakkeforlop.timeline.build_pathways`).
        not_treatment: Events that cannot be the treatment start after detox (the named rule).

    Returns:
        The :class:`Walked` frames, equal to the general path's.
    """
    (
        assign,
        orphan,
        k_of,
        m_before,
        c_before,
        d_before,
        first_c_out,
        inst,
        e_off,
        e_day,
        e_care,
        a_off,
        a_code,
    ) = _kernel()(*_inputs(ordered), _event_mask(not_treatment))
    code = pl.col("_type").to_physical().cast(pl.Int64).fill_null(15)
    assigned_all = (
        ordered.select(
            "_pos",
            "_row",
            "event",
            "pathway_type",
            "outcome",
            "event_date",
            "care_level",
            "age",
            "birth_year",
            "_usable",
            GROUP_ID,
        )
        .with_columns(
            _type=pl.when(pl.col("_usable")).then(pl.col("pathway_type")),
            _k=pl.Series(k_of),
            assignment=_ASSIGNMENT.gather(pl.Series(assign)),
            orphan_rule=_ORPHAN_RULE.gather(pl.Series(orphan)),
        )
        .with_columns(_tkey=pl.col(GROUP_ID) * 16 + code)
        .with_columns(_ikey=pl.col("_tkey") * 2**24 + pl.col("_k"))
    )
    rows = (
        assigned_all.with_columns(
            _m_before=pl.Series(m_before),
            _c_before=pl.Series(c_before),
            _d_before=pl.Series(d_before),
            # categorical: a gather of codes, not of 7 million strings (only C rows read it)
            _first_c_outcome=_LETTERS.cast(pl.Categorical).gather(pl.Series(first_c_out)),
        )
        .lazy()
        .filter(pl.col("assignment") == "assigned")
    )
    column = inst
    n_e = e_off[1:] - e_off[:-1]
    milestones = pl.DataFrame(
        {
            GROUP_ID: column[F_GID],
            "_type": _TYPES.gather(pl.Series(column[F_TYPE].astype(np.uint32))),
            "_k": column[F_K],
            "_age_a": _int(column[F_AGE_A], pl.Int16()),
            "_birth_year": _int(column[F_BIRTH], pl.Int16()),
            "start_date": _date(column[F_START]),
            "_a_row": column[F_A_ROW].astype(np.uint32),
            "_start_pos": column[F_START_POS],
            "first_attendance_date": _date(column[F_FIRST_M]),
            "first_decision_date": _date(column[F_FIRST_C]),
            "first_decision_outcome": _outcome(column[F_FIRST_C_OUT]),
            "final_decision_date": _date(column[F_FINAL_C]),
            "final_decision_outcome": _outcome(column[F_FINAL_C_OUT]),
            "decision_count": column[F_N_C].astype(np.uint32),
            "detox_end_date": _date(column[F_DETOX]),
            "detox_end_care_level": _care(column[F_DETOX_CARE]),
            "treatment_start_date": _date(column[F_TREAT]),
            "treatment_start_care_level": _care(column[F_TREAT_CARE]),
            "evaluation_count": n_e.astype(np.uint32),
            "first_evaluation_date": _date(column[F_FIRST_E]),
            "plan_date": _date(column[F_PLAN]),
            "information_date": _date(column[F_INFO]),
            "feedback_tool": column[F_FEEDBACK_TOOL] == 1,
            "standard_tool": column[F_STANDARD_TOOL] == 1,
            "collaboration": _LETTERS.gather(
                pl.Series(
                    np.where(
                        column[F_COLLAB_M] == 1,
                        _OUT_M,
                        np.where(column[F_COLLAB_I] == 1, _OUT_I, 0),
                    ).astype(np.uint32)
                )
            ),
            "referrer_feedback_date": _date(column[F_REFERRER]),
            "postponements": column[F_N_L].astype(np.uint32),
            "first_postponement_date": _date(column[F_FIRST_L]),
            "help_needed": _outcome(column[F_HELP]),
            "end_date": _date(column[F_END]),
            "end_reason": _outcome(column[F_END_REASON]),
            "care_level": _care(column[F_CARE_FINAL]),
            "event_count": column[F_N_EV].astype(np.uint32),
            "evaluation_dates": _lists(e_off, pl.Series(e_day).cast(pl.Date), pl.List(pl.Date())),
            "evaluation_care_levels": _lists(
                e_off, _care(e_care.astype(np.int64)), pl.List(CARE_LEVEL)
            ),
            "activity_outcomes": _lists(
                a_off, _LETTERS.gather(pl.Series(a_code.astype(np.uint32))), pl.List(pl.String())
            ),
            "direct_to_treatment": column[F_DIRECT] == 1,
        }
    )
    milestones = (
        milestones.lazy()
        .with_columns(_tkey=pl.col(GROUP_ID) * 16 + code)
        .with_columns(_ikey=pl.col("_tkey") * 2**24 + pl.col("_k"))
        .pipe(derived_milestones)
        .collect()
    )
    return Walked(assigned_all, rows, milestones)


def warm_up() -> None:
    """Compile the pass now, or load it from the cache (a tiny walk with the real array kinds).

    The first call after installing compiles for a few seconds; later processes load the
    machine code from numba's cache.
    """
    empty = pl.DataFrame(
        {
            GROUP_ID: pl.Series([1], dtype=pl.Int64),
            "_o": pl.Series([0], dtype=pl.UInt64),
            "event_date": pl.Series([0], dtype=pl.Int32).cast(pl.Date),
            "care_level": pl.Series([None], dtype=CARE_LEVEL),
            "age": pl.Series([None], dtype=pl.Int16),
            "birth_year": pl.Series([None], dtype=pl.Int16),
            "_row": pl.Series([0], dtype=pl.UInt32),
        }
    )
    _kernel()(*_inputs(empty), 0)
