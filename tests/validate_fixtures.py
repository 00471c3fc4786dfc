"""One hand-made fixture per finding rule: a raw extract that triggers it and a near miss.

Each fixture is a small raw extract (strings, as a register file holds them) that goes through the
whole of :func:`pakkeforlop.validate.validate`: reader, timeline and validate stage. The near miss
differs from the trigger in the one detail the rule is about, so the pair shows the rule's edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

RAW_COLUMNS = ("patient_id", "institution_id", "event_date", "code")


def raw(*rows: tuple[str | None, ...], **extra: list[str | None]) -> pl.DataFrame:
    """Rows of (patient, institution, date, code) as strings; keyword lists add columns."""
    data: dict[str, list[str | None]] = {
        name: [r[i] for r in rows] for i, name in enumerate(RAW_COLUMNS)
    }
    data.update(extra)
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def pathway(
    patient: str = "p1",
    inst: str = "u1",
    ptype: str = "D11",
    steps: tuple[tuple[str, str], ...] = (),
) -> list[tuple[str | None, ...]]:
    """Rows of one patient's pathway from (date, event+outcome) steps."""
    return [(patient, inst, date, f"{ptype}{code}") for date, code in steps]


#: A complete adult pathway without findings.
CLEAN_STEPS = (
    ("2023-01-02", "A"),
    ("2023-01-09", "M"),
    ("2023-01-30", "CP"),
    ("2023-01-31", "UU"),
    ("2023-02-15", "E"),
    ("2023-03-01", "XG"),
)


@dataclass(frozen=True)
class RuleFixture:
    """A triggering extract, its near miss, and the options both run with."""

    trigger: pl.DataFrame | str
    near_miss: pl.DataFrame | str
    """A raw extract, or the text of a CSV file (for rules about the file's lines)."""
    options: dict[str, Any] = field(default_factory=dict)


def _units(plans: bool) -> pl.DataFrame:
    # Two closed pathways with a treatment decision (C-P) at u1; with or without U-U and E.
    rows: list[tuple[str | None, ...]] = []
    for patient in ("p1", "p2"):
        steps = [("2023-01-02", "A"), ("2023-01-09", "M"), ("2023-01-30", "CP")]
        if plans:
            steps += [("2023-01-31", "UU"), ("2023-02-15", "E")]
        steps += [("2023-03-01", "XG")]
        rows += pathway(patient, steps=tuple(steps))
    return raw(*rows)


def _monthly(counts: tuple[int, ...]) -> pl.DataFrame:
    # One open pathway per registration month at u1: A on day 2 of each month, then the same
    # patient's first attendance (M) on following days, ``count`` rows in the month.
    rows: list[tuple[str | None, ...]] = []
    for month, count in enumerate(counts, start=1):
        for i in range(count):
            code = "D11A" if i % 2 == 0 else "D11M"
            patient = f"m{month}-{i // 2}"
            rows.append((patient, "u1", f"2023-{month:02d}-{2 + i // 2:02d}", code))
    return raw(*rows)


CLEAN = raw(*pathway(steps=CLEAN_STEPS))

#: The CSV text of the clean pathway (semicolon-separated, with the register's column names).
CLEAN_CSV = "NPRId;institusjonId;dato;kode\n" + "".join(
    f"p1;u1;{date};D11{code}\n" for date, code in CLEAN_STEPS
)

FIXTURES: dict[str, RuleFixture] = {
    # --- reader ---
    "wrong_field_count": RuleFixture(
        # an evaluation line with a fifth field (a ';' inside a value, say)
        trigger=CLEAN_CSV + "p1;u1;2023-02-16;D11E;x\n",
        near_miss=CLEAN_CSV + 'p1;u1;2023-02-16;"D11E"\n',
    ),
    "missing_value": RuleFixture(
        trigger=raw(*pathway(steps=CLEAN_STEPS), (None, "u1", "2023-02-16", "D11E")),
        near_miss=raw(*pathway(steps=CLEAN_STEPS), ("p1", "u1", "2023-02-16", "D11E")),
    ),
    "bad_date": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:4], ("31.02.2023", "E"), CLEAN_STEPS[5]))),
        near_miss=raw(*pathway(steps=(*CLEAN_STEPS[:4], ("28.02.2023", "E"), CLEAN_STEPS[5]))),
    ),
    "date_before_2019": RuleFixture(
        trigger=raw(*pathway(steps=(("2018-12-31", "A"), ("2019-01-09", "M")))),
        near_miss=raw(*pathway(steps=(("2019-01-01", "A"), ("2019-01-09", "M")))),
    ),
    "date_after_reference": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:5], ("2023-03-02", "XG")))),
        near_miss=raw(*pathway(steps=CLEAN_STEPS)),
        options={"as_of": "2023-03-01"},
    ),
    "invalid_code": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:5], ("2023-03-01", "XZ")))),
        near_miss=CLEAN,
    ),
    "code_invalid_for_type": RuleFixture(
        # C-U (extended assessment) is valid for D01, D11, D12 only (domain/codes.md §4).
        trigger=raw(
            *pathway(
                ptype="D06", steps=(("2023-01-02", "A"), ("2023-01-09", "M"), ("2023-01-30", "CU"))
            )
        ),
        near_miss=raw(
            *pathway(
                ptype="D01", steps=(("2023-01-02", "A"), ("2023-01-09", "M"), ("2023-01-30", "CU"))
            )
        ),
    ),
    "missing_outcome": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-30", "C")))),
        near_miss=raw(*pathway(steps=CLEAN_STEPS[:3])),
    ),
    "unexpected_outcome": RuleFixture(
        # Split layout: M with an outcome letter.
        trigger=raw(
            ("p1", "u1", "2023-01-02", None),
            ("p1", "u1", "2023-01-09", None),
            pathway_type=["D11", None],
            event=["A", "M"],
            outcome=[None, "P"],
        ),
        near_miss=raw(
            ("p1", "u1", "2023-01-02", None),
            ("p1", "u1", "2023-01-09", None),
            pathway_type=["D11", None],
            event=["A", "M"],
            outcome=[None, None],
        ),
    ),
    "code_outside_validity": RuleFixture(
        # D06 is in force from 15 February 2019 (domain/codes.md §2).
        trigger=raw(*pathway(ptype="D06", steps=(("2019-02-14", "A"), ("2019-02-20", "M")))),
        near_miss=raw(*pathway(ptype="D06", steps=(("2019-02-15", "A"), ("2019-02-20", "M")))),
    ),
    "code_unsure": RuleFixture(
        # An end reason that is neither listed nor confirmed, declared in a local extension;
        # a listed code of the same extension-loaded catalogue gives nothing.
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:-1], ("2023-03-01", "XV")))),
        near_miss=raw(*pathway(steps=CLEAN_STEPS)),
        options={"extension": str(Path(__file__).parent / "data" / "unsure_extension.toml")},
    ),
    "code_mismatch": RuleFixture(
        trigger=raw(*pathway(steps=CLEAN_STEPS[:2]), event=["A", "C"]),
        near_miss=raw(*pathway(steps=CLEAN_STEPS[:2]), event=["A", "M"]),
    ),
    "bad_value": RuleFixture(
        trigger=raw(*pathway(steps=CLEAN_STEPS[:2]), omsorgsniva=["3", "7"]),
        near_miss=raw(*pathway(steps=CLEAN_STEPS[:2]), omsorgsniva=["3", "1"]),
    ),
    "duplicate_registration": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS, CLEAN_STEPS[3]))),
        near_miss=raw(*pathway(steps=(*CLEAN_STEPS[:4], ("2023-02-01", "UU"), *CLEAN_STEPS[4:]))),
    ),
    # --- timeline ---
    "decision_without_attendance": RuleFixture(
        # C-I without M is 208; C-P without M is a direct-to-treatment decision.
        trigger=raw(*pathway(steps=(("2023-01-02", "A"), ("2023-01-30", "CI")))),
        near_miss=raw(*pathway(steps=(("2023-01-02", "A"), ("2023-01-30", "CP")))),
    ),
    "attendance_after_decision": RuleFixture(
        trigger=raw(
            *pathway(steps=(("2023-01-02", "A"), ("2023-01-09", "CP"), ("2023-01-30", "M")))
        ),
        near_miss=raw(*pathway(steps=CLEAN_STEPS[:3])),
    ),
    "adult_in_child_pathway": RuleFixture(
        trigger=raw(*pathway(ptype="D12", steps=CLEAN_STEPS[:2]), alder=["18", "18"]),
        near_miss=raw(*pathway(ptype="D12", steps=CLEAN_STEPS[:2]), alder=["17", "17"]),
    ),
    "evaluation_without_decision": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "E"), CLEAN_STEPS[2]))),
        near_miss=raw(*pathway(steps=(*CLEAN_STEPS[:3], ("2023-02-20", "E")))),
    ),
    "feedback_without_decision": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "F"), CLEAN_STEPS[2]))),
        near_miss=raw(*pathway(steps=(*CLEAN_STEPS[:3], ("2023-02-20", "F")))),
    ),
    "onset_after_decision": RuleFixture(
        trigger=raw(*pathway(ptype="D06", steps=(*CLEAN_STEPS[:3], ("2023-02-01", "P")))),
        near_miss=raw(
            *pathway(
                ptype="D06", steps=(("2023-01-02", "A"), ("2023-01-05", "P"), *CLEAN_STEPS[1:3])
            )
        ),
    ),
    "parallel_pathways": RuleFixture(
        # p1 at u2 from 2023-02-01 while the u1 pathway runs to 2023-03-01; near miss: after it.
        trigger=raw(
            *pathway(steps=CLEAN_STEPS),
            *pathway(inst="u2", ptype="D01", steps=(("2023-02-01", "A"), ("2023-02-08", "M"))),
        ),
        near_miss=raw(
            *pathway(steps=CLEAN_STEPS),
            *pathway(inst="u2", ptype="D01", steps=(("2023-03-02", "A"), ("2023-03-08", "M"))),
        ),
    ),
    "event_after_end": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS, ("2023-03-05", "UB")))),
        near_miss=raw(*pathway(steps=(*CLEAN_STEPS[:5], ("2023-02-20", "UB"), CLEAN_STEPS[5]))),
    ),
    "no_usable_registrations": RuleFixture(
        # every row excluded (an unreadable date, an unknown type): nothing can be computed
        trigger=raw(("p1", "u1", "31.02.2023", "D11A"), ("p1", "u1", "2023-01-09", "D99M")),
        near_miss=raw(("p1", "u1", "2023-01-02", "D11A"), ("p1", "u1", "2023-01-09", "D99M")),
    ),
    "no_start": RuleFixture(
        trigger=raw(*pathway(steps=CLEAN_STEPS[1:3])),
        near_miss=raw(*pathway(steps=CLEAN_STEPS[:3])),
    ),
    "ambiguous_event": RuleFixture(
        # Two open pathways (D11, D01) at u1, then an M without type; near miss: only D11 open.
        trigger=raw(
            ("p1", "u1", "2023-01-02", None),
            ("p1", "u1", "2023-01-03", None),
            ("p1", "u1", "2023-01-09", None),
            pathway_type=["D11", "D01", None],
            event=["A", "A", "M"],
        ),
        near_miss=raw(
            ("p1", "u1", "2023-01-02", None),
            ("p1", "u1", "2023-01-09", None),
            pathway_type=["D11", None],
            event=["A", "M"],
        ),
    ),
    "superseded": RuleFixture(
        trigger=raw(*pathway(steps=(("2023-01-02", "A"), ("2023-02-02", "A")))),
        near_miss=raw(
            *pathway(steps=(("2023-01-02", "A"), ("2023-01-20", "XP"), ("2023-02-02", "A")))
        ),
    ),
    "too_many_decisions": RuleFixture(
        trigger=raw(
            *pathway(
                steps=(
                    *CLEAN_STEPS[:2],
                    ("2023-01-20", "CU"),
                    ("2023-02-20", "CP"),
                    ("2023-02-25", "CT"),
                )
            )
        ),
        near_miss=raw(
            *pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "CU"), ("2023-02-20", "CP")))
        ),
    ),
    "extended_without_second_decision": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "CU"), ("2023-03-01", "XP")))),
        near_miss=raw(
            *pathway(
                steps=(
                    *CLEAN_STEPS[:2],
                    ("2023-01-20", "CU"),
                    ("2023-02-20", "CP"),
                    ("2023-03-01", "XG"),
                )
            )
        ),
    ),
    "second_decision_without_extended": RuleFixture(
        trigger=raw(*pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "CP"), ("2023-02-20", "CT")))),
        near_miss=raw(
            *pathway(steps=(*CLEAN_STEPS[:2], ("2023-01-20", "CU"), ("2023-02-20", "CT")))
        ),
    ),
    "pathway_id_inconsistent": RuleFixture(
        trigger=raw(
            *pathway(steps=CLEAN_STEPS[:2]),
            *pathway("p2", steps=CLEAN_STEPS[:2]),
            pathway_id=["f1", "f1", "f1", "f1"],
        ),
        near_miss=raw(
            *pathway(steps=CLEAN_STEPS[:2]),
            *pathway("p2", steps=CLEAN_STEPS[:2]),
            pathway_id=["f1", "f1", "f2", "f2"],
        ),
    ),
    # --- validate ---
    "open_too_long": RuleFixture(
        # Open from 2020-01-01; on 2023-01-01 that is 1096 days (> 1095); near miss 1095 days.
        trigger=raw(*pathway(steps=(("2020-01-01", "A"), ("2020-01-09", "M")))),
        near_miss=raw(*pathway(steps=(("2020-01-02", "A"), ("2020-01-09", "M")))),
        options={"as_of": "2023-01-01"},
    ),
    "unit_never_registers": RuleFixture(
        trigger=_units(plans=False),
        near_miss=_units(plans=True),
        options={"unit_min_pathways": 2},
    ),
    "unit_sudden_drop": RuleFixture(
        # January 10 registrations, February 2: down 80 % (> 70 %); near miss 10 -> 3 (70 %).
        trigger=_monthly((10, 2, 2)),
        near_miss=_monthly((10, 3, 3)),
        options={"unit_drop_min_count": 10, "as_of": "2023-03-31"},
    ),
}
