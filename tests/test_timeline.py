"""Timeline rules (domain/extract-and-timeline.md §2), one hand-made fixture each."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timeline_helpers import events

from pakkeforlop.timeline import build_pathways

D = dt.date.fromisoformat


def run(ev: pl.DataFrame, **kw: object) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    tl = build_pathways(ev, **kw)  # type: ignore[arg-type]
    return tl.pathways.collect(), tl.findings.collect(), tl.assignments.collect()


def rules_at(findings: pl.DataFrame) -> set[tuple[str, int]]:
    return {(r, n) for r, n in findings.select("rule_id", "source_row").iter_rows()}


def test_full_pathway_milestones() -> None:
    # One TSB pathway with every milestone; expected values read straight off the rows.
    ev = events(
        ("p", "i", "2023-01-02", "D01", "A", None),  # 1 start
        ("p", "i", "2023-01-10", "D01", "M", None),  # 2 first attendance
        ("p", "i", "2023-01-10", "D01", "L", None),  # 3 postponement
        ("p", "i", "2023-01-25", "D01", "C", "U"),  # 4 first decision: extended assessment
        ("p", "i", "2023-02-20", "D01", "C", "T"),  # 5 final decision
        ("p", "i", "2023-02-24", "D01", "D", None),  # 6 detox finished
        (
            "p",
            "i",
            "2023-02-24",
            "D01",
            "U",
            "B",
        ),  # 7 information, same day after D: treatment start
        ("p", "i", "2023-02-27", "D01", "U", "U"),  # 8 plan
        ("p", "i", "2023-03-01", "D01", "S", "I"),  # 9 collaboration: no meeting needed
        ("p", "i", "2023-03-02", "D01", "F", None),  # 10 feedback to referrer
        ("p", "i", "2023-03-05", "D01", "E", None),  # 11 evaluation
        ("p", "i", "2023-04-20", "D01", "E", None),  # 12 evaluation
        ("p", "i", "2023-05-01", "D01", "U", "F"),  # 13 feedback tool
        ("p", "i", "2023-05-02", "D01", "H", "K"),  # 14 help needed: GP
        ("p", "i", "2023-05-02", "D01", "X", "G"),  # 15 end: completed
        care_level=["outpatient"] * 4
        + ["inpatient"]
        + ["outpatient"] * 6
        + ["inpatient"]
        + ["outpatient"] * 3,
        age=[40] * 15,
        health_region=["Helse Vest"] * 15,
    )
    pathways, findings, assigned = run(ev)
    assert findings.height == 0
    assert assigned["assignment"].to_list() == ["assigned"] * 15
    p = pathways.row(0, named=True)
    assert p["pathway_key"] == "p|i|D01|2023-01-02"
    assert p["chain_id"] == p["pathway_key"]
    assert (p["start_date"], p["first_attendance_date"]) == (D("2023-01-02"), D("2023-01-10"))
    assert (p["first_decision_date"], p["first_decision_outcome"]) == (D("2023-01-25"), "U")
    assert p["extended_assessment"] is True
    assert (p["final_decision_date"], p["final_decision_outcome"]) == (D("2023-02-20"), "T")
    assert p["care_level"] == "inpatient"  # care level of the final C
    assert p["decision_count"] == 2
    assert p["direct_to_treatment"] is False
    assert p["detox_end_date"] == D("2023-02-24")
    assert p["treatment_start_date"] == D("2023-02-24")  # U-B on the same day, after D
    assert p["evaluation_dates"] == [D("2023-03-05"), D("2023-04-20")]
    assert p["evaluation_care_levels"] == ["outpatient", "inpatient"]
    assert (p["evaluation_count"], p["first_evaluation_date"]) == (2, D("2023-03-05"))
    assert (p["plan_date"], p["information_date"]) == (D("2023-02-27"), D("2023-02-24"))
    assert (p["feedback_tool"], p["standard_tool"]) == (True, False)
    assert p["activity_outcomes"] == ["B", "F", "U"]
    assert p["collaboration"] == "I"
    assert p["referrer_feedback_date"] == D("2023-03-02")
    assert p["postponements"] == 1
    assert p["help_needed"] == "K"
    assert (p["end_date"], p["end_reason"], p["status"]) == (D("2023-05-02"), "G", "closed")
    assert (p["age_at_start"], p["age_group"], p["health_region"]) == (40, "30-49", "Helse Vest")
    assert p["event_count"] == 15
    assert p["findings"] == []


def test_same_day_order_does_not_depend_on_row_order() -> None:
    # Rule 2: A, M and C on one day are ordered A, M, C whatever the input order.
    ev = events(
        ("p", "i", "2023-03-01", "D11", "C", "P"),
        ("p", "i", "2023-03-01", "D11", "M", None),
        ("p", "i", "2023-03-01", "D11", "A", None),
    )
    pathways, findings, _ = run(ev)
    assert findings.height == 0
    assert pathways["direct_to_treatment"].to_list() == [False]


def test_given_pathway_id_defines_instances() -> None:
    # Rule 1: two A of the same type would supersede, but distinct given ids keep both.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-05", "D11", "A", None),
        ("p", "i", "2023-01-09", "D11", "M", None),
        pathway_id=["id1", "id2", "id2"],
    )
    pathways, findings, _ = run(ev)
    assert sorted(pathways["pathway_key"]) == ["id1", "id2"]
    assert pathways.filter(pl.col("pathway_key") == "id2")["first_attendance_date"].item() == D(
        "2023-01-09"
    )
    assert "superseded" not in findings["rule_id"].to_list()


def test_typeless_event_joins_only_open_instance() -> None:
    # Rule 3 (split layout: type only on A): M and C join the only open D11 pathway.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-09", None, "M", None),
        ("p", "i", "2023-02-01", None, "C", "P"),
        ("p", "i", "2023-03-01", None, "X", "G"),
    )
    pathways, findings, assigned = run(ev)
    assert findings.height == 0
    assert assigned["assignment"].to_list() == ["assigned"] * 4
    assert pathways.row(0, named=True)["status"] == "closed"


def test_typeless_event_with_two_types_open_is_ambiguous() -> None:
    # Rule 3: D11 and D06 open at the same institution; a typeless M cannot be placed.
    # After a typeless X... no: a typed X of D06 closes D06, so the later typeless E joins D11.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),  # 1
        ("p", "i", "2023-01-03", "D06", "A", None),  # 2
        ("p", "i", "2023-01-09", None, "M", None),  # 3 ambiguous
        ("p", "i", "2023-02-01", "D06", "X", "N"),  # 4 closes D06
        ("p", "i", "2023-02-05", None, "M", None),  # 5 joins D11
    )
    pathways, findings, assigned = run(ev)
    assert ("ambiguous_event", 3) in rules_at(findings)
    assert assigned["assignment"].to_list() == [
        "assigned",
        "assigned",
        "ambiguous",
        "assigned",
        "assigned",
    ]
    d11 = pathways.filter(pl.col("pathway_type") == "D11").row(0, named=True)
    assert d11["first_attendance_date"] == D("2023-02-05")


def test_typeless_end_closes_and_unblocks_later_rows() -> None:
    # A typeless X while only D06 is open closes it; a later typeless row finds only D11 open.
    ev = events(
        ("p", "i", "2023-01-02", "D06", "A", None),  # 1
        ("p", "i", "2023-01-20", None, "X", "L"),  # 2 closes D06 (only one open)
        ("p", "i", "2023-01-21", "D11", "A", None),  # 3
        ("p", "i", "2023-01-25", None, "M", None),  # 4 joins D11
    )
    pathways, findings, assigned = run(ev)
    assert findings.height == 0, findings
    assert assigned["assignment"].to_list() == ["assigned"] * 4
    assert pathways.filter(pl.col("pathway_type") == "D06")["status"].item() == "closed"
    assert pathways.filter(pl.col("pathway_type") == "D11")["first_attendance_date"].item() == D(
        "2023-01-25"
    )


def test_orphans_before_start_and_after_end() -> None:
    # Rule 4: M before any A -> no start; E after X, before a new A -> 225; the new A starts anew.
    ev = events(
        ("p", "i", "2023-01-01", "D11", "M", None),  # 1 no start
        ("p", "i", "2023-01-02", "D11", "A", None),  # 2
        ("p", "i", "2023-01-20", "D11", "X", "R"),  # 3
        ("p", "i", "2023-01-25", "D11", "E", None),  # 4 after end: 225
        ("p", "i", "2023-02-01", "D11", "A", None),  # 5 new pathway
    )
    pathways, findings, assigned = run(ev)
    assert rules_at(findings) == {("no_start", 1), ("event_after_end", 4)}
    assert findings.filter(pl.col("rule_id") == "event_after_end")["npr_error"].item() == 225
    assert assigned["assignment"].to_list() == [
        "orphan",
        "assigned",
        "assigned",
        "orphan",
        "assigned",
    ]
    assert pathways["status"].to_list() == ["closed", "open"]


def test_second_start_supersedes_open_instance() -> None:
    # Rule 5: a second A of D11 while the first is open; the first ends the day before.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-03-01", "D11", "A", None),
    )
    pathways, findings, _ = run(ev)
    first = pathways.filter(pl.col("start_date") == D("2023-01-02")).row(0, named=True)
    assert (first["status"], first["end_date"], first["end_reason"]) == (
        "superseded",
        D("2023-02-28"),
        None,
    )
    assert first["findings"] == ["superseded"]
    assert rules_at(findings) == {("superseded", 1)}


def test_parallel_pathways_both_flagged_handover_not() -> None:
    # Rule 6: D11 at i1 open while D01 at i2 starts -> 224 on both starts. A same-day hand-over
    # (X at i1 and A at i3 on one day) is not parallel.
    ev = events(
        ("p", "i1", "2023-01-02", "D11", "A", None),  # 1
        ("p", "i2", "2023-02-01", "D01", "A", None),  # 2 overlaps 1
        ("p", "i2", "2023-03-01", "D01", "X", "G"),  # 3
        ("p", "i1", "2023-04-01", "D11", "X", "N"),  # 4
        ("p", "i3", "2023-04-01", "D12", "A", None),  # 5 same-day hand-over
    )
    _, findings, _ = run(ev)
    assert rules_at(findings) == {("parallel_pathways", 1), ("parallel_pathways", 2)}
    assert set(findings["npr_error"].to_list()) == {224}


def test_transfer_chain_links_instances() -> None:
    # X-O at i1, then a new A of the same type at i2 -> one chain named after the first;
    # not parallel.
    ev = events(
        ("p", "i1", "2023-01-02", "D11", "A", None),
        ("p", "i1", "2023-02-01", "D11", "X", "O"),
        ("p", "i2", "2023-02-01", "D11", "A", None),
        ("q", "i1", "2023-02-01", "D11", "A", None),
    )
    pathways, findings, _ = run(ev)
    chains = dict(pathways.select("pathway_key", "chain_id").iter_rows())
    assert chains["p|i2|D11|2023-02-01"] == "p|i1|D11|2023-01-02"
    assert chains["p|i1|D11|2023-01-02"] == "p|i1|D11|2023-01-02"
    assert chains["q|i1|D11|2023-02-01"] == "q|i1|D11|2023-02-01"
    assert findings.height == 0


def test_register_checks_208_211_221_222_223() -> None:
    ev = events(
        ("a", "i", "2023-01-02", "D11", "A", None),  # 1
        ("a", "i", "2023-01-05", "D11", "E", None),  # 2 221: E before any C
        ("a", "i", "2023-01-06", "D11", "F", None),  # 3 222: F before any C
        ("a", "i", "2023-01-10", "D11", "C", "K"),  # 4 208: C-K without M, not direct
        ("a", "i", "2023-01-12", "D11", "M", None),  # 5 211: M after C
        ("b", "i", "2023-01-02", "D06", "A", None),  # 6
        ("b", "i", "2023-01-03", "D06", "M", None),  # 7
        ("b", "i", "2023-01-20", "D06", "C", "P"),  # 8
        ("b", "i", "2023-01-21", "D06", "P", None),  # 9 223: P after C
        ("c", "i", "2023-01-02", "D11", "A", None),  # 10
        ("c", "i", "2023-01-09", "D11", "C", "P"),  # 11 direct to treatment: no finding
    )
    pathways, findings, _ = run(ev)
    assert rules_at(findings) == {
        ("evaluation_without_decision", 2),
        ("feedback_without_decision", 3),
        ("decision_without_attendance", 4),
        ("attendance_after_decision", 5),
        ("onset_after_decision", 9),
    }
    assert sorted(findings["npr_error"].to_list()) == [208, 211, 221, 222, 223]
    direct = dict(pathways.select("patient_id", "direct_to_treatment").iter_rows())
    assert direct == {"a": True, "b": False, "c": True}


def test_216_adult_in_child_pathway() -> None:
    ev = events(
        ("a", "i", "2023-01-02", "D12", "A", None),
        ("b", "i", "2023-01-02", "D12", "A", None),
        age=[18, 17],
    )
    _, findings, _ = run(ev)
    assert rules_at(findings) == {("adult_in_child_pathway", 1)}
    assert findings["npr_error"].to_list() == [216]


def test_decision_count_rules() -> None:
    # a: C-U, C-P, C-T -> third C too many. b: C-P then C-T -> second without extended.
    # c: C-U then X -> extended assessment without second decision (on the A row).
    ev = events(
        ("a", "i", "2023-01-02", "D11", "A", None),  # 1
        ("a", "i", "2023-01-03", "D11", "M", None),  # 2
        ("a", "i", "2023-01-10", "D11", "C", "U"),  # 3
        ("a", "i", "2023-02-10", "D11", "C", "P"),  # 4
        ("a", "i", "2023-02-11", "D11", "C", "T"),  # 5 too many
        ("b", "i", "2023-01-02", "D11", "A", None),  # 6
        ("b", "i", "2023-01-03", "D11", "M", None),  # 7
        ("b", "i", "2023-01-10", "D11", "C", "P"),  # 8
        ("b", "i", "2023-01-11", "D11", "C", "T"),  # 9 second without extended
        ("c", "i", "2023-01-02", "D11", "A", None),  # 10
        ("c", "i", "2023-01-03", "D11", "M", None),  # 11
        ("c", "i", "2023-01-10", "D11", "C", "U"),  # 12
        ("c", "i", "2023-03-10", "D11", "X", "P"),  # 13
    )
    pathways, findings, _ = run(ev)
    assert rules_at(findings) == {
        ("too_many_decisions", 5),
        ("second_decision_without_extended", 9),
        ("extended_without_second_decision", 10),
    }
    final = dict(pathways.select("patient_id", "final_decision_outcome").iter_rows())
    assert final == {"a": "P", "b": "P", "c": None}


def test_type_supplied_by_timeline_is_checked() -> None:
    # A typeless D (detox) joins a D11 pathway: detox is only for D01, D09, D10.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-05", None, "D", None),
    )
    _, findings, _ = run(ev)
    assert rules_at(findings) == {("code_invalid_for_type", 2)}


def test_rows_without_keys_are_excluded_not_lost() -> None:
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        (None, "i", "2023-01-05", "D11", "M", None),
    )
    _, _, assigned = run(ev)
    assert assigned["assignment"].to_list() == ["assigned", "excluded"]


# --- properties -------------------------------------------------------------------------------

_EVENTS = ["A", "M", "C", "E", "U", "X", "F"]
_OUTCOME = {"C": ["U", "P", "I"], "U": ["U", "B"], "X": ["G", "O", "R"]}


@st.composite
def registrations(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(min_value=1, max_value=25))
    rows = []
    for _ in range(n):
        event = draw(st.sampled_from(_EVENTS))
        rows.append(
            (
                draw(st.sampled_from(["p1", "p2"])),
                draw(st.sampled_from(["i1", "i2"])),
                dt.date(2023, 1, 1) + dt.timedelta(days=draw(st.integers(0, 60))),
                draw(st.sampled_from(["D11", "D01", None]))
                if event != "A"
                else draw(st.sampled_from(["D11", "D01"])),
                event,
                draw(st.sampled_from(_OUTCOME[event])) if event in _OUTCOME else None,
            )
        )
    return events(*rows)


@settings(max_examples=60, deadline=None)
@given(registrations(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(ev: pl.DataFrame, rnd: object) -> None:
    shuffled = ev.sample(fraction=1.0, shuffle=True, seed=7)
    a = run(ev)
    b = run(shuffled)
    assert a[0].equals(b[0])
    assert a[1].sort(pl.all()).equals(b[1].sort(pl.all()))


@st.composite
def typed_registrations(draw: st.DrawFn) -> pl.DataFrame:
    """Registrations that all carry their type (the combined layout), some unusable."""
    ev = draw(registrations())
    n = ev.height
    types = draw(st.lists(st.sampled_from(["D11", "D01"]), min_size=n, max_size=n))
    # a few rows without a patient, date or event: excluded, wherever they sort
    unusable = draw(
        st.lists(st.sampled_from(["", "", "", "patient", "date", "event"]), min_size=n, max_size=n)
    )
    gone = pl.Series(unusable)
    return ev.with_columns(
        pl.coalesce("pathway_type", pl.Series(types, dtype=ev["pathway_type"].dtype)),
        pl.when(gone != "patient").then(pl.col("patient_id")),
        pl.when(gone != "date").then(pl.col("event_date")),
        pl.when(gone != "event").then(pl.col("event")),
    )


@settings(max_examples=80, deadline=None)
@given(typed_registrations())
def test_one_sort_path_equals_the_general_path(ev: pl.DataFrame) -> None:
    # When every usable row has its type the instance order comes from one sort; forcing the
    # general path (type resolution, second sort, gather) must give exactly the same result.
    from unittest import mock

    import pakkeforlop.timeline as tl_module

    assert tl_module.all_typed(ev)
    fast = run(ev)
    with mock.patch.object(tl_module, "all_typed", lambda _: False):
        general = run(ev)
    assert fast[0].equals(general[0])
    assert fast[1].sort(pl.all()).equals(general[1].sort(pl.all()))
    assert fast[2].equals(general[2])


def test_one_sort_path_with_two_types_at_one_institution() -> None:
    # D11 and D01 open side by side at one institution, all rows typed: each row joins the
    # instance of its own type; the second D11 start supersedes the first (rows 1, 4).
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),  # 1
        ("p", "i", "2023-01-03", "D01", "A", None),  # 2
        ("p", "i", "2023-01-09", "D11", "M", None),  # 3
        ("p", "i", "2023-02-01", "D11", "A", None),  # 4
        ("p", "i", "2023-02-02", "D01", "X", "G"),  # 5
        ("p", "i", "2023-02-03", "D01", "M", None),  # 6 after D01's end: orphan
    )
    pathways, _, assigned = run(ev)
    got = pathways.select("pathway_type", "start_date", "status", "event_count").rows()
    assert sorted(got, key=str) == sorted(
        [
            ("D01", dt.date(2023, 1, 3), "closed", 2),
            ("D11", dt.date(2023, 1, 2), "superseded", 2),
            ("D11", dt.date(2023, 2, 1), "open", 1),
        ],
        key=str,
    )
    fate = dict(assigned.select("source_row", "orphan_rule").iter_rows())
    assert fate[6] == "event_after_end"
    assert sum(r is not None for r in fate.values()) == 1


@settings(max_examples=60, deadline=None)
@given(registrations())
def test_every_registration_has_one_fate(ev: pl.DataFrame) -> None:
    pathways, _, assigned = run(ev)
    assert assigned.height == ev.height
    assert assigned["source_row"].sort().to_list() == list(range(1, ev.height + 1))
    n_assigned = assigned.filter(pl.col("assignment") == "assigned").height
    assert n_assigned == pathways["event_count"].sum()


@settings(max_examples=60, deadline=None)
@given(registrations())
def test_same_type_instances_do_not_overlap(ev: pl.DataFrame) -> None:
    pathways, _, _ = run(ev)
    far = dt.date(2100, 1, 1)
    spans = pathways.select(
        "patient_id",
        "institution_id",
        "pathway_type",
        "start_date",
        pl.col("end_date").fill_null(far),
    ).sort("patient_id", "institution_id", "pathway_type", "start_date", "end_date")
    nxt = spans.with_columns(
        _next=pl.col("start_date").shift(-1).over("patient_id", "institution_id", "pathway_type")
    ).filter(pl.col("_next").is_not_null())
    # A start sorts before an end on the same day, so consecutive instances never share a day.
    assert (nxt["end_date"] < nxt["_next"]).all()


def test_given_pathway_id_shared_by_two_patients() -> None:
    ev = events(
        ("a", "i", "2023-01-02", "D11", "A", None),
        ("b", "i", "2023-01-03", "D11", "A", None),
        ("c", "i", "2023-01-03", "D11", "A", None),
        pathway_id=["f1", "f1", "f2"],
    )
    pathways, findings, _ = run(ev)
    assert rules_at(findings) == {("pathway_id_inconsistent", 1), ("pathway_id_inconsistent", 2)}
    assert sorted(pathways["pathway_key"]) == ["f1", "f1#2", "f2"]


def test_open_pathways_overlap_on_the_reference_date() -> None:
    # Both open; the second starts on the reference date (the latest event date): still parallel.
    ev = events(
        ("p", "i1", "2023-01-02", "D11", "A", None),
        ("p", "i2", "2023-02-01", "D01", "A", None),
    )
    _, findings, _ = run(ev)
    assert rules_at(findings) == {("parallel_pathways", 1), ("parallel_pathways", 2)}


def test_hash_collision_falls_back_to_exact_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two groups sharing a 64-bit hash would interleave; detection triggers the exact order,
    # which gives the same pathways.
    import pakkeforlop.timeline as tl_module
    from pakkeforlop.timeline.assign import hash_collision, order_events

    ev = events(
        ("a", "i", "2023-01-02", "D11", "A", None),
        ("b", "i", "2023-01-03", "D11", "A", None),
        ("a", "i", "2023-01-09", "D11", "M", None),
    )
    ordered = order_events(ev.lazy())
    assert not hash_collision(ordered)
    clash = ordered.with_columns(_g=pl.lit(7, dtype=pl.UInt64)).sort("_row")
    assert hash_collision(clash)
    expected = run(ev)[0]
    monkeypatch.setattr(tl_module, "hash_collision", lambda _: True)
    assert run(ev)[0].sort("pathway_key").equals(expected.sort("pathway_key"))


def test_segmented_count_treats_a_null_flag_as_false() -> None:
    # runs [1, 1] and [2, 2, 2]; a null flag on the first row of the second run must not borrow
    # the first run's count: inclusive counts 1, 2 | 0, 1, 1
    from pakkeforlop.timeline.assign import segmented_count

    frame = pl.DataFrame({"run": [1, 1, 2, 2, 2], "flag": [True, True, None, True, False]})
    got = frame.select(segmented_count(pl.col("flag"), "run", inclusive=True))["flag"]
    assert got.to_list() == [1, 2, 0, 1, 1]
    strictly_before = frame.select(segmented_count(pl.col("flag"), "run"))["flag"]
    assert strictly_before.to_list() == [0, 1, 0, 0, 1]


def test_a_long_chain_of_typeless_ends_is_resolved_link_by_link() -> None:
    # D11 and D01 open; D01 ends (typed), then a typeless X can only close D11. Then 13 times: a
    # typed start, and a typeless X that can only close it (each X is resolvable only once the
    # one before it is). Every X joins a pathway; none is left ambiguous or orphaned.
    rows: list[tuple[str, str, str, str | None, str, str | None]] = [
        ("p", "i", "2023-01-01", "D11", "A", None),
        ("p", "i", "2023-01-02", "D01", "A", None),
        ("p", "i", "2023-01-03", "D01", "X", "G"),
        ("p", "i", "2023-01-04", None, "X", "G"),
    ]
    day = dt.date(2023, 1, 5)
    for k in range(13):
        rows.append(("p", "i", str(day), ("D01", "D11")[k % 2], "A", None))
        rows.append(("p", "i", str(day + dt.timedelta(days=1)), None, "X", "G"))
        day += dt.timedelta(days=2)
    pathways, _, assigned = run(events(*rows))
    assert assigned["assignment"].unique().to_list() == ["assigned"]
    assert pathways.height == 15
    assert pathways["status"].unique().to_list() == ["closed"]


def test_dates_far_from_today_keep_their_order() -> None:
    # Before 1970 (once clipped to one day, where M sorts before X): the pathway ends in 1961,
    # so the M of 1962 comes after its end and joins nothing.
    ev = events(
        ("p", "i", "1960-01-02", "D11", "A", None),
        ("p", "i", "1961-01-01", "D11", "X", "G"),
        ("p", "i", "1962-01-01", "D11", "M", None),
    )
    pathways, _, assigned = run(ev)
    assert pathways.select("status", "end_date", "event_count").rows() == [
        ("closed", D("1961-01-01"), 2)
    ]
    fate = dict(assigned.select("source_row", "orphan_rule").iter_rows())
    assert fate == {1: None, 2: None, 3: "event_after_end"}


def test_rows_from_two_files_with_the_same_row_number_order_by_file() -> None:
    # Two same-day starts that the order key cannot tell apart (row 1 of two files; identical
    # but for the care level, so not collapsed here): the second start supersedes the first,
    # and which is "first" must not depend on the input's row order: file a.csv before b.csv.
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-02", "D11", "A", None),
        source_file=["b.csv", "a.csv"],
        source_row=[1, 1],
        care_level=["inpatient", "outpatient"],
    )
    results = [run(frame) for frame in (ev, ev.reverse())]
    for pathways, findings, _ in results:
        superseded = findings.filter(pl.col("rule_id") == "superseded")
        assert superseded["source_file"].to_list() == ["a.csv"]
        assert pathways.sort("pathway_key")["status"].to_list() == ["superseded", "open"]
    assert results[0][0].equals(results[1][0])
