"""On clean synthetic data the timeline rebuilds exactly the generator's own pathways."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pakkeforlop import build_pathways, read_extract
from pakkeforlop.synth import generate, write_synthetic


@pytest.fixture(scope="module")
def clean() -> tuple[pl.DataFrame, pl.DataFrame]:
    ex = generate(2500, seed=11)
    return ex.events, ex.truth


def _compare(built: pl.DataFrame, truth: pl.DataFrame) -> None:
    assert built.height == truth.height
    built = built.select(truth.columns).sort("pathway_key")
    assert_frame_equal(built, truth.sort("pathway_key"), check_dtypes=False)


def test_instances_and_milestones_match_truth(clean: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    events, truth = clean
    tl = build_pathways(events)
    _compare(tl.pathways.collect(), truth)
    # clean data: nothing but the documented warnings (parallel pathways are generated on purpose)
    severities = tl.findings.collect().filter(pl.col("severity") == "error")
    assert severities.height == 0, severities.head()
    assert tl.assignments.collect()["assignment"].unique().to_list() == ["assigned"]


def test_lazy_events_give_the_same_pathways(clean: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    # a scanned (lazy) event table is looked up by joins instead of gathers: same result
    events, truth = clean
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=3)
    _compare(build_pathways(shuffled.lazy()).pathways.collect(), truth)


def test_typeless_split_layout_gives_the_same_pathways(
    clean: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    # Register extracts may carry the type on start rows only; typeless rows join the only open
    # pathway of the institution. Where two types are open at once we keep the type.
    events, truth = clean
    multi = (
        events.filter(pl.col("event") == "A")
        .group_by("patient_id", "institution_id")
        .agg(pl.col("pathway_type").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    typeless = (
        events.join(multi, on=["patient_id", "institution_id"], how="left")
        .with_columns(
            pathway_type=pl.when((pl.col("event") == "A") | pl.col("n").is_not_null())
            .then(pl.col("pathway_type"))
            .otherwise(None)
        )
        .drop("n")
    )
    assert typeless["pathway_type"].null_count() > events.height / 2
    _compare(build_pathways(typeless).pathways.collect(), truth)


def test_written_extract_reads_back_to_the_same_pathways(tmp_path: Path) -> None:
    out = tmp_path / "extract.csv"
    write_synthetic(out, 400, seed=5, layout="split", fmt="csv", dialect="npr")
    extract = read_extract(out)
    assert extract.findings.height == 0
    truth = generate(400, seed=5).truth
    _compare(build_pathways(extract.events).pathways.collect(), truth)
