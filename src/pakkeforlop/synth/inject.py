"""Realistic registration errors, injected into a clean chunk and listed exactly.

Each injected error is meant to produce exactly one finding of one rule of ``rules.toml``, on a
known row, so that validation can be scored for recall and precision against the ground truth:

=============================== ==========================================================
rule id                         what is injected (row the finding is about)
=============================== ==========================================================
``invalid_code``                 unknown type D05 or event Q on a U/S/F/E row, or unknown
                                 outcome Z on an S row
``decision_without_attendance``  the M of a pathway with one C (outcome not P/T) is removed
                                 (the C row; 208)
``attendance_after_decision``    the M of a pathway with one C-P/C-T is moved after it (the
                                 M row; 211; the C then reads as direct to treatment)
``adult_in_child_pathway``       age 18 or 19 on the start row of a D12 pathway (A row; 216)
``evaluation_without_decision``  an E inserted before the first C (the E row; 221)
``feedback_without_decision``    an F inserted before the first C (the F row; 222)
``onset_after_decision``         the P of a D06 pathway moved after its C (the P row; 223)
``parallel_pathways``            a copy of a whole pathway at an institution of another trust
                                 (the copy's A row; 224 — the original pathway gets it too,
                                 the note names its row)
``event_after_end``              a U-B inserted after the X (the U row; 225)
``duplicate_registration``       an exact copy of an M/U/S/F/E row (the later copy)
``no_start``                     a registration of a new patient who has no A (that row)
``bad_date``                     an unparseable date on a U/S/F/E row
``missing_value``                patient, institution, date or code blank on a U/S/F/E row
=============================== ==========================================================

Errors are injected only into independent pathways (not into transfer, parallel, repeat or
switch pairs), at most one per pathway, and never where they would cascade (an unreadable row is
never an A, M, C or X). So the rate saturates at roughly one error per pathway.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from pakkeforlop.synth.generate import Chunk, Rows, calendar_age
from pakkeforlop.synth.model import BAD_EVENT, BAD_TYPE, EVENTS, TYPES, World, letter

__all__ = ["ERROR_KINDS", "Injected", "error_notes", "inject_errors"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: The rule ids of the injected errors, in the order they are injected.
ERROR_KINDS: Final = (
    "onset_after_decision",
    "adult_in_child_pathway",
    "decision_without_attendance",
    "attendance_after_decision",
    "evaluation_without_decision",
    "feedback_without_decision",
    "parallel_pathways",
    "event_after_end",
    "duplicate_registration",
    "invalid_code",
    "bad_date",
    "missing_value",
    "no_start",
)
_K = {k: i for i, k in enumerate(ERROR_KINDS)}
_EV = {e: i for i, e in enumerate(EVENTS)}
_INSERTED_SLOT: Final = 31  # sorts after every generated slot of the same day and event
_MISSING_COLUMNS: Final = ("patient_id", "institution_id", "event_date", "code")
_BAD_CODE_NOTES: Final = ("unknown pathway type D05", "unknown event letter Q", "unknown outcome Z")


@dataclass
class Injected:
    """A chunk with errors injected, and the list of them (rows by position within the chunk)."""

    chunk: Chunk
    errors: pl.DataFrame  # position (0-based), rule_id, _partner (position or -1), _detail


def _first_row(inst: I64, mask: B, n: int) -> I64:
    """Per instance, the index of its first row where ``mask`` holds (rows sorted), else -1."""
    sel = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    if len(sel):
        own = inst[sel]
        first = np.r_[True, own[1:] != own[:-1]]
        out[own[first]] = sel[first]
    return out


def inject_errors(
    w: World, chunk: Chunk, *, rate: float, seed: int, chunk_index: int, end: int
) -> Injected:
    """Inject registration errors into a clean chunk at ``rate`` errors per registration.

    Args:
        w: The world.
        chunk: A clean chunk from :func:`~pakkeforlop.synth.generate.simulate_chunk`.
        rate: Expected errors per registration (0 gives the chunk back untouched).
        seed: The run's seed (errors have their own random stream per chunk).
        chunk_index: The chunk's index.
        end: The extract's end date (days since 1970-01-01); nothing is placed after it.

    Returns:
        The chunk with its rows in output order, and one listed error per injection.
    """
    empty = pl.DataFrame(
        schema={
            "position": pl.Int64,
            "rule_id": pl.String,
            "_partner": pl.Int64,
            "_detail": pl.Int64,
        }
    )
    if rate <= 0 or len(chunk.rows) == 0:
        return Injected(chunk, empty)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, chunk_index, 1]))
    r = chunk.rows
    r = Rows(**{k: v.copy() for k, v in vars(r).items()})
    n_rows = len(r)
    n = chunk.n
    inst = r.inst.astype(np.int64)
    ev = r.event.astype(np.int64)
    weights = np.array([w.profile.errors.get(k, 0.0) for k in ERROR_KINDS])
    counts = rng.multinomial(rng.binomial(n_rows, min(rate, 1.0)), weights / weights.sum())

    eligible = (chunk.pair_kind[:n] == 0) & (np.bincount(inst, minlength=n) > 0)
    a_row = _first_row(inst, ev == _EV["A"], n)
    m_row = _first_row(inst, ev == _EV["M"], n)
    c_row = _first_row(inst, ev == _EV["C"], n)
    p_row = _first_row(inst, ev == _EV["P"], n)
    x_row = _first_row(inst, ev == _EV["X"], n)
    n_c = np.bincount(inst[ev == _EV["C"]], minlength=n)
    date = r.date.astype(np.int64)

    def at(rows: I64, values: npt.NDArray[np.generic], fill: int = -1) -> I64:
        out: I64 = np.where(rows >= 0, values[np.maximum(rows, 0)], fill).astype(np.int64)
        return out

    a_date = at(a_row, date)
    c_date = at(c_row, date)
    x_date = at(x_row, date, fill=end + 1)
    c_out = at(c_row, r.outcome.astype(np.int64))
    treat_out = np.isin(c_out, [letter("P"), letter("T")])
    last_day = np.minimum(x_date, end)  # the latest day a moved registration may take
    used = ~eligible

    def choose(cand: B, k: int) -> I64:
        pool = np.flatnonzero(cand & ~used)
        picked = np.sort(rng.choice(pool, min(k, len(pool)), replace=False)).astype(np.int64)
        used[picked] = True
        return picked

    def choose_rows(row_ok: B, k: int) -> I64:
        pool = np.flatnonzero(row_ok & ~used[inst])
        pool = pool[rng.permutation(len(pool))]
        _, first = np.unique(inst[pool], return_index=True)  # one random row per pathway
        pool = pool[first]
        picked = np.sort(rng.choice(pool, min(k, len(pool)), replace=False)).astype(np.int64)
        used[inst[picked]] = True
        return picked

    delete = np.zeros(n_rows, dtype=np.bool_)
    added: list[Rows] = []
    next_rid = [n_rows]
    err_rid: list[I64] = []
    err_kind: list[I64] = []
    err_partner: list[I64] = []
    err_detail: list[I64] = []

    def record(
        kind: str,
        rids: npt.NDArray[np.integer],
        partner: I64 | None = None,
        detail: I64 | None = None,
    ) -> None:
        err_rid.append(rids.astype(np.int64))
        err_kind.append(np.full(len(rids), _K[kind], dtype=np.int64))
        err_partner.append(np.full(len(rids), -1, dtype=np.int64) if partner is None else partner)
        err_detail.append(np.zeros(len(rids), dtype=np.int64) if detail is None else detail)

    def copies(rows: I64) -> Rows:
        new = r.take(rows)
        new.rid = np.arange(next_rid[0], next_rid[0] + len(rows), dtype=np.int32)
        next_rid[0] += len(rows)
        added.append(new)
        return new

    def between(lo: I64, hi: I64) -> I64:
        return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)

    c = counts[_K["onset_after_decision"]]
    room = (p_row >= 0) & (c_row >= 0) & (last_day > c_date)
    chosen = choose(room, c)
    r.date[p_row[chosen]] = between(c_date[chosen] + 1, last_day[chosen])
    record("onset_after_decision", r.rid[p_row[chosen]])

    chosen = choose(
        (chunk.ptype[:n] == TYPES.index("D12")) & (a_row >= 0), counts[_K["adult_in_child_pathway"]]
    )
    r.age[a_row[chosen]] = 18 + (rng.random(len(chosen)) < 0.5)
    record("adult_in_child_pathway", r.rid[a_row[chosen]])

    cand = (m_row >= 0) & (n_c == 1) & ~treat_out
    chosen = choose(cand, counts[_K["decision_without_attendance"]])
    delete[m_row[chosen]] = True
    record("decision_without_attendance", r.rid[c_row[chosen]])

    cand = (m_row >= 0) & (n_c == 1) & treat_out & (last_day > c_date)
    chosen = choose(cand, counts[_K["attendance_after_decision"]])
    r.date[m_row[chosen]] = between(c_date[chosen] + 1, last_day[chosen])
    record("attendance_after_decision", r.rid[m_row[chosen]])

    for kind, event in (("evaluation_without_decision", "E"), ("feedback_without_decision", "F")):
        chosen = choose((c_row >= 0) & (c_date > a_date), counts[_K[kind]])
        new = copies(a_row[chosen])
        new.event[:] = _EV[event]
        new.outcome[:] = 0
        new.slot[:] = _INSERTED_SLOT
        new.date = between(a_date[chosen], c_date[chosen] - 1).astype(np.int32)
        record(kind, new.rid)

    chosen = choose(a_row >= 0, counts[_K["parallel_pathways"]])
    rows_of = np.flatnonzero(np.isin(inst, chosen))
    new = copies(rows_of)
    new.copy[:] = 1
    n_trusts = len(w.trust_names)
    trust = w.inst_trust[chunk.institution[chosen]]
    service = w.inst_service[chunk.institution[chosen]]
    other = (
        trust + 1 + np.floor(rng.random(len(chosen)) * (n_trusts - 1)).astype(np.int64)
    ) % n_trusts
    unit = w.unit_first[other, service] + np.floor(
        rng.random(len(chosen)) * w.unit_count[other, service]
    ).astype(np.int64)
    new.institution = unit[np.searchsorted(chosen, inst[rows_of])].astype(np.int32)
    copy_a = new.rid[new.event == _EV["A"]]
    record("parallel_pathways", copy_a, partner=r.rid[a_row[chosen]].astype(np.int64))

    chosen = choose((x_row >= 0) & (x_date < end), counts[_K["event_after_end"]])
    new = copies(x_row[chosen])
    new.event[:] = _EV["U"]
    new.outcome[:] = letter("B")
    new.slot[:] = _INSERTED_SLOT
    new.date = between(x_date[chosen] + 1, np.minimum(x_date[chosen] + 30, end)).astype(np.int32)
    record("event_after_end", new.rid)

    dup_ok = np.isin(ev, [_EV[e] for e in ("M", "U", "S", "F", "E")])
    picked = choose_rows(dup_ok, counts[_K["duplicate_registration"]])
    new = copies(picked)
    record("duplicate_registration", new.rid, partner=r.rid[picked].astype(np.int64))

    # Rows whose loss cascades nowhere: activities, collaboration, feedback and evaluations.
    unreadable_ok = np.isin(ev, [_EV[e] for e in ("U", "S", "F", "E")])
    picked = choose_rows(unreadable_ok, counts[_K["invalid_code"]])
    variant = np.floor(rng.random(len(picked)) * 3).astype(np.int64)
    # The unknown outcome goes on S rows only: a local catalogue extension may well declare a
    # U outcome "Z" (sample_data/catalogue_extension.toml does), never a type or an event.
    takes_outcome = ev[picked] == _EV["S"]
    variant = np.where((variant == 2) & ~takes_outcome, 0, variant)
    r.ptype[picked[variant == 0]] = BAD_TYPE
    r.event[picked[variant == 1]] = BAD_EVENT
    r.outcome[picked[variant == 1]] = 0
    r.outcome[picked[variant == 2]] = letter("Z")
    record("invalid_code", r.rid[picked], detail=variant)

    picked = choose_rows(unreadable_ok, counts[_K["bad_date"]])
    r.bad_date[picked] = 1 + np.floor(rng.random(len(picked)) * 5).astype(np.int8)
    record("bad_date", r.rid[picked])

    picked = choose_rows(unreadable_ok, counts[_K["missing_value"]])
    column = np.floor(rng.random(len(picked)) * len(_MISSING_COLUMNS)).astype(np.int64)
    r.missing[picked] = (1 + column).astype(np.int8)
    record("missing_value", r.rid[picked], detail=column)

    # Orphans: a new patient (numbers counted down from the top, never used by pathways) with one
    # registration at the institution of a template pathway, within half a year of its start.
    templates = np.flatnonzero(eligible & (a_row >= 0))
    k = min(counts[_K["no_start"]], n) if len(templates) else 0
    template = templates[np.floor(rng.random(k) * len(templates)).astype(np.int64)]
    orphan = replace(
        chunk,
        pair_kind=np.r_[chunk.pair_kind, np.full(k, -1)],
        second=np.r_[chunk.second, np.zeros(k, dtype=np.bool_)],
        ptype=np.r_[chunk.ptype, chunk.ptype[template]],
        patient=np.r_[chunk.patient, 999_999_999 - (chunk.first_index + np.arange(k))],
        institution=np.r_[chunk.institution, chunk.institution[template]],
        muni=np.r_[chunk.muni, chunk.muni[template]],
        res_trust=np.r_[chunk.res_trust, chunk.res_trust[template]],
        sex=np.r_[chunk.sex, chunk.sex[template]],
        birth=np.r_[chunk.birth, chunk.birth[template]],
        parallel=np.r_[chunk.parallel, np.zeros(k, dtype=np.bool_)],
    )
    new = copies(a_row[template])
    new.inst = (len(chunk.patient) + np.arange(k)).astype(np.int32)
    t_a = a_date[template]
    new.date = between(t_a, np.minimum(t_a + 180, end)).astype(np.int32)
    which = np.floor(rng.random(k) * 3).astype(np.int64)
    new.event = np.array([_EV["M"], _EV["U"], _EV["S"]], dtype=np.int8)[which]
    new.outcome = np.array([0, letter("B"), letter("M")], dtype=np.int8)[which]
    new.slot[:] = _INSERTED_SLOT
    new.care[:] = 2
    new.age = calendar_age(orphan.birth[new.inst], new.date)
    record("no_start", new.rid)

    rows = Rows.concat([r.take(~delete), *added])
    rows = rows.take(np.argsort(rows.sort_key(), kind="stable"))
    position = np.full(next_rid[0], -1, dtype=np.int64)
    position[rows.rid] = np.arange(len(rows))
    rid = np.concatenate(err_rid)
    partner = np.concatenate(err_partner)
    detail = np.concatenate(err_detail)
    kinds = np.concatenate(err_kind)
    errors = pl.DataFrame(
        {
            "position": position[rid],
            "rule_id": pl.Series(ERROR_KINDS).gather(kinds),
            "_partner": np.where(partner >= 0, position[np.maximum(partner, 0)], -1),
            "_detail": detail,
        }
    )
    return Injected(
        replace(orphan, rows=rows), errors.select("position", "rule_id", "_partner", "_detail")
    )


def error_notes(errors: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """The ground-truth table: ``source_row`` (as the reader reports it), ``rule_id``, ``note``.

    Args:
        errors: ``Injected.errors`` of a chunk.
        first_row: The ``source_row`` of the chunk's first row.

    Returns:
        One row per injected error.
    """
    rule = pl.col("rule_id")
    partner = (pl.col("_partner") + first_row).cast(pl.String)
    detail = pl.col("_detail")
    note = (
        pl.when(rule == "parallel_pathways")
        .then(pl.format("copy, at another trust, of the pathway starting at row {}", partner))
        .when(rule == "duplicate_registration")
        .then(pl.format("exact copy of row {}", partner))
        .when(rule == "invalid_code")
        .then(detail.replace_strict(dict(enumerate(_BAD_CODE_NOTES)), return_dtype=pl.String))
        .when(rule == "missing_value")
        .then(
            pl.format(
                "{} left empty",
                detail.replace_strict(dict(enumerate(_MISSING_COLUMNS)), return_dtype=pl.String),
            )
        )
        .otherwise(rule.replace_strict(_NOTES, default=None))
    )
    return errors.select(
        (pl.col("position") + first_row).cast(pl.UInt64).alias("source_row"),
        rule,
        note.alias("note"),
    )


_NOTES: Final = {
    "onset_after_decision": "onset of psychotic symptoms (P) moved after the clinical decision",
    "adult_in_child_pathway": "age on the start row of a D12 pathway set to 18 or 19",
    "decision_without_attendance": "first attendance (M) before this decision removed",
    "attendance_after_decision": "first attendance (M) moved after the clinical decision",
    "evaluation_without_decision": "evaluation point (E) inserted before the first decision",
    "feedback_without_decision": "feedback to referrer (F) inserted before the first decision",
    "event_after_end": "registration (U-B) inserted after the end (X)",
    "no_start": "registration of a patient with no start (A) at this institution",
    "bad_date": "unparseable date",
}
