"""From simulated rows to polars tables: the canonical event table and the truth pathway table.

The truth table holds, for every generated pathway instance, the milestones of the pathway table
(:data:`~pakkeforlop.schema.PATHWAY_SCHEMA`) exactly as domain/extract-and-timeline.md §2 and the
project's pathway-table semantics define them, computed from the clean registrations. The
timeline builder can be tested against it.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from pakkeforlop.schema import (
    AGE_GROUPS,
    CANONICAL_SCHEMA,
    CARE_LEVEL,
    EVENT,
    PATHWAY_SCHEMA,
    PATHWAY_STATUS,
    PATHWAY_TYPE,
    SEX,
)
from pakkeforlop.synth.generate import Chunk, Rows, patient_ids, year_of
from pakkeforlop.synth.model import EVENTS, OUTCOME_LETTERS, TYPES, World
from pakkeforlop.timeline.rules import treatment_start_rule

__all__ = ["BAD_DATE_PATTERNS", "SOURCE_FILE", "canonical_events", "raw_frame", "truth_frame"]

#: ``source_file`` of generated events.
SOURCE_FILE: Final = "<synth>"

#: Garbage written in place of an injected bad date, by dialect (``{y}`` is the true year).
BAD_DATE_PATTERNS: Final = {
    "iso": ("{y}-02-30", "{y}-13-01", "0000-00-00", "{y}-O3-1O", "ukjent"),
    "npr": ("30.02.{y}", "01.13.{y}", "00.00.0000", "1O.O3.{y}", "ukjent"),
}

_MISSING_PATIENT, _MISSING_INSTITUTION, _MISSING_DATE, _MISSING_CODE = 1, 2, 3, 4


#: Every (type, event, outcome) index triple as a combined code, flat (types and events include
#: the unknown ones used for injected errors, so every index has a code).
_CODES: Final = pl.Enum([t + e + o for t in TYPES for e in EVENTS for o in OUTCOME_LETTERS])
_TYPES: Final = pl.Enum(list(TYPES))
_EVENTS: Final = pl.Enum(list(EVENTS))
_OUTCOMES: Final = pl.Enum(list(OUTCOME_LETTERS[1:]))


def _gather(categories: pl.Enum, index: npt.NDArray[np.integer], offset: int = 0) -> pl.Series:
    """Values of an enum by index (``index - offset``; negative → null), as that enum."""
    idx = pl.Series(index.astype(np.int64) - offset)
    values = pl.Series(categories.categories, dtype=categories)
    return values.gather(idx.set(idx < 0, None))


def raw_frame(w: World, chunk: Chunk, seed: int) -> pl.DataFrame:
    """The chunk's rows as polars columns, with injected problems still visible.

    Text columns are enums (cheap to build, written as dictionary pages); ``pathway_type`` and
    ``event`` include the unknown values of injected errors. Extra columns: ``_true_date`` (the
    date before any injected problem), ``_bad_date`` (0 or 1 + pattern index) and ``_missing`` (0,
    or which required column is blank: 1 patient, 2 institution, 3 date, 4 code/event).
    """
    r: Rows = chunk.rows
    inst = r.inst
    trust = w.inst_trust[r.institution]
    res_trust = chunk.res_trust[inst]
    n_ev, n_out = len(EVENTS), len(OUTCOME_LETTERS)
    code_idx = (r.ptype.astype(np.int64) * n_ev + r.event) * n_out + r.outcome
    trusts = pl.Enum(list(w.trust_names))
    regions = pl.Enum(list(w.region_names))
    df = pl.DataFrame(
        {
            "patient_id": pl.Series(patient_ids(chunk.patient[inst], seed)).cast(pl.String),
            "institution_id": _gather(pl.Enum(list(w.inst_ids)), r.institution),
            "event_date": pl.Series(r.date, dtype=pl.Int32).cast(pl.Date),
            "code": _gather(_CODES, code_idx),
            "pathway_type": _gather(_TYPES, r.ptype),
            "event": _gather(_EVENTS, r.event),
            "outcome": _gather(_OUTCOMES, r.outcome, offset=1),
            "care_level": _gather(CARE_LEVEL, r.care),
            "health_trust": _gather(trusts, trust),
            "health_region": _gather(regions, w.trust_region[trust]),
            "municipality": _gather(pl.Enum(list(w.muni_numbers)), chunk.muni[inst]),
            "residence_trust": _gather(trusts, res_trust),
            "residence_region": _gather(regions, w.trust_region[res_trust]),
            "sex": _gather(SEX, chunk.sex[inst]),
            "birth_year": pl.Series(year_of(chunk.birth[inst]), dtype=pl.Int16),
            "age": pl.Series(r.age, dtype=pl.Int16),
            "_true_date": pl.Series(r.date, dtype=pl.Int32).cast(pl.Date),
            "_bad_date": pl.Series(r.bad_date, dtype=pl.Int8),
            "_missing": pl.Series(r.missing, dtype=pl.Int8),
        }
    )
    missing = pl.col("_missing")
    return df.with_columns(
        pl.when(missing == _MISSING_PATIENT).then(None).otherwise(pl.col("patient_id")).name.keep(),
        pl.when(missing == _MISSING_INSTITUTION)
        .then(None)
        .otherwise(pl.col("institution_id"))
        .name.keep(),
        pl.when((missing == _MISSING_DATE) | (pl.col("_bad_date") > 0))
        .then(None)
        .otherwise(pl.col("event_date"))
        .name.keep(),
        *(
            pl.when(missing == _MISSING_CODE).then(None).otherwise(pl.col(c)).name.keep()
            for c in ("code", "event", "outcome")
        ),
    )


def canonical_events(raw: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """The canonical event table (:data:`~pakkeforlop.schema.CANONICAL_SCHEMA`) of a raw frame.

    Unknown types or events (injected errors) become null in the enum columns, as a reader would
    leave them; the combined ``code`` keeps the registered text. An unparseable or missing date is
    null.

    Args:
        raw: A frame from :func:`raw_frame`.
        first_row: ``source_row`` of the first row (1-based).

    Returns:
        The events, ``source_file`` ``"<synth>"``, ``source_row`` counting from ``first_row``.
    """
    return raw.select(
        pl.col("patient_id"),
        pl.col("institution_id"),
        pl.col("event_date"),
        pl.col("code"),
        pl.col("pathway_type").cast(pl.String).cast(PATHWAY_TYPE, strict=False),
        pl.col("event").cast(pl.String).cast(EVENT, strict=False),
        pl.col("outcome"),
        pl.lit(None, dtype=pl.String).alias("pathway_id"),
        pl.col("care_level"),
        pl.col("health_trust"),
        pl.col("health_region"),
        pl.col("municipality"),
        pl.col("residence_trust"),
        pl.col("residence_region"),
        pl.col("sex"),
        pl.col("birth_year"),
        pl.col("age"),
        pl.lit(SOURCE_FILE, dtype=pl.String).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.UInt64) + first_row).alias("source_row"),
    ).cast(dict(CANONICAL_SCHEMA))  # type: ignore[arg-type]


def _age_group(age: pl.Expr) -> pl.Expr:
    """The AGE_GROUPS label of an age (null outside every group)."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for label, lo, hi in reversed(AGE_GROUPS):
        expr = pl.when(age.is_between(lo, hi)).then(pl.lit(label)).otherwise(expr)
    return expr


def truth_frame(raw: pl.DataFrame, chunk: Chunk) -> pl.DataFrame:
    """The pathway table of the chunk's clean registrations (one row per instance present).

    Semantics (the project's pathway table): ``pathway_key`` is
    ``"<patient>|<institution>|<type>|<start ISO>"``; ``chain_id`` the key of the first instance of
    a transfer chain. Milestones come from the instance's registrations in (date, same-day order):
    first M; first C and its outcome (U: extended assessment); the first C whose outcome is not U
    (final decision); the number of C; direct-to-treatment (the first C has no M before it); first
    D; treatment start [DERIVED] (the first registration after the first D whose event is not D, H
    or X); evaluations; first U-U and U-B; any U-F and U-V; sorted U outcomes; S-M over S-I; first
    F; number of L; the last H outcome; X date and outcome; status (``open`` without X by the end
    date, else ``closed``); the care level of the final decision. Without a C,
    ``extended_assessment`` is null and ``direct_to_treatment`` false. ``findings`` lists the
    timeline findings clean data should give: ``parallel_pathways`` for overlapping parallel
    pairs, nothing else.

    Args:
        raw: The chunk's :func:`raw_frame` *before* errors are injected.
        chunk: The chunk (instance attributes).

    Returns:
        A frame with :data:`~pakkeforlop.schema.PATHWAY_SCHEMA`, in instance order.
    """
    ev = pl.col("event")
    out = pl.col("outcome")
    d = pl.col("event_date")
    i = pl.col("_i")

    def first_date(event: str, outcome: str | None = None) -> pl.Expr:
        cond = ev == event if outcome is None else (ev == event) & (out == outcome)
        return d.filter(cond).first()

    first_c = i.filter(ev == "C").first()
    first_m = i.filter(ev == "M").first()
    first_d = i.filter(ev == "D").first()
    after_detox = (i > first_d) & ~ev.is_in(list(treatment_start_rule().not_treatment))
    final_c = (ev == "C") & (out != "U")
    events = raw.select(
        pl.Series("_inst", chunk.rows.inst, dtype=pl.Int64),
        pl.col("event_date"),
        pl.col("event").cast(pl.String).cast(EVENT),
        pl.col("outcome").cast(pl.String),
        pl.col("care_level"),
        pl.col("age"),
    ).with_columns(pl.int_range(pl.len()).alias("_i"))
    agg = events.group_by("_inst", maintain_order=True).agg(
        start_date=first_date("A"),
        age_at_start=pl.col("age").filter(ev == "A").first(),
        first_attendance_date=first_date("M"),
        first_decision_date=first_date("C"),
        first_decision_outcome=out.filter(ev == "C").first(),
        final_decision_date=d.filter(final_c).first(),
        final_decision_outcome=out.filter(final_c).first(),
        decision_count=(ev == "C").sum(),
        direct_to_treatment=first_c.is_not_null() & (first_m.is_null() | (first_m > first_c)),
        detox_end_date=first_date("D"),
        detox_end_care_level=pl.col("care_level").filter(ev == "D").first(),
        treatment_start_date=d.filter(after_detox).first(),
        treatment_start_care_level=pl.col("care_level").filter(after_detox).first(),
        evaluation_dates=d.filter(ev == "E"),
        evaluation_care_levels=pl.col("care_level").filter(ev == "E"),
        evaluation_count=(ev == "E").sum(),
        first_evaluation_date=first_date("E"),
        plan_date=first_date("U", "U"),
        information_date=first_date("U", "B"),
        feedback_tool=((ev == "U") & (out == "F")).any(),
        standard_tool=((ev == "U") & (out == "V")).any(),
        activity_outcomes=out.filter(ev == "U").unique().sort(),
        collaboration=pl.when(((ev == "S") & (out == "M")).any())
        .then(pl.lit("M"))
        .when(((ev == "S") & (out == "I")).any())
        .then(pl.lit("I")),
        referrer_feedback_date=first_date("F"),
        postponements=(ev == "L").sum(),
        first_postponement_date=first_date("L"),
        help_needed=out.filter(ev == "H").last(),
        end_date=first_date("X"),
        end_reason=out.filter(ev == "X").first(),
        care_level=pl.col("care_level").filter(final_c).first(),
        event_count=pl.len(),
    )
    n = chunk.n
    idx = np.arange(n)
    inst_info = pl.DataFrame(
        {
            "_inst": pl.Series(idx, dtype=pl.Int64),
            "_prev": pl.Series(np.where(chunk.second & (chunk.pair_kind == 1), idx - 1, idx)),
            "_parallel": pl.Series(chunk.parallel[:n]),
        }
    )
    strata = raw.select(
        "patient_id",
        pl.col("institution_id").cast(pl.String),
        pl.col("pathway_type").cast(pl.String).cast(PATHWAY_TYPE),
        *(
            pl.col(c).cast(pl.String)
            for c in (
                "health_trust",
                "health_region",
                "municipality",
                "residence_trust",
                "residence_region",
            )
        ),
        "sex",
    ).filter(pl.Series(np.r_[True, chunk.rows.inst[1:] != chunk.rows.inst[:-1]]))
    table = pl.concat([agg, strata], how="horizontal").join(inst_info, on="_inst", how="left")
    key = pl.concat_str(
        "patient_id",
        "institution_id",
        pl.col("pathway_type").cast(pl.String),
        pl.col("start_date").dt.to_string("%Y-%m-%d"),
        separator="|",
    )
    table = table.with_columns(pathway_key=key)
    keys = table.select("_inst", pl.col("pathway_key").alias("chain_id"))
    table = table.join(keys, left_on="_prev", right_on="_inst", how="left")
    return table.select(
        pl.col("pathway_key"),
        pl.col("chain_id").fill_null(pl.col("pathway_key")),
        pl.col("patient_id"),
        pl.col("institution_id"),
        pl.col("pathway_type"),
        pl.col("health_trust"),
        pl.col("health_region"),
        pl.col("municipality"),
        pl.col("residence_trust"),
        pl.col("residence_region"),
        pl.col("sex"),
        pl.col("age_at_start"),
        _age_group(pl.col("age_at_start")).alias("age_group"),
        pl.col("start_date"),
        pl.col("first_attendance_date"),
        pl.col("first_decision_date"),
        pl.col("first_decision_outcome"),
        (pl.col("first_decision_outcome") == "U").alias("extended_assessment"),
        pl.col("final_decision_date"),
        pl.col("final_decision_outcome"),
        pl.col("decision_count"),
        pl.col("direct_to_treatment"),
        pl.col("detox_end_date"),
        pl.col("detox_end_care_level"),
        pl.col("treatment_start_date"),
        pl.col("treatment_start_care_level"),
        pl.col("evaluation_dates"),
        pl.col("evaluation_care_levels"),
        pl.col("evaluation_count"),
        pl.col("first_evaluation_date"),
        pl.col("plan_date"),
        pl.col("information_date"),
        pl.col("feedback_tool"),
        pl.col("standard_tool"),
        pl.col("activity_outcomes"),
        pl.col("collaboration"),
        pl.col("referrer_feedback_date"),
        pl.col("postponements"),
        pl.col("first_postponement_date"),
        pl.col("help_needed"),
        pl.col("end_date"),
        pl.col("end_reason"),
        pl.when(pl.col("end_date").is_null())
        .then(pl.lit("open"))
        .otherwise(pl.lit("closed"))
        .cast(PATHWAY_STATUS)
        .alias("status"),
        pl.col("care_level"),
        pl.col("event_count"),
        pl.when(pl.col("_parallel"))
        .then(pl.lit(["parallel_pathways"], dtype=pl.List(pl.String)))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("findings"),
        # the truth is not built as of any date (pathways are open when the world ends)
        pl.lit(None, dtype=pl.Date).alias("reference_date"),
        pl.lit(treatment_start_rule().id, dtype=pl.Categorical).alias("treatment_start_rule"),
    ).cast(dict(PATHWAY_SCHEMA))  # type: ignore[arg-type]
