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


def test_codes_never_cut_a_value() -> None:
    from pakkeforlop.codes import load_catalogue

    out = runner.invoke(app, ["codes"]).stdout
    assert "…" not in out
    for code in load_catalogue("2024").codes:
        assert code.nb in out and code.en in out


def test_narrow_tables_become_records_wrapped_at_word_breaks() -> None:
    from pakkeforlop_cli.layout import lines_for

    rows = [("D01", "Tverrfaglig spesialisert rusbehandling (TSB)", "2019-01-01")]
    lines = lines_for("t", ["code", "nb", "valid_from"], rows, 30)
    assert max(len(x) for x in lines) <= 30
    words = " ".join(x.split(": ", 1)[-1].strip() for x in lines[2:])
    assert "Tverrfaglig spesialisert rusbehandling (TSB)" in words
    assert "2019-01-01" in words


def test_the_indicator_list_breaks_no_word() -> None:
    from pakkeforlop.indicators import indicator_catalogue

    out = runner.invoke(app, ["indicators", "--list"]).stdout
    flat = " ".join(out.split())
    for d in indicator_catalogue().indicators:
        assert f"{d.id}: {d.title_en}" in flat
    assert len(out.splitlines()) < 200
