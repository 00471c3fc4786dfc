"""Every indicator of domain/indicators.md §3 on a tiny hand-computed pathway table.

Each fixture lists a few pathways and, in a comment, which of them are in the denominator and
numerator and why. Recommended times used (pathway_times_2019.toml): D11 assessment 42 / extended
84 / first evaluation 42 / between evaluations 84 (provisional, same both care levels); D01
assessment 21 out / 7 in, detox 3 out / 0 in, first evaluation 7, between evaluations 56 out /
42 in; D08 assessment 42 / 14, first evaluation 28 / 14; D09 detox 0; D06 has no times.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pakkeforlop.codes import load_catalogue
from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators import (
    OUTPUT_COLUMNS,
    IndicatorSettings,
    compute_indicators,
    definitions_markdown,
    definitions_table,
    indicator_catalogue,
)
from pakkeforlop.indicators.testing import pathway_table

D = dt.date
REF = D(2023, 12, 31)
EXTENSION = Path(__file__).parent.parent / "sample_data" / "catalogue_extension.toml"


def overall(rows: list[dict[str, Any]], indicator: str, **kw: Any) -> tuple[Any, ...]:
    """(numerator, denominator) of the single overall cell, by year, unsuppressed."""
    kw.setdefault("period", "year")
    kw.setdefault("reference_date", REF)
    out = compute_indicators(pathway_table(rows), indicators=[indicator], suppress=False, **kw)
    assert out.height == 1, out
    return out["numerator"].item(), out["denominator"].item()


# --- waiting -------------------------------------------------------------------------------------

ASSESSMENT = [
    # p1 D11: M 10 Jan -> C-P 21 Feb = 42 days <= 42: in time
    {
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 2, 21),
        "final_decision_outcome": "P",
    },
    # p2 D11: 43 days > 42: late
    {
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 2, 22),
        "final_decision_outcome": "P",
    },
    # p3 D11 extended (first C-U 1 Feb): M 10 Jan -> final C 4 Apr = 84 days <= 84: in time
    {
        "first_attendance_date": D(2023, 1, 10),
        "first_decision_date": D(2023, 2, 1),
        "first_decision_outcome": "U",
        "final_decision_date": D(2023, 4, 4),
        "final_decision_outcome": "T",
    },
    # p4 D11 direct to treatment (C without M): EXCLUDED
    {"final_decision_date": D(2023, 1, 20), "final_decision_outcome": "P"},
    # p5 D06: no recommended time: EXCLUDED
    {
        "pathway_type": "D06",
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 1, 12),
        "final_decision_outcome": "P",
    },
    # p6 D01 inpatient decision: 8 days > 7 (inpatient limit): late (outpatient would be 21)
    {
        "pathway_type": "D01",
        "care_level": "inpatient",
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 1, 18),
        "final_decision_outcome": "T",
    },
    # p7 D01 care level unknown -> outpatient 21: 21 days: in time
    {
        "pathway_type": "D01",
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 1, 31),
        "final_decision_outcome": "T",
    },
    # p8 D08 inpatient: 14 days <= 14: in time
    {
        "pathway_type": "D08",
        "care_level": "inpatient",
        "first_attendance_date": D(2023, 1, 1),
        "final_decision_date": D(2023, 1, 15),
        "final_decision_outcome": "P",
    },
    # p9 D11 only a first C-U, no final decision yet: not in the denominator
    {
        "first_attendance_date": D(2023, 1, 10),
        "first_decision_date": D(2023, 2, 1),
        "first_decision_outcome": "U",
    },
    # p10 D01 extended assessment: no recommended time for D01 extended: EXCLUDED
    {
        "pathway_type": "D01",
        "first_attendance_date": D(2023, 1, 10),
        "first_decision_date": D(2023, 1, 20),
        "first_decision_outcome": "U",
        "final_decision_date": D(2023, 2, 20),
        "final_decision_outcome": "T",
    },
    # p11 D11 postponed by the patient (one L, on 1 Feb, before the C): 50 days: late
    {
        "first_attendance_date": D(2023, 1, 10),
        "final_decision_date": D(2023, 3, 1),
        "final_decision_outcome": "P",
        "postponements": 1,
        "first_postponement_date": D(2023, 2, 1),
    },
    # p12 D11 M registered after the C (direct to treatment, finding 211): EXCLUDED
    {
        "first_attendance_date": D(2023, 1, 25),
        "final_decision_date": D(2023, 1, 20),
        "final_decision_outcome": "P",
    },
]


def test_assessment_in_time() -> None:
    # denominator p1 p2 p3 p6 p7 p8 p11 = 7; numerator p1 p3 p7 p8 = 4
    assert overall(ASSESSMENT, "assessment_in_time") == (4, 7)


def test_assessment_in_time_excluding_postponed() -> None:
    # as above without p11 (an L on or before its final C): 4 of 6
    assert overall(ASSESSMENT, "assessment_in_time_excl_postponed") == (4, 6)
    # an L after the assessment (delaying an evaluation, say) does not leave p11 out: 4 of 7
    later = [
        {**r, "first_postponement_date": D(2023, 4, 1)} if r.get("postponements") else r
        for r in ASSESSMENT
    ]
    assert overall(later, "assessment_in_time_excl_postponed") == (4, 7)


def test_assessment_care_level_default_is_configurable() -> None:
    # With unknown care level read as inpatient, p7 (D01, 21 days) is late against 7: 3 of 7.
    assert overall(ASSESSMENT, "assessment_in_time", unknown_care_level="inpatient") == (3, 7)


def test_assessment_days_distribution() -> None:
    rows = [
        # M -> final C: 10, 42, 43 days; the D06 pathway counts (no time is needed)
        {
            "pathway_type": "D06",
            "first_attendance_date": D(2023, 1, 1),
            "final_decision_date": D(2023, 1, 11),
            "final_decision_outcome": "P",
        },
        ASSESSMENT[0],
        ASSESSMENT[1],
        ASSESSMENT[3],  # direct to treatment: excluded
        ASSESSMENT[8],  # no final decision: not in
    ]
    out = compute_indicators(
        pathway_table(rows), indicators=["assessment_days"], suppress=False, period="year"
    )
    # sorted [10, 42, 43]: median 42; p75 at position 1.5 -> 42.5; p90 at 1.8 -> 42.8
    row = out.select("numerator", "denominator", "value", "median_days", "p75_days", "p90_days")
    assert row.row(0) == (None, 3, None, 42.0, 42.5, pytest.approx(42.8))


def test_rejected_and_not_in_pathway_referrals() -> None:
    start = D(2023, 2, 1)
    rows: list[dict[str, Any]] = [
        {"start_date": start, "end_date": D(2023, 3, 1), "end_reason": "R"},  # rejected
        {"start_date": start, "end_date": D(2023, 3, 1), "end_reason": "R"},  # rejected
        {"start_date": start, "end_date": D(2023, 3, 1), "end_reason": "L"},  # not in pathway
        {"start_date": start, "end_date": D(2023, 3, 1), "end_reason": "G"},
        {"start_date": start},  # open
        # started 2022, rejected 2023: counts in 2022, the year of its anchor (A)
        {"start_date": D(2022, 12, 1), "end_date": D(2023, 1, 5), "end_reason": "R"},
    ]
    out = compute_indicators(
        pathway_table(rows),
        indicators=["rejected_referrals", "not_in_pathway_referrals"],
        suppress=False,
        period="year",
    )
    got = out.select("indicator_id", "period", "numerator", "denominator").rows()
    assert got == [
        ("rejected_referrals", "2022", 1, 1),
        ("rejected_referrals", "2023", 2, 5),
        ("not_in_pathway_referrals", "2022", 0, 1),
        ("not_in_pathway_referrals", "2023", 1, 5),
    ]


def test_detox_to_treatment_in_time() -> None:
    ref = D(2023, 6, 30)
    detox = D(2023, 3, 1)
    rows = [
        # p1 D01: treatment 3 days after detox, outpatient limit 3: in time
        {"pathway_type": "D01", "detox_end_date": detox, "treatment_start_date": D(2023, 3, 4)},
        # p2 D01: 4 days: late
        {"pathway_type": "D01", "detox_end_date": detox, "treatment_start_date": D(2023, 3, 5)},
        # p3 D01: 1 day but the treatment starts as inpatient (limit 0): late
        {
            "pathway_type": "D01",
            "detox_end_date": detox,
            "treatment_start_date": D(2023, 3, 2),
            "treatment_start_care_level": "inpatient",
        },
        # p4 D09: same day, limit 0: in time
        {"pathway_type": "D09", "detox_end_date": detox, "treatment_start_date": detox},
        # p5 D01: detox 29 Jun, no treatment yet, due 2 Jul after the reference date: EXCLUDED
        {"pathway_type": "D01", "detox_end_date": D(2023, 6, 29)},
        # p6 D01: no treatment, pathway ended 2 Mar before the due date 4 Mar: EXCLUDED
        {
            "pathway_type": "D01",
            "detox_end_date": detox,
            "end_date": D(2023, 3, 2),
            "end_reason": "P",
        },
        # p7 D01: no treatment, still open long after the due date: late
        {"pathway_type": "D01", "detox_end_date": detox},
        # p8 D11: no detox time for the type: EXCLUDED
        {"pathway_type": "D11", "detox_end_date": detox, "treatment_start_date": detox},
    ]
    # denominator p1 p2 p3 p4 p7 = 5; numerator p1 p4 = 2
    assert overall(rows, "detox_to_treatment_in_time", reference_date=ref) == (2, 5)
    out = compute_indicators(
        pathway_table(rows), indicators=["detox_to_treatment_in_time"], reference_date=ref
    )
    assert out["derived"].all()  # treatment start is derived: said in the output
    assert any("derived" in n for n in out.metadata.notes)


def test_detox_to_treatment_not_yet_started_is_judged_at_the_detox_care_level() -> None:
    # domain/indicators.md §2: nothing has ended the interval yet, so the registration that
    # starts it (D) decides the limit. D01: 3 days outpatient, 0 inpatient.
    ref = D(2023, 3, 2)
    detox = D(2023, 3, 1)
    rows = [
        # inpatient D on 1 Mar, no treatment start by 2 Mar: due 1 Mar, passed: late
        {"pathway_type": "D01", "detox_end_date": detox, "detox_end_care_level": "inpatient"},
        # outpatient D: due 4 Mar, after the reference date: EXCLUDED (not yet due)
        {"pathway_type": "D01", "detox_end_date": detox, "detox_end_care_level": "outpatient"},
        # unknown care level: the default (outpatient): EXCLUDED
        {"pathway_type": "D01", "detox_end_date": detox},
        # inpatient D, then ended on 2 Mar with no treatment start: its due date had passed:
        # late (at the outpatient limit it would have ended before the due date: EXCLUDED)
        {
            "pathway_type": "D01",
            "detox_end_date": detox,
            "detox_end_care_level": "inpatient",
            "end_date": D(2023, 3, 2),
            "end_reason": "P",
        },
        # the treatment start's own care level wins once it exists: outpatient, 2 days: in time
        {
            "pathway_type": "D01",
            "detox_end_date": detox,
            "detox_end_care_level": "inpatient",
            "treatment_start_date": D(2023, 3, 3),
            "treatment_start_care_level": "outpatient",
        },
    ]
    assert overall(rows, "detox_to_treatment_in_time", reference_date=D(2023, 3, 3)) == (1, 3)
    assert overall(rows[:4], "detox_to_treatment_in_time", reference_date=ref) == (0, 2)


def test_waiting_days_to_first_attendance() -> None:
    start = D(2023, 1, 1)
    rows = [
        {"start_date": start, "first_attendance_date": start + dt.timedelta(days=n)}
        for n in (5, 10, 20, 30)
    ] + [{"start_date": start}]  # no M: not in
    out = compute_indicators(
        pathway_table(rows), indicators=["waiting_days_to_first_attendance"], suppress=False
    )
    # [5, 10, 20, 30]: median 15; p75 at 2.25 -> 22.5; p90 at 2.7 -> 27
    assert out.select("denominator", "median_days", "p75_days", "p90_days").row(0) == (
        4,
        15.0,
        22.5,
        pytest.approx(27.0),
    )
    assert out["period"].item() == "2023-T1"  # anchored on M (January)


# --- coordination --------------------------------------------------------------------------------


def test_evaluation_any() -> None:
    c, x = D(2023, 1, 1), D(2023, 3, 1)
    treat = {"final_decision_date": c, "final_decision_outcome": "P", "end_reason": "G"}
    rows = [
        {**treat, "evaluation_dates": [D(2023, 1, 20)], "end_date": x},  # p1 evaluated
        {**treat, "end_date": x},  # p2 open 59 days >= 42, no E
        {**treat, "end_date": D(2023, 1, 30)},  # p3 closed after 29 < 42 days: EXCLUDED
        {**treat, "final_decision_outcome": "K", "end_date": x},  # p4 no treatment decision
        {**treat, "final_decision_outcome": "T"},  # p5 still open: not closed
        {**treat, "pathway_type": "D06", "end_date": x},  # p6 D06 no time: EXCLUDED
        {**treat, "evaluation_dates": [D(2022, 12, 20)], "end_date": x},  # p7 E before C only
    ]
    # denominator p1 p2 p7 = 3; numerator p1 = 1
    assert overall(rows, "evaluation_any") == (1, 3)


def test_first_evaluation_in_time() -> None:
    c = D(2023, 1, 1)
    treat = {"final_decision_date": c, "final_decision_outcome": "P"}
    rows = [
        {**treat, "evaluation_dates": [D(2023, 2, 1)]},  # p1 31 days <= 42: in time
        {**treat, "evaluation_dates": [D(2023, 3, 1)]},  # p2 59 days: late
        {**treat, "final_decision_outcome": "T"},  # p3 no E, open past the due date: late
        # p4 ended 20 Jan, before the first evaluation fell due (12 Feb): EXCLUDED
        {**treat, "end_date": D(2023, 1, 20), "end_reason": "G"},
        # p5 evaluated 10 Jan but ended 20 Jan, before the due date: EXCLUDED as well
        {
            **treat,
            "evaluation_dates": [D(2023, 1, 10)],
            "end_date": D(2023, 1, 20),
            "end_reason": "G",
        },
        # p6 decision 15 Dec: due 26 Jan 2024, after the reference date: EXCLUDED
        {**treat, "final_decision_date": D(2023, 12, 15)},
        # p7 D08 inpatient evaluation after 19 days > 14: late (outpatient would allow 28)
        {
            **treat,
            "pathway_type": "D08",
            "evaluation_dates": [D(2023, 1, 20)],
            "evaluation_care_levels": ["inpatient"],
        },
        # p8 D08 care level unknown -> outpatient 28: 19 days: in time
        {**treat, "pathway_type": "D08", "evaluation_dates": [D(2023, 1, 20)]},
        {**treat, "pathway_type": "D06"},  # p9 D06: EXCLUDED
        {**treat, "final_decision_outcome": "K"},  # p10 not a treatment decision
    ]
    # every care level: denominator p1 p2 p3 p7 p8 = 5; numerator p1 p8 = 2
    assert overall(rows, "first_evaluation_in_time_all_levels") == (2, 5)
    # the official indicator is outpatient only: p7 (inpatient) leaves; numerator p1 p8
    assert overall(rows, "first_evaluation_in_time") == (2, 4)
    # the anchor is the due date: p1-p3 due 12 Feb, p7 15 Jan, p8 29 Jan: all in 2023-T1
    out = compute_indicators(
        pathway_table(rows),
        indicators=["first_evaluation_in_time_all_levels"],
        reference_date=REF,
        suppress=False,
    )
    assert out.select("period", "denominator").rows() == [("2023-T1", 5)]


def test_evaluation_interval_in_time() -> None:
    rows = [
        # p1 D11 (84 days): E 1 Feb -> 1 Apr (59, in time, anchored 1 Apr, T1) -> 1 Aug (122, late,
        # anchored 1 Aug, T2); open after 1 Aug: due 24 Oct <= reference, still open: overdue,
        # anchored 24 Oct (T3)
        {
            "final_decision_date": D(2023, 1, 1),
            "final_decision_outcome": "P",
            "evaluation_dates": [D(2023, 2, 1), D(2023, 4, 1), D(2023, 8, 1)],
        },
        # p2 D01: 1 Feb -> 20 Mar = 47 days at an inpatient E (limit 42): late (T1); after 20 Mar
        # due 15 May but ended 25 Mar: EXCLUDED
        {
            "pathway_type": "D01",
            "final_decision_date": D(2023, 1, 1),
            "final_decision_outcome": "T",
            "evaluation_dates": [D(2023, 2, 1), D(2023, 3, 20)],
            "evaluation_care_levels": [None, "inpatient"],
            "end_date": D(2023, 3, 25),
            "end_reason": "G",
        },
        # p3 D11: one E 1 Dec, due 23 Feb 2024 after the reference date: EXCLUDED
        {
            "final_decision_date": D(2023, 1, 1),
            "final_decision_outcome": "P",
            "evaluation_dates": [D(2023, 12, 1)],
        },
        # p4 D11: no treatment decision (C-K): EXCLUDED
        {
            "final_decision_date": D(2023, 1, 1),
            "final_decision_outcome": "K",
            "evaluation_dates": [D(2023, 2, 1), D(2023, 3, 1)],
        },
        # p5 D11: E 1 Feb is before the decision (1 Mar) and ignored; 1 Apr -> 1 May (30, in time,
        # T2); after 1 May due 24 Jul but ended 2 May: EXCLUDED
        {
            "final_decision_date": D(2023, 3, 1),
            "final_decision_outcome": "P",
            "evaluation_dates": [D(2023, 2, 1), D(2023, 4, 1), D(2023, 5, 1)],
            "end_date": D(2023, 5, 2),
            "end_reason": "G",
        },
    ]
    # gaps: p1 x3 (1 in time), p2 x1 (0), p5 x1 (1): 2 of 5
    assert overall(rows, "evaluation_interval_in_time") == (2, 5)
    out = compute_indicators(
        pathway_table(rows),
        indicators=["evaluation_interval_in_time"],
        reference_date=REF,
        suppress=False,
    )
    # T1: p1 gap 1 (in), p2 gap (late); T2: p1 gap 2 (late), p5 gap (in); T3: p1 overdue
    assert out.select("period", "numerator", "denominator").rows() == [
        ("2023-T1", 1, 2),
        ("2023-T2", 1, 2),
        ("2023-T3", 0, 1),
    ]


TREATED_CLOSED = {
    "final_decision_date": D(2023, 1, 1),
    "final_decision_outcome": "P",
    "end_date": D(2023, 6, 1),
    "end_reason": "G",
}


def test_collaboration_meeting() -> None:
    rows = [
        {**TREATED_CLOSED, "collaboration": "M"},  # meeting held
        {**TREATED_CLOSED, "collaboration": "I"},  # assessed as not needed: still registered
        {**TREATED_CLOSED},  # none
        {**TREATED_CLOSED, "collaboration": "M", "end_date": None, "end_reason": None},  # open
        {**TREATED_CLOSED, "collaboration": "M", "final_decision_outcome": "K"},  # no treatment
    ]
    assert overall(rows, "collaboration_meeting") == (2, 3)


def test_referrer_feedback() -> None:
    rows = [
        {
            **TREATED_CLOSED,
            "final_decision_outcome": "K",
            "referrer_feedback_date": D(2023, 1, 5),
        },  # any clinical decision counts
        {**TREATED_CLOSED},  # no F
        {"start_date": D(2023, 1, 1), "end_date": D(2023, 2, 1), "end_reason": "R"},  # no C
    ]
    assert overall(rows, "referrer_feedback") == (1, 2)


def test_help_needed_recorded() -> None:
    rows = [
        {**TREATED_CLOSED, "help_needed": "K"},  # completed, H registered
        {**TREATED_CLOSED},  # completed, no H
        {**TREATED_CLOSED, "end_reason": "P", "help_needed": "K"},  # not completed (X-P)
    ]
    assert overall(rows, "help_needed_recorded") == (1, 2)


@pytest.mark.parametrize(
    ("indicator", "column", "value"),
    [
        ("plan_cocreated", "plan_date", D(2023, 2, 1)),
        ("information_given", "information_date", D(2023, 2, 1)),
    ],
)
def test_plan_and_information(indicator: str, column: str, value: dt.date) -> None:
    rows = [
        {**TREATED_CLOSED, column: value},  # registered
        {**TREATED_CLOSED, "final_decision_outcome": "T"},  # not registered
        {**TREATED_CLOSED, column: value, "end_date": None, "end_reason": None},  # open
    ]
    assert overall(rows, indicator) == (1, 2)


def test_feedback_tool_used_leaves_out_d08() -> None:
    rows = [
        {**TREATED_CLOSED, "feedback_tool": True},
        {**TREATED_CLOSED, "pathway_type": "D08", "feedback_tool": True},  # D08: EXCLUDED
        {**TREATED_CLOSED, "pathway_type": "D01"},
    ]
    assert overall(rows, "feedback_tool_used") == (1, 2)


def test_standard_tool_used_only_its_types() -> None:
    rows = [
        {**TREATED_CLOSED, "standard_tool": True},  # D11
        {**TREATED_CLOSED, "pathway_type": "D01", "standard_tool": True},  # D01: EXCLUDED
        {**TREATED_CLOSED, "pathway_type": "D12"},
    ]
    assert overall(rows, "standard_tool_used") == (1, 2)


# --- somatic -------------------------------------------------------------------------------------

SOMATIC = [
    {**TREATED_CLOSED, "activity_outcomes": ["U", "Z"]},  # local code Z registered
    {**TREATED_CLOSED, "activity_outcomes": ["U"]},
    {**TREATED_CLOSED, "activity_outcomes": ["Z"], "final_decision_outcome": "K"},  # not in
]


def test_somatic_followup_not_computable_from_national_codes() -> None:
    out = compute_indicators(pathway_table(SOMATIC), reference_date=REF)
    assert "somatic_followup" not in out["indicator_id"].to_list()
    assert "not computable from national codes" in out.metadata.not_computed["somatic_followup"]
    with pytest.raises(ConfigurationError, match=r"somatic_followup.*cannot be computed"):
        compute_indicators(pathway_table(SOMATIC), indicators=["somatic_followup"])


def test_somatic_followup_with_a_local_code() -> None:
    cat = load_catalogue("2024", extension=EXTENSION)
    # the first month the extract holds U-Z (the pipeline takes it from the data)
    settings = IndicatorSettings(code_starts={"U-Z": D(2023, 1, 1)}, period="year", suppress=False)
    out = compute_indicators(
        pathway_table(SOMATIC), catalogue=cat, reference_date=REF, settings=settings
    )
    cell = out.filter(pl.col("indicator_id") == "somatic_followup")
    assert cell.select("numerator", "denominator").row(0) == (1, 2)
    assert "somatic_followup" in out["indicator_id"].to_list()
    assert "somatic_followup" not in out.metadata.not_computed
    reason = out.metadata.codes_not_in_force["somatic_followup"]
    assert "U-Z has no valid_from" in reason
    assert "2023-01-01 was taken from the data" in reason


def test_local_code_start_from_the_data_straddles_a_tertial() -> None:
    # U-Z first held in March 2023: T1 2023 (Jan-Apr) counts units anchored from 1 March only
    cat = load_catalogue("2024", extension=EXTENSION)
    rows = [
        {**TREATED_CLOSED, "end_date": D(2023, 2, 10), "activity_outcomes": ["Z"]},  # before
        {**TREATED_CLOSED, "end_date": D(2023, 3, 1), "activity_outcomes": ["Z"]},  # from start
        {**TREATED_CLOSED, "end_date": D(2023, 4, 30)},  # from start, not registered
        {**TREATED_CLOSED, "end_date": D(2022, 12, 1), "activity_outcomes": ["Z"]},  # T3 2022
    ]
    out = compute_indicators(
        pathway_table(rows),
        catalogue=cat,
        reference_date=REF,
        settings=IndicatorSettings(
            indicators="somatic_followup", suppress=False, code_starts={"U-Z": D(2023, 3, 1)}
        ),
    )
    cells = {
        r["period"]: (r["numerator"], r["denominator"], r["not_available"])
        for r in out.iter_rows(named=True)
    }
    assert cells["2023-T1"] == (1, 2, False)
    assert cells["2022-T3"] == (None, None, True)


def test_local_code_without_a_start_is_not_available() -> None:
    cat = load_catalogue("2024", extension=EXTENSION)
    out = compute_indicators(
        pathway_table(SOMATIC), indicators=["somatic_followup"], catalogue=cat, suppress=False
    )
    assert out["not_available"].all()
    assert out["numerator"].is_null().all()
    assert "taken from the data" in out["not_available_reason"][0]
    # an extract that never holds the code: not available either, with that reason
    none_held = compute_indicators(
        pathway_table(SOMATIC),
        catalogue=cat,
        settings=IndicatorSettings(indicators="somatic_followup", suppress=False, code_starts={}),
    )
    assert none_held["not_available"].all()
    assert "the extract holds none of it" in none_held["not_available_reason"][0]


def test_local_code_valid_from_wins_over_the_data(tmp_path: Path) -> None:
    ext = tmp_path / "ext.toml"
    ext.write_text(
        '[[code]]\nsystem = 9325\ncode = "Z"\nnb = "Somatisk"\nen = "Somatic"\n'
        'indicator = "somatic_followup"\nvalid_from = 2023-04-01\n',
        encoding="utf-8",
    )
    cat = load_catalogue("2024", extension=ext)
    rows = [
        {**TREATED_CLOSED, "end_date": D(2023, 3, 31), "activity_outcomes": ["Z"]},
        {**TREATED_CLOSED, "end_date": D(2023, 4, 1), "activity_outcomes": ["Z"]},
    ]
    settings = IndicatorSettings(
        indicators="somatic_followup",
        suppress=False,
        period="year",
        code_starts={"U-Z": D(2023, 1, 1)},
    )
    out = compute_indicators(pathway_table(rows), catalogue=cat, settings=settings)
    assert out.select("numerator", "denominator").row(0) == (1, 1)
    assert "in force from 2023-04-01" in out.metadata.codes_not_in_force["somatic_followup"]


def test_help_needed_not_computable_with_2019_codes() -> None:
    out = compute_indicators(pathway_table([TREATED_CLOSED]), catalogue="2019")
    assert "help_needed_recorded" in out.metadata.not_computed
    assert "help_needed_recorded" not in out["indicator_id"].to_list()


# --- the table itself ----------------------------------------------------------------------------


def test_output_columns_strata_and_overall_rows() -> None:
    rows = [
        {**TREATED_CLOSED, "plan_date": D(2023, 2, 1), "health_region": "Vest"},
        {**TREATED_CLOSED, "health_region": "Vest"},
        {**TREATED_CLOSED, "plan_date": D(2023, 2, 1)},  # region missing -> "unknown"
    ]
    out = compute_indicators(
        pathway_table(rows),
        indicators=["plan_cocreated"],
        by="health_region",
        suppress=False,
        period="year",
    )
    assert out.columns == OUTPUT_COLUMNS(["health_region"])
    assert out.columns[-2:] == ["provisional_time", "derived"]
    # overall row first (stratum null), then strata sorted
    assert out.select("period", "health_region", "numerator", "denominator").rows() == [
        ("2023", None, 2, 3),
        ("2023", "Vest", 1, 2),
        ("2023", "unknown", 1, 1),
    ]
    first = out.row(0, named=True)
    assert first["goal_area"] == "involvement"
    assert (first["period_start"], first["period_end"]) == (D(2023, 1, 1), D(2023, 12, 31))
    assert first["target"] == 0.8
    assert first["meets_target"] is False  # 2/3 < 0.8
    assert out.schema["numerator"] == pl.Int64
    assert out.schema["value"] == pl.Float64


def test_period_labels_in_output() -> None:
    rows = [{**TREATED_CLOSED, "end_date": D(2023, 5, 1)}]
    for period, label in (("year", "2023"), ("tertial", "2023-T2"), ("month", "2023-05")):
        out = compute_indicators(
            pathway_table(rows), indicators=["plan_cocreated"], period=period, suppress=False
        )
        assert out["period"].to_list() == [label]


def test_from_to_filter_anchor_dates() -> None:
    rows = [{**TREATED_CLOSED, "end_date": D(2023, m, 15)} for m in (1, 5, 9)]
    out = compute_indicators(
        pathway_table(rows),
        indicators=["plan_cocreated"],
        start="2023-T2",
        end="2023-T2",
        suppress=False,
    )
    assert out.select("period", "denominator").rows() == [("2023-T2", 1)]
    with pytest.raises(ConfigurationError, match="before"):
        compute_indicators(pathway_table(rows), start="2023-05-01", end="2023-01-01")


def test_metadata_traces_the_figures() -> None:
    findings = pl.DataFrame(
        {"severity": ["error", "warning", "warning"]},
        schema={"severity": pl.Enum(["info", "warning", "error"])},
    )
    out = compute_indicators(
        pathway_table(ASSESSMENT),
        reference_date=REF,
        input_rows=123,
        findings=findings,
        by=["pathway_type"],
    )
    m = out.metadata
    assert m.reference_date == REF
    assert (m.input_rows, m.pathway_count, m.findings_count) == (123, len(ASSESSMENT), 3)
    assert m.findings_by_severity == {"error": 1, "warning": 2}
    assert m.times_file == "builtin:pathway_times_2019.toml"
    assert m.code_edition == "2024"
    assert m.suppression == "nki"
    assert m.by == ("pathway_type",)
    # D11 assessment was decided by a provisional time, D01 / D08 by official ones
    assert "D11 assessment (provisional)" in m.provisional_times_used
    assert not any(t.startswith(("D01", "D08")) for t in m.provisional_times_used)
    assert m.types_without_time["assessment_in_time"][0] == "D06"
    assert "D01 extended" in m.types_without_time["assessment_in_time"]
    rows = out.filter(pl.col("indicator_id") == "assessment_in_time")
    by_type = dict(
        zip(rows["pathway_type"].to_list(), rows["provisional_time"].to_list(), strict=True)
    )
    assert by_type["D11"] is True
    assert by_type["D01"] is False


def test_user_times_file(tmp_path: Path) -> None:
    times = tmp_path / "times.toml"
    times.write_text(
        'version = "local"\n[[time]]\npathway_type = "D11"\ninterval = "assessment"\n'
        'outpatient = 30\ninpatient = 30\nstatus = "official"\n',
        encoding="utf-8",
    )
    # Only D11 basic assessment has a time now: p1 42 days and p2 43 days are late against 30,
    # p11 50 days late; p3 (extended) and the D01 / D08 pathways have no time: 0 of 3.
    assert overall(ASSESSMENT, "assessment_in_time", times=times) == (0, 3)
    out = compute_indicators(
        pathway_table(ASSESSMENT), times=times, indicators=["assessment_in_time"]
    )
    assert out.metadata.times_file == str(times)
    assert out.metadata.provisional_times_used == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'version = "x"\n[[time]]\npathway_type = "D02"\ninterval = "assessment"\n'
            'outpatient = 1\ninpatient = 1\nstatus = "official"\n',
            "entry 1: pathway_type",
        ),
        (
            'version = "x"\n[[time]]\npathway_type = "D11"\ninterval = "assessment"\n'
            'outpatient = 1\ninpatient = 1\nstatus = "maybe"\n',
            "entry 1: status",
        ),
        (
            'version = "x"\n[[time]]\npathway_type = "D11"\ninterval = "assessment"\n'
            'outpatient = -1\ninpatient = 1\nstatus = "official"\n',
            "entry 1: outpatient",
        ),
        (
            'version = "x"\n'
            + 2
            * (
                '[[time]]\npathway_type = "D11"\ninterval = "assessment"\n'
                'outpatient = 1\ninpatient = 1\nstatus = "official"\n'
            ),
            "entry 2: D11 assessment repeats",
        ),
        ("version = ", "not a valid TOML file"),
        ('[[time]]\npathway_type = "D11"\n', "missing top-level key 'version'"),
    ],
)
def test_bad_times_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as info:
        compute_indicators(pathway_table(ASSESSMENT), times=path)
    assert str(path) in str(info.value)


def test_missing_times_file() -> None:
    with pytest.raises(ConfigurationError, match="pathway-times file not found"):
        compute_indicators(pathway_table(ASSESSMENT), times="no/such/file.toml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "region"}, "unknown stratum 'region'"),
        ({"period": "week"}, "unknown period 'week'"),
        ({"indicators": ["assesment_in_time"]}, "did you mean 'assessment_in_time'"),
        ({"policy": "strict"}, "unknown suppression policy 'strict'"),
        ({"level": 1.5}, "confidence level"),
    ],
)
def test_user_mistakes_raise_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        compute_indicators(pathway_table(ASSESSMENT), **kwargs)


def test_missing_pathway_columns() -> None:
    with pytest.raises(ConfigurationError, match="lacks column"):
        compute_indicators(pathway_table(ASSESSMENT).drop("status"))


def test_lazy_input_and_empty_table() -> None:
    lazy = compute_indicators(pathway_table(ASSESSMENT).lazy(), reference_date=REF)
    eager = compute_indicators(pathway_table(ASSESSMENT), reference_date=REF)
    assert lazy.equals(eager)
    empty = compute_indicators(pathway_table([]), by="sex")
    assert empty.height == 0
    assert empty.columns == OUTPUT_COLUMNS(["sex"])
    assert empty.metadata.pathway_count == 0


def test_reference_date_defaults_to_latest_milestone() -> None:
    out = compute_indicators(pathway_table(ASSESSMENT))
    assert out.metadata.reference_date == D(2023, 4, 4)


def test_result_is_still_a_dataframe() -> None:
    out = compute_indicators(pathway_table(ASSESSMENT))
    assert isinstance(out, pl.DataFrame)
    derived = out.filter(pl.col("indicator_id") == "assessment_in_time")
    assert derived.columns == out.columns
    assert derived.height == 1
    with pytest.raises(AttributeError, match="metadata"):
        _ = out.head(1).metadata  # type: ignore[attr-defined]


def test_catalogue_is_consistent_and_listed() -> None:
    cat = indicator_catalogue()
    ids = [d.id for d in cat.indicators]
    assert len(ids) == len(set(ids))
    for required in (
        "assessment_in_time",
        "rejected_referrals",
        "detox_to_treatment_in_time",
        "waiting_days_to_first_attendance",
        "assessment_days",
        "evaluation_any",
        "first_evaluation_in_time",
        "evaluation_interval_in_time",
        "collaboration_meeting",
        "referrer_feedback",
        "help_needed_recorded",
        "plan_cocreated",
        "information_given",
        "feedback_tool_used",
        "standard_tool_used",
        "somatic_followup",
    ):
        assert required in ids
    official = {d.id for d in cat.indicators if d.target == 0.8}
    assert official == {
        "assessment_in_time",
        "assessment_in_time_excl_postponed",
        "first_evaluation_in_time",
        "first_evaluation_in_time_all_levels",
        "plan_cocreated",
    }
    table = definitions_table(load_catalogue("2024"))
    assert table.height == len(ids)
    somatic = table.filter(pl.col("id") == "somatic_followup")["computable"].item()
    assert somatic.startswith("not computable from national codes")


def test_docs_are_generated_from_the_definitions() -> None:
    text = definitions_markdown(load_catalogue("2024"))
    for d in indicator_catalogue().indicators:
        assert f"(`{d.id}`)" in text
    assert "not computable from national codes" in text
    assert "no recommended time for D06" in text
    assert "| D12 | first evaluation | 42 | 42 | provisional |" in text


def test_unaligned_evaluation_care_levels_count_as_unknown() -> None:
    # A hand-made table without care levels (unknown): the gap 1 Feb -> 20 Mar (47 days) is in
    # time against D01's outpatient limit (56), late against the inpatient one (42). The open gap
    # after 20 Mar is left out either way: the pathway ended 25 Mar, before it fell due.
    rows = [
        {
            "pathway_type": "D01",
            "final_decision_date": D(2023, 1, 1),
            "final_decision_outcome": "T",
            "evaluation_dates": [D(2023, 2, 1), D(2023, 3, 20)],
            "evaluation_care_levels": None,
            "end_date": D(2023, 3, 25),
            "end_reason": "G",
        },
    ]
    assert overall(rows, "evaluation_interval_in_time") == (1, 1)
    assert overall(rows, "evaluation_interval_in_time", unknown_care_level="inpatient") == (0, 1)


# --- codes not yet in force (domain/indicators.md §3) ------------------------------------------


def _closed_with_help(end: dt.date, *, helped: bool = True) -> dict[str, Any]:
    return {
        **TREATED_CLOSED,
        "end_date": end,
        "help_needed": "K" if helped else None,
    }


def test_help_needed_is_not_available_before_h_came_into_force() -> None:
    # H is in force from 2023-01-01 [UNSURE] in the 2024 catalogue. 2022-T3: two completed
    # pathways, no H possible -> not available (never 0 of 2); 2023-T1: 1 of 2 recorded.
    rows = [
        _closed_with_help(D(2022, 10, 3), helped=False),
        _closed_with_help(D(2022, 11, 8), helped=False),
        _closed_with_help(D(2023, 2, 1)),
        _closed_with_help(D(2023, 3, 1), helped=False),
    ]
    out = compute_indicators(
        pathway_table(rows), indicators=["help_needed_recorded"], reference_date=REF, suppress=False
    )
    before, after = out.sort("period_start").rows(named=True)
    assert before["period"] == "2022-T3" and before["not_available"] is True
    assert (before["numerator"], before["denominator"], before["value"]) == (None, None, None)
    assert "2023-01-01" in before["not_available_reason"]
    assert after["period"] == "2023-T1" and after["not_available"] is False
    assert (after["numerator"], after["denominator"], after["value"]) == (1, 2, 0.5)
    assert after["not_available_reason"] is None
    assert "help_needed_recorded" in out.metadata.codes_not_in_force
    # suppression leaves the not-available cell alone (nothing to hide), and hides the small one
    hidden = compute_indicators(
        pathway_table(rows), indicators=["help_needed_recorded"], reference_date=REF
    ).sort("period_start")
    assert hidden["suppressed"].to_list() == [False, True]
    assert hidden["not_available"].to_list() == [True, False]


def test_a_tertial_straddling_the_start_counts_from_the_start(tmp_path: Path) -> None:
    # an extension moves H's start to 2023-03-01, inside 2023-T1: the pathway ended in February
    # is left out, the one ended in March counts; 2022-T3 is not available
    ext = tmp_path / "h.toml"
    ext.write_text(
        '[[validity]]\nsystem = 9322\ncode = "H"\nvalid_from = 2023-03-01\n', encoding="utf-8"
    )
    from pakkeforlop import load_catalogue

    cat = load_catalogue("2024", extension=ext)
    assert cat.events["H"].valid_from == D(2023, 3, 1)
    rows = [
        _closed_with_help(D(2022, 10, 3), helped=False),
        _closed_with_help(D(2023, 2, 1), helped=False),
        _closed_with_help(D(2023, 3, 10)),
    ]
    table = compute_indicators(
        pathway_table(rows),
        indicators=["help_needed_recorded"],
        reference_date=REF,
        suppress=False,
        catalogue=cat,
    )
    out = table.sort("period_start")
    assert out.select("period", "not_available", "numerator", "denominator").rows() == [
        ("2022-T3", True, None, None),
        ("2023-T1", False, 1, 1),
    ]
    assert "2023-03-01" in table.metadata.codes_not_in_force["help_needed_recorded"]


def test_a_validity_override_must_name_an_existing_code(tmp_path: Path) -> None:
    from pakkeforlop import CatalogueError, load_catalogue

    ext = tmp_path / "bad.toml"
    ext.write_text('[[validity]]\nsystem = 9322\ncode = "Q"\nvalid_from = 2023-03-01\n')
    with pytest.raises(CatalogueError, match="does not have; expected an existing code"):
        load_catalogue("2024", extension=ext)


# --- activity indicators (counts; domain/indicators.md §3) ------------------------------------


def test_pathways_started_ended_and_open_are_counts() -> None:
    rows = [
        # started 2023-T1, ended 2023-T2 (completed)
        {"start_date": D(2023, 1, 10), "end_date": D(2023, 5, 31), "end_reason": "G"},
        # started 2023-T1, ended on T1's last day: still open on it
        {"start_date": D(2023, 2, 1), "end_date": D(2023, 4, 30), "end_reason": "R"},
        # started 2023-T2, never ended: open at the end of T2 and T3 (the reference date)
        {"start_date": D(2023, 6, 1)},
        # started 2023-T1, ended in T1
        {"start_date": D(2023, 3, 1), "end_date": D(2023, 3, 20), "end_reason": "G"},
    ]
    ids = ["pathways_started", "pathways_ended", "pathways_open"]
    out = compute_indicators(
        pathway_table(rows), indicators=ids, reference_date=REF, suppress=False
    )
    got = {
        (r["indicator_id"], r["period"]): (r["value"], r["numerator"], r["denominator"])
        for r in out.iter_rows(named=True)
    }
    assert got[("pathways_started", "2023-T1")] == (3.0, 3, None)
    assert got[("pathways_started", "2023-T2")] == (1.0, 1, None)
    assert got[("pathways_ended", "2023-T1")] == (2.0, 2, None)  # 20 March and 30 April
    assert got[("pathways_ended", "2023-T2")] == (1.0, 1, None)
    assert got[("pathways_open", "2023-T1")] == (2.0, 2, None)  # the first two
    assert got[("pathways_open", "2023-T2")] == (1.0, 1, None)  # the open one
    assert got[("pathways_open", "2023-T3")] == (1.0, 1, None)
    assert out.filter(pl.col("indicator_id").is_in(ids))["ci_low"].null_count() == out.height
    # per end reason
    by_reason = compute_indicators(
        pathway_table(rows),
        indicators=["pathways_ended"],
        by="end_reason",
        reference_date=REF,
        suppress=False,
    )
    cells = by_reason.filter(pl.col("end_reason").is_not_null(), period="2023-T1")
    assert sorted(cells.select("end_reason", "numerator").rows()) == [("G", 1), ("R", 1)]


def test_small_counts_are_hidden_by_the_count_rule() -> None:
    # 4 starts in 2023-T1 and 5 in 2023-T2: nki hides 1-4 (a count has no denominator rule)
    rows = [{"start_date": D(2023, 1, 2 + k)} for k in range(4)]
    rows += [{"start_date": D(2023, 5, 2 + k)} for k in range(5)]
    for policy, hidden in (("nki", [True, False]), ("npr", [False, False])):
        out = compute_indicators(
            pathway_table(rows), indicators=["pathways_started"], reference_date=REF, policy=policy
        ).sort("period_start")
        assert out["suppressed"].to_list() == hidden, policy
        assert out["value"].to_list() == [
            None if h else v for h, v in zip(hidden, [4.0, 5.0], strict=True)
        ]


def test_an_interval_nothing_has_ended_is_judged_at_the_level_that_started_it() -> None:
    # domain/indicators.md §2: D01 between evaluations 42 days inpatient, 56 outpatient. After an
    # inpatient E on 1 March with no E since, the gap falls due on 12 April (42 days), not on
    # 26 April; the pathway ends on 20 April, after that due date: the gap counts, late.
    c = D(2023, 1, 1)
    row = {
        "pathway_type": "D01",
        "final_decision_date": c,
        "final_decision_outcome": "T",
        "evaluation_dates": [D(2023, 1, 5), D(2023, 3, 1)],
        "evaluation_care_levels": ["inpatient", "inpatient"],
        "end_date": D(2023, 4, 20),
        "end_reason": "G",
    }
    out = compute_indicators(
        pathway_table([row]),
        indicators=["evaluation_interval_in_time"],
        reference_date=REF,
        suppress=False,
        period="year",
    )
    # gap 1: 5 Jan -> 1 Mar = 55 days > 42 (inpatient): late; gap 2: open, due 12 Apr: late
    assert out.select("numerator", "denominator").rows() == [(0, 2)]
    # the first evaluation of an inpatient treatment decision with no E yet: the C's level
    first = {
        "pathway_type": "D08",
        "final_decision_date": c,
        "final_decision_outcome": "P",
        "care_level": "inpatient",
    }
    # D08 C -> first E: inpatient 14 days (outpatient 28): due 15 Jan, not 29 Jan
    kept = compute_indicators(
        pathway_table([{**first, "end_date": D(2023, 1, 20), "end_reason": "G"}]),
        indicators=["first_evaluation_in_time_all_levels"],
        reference_date=REF,
        suppress=False,
    )
    assert kept.select("numerator", "denominator").rows() == [(0, 1)]  # open on 15 Jan: late
    official = compute_indicators(
        pathway_table([first]),
        indicators=["first_evaluation_in_time"],
        reference_date=REF,
        suppress=False,
    )
    assert official.height == 0  # inpatient: not in the official (outpatient) indicator


# --- rule regimes and the first attendance (domain/indicators.md §2-§3) -------------------------


def test_first_attendance_in_time_for_psychosis() -> None:
    # D06: first consultation within 7 days of the referral (2019 start rule)
    rows = [
        {
            "pathway_type": "D06",
            "start_date": D(2023, 1, 2),
            "first_attendance_date": D(2023, 1, 9),
        },
        {
            "pathway_type": "D06",
            "start_date": D(2023, 1, 2),
            "first_attendance_date": D(2023, 1, 10),
        },
        # no M, still open past the due date (9 Jan): late
        {"pathway_type": "D06", "start_date": D(2023, 1, 2)},
        # ended on 5 Jan, before the due date, without an M: left out
        {"pathway_type": "D06", "start_date": D(2023, 1, 2), "end_date": D(2023, 1, 5)},
        # D11 has no recommended time for it: left out
        {
            "pathway_type": "D11",
            "start_date": D(2023, 1, 2),
            "first_attendance_date": D(2023, 1, 9),
        },
    ]
    assert overall(rows, "first_attendance_in_time") == (1, 3)


def test_referral_indicators_are_not_available_under_the_revised_rule() -> None:
    # revised rule from 2024-09-01 (configurable): 2024-T2 under the 2019 rule, 2024-T3 revised
    rows = [
        {"start_date": D(2024, 6, 3), "end_date": D(2024, 6, 20), "end_reason": "R"},
        {"start_date": D(2024, 6, 4), "end_date": D(2024, 6, 21), "end_reason": "G"},
        {"start_date": D(2024, 9, 3), "end_date": D(2024, 9, 20), "end_reason": "G"},
    ]
    ref = D(2024, 12, 31)
    out = compute_indicators(
        pathway_table(rows),
        settings=IndicatorSettings(
            indicators=("rejected_referrals",), suppress=False, revised_rule_from="2024-09-01"
        ),
        reference_date=ref,
    )
    cells = out.sort("period_start").select("period", "not_available", "numerator", "denominator")
    assert cells.rows() == [("2024-T2", False, 1, 2), ("2024-T3", True, None, None)]
    reason = out.filter(pl.col("not_available"))["not_available_reason"].item()
    assert "2019" in reason and "2024-09-01" in reason
    assert out.metadata.period_regimes == {"2024-T2": "2019", "2024-T3": "revised"}
    assert out.metadata.regimes["revised"] == D(2024, 9, 1)
    assert "rejected_referrals" in out.metadata.regime_limits


def test_a_tertial_straddling_the_revised_rule_counts_the_2019_part_only() -> None:
    rows = [
        {"start_date": D(2024, 9, 3), "end_date": D(2024, 9, 20), "end_reason": "R"},
        {"start_date": D(2024, 10, 7), "end_date": D(2024, 10, 21), "end_reason": "R"},
    ]
    out = compute_indicators(
        pathway_table(rows),
        settings=IndicatorSettings(
            indicators=("rejected_referrals",), suppress=False, revised_rule_from="2024-10-01"
        ),
        reference_date=D(2024, 12, 31),
    )
    # only the September start, under the 2019 rule, counts in 2024-T3
    assert out.select("period", "not_available", "numerator", "denominator").rows() == [
        ("2024-T3", False, 1, 1)
    ]
    assert out.metadata.period_regimes == {"2024-T3": "2019, revised"}


def test_a_local_code_mapped_to_an_indicator_that_reads_none_is_refused(tmp_path: Path) -> None:
    # only indicators whose numerator rests on local codes (source "local") read them; a
    # mapping to plan_cocreated would be ignored, so it is refused rather than half-used
    ext = tmp_path / "ext.toml"
    ext.write_text(
        '[[code]]\nsystem = 9325\ncode = "Z"\nnb = "Lokal"\nen = "Local"\n'
        'indicator = "plan_cocreated"\n',
        encoding="utf-8",
    )
    cat = load_catalogue("2024", extension=ext)
    with pytest.raises(
        ConfigurationError,
        match=r"U-Z maps to indicator 'plan_cocreated'.*"
        r"somatic_followup",
    ):
        compute_indicators(pathway_table([TREATED_CLOSED]), catalogue=cat)


def test_a_table_built_before_the_new_columns_still_computes() -> None:
    table = pathway_table([{**TREATED_CLOSED, "plan_date": D(2023, 2, 1)}]).drop(
        "detox_end_care_level", "treatment_start_rule"
    )
    out = compute_indicators(table, indicators=["plan_cocreated"], suppress=False)
    assert out.select("numerator", "denominator").row(0) == (1, 1)
    assert out.metadata.treatment_start is None
