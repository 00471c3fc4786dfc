"""Hand-made pathway tables for examples and tests.

:func:`pathway_table` fills every column of :data:`~pakkeforlop.schema.PATHWAY_SCHEMA` that a
fixture does not spell, with defaults consistent with the milestones it does spell, so that a
worked example only names the columns it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from pakkeforlop.schema import AGE_GROUPS, PATHWAY_SCHEMA

__all__ = ["pathway_table"]


def _age_group(age: int | None) -> str | None:
    if age is None:
        return None
    return next((label for label, lo, hi in AGE_GROUPS if lo <= age <= hi), None)


def _complete(i: int, row: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(PATHWAY_SCHEMA.names())
    if unknown:
        msg = f"fixture row {i}: unknown pathway column(s) {sorted(unknown)}"
        raise ValueError(msg)
    r: dict[str, Any] = dict(row)
    r.setdefault("pathway_type", "D11")
    r.setdefault("pathway_key", f"p{i}")
    r.setdefault("chain_id", r["pathway_key"])
    r.setdefault("patient_id", f"patient{i}")
    r.setdefault("institution_id", "inst1")
    r.setdefault("final_decision_outcome", None)
    r.setdefault("final_decision_date", None)
    first_outcome_default = r["final_decision_outcome"]
    r.setdefault("first_decision_date", r["final_decision_date"])
    r.setdefault("first_decision_outcome", first_outcome_default)
    r.setdefault("extended_assessment", r["first_decision_outcome"] == "U")
    r.setdefault(
        "decision_count",
        (r["first_decision_date"] is not None)
        + (
            r["final_decision_date"] is not None
            and r["final_decision_date"] != r["first_decision_date"]
        ),
    )
    attended: dt.date | None = r.get("first_attendance_date")
    decided: dt.date | None = r["first_decision_date"]
    r.setdefault(
        "direct_to_treatment", decided is not None and (attended is None or attended > decided)
    )
    evals: list[dt.date] = sorted(r.get("evaluation_dates") or [])
    r["evaluation_dates"] = evals
    r.setdefault("evaluation_care_levels", [None] * len(evals))
    r.setdefault("evaluation_count", len(evals))
    r.setdefault("first_evaluation_date", evals[0] if evals else None)
    r.setdefault("feedback_tool", False)
    r.setdefault("standard_tool", False)
    r.setdefault("activity_outcomes", [])
    r.setdefault("postponements", 0)
    r.setdefault("status", "closed" if r.get("end_date") is not None else "open")
    r.setdefault("age_group", _age_group(r.get("age_at_start")))
    r.setdefault("event_count", 0)
    r.setdefault("findings", [])
    return r


def pathway_table(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Build a pathway table from a few hand-written rows.

    Defaults: type ``D11``; keys ``p<i>``; the first decision equals the final one unless given;
    ``extended_assessment`` from the first decision's outcome; ``direct_to_treatment`` when a
    decision has no attendance on or before it; evaluation columns from ``evaluation_dates``
    (care levels unknown); ``status`` closed when ``end_date`` is set, else open; flags false,
    counts zero, lists empty; everything else null.

    Args:
        rows: Mappings of pathway-table column to value (dates as ``datetime.date``).

    Returns:
        A DataFrame with exactly :data:`~pakkeforlop.schema.PATHWAY_SCHEMA`.

    Raises:
        ValueError: If a row names a column that is not in the pathway table.

    Examples:
        >>> import datetime as dt
        >>> t = pathway_table([{"start_date": dt.date(2023, 1, 2)}])
        >>> t.schema == PATHWAY_SCHEMA, t["status"].item(), t["pathway_type"].item()
        (True, 'open', 'D11')
    """
    full = [_complete(i, r) for i, r in enumerate(rows, start=1)]
    columns = {name: [r.get(name) for r in full] for name in PATHWAY_SCHEMA.names()}
    return pl.DataFrame(columns, schema=PATHWAY_SCHEMA)
