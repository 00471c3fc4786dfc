"""Tests of the extract reader (domain/extract-and-timeline.md §1).

Fixtures are a handful of registrations written inline; expected values are worked out by hand in
the comments.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pakkeforlop.errors import ExtractError, MappingError
from pakkeforlop.io import Extract, LazyExtract, ReadInfo, read_extract, scan_extract
from pakkeforlop.io.read import exclusion_counts
from pakkeforlop.schema import CANONICAL_SCHEMA, FINDINGS_SCHEMA

D = dt.date

# Four registrations of one adult mental-health pathway (D11) of patient p1 at institution 974101,
# and one start of a substance-use pathway (D01) of patient p2, in register style: `;`, dd.mm.yyyy,
# Windows-1252 (the ø in "Helse Førde"), register column names and codings
# (omsorgsniva 3 = outpatient, 1 = inpatient; kjonn 1 = male, 2 = female; KommuneNr 301 lost
# its leading zero in a spreadsheet and becomes 0301).
REGISTER_CSV = (
    "NPRId;institusjonId;dato;kode;omsorgsniva;kjonn;BehHF;fodselsar;KommuneNr\n"
    "p1;974101;02.01.2024;D11A;3;2;Helse Førde;1990;301\n"
    "p1;974101;16.01.2024;D11M;3;2;Helse Førde;1990;301\n"
    "p1;974101;30.01.2024;d11cp ;3;2;Helse Førde;1990;301\n"
    "p1;974101;01.06.2024;D11XG;3;2;Helse Førde;1990;301\n"
    "p2;974102;15.03.2024;D01A;1;1;Helse Bergen;1975,0;4601\n"
)

# The same registrations with canonical names and typed columns, as a Parquet file would hold them.
CANONICAL_ROWS = pl.DataFrame(
    {
        "patient_id": ["p1", "p1", "p1", "p1", "p2"],
        "institution_id": ["974101"] * 4 + ["974102"],
        "event_date": [
            D(2024, 1, 2),
            D(2024, 1, 16),
            D(2024, 1, 30),
            D(2024, 6, 1),
            D(2024, 3, 15),
        ],
        "code": ["D11A", "D11M", "D11CP", "D11XG", "D01A"],
        "care_level": ["outpatient"] * 4 + ["inpatient"],
        "sex": ["female"] * 4 + ["male"],
        "health_trust": ["Helse Førde"] * 4 + ["Helse Bergen"],
        "birth_year": [1990] * 4 + [1975],
        "municipality": ["0301"] * 4 + ["4601"],
    }
)

# The same registrations in the split layout: type, event and outcome in their own columns.
SPLIT_ROWS = pl.DataFrame(
    {
        "NPRId": ["p1", "p1", "p1", "p1", "p2"],
        "institusjonId": ["974101"] * 4 + ["974102"],
        "dato": ["2024-01-02", "2024-01-16", "2024-01-30", "2024-06-01", "2024-03-15"],
        "type_forlop": ["D11", "D11", "D11", "D11", "D01"],
        "hendelse": ["A", "M", "C", "X", "A"],
        "utfall": [None, None, "P", "G", None],
        "omsorgsniva": ["3", "3", "3", "3", "1"],
        "kjonn": ["2", "2", "2", "2", "1"],
        "BehHF": ["Helse Førde"] * 4 + ["Helse Bergen"],
        "fodselsar": ["1990"] * 4 + ["1975"],
        "KommuneNr": ["0301"] * 4 + ["4601"],
    }
)

LOCATION = ["source_file", "source_row"]


def content(events: pl.DataFrame) -> pl.DataFrame:
    """The events without where they came from."""
    return events.drop(LOCATION)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rules_of(ex: Extract) -> list[str]:
    return ex.findings["rule_id"].to_list()


def only(ex: Extract, rule_id: str) -> dict[str, object]:
    rows = ex.findings.filter(pl.col("rule_id") == rule_id)
    assert rows.height == 1, ex.findings
    return rows.row(0, named=True)


# --- the acceptance cases of the issue -----------------------------------------------------------


def test_register_csv_and_parquet_read_to_identical_tables(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "extract.csv", REGISTER_CSV, encoding="cp1252")
    parquet = tmp_path / "extract.parquet"
    CANONICAL_ROWS.write_parquet(parquet)

    from_csv = read_extract(csv)
    from_parquet = read_extract(parquet)

    assert from_csv.events.schema == CANONICAL_SCHEMA
    assert from_parquet.events.schema == CANONICAL_SCHEMA
    assert content(from_csv.events).equals(content(from_parquet.events))
    assert from_csv.findings.is_empty() and from_parquet.findings.is_empty()
    # The codings were decoded, not just copied.
    first = from_csv.events.row(0, named=True)
    assert first["care_level"] == "outpatient" and first["sex"] == "female"
    assert first["municipality"] == "0301" and first["health_trust"] == "Helse Førde"
    assert from_csv.events["outcome"].to_list() == [None, None, "P", "G", None]
    assert from_csv.events["code"][2] == "D11CP"  # trimmed and upper-cased
    # CSV rows count as the editor does: header on line 1, first row on line 2.
    assert from_csv.events["source_row"].to_list() == [2, 3, 4, 5, 6]
    assert from_parquet.events["source_row"].to_list() == [1, 2, 3, 4, 5]
    assert from_csv.info.encodings == {str(csv): "windows-1252"}
    assert from_csv.info.separators == {str(csv): ";"}
    assert from_csv.info.formats == ("csv",) and from_parquet.info.formats == ("parquet",)


def test_split_and_combined_layouts_read_to_identical_tables() -> None:
    combined = SPLIT_ROWS.drop("type_forlop", "hendelse", "utfall").insert_column(
        3, pl.Series("kode", ["D11A", "D11M", "D11CP", "D11XG", "D01A"])
    )
    split = read_extract(SPLIT_ROWS)
    comb = read_extract(combined)
    assert split.findings.is_empty() and comb.findings.is_empty()
    assert split.events.equals(comb.events)
    assert split.info.layouts == ("split",) and comb.info.layouts == ("combined",)


def test_layouts_mixed_row_by_row() -> None:
    # Rows 1 and 3 carry a combined code, rows 2 and 4 split columns (type only on the start).
    mixed = pl.DataFrame(
        {
            "pid": ["p1", "p1", "p1", "p1"],
            "orgnr": ["1", "1", "1", "1"],
            "dato": ["2024-01-02", "2024-01-10", "2024-01-20", "2024-02-01"],
            "kode": ["D11A", None, "D11CU", ""],
            "type_forlop": [None, None, None, None],
            "hendelse": [None, "M", None, "U"],
            "utfall": [None, None, None, "b"],
        }
    )
    ex = read_extract(mixed)
    assert ex.findings.is_empty(), ex.findings
    assert ex.events["event"].to_list() == ["A", "M", "C", "U"]
    assert ex.events["outcome"].to_list() == [None, None, "U", "B"]
    # Split rows without a type keep it empty (the timeline assigns them) and get no code.
    assert ex.events["pathway_type"].to_list() == ["D11", None, "D11", None]
    assert ex.events["code"].to_list() == ["D11A", None, "D11CU", None]
    assert ex.info.layouts == ("combined", "split")


def test_split_rows_are_encoded_to_a_combined_code_when_typed() -> None:
    ex = read_extract(SPLIT_ROWS)
    assert ex.events["code"].to_list() == ["D11A", "D11M", "D11CP", "D11XG", "D01A"]


# --- whole-file problems: exceptions naming the file ---------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.parquet"
    with pytest.raises(ExtractError, match=r"nope\.parquet: file not found"):
        read_extract(missing)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match=r"\*\.parquet: no files match"):
        read_extract(str(tmp_path / "*.parquet"))


def test_unsupported_suffix_lists_supported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extract.xlsx", "x")
    with pytest.raises(
        ExtractError, match=r"extract\.xlsx: unsupported file type '\.xlsx'.*\.csv.*\.parquet"
    ):
        read_extract(path)


def test_corrupt_parquet_names_file_and_reason(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "broken.parquet", "this is not parquet at all")
    with pytest.raises(ExtractError, match=r"broken\.parquet: cannot be read as Parquet: .+"):
        read_extract(path)


def test_corrupt_ipc_names_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "broken.arrow", "this is not arrow")
    with pytest.raises(ExtractError, match=r"broken\.arrow: cannot be read as Arrow IPC"):
        read_extract(path)


def test_binary_file_with_csv_suffix(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    CANONICAL_ROWS.write_parquet(path)
    with pytest.raises(ExtractError, match=r"extract\.csv: not a text file"):
        read_extract(path)


def test_empty_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "empty.csv", "")
    with pytest.raises(ExtractError, match=r"empty\.csv: the file is empty"):
        read_extract(path)


def test_text_that_is_neither_utf8_nor_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"NPRId;dato\np1;\x81\x8d\n")  # 0x81 is undefined in Windows-1252
    with pytest.raises(ExtractError, match=r"odd\.csv: byte 0x81 at offset \d+ is neither UTF-8"):
        read_extract(path)


def test_csv_lines_with_too_many_or_too_few_fields_are_findings(tmp_path: Path) -> None:
    # a long line (5 fields), a short one (2 fields): each a finding naming its line, the row
    # excluded (its values cannot be trusted to sit in their columns), the rest read
    path = write_csv(
        tmp_path / "extract.csv",
        "NPRId;institusjonId;dato;kode\np1;1;02.01.2024;D11A\np1;1;03.01.2024;D11M;oops\n"
        "p1;1\np1;1;04.01.2024;D11C\n",
    )
    ex = read_extract(path)
    assert ex.info.rows_read == 4 and ex.events["source_row"].to_list() == [2]
    assert ex.excluded.select("source_row", pl.col("reason").cast(pl.String)).rows() == [
        (3, "wrong_field_count"),
        (4, "wrong_field_count"),
        (5, "invalid_code"),
    ]
    ragged = ex.findings.filter(rule_id="wrong_field_count")
    assert ragged["source_row"].to_list() == [3, 4]
    assert "row 3: 5 fields, but the header has 4" in ragged["message"][0]
    assert "row 4: 2 fields, but the header has 4" in ragged["message"][1]


def test_csv_blank_lines_are_ignored_without_findings(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "extract.csv",
        "NPRId;institusjonId;dato;kode\np1;1;02.01.2024;D11A\n\np1;1;09.01.2024;D11M\n\n",
    )
    ex = read_extract(path)
    assert ex.findings.height == 0
    assert ex.events["source_row"].to_list() == [2, 4]  # line numbers as the editor counts
    assert (ex.info.rows_excluded or {})["blank_line"] == 2
    assert "blank_line 2" in ex.info.conservation()


def test_csv_stray_quote_names_line_and_column_without_the_data(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "extract.csv",
        'NPRId;institusjonId;dato;kode\np1;1;02.01.2024;D11A\nSECRET42;"1;03.01.2024;D11M\n'
        "p2;1;04.01.2024;D11A\n",
    )
    with pytest.raises(ExtractError) as caught:
        read_extract(path)
    message = str(caught.value)
    assert "line 3, column 'institusjonId'" in message and "quote" in message
    assert "SECRET42" not in message and "03.01.2024" not in message


def test_utf16_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    text = "NPRId;institusjonId;dato;kode\r\nø1;1;02.01.2024;D11A\r\n"
    path.write_bytes(text.encode("utf-16"))  # with a BOM, as spreadsheets save "Unicode text"
    ex = read_extract(path)
    assert ex.info.encodings == {str(path): "utf-16"}
    assert ex.events["patient_id"].to_list() == ["ø1"] and ex.findings.height == 0


def test_long_values_are_cut_in_messages(tmp_path: Path) -> None:
    raw = pl.DataFrame(
        {"NPRId": ["p1"], "institusjonId": ["1"], "dato": ["x" * 5000], "kode": ["D11A"]}
    )
    message = read_extract(raw).findings["message"][0]
    assert len(message) < 300 and "xxx..." in message


def test_missing_required_column_names_aliases_tried(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "extract.csv", "NPRId;institusjonId;datum;kode\np1;1;02.01.2024;D11A\n"
    )
    with pytest.raises(MappingError) as err:
        read_extract(path)
    text = str(err.value)
    assert "extract.csv" in text and "'event_date'" in text
    assert "dato, hendelsesdato, tidspunkt" in text
    assert "did you mean 'datum'?" in text


def test_neither_code_nor_event_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extract.csv", "NPRId;institusjonId;dato\np1;1;02.01.2024\n")
    with pytest.raises(MappingError, match=r"extract\.csv: neither a combined-code column"):
        read_extract(path)


def test_list_with_a_data_frame_is_refused() -> None:
    with pytest.raises(ExtractError, match="file paths only"):
        read_extract([SPLIT_ROWS])  # type: ignore[list-item]


# --- row problems: findings naming file, row, column, value and what was expected ----------------

# One file with one problem per row; line numbers (header = line 1) are in the comments.
BAD_CSV = (
    "NPRId;institusjonId;dato;kode;omsorgsniva;kjonn;alder;fodselsar;KommuneNr\n"
    "p1;1;31.02.2023;D11A;3;1;40;1984;0301\n"  # line 2: no 31 February -> bad_date
    "p1;1;01.03.2023;D05A;3;1;40;1984;0301\n"  # line 3: no type D05 -> invalid_code
    "p1;1;02.03.2023;D11Q;3;1;40;1984;0301\n"  # line 4: no event Q -> invalid_code
    "p1;1;03.03.2023;D11CZ;3;1;40;1984;0301\n"  # line 5: C has no outcome Z -> invalid_code
    "p1;1;04.03.2023;XYZ;3;1;40;1984;0301\n"  # line 6: not a combined code -> invalid_code
    "p1;1;05.03.2023;D06CU;3;1;40;1984;0301\n"  # line 7: U only for D01/D11/D12
    "p1;1;06.03.2023;D11C;3;1;40;1984;0301\n"  # line 8: C without outcome
    "p1;1;07.03.2023;D11MP;3;1;40;1984;0301\n"  # line 9: M takes no outcome
    "p1;1;08.03.2023;D11M;7;1;40;1984;0301\n"  # line 10: care level 7 -> bad_value
    "p1;1;09.03.2023;D11M;3;5;40;1984;0301\n"  # line 11: sex 5 -> bad_value
    "p1;1;10.03.2023;D11M;3;1;40,5;1984;0301\n"  # line 12: age 40,5 -> bad_value
    "p1;1;11.03.2023;D11M;3;1;40;19x4;0301\n"  # line 13: birth year -> bad_value
    "p1;1;12.03.2023;D11M;3;1;40;1984;31\n"  # line 14: municipality 31 -> bad_value
    ";1;13.03.2023;D11M;3;1;40;1984;0301\n"  # line 15: no patient -> missing_value
    "p1;1;;D11E;3;1;40;1984;0301\n"  # line 16: no date -> missing_value
    "p1;1;14.12.2018;D11E;3;1;40;1984;0301\n"  # line 17: before 2019
    "p1;1;15.03.2023;D01L;3;1;40;1984;0301\n"  # line 18: L is unlisted but documented: fine
    "p1;1;20.01.2019;D06A;3;1;40;1984;0301\n"  # line 19: D06 only from 15.02.2019
    "p1;1;16.03.2023;;3;1;40;1984;0301\n"  # line 20: no code -> missing_value
    "p1;1;17.03.2023;D11F;3;1;40;1984;0301\n"  # line 21: fine
    "p1;1;17.03.2023;D11F;3;1;40;1984;0301\n"  # line 22: duplicate of line 21
)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Extract:
    path = write_csv(tmp_path_factory.mktemp("bad") / "bad.csv", BAD_CSV)
    return read_extract(path, as_of=D(2023, 12, 31))


def finding_at(ex: Extract, line: int, rule_id: str) -> dict[str, object]:
    rows = ex.findings.filter((pl.col("source_row") == line) & (pl.col("rule_id") == rule_id))
    assert rows.height == 1, ex.findings.filter(pl.col("source_row") == line)
    row = rows.row(0, named=True)
    message = str(row["message"])
    assert message.startswith(f"{row['source_file']} row {line}"), message
    assert str(row["source_file"]).endswith("bad.csv")
    return row


@pytest.mark.parametrize(
    ("line", "rule_id", "column", "value", "expected"),
    [
        (2, "bad_date", "dato", "31.02.2023", "expected dd.mm.yyyy or yyyy-mm-dd"),
        (3, "invalid_code", "kode", "D05A", "'D05' is not a pathway type"),
        (4, "invalid_code", "kode", "D11Q", "'Q' is not an event"),
        (5, "invalid_code", "kode", "D11CZ", "expected one of U, P, T, S, K, A, I"),
        (6, "invalid_code", "kode", "XYZ", "expected type Dnn, an event letter"),
        (7, "code_invalid_for_type", "kode", "D06CU", "is not valid for pathway type D06"),
        (8, "missing_outcome", "kode", "D11C", "expected one of U, P, T"),
        (9, "unexpected_outcome", "kode", "D11MP", "expected no outcome"),
        (10, "bad_value", "omsorgsniva", "7", "expected 1, 2 or 3"),
        (11, "bad_value", "kjonn", "5", "expected 1 (male), 2 (female), 0 or 9"),
        (12, "bad_value", "alder", "40,5", "expected a whole number of years"),
        (13, "bad_value", "fodselsar", "19x4", "expected a whole year"),
        (14, "bad_value", "KommuneNr", "31", "expected a 4-digit municipality number"),
        (15, "missing_value", "NPRId", None, "empty; expected a patient id"),
        (16, "missing_value", "dato", None, "empty; expected a date"),
        (17, "date_before_2019", "dato", "14.12.2018", "before 2019-01-01"),
        (19, "code_outside_validity", "kode", "D06A", "expected a date from 2019-02-15"),
        (20, "missing_value", "kode", None, "expected a pathway code"),
        (22, "duplicate_registration", None, "D11F", "exact duplicate of"),
    ],
)
def test_row_problem_messages(
    bad: Extract, line: int, rule_id: str, column: str | None, value: str | None, expected: str
) -> None:
    row = finding_at(bad, line, rule_id)
    message = str(row["message"])
    assert row["column"] == column and row["value"] == value
    if column is not None:
        assert f"column '{column}'" in message
    if value is not None:
        assert f"'{value}'" in message or value in message
    assert expected in message


def test_row_problems_exclude_the_rows_that_cannot_feed_pathways(bad: Extract) -> None:
    # 21 data rows (lines 2-22). Usable (domain/extract-and-timeline.md §1): lines 10-14 (an
    # optional value read as empty), 18 (D01L) and 21; line 22 duplicates 21 and is collapsed.
    # The other 13 are excluded, each under its first reason.
    assert bad.info.rows_read == 21
    assert sorted(bad.events["source_row"].to_list()) == [10, 11, 12, 13, 14, 18, 21]
    assert bad.info.rows_usable == 7 and bad.info.duplicates_collapsed == 1
    excluded = dict(bad.excluded.select("source_row", pl.col("reason").cast(pl.String)).rows())
    assert excluded == {
        2: "bad_date",
        3: "invalid_code",
        4: "invalid_code",
        5: "invalid_code",
        6: "invalid_code",
        7: "code_invalid_for_type",
        8: "invalid_code",
        9: "invalid_code",
        15: "missing_patient_id",
        16: "missing_event_date",
        17: "date_before_2019",
        19: "code_outside_validity",
        20: "missing_code",
    }
    counts = bad.info.rows_excluded or {}
    assert counts["invalid_code"] == 6 and sum(counts.values()) == 13
    # the identity the run summary prints
    assert bad.info.rows_read == 7 + 13 + 1
    assert bad.info.conservation().startswith("21 rows read = 7 usable + 13 excluded")
    # every excluded row has an error finding
    errors = bad.findings.filter(pl.col("severity") == "error")["source_row"].unique()
    assert set(excluded) <= set(errors.to_list())
    # Bad optional values are read as empty; the row is kept.
    by_line = {r["source_row"]: r for r in bad.events.iter_rows(named=True)}
    assert by_line[10]["care_level"] is None and by_line[11]["sex"] is None
    assert by_line[12]["age"] is None and by_line[14]["municipality"] is None
    # Lines 18 (D01L) and 21 (the duplicate kept) have nothing wrong; the other 18 rows
    # are flagged.
    assert bad.info.rows_flagged == 18 + 1  # + line 22's duplicate finding
    assert bad.findings.schema == FINDINGS_SCHEMA
    assert set(bad.findings["stage"]) == {"read"}


def test_npr_error_numbers(bad: Extract) -> None:
    numbers = dict(zip(bad.findings["rule_id"], bad.findings["npr_error"], strict=True))
    assert numbers["invalid_code"] == 201 and numbers["code_invalid_for_type"] == 201
    assert numbers["bad_date"] is None


def test_date_after_reference() -> None:
    raw = SPLIT_ROWS.with_columns(pl.lit(None, dtype=pl.String).alias("utfall"))
    ex = read_extract(SPLIT_ROWS, as_of=D(2024, 3, 31))
    row = only(ex, "date_after_reference")
    # Only 2024-06-01 (row 4) is after 31 March 2024.
    assert row["source_row"] == 4 and row["value"] == "2024-06-01"
    assert "after the reference date 2024-03-31" in str(row["message"])
    assert ex.info.reference_date == D(2024, 3, 31)
    # Without as_of the reference date is the latest event date and nothing is after it.
    default = read_extract(SPLIT_ROWS)
    assert default.info.reference_date == D(2024, 6, 1)
    assert "date_after_reference" not in rules_of(default)
    assert raw.height == 5


def test_code_mismatch_names_both_columns() -> None:
    raw = pl.DataFrame(
        {
            "NPRId": ["p1"],
            "institusjonId": ["1"],
            "dato": ["2024-01-02"],
            "kode": ["D11CU"],
            "hendelse": ["M"],
        }
    )
    ex = read_extract(raw)
    row = only(ex, "code_mismatch")
    assert row["column"] == "hendelse" and row["value"] == "M"
    assert "'D11CU' in column 'kode'" in str(row["message"])
    assert ex.events["event"][0] == "C"  # the combined code wins


def test_start_without_type_is_missing_value() -> None:
    raw = SPLIT_ROWS.with_columns(pl.lit(None, dtype=pl.String).alias("type_forlop"))
    ex = read_extract(raw)
    missing = ex.findings.filter(pl.col("rule_id") == "missing_value")
    # Rows 1 and 5 are starts (A); the other rows may leave the type empty.
    assert missing["source_row"].to_list() == [1, 5]
    assert set(missing["column"]) == {"type_forlop"}


def test_split_unknown_letters_are_reported_on_their_column() -> None:
    raw = SPLIT_ROWS.with_columns(
        pl.Series("type_forlop", ["D13", "D11", "D11", "D11", "D01"]),
        pl.Series("hendelse", ["A", "Q", "C", "X", "A"]),
        pl.Series("utfall", [None, None, "Z", "G", "P"]),
    )
    ex = read_extract(raw)
    got = ex.findings.select("rule_id", "source_row", "column", "value").rows()
    assert ("invalid_code", 1, "type_forlop", "D13") in got
    assert ("invalid_code", 2, "hendelse", "Q") in got
    assert ("invalid_code", 3, "utfall", "Z") in got
    assert ("unexpected_outcome", 5, "utfall", "P") in got
    # an invalid type letter does not make a row typeless (to join another pathway): excluded
    assert 1 not in ex.events["source_row"].to_list()
    assert ex.excluded["source_row"].to_list() == [1, 2, 3, 5]


def test_code_unsure_only_for_unlisted_unconfirmed_codes() -> None:
    # L (postponed by the patient) is not in the code lists but documented in the coding guide:
    # accepted without a finding. An unlisted, unconfirmed local code gets an info finding.
    raw = pl.DataFrame({"pid": ["p1"], "orgnr": ["1"], "dato": ["2024-01-02"], "hendelse": ["L"]})
    assert rules_of(read_extract(raw)) == []
    ext = Path(__file__).parent / "data" / "unsure_extension.toml"
    raw = pl.DataFrame(
        {"pid": ["p1"], "orgnr": ["1"], "dato": ["2024-01-02"], "hendelse": ["X"], "utfall": ["V"]}
    )
    ex = read_extract(raw, extension=ext)
    assert rules_of(ex) == ["code_unsure"]
    assert ex.findings["severity"][0] == "info"


def test_edition_2019_has_no_h_event() -> None:
    raw = pl.DataFrame({"pid": ["p1"], "orgnr": ["1"], "dato": ["2024-01-02"], "kode": ["D11HP"]})
    assert rules_of(read_extract(raw, edition="2024")) == []
    old = read_extract(raw, edition="2019")
    assert rules_of(old) == ["invalid_code"]
    assert "'H' is not an event in the 2019 catalogue" in old.findings["message"][0]


# --- other sources and options -------------------------------------------------------------------


def test_csv_dialects_comma_iso_utf8_bom_and_tab(tmp_path: Path) -> None:
    comma = write_csv(
        tmp_path / "comma.csv",
        "\ufeffpatient_id,institution_id,event_date,code,health_trust\n"
        'p1,974101,2024-01-02,D11A,"Helse Førde, Sogn"\n',
    )
    tab = write_csv(
        tmp_path / "tab.txt",
        "patient_id\tinstitution_id\tevent_date\tcode\np1\t974101\t2.1.2024\tD11A\n",
    )
    a, b = read_extract(comma), read_extract(tab)
    assert a.info.encodings == {str(comma): "utf-8"} and a.info.separators[str(comma)] == ","
    assert b.info.separators[str(tab)] == "\t"
    assert a.events["health_trust"][0] == "Helse Førde, Sogn"
    assert a.events["event_date"][0] == b.events["event_date"][0] == D(2024, 1, 2)


def test_typed_parquet_codings(tmp_path: Path) -> None:
    # Register codings stored as integers: omsorgsniva 2 = day, kjonn 9 = unknown, KommuneNr 301.
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "NPRId": [1],
            "institusjonId": [974101],
            "dato": [dt.datetime(2024, 1, 2, 13, 45)],
            "kode": ["D11A"],
            "omsorgsniva": [2],
            "kjonn": [9],
            "KommuneNr": [301],
            "alder": [34.0],
        }
    ).write_parquet(path)
    row = read_extract(path).events.row(0, named=True)
    assert row["patient_id"] == "1" and row["institution_id"] == "974101"
    assert row["event_date"] == D(2024, 1, 2)
    assert row["care_level"] == "day" and row["sex"] == "unknown"
    assert row["municipality"] == "0301" and row["age"] == 34


def test_ermann_is_yes_no() -> None:
    raw = pl.DataFrame(
        {
            "pid": ["p1", "p2", "p3"],
            "orgnr": ["1", "1", "1"],
            "dato": ["2024-01-02"] * 3,
            "kode": ["D11A"] * 3,
            "ErMann": ["1", "0", "2"],
        }
    )
    ex = read_extract(raw)
    assert ex.events["sex"].to_list() == ["male", "female", None]
    row = only(ex, "bad_value")
    assert row["column"] == "ErMann" and "expected 1 (male) or 0 (female)" in str(row["message"])


def test_ipc_file(tmp_path: Path) -> None:
    path = tmp_path / "extract.arrow"
    CANONICAL_ROWS.write_ipc(path)
    ex = read_extract(path)
    assert ex.info.formats == ("ipc",)
    assert content(ex.events).equals(content(read_extract(CANONICAL_ROWS).events))


def test_mapping_file_and_dict(tmp_path: Path) -> None:
    raw = pl.DataFrame(
        {"PasNr": ["p1"], "Enhet": ["1"], "RegDato": ["02.01.2024"], "Kode": ["D11A"]}
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\npatient_id = "PasNr"\ninstitution_id = "Enhet"\nevent_date = "RegDato"\n',
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="required column 'patient_id' not found"):
        read_extract(raw)
    a = read_extract(raw, columns=mapping)
    b = read_extract(
        raw, columns={"patient_id": "PasNr", "institution_id": "Enhet", "event_date": "RegDato"}
    )
    assert a.events.equals(b.events) and a.events["patient_id"][0] == "p1"
    assert a.info.mappings["<dataframe>"]["event_date"] == "RegDato"
    with pytest.raises(MappingError, match="unknown canonical column"):
        read_extract(raw, columns={"patient": "PasNr"})


def test_glob_list_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    first, second = folder / "a.parquet", folder / "b.csv"
    CANONICAL_ROWS.head(3).write_parquet(first)
    write_csv(
        second,
        "NPRId;institusjonId;dato;kode;omsorgsniva;kjonn;BehHF;fodselsar;KommuneNr\n"
        "p1;974101;30.01.2024;D11CP;3;2;Helse Førde;1990;301\n"  # a duplicate of a.parquet row 3
        "p1;974101;01.06.2024;D11XG;3;2;Helse Førde;1990;301\n"
        "p2;974102;15.03.2024;D01A;1;1;Helse Bergen;1975;4601\n",
        encoding="cp1252",
    )
    by_glob = read_extract(str(folder / "*"))
    by_list = read_extract([first, second])
    by_folder = read_extract(folder)
    for ex in (by_glob, by_list, by_folder):
        assert content(ex.events).equals(content(read_extract(CANONICAL_ROWS).events))
        assert ex.info.sources == (str(first), str(second))
        assert ex.info.duplicates_collapsed == 1
        dup = only(ex, "duplicate_registration")
        # The first occurrence (lowest file, then row) is kept.
        assert dup["source_file"] == str(second) and dup["source_row"] == 2
        assert f"duplicate of {first} row 3" in str(dup["message"])
        assert ex.events["source_file"].to_list() == [str(first)] * 3 + [str(second)] * 2
        assert ex.events["source_row"].to_list() == [1, 2, 3, 3, 4]


def test_glob_given_as_a_path(tmp_path: Path) -> None:
    # The CLI hands the extract argument over as a Path.
    CANONICAL_ROWS.write_parquet(tmp_path / "a.parquet")
    ex = read_extract(tmp_path / "*.parquet")
    assert ex.info.sources == (str(tmp_path / "a.parquet"),)


def test_canonical_events_read_back_unchanged() -> None:
    first = read_extract(SPLIT_ROWS)
    again = read_extract(first.events)
    assert again.findings.is_empty()
    assert content(again.events).equals(content(first.events))


def test_empty_extract(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "empty.csv", "NPRId;institusjonId;dato;kode\n")
    ex = read_extract(path)
    assert ex.events.schema == CANONICAL_SCHEMA and ex.events.height == 0
    assert ex.info.rows_read == 0 and ex.info.reference_date is None


def test_cli_prints_a_whole_file_problem_as_one_line_with_exit_code_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pakkeforlop_cli.main import app

    bad_csv = write_csv(tmp_path / "bad.csv", "NPRId;institusjonId;datum;kode\np1;1;x;D11A\n")
    for path, expected in [
        (tmp_path / "missing.csv", "missing.csv: file not found"),
        (bad_csv, "bad.csv: required column 'event_date' not found"),
    ]:
        result = CliRunner().invoke(
            app, ["timeline", str(path), "-o", str(tmp_path / "out.parquet")]
        )
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.output
        assert "Traceback" not in result.output


def test_lazy_frame_and_scan(tmp_path: Path) -> None:
    eager = read_extract(SPLIT_ROWS)
    from_lazy = read_extract(SPLIT_ROWS.lazy())
    assert eager.events.equals(from_lazy.events)
    lazy = scan_extract(SPLIT_ROWS, as_of=D(2024, 3, 31))
    assert isinstance(lazy, LazyExtract) and isinstance(lazy.events, pl.LazyFrame)
    assert isinstance(lazy.info, ReadInfo) and lazy.info.rows_read is None
    events, findings, excluded = pl.collect_all([lazy.events, lazy.findings, lazy.excluded])
    # the registration after as_of is left out of the events (the extract as it stood then)
    cut = read_extract(SPLIT_ROWS, as_of=D(2024, 3, 31))
    assert events.equals(cut.events) and cut.events.height == eager.events.height - 1
    assert findings["rule_id"].to_list() == ["date_after_reference"]
    assert excluded["reason"].to_list() == ["date_after_reference"]


def test_scan_of_windows_1252_csv_keeps_its_temporary_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extract.csv", REGISTER_CSV, encoding="cp1252")
    lazy = scan_extract(path)
    assert content(lazy.events.collect()).equals(content(read_extract(path).events))


# --- properties ----------------------------------------------------------------------------------

_codes = st.sampled_from(["D11A", "D11M", "D11CU", "D11CP", "D11XG", "D11Q", "X", "D06CU", ""])
_dates = st.sampled_from(["02.01.2024", "2024-01-03", "31.02.2024", "2018-12-31", ""])
_rows = st.lists(
    st.tuples(st.sampled_from(["p1", "p2", ""]), _dates, _codes, st.sampled_from(["1", "4", ""])),
    min_size=1,
    max_size=12,
)


def _frame(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["NPRId", "dato", "kode", "omsorgsniva"], orient="row"
    ).with_columns(pl.lit("974101").alias("institusjonId"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, seed=st.randoms(use_true_random=False))
def test_no_row_lost_and_row_order_does_not_matter(
    rows: list[tuple[str, str, str, str]], seed: object
) -> None:
    shuffled = list(rows)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = read_extract(_frame(rows)), read_extract(_frame(shuffled))
    # Conservation: every input row is an event, an excluded row or a collapsed duplicate.
    assert a.info.duplicates_collapsed is not None
    excluded = sum((a.info.rows_excluded or {}).values())
    assert a.excluded.height == excluded
    assert a.events.height + excluded + a.info.duplicates_collapsed == len(rows) == a.info.rows_read
    assert a.info.rows_usable == a.events.height
    assert exclusion_counts(a.excluded) == exclusion_counts(b.excluded)
    # Row order changes row numbers, not what is read or found. (Which of two duplicates is
    # kept depends on the order; duplicates may differ outside the key, e.g. in care level.)
    keys = [
        "patient_id",
        "institution_id",
        "event_date",
        "pathway_type",
        "event",
        "outcome",
        "code",
    ]
    assert a.events.select(keys).sort(pl.all()).equals(b.events.select(keys).sort(pl.all()))

    def found(ex: Extract) -> list[tuple[object, ...]]:
        return sorted(ex.findings.select("rule_id", "column", "value").rows(), key=repr)

    assert found(a) == found(b)


_trusts = st.sampled_from(["Helse Førde", "Helse Bergen", "Sørlandet", ""])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, trusts=st.lists(_trusts, min_size=12, max_size=12))
def test_register_csv_reads_as_the_same_frame(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, str]],
    trusts: list[str],
) -> None:
    # Written as a Windows-1252, `;`-separated file, the rows read exactly as the frame does
    # (row numbers apart: the CSV counts the header line).
    frame = _frame(rows).with_columns(pl.Series("BehHF", trusts[: len(rows)]))
    path = tmp_path_factory.mktemp("csv") / "extract.csv"
    lines = [";".join(frame.columns)] + [";".join(r) for r in frame.rows()]
    write_csv(path, "\n".join(lines) + "\n", encoding="cp1252")
    a, b = read_extract(frame), read_extract(path)
    assert content(a.events).equals(content(b.events))
    assert (b.events["source_row"] - 1).to_list() == a.events["source_row"].to_list()
    assert a.findings.drop("message", "source_file", "source_row").equals(
        b.findings.drop("message", "source_file", "source_row")
    )


# Keys drawn from tiny alphabets (with gaps), so that exact duplicates and near-duplicates that
# differ in one key column are common.
_key_rows = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", None]),
        st.sampled_from(["974101", "974102"]),
        st.sampled_from([D(2024, 1, 2), D(2024, 1, 3), None]),
        st.sampled_from(["D11", "D01", None]),
        st.sampled_from(["A", "C", None]),
        st.sampled_from(["P", "U", None]),
    ),
    max_size=40,
)


def _keyed(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "institution_id": pl.String,
            "event_date": pl.Date,
            "pathway_type": CANONICAL_SCHEMA["pathway_type"],
            "event": CANONICAL_SCHEMA["event"],
            "outcome": pl.String,
        },
        orient="row",
    )
    # Orders as two files would number them: not contiguous, but increasing.
    order = pl.int_range(pl.len(), dtype=pl.UInt64)
    return frame.with_columns(
        (order + pl.when(order >= 20).then(pl.lit(1 << 40, dtype=pl.UInt64)).otherwise(0)).alias(
            "__order"
        )
    )


@settings(max_examples=60, deadline=None)
@given(rows=_key_rows)
def test_fast_duplicate_search_equals_the_exact_window(rows: list[tuple[object, ...]]) -> None:
    from pakkeforlop.io import read

    frame = _keyed(rows)
    exact = read._with_first_of_duplicates(frame.lazy()).collect()["__first"]
    assert read._first_of_duplicates(frame).equals(exact)
    # A hash that collides for every row only makes every row a candidate: rows that differ in
    # the key are still never collapsed.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(read, "_key_hash", lambda: pl.lit(0, dtype=pl.UInt64))
        assert read._first_of_duplicates(frame).equals(exact)


def test_hash_collision_does_not_collapse_different_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from pakkeforlop.io import read

    # Rows 1 and 3 are exact duplicates; row 2 differs only in the outcome. With every hash equal,
    # row 2 is a candidate too, but it is kept as its own first.
    monkeypatch.setattr(read, "_key_hash", lambda: pl.lit(7, dtype=pl.UInt64))
    frame = _keyed(
        [
            ("p1", "974101", D(2024, 1, 2), "D11", "C", "P"),
            ("p1", "974101", D(2024, 1, 2), "D11", "C", "U"),
            ("p1", "974101", D(2024, 1, 2), "D11", "C", "P"),
        ]
    )
    assert read._first_of_duplicates(frame).to_list() == [0, 1, 0]
