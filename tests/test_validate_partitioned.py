"""validate one patient partition at a time gives the report of the whole extract."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pakkeforlop.pipeline import validate
from pakkeforlop.synth import write_synthetic

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # injected errors (duplicates, orphans, bad dates, 208-225 ...) and a low unit threshold so
    # the institution-level rules fire too
    path = tmp_path_factory.mktemp("v") / "extract.parquet"
    write_synthetic(path, 1500, seed=13, error_rate=0.03)
    return path


def _sorted(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.sort(pl.all(), nulls_last=True)


@pytest.mark.parametrize("n", [1, 4])
def test_partitioned_report_equals_whole(extract: Path, n: int) -> None:
    options = {"unit_min_pathways": 3, "unit_drop_min_count": 5, "today": TODAY}
    whole = validate(extract, partitions=None, **options)  # type: ignore[arg-type]
    parts = validate(extract, partitions=n, **options)  # type: ignore[arg-type]
    rules = set(whole.findings["rule_id"])
    assert {"duplicate_registration", "event_after_end", "unit_never_registers"} <= rules
    assert_frame_equal(_sorted(parts.findings), _sorted(whole.findings))
    assert parts.model_dump() == whole.model_dump()
    assert parts.exit_code == whole.exit_code == 1


def test_library_and_cli_partitions_option(extract: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pakkeforlop_cli.main import app

    whole = validate(extract, today=TODAY)
    assert validate(extract, today=TODAY, partitions=3).model_dump() == whole.model_dump()
    runner = CliRunner()
    files = []
    for extra in ([], ["--partitions", "3"]):
        out = tmp_path / f"findings{len(extra)}.csv"
        result = runner.invoke(
            app, ["validate", str(extract), "--as-of", "2024-12-31", "--report", str(out), *extra]
        )
        assert result.exit_code == 1, result.output
        files.append(pl.read_csv(out, infer_schema=False))
    assert_frame_equal(_sorted(files[0]), _sorted(files[1]))
    bad = runner.invoke(app, ["validate", str(extract), "--partitions", "0"])
    assert bad.exit_code == 2
