"""Rules 3–5 of domain/extract-and-timeline.md §2 as one state machine over the instance order.

:func:`walk` is plain Python over numpy arrays, written to be compiled by numba
(:mod:`pakkeforlop.timeline.compiled` compiles and calls it; with ``NUMBA_DISABLE_JIT=1`` it runs
as written). It reads the registrations once, in *instance order* — group (patient,
institution, given pathway id), the row's own type, date, the fixed same-day order of events
(rule 2), outcome — in which every (group, type) is a contiguous run. Within a run:

- a start (A) opens the next instance of the type (rule 3: the k-th start opens instance k), and
  so supersedes the one open before it (rule 5; its end is settled later, from this start);
- a registration before the run's first start is an orphan without a start (rule 4);
- an end (X) closes the instance; a registration after it and before the next start is an
  orphan after the end (rule 4, finding 225);
- any other registration joins the open instance. The milestones of §2's pathway table are read
  off as it passes ("first C", "first D", the first registration after the detox end that the
  treatment-start rule allows, ...), with the running counts of M, C and D before it that the
  register checks of kodeverk 9329 (domain/codes.md §6) read.

Typeless registrations (rule 3's "joins the only open instance") never reach this pass; the
general path of :mod:`~pakkeforlop.timeline.assign` handles them. Rule 6 (parallel pathways) and
chains need the instances of all institutions and are settled afterwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np

__all__ = [
    "AGE_SHIFT",
    "BIRTH_BASE",
    "CARE_SHIFT",
    "DAY_BITS",
    "DAY_SHIFT",
    "EPOCH",
    "EVENTS",
    "EVENT_SHIFT",
    "G2_SHIFT",
    "HASH_SHIFT",
    "NULL",
    "N_FIELDS",
    "REGISTRATION_RULES",
    "TYPE_SHIFT",
    "UNUSABLE",
    "check_order",
    "clash_spans",
    "walk",
]

#: Stands in for "no value" in the integer outputs.
NULL: Final = -(2**62)

#: Day 0 of the packed key: the pathways came into force on 1 January 2019 (earlier dates are
#: findings and never usable, domain/extract-and-timeline.md §1).
EPOCH: Final = (dt.date(2019, 1, 1) - dt.date(1970, 1, 1)).days
#: Bits of the day in the packed key: 8192 days, to mid-2041.
DAY_BITS: Final = 13

# The packed key, from the high bits down: group hash (38 bits), type (4; 15 = not usable),
# day since EPOCH (13), event in same-day order (4), outcome (5: 0 none, 1..26 A..Z).
TYPE_SHIFT: Final = 22
DAY_SHIFT: Final = 9
EVENT_SHIFT: Final = 5
UNUSABLE: Final = 15

#: The payload's layout (see :func:`walk`): second hash, care level (2 bits), age and birth
#: year (8 bits each).
G2_SHIFT: Final = 18
CARE_SHIFT: Final = 16
AGE_SHIFT: Final = 8
_NONE_8: Final = 255
#: Birth years are stored less this (1880–2134 fit in 8 bits; the register accepts 1900–2100).
BIRTH_BASE: Final = 1880
HASH_SHIFT: Final = 26

#: The events the pass tells apart, in the order of its ``events`` argument (their codes are
#: passed at run time, from the EVENT enum, so the cached machine code never holds them).
EVENTS: Final = ("A", "P", "M", "L", "C", "D", "S", "U", "F", "E", "H", "X")
_OUT_B, _OUT_F, _OUT_I, _OUT_M, _OUT_P, _OUT_T, _OUT_U, _OUT_V = (
    ord(c) - 64 for c in ("B", "F", "I", "M", "P", "T", "U", "V")
)

#: The register checks on single registrations, in the order of their bits in the ``flags``
#: output (bit 0 first); :func:`pakkeforlop.timeline.checks.registration_findings` words them.
REGISTRATION_RULES: Final = (
    "decision_without_attendance",
    "attendance_after_decision",
    "evaluation_without_decision",
    "feedback_without_decision",
    "onset_after_decision",
    "too_many_decisions",
    "second_decision_without_extended",
)

# the fields of one instance: rows of the instance matrix
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


def check_order(key: np.ndarray, payload: np.ndarray) -> tuple[int, int]:
    """Whether the sorted keys order the groups as the general path does.

    Counts the clashes (rows of two groups sharing the key's hash bits, so interleaved) and
    the ties (two usable registrations of one group alike in the whole key).

    Args:
        key: The packed keys, ascending.
        payload: The payloads, in the same order.

    Returns:
        The number of positions where a clash and where a tie begins.
    """
    clashes = 0
    ties = 0
    for i in range(1, key.shape[0]):
        if (key[i] >> HASH_SHIFT) != (key[i - 1] >> HASH_SHIFT):
            continue
        if (payload[i] >> G2_SHIFT) != (payload[i - 1] >> G2_SHIFT):
            clashes += 1
        elif key[i] == key[i - 1] and ((key[i] >> TYPE_SHIFT) & 15) != UNUSABLE:
            ties += 1
    return clashes, ties


def clash_spans(key: np.ndarray, payload: np.ndarray) -> np.ndarray:
    """The runs of equal key hash bits that hold rows of more than one group.

    Args:
        key: The packed keys, ascending.
        payload: The payloads, in the same order.

    Returns:
        ``(start, end)`` positions (end exclusive) of each such run, one row per run.
    """
    n = key.shape[0]
    spans = np.empty((0, 2), np.int64)
    found = []
    start = 0
    mixed = False
    for i in range(1, n + 1):
        if i == n or (key[i] >> HASH_SHIFT) != (key[i - 1] >> HASH_SHIFT):
            if mixed:
                found.append((start, i))
            start = i
            mixed = False
        elif (payload[i] >> G2_SHIFT) != (payload[i - 1] >> G2_SHIFT):
            mixed = True
    if len(found) > 0:
        spans = np.empty((len(found), 2), np.int64)
        for j in range(len(found)):
            spans[j, 0] = found[j][0]
            spans[j, 1] = found[j][1]
    return spans


def walk(
    perm: np.ndarray,
    key: np.ndarray,
    payload: np.ndarray,
    events: np.ndarray,
    not_treatment: int,
) -> tuple[np.ndarray, ...]:
    """Assign every registration and build every instance in one pass.

    Args:
        perm: The instance order: ``perm[i]`` is the row (in the event table) at position ``i``.
        key: The packed key of each position (see the module constants), ascending.
        payload: Per position, packed (``compiled._payload``): 46 bits of a second, independent
            group hash (with the 38 bits of the key, a group is told apart from every other
            group by 84 bits of hash), the care level code + 1 (0 none), the age (255 none) and
            the birth year less :data:`BIRTH_BASE` (255 none).
        events: The codes (physical values of the EVENT enum) of :data:`EVENTS`, in that order.
        not_treatment: Bit mask of the events that cannot be the treatment start after detox
            (the named rule, :mod:`pakkeforlop.timeline.rules`).

    Returns:
        Per position (in instance order; ``perm`` gives the row): instance number (``-1`` for
        none), assignment code (assigned, orphan, ambiguous, excluded), orphan rule (0 none,
        1 no start, 2 after the end), register-check flags (bits of
        :data:`REGISTRATION_RULES`), the C before it in its instance and the outcome code of
        the instance's first C (0: none yet or none given); then the instance matrix (``F_*``
        rows), and the offsets and values of the evaluation dates and care levels and of the
        activity outcome codes.
    """
    a_, p_, m_, l_, c_, d_, s_, u_, f_, e_, h_, x_ = (
        events[0], events[1], events[2], events[3], events[4], events[5],
        events[6], events[7], events[8], events[9], events[10], events[11],
    )  # fmt: skip
    n = perm.shape[0]
    n_inst = 0
    n_eval = 0
    for i in range(n):
        t = (key[i] >> TYPE_SHIFT) & 15
        ev = (key[i] >> EVENT_SHIFT) & 15
        if t != UNUSABLE and ev == a_:
            n_inst += 1
        if t != UNUSABLE and ev == e_:
            n_eval += 1
    instance = np.full(n, -1, np.int64)
    assign = np.empty(n, np.uint8)
    orphan = np.zeros(n, np.uint8)
    flags = np.zeros(n, np.uint8)
    c_of = np.zeros(n, np.int32)
    fco_of = np.zeros(n, np.uint8)
    inst = np.full((N_FIELDS, n_inst), NULL, np.int64)
    e_day = np.empty(n_eval, np.int32)
    e_care = np.empty(n_eval, np.int8)
    e_off = np.zeros(n_inst + 1, np.int64)

    gid = 0  # groups numbered from 1 in this order
    opened = 0  # instances opened so far (numbered in this order)
    cur = -1  # the instance open in this (group, type) run, -1 before its first start
    k = 0  # starts seen in this run
    closed = False  # the open instance has had its end (X)
    n_m = n_c = n_d = 0  # M, C, D so far in the open instance
    fco = 0  # its first C's outcome code
    seen_c = False
    ne = 0
    prev_t = -1
    prev_g2 = np.uint64(0)
    for i in range(n):
        r = perm[i]
        kk = key[i]
        t = int((kk >> TYPE_SHIFT) & 15)
        word = payload[i]
        g2 = word >> G2_SHIFT
        if i == 0 or (kk >> HASH_SHIFT) != (key[i - 1] >> HASH_SHIFT) or g2 != prev_g2:
            gid += 1  # a new group
            prev_t = -1
        prev_g2 = g2
        if t != prev_t:  # a new (group, type) run
            prev_t = t
            cur = -1
            k = 0
            closed = False
        if t == UNUSABLE:  # no patient, institution, date or event: excluded
            assign[i] = 3
            continue
        ev = int((kk >> EVENT_SHIFT) & 15)
        out = int(kk & 31)
        day = int((kk >> DAY_SHIFT) & (2**DAY_BITS - 1)) + EPOCH
        care = int((word >> CARE_SHIFT) & 3) - 1
        age = int((word >> AGE_SHIFT) & 255)
        age = NULL if age == _NONE_8 else age
        birth = int(word & 255)
        birth = NULL if birth == _NONE_8 else birth + BIRTH_BASE
        if ev == a_:  # rule 3: a start opens the next instance of its type (rule 5)
            k += 1
            cur = opened
            opened += 1
            inst[F_GID, cur] = gid
            inst[F_TYPE, cur] = t
            inst[F_K, cur] = k
            inst[F_START, cur] = day
            inst[F_A_ROW, cur] = r
            inst[F_START_POS, cur] = i
            inst[F_AGE_A, cur] = age
            for c in _COUNTED:
                inst[c, cur] = 0
            closed = False
            n_m = n_c = n_d = 0
            fco = 0
            seen_c = False
        if k == 0:  # rule 4: before any start of this type
            assign[i] = 1
            orphan[i] = 1
            continue
        if closed:  # rule 4: after the end, before the next start (225)
            assign[i] = 1
            orphan[i] = 2
            continue
        assign[i] = 0
        instance[i] = cur
        # register checks (kodeverk 9329) on the counts before this registration
        flag = 0
        if ev == c_:
            # C-P and C-T may come without M (direct to treatment); a first C without an outcome
            # is not judged (the reader flags it: missing_outcome)
            if n_m == 0 and not (n_c == 0 and (out == _OUT_P or out == _OUT_T or out == 0)):  # noqa: PLR1714, SIM109 - numba
                flag |= 1
            if n_c >= 2:
                flag |= 32
            if n_c == 1 and fco != _OUT_U:
                flag |= 64
        elif ev == m_ and n_c > 0:
            flag |= 2
        elif ev == e_ and n_c == 0:
            flag |= 4
        elif ev == f_ and n_c == 0:
            flag |= 8
        elif ev == p_ and n_c > 0:
            flag |= 16
        flags[i] = flag
        c_of[i] = n_c
        fco_of[i] = fco if seen_c else 0
        # milestones
        inst[F_N_EV, cur] += 1
        if inst[F_BIRTH, cur] == NULL and birth != NULL:
            inst[F_BIRTH, cur] = birth
        if n_d > 0 and inst[F_TREAT, cur] == NULL and not (not_treatment >> ev) & 1:
            inst[F_TREAT, cur] = day
            inst[F_TREAT_CARE, cur] = care
        if ev == m_:
            if inst[F_FIRST_M, cur] == NULL:
                inst[F_FIRST_M, cur] = day
            n_m += 1
        elif ev == c_:
            if not seen_c:
                seen_c = True
                fco = out
                inst[F_FIRST_C, cur] = day
                inst[F_FIRST_C_OUT, cur] = out
                inst[F_DIRECT, cur] = 1 if n_m == 0 else 0
            if out != _OUT_U and inst[F_FINAL_C, cur] == NULL:
                inst[F_FINAL_C, cur] = day
                inst[F_FINAL_C_OUT, cur] = out
                inst[F_CARE_FINAL, cur] = care
            inst[F_N_C, cur] += 1
            n_c += 1
        elif ev == d_:
            if inst[F_DETOX, cur] == NULL:
                inst[F_DETOX, cur] = day
                inst[F_DETOX_CARE, cur] = care
            n_d += 1
        elif ev == e_:
            inst[F_N_E, cur] += 1
            if inst[F_FIRST_E, cur] == NULL:
                inst[F_FIRST_E, cur] = day
            e_day[ne] = day
            e_care[ne] = care
            ne += 1
        elif ev == u_:
            if out == _OUT_U and inst[F_PLAN, cur] == NULL:
                inst[F_PLAN, cur] = day
            elif out == _OUT_B and inst[F_INFO, cur] == NULL:
                inst[F_INFO, cur] = day
            elif out == _OUT_F:
                inst[F_FEEDBACK_TOOL, cur] = 1
            elif out == _OUT_V:
                inst[F_STANDARD_TOOL, cur] = 1
            if out > 0:
                inst[F_U_MASK, cur] |= np.int64(1) << out
        elif ev == s_:
            if out == _OUT_M:
                inst[F_COLLAB_M, cur] = 1
            elif out == _OUT_I:
                inst[F_COLLAB_I, cur] = 1
        elif ev == f_:
            if inst[F_REFERRER, cur] == NULL:
                inst[F_REFERRER, cur] = day
        elif ev == l_:
            inst[F_N_L, cur] += 1
            if inst[F_FIRST_L, cur] == NULL:
                inst[F_FIRST_L, cur] = day
        elif ev == h_:
            inst[F_HELP, cur] = out
        elif ev == x_:
            inst[F_END, cur] = day
            inst[F_END_REASON, cur] = out
            closed = True
        e_off[cur + 1] = ne

    # activity outcomes: the letters of each instance's U registrations, in alphabetical order
    a_off = np.zeros(n_inst + 1, np.int64)
    for j in range(n_inst):
        bits = 0
        for b in range(1, 27):
            if (inst[F_U_MASK, j] >> b) & 1:
                bits += 1
        a_off[j + 1] = a_off[j] + bits
    a_code = np.empty(a_off[n_inst], np.uint8)
    for j in range(n_inst):
        p = a_off[j]
        for b in range(1, 27):
            if (inst[F_U_MASK, j] >> b) & 1:
                a_code[p] = b
                p += 1
    return (
        instance,
        assign,
        orphan,
        flags,
        c_of,
        fco_of,
        inst,
        e_off,
        # evaluations of assigned registrations only (orphans were counted in the allocation)
        e_day[:ne],
        e_care[:ne],
        a_off,
        a_code,
    )
