"""``pakkeforlop validate``: every exit code, every format, id masking, --explain."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner
from validate_fixtures import CLEAN, FIXTURES

from pakkeforlop.findings import rules
from pakkeforlop.validate import FINDINGS_FILE_COLUMNS
from pakkeforlop_cli.main import app

runner = CliRunner()

# A clean pathway of p1, plus p2's C-I without M (208, error, row 9 of the CSV: header on
# line 1, p1's six rows on lines 2-7, p2's A on line 8) and a warning (a second A of the same
# type supersedes the first) for p3 on lines 10-12.
HEADER = "NPRId;institusjonId;dato;kode"
CLEAN_ROWS = [
    "p1;u1;02.01.2023;D11A",
    "p1;u1;09.01.2023;D11M",
    "p1;u1;30.01.2023;D11CP",
    "p1;u1;31.01.2023;D11UU",
    "p1;u1;15.02.2023;D11E",
    "p1;u1;01.03.2023;D11XG",
]
ERROR_ROWS = ["p2;u1;03.01.2023;D11A", "p2;u1;20.01.2023;D11CI"]
WARNING_ROWS = ["p3;u2;14.02.2023;D11A", "p3;u2;20.02.2023;D11A", "p3;u2;01.03.2023;D11XG"]


def write(tmp_path: Path, *rows: str, name: str = "extract.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *(str(a) for a in args)])
    return result.exit_code, result.output


# --- exit codes ----------------------------------------------------------------------------------


def test_exit_0_clean(tmp_path: Path) -> None:
    code, out = invoke(write(tmp_path, *CLEAN_ROWS))
    assert code == 0, out
    assert "No findings." in out
    assert "PASSED" in out


def test_exit_1_on_errors(tmp_path: Path) -> None:
    code, out = invoke(write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS))
    assert code == 1, out
    assert "decision_without_attendance" in out
    assert "│ 9 " in out  # the example row, without the file name the header line gives
    assert "FAILED" in out


def test_warnings_pass_by_default_and_fail_with_fail_on_warning(tmp_path: Path) -> None:
    path = write(tmp_path, *CLEAN_ROWS, *WARNING_ROWS)
    assert invoke(path)[0] == 0
    assert invoke(path, "--fail-on", "warning")[0] == 1


def test_max_error_rate(tmp_path: Path) -> None:
    # 11 rows read, 1 with an error: error rate 1/11 = 0.0909.
    path = write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS, *WARNING_ROWS)
    assert invoke(path, "--max-error-rate", "0.1")[0] == 0
    assert invoke(path, "--max-error-rate", "0.09")[0] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["missing.csv"],
        [],
        ["{extract}", "--max-error-rate", "2"],
        ["{extract}", "--fail-on", "info"],
        ["{extract}", "--format", "xml"],
        ["{extract}", "--as-of", "31.12.2023"],
        ["{extract}", "--edition", "2020"],
        ["{extract}", "--report", "{tmp}/out.txt"],
        ["{extract}", "--unit-drop-share", "0"],
    ],
)
def test_exit_2_on_unreadable_input_or_wrong_arguments(tmp_path: Path, args: list[str]) -> None:
    extract = write(tmp_path, *CLEAN_ROWS)
    filled = [a.format(extract=extract, tmp=tmp_path) for a in args]
    code, out = invoke(*filled)
    assert code == 2, out
    assert "Traceback" not in out


def test_exit_2_on_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("NPRId;kode\np1;D11A\n", encoding="utf-8")
    code, out = invoke(path)
    assert code == 2
    assert "error:" in out


# --- formats -------------------------------------------------------------------------------------


def test_format_json_summary(tmp_path: Path) -> None:
    code, out = invoke(write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["exit_code"] == 1
    assert data["rows_read"] == 8
    by_rule = {s["rule_id"]: s for s in data["summary"]}
    assert by_rule["decision_without_attendance"]["count"] == 1
    assert by_rule["decision_without_attendance"]["npr_error"] == 208
    assert "p2" not in out


def test_format_csv_summary(tmp_path: Path) -> None:
    code, out = invoke(write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS), "--format", "csv")
    assert code == 1
    table = pl.read_csv(out.encode())
    assert table.height == len(rules())
    assert table.filter(pl.col("rule_id") == "decision_without_attendance")["count"].item() == 1


def test_format_junit_parses(tmp_path: Path) -> None:
    code, out = invoke(
        write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS, *WARNING_ROWS), "--format", "junit"
    )
    assert code == 1
    root = ET.fromstring(out.encode())
    assert root.tag == "testsuites"
    assert {s.get("name") for s in root.findall("testsuite")} == {"read", "timeline", "validate"}
    failing = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failing == ["decision_without_attendance (NPR 208)"]
    assert "p2" not in out


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("csv", "f.csv"), ("json", "f.json"), ("junit", "f.xml"), ("table", "f.parquet")],
)
def test_report_file_holds_every_finding_with_ids(tmp_path: Path, fmt: str, name: str) -> None:
    extract = write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS, *WARNING_ROWS)
    masked = tmp_path / f"masked-{name}"
    code, out = invoke(extract, "--report", masked, "--format", fmt)
    assert code == 1
    text = masked.read_bytes()
    assert b"p2|" not in text and b"p3|" not in text  # masked by default
    report = tmp_path / name
    code, out = invoke(extract, "--report", report, "--format", fmt, "--show-ids")
    assert code == 1
    assert "Findings by rule" in out  # the terminal shows the summary
    if fmt == "csv":
        table = pl.read_csv(report)
        assert tuple(table.columns) == FINDINGS_FILE_COLUMNS
        assert set(table["rule"]) == {"decision_without_attendance", "superseded"}
        assert "p2" in table["patient_id"].to_list()
    elif fmt == "json":
        data = json.loads(report.read_text(encoding="utf-8"))
        assert {f["rule"] for f in data["findings"]} == {
            "decision_without_attendance",
            "superseded",
        }
    elif fmt == "junit":
        root = ET.parse(report).getroot()
        assert "p2|u1|D11" in ET.tostring(root, encoding="unicode")
    else:
        assert pl.read_parquet(report).height == 2


def test_show_ids(tmp_path: Path) -> None:
    extract = write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS)
    _, hidden = invoke(extract, "--format", "junit")
    _, shown = invoke(extract, "--format", "junit", "--show-ids")
    assert "p2|u1|D11" not in hidden
    assert "p2|u1|D11" in shown
    _, table = invoke(extract)
    assert "p2" not in table
    _, table = invoke(extract, "--show-ids")
    assert "decision_without_attendance: p2|u1|D11|2023-01-03" in table


def test_as_of_and_edition(tmp_path: Path) -> None:
    # The H event exists in the 2024 edition only (domain/codes.md §3).
    extract = write(tmp_path, *CLEAN_ROWS[:5], "p1;u1;01.03.2023;D11HK", CLEAN_ROWS[5])
    assert invoke(extract, "--edition", "2024")[0] == 0
    code, out = invoke(extract, "--edition", "2019")
    assert code == 1
    assert "invalid_code" in out
    code, out = invoke(extract, "--as-of", "2023-02-28")
    assert code == 1
    assert "date_after_reference" in out


def test_thresholds_are_options(tmp_path: Path) -> None:
    extract = write(tmp_path, "p1;u1;02.01.2020;D11A", "p1;u1;09.01.2020;D11M")
    args = [extract, "--as-of", "2023-01-01", "--fail-on", "warning"]
    assert invoke(*args)[0] == 0
    code, out = invoke(*args, "--open-limit-days", "365")
    assert code == 1
    assert "open_too_long" in out


def test_parquet_input(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    FIXTURES["decision_without_attendance"].trigger.write_parquet(path)
    assert invoke(path)[0] == 1
    CLEAN.write_parquet(path)
    assert invoke(path)[0] == 0


# --- explain -------------------------------------------------------------------------------------


def test_explain_rule() -> None:
    code, out = invoke("--explain", "event_after_end")
    assert code == 0
    assert "NPR error 225" in out
    assert rules()["event_after_end"].explanation in out.replace("\n", " ")


def test_explain_by_register_number_and_all() -> None:
    code, out = invoke("--explain", "201")
    assert code == 0
    assert "invalid_code" in out and "missing_outcome" in out
    code, out = invoke("--explain", "all")
    assert code == 0
    assert all(rule_id in out for rule_id in rules())


def test_explain_unknown_rule_suggests() -> None:
    code, out = invoke("--explain", "no_strat")
    assert code == 2
    assert "did you mean 'no_start'" in out


def test_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    for line in ("0  clean", "1  findings at or above --fail-on", "2  the extract could not"):
        assert line in result.output


# --- the documentation's examples run ------------------------------------------------------------

DOCS = Path(__file__).parent.parent / "docs" / "validate.md"


def doc_blocks(language: str) -> list[str]:
    parts = DOCS.read_text(encoding="utf-8").split("```")
    return [p.removeprefix(language + "\n") for p in parts[1::2] if p.startswith(language + "\n")]


def test_docs_console_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS, *WARNING_ROWS)
    commands = [
        line.removeprefix("$ pakkeforlop ").split()
        for block in doc_blocks("console")
        for line in block.splitlines()
        if line.startswith("$ pakkeforlop validate")
    ]
    assert len(commands) == 4
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code in (0, 1), (command, result.output)
    assert ET.parse(tmp_path / "findings.xml").getroot().tag == "testsuites"


def test_docs_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, *CLEAN_ROWS, *ERROR_ROWS)
    (block,) = doc_blocks("python")
    exec(compile(block, str(DOCS), "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("8 rows read = 8 usable + 0 excluded + 0 duplicates collapsed\n")
    assert "\n1 12.50%\ndecision_without_attendance error 1" in out
    assert (tmp_path / "findings.csv").exists()
