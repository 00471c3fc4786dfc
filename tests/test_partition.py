"""Processing an extract partition by partition gives exactly the in-memory indicator table.

Covers the partial results (exact histogram quantiles, combining, refusing mismatched parts),
duplicate collapsing per partition, the partition files and ``indicators --partitions``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pakkeforlop import build_pathways, compute_indicators, read_extract
from pakkeforlop.errors import ConfigurationError, ExtractError
from pakkeforlop.indicators import IndicatorTable, combine_partials, compute_partials
from pakkeforlop.indicators.partials import histogram_quantiles, partial_schema
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.indicators.testing import pathway_table
from pakkeforlop.io.read import collapse_duplicates, scan_extract
from pakkeforlop.partition import (
    combine,
    estimated_rows,
    partition_extract,
    run_partition,
    suggest_partitions,
)
from pakkeforlop.pipeline import run_indicators
from pakkeforlop.synth import write_synthetic
from pakkeforlop_cli.main import app

D = dt.date
REF = D(2023, 12, 31)

# --- exact quantiles from histograms -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(-5, 400))),
        min_size=1,
        max_size=80,
    )
)
def test_histogram_quantiles_equal_polars(rows: list[tuple[int, int | None]]) -> None:
    raw = pl.DataFrame(rows, schema={"cell": pl.Int64, "days": pl.Int32}, orient="row")
    qs = {"median": 0.5, "p75": 0.75, "p90": 0.9, "p10": 0.1, "p0": 0.0, "p100": 1.0}
    # what the engine computed on the raw days: median() and quantile(q, "linear") per group
    expected = raw.group_by("cell").agg(
        pl.col("days").median().alias("median"),
        *(pl.col("days").quantile(q, "linear").alias(k) for k, q in qs.items() if k != "median"),
    )
    hist = raw.group_by("cell", "days").agg(pl.len().alias("count"))
    got = histogram_quantiles(hist, qs).collect()
    joined = expected.join(got, on="cell", how="left", suffix="_h")
    for k in qs:  # bit for bit, nulls (cells without a value) included
        assert joined[k].eq_missing(joined[f"{k}_h"]).all(), joined.select("cell", k, f"{k}_h")


def test_histogram_quantiles_hand_checked() -> None:
    # cell 7 holds 1, 2, 2, 9 and one null: polars sorts the null first, so h = 3 * q + 1;
    # median: h = 2.5 -> between positions 2 and 3 (values 2 and 2) = 2.0; p75: h = 3.25 ->
    # 2 + 0.25 * (9 - 2) = 3.75.
    hist = pl.DataFrame(
        {"cell": [7, 7, 7, 7], "days": [2, 9, None, 1], "count": [2, 1, 1, 1]},
        schema_overrides={"cell": pl.UInt32},
    )
    out = histogram_quantiles(hist, {"median": 0.5, "p75": 0.75}).collect()
    assert out.rows() == [(7, 2.0, 3.75)]
    assert out.schema["cell"] == pl.UInt32


# --- partials: combining ------------------------------------------------------------------------


def _path(key: str, m: int, c: int, *, region: str | None = "Vest") -> dict[str, object]:
    return {
        "pathway_key": key,
        "patient_id": key,
        "pathway_type": "D11",
        "health_region": region,
        "start_date": D(2023, 1, 2),
        "first_attendance_date": D(2023, 1, m),
        "final_decision_date": D(2023, 1, c),
        "final_decision_outcome": "P",
    }


PARTS = [
    pathway_table([_path("a", 2, 5), _path("b", 2, 30, region=None)]),
    pathway_table([_path("c", 3, 20, region="Nord"), _path("d", 3, 28)]),
]


def test_partials_of_parts_combine_to_the_whole() -> None:
    # assessment_days: 3, 28, 17, 25 days; overall median (17 + 25) / 2 = 21; Vest: 3 and 25
    by = "health_region"
    whole = compute_indicators(pl.concat(PARTS), by=by, reference_date=REF, suppress=False)
    partials = [compute_partials(p, by=by, reference_date=REF) for p in PARTS]
    out = combine_partials(partials, by=by, suppress=False)
    assert_frame_equal(out, whole, check_exact=True)
    assert out.metadata == whole.metadata
    days = out.filter(indicator_id="assessment_days").select(by, "denominator", "median_days")
    assert days.rows() == [
        (None, 4, 21.0),
        ("Nord", 1, 17.0),
        ("Vest", 2, 14.0),
        ("unknown", 1, 28.0),
    ]
    # the same with suppression: both paths hide the same cells
    suppressed = combine_partials(partials, by=by)
    assert_frame_equal(suppressed, compute_indicators(pl.concat(PARTS), by=by, reference_date=REF))


def test_partials_have_the_documented_layout() -> None:
    part = compute_partials(PARTS[0], by="health_region", reference_date=REF)
    assert part.schema == partial_schema(["health_region"])
    summary = part.filter(pl.col("indicator_id").is_null())
    assert summary.select("denominator", "reference_date").rows() == [(2, REF)]
    days = part.filter(indicator_id="assessment_days").sort("days")
    # a histogram: one row per stratum value and day; the missing region stays null here
    assert days.select("health_region", "days", "denominator").rows() == [
        ("Vest", 3, 1),
        (None, 28, 1),
    ]


def test_an_empty_part_adds_nothing() -> None:
    empty = compute_partials(PARTS[0].clear(), by="sex", reference_date=REF)
    assert empty.filter(pl.col("indicator_id").is_not_null()).height == 0
    full = compute_partials(PARTS[1], by="sex", reference_date=REF)
    with_empty = combine_partials([empty, full, empty], by="sex")
    assert_frame_equal(with_empty, combine_partials([full], by="sex"), check_exact=True)
    alone = combine_partials([empty], by="sex")
    assert alone.height == 0 and alone.metadata.pathway_count == 0
    assert combine_partials([], by="sex").height == 0


def test_combine_refuses_partials_of_other_settings() -> None:
    a = compute_partials(PARTS[0], reference_date=REF)
    b = compute_partials(PARTS[1], reference_date=D(2024, 1, 1))
    with pytest.raises(ConfigurationError, match="different reference dates"):
        combine_partials([a, b])
    yearly = compute_partials(PARTS[1], period="year", reference_date=REF)
    with pytest.raises(ConfigurationError, match="period 'year' instead of 'tertial'"):
        combine_partials([a, yearly])
    with pytest.raises(ConfigurationError, match="other strata"):
        combine_partials([a], by="sex")


def test_compute_indicators_is_the_combination_of_one_partial() -> None:
    # the default reference date (the table's latest date) travels in the summary row
    table = pl.concat(PARTS)
    whole = compute_indicators(table, suppress=False)
    assert isinstance(whole, IndicatorTable)
    once = combine_partials([compute_partials(table)], suppress=False)
    assert_frame_equal(once, whole, check_exact=True)
    assert once.metadata.reference_date == D(2023, 1, 30)


# --- duplicates per partition -------------------------------------------------------------------

# p1 has an exact duplicate (rows 1 and 3) and p2 one across two files (row 2 of a, row 1 of b).
RAW_A = pl.DataFrame(
    {
        "NPRId": ["p1", "p2", "p1", "p3"],
        "institusjonId": ["974"] * 4,
        "dato": ["02.01.2024", "03.01.2024", "02.01.2024", "04.01.2024"],
        "kode": ["D11A", "D11A", "D11A", "D12A"],
    }
)
RAW_B = pl.DataFrame(
    {"NPRId": ["p2"], "institusjonId": ["974"], "dato": ["03.01.2024"], "kode": ["D11A"]}
)


def _two_files(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    RAW_A.write_parquet(paths[0])
    RAW_B.write_parquet(paths[1])
    return paths


def test_duplicates_collapse_per_patient_as_on_the_whole(tmp_path: Path) -> None:
    paths = _two_files(tmp_path)
    whole = read_extract(paths)
    scanned = scan_extract(paths, duplicates="keep")
    events = scanned.events.collect()
    assert events.height == 5  # nothing collapsed yet
    parts = [
        collapse_duplicates(events.filter(pl.col("patient_id").is_in(ids)), scanned.info.sources)
        for ids in (["p1"], ["p2", "p3"])
    ]
    kept = pl.concat([k.collect() for k, _ in parts]).sort("source_file", "source_row")
    found = pl.concat([f.collect() for _, f in parts]).sort("source_file", "source_row")
    assert_frame_equal(kept, whole.events.sort("source_file", "source_row"))
    assert_frame_equal(found, whole.findings.sort("source_file", "source_row"))
    # the later row is dropped and the finding names the kept one in the user's file
    assert found.select("source_row", "rule_id").rows() == [
        (3, "duplicate_registration"),
        (1, "duplicate_registration"),
    ]
    assert f"{paths[0]} row 2" in found["message"][1]


def test_collapse_refuses_a_source_listed_twice() -> None:
    with pytest.raises(ExtractError, match="listed twice"):
        collapse_duplicates(scan_extract(RAW_A).events, ["x", "x"])


def test_partition_files_hold_whole_patients_with_source_rows(tmp_path: Path) -> None:
    paths = _two_files(tmp_path)
    plan = partition_extract(paths, tmp_path / "parts", 3)
    assert plan.info.rows_read == 5 and plan.reference_date == D(2024, 1, 4)
    parts = [
        pl.read_parquet(plan.files(i)).with_columns(pl.lit(i).alias("part"))
        for i in range(3)
        if plan.files(i)
    ]
    rows = pl.concat(parts)
    assert rows.select("source_file", "source_row").sort(pl.all()).rows() == sorted(
        [(str(paths[0]), r) for r in (1, 2, 3, 4)] + [(str(paths[1]), 1)]
    )
    assert rows.group_by("patient_id").agg(pl.col("part").n_unique())["part"].max() == 1
    results = [run_partition(plan, i, keep_findings=True) for i in range(3)]
    assert sum(r.duplicates_collapsed for r in results) == 2
    duplicates = pl.concat([r.findings for r in results]).filter(rule_id="duplicate_registration")
    assert sorted(duplicates["source_row"].to_list()) == [1, 3]


def test_partition_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="n_partitions must be 1 to 128"):
        partition_extract(RAW_A, tmp_path, 0)
    path = tmp_path / "a.parquet"
    RAW_A.write_parquet(path)
    with pytest.raises(ConfigurationError, match="listed twice"):
        partition_extract([path, path], tmp_path / "p", 2)
    plan = partition_extract(path, tmp_path / "p", 2)
    with pytest.raises(ConfigurationError, match="partition 2 does not exist"):
        run_partition(plan, 2)
    with pytest.raises(ConfigurationError, match="exactly once"):
        combine([run_partition(plan, 0)], plan)
    with pytest.raises(ConfigurationError, match="unknown period"):
        run_indicators(path, indicators=IndicatorSettings(period="week"), partitions=2)


# --- a mid-size synthetic extract, end to end ---------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "extract.parquet"
    # about 21,000 registrations, 1 in 50 with an injected error (duplicates among them)
    write_synthetic(path, 3000, seed=11, error_rate=0.02)
    return path


def _in_memory(path: Path, **options: object) -> IndicatorTable:
    """The stages called one by one, as a notebook would, in memory."""
    read = read_extract(path)
    timeline = build_pathways(read.events)
    findings = pl.concat([read.findings.lazy(), timeline.findings], how="diagonal_relaxed")
    return compute_indicators(
        timeline.pathways, input_rows=read.info.rows_read, findings=findings, **options
    )


OPTIONS: list[dict[str, object]] = [
    {"by": "pathway_type"},
    {"by": "health_region,sex,age_group", "period": "year", "suppress": False},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_partitioned_equals_in_memory(synthetic: Path, options: dict[str, object]) -> None:
    by_hand = _in_memory(synthetic, **options)
    settings = IndicatorSettings(**options)  # type: ignore[arg-type]
    whole = run_indicators(synthetic, indicators=settings, partitions=None)
    assert read_extract(synthetic).info.duplicates_collapsed  # the case is exercised
    assert whole.filter(pl.col("median_days").is_not_null()).height > 0
    # the notebook's stages, without a reference date given, make the same table
    assert_frame_equal(by_hand, whole, check_exact=True)
    summary = {"rows_usable", "rows_excluded", "duplicates_collapsed"}
    assert by_hand.metadata == whole.metadata.model_copy(
        update={
            k: type(whole.metadata).model_fields[k].get_default(call_default_factory=True)
            for k in summary
        }
    )
    for n in (1, 3, 7):
        part = run_indicators(synthetic, indicators=settings, partitions=n)
        assert_frame_equal(part, whole, check_exact=True)
        assert part.metadata == whole.metadata


def test_cli_partitions_give_the_same_files(synthetic: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for extra in ([], ["--partitions", "4"]):
        out = tmp_path / f"out{len(extra)}.csv"
        result = runner.invoke(app, ["indicators", str(synthetic), "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        outputs.append(out)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    metadata = [json.loads(Path(f"{o}.metadata.json").read_text(encoding="utf-8")) for o in outputs]
    assert metadata[0] == metadata[1]
    bad = runner.invoke(app, ["indicators", str(synthetic), "--partitions", "0"])
    assert bad.exit_code == 2


def test_large_extracts_are_partitioned_by_default(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = pl.scan_parquet(synthetic).select(pl.len()).collect().item()
    assert estimated_rows(synthetic) == rows  # Parquet: exact, from metadata
    assert suggest_partitions(synthetic) == 1  # a small extract runs in one piece
    assert (
        suggest_partitions(synthetic, rows_per_partition=rows // 4 + 1, in_one_piece=rows - 1) == 4
    )
    # splitting costs a pass over the source: not done up to the in-one-piece size
    assert suggest_partitions(synthetic, rows_per_partition=rows // 4 + 1, in_one_piece=rows) == 1
    csv = tmp_path / "x.csv"
    csv.write_text("a\n" * 600, encoding="utf-8")
    assert estimated_rows(csv) == 1200 // 60  # text files: from their size
    # the CLI asks suggest_partitions when --partitions is not given
    import pakkeforlop.pipeline as command

    calls: list[object] = []

    def three(source: object) -> int:
        calls.append(source)
        return 3

    monkeypatch.setattr(command, "suggest_partitions", three)
    runner = CliRunner()
    auto, plain = tmp_path / "auto.csv", tmp_path / "plain.csv"
    assert runner.invoke(app, ["indicators", str(synthetic), "-o", str(auto)]).exit_code == 0
    assert len(calls) == 1
    monkeypatch.setattr(command, "suggest_partitions", lambda _: 1)
    assert runner.invoke(app, ["indicators", str(synthetic), "-o", str(plain)]).exit_code == 0
    assert auto.read_bytes() == plain.read_bytes()


def test_partitions_without_partition_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # polars 1.x has no pl.PartitionBy: one filtered sink per partition gives the same files
    paths = _two_files(tmp_path)
    with_key = partition_extract(paths, tmp_path / "a", 3)
    monkeypatch.delattr(pl, "PartitionBy")
    filtered = partition_extract(paths, tmp_path / "b", 3)
    for i in range(3):
        rows = [
            pl.concat([pl.read_parquet(f) for f in plan.files(i)], how="vertical")
            if plan.files(i)
            else pl.DataFrame()
            for plan in (with_key, filtered)
        ]
        assert sorted(rows[0].rows()) == sorted(rows[1].rows())


def test_the_partition_pass_finds_what_the_one_piece_read_finds(tmp_path: Path) -> None:
    # one pass writes the partitions; the read findings are then built for the flagged rows
    # only: they, and the excluded rows, must be exactly those of the one-piece read
    src = tmp_path / "errors.csv"
    write_synthetic(src, 300, seed=3, fmt="csv", dialect="npr", error_rate=0.05)
    whole = read_extract(src)
    plan = partition_extract(src, tmp_path / "parts", 3)
    order = ["source_file", "source_row", "rule_id", "column"]
    found = pl.read_parquet(plan.read_findings).sort(order)
    expected = whole.findings.filter(pl.col("rule_id") != "duplicate_registration").sort(order)
    assert found.height > 20
    assert_frame_equal(found, expected)
    excluded = pl.read_parquet(plan.excluded).sort("source_file", "source_row")
    assert excluded.height > 0
    assert_frame_equal(excluded, whole.excluded.sort("source_file", "source_row"))
    # the excluded rows' partition is folded into the excluded file, not left as a partition
    assert not list((tmp_path / "parts" / "events").glob("part-0003-*.parquet"))
