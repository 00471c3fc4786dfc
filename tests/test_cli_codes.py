"""``pakkeforlop codes`` through typer's runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from pakkeforlop_cli.main import app

runner = CliRunner()


def test_combined_csv_has_246_codes() -> None:
    result = runner.invoke(app, ["codes", "--combined", "--edition", "2024", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 246
    assert "D11CU" in {r["code"] for r in rows}


def test_combined_for_one_type_json() -> None:
    result = runner.invoke(
        app, ["codes", "--combined", "--edition", "2019", "--type", "d06", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    codes = {r["code"] for r in json.loads(result.stdout)}
    assert "D06P" in codes
    assert "D06CU" not in codes
    assert all(c.startswith("D06") for c in codes)


def test_table_lists_codes_with_source_tags() -> None:
    result = runner.invoke(app, ["codes", "--type", "D01"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Avrusning avsluttet" in result.stdout
    assert "KVL" in result.stdout  # L, documented in the coding guide only


def test_unknown_edition_is_one_line_exit_2() -> None:
    result = runner.invoke(app, ["codes", "--edition", "2020"])
    assert result.exit_code == 2
    assert "expected one of 2019, 2024" in result.output
    assert "Traceback" not in result.output


def test_unknown_type_is_exit_2() -> None:
    result = runner.invoke(app, ["codes", "--type", "D05"])
    assert result.exit_code == 2
    assert "unknown pathway type" in result.output


def test_error_text_in_brackets_is_shown_verbatim(tmp_path: Path) -> None:
    # messages are printed through rich; bracketed text must not be taken as markup
    missing = tmp_path / "ext[local].toml"
    result = runner.invoke(app, ["codes", "--extension", str(missing)])
    assert result.exit_code == 2
    assert "ext[local].toml" in result.output
