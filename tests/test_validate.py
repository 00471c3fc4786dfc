"""validate (issue 6): every rule's fixture, the validate-stage rules, the report, the writers."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from validate_fixtures import CLEAN, FIXTURES, RuleFixture

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.findings import empty_findings, finding_rows, rules
from pakkeforlop.pipeline import validate
from pakkeforlop.schema import FINDINGS_SCHEMA
from pakkeforlop.validate import (
    FINDINGS_FILE_COLUMNS,
    ValidationReport,
    build_report,
    findings_file,
    junit_xml,
    last_complete_month,
    mask_ids,
    open_too_long,
    report_format,
    start_rows,
    summarise,
    unit_never_registers,
    unit_sudden_drop,
    validate_events,
    write_report,
)

D = dt.date.fromisoformat


def run(fx: RuleFixture, df: pl.DataFrame | str) -> ValidationReport:
    opts: dict[str, Any] = dict(fx.options)
    if "as_of" in opts:
        opts["as_of"] = D(opts["as_of"])
    if isinstance(df, str):  # the text of a CSV file
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "extract.csv"
            path.write_text(df, encoding="utf-8")
            return validate(path, **opts)
    return validate(df, **opts)


def fired(report: ValidationReport) -> set[str]:
    return set(report.findings["rule_id"].to_list())


# --- one fixture per rule ----------------------------------------------------------------------


def test_every_rule_has_a_fixture() -> None:
    assert set(FIXTURES) == set(rules())


@pytest.mark.parametrize("rule_id", list(FIXTURES))
def test_fixture_triggers_rule(rule_id: str) -> None:
    report = run(FIXTURES[rule_id], FIXTURES[rule_id].trigger)
    assert rule_id in fired(report)
    summary = {s.rule_id: s for s in report.summary}[rule_id]
    assert summary.count >= 1
    assert summary.severity == rules()[rule_id].severity
    assert summary.npr_error == rules()[rule_id].npr_error


@pytest.mark.parametrize("rule_id", list(FIXTURES))
def test_near_miss_does_not_trigger_rule(rule_id: str) -> None:
    report = run(FIXTURES[rule_id], FIXTURES[rule_id].near_miss)
    assert rule_id not in fired(report)


def test_clean_pathway_has_no_findings() -> None:
    report = validate(CLEAN)
    assert report.findings.height == 0
    assert report.exit_code == 0
    assert report.passed


def test_register_error_numbers_are_kept() -> None:
    # C-I without M on row 2: the register's error 208, in the findings and the summary.
    report = run(
        FIXTURES["decision_without_attendance"], FIXTURES["decision_without_attendance"].trigger
    )
    row = report.findings.filter(pl.col("rule_id") == "decision_without_attendance").row(
        0, named=True
    )
    assert (row["npr_error"], row["source_row"], row["severity"]) == (208, 2, "error")


# --- validate-stage rules, directly --------------------------------------------------------------


def pathways(**cols: list[Any]) -> pl.LazyFrame:
    return pl.LazyFrame(cols)


def test_open_too_long_limit_is_strict_and_open_only() -> None:
    # As of 2023-01-01: a opened 2020-01-01 = 1096 days (flagged); b 2020-01-02 = 1095 (not);
    # c closed; d superseded.
    p = pathways(
        pathway_key=["a", "b", "c", "d"],
        patient_id=["p1", "p2", "p3", "p4"],
        status=["open", "open", "closed", "superseded"],
        start_date=[D("2020-01-01"), D("2020-01-02"), D("2019-01-01"), D("2019-01-01")],
    )
    f = open_too_long(p, as_of=D("2023-01-01"), limit_days=1095).collect()
    assert f["pathway_key"].to_list() == ["a"]
    assert f["message"][0] == "pathway open for 1096 days on 2023-01-01 (limit 1095 days)"
    assert open_too_long(p, as_of=D("2023-01-01"), limit_days=1094).collect().height == 2


def test_open_too_long_points_at_the_start_row() -> None:
    fx = FIXTURES["open_too_long"]
    report = run(fx, fx.trigger)
    row = report.findings.filter(pl.col("rule_id") == "open_too_long").row(0, named=True)
    assert (row["source_row"], row["pathway_key"]) == (1, "p1|u1|D11|2020-01-01")
    assert row["source_file"] == "<dataframe>"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", None]),
            st.sampled_from(["u1", "u2"]),
            st.sampled_from(["A", "M"]),
            st.integers(1, 4),
            st.sampled_from(["a.csv", "b.csv"]),
        ),
        max_size=30,
    ),
    st.data(),
)
def test_start_rows_of_some_pathways_are_those_of_all(
    rows: list[tuple[str | None, str, str, int, str]], data: st.DataObject
) -> None:
    # Restricting to a few pathways (open_too_long's flagged ones) groups only their starts,
    # and gives for each exactly what grouping every start gives: the first row of a
    # duplicated start, null keys matched as equal.
    ev = pl.LazyFrame(
        {
            "patient_id": [r[0] for r in rows],
            "institution_id": [r[1] for r in rows],
            "pathway_type": ["D11"] * len(rows),
            "event": [r[2] for r in rows],
            "event_date": [dt.date(2023, 1, r[3]) for r in rows],
            "source_file": [r[4] for r in rows],
            "source_row": list(range(len(rows), 0, -1)),
        },
        schema_overrides={"source_row": pl.UInt64},
    )
    keys = ["patient_id", "institution_id", "pathway_type", "start_date"]
    every = start_rows(ev).collect()
    wanted = every.select(keys).sample(
        n=data.draw(st.integers(0, every.height)), seed=data.draw(st.integers(0, 9))
    )
    some = start_rows(ev, of=wanted).collect().sort(keys, nulls_last=True)
    expected = every.join(wanted, on=keys, how="semi", nulls_equal=True)
    assert some.to_dicts() == expected.sort(keys, nulls_last=True).to_dicts()


def test_unit_never_registers_counts_closed_treatment_pathways_only() -> None:
    # u1: 2 closed C-P pathways, neither with U-U, one with E -> one finding (U-U).
    # u2: 2 closed pathways but one is C-I (no treatment decision) -> 1 < 2, not judged.
    # u3: 2 open C-T pathways -> not judged.
    p = pathways(
        institution_id=["u1", "u1", "u2", "u2", "u3", "u3"],
        status=["closed", "closed", "closed", "closed", "open", "open"],
        final_decision_outcome=["P", "T", "P", "I", "T", "T"],
        plan_date=[None] * 6,
        evaluation_count=[0, 2, 0, 0, 0, 0],
    ).with_columns(pl.col("plan_date").cast(pl.Date))
    f = unit_never_registers(p, min_pathways=2).collect()
    assert f.select("value", "column").rows() == [("u1", "institution_id")]
    assert "treatment plan" in f["message"][0]
    assert unit_never_registers(p, min_pathways=3).collect().height == 0


def test_unit_counts_of_parts_add_up_to_the_whole() -> None:
    # Split the pathways as patient partitions would (here: alternate rows); u1 has 1 closed C-P
    # pathway in each half, so only the summed counts (2) reach min_pathways=2.
    from pakkeforlop.validate.checks import (
        unit_never_registers_from_counts,
        unit_treatment_counts,
    )

    p = pathways(
        institution_id=["u1", "u1", "u2", "u2"],
        status=["closed"] * 4,
        final_decision_outcome=["P", "T", "P", "P"],
        plan_date=[None, None, D("2020-01-01"), None],
        evaluation_count=[0, 0, 1, 1],
    ).with_columns(pl.col("plan_date").cast(pl.Date))
    halves = [p.gather_every(2), p.gather_every(2, offset=1)]
    counts = pl.concat([unit_treatment_counts(h).collect() for h in halves])
    whole = unit_never_registers(p, min_pathways=2).collect()
    parts = unit_never_registers_from_counts(counts, min_pathways=2).collect()
    assert parts.equals(whole)
    # u1: no plan and no evaluation in 2 pathways; u2 has both
    assert sorted(whole["value"].to_list()) == ["u1", "u1"]


@pytest.mark.parametrize(
    ("counts", "as_of", "expected"),
    [
        # 100 -> 29 is a 71 % fall (flagged); 100 -> 30 exactly 70 % (not).
        ((100, 29), "2021-02-28", ["2021-02"]),
        ((100, 30), "2021-02-28", []),
        # The earlier month must hold at least min_count (50): 49 -> 0 is not judged.
        ((49, 0), "2021-02-28", []),
        # A unit that stops registering: the empty months count as zero; one drop only.
        ((60, 0, 0), "2021-03-31", ["2021-02"]),
        # The month holding as_of is incomplete (2021-02-27 is not its last day): not judged.
        ((100, 5), "2021-02-27", []),
    ],
)
def test_unit_sudden_drop(counts: tuple[int, ...], as_of: str, expected: list[str]) -> None:
    dates = [
        dt.date(2021, month, 1 + i % 27)
        for month, n in enumerate(counts, start=1)
        for i in range(n)
    ]
    ev = pl.LazyFrame({"institution_id": ["u1"] * len(dates), "event_date": dates})
    f = unit_sudden_drop(ev, as_of=D(as_of), drop_share=0.7, min_count=50).collect()
    months = [m.split(" in ")[1].split(",")[0] for m in f["message"]]
    assert months == expected


def test_unit_sudden_drop_ignores_dates_after_as_of() -> None:
    # 60 in January, 2 in February, but 70 rows dated after as_of in February do not count.
    dates = [D("2021-01-05")] * 60 + [D("2021-02-05")] * 2 + [D("2021-03-05")] * 70
    ev = pl.LazyFrame({"institution_id": ["u1"] * len(dates), "event_date": dates})
    f = unit_sudden_drop(ev, as_of=D("2021-02-28"), min_count=50).collect()
    assert f.height == 1


def test_last_complete_month() -> None:
    assert last_complete_month(D("2020-12-31")) == D("2020-12-01")
    assert last_complete_month(D("2020-02-29")) == D("2020-02-01")
    assert last_complete_month(D("2020-02-28")) == D("2020-01-01")


# --- summary, rates and exit decision ------------------------------------------------------------


def findings_of(*items: tuple[str, str | None, int | None]) -> pl.DataFrame:
    """Findings of (rule, file, row)."""
    parts = [
        finding_rows(
            pl.LazyFrame(
                {"source_file": [f], "source_row": [r], "patient_id": ["p9"]},
                schema={"source_file": pl.String, "source_row": pl.UInt64, "patient_id": pl.String},
            ),
            rule_id,
            pl.lit(f"{rule_id} for p9"),
        )
        for rule_id, f, r in items
    ]
    return pl.concat([empty_findings().lazy(), *parts]).collect()


def test_summary_counts_rows_and_examples() -> None:
    # bad_date on rows 9, 3, 3 (twice on row 3): count 3, rows 2, share 2/20; examples in order.
    f = findings_of(("bad_date", "x", 9), ("bad_date", "x", 3), ("bad_date", "x", 3))
    s = {r.rule_id: r for r in summarise(f, rows_read=20)}
    assert (s["bad_date"].count, s["bad_date"].rows, s["bad_date"].share) == (3, 2, 0.1)
    assert s["bad_date"].examples == ("x:3", "x:3", "x:9")
    assert [r.rule_id for r in summarise(f, rows_read=20)] == list(rules())


def test_summary_keeps_unknown_rules() -> None:
    f = findings_of(("bad_date", "x", 1)).with_columns(rule_id=pl.lit("local_rule"))
    s = summarise(f, rows_read=1)
    assert s[-1].rule_id == "local_rule"
    assert s[-1].stage == "unknown"


def test_error_rate_counts_distinct_rows_with_errors() -> None:
    # Errors on rows 1, 1, 2; a warning on row 3; 10 rows read -> error rate 2/10.
    f = findings_of(
        ("bad_date", "x", 1),
        ("invalid_code", "x", 1),
        ("bad_date", "x", 2),
        ("bad_value", "x", 3),
    )
    r = build_report(f, rows_read=10)
    assert (r.rows_with_errors, r.error_rate, r.failing_findings) == (2, 0.2, 3)
    assert r.counts == {"info": 0, "warning": 1, "error": 3}
    assert r.exit_code == 1
    assert build_report(f, rows_read=10, max_error_rate=0.2).exit_code == 0
    assert build_report(f, rows_read=10, max_error_rate=0.19).exit_code == 1
    # --fail-on warning: rows 1, 2, 3 fail -> rate 0.3
    w = build_report(f, rows_read=10, fail_on="warning", max_error_rate=0.2)
    assert (w.failing_rate, w.exit_code) == (0.3, 1)


def test_warnings_and_info_do_not_fail_by_default() -> None:
    f = findings_of(("bad_value", "x", 3), ("duplicate_registration", "x", 4))
    assert build_report(f, rows_read=10).exit_code == 0
    assert build_report(f, rows_read=10, fail_on="warning").exit_code == 1
    info_only = findings_of(("duplicate_registration", "x", 4))
    assert build_report(info_only, rows_read=10, fail_on="warning").exit_code == 0


def test_unit_findings_fail_but_do_not_raise_the_rate() -> None:
    f = findings_of(("unit_sudden_drop", None, None))
    r = build_report(f, rows_read=10, fail_on="warning")
    assert (r.failing_rate, r.exit_code) == (0.0, 1)
    assert build_report(f, rows_read=10, fail_on="warning", max_error_rate=0).exit_code == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"fail_on": "info"}, {"max_error_rate": 1.5}, {"max_error_rate": -0.1}],
)
def test_invalid_decision_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        build_report(empty_findings(), rows_read=1, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"open_limit_days": 0},
        {"unit_drop_share": 0},
        {"unit_drop_share": 1.2},
        {"unit_min_pathways": 0},
        {"unit_drop_min_count": 0},
    ],
)
def test_invalid_thresholds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        validate(CLEAN, **kwargs)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["bad_date", "invalid_code", "code_outside_validity", "code_unsure"]),
            st.integers(1, 30),
        ),
        max_size=40,
    ),
    st.floats(0, 1),
)
def test_report_invariants(items: list[tuple[str, int]], tolerance: float) -> None:
    f = findings_of(*((rule_id, "x", row) for rule_id, row in items))
    r = build_report(f, rows_read=30, max_error_rate=tolerance)
    # Counts add up; rates are shares; rows with errors never exceed the rows with any finding.
    assert sum(s.count for s in r.summary) == len(items) == sum(r.counts.values())
    assert 0 <= r.error_rate == r.failing_rate <= 1
    assert r.rows_with_errors <= len({row for _, row in items})
    assert r.passed == (r.failing_findings == 0 or r.failing_rate <= tolerance)
    # Row order of the findings does not change the report.
    shuffled = build_report(f.reverse(), rows_read=30, max_error_rate=tolerance)
    assert shuffled.summary == r.summary
    assert shuffled.findings.equals(r.findings)


def test_validate_events_on_frames_a_notebook_has() -> None:
    from pakkeforlop.io.read import read_extract

    fx = FIXTURES["decision_without_attendance"]
    ex = read_extract(fx.trigger)
    report = validate_events(ex.events, ex.findings, rows_read=ex.info.rows_read)
    assert fired(report) == {"decision_without_attendance"}
    assert report.rows_read == 2


# --- output --------------------------------------------------------------------------------------


def report_with_ids() -> ValidationReport:
    fx = FIXTURES["decision_without_attendance"]
    return validate(
        pl.concat(
            [
                fx.trigger,
                FIXTURES["superseded"].trigger.with_columns(patient_id=pl.lit("p2")),
            ]
        )
    )


def test_mask_ids_hides_patients_everywhere() -> None:
    report = report_with_ids()
    masked = mask_ids(report.findings).collect()
    text = masked.write_csv()
    assert "p1" not in text and "p2" not in text
    assert masked["pathway_key"].drop_nulls().str.starts_with("***|").all()
    assert masked.height == report.findings.height


def test_findings_file_columns_and_order() -> None:
    f = findings_of(("bad_date", "x", 9), ("invalid_code", "x", 3))
    out = findings_file(f).collect()
    assert tuple(out.columns) == FINDINGS_FILE_COLUMNS
    assert out["row"].to_list() == [3, 9]


def test_junit_one_case_per_rule() -> None:
    report = report_with_ids()
    root = ET.fromstring(junit_xml(report, show_ids=False))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(rules())
    assert root.get("tests") == str(len(rules()))
    failing = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failing == {"decision_without_attendance (NPR 208)"}
    assert root.get("failures") == "1"
    # The warning (below --fail-on error) is reported but passes.
    outside = next(c for c in cases if c.get("name") == "superseded")
    assert outside.find("system-out") is not None
    assert "p1" not in junit_xml(report, show_ids=False)
    assert "p1|u1|D11" in junit_xml(report, show_ids=True)


def test_junit_caps_listed_findings() -> None:
    f = findings_of(*(("bad_date", "x", n) for n in range(1, 8)))
    r = build_report(f, rows_read=10)
    failure = ET.fromstring(junit_xml(r, max_findings=3)).find(".//failure")
    assert failure is not None and failure.text is not None
    assert failure.text.count("\n") == 3
    assert "and 4 more" in failure.text


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".csv", None), (".json", None), (".xml", None), (".parquet", None), (".out", "csv")],
)
def test_write_report_round_trips(tmp_path: Path, suffix: str, fmt: str | None) -> None:
    report = report_with_ids()
    path = write_report(report, tmp_path / f"findings{suffix}", fmt=fmt)
    kind = report_format(path, fmt)
    n = report.findings.height
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    # patient ids are masked unless asked for
    assert "p1|" not in path.read_text(encoding="utf-8", errors="replace")
    shown = write_report(report, tmp_path / f"shown{suffix}", fmt=fmt, show_ids=True)
    if kind == "csv":
        back = pl.read_csv(path)
        assert back.height == n and tuple(back.columns) == FINDINGS_FILE_COLUMNS
        assert set(back["patient_id"].to_list()) == {"***"}
        assert "p1" in pl.read_csv(shown)["patient_id"].to_list()
    elif kind == "parquet":
        assert pl.read_parquet(path).height == n
    elif kind == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        assert len(data["findings"]) == n
        assert data["report"]["exit_code"] == 1
    else:
        assert ET.parse(path).getroot().tag == "testsuites"


def test_report_format_rejects_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown report format"):
        report_format(tmp_path / "x.txt")


def test_findings_conform_to_schema() -> None:
    report = report_with_ids()
    assert report.findings.schema == FINDINGS_SCHEMA
    assert "findings" not in report.model_dump()


# --- recall and precision against the generator's ground truth -----------------------------------


def synthetic_report(
    tmp_path: Path, *, error_rate: float, name: str = "synth.parquet", dialect: str = "canonical"
) -> tuple[ValidationReport, pl.DataFrame]:
    from pakkeforlop.synth.write import errors_path_for, write_synthetic

    path = tmp_path / name
    write_synthetic(path, 3000, seed=11, error_rate=error_rate, dialect=dialect)  # type: ignore[arg-type]
    truth = (
        pl.read_csv(errors_path_for(path), schema_overrides={"source_row": pl.UInt64})
        if error_rate > 0
        else pl.DataFrame(schema={"source_row": pl.UInt64, "rule_id": pl.String})
    )
    return validate(path, as_of=D("2024-12-31")), truth


@pytest.mark.parametrize(
    ("name", "dialect"), [("synth.parquet", "canonical"), ("synth.csv", "npr")]
)
def test_every_injected_error_is_found(tmp_path: Path, name: str, dialect: str) -> None:
    report, truth = synthetic_report(tmp_path, error_rate=0.03, name=name, dialect=dialect)
    assert truth.height > 100
    assert truth["rule_id"].n_unique() >= 10  # most kinds of injected error are present
    found = report.findings.select("source_row", "rule_id").unique()
    missed = truth.join(found, on=["source_row", "rule_id"], how="anti")
    assert missed.height == 0, missed.head(10)  # recall 100 %
    # Precision: every error-level finding is an injected error.
    errors = report.findings.filter(pl.col("severity") == "error")
    extra = errors.join(truth, on=["source_row", "rule_id"], how="anti")
    assert extra.height == 0, extra.head(10)
    assert report.exit_code == 1


def test_clean_synthetic_data_has_no_error_findings(tmp_path: Path) -> None:
    report, _ = synthetic_report(tmp_path, error_rate=0.0)
    assert report.counts["error"] == 0
    assert report.rows_with_errors == 0
    assert report.exit_code == 0


# --- JUnit against the JUnit schema --------------------------------------------------------------

JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"


def _junit_schema() -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(JUNIT_XSD)))


def test_junit_validates_against_the_junit_schema() -> None:
    from lxml import etree

    schema = _junit_schema()
    # a report with failures (an error) and passes with output (a warning), and a clean one
    for report in (report_with_ids(), validate(FIXTURES["superseded"].near_miss)):
        for show_ids in (False, True):
            document = etree.fromstring(junit_xml(report, show_ids=show_ids).encode("utf-8"))
            assert schema.validate(document), schema.error_log
    # the schema is strict: what the Jenkins reader rejects is rejected here too
    broken = etree.fromstring(junit_xml(report_with_ids()).encode("utf-8"))
    broken.set("skipped", "0")
    assert not schema.validate(broken)
    moved = etree.fromstring(junit_xml(report_with_ids()).encode("utf-8"))
    moved.insert(0, etree.Element("properties"))
    assert not schema.validate(moved)
