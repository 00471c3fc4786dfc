"""Column contracts shared by every stage: the canonical event table and the pathway table.

The names and dtypes here are a public contract (see domain/extract-and-timeline.md §1 and §2):
users' scripts and downstream stages rely on them, so they change only with a deliberate,
documented version bump.
"""

from __future__ import annotations

from typing import Final

import polars as pl

__all__ = [
    "AGE_GROUPS",
    "CANONICAL_SCHEMA",
    "CARE_LEVEL",
    "CARRIED_STRATA",
    "EVENT",
    "EVENT_SAME_DAY_ORDER",
    "EXCLUSION_REASON",
    "EXCLUSION_REASONS",
    "FINDINGS_SCHEMA",
    "PATHWAY_SCHEMA",
    "PATHWAY_STATUS",
    "PATHWAY_TYPE",
    "REQUIRED_COLUMNS",
    "SEVERITY",
    "SEX",
    "STRATUM_COLUMNS",
]

#: Pathway types of kodeverk 9321 (domain/codes.md §2). D02–D05 do not exist.
PATHWAY_TYPE: Final = pl.Enum(["D01", "D06", "D07", "D08", "D09", "D10", "D11", "D12"])

#: Events of kodeverk 9322 in the fixed same-day order (domain/extract-and-timeline.md §2,
#: rule 2). The enum's physical order *is* that order, so sorting on it sorts events correctly.
EVENT_SAME_DAY_ORDER: Final = ("A", "P", "M", "L", "C", "D", "S", "U", "F", "E", "H", "T", "X")
EVENT: Final = pl.Enum(list(EVENT_SAME_DAY_ORDER))

#: Care level (*omsorgsnivå*) of the contact a code sits on.
CARE_LEVEL: Final = pl.Enum(["inpatient", "day", "outpatient"])

#: Sex (*kjønn*).
SEX: Final = pl.Enum(["male", "female", "unknown"])

#: Status of a pathway instance.
PATHWAY_STATUS: Final = pl.Enum(["open", "closed", "superseded"])

#: Severity of a finding.
SEVERITY: Final = pl.Enum(["info", "warning", "error"])

#: Why a registration is kept out of pathways and indicators (domain/extract-and-timeline.md §1,
#: "Which rows feed the timeline"). A row that fails several tests is counted once, under the
#: first reason in this order; each failed test is also a finding of the same name (the
#: ``missing_*`` reasons are findings ``missing_value``; a missing or unexpected outcome counts
#: as ``invalid_code``), except ``blank_line``: an empty CSV line, ignored without a finding.
EXCLUSION_REASONS: Final = (
    "blank_line",
    "wrong_field_count",
    "missing_patient_id",
    "missing_institution_id",
    "missing_event_date",
    "missing_code",
    "missing_pathway_type",
    "bad_date",
    "date_before_2019",
    "date_after_reference",
    "invalid_code",
    "code_invalid_for_type",
    "code_outside_validity",
)
EXCLUSION_REASON: Final = pl.Enum(list(EXCLUSION_REASONS))

#: Default age groups at start (domain/extract-and-timeline.md §2): (label, lowest, highest age).
AGE_GROUPS: Final = (
    ("0-5", 0, 5),
    ("6-12", 6, 12),
    ("13-17", 13, 17),
    ("18-29", 18, 29),
    ("30-49", 30, 49),
    ("50-66", 50, 66),
    ("67+", 67, 200),
)

#: Columns that must be present in every extract (``code`` or ``event`` is also required).
REQUIRED_COLUMNS: Final = ("patient_id", "institution_id", "event_date")

#: The canonical event table (domain/extract-and-timeline.md §1). ``source_file`` is always
#: present (the file the row came from, or ``"<dataframe>"``); ``source_row`` is the 1-based row
#: as the user's editor counts it (for CSV: the line number, header included).
CANONICAL_SCHEMA: Final = pl.Schema(
    {
        "patient_id": pl.String(),
        "institution_id": pl.String(),
        "event_date": pl.Date(),
        "code": pl.String(),
        "pathway_type": PATHWAY_TYPE,
        "event": EVENT,
        "outcome": pl.String(),
        "pathway_id": pl.String(),
        "care_level": CARE_LEVEL,
        "health_trust": pl.String(),
        "health_region": pl.String(),
        "municipality": pl.String(),
        "residence_trust": pl.String(),
        "residence_region": pl.String(),
        "sex": SEX,
        "birth_year": pl.Int16(),
        "age": pl.Int16(),
        "source_file": pl.String(),
        "source_row": pl.UInt64(),
    }
)

#: Event columns carried to the pathway as strata: taken from the start row, else the first
#: registration of the pathway that has them (domain/extract-and-timeline.md §2).
CARRIED_STRATA: Final = (
    "health_trust",
    "health_region",
    "municipality",
    "residence_trust",
    "residence_region",
    "sex",
)

#: Stratum dimensions of the pathway table, usable in ``--by``.
STRATUM_COLUMNS: Final = (
    "pathway_type",
    "institution_id",
    "health_trust",
    "health_region",
    "municipality",
    "residence_trust",
    "residence_region",
    "sex",
    "age_group",
    "care_level",
    "end_reason",
)

#: The pathway table: one row per pathway instance (domain/extract-and-timeline.md §2).
PATHWAY_SCHEMA: Final = pl.Schema(
    {
        "pathway_key": pl.String(),
        "chain_id": pl.String(),
        "patient_id": pl.String(),
        "institution_id": pl.String(),
        "pathway_type": PATHWAY_TYPE,
        "health_trust": pl.String(),
        "health_region": pl.String(),
        "municipality": pl.String(),
        "residence_trust": pl.String(),
        "residence_region": pl.String(),
        "sex": SEX,
        "age_at_start": pl.Int16(),
        "age_group": pl.String(),
        "start_date": pl.Date(),
        "first_attendance_date": pl.Date(),
        "first_decision_date": pl.Date(),
        "first_decision_outcome": pl.String(),
        "extended_assessment": pl.Boolean(),
        "final_decision_date": pl.Date(),
        "final_decision_outcome": pl.String(),
        "decision_count": pl.UInt32(),
        "direct_to_treatment": pl.Boolean(),
        "detox_end_date": pl.Date(),
        # the care level of the detox end (D): it starts the detox-to-treatment interval
        "detox_end_care_level": CARE_LEVEL,
        "treatment_start_date": pl.Date(),
        "treatment_start_care_level": CARE_LEVEL,
        "evaluation_dates": pl.List(pl.Date()),
        "evaluation_care_levels": pl.List(CARE_LEVEL),
        "evaluation_count": pl.UInt32(),
        "first_evaluation_date": pl.Date(),
        "plan_date": pl.Date(),
        "information_date": pl.Date(),
        "feedback_tool": pl.Boolean(),
        "standard_tool": pl.Boolean(),
        "activity_outcomes": pl.List(pl.String()),
        "collaboration": pl.String(),
        "referrer_feedback_date": pl.Date(),
        "postponements": pl.UInt32(),
        # the first L: an L on or before the final C delays the assessment (domain/indicators.md §3)
        "first_postponement_date": pl.Date(),
        "help_needed": pl.String(),
        "end_date": pl.Date(),
        "end_reason": pl.String(),
        "status": PATHWAY_STATUS,
        "care_level": CARE_LEVEL,
        "event_count": pl.UInt32(),
        "findings": pl.List(pl.String()),
        # the reference date the table was built with (the same on every row): pathways without
        # an end are open on it, and compute_indicators defaults to it
        "reference_date": pl.Date(),
        # the named rule treatment_start_date was derived with (the same on every row;
        # pakkeforlop.timeline.rules, domain/extract-and-timeline.md §2)
        "treatment_start_rule": pl.Categorical(),
    }
)

#: One row per finding, from every stage (see :mod:`pakkeforlop.findings`).
FINDINGS_SCHEMA: Final = pl.Schema(
    {
        "rule_id": pl.String(),
        "severity": SEVERITY,
        "npr_error": pl.Int16(),
        "stage": pl.String(),
        "message": pl.String(),
        "source_file": pl.String(),
        "source_row": pl.UInt64(),
        "column": pl.String(),
        "value": pl.String(),
        "patient_id": pl.String(),
        "pathway_key": pl.String(),
    }
)
