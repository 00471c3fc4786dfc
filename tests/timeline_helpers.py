"""Tiny builders for hand-written event tables (shared by timeline tests)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pakkeforlop.schema import CANONICAL_SCHEMA


def events(*rows: tuple[object, ...], **extra: list[object]) -> pl.DataFrame:
    """Rows of (patient, institution, 'yyyy-mm-dd', type or None, event, outcome or None).

    ``source_row`` is the 1-based position; keyword lists add further canonical columns.
    """
    records = []
    for n, (patient, inst, date, ptype, event, outcome) in enumerate(rows, start=1):
        records.append(
            {
                "patient_id": patient,
                "institution_id": inst,
                "event_date": dt.date.fromisoformat(str(date)),
                "code": f"{ptype or ''}{event}{outcome or ''}",
                "pathway_type": ptype,
                "event": event,
                "outcome": outcome,
                "source_file": "fixture",
                "source_row": n,
            }
        )
    df = pl.DataFrame(records).with_columns(pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in records[0])
    for name, values in extra.items():
        df = df.with_columns(pl.Series(name, values, dtype=CANONICAL_SCHEMA[name]))
    missing = [c for c in CANONICAL_SCHEMA.names() if c not in df.columns]
    df = df.with_columns(pl.lit(None, dtype=CANONICAL_SCHEMA[c]).alias(c) for c in missing)
    return df.select(CANONICAL_SCHEMA.names())
