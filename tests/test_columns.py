"""Tests of column mapping: built-in aliases and mapping files (extract-and-timeline.md §1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pakkeforlop.errors import MappingError
from pakkeforlop.io.columns import ALIASES, NPR_NAMES, ColumnMapping, load_mapping, resolve_columns
from pakkeforlop.schema import CANONICAL_SCHEMA

REGISTER = ["NPRId", "institusjonId", "dato", "kode"]


def test_aliases_match_ignoring_case() -> None:
    got = resolve_columns(["nprid", "INSTITUSJONID", "Dato", "KODE", "Omsorgsniva", "ErMann"])
    assert got == {
        "patient_id": "nprid",
        "institution_id": "INSTITUSJONID",
        "event_date": "Dato",
        "code": "KODE",
        "care_level": "Omsorgsniva",
        "sex": "ErMann",
    }


def test_canonical_names_are_always_accepted() -> None:
    names = [n for n in CANONICAL_SCHEMA.names() if n not in ("source_file", "source_row")]
    assert resolve_columns(names) == {n: n for n in names}


def test_register_names_resolve_to_their_canonical_column() -> None:
    # The synthetic `npr` dialect writes NPR_NAMES; reading them back must give the same columns.
    assert resolve_columns(list(NPR_NAMES.values())) == NPR_NAMES
    for canonical, name in NPR_NAMES.items():
        assert name in ALIASES[canonical]


def test_unknown_columns_are_ignored() -> None:
    assert resolve_columns([*REGISTER, "kommentar"]) == {
        "patient_id": "NPRId",
        "institution_id": "institusjonId",
        "event_date": "dato",
        "code": "kode",
    }


def test_mapping_wins_over_aliases() -> None:
    mapping = ColumnMapping(columns={"event_date": "RegDato"})
    got = resolve_columns([*REGISTER, "RegDato"], mapping=mapping)
    assert got["event_date"] == "RegDato"


def test_a_mapped_column_is_not_taken_by_an_alias_too() -> None:
    # `kode` is mapped to pathway_id; the combined-code column then has to come from elsewhere.
    mapping = ColumnMapping(columns={"pathway_id": "kode"})
    got = resolve_columns(["NPRId", "institusjonId", "dato", "kode", "hendelse"], mapping=mapping)
    assert got["pathway_id"] == "kode" and "code" not in got and got["event"] == "hendelse"


def test_missing_required_column_says_which_and_the_aliases_tried() -> None:
    with pytest.raises(MappingError) as err:
        resolve_columns(["NPRId", "institusjonId", "datum", "kode"], source="x.csv")
    text = str(err.value)
    assert text.startswith("x.csv: required column 'event_date' not found")
    assert "tried, ignoring case: event_date, dato, hendelsesdato, tidspunkt" in text
    assert "did you mean 'datum'?" in text


def test_missing_required_column_without_a_close_name_lists_the_file_columns() -> None:
    with pytest.raises(MappingError, match=r"the file has: NPRId, institusjonId, kode"):
        resolve_columns(["NPRId", "institusjonId", "kode"])


def test_neither_code_nor_event() -> None:
    with pytest.raises(MappingError, match=r"neither a combined-code column \('code', tried: kode"):
        resolve_columns(["NPRId", "institusjonId", "dato"])


def test_mapped_column_must_exist() -> None:
    mapping = ColumnMapping(columns={"event_date": "RegDato"})
    with pytest.raises(MappingError, match=r"names column 'RegDato' for 'event_date'.*'dato'"):
        resolve_columns(REGISTER, mapping=mapping, source="x.csv")


def test_two_columns_matching_one_canonical_column_is_ambiguous() -> None:
    with pytest.raises(MappingError, match=r"columns \['kode', 'forlopskode'\] all match 'code'"):
        resolve_columns([*REGISTER, "forlopskode"])


def test_load_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text('[columns]\npatient_id = "LopeNr_pasient"\n', encoding="utf-8")
    assert load_mapping(path).columns == {"patient_id": "LopeNr_pasient"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[columns\n", "not a valid TOML file"),
        ('[columns]\npatient = "x"\n', "unknown canonical column"),
        ('[other]\npatient_id = "x"\n', "columns"),
    ],
)
def test_load_mapping_errors_name_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value)


def test_load_mapping_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="column mapping file not found"):
        load_mapping(tmp_path / "nope.toml")
