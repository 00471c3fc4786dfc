"""``pakkeforlop timeline`` through typer's runner."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pakkeforlop_cli.main import app

runner = CliRunner()

# Register-style CSV (';', dd.mm.yyyy): patient a has a closed D11 pathway, then an E after the
# end (225); patient b an open D01 pathway.
CSV = """NPRId;institusjonId;dato;kode
a;974;02.01.2023;D11A
a;974;09.01.2023;D11M
a;974;01.02.2023;D11CP
a;974;01.03.2023;D11XG
a;974;05.03.2023;D11E
b;974;03.01.2023;D01A
"""


def _extract(tmp_path: Path) -> Path:
    path = tmp_path / "extract.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_writes_pathway_table(tmp_path: Path) -> None:
    out = tmp_path / "pathways.parquet"
    result = runner.invoke(app, ["timeline", str(_extract(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    pathways = pl.read_parquet(out).sort("patient_id")
    assert pathways["pathway_key"].to_list() == ["a|974|D11|2023-01-02", "b|974|D01|2023-01-03"]
    assert pathways["status"].to_list() == ["closed", "open"]
    assert pathways["findings"].to_list() == [[], []]


def test_csv_output_flattens_lists(tmp_path: Path) -> None:
    out = tmp_path / "pathways.csv"
    result = runner.invoke(app, ["timeline", str(_extract(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.height == 2
    assert "evaluation_dates" in table.columns


def test_patient_view_shows_registrations_and_fate(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["timeline", str(_extract(tmp_path)), "--patient", "a"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "Registrations of patient a" in result.output
    assert "event_after_end" in result.output
    assert "orphan" in result.output
    assert "a|974|D11|2023-01-02" in result.output


def test_unknown_patient_and_missing_file_are_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["timeline", str(_extract(tmp_path)), "--patient", "zz"])
    assert result.exit_code == 2
    assert "no registrations" in result.output
    result = runner.invoke(app, ["timeline", str(tmp_path / "nope.csv"), "-o", "x.parquet"])
    assert result.exit_code == 2
    assert "nope.csv" in result.output


def test_needs_output_or_patient(tmp_path: Path) -> None:
    result = runner.invoke(app, ["timeline", str(_extract(tmp_path))])
    assert result.exit_code == 2
    assert "nothing to do" in result.output


def test_progress_only_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from pakkeforlop_cli.common import Progress

    quiet = Progress(enabled=False)
    with quiet.phase("reading"):
        pass
    quiet.note("1 row")
    assert capsys.readouterr().err == ""
    loud = Progress(enabled=True)
    with loud.phase("reading extract.parquet"):
        pass
    loud.note("14040 registrations read")
    err = capsys.readouterr().err
    assert "reading extract.parquet" in err
    assert "14040 registrations read" in err
    assert " s " in err  # elapsed time
