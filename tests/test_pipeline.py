"""One pipeline, one row contract, one reference date (domain/extract-and-timeline.md §1).

* Which rows feed the timeline: a hand-made fixture per exclusion reason, and the identity
  rows read = usable + excluded (by reason) + duplicates collapsed on synthetic data with errors.
* ``--as-of D`` is a cut: the table equals that of the extract cut to rows dated on or before D.
* Every path (CLI, library, partitions, report) gives the same cells and metadata.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner
from validate_fixtures import CLEAN_STEPS, pathway, raw

from pakkeforlop import (
    IndicatorSettings,
    ReadSettings,
    build_pathways,
    compute_indicators,
    read_extract,
    run_indicators,
    validate,
)
from pakkeforlop.pipeline import prepare
from pakkeforlop.schema import EXCLUSION_REASONS
from pakkeforlop.synth import write_synthetic
from pakkeforlop_cli.main import app

D = dt.date
runner = CliRunner()


def _pathways(frame: pl.DataFrame, **read: object) -> pl.DataFrame:
    return prepare(frame, ReadSettings(**read)).pathways  # type: ignore[arg-type]


# --- which rows feed the timeline: one fixture per reason ----------------------------------------

#: An open D11 pathway with its assessment done: A, M, C-P (no evaluation yet).
OPEN_D11 = pathway(steps=(("2023-01-02", "A"), ("2023-01-09", "M"), ("2023-01-30", "CP")))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        # an unknown type with an evaluation: not a typeless E that joins the open D11
        (("p1", "u1", "2023-02-20", "D99E"), "invalid_code"),
        # an unknown event letter
        (("p1", "u1", "2023-02-20", "D11Q"), "invalid_code"),
        # a start dated before the pathways existed opens nothing (no 2018 period)
        (("p1", "u1", "2018-06-01", "D11E"), "date_before_2019"),
        # after the reference date (as_of 2023-06-30)
        (("p1", "u1", "2023-07-01", "D11E"), "date_after_reference"),
        # no patient, no institution, no date
        ((None, "u1", "2023-02-20", "D11E"), "missing_patient_id"),
        (("p1", None, "2023-02-20", "D11E"), "missing_institution_id"),
        (("p1", "u1", None, "D11E"), "missing_event_date"),
        (("p1", "u1", "2023-02-30", "D11E"), "bad_date"),
        # a code not valid for its type (extended assessment is not a D06 outcome)
        (("p1", "u1", "2023-02-20", "D06CU"), "code_invalid_for_type"),
    ],
)
def test_each_excluded_row_is_counted_and_never_used(
    row: tuple[str | None, ...], reason: str
) -> None:
    frame = raw(*OPEN_D11, row)
    ex = read_extract(frame, as_of=D(2023, 6, 30))
    assert ex.excluded["reason"].cast(pl.String).to_list() == [reason]
    assert ex.excluded["source_row"].to_list() == [4]
    assert (ex.info.rows_excluded or {})[reason] == 1
    assert ex.info.rows_usable == 3 and ex.info.rows_read == 4
    # the error finding says why
    errors = ex.findings.filter((pl.col("source_row") == 4) & (pl.col("severity") == "error"))
    assert errors.height >= 1
    # the pathway is exactly the one without the row: no evaluation, still open
    paths = _pathways(frame, as_of=D(2023, 6, 30))
    assert paths.height == 1
    assert paths.row(0, named=True)["evaluation_count"] == 0
    assert paths["status"].to_list() == ["open"]
    # and the indicators hold no period of the excluded row's date
    table = run_indicators(
        frame, ReadSettings(as_of=D(2023, 6, 30)), IndicatorSettings(suppress=False)
    )
    assert table["period"].unique().to_list() == ["2023-T1"]


def test_a_code_outside_its_validity_is_excluded() -> None:
    # D06 is in force from 2019-02-15 (domain/codes.md §2): a D06 start the day before opens nothing
    frame = raw(*pathway(ptype="D06", steps=(("2019-02-14", "A"), ("2019-02-20", "M"))))
    ex = read_extract(frame)
    assert ex.excluded["reason"].cast(pl.String).to_list() == ["code_outside_validity"]
    report = validate(frame)
    assert {"code_outside_validity", "no_start"} <= set(report.findings["rule_id"])
    assert report.rows_excluded["code_outside_validity"] == 1


def test_an_invalid_type_letter_in_the_split_layout_does_not_make_the_row_typeless() -> None:
    split = pl.DataFrame(
        {
            "NPRId": ["p1"] * 4,
            "institusjonId": ["u1"] * 4,
            "dato": ["2023-01-02", "2023-01-09", "2023-01-30", "2023-02-20"],
            "type_forlop": ["D11", None, None, "D13"],
            "hendelse": ["A", "M", "C", "E"],
            "utfall": [None, None, "P", None],
        }
    )
    ex = read_extract(split)
    assert ex.excluded["reason"].cast(pl.String).to_list() == ["invalid_code"]
    paths = build_pathways(ex.events).pathways.collect()
    assert paths["evaluation_count"].to_list() == [0]


def test_a_typeless_row_its_pathway_type_does_not_allow_is_excluded_too() -> None:
    # Split layout, type on the start only: the typeless X-M would close the D06 pathway, but
    # "ended because the patient did not attend" is not a D06 end reason (domain/codes.md §5).
    split = pl.DataFrame(
        {
            "NPRId": ["p1"] * 3,
            "institusjonId": ["u1"] * 3,
            "dato": ["2023-01-02", "2023-01-09", "2023-02-20"],
            "type_forlop": ["D06", None, None],
            "hendelse": ["A", "M", "X"],
            "utfall": [None, None, "M"],
        }
    )
    tl = build_pathways(read_extract(split).events)
    paths = tl.pathways.collect()
    assert paths["status"].to_list() == ["open"] and paths["end_date"].to_list() == [None]
    fates = tl.assignments.collect().sort("source_row")["assignment"].to_list()
    assert fates == ["assigned", "assigned", "excluded"]
    found = tl.findings.collect().filter(rule_id="code_invalid_for_type")
    assert found["source_row"].to_list() == [3] and found["pathway_key"].to_list() == [None]


# --- the conservation identity on synthetic data with errors -------------------------------------


@pytest.fixture(scope="module")
def with_errors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "extract.parquet"
    # about 14,000 registrations, 1 in 25 with an injected error (all reasons of the injector)
    write_synthetic(path, 2000, seed=21, error_rate=0.04)
    return path


def test_rows_read_are_usable_plus_excluded_plus_duplicates(with_errors: Path) -> None:
    ex = read_extract(with_errors)
    info = ex.info
    excluded = info.rows_excluded or {}
    assert list(excluded) == list(EXCLUSION_REASONS)
    assert info.rows_read == (info.rows_usable or 0) + sum(excluded.values()) + (
        info.duplicates_collapsed or 0
    )
    assert info.duplicates_collapsed and sum(excluded.values()) > 0
    assert ex.events.height == info.rows_usable and ex.excluded.height == sum(excluded.values())
    # every excluded row is reported by validate with an error, and the report counts them
    report = validate(with_errors)
    errors = report.findings.filter(pl.col("severity") == "error")
    flagged = set(errors.select("source_file", "source_row").rows())
    assert set(ex.excluded.select("source_file", "source_row").rows()) <= flagged
    assert report.rows_excluded == excluded
    assert report.conservation() == info.conservation()
    # the same counts from the partitioned paths
    parts = validate(with_errors, partitions=3)
    assert parts.rows_excluded == excluded and parts.rows_usable == info.rows_usable
    assert parts.duplicates_collapsed == info.duplicates_collapsed
    table = run_indicators(with_errors, partitions=3)
    assert table.metadata.rows_excluded == excluded
    assert table.metadata.rows_usable == info.rows_usable


def test_the_cli_run_summary_prints_the_identity(with_errors: Path, tmp_path: Path) -> None:
    info = read_extract(with_errors).info
    out = tmp_path / "t.csv"
    result = runner.invoke(app, ["indicators", str(with_errors), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert info.conservation() in result.output
    result = runner.invoke(app, ["validate", str(with_errors)])
    assert info.conservation() in result.output


# --- one reference date ------------------------------------------------------------------------


def test_compute_indicators_defaults_to_the_reference_date_of_the_pathway_table() -> None:
    # The last registration is a collaboration meeting after the last milestone: the extract's
    # reference date is that day, later than any milestone. The first evaluation of the pathway
    # (C 2023-01-30 + 42 days = 2023-03-13) is due before it, so it counts (late).
    frame = raw(*OPEN_D11, ("p1", "u1", "2023-04-02", "D11SM"))
    ex = read_extract(frame)
    assert ex.info.reference_date == D(2023, 4, 2)
    paths = build_pathways(ex.events).pathways.collect()
    assert paths["reference_date"].to_list() == [D(2023, 4, 2)]
    ids = ["first_evaluation_in_time"]
    default = compute_indicators(paths, indicators=ids, suppress=False)
    given_ = compute_indicators(paths, indicators=ids, suppress=False, reference_date=D(2023, 4, 2))
    assert default.equals(given_) and default.metadata == given_.metadata
    assert default.select("numerator", "denominator").rows() == [(0, 1)]
    cli = run_indicators(frame, indicators=IndicatorSettings(indicators=ids, suppress=False))
    assert cli.select("numerator", "denominator").rows() == [(0, 1)]


def test_every_command_takes_a_period_label_as_as_of(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    rows = [";".join(str(v) for v in r) for r in (*OPEN_D11, ("p1", "u1", "2023-09-04", "D11E"))]
    csv.write_text("\n".join(["NPRId;institusjonId;dato;kode", *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    cases = [
        ["indicators", str(csv), "--as-of", "2023-T2", "-o", f"{out}.csv"],
        ["validate", str(csv), "--as-of", "2023-T2"],
        ["timeline", str(csv), "--as-of", "2023-T2", "-o", f"{out}.parquet"],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output)
    # T2 2023 ends on 31 August: the evaluation of 4 September is left out
    assert pl.read_parquet(f"{out}.parquet")["reference_date"].to_list() == [D(2023, 8, 31)]
    assert pl.read_parquet(f"{out}.parquet")["evaluation_count"].to_list() == [0]
    meta = json.loads(Path(f"{out}.csv.metadata.json").read_text(encoding="utf-8"))
    assert meta["reference_date"] == "2023-08-31"
    assert meta["rows_excluded"]["date_after_reference"] == 1
    bad = runner.invoke(app, ["validate", str(csv), "--as-of", "2023-T4"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


# --- --as-of D is the extract cut at D -----------------------------------------------------------


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cut") / "extract.parquet"
    write_synthetic(path, 600, seed=5, error_rate=0.03)
    return path


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=st.integers(0, 6 * 365))
def test_as_of_equals_the_extract_cut_at_that_date(events_file: Path, day: int) -> None:
    as_of = D(2019, 3, 1) + dt.timedelta(days=day)
    source = pl.read_parquet(events_file)
    # the cut: the rows dated after D removed (the generator writes ISO dates; rows whose date
    # cannot be read stay: they are excluded either way)
    date = pl.col("event_date").str.to_date("%Y-%m-%d", strict=False)
    cut = source.filter(date.is_null() | (date <= as_of))
    assert cut.height < source.height or day > 5 * 365
    settings_ = IndicatorSettings(by="pathway_type", suppress=False)
    read = ReadSettings(as_of=as_of)
    whole = run_indicators(source, read, settings_)
    cut_table = run_indicators(cut, read, settings_)
    assert_frame_equal(whole, cut_table, check_exact=True)
    assert whole.metadata.reference_date == as_of
    if whole.height:
        assert whole["period_start"].max() <= as_of  # type: ignore[operator]
    # the metadata differs only in what was read
    same = {"input_rows", "rows_excluded", "findings_count", "findings_by_severity"}
    assert whole.metadata.model_dump(exclude=same) == cut_table.metadata.model_dump(exclude=same)


# --- every path, the same figures ----------------------------------------------------------------


def test_cli_library_partitions_and_report_agree(with_errors: Path, tmp_path: Path) -> None:
    settings_ = IndicatorSettings(by="pathway_type")
    library = run_indicators(with_errors, indicators=settings_)
    # the library default (one piece here) and patient partitions
    for n in (2, 5):
        parts = run_indicators(with_errors, indicators=settings_, partitions=n)
        assert_frame_equal(parts, library, check_exact=True)
        assert parts.metadata == library.metadata
    # the command line writes the same table and metadata
    out = tmp_path / "cli.parquet"
    result = runner.invoke(
        app, ["indicators", str(with_errors), "-o", str(out), "--partitions", "3"]
    )
    assert result.exit_code == 0, result.output
    assert_frame_equal(pl.read_parquet(out), pl.DataFrame(library), check_exact=True)
    meta = json.loads(pl.read_parquet_metadata(out)["pakkeforlop"])
    assert meta == json.loads(library.metadata.model_dump_json())
    # in one piece the same file, metadata byte for byte (key order included)
    one = tmp_path / "one.parquet"
    result = runner.invoke(app, ["indicators", str(with_errors), "-o", str(one)])
    assert result.exit_code == 0, result.output
    raw_meta = [pl.read_parquet_metadata(f)["pakkeforlop"] for f in (out, one)]
    assert raw_meta[0] == raw_meta[1]
    # the report's trend table by pathway type is the same table
    report_module = pytest.importorskip("pakkeforlop.report")
    report = report_module.build_report(with_errors, lang="en")
    trend = report.trends["pathway_type"]
    assert_frame_equal(pl.DataFrame(trend), pl.DataFrame(library), check_exact=True)
    assert trend.metadata == library.metadata
    assert report.validation.rows_excluded == library.metadata.rows_excluded


def test_clean_input_the_paths_agree_with_the_notebook_stages(tmp_path: Path) -> None:
    frame = raw(*pathway(steps=CLEAN_STEPS), *pathway(patient="p2", steps=CLEAN_STEPS))
    ex = read_extract(frame)
    by_hand = compute_indicators(
        build_pathways(ex.events).pathways, by="pathway_type", suppress=False
    )
    piped = run_indicators(frame, indicators=IndicatorSettings(by="pathway_type", suppress=False))
    assert_frame_equal(by_hand, piped, check_exact=True)
    assert by_hand.metadata.reference_date == piped.metadata.reference_date == D(2023, 3, 1)


def test_findings_by_severity_keep_one_key_order_whatever_the_input_order() -> None:
    paths = build_pathways(read_extract(raw(*OPEN_D11)).events).pathways
    for counts in ({"error": 1, "warning": 2, "info": 3}, {"warning": 2, "info": 3, "error": 1}):
        meta = compute_indicators(paths, findings=counts).metadata
        assert list(meta.findings_by_severity) == ["info", "warning", "error"]


# --- a local code without a start date starts with the first month the extract holds it -------

EXTENSION = Path(__file__).parent.parent / "sample_data" / "catalogue_extension.toml"


def test_a_local_code_starts_with_the_first_month_the_extract_holds_it(tmp_path: Path) -> None:
    # U-Z (somatic follow-up, sample extension, no valid_from) is first registered on 14 March
    # 2023; p1 ends in February (before the start: not a unit), p2 and p3 in March/April
    rows = [
        *pathway("p1", steps=(("2023-01-02", "A"), ("2023-01-09", "CP"), ("2023-02-10", "XG"))),
        *pathway(
            "p2",
            steps=(
                ("2023-01-02", "A"),
                ("2023-01-09", "CP"),
                ("2023-03-14", "UZ"),
                ("2023-03-20", "XG"),
            ),
        ),
        *pathway("p3", steps=(("2023-01-02", "A"), ("2023-01-09", "CP"), ("2023-04-03", "XG"))),
    ]
    frame = raw(*rows)
    read = ReadSettings(extension=EXTENSION)
    settings = IndicatorSettings(indicators="somatic_followup", suppress=False, by=())
    assert read_extract(frame, extension=EXTENSION).info.code_first_seen == {"U-Z": D(2023, 3, 1)}
    one = run_indicators(frame, read, settings)
    assert one.select("period", "numerator", "denominator").rows() == [("2023-T1", 1, 2)]
    assert (
        "2023-03-01 was taken from the data" in one.metadata.codes_not_in_force["somatic_followup"]
    )
    two = run_indicators(frame, read, settings, partitions=2, directory=tmp_path / "parts")
    assert_frame_equal(one, two)
    assert one.metadata == two.metadata


# --- the treatment start after detox is a named rule, shown in the metadata --------------------


def test_the_treatment_start_rule_is_recorded_and_shown() -> None:
    # D01: detox ends 20 Jan, an H note on 21 Jan is no treatment start, an E on 23 Jan is
    steps = (
        ("2023-01-05", "A"),
        ("2023-01-08", "M"),
        ("2023-01-12", "CT"),
        ("2023-01-20", "D"),
        ("2023-01-21", "HJ"),
        ("2023-01-23", "E"),
    )
    frame = raw(*pathway(ptype="D01", steps=steps))
    prepared = prepare(frame, ReadSettings(treatment_start="first_registration_after_detox"))
    row = prepared.pathways.row(0, named=True)
    assert row["treatment_start_date"] == D(2023, 1, 23)
    assert row["treatment_start_rule"] == "first_registration_after_detox"
    table = run_indicators(frame, indicators=IndicatorSettings(suppress=False))
    shown = table.metadata.treatment_start
    assert shown is not None
    assert shown.startswith("first_registration_after_detox: the first registration after the")
    assert "not itself D, H or X" in shown


def test_an_unknown_treatment_start_rule_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    raw(*pathway(steps=CLEAN_STEPS)).write_csv(path, separator=";")
    result = runner.invoke(app, ["indicators", str(path), "--treatment-start", "first_contact"])
    assert result.exit_code == 2
    assert "unknown treatment-start rule 'first_contact'" in result.output
    assert "first_registration_after_detox" in result.output
    assert "Traceback" not in result.output


def test_partials_built_with_different_treatment_start_rules_are_refused() -> None:
    from pakkeforlop.errors import ConfigurationError
    from pakkeforlop.indicators import combine_partials, compute_partials

    paths = prepare(raw(*pathway(steps=CLEAN_STEPS))).pathways
    other = paths.with_columns(
        pl.lit("another_rule", dtype=pl.Categorical).alias("treatment_start_rule")
    )
    parts = [compute_partials(paths), compute_partials(other)]
    with pytest.raises(ConfigurationError, match="different treatment-start rules"):
        combine_partials(parts)


def test_a_code_start_the_caller_gives_wins_for_its_code_only() -> None:
    from pakkeforlop.io.read import ReadInfo
    from pakkeforlop.pipeline import with_code_starts

    info = ReadInfo(
        sources=(),
        formats=(),
        encodings={},
        separators={},
        mappings={},
        edition="2024",
        layouts=(),
        as_of=None,
        code_first_seen={"U-Z": D(2023, 3, 1), "U-Y": D(2023, 5, 1)},
    )
    given = IndicatorSettings(code_starts={"U-Z": D(2023, 1, 1)})
    assert with_code_starts(given, info).code_starts == {"U-Z": D(2023, 1, 1), "U-Y": D(2023, 5, 1)}
