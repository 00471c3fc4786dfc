"""The xlsx workbook read back with openpyxl, as an analyst's spreadsheet opens it."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from pakkeforlop import IndicatorSettings
from pakkeforlop.pipeline import run_indicators
from pakkeforlop.workbook import WORKBOOK_LABELS
from pakkeforlop_cli.main import app

SAMPLE = Path(__file__).parent.parent / "sample_data" / "extract.parquet"
runner = CliRunner()
#: The CLI's default strata.
BY_TYPE = IndicatorSettings(by="pathway_type")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "out.xlsx"
    result = runner.invoke(app, ["indicators", str(SAMPLE), "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _rows(path: Path, sheet: str) -> list[dict[str, object]]:
    ws = openpyxl.load_workbook(path)[sheet]
    values = list(ws.iter_rows(values_only=True))
    heads = [str(h) for h in values[0]]
    return [dict(zip(heads, r, strict=True)) for r in values[1:]]


def test_the_workbook_has_an_indicator_sheet_and_an_about_sheet(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == ["Indicators", "About"]
    ws = book["Indicators"]
    assert ws.freeze_panes == "E2"  # the header row and the indicator columns stay in view
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    heads = [c.value for c in ws[1]]
    assert heads[:5] == ["Goal area", "Indicator", "Indicator id", "Period", "Pathway type"]


def test_every_row_of_the_table_with_readable_titles_and_formats(workbook: Path) -> None:
    table = run_indicators(SAMPLE, indicators=BY_TYPE)
    rows = _rows(workbook, "Indicators")
    assert len(rows) == table.height
    first = next(
        r
        for r in rows
        if r["Indicator id"] == "assessment_in_time"
        and r["Period"] == "2024-T3"
        and r["Pathway type"] == "All"
    )
    cell = table.filter(
        (pl.col("indicator_id") == "assessment_in_time")
        & (pl.col("period") == "2024-T3")
        & pl.col("pathway_type").is_null()
    ).row(0, named=True)
    assert first["Indicator"] == "Assessment completed within the recommended time"
    assert first["Value"] == pytest.approx(cell["value"])
    assert first["Denominator (units)"] == cell["denominator"]
    assert first["Target met"] in ("yes", "no")
    ws = openpyxl.load_workbook(workbook)["Indicators"]
    value_col = [c.value for c in ws[1]].index("Value") + 1
    target_col = [c.value for c in ws[1]].index("Target") + 1
    row = next(
        i
        for i in range(2, ws.max_row + 1)
        if ws.cell(i, 3).value == "assessment_in_time"
        and ws.cell(i, 4).value == "2024-T3"
        and ws.cell(i, 5).value == "All"
    )
    assert ws.cell(row, value_col).number_format == "0.0%"
    assert ws.cell(row, target_col).number_format == "0%"


def test_hidden_cells_say_suppressed_or_not_available_as_text(workbook: Path) -> None:
    table = run_indicators(SAMPLE, indicators=BY_TYPE)
    rows = _rows(workbook, "Indicators")
    suppressed = [r for r in rows if r["Status"] == "suppressed"]
    assert len(suppressed) == table.filter(pl.col("suppressed")).height > 0
    assert all(r["Value"] == "suppressed" and r["Numerator"] is None for r in suppressed)
    unavailable = [r for r in rows if r["Status"] == "not available"]
    assert len(unavailable) == table.filter(pl.col("not_available")).height > 0
    assert all(
        r["Value"] == "not available" and "in force from" in str(r["Note"]) for r in unavailable
    )
    # nothing hidden is ever a 0
    assert all(r["Value"] != 0 for r in suppressed + unavailable)


def test_the_about_sheet_holds_the_provenance(workbook: Path) -> None:
    meta = run_indicators(SAMPLE, indicators=BY_TYPE).metadata
    about = {str(r["Item"]): str(r["Value"]) for r in _rows(workbook, "About")}
    assert about["code catalogue edition"] == meta.code_edition
    assert about["reference date"] == str(meta.reference_date)
    assert about["suppression policy"] == "nki"
    assert about["rows read"] == f"{meta.input_rows:,}"
    assert meta.times_file in about["recommended times"]
    assert "D11 assessment (provisional)" in about["provisional times used"]
    assert about["treatment start after detox"].startswith("first_registration_after_detox")
    assert "in force from 2023-01-01" in about["not available: help_needed_recorded"]


def test_a_norwegian_workbook(tmp_path: Path) -> None:
    path = tmp_path / "nb.xlsx"
    result = runner.invoke(app, ["indicators", str(SAMPLE), "-o", str(path), "--lang", "nb"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [WORKBOOK_LABELS["nb"]["sheet"], WORKBOOK_LABELS["nb"]["about"]]
    rows = _rows(path, "Indikatorer")
    assert {r["Status"] for r in rows} >= {"skjult", "ikke tilgjengelig"}
    assert any(r["Indikator"] == "Vurdering fullført innen anbefalt tid" for r in rows) or any(
        "innen" in str(r["Indikator"]) for r in rows
    )


def test_a_table_too_long_for_a_worksheet_is_refused_not_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pakkeforlop import workbook

    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 10)
    path = tmp_path / "big.xlsx"
    result = runner.invoke(app, ["indicators", str(SAMPLE), "-o", str(path)])
    assert result.exit_code == 2
    assert "more than a worksheet holds" in result.output
    assert "write .csv or .parquet" in result.output
    assert not path.exists()


def test_the_about_sheet_in_norwegian(tmp_path: Path) -> None:
    path = tmp_path / "nb.xlsx"
    assert (
        runner.invoke(app, ["indicators", str(SAMPLE), "-o", str(path), "--lang", "nb"]).exit_code
        == 0
    )
    items = [str(r["Opplysning"]) for r in _rows(path, "Om tallene")]
    assert "referansedato" in items and "rader lest" in items
    assert not any(i in ("reference date", "rows read") for i in items)


def test_the_interval_heads_name_the_level_computed(tmp_path: Path) -> None:
    from pakkeforlop.workbook import write_workbook

    table = run_indicators(SAMPLE, indicators=IndicatorSettings(level=0.9))
    path = write_workbook(table, tmp_path / "l.xlsx")
    heads = [c.value for c in openpyxl.load_workbook(path)["Indicators"][1]]
    assert "90 % CI low" in heads and "90 % CI high" in heads
