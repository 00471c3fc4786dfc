"""Vectorised simulation of one chunk of pathway instances (numpy, no loop over pathways or rows).

Each instance is simulated as a fixed set of *slots* (A, P, M, L, C, C, D, ..., E1..E6, T, H, X),
each with a date, a presence flag, an outcome and a care level; present slots become
registrations. Dates move forward in the logical order of the pathway, so the same-day order of
domain/extract-and-timeline.md §2 (A, P, M, L, C, D, S, U, F, E, H, T, X) never contradicts it, and
clean data breaks no error-level rule of ``rules.toml``:

- C-U only where the catalogue allows it (D01, D11, D12), followed by a second C on a later day;
  at most two C; M always before the first C, except in direct-to-treatment pathways (first C with
  outcome P or T and no M at all); E, F and treatment activities only after a C; P (D06) before C;
  D only for the types the catalogue allows; L only where the catalogue allows it; H only in an
  edition that has it; no registration after X; D12 patients are at most 16 at start and every
  registration falls before their 18th birthday.
- Pathways end in one of three phases: before first attendance (rejected referral X-R, X-L, did
  not attend, own wish), during assessment (between M and C), or after the final decision. A
  pathway never ends between a C-U and its second C.
- Pairs of consecutive instances may belong together: a transfer (X-O, then a new A of the same
  type at another trust of the region 1–14 days later: a chain), a parallel pathway of the same
  adult (D11 and D01 at two institutions; the timeline's finding 224 is expected and listed in the
  truth table), a repeat (a new start at the same institution after the end) or a switch (X-N,
  then the other of D11/D01).
- Weekends: most pathways move registrations that fall on a Saturday or Sunday to the next Monday
  (public holidays are not modelled).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from pakkeforlop.synth.model import (
    EVENTS,
    OUTCOME_LETTERS,
    TYPES,
    World,
    letter,
)

__all__ = ["PAIR_KINDS", "SLOTS", "Chunk", "Rows", "calendar_age", "patient_ids", "simulate_chunk"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I16 = npt.NDArray[np.int16]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: The slots of one pathway instance, in logical order.
SLOTS: Final = (
    "A", "P", "M", "L1", "C1", "C2", "D", "TS", "UB", "UU", "S", "F", "UF", "UV", "UX1", "UX2",
    "L2", "E1", "E2", "E3", "E4", "E5", "E6", "T", "H", "X",
)  # fmt: skip
_S = {name: i for i, name in enumerate(SLOTS)}
_SLOT_EVENT: Final = {
    "A": "A", "P": "P", "M": "M", "L1": "L", "C1": "C", "C2": "C", "D": "D", "TS": "S",
    "UB": "U", "UU": "U", "S": "S", "F": "F", "UF": "U", "UV": "U", "UX1": "U", "UX2": "U",
    "L2": "L", "T": "T", "H": "H", "X": "X",
    **{f"E{k}": "E" for k in range(1, 7)},
}  # fmt: skip
#: Slots registered on treatment contacts (their care level is the treatment care level).
_TREATMENT_SLOTS: Final = frozenset(SLOTS[_S["D"] :]) - {"X"}
_EV = {e: i for i, e in enumerate(EVENTS)}
_T = {t: i for i, t in enumerate(TYPES)}
PAIR_KINDS: Final = ("independent", "transfer", "parallel", "repeat", "switch")
_INDEP, _TRANSFER, _PARALLEL, _REPEAT, _SWITCH = range(5)
_INPATIENT, _DAY, _OUTPATIENT = range(3)
#: Patients' ids are a bijection of their number onto 10-digit strings (not sequential).
_ID_MULTIPLIER: Final = 387_420_489  # 3**18, coprime to 10**9
#: Days after which a D12 pathway must have ended: 18 * 365 days is before the 18th birthday.
_D12_LAST_DAY: Final = 18 * 365 - 1
_DATE_BASE: Final = 17_000  # 2016-07-18; sort keys hold dates as days since then (16 bits)


_WEEKEND_SHIFT: Final = np.array([0, 0, 0, 0, 0, 2, 1], dtype=np.int32)  # Mon..Sun -> Monday


@dataclass
class Rows:
    """Registrations of a chunk as parallel numpy arrays (one element per row).

    Patient, residence and birth are properties of the *instance* (``Chunk``), not of the row.
    """

    inst: I32  # instance index within the chunk (injected orphans: after the last instance)
    copy: I8  # 1 for rows of an injected parallel copy (sorted after the original)
    institution: I32
    date: I32  # days since 1970-01-01
    ptype: I8  # index into TYPES
    event: I8  # index into EVENTS
    outcome: I8  # index into OUTCOME_LETTERS
    care: I8  # index into CARE_LEVELS
    age: I16
    slot: I8
    missing: I8  # 0 none, 1 patient_id, 2 institution_id, 3 event_date, 4 code/event
    bad_date: I8  # 0 none, else 1 + index of a garbage date pattern
    rid: I32  # row id within the chunk, stable across injection

    def take(self, idx: npt.NDArray[np.intp] | I64 | B) -> Rows:
        """The rows at ``idx`` (an index array or boolean mask)."""
        return Rows(**{k: v[idx] for k, v in vars(self).items()})

    def __len__(self) -> int:
        return len(self.inst)

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """Rows of several parts, in order."""
        return Rows(**{k: np.concatenate([vars(p)[k] for p in parts]) for k in vars(parts[0])})

    def sort_key(self) -> I64:
        """Instance, copy flag, date, same-day event order and slot, packed in one integer."""
        return (
            (self.inst.astype(np.int64) << 27)
            | (self.copy.astype(np.int64) << 26)
            | ((self.date.astype(np.int64) - _DATE_BASE) << 10)
            | (self.event.astype(np.int64) << 5)
            | self.slot.astype(np.int64)
        )

    def sorted(self) -> Rows:
        """The rows in output order (keys are unique, so any sort algorithm gives one order)."""
        return self.take(np.argsort(self.sort_key()))


@dataclass
class Chunk:
    """One simulated chunk: rows in output order and what is known about each instance."""

    rows: Rows
    n: int  # instances drawn (injected orphans are appended to the instance arrays below)
    pair_kind: I64
    second: B  # instance depends on the one before it (same pair)
    ptype: I64
    patient: I64  # patient number (scrambled into an id when written)
    institution: I64
    muni: I64
    res_trust: I64
    sex: I64  # 0 male, 1 female, 2 unknown (SEX enum order)
    birth: I64  # days since 1970-01-01
    parallel: B  # the timeline should report finding 224 for this instance
    first_index: int  # global index of instance 0


_YEAR_LUT: I16 | None = None
_MONTHDAY_LUT: I16 | None = None
_LUT_BASE: Final = -40_000  # 1860-06-...; birth dates of the oldest synthetic patients are later


def _luts() -> tuple[I16, I16]:
    global _YEAR_LUT, _MONTHDAY_LUT  # noqa: PLW0603 - built once, read-only afterwards
    if _YEAR_LUT is None or _MONTHDAY_LUT is None:
        days = np.arange(_LUT_BASE, 40_000, dtype=np.int64).astype("datetime64[D]")
        years = days.astype("datetime64[Y]")
        months = days.astype("datetime64[M]")
        _YEAR_LUT = (years.astype(np.int64) + 1970).astype(np.int16)
        _MONTHDAY_LUT = (
            (months.astype(np.int64) % 12) * 32 + (days - months).astype(np.int64)
        ).astype(np.int16)
    return _YEAR_LUT, _MONTHDAY_LUT


def year_of(days: npt.NDArray[np.integer]) -> I16:
    """Calendar year of dates given as days since 1970-01-01.

    Examples:
        >>> import numpy as np
        >>> year_of(np.array([0, 365, 17897])).tolist()
        [1970, 1971, 2019]
    """
    years: I16 = _luts()[0][days - _LUT_BASE]
    return years


def calendar_age(birth: npt.NDArray[np.integer], on: npt.NDArray[np.integer]) -> I16:
    """Age in whole years on a date, both given as days since 1970-01-01.

    Examples:
        >>> import numpy as np
        >>> import datetime as dt
        >>> d = lambda s: (dt.date.fromisoformat(s) - dt.date(1970, 1, 1)).days
        >>> birth = np.array([d("2000-03-01")] * 2)
        >>> calendar_age(birth, np.array([d("2018-02-28"), d("2018-03-01")])).tolist()
        [17, 18]
    """
    years, monthday = _luts()
    b = birth - _LUT_BASE
    o = on - _LUT_BASE
    age: I16 = (years[o] - years[b] - (monthday[o] < monthday[b])).astype(np.int16)
    return age


def _weekday_shift(d: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
    """Move Saturdays and Sundays to the next Monday (1970-01-01 was a Thursday)."""
    moved: npt.NDArray[np.integer] = d + _WEEKEND_SHIFT[(d + 3) % 7]
    return moved


def _pick_rows(rng: np.random.Generator, cum: F64, row: I64) -> I64:
    """One index per element: a draw from row ``row[i]`` of a cumulative-probability matrix."""
    n_rows, width = cum.shape
    # Offset each row by its index so the flattened matrix is sorted; one searchsorted does all.
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    hit = np.searchsorted(flat, rng.random(len(row)) + row, side="right")
    picked: I64 = np.minimum(hit - row * width, width - 1).astype(np.int64)
    return picked


def _pick_n(rng: np.random.Generator, cum: F64, n: int) -> I64:
    """``n`` draws from one cumulative-probability vector."""
    hit = np.searchsorted(cum, rng.random(n), side="right")
    return np.minimum(hit, len(cum) - 1).astype(np.int64)


def _int_between(rng: np.random.Generator, lo: I64 | int, hi: I64 | int, n: int) -> I64:
    """Uniform integers in [lo, hi] (inclusive; hi >= lo)."""
    span = np.asarray(hi, dtype=np.int64) - np.asarray(lo, dtype=np.int64) + 1
    return np.asarray(lo, dtype=np.int64) + np.floor(rng.random(n) * span).astype(np.int64)


def _cumulative(mat: F64) -> F64:
    total = mat.sum(axis=1, keepdims=True)
    return np.cumsum(np.divide(mat, total, out=np.zeros_like(mat), where=total > 0), axis=1)


def _letter_weights(w: World, weights: dict[str, float], event: str) -> F64:
    """Cumulative weights over outcome letters per type, keeping only codes the catalogue allows."""
    n_types = len(TYPES) - 1
    mat = np.zeros((n_types, len(OUTCOME_LETTERS)))
    for code, wt in weights.items():
        mat[:, letter(code)] = wt
    return _cumulative(mat * w.valid[:n_types, _EV[event], :])


def _type_letter_weights(w: World, attr: str, event: str) -> F64:
    """Cumulative outcome weights from a per-type mapping of the profile (e.g. other decisions)."""
    n_types = len(TYPES) - 1
    mat = np.zeros((n_types, len(OUTCOME_LETTERS)))
    for t in range(n_types):  # eight types: profile look-up, not data
        for code, wt in getattr(w.type_profile(t), attr).items():
            mat[t, letter(code)] = wt
    return _cumulative(mat * w.valid[:n_types, _EV[event], :])


def _letter_vector(weights: dict[str, float]) -> F64:
    v = np.zeros(len(OUTCOME_LETTERS))
    for code, wt in weights.items():
        v[letter(code)] = wt
    return np.cumsum(v / v.sum())


@dataclass
class _Slot:
    mask: B
    date: I64
    outcome: I64 | int = 0
    event: I64 | int = -1  # -1: the slot's fixed event


@dataclass
class _Sim:
    slots: dict[str, _Slot]
    end: I64  # X date: after weekend moves and caps, before censoring at the extract end
    keep_weekend: B


def _simulate(
    w: World,
    rng: np.random.Generator,
    *,
    t: I64,
    start: I64,
    care_a: I64,
    care_t: I64,
    keep_weekend: B,
    birth: I64,
    region: I64,
    p_plan: F64,
    p_eval: F64,
    forced_phase: I64,
    forced_reason: I64,
    no_reject: B,
    direct_p: F64,
) -> _Sim:
    """Simulate instances whose start dates are known (dates before weekend moves)."""
    m = len(t)
    tp = w.tp
    g = w.profile.general
    valid = w.valid

    def ok(ev: str, out: str = "") -> B:
        allowed: B = valid[t, _EV[ev], letter(out)]
        return allowed

    def expo(mean: float) -> I64:
        return np.floor(rng.exponential(mean, m)).astype(np.int64)

    def bern(p: F64 | float) -> B:
        return rng.random(m) < p

    def lognormal(median: F64, sigma: float, mu: F64 | float = 0.0) -> F64:
        return median * np.exp(sigma * rng.standard_normal(m) + mu)

    # --- the phase the pathway ends in ---------------------------------------------------------
    u = rng.random(m)
    c_rej = tp["reject"][t] * tp["reject_region"][region] * ~no_reject
    c_notp = c_rej + tp["not_in_pathway"][t]
    c_drop0 = c_notp + tp["drop_before_attendance"][t]
    c_drop1 = c_drop0 + tp["drop_in_assessment"][t]
    phase = np.where(u < c_drop0, 0, np.where(u < c_drop1, 1, 3))
    direct = (u >= c_drop1) & (u < c_drop1 + direct_p)
    forced = forced_phase >= 0
    phase = np.where(forced, forced_phase, phase)
    decided = phase == 3
    direct &= decided
    extended = decided & ~direct & ok("C", "U") & bern(tp["extended"][t])
    postpone = decided & ~direct & ok("L") & bern(tp["postponement"][t])

    # --- referral, first attendance and assessment ---------------------------------------------
    a = start
    mdate = a + np.clip(np.floor(lognormal(tp["wait_median"][t], g.wait_sigma)), 0, 150).astype(
        np.int64
    )
    col_a = (care_a == _INPATIENT).astype(np.int64)
    col_t = (care_t == _INPATIENT).astype(np.int64)
    spread = np.exp(g.assessment_sigma * rng.standard_normal(m) + tp["mu_basic"][t])
    basic = np.clip(np.ceil(tp["limit_basic"][t, col_a] * spread), 1, 200).astype(np.int64)
    ext = np.clip(np.ceil(tp["limit_extended"][t, col_a] * spread), 2, 200).astype(np.int64)
    assess = np.where(extended, ext, basic) + np.where(postpone, _int_between(rng, 7, 21, m), 0)
    first_part = np.clip(np.floor(rng.uniform(0.3, 0.7, m) * assess), 1, np.maximum(assess - 1, 1))
    c1 = np.where(
        direct,
        a + _int_between(rng, 0, 14, m),
        mdate + np.where(extended, first_part.astype(np.int64), assess),
    )
    c2 = mdate + assess
    c = np.where(extended, c2, c1)
    l1 = mdate + np.floor(rng.random(m) * (c1 - mdate + 1)).astype(np.int64)
    before_c = np.where(direct, c1, mdate)
    onset = a + np.floor(rng.random(m) * (before_c - a + 1)).astype(np.int64)

    # --- decisions -----------------------------------------------------------------------------
    treat_letter = np.array(
        [letter(w.type_profile(i).treatment_outcome) for i in range(len(TYPES) - 1)]
    )
    treat = decided & (direct | bern(tp["treatment"][t]))
    other = _pick_rows(rng, _type_letter_weights(w, "other_decisions", "C"), t)
    final_out = np.where(treat, treat_letter[t], other)

    # --- treatment -----------------------------------------------------------------------------
    detox = treat & ok("D") & bern(tp["detox"][t])
    dday = c + expo(5)
    lag = np.where(
        care_t == _INPATIENT,
        np.where(bern(0.7), 0, _int_between(rng, 1, 7, m)),
        np.where(bern(0.75), _int_between(rng, 0, 3, m), _int_between(rng, 4, 14, m)),
    )
    ts = dday + lag
    ts_is_s = bern(0.5)
    t0 = np.where(detox, ts, c)
    dur = np.clip(np.ceil(lognormal(tp["duration_median"][t], g.duration_sigma)), 14, 1800)
    x_treat = t0 + dur.astype(np.int64)
    x_other = c + _int_between(rng, 0, 30, m)
    x0 = a + np.where(u < c_rej, _int_between(rng, 1, 14, m), _int_between(rng, 1, 30, m))
    x1 = mdate + 1 + np.floor(rng.random(m) * np.maximum(c1 - mdate - 1, 0)).astype(np.int64)
    x = np.where(phase == 0, x0, np.where(phase == 1, x1, np.where(treat, x_treat, x_other)))
    transfer_soon = forced & decided & (forced_reason == letter("O"))
    x = np.where(transfer_soon, np.minimum(x, t0 + _int_between(rng, 7, 120, m)), x)

    # --- end reason ----------------------------------------------------------------------------
    er = w.profile.end_reasons
    reason0 = np.where(
        u < c_rej,
        letter("R"),
        np.where(
            u < c_notp,
            letter("L"),
            _pick_rows(rng, _letter_weights(w, er.before_attendance, "X"), t),
        ),
    )
    reason1 = _pick_rows(rng, _letter_weights(w, er.in_assessment, "X"), t)
    reason_t = _pick_rows(rng, _letter_weights(w, er.after_treatment, "X"), t)
    reason_o = _pick_rows(rng, _letter_weights(w, er.after_other_decision, "X"), t)
    reason = np.where(
        phase == 0, reason0, np.where(phase == 1, reason1, np.where(treat, reason_t, reason_o))
    )
    reason = np.where(forced_reason > 0, forced_reason, reason)

    # --- activities after the decision ---------------------------------------------------------
    def share(name: str, other_factor: float) -> B:
        chosen: B = decided & bern(np.where(treat, tp[name][t], other_factor * tp[name][t]))
        return chosen

    has_eval = treat & bern(p_eval)
    e_dates = [
        c
        + np.ceil(
            lognormal(
                tp["limit_first_evaluation"][t, col_t], g.evaluation_sigma, tp["mu_first_eval"][t]
            )
        ).astype(np.int64)
    ]
    for _ in range(5):  # five more evaluation slots, each a vector over all instances
        gap = lognormal(
            tp["limit_between_evaluations"][t, col_t], g.evaluation_sigma, tp["mu_between"][t]
        )
        e_dates.append(e_dates[-1] + np.ceil(gap).astype(np.int64))
    help_from = (g.help_needed_from - dt.date(1970, 1, 1)).days
    helped = (
        decided & ok("H", "K") & (x >= help_from) & (reason != letter("O")) & bern(g.help_needed)
    )
    n_types = len(TYPES) - 1
    act_letter = np.zeros((2, n_types), dtype=np.int64)
    act_p = np.zeros((2, n_types))
    for ti in range(n_types):  # eight types: profile look-up, not data
        for j, (code, p) in enumerate(list(w.type_profile(ti).activities.items())[:2]):
            act_letter[j, ti] = letter(code)
            act_p[j, ti] = p * valid[ti, _EV["U"], letter(code)]

    ones = np.ones(m, dtype=np.bool_)
    slots: dict[str, _Slot] = {
        "A": _Slot(ones, a),
        "P": _Slot(ok("P") & (phase >= 1), onset),
        "M": _Slot((phase >= 1) & ~direct, mdate),
        "L1": _Slot(postpone, l1),
        "C1": _Slot(decided, c1, np.where(extended, letter("U"), final_out)),
        "C2": _Slot(extended, c2, final_out),
        "D": _Slot(detox, dday),
        "TS": _Slot(
            detox,
            ts,
            np.where(ts_is_s, letter("M"), letter("B")),
            np.where(ts_is_s, _EV["S"], _EV["U"]),
        ),
        "UB": _Slot(share("information", 0.3), c + expo(7), letter("B")),
        "UU": _Slot(treat & bern(p_plan), c + expo(5), letter("U")),
        "S": _Slot(
            share("collaboration", 0.3),
            c + expo(21),
            np.where(bern(0.75), letter("M"), letter("I")),
        ),
        "F": _Slot(share("feedback", 0.8), c + expo(10)),
        "UF": _Slot(
            treat & ok("U", "F") & bern(tp["feedback_tool"][t]),
            np.maximum(c, x - expo(10)),
            letter("F"),
        ),
        "UV": _Slot(treat & ok("U", "V") & bern(tp["standard_tool"][t]), c + expo(14), letter("V")),
        "UX1": _Slot(treat & bern(act_p[0][t]), c + expo(21), act_letter[0][t]),
        "UX2": _Slot(treat & bern(act_p[1][t]), c + expo(21), act_letter[1][t]),
        "L2": _Slot(
            has_eval & ok("L") & bern(tp["postponement"][t]),
            np.maximum(c + 1, e_dates[0] - _int_between(rng, 1, 7, m)),
        ),
        **{f"E{j + 1}": _Slot(has_eval, e_dates[j]) for j in range(6)},
        "T": _Slot(
            treat & ok("T") & bern(tp["treatment_finished"][t]),
            np.maximum(c, x - _int_between(rng, 0, 14, m)),
        ),
        "H": _Slot(
            helped,
            # never before H came into force (weekend moves only go forward, to the Monday)
            np.maximum(np.maximum(c, help_from), x - _int_between(rng, 0, 7, m)),
            _pick_n(rng, _letter_vector(w.profile.help_needed_outcomes), m),
        ),
    }
    for s in slots.values():  # nothing after the (planned) end
        s.mask = s.mask & (s.date <= x)
    slots["A"].mask = ones

    # Weekend moves are applied to the rows later; the two decisions must stay on two different
    # days after the move, and the end must not come before the final decision.
    def moved(d: I64) -> I64:
        return np.where(keep_weekend, d, _weekday_shift(d))

    c1m = moved(c1)
    c2m = moved(np.maximum(moved(c2), c1m + 1))
    slots["C1"].date = c1m
    slots["C2"].date = c2m
    c = np.where(extended, c2m, c1m)
    x = moved(x)
    x = np.where(decided, np.maximum(x, c), x)
    x = np.where(t == _T["D12"], np.minimum(x, birth + _D12_LAST_DAY), x)
    slots["X"] = _Slot(ones, x, reason)
    return _Sim(slots=slots, end=x, keep_weekend=keep_weekend)


def _flatten(sim: _Sim, inst: I64, care_a: I64, care_t: I64, t: I64) -> Rows:
    """Rows of the present slots (grouped by slot; sorted later)."""
    parts: list[Rows] = []
    for name in SLOTS:
        s = sim.slots[name]
        idx = np.flatnonzero(s.mask)
        k = len(idx)
        out = s.outcome if isinstance(s.outcome, int) else s.outcome[idx]
        ev = _EV[_SLOT_EVENT[name]] if isinstance(s.event, int) else s.event[idx]
        care = care_t[idx] if name in _TREATMENT_SLOTS else care_a[idx]
        parts.append(
            Rows(
                inst=inst[idx].astype(np.int32),
                copy=np.zeros(k, dtype=np.int8),
                institution=np.zeros(k, dtype=np.int32),
                date=s.date[idx].astype(np.int32),
                ptype=t[idx].astype(np.int8),
                event=np.broadcast_to(np.asarray(ev, dtype=np.int8), (k,)).copy(),
                outcome=np.broadcast_to(np.asarray(out, dtype=np.int8), (k,)).copy(),
                care=care.astype(np.int8),
                age=np.zeros(k, dtype=np.int16),
                slot=np.full(k, _S[name], dtype=np.int8),
                missing=np.zeros(k, dtype=np.int8),
                bad_date=np.zeros(k, dtype=np.int8),
                rid=np.zeros(k, dtype=np.int32),
            )
        )
    return Rows.concat(parts)


def simulate_chunk(
    w: World,
    *,
    seed: int,
    chunk: int,
    n: int,
    first_index: int,
    start: int,
    end: int,
    plan_practice: F64,
    eval_practice: F64,
) -> Chunk:
    """Simulate ``n`` pathway instances (a chunk) and return their clean registrations.

    Args:
        w: The world (geography, profile, catalogue).
        seed: The run's seed; the chunk's random stream is seeded from ``(seed, chunk)``.
        chunk: The chunk's index.
        n: Instances in the chunk (pairs never straddle chunks).
        first_index: Global index of the chunk's first instance (patient numbers start there).
        start: First possible start date (days since 1970-01-01).
        end: End of the extract (days); later registrations are cut off (open pathways).
        plan_practice: Per-institution, per-type probability of U-U (see ``unit_practice``).
        eval_practice: Per-institution, per-type probability of any E.

    Returns:
        The chunk, rows sorted by instance, date and same-day order, exact duplicates removed.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, chunk, 0]))
    tp = w.tp
    g = w.profile.general
    pairs = w.profile.pairs
    pair_w = np.array(
        [pairs.independent, pairs.transfer, pairs.parallel, pairs.repeat, pairs.switch]
    )
    kind_pair = _pick_n(rng, np.cumsum(pair_w / pair_w.sum()), (n + 1) // 2)
    if n % 2:
        kind_pair[-1] = _INDEP
    kind = np.repeat(kind_pair, 2)[:n]
    pos = np.arange(n) % 2
    second = (pos == 1) & (kind != _INDEP)
    first = (pos == 0) & (kind != _INDEP)
    prev = np.maximum(np.arange(n) - 1, 0)

    # --- types ---------------------------------------------------------------------------------
    d11, d01 = _T["D11"], _T["D01"]
    t = _pick_n(rng, w.type_cum, n)
    adult = np.where(rng.random(n) < 0.6, d11, d01)
    t = np.where(first & np.isin(kind, [_REPEAT, _SWITCH]), adult, t)
    t = np.where(first & (kind == _PARALLEL), d11, t)
    t = np.where(second & np.isin(kind, [_TRANSFER, _REPEAT]), t[prev], t)
    t = np.where(second & (kind == _SWITCH), np.where(t[prev] == d11, d01, d11), t)
    t = np.where(second & (kind == _PARALLEL), d01, t)

    # --- patients and where they are treated ---------------------------------------------------
    patient = first_index + np.arange(n, dtype=np.int64)
    patient = np.where(second, patient[prev], patient)
    female = (rng.random(n) < tp["female"][t]).astype(np.int64)
    sex = np.where(rng.random(n) < g.sex_unknown, 2, female)
    muni = _pick_n(rng, w.muni_cum, n)
    res_trust = _pick_rows(rng, w.muni_trust_cum, muni)
    trust = _pick_rows(rng, w.treat_cum, res_trust)
    sex = np.where(second, sex[prev], sex)
    muni = np.where(second, muni[prev], muni)
    res_trust = np.where(second, res_trust[prev], res_trust)
    other_trust = _pick_rows(rng, w.other_cum, trust[prev])
    trust = np.where(
        second & (kind == _TRANSFER), other_trust, np.where(second, trust[prev], trust)
    )
    service = w.type_service[t]
    unit = w.unit_first[trust, service] + np.floor(
        rng.random(n) * w.unit_count[trust, service]
    ).astype(np.int64)
    unit = np.where(second & (kind == _REPEAT), unit[prev], unit)
    region = w.trust_region[trust]

    # --- start and birth dates -----------------------------------------------------------------
    lo = np.maximum(np.maximum(start, w.region_start[region]), w.type_start[t]).astype(np.int64)
    hi = np.where(first, np.maximum(lo, end - 365), np.maximum(lo, end))
    a = _int_between(rng, lo, hi, n)
    care_cum = np.stack([tp["inpatient"], tp["inpatient"] + tp["day"], np.ones(len(TYPES) - 1)], 1)
    care_a = _pick_rows(rng, care_cum, t)
    care_t = _pick_rows(rng, care_cum, t)
    keep = rng.random(n) < np.where(
        care_a == _INPATIENT, g.weekend_kept_inpatient, g.weekend_kept_outpatient
    )
    a = np.where(keep, a, _weekday_shift(a))
    fraction = rng.random(n) * np.where(t == _T["D10"], 0.08, 0.99)
    age = _draw_ages(w, rng, t)
    # A D12 transfer continues at most about 16 months later; at 14 or younger at the first start
    # the patient is at most 16 at the second and under 18 at its final decision.
    age = np.where(first & (kind == _TRANSFER) & (t == _T["D12"]), np.minimum(age, 14), age)
    birth = a - np.floor((age + fraction) * 365.25).astype(np.int64)
    birth = np.where(second, birth[prev], birth)
    p_plan = plan_practice[unit, t]
    p_eval = eval_practice[unit, t]

    # --- the first of each pair, and independent instances -------------------------------------
    forced_phase = np.full(n, -1, dtype=np.int64)
    forced_reason = np.zeros(n, dtype=np.int64)
    is_transfer = first & (kind == _TRANSFER)
    forced_phase = np.where(is_transfer, np.where(rng.random(n) < 0.25, 1, 3), forced_phase)
    forced_reason = np.where(is_transfer, letter("O"), forced_reason)
    is_switch = first & (kind == _SWITCH)
    forced_phase = np.where(is_switch, 3, forced_phase)
    forced_reason = np.where(is_switch, letter("N"), forced_reason)

    def run(sel: I64, starts: I64, no_reject: B, direct_p: F64) -> tuple[Rows, I64]:
        sim = _simulate(
            w,
            rng,
            t=t[sel],
            start=starts[sel],
            care_a=care_a[sel],
            care_t=care_t[sel],
            keep_weekend=keep[sel],
            birth=birth[sel],
            region=region[sel],
            p_plan=p_plan[sel],
            p_eval=p_eval[sel],
            forced_phase=forced_phase[sel],
            forced_reason=forced_reason[sel],
            no_reject=no_reject[sel],
            direct_p=direct_p[sel],
        )
        return _flatten(sim, sel, care_a[sel], care_t[sel], t[sel]), sim.end

    x_end = np.zeros(n, dtype=np.int64)
    primary = np.flatnonzero(~second)
    rows_1, x_end[primary] = run(primary, a, np.zeros(n, dtype=np.bool_), tp["direct"][t])

    # --- the second of each pair starts from what happened to the first ------------------------
    x_prev = x_end[prev]
    a2 = np.select(
        [kind == _TRANSFER, kind == _REPEAT, kind == _SWITCH],
        [
            x_prev + _int_between(rng, 1, 14, n),
            x_prev + _int_between(rng, 30, 365, n),
            x_prev + _int_between(rng, 1, 60, n),
        ],
        a[prev] + _int_between(rng, 0, 120, n),
    )
    a2 = _weekday_shift(a2)
    a2 = np.where(a2 == x_prev, _weekday_shift(a2 + 1), a2)  # never start on the other's end day
    a = np.where(second, a2, a)
    transfer2 = second & (kind == _TRANSFER)
    secondary = np.flatnonzero(second)
    rows_2, x_end[secondary] = run(
        secondary, a, transfer2, np.where(transfer2, 0.3, tp["direct"][t])
    )
    # A parallel pair overlaps when the second starts before the first ends (starting on the end
    # day is avoided above); the timeline should then report 224 for both.
    overlap = second & (kind == _PARALLEL) & (a < x_prev) & (a <= end)
    parallel = overlap | np.roll(overlap, -1)

    rows = Rows.concat([rows_1, rows_2])
    inst = rows.inst
    # Weekend moves (not for A and X, whose dates are final), then what the moves may touch:
    # nothing after the end, H/T/U-F not after it, and nothing after the extract's end.
    fixed = (rows.slot == _S["A"]) | (rows.slot == _S["X"])
    rows.date = np.where(fixed | keep[inst], rows.date, _weekday_shift(rows.date)).astype(np.int32)
    last = x_end[inst]
    clip = np.isin(rows.slot, [_S["H"], _S["T"], _S["UF"]])
    rows.date = np.where(clip, np.minimum(rows.date, last), rows.date).astype(np.int32)
    # H is not registered before it came into force, also when its pathway ended earlier
    help_from = (g.help_needed_from - dt.date(1970, 1, 1)).days
    too_early = (rows.slot == _S["H"]) & (rows.date < help_from)
    kept = np.flatnonzero((rows.date <= last) & (rows.date <= end) & ~too_early)
    order = kept[np.argsort(rows.sort_key()[kept])]
    # Two slots may land on the same day with the same code (e.g. two evaluations): keep one.
    same = np.zeros(len(order), dtype=np.bool_)
    if len(order):
        i, d, e, o = (a[order] for a in (rows.inst, rows.date, rows.event, rows.outcome))
        same[1:] = (i[1:] == i[:-1]) & (d[1:] == d[:-1]) & (e[1:] == e[:-1]) & (o[1:] == o[:-1])
    rows = rows.take(order[~same])
    rows.institution = unit[rows.inst].astype(np.int32)
    rows.age = calendar_age(birth[rows.inst], rows.date)
    rows.rid = np.arange(len(rows), dtype=np.int32)
    return Chunk(
        rows=rows,
        n=n,
        pair_kind=kind,
        second=second,
        ptype=t,
        patient=patient,
        institution=unit,
        muni=muni,
        res_trust=res_trust,
        sex=sex,
        birth=birth,
        parallel=parallel,
        first_index=first_index,
    )


def _draw_ages(w: World, rng: np.random.Generator, t: I64) -> I64:
    """Age at start from each type's age bands (a band by weight, then uniform within it)."""
    n_types = len(TYPES) - 1
    width = max(len(w.type_profile(i).ages) for i in range(n_types))
    lo = np.zeros((n_types, width), dtype=np.int64)
    hi = np.zeros((n_types, width), dtype=np.int64)
    wt = np.zeros((n_types, width))
    for i in range(n_types):  # eight types: profile look-up, not data
        for j, (a_lo, a_hi, weight) in enumerate(w.type_profile(i).ages):
            lo[i, j], hi[i, j], wt[i, j] = a_lo, a_hi, weight
    band = _pick_rows(rng, _cumulative(wt), t)
    return _int_between(rng, lo[t, band], hi[t, band], len(t))


def patient_ids(numbers: I64, seed: int) -> I64:
    """Pseudonymous 10-digit patient ids: a seed-dependent bijection of the patient numbers.

    Examples:
        >>> import numpy as np
        >>> patient_ids(np.array([0, 1]), 0).tolist()
        [1000000000, 1387420489]
    """
    offset = (seed * 2_654_435_761) % 1_000_000_000
    return 1_000_000_000 + (numbers * _ID_MULTIPLIER + offset) % 1_000_000_000
