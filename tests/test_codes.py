"""The code catalogue (domain/codes.md): editions, combined codes, look-ups, extensions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pakkeforlop.codes import (
    decode_combined,
    decode_combined_expr,
    editions,
    encode_combined,
    load_catalogue,
)
from pakkeforlop.errors import CatalogueError

SAMPLE_EXTENSION = Path(__file__).parent.parent / "sample_data" / "catalogue_extension.toml"


def test_both_editions_ship() -> None:
    assert editions() == ["2019", "2024"]


@pytest.mark.parametrize(
    ("edition", "systems"),
    [
        ("2019", {9321, 9322, 9323, 9324, 9325, 9326, 9327}),
        ("2024", {9321, 9322, 9323, 9324, 9325, 9326, 9327, 9328}),
    ],
)
def test_every_code_system_loaded(edition: str, systems: set[int]) -> None:
    cat = load_catalogue(edition)
    assert {s.id for s in cat.systems} == systems
    # every system but the derived 9327 has codes
    for sid in systems - {9327}:
        assert cat.codes_in(sid), sid
    assert len(cat.codes_in(9321)) == 8
    assert len(cat.codes_in(9323)) == 7
    assert set(cat.codes_in_letters(9326)) == set("GRLNOPMA")


def test_outcome_systems_belong_to_their_events() -> None:
    cat = load_catalogue("2024")
    assert {e: c.outcome_system for e, c in cat.events.items() if c.outcome_system} == {
        "C": 9323,
        "S": 9324,
        "U": 9325,
        "X": 9326,
        "H": 9328,
    }
    # 9328 is the letters of 9323 without U (domain/codes.md §4)
    assert set(cat.outcomes("H")) == set(cat.outcomes("C")) - {"U"}


@pytest.mark.parametrize(("edition", "count"), [("2019", 198), ("2024", 246)])
def test_combined_code_counts(edition: str, count: int) -> None:
    codes = load_catalogue(edition).combined_codes()
    assert len(codes) == count
    assert len(set(codes)) == count


def test_2024_adds_exactly_the_48_h_codes() -> None:
    new = set(load_catalogue("2024").combined_codes()) - set(
        load_catalogue("2019").combined_codes()
    )
    assert len(new) == 48
    assert {c[3] for c in new} == {"H"}


@pytest.mark.parametrize(
    ("suffix", "types"),
    [
        ("CU", {"D01", "D11", "D12"}),
        ("D", {"D01", "D09", "D10"}),
        ("P", {"D06"}),
        ("T", {"D07"}),
        ("UE", {"D07"}),
        ("US", {"D08"}),
        ("UF", {"D01", "D06", "D07", "D09", "D10", "D11", "D12"}),
        ("UV", {"D06", "D07", "D08", "D11", "D12"}),
        ("XM", {"D01", "D07", "D08", "D09", "D10", "D11", "D12"}),
        ("XR", {"D01", "D06", "D07", "D08", "D09", "D10", "D11", "D12"}),
    ],
)
def test_validity_matrix(suffix: str, types: set[str]) -> None:
    # domain/codes.md §5, row by row
    codes = load_catalogue("2024").combined_codes()
    assert {c[:3] for c in codes if c[3:] == suffix} == types


def test_postponement_is_accepted_but_not_listed() -> None:
    cat = load_catalogue("2024")
    assert "D01L" not in cat.combined_codes()
    assert "D01L" in cat.combined_codes(include_unlisted=True)
    assert cat.is_valid("D01", "L")
    assert not cat.is_valid("D11", "L")


def test_validity_dates() -> None:
    cat = load_catalogue("2019")
    assert not cat.is_valid("D07", "A", on=dt.date(2019, 2, 14))
    assert cat.is_valid("D07", "A", on=dt.date(2019, 2, 15))
    assert cat.is_valid("D11", "A", on=dt.date(2019, 1, 1))


@given(st.sampled_from(load_catalogue("2024").combined_codes(include_unlisted=True)))
def test_decode_encode_round_trip(code: str) -> None:
    ptype, event, outcome = decode_combined(code)
    assert encode_combined(ptype, event, outcome) == code
    assert load_catalogue("2024").is_valid(ptype, event, outcome)


def test_vectorised_decode_matches_scalar() -> None:
    codes = load_catalogue("2024").combined_codes()
    decoded = (
        pl.DataFrame({"code": codes}).select(decode_combined_expr(pl.col("code"))).unnest("code")
    )
    assert list(decoded.iter_rows()) == [decode_combined(c) for c in codes]


@pytest.mark.parametrize("bad", ["D11", "11CU", "DXXCU", "D11CUU", ""])
def test_decode_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="not a combined code"):
        decode_combined(bad)


def test_extension_adds_local_codes() -> None:
    cat = load_catalogue("2024", extension=SAMPLE_EXTENSION)
    assert cat.is_valid("D11", "X", "V")
    assert cat.is_valid("D11", "U", "Z")
    assert cat.indicator_codes == {"somatic_followup": (("U", "Z"),)}
    assert len(cat.combined_codes()) == 246 + 2 * 8
    assert load_catalogue("2024").indicator_codes == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[code]]\nsystem = 9326\ncode = "G"\nnb = "x"\nen = "x"\n', "already exists"),
        ('[[code]]\nsystem = 9321\ncode = "D99"\nnb = "x"\nen = "x"\n', "only be added"),
        ('[[code]]\nsystem = 9328\ncode = "Q"\nnb = "x"\nen = "x"\n', "only be added"),
        ('[[code]]\nsystem = 9326\ncode = "Q"\n', "entry 1: nb"),
        ("[[code]\n", "not a valid TOML"),
        ("[codes]\nx = 1\n", "unexpected top-level"),
    ],
)
def test_bad_extension_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ext.toml"
    path.write_text(text, encoding="utf-8")
    edition = "2019" if "9328" in text else "2024"
    with pytest.raises(CatalogueError, match=message) as info:
        load_catalogue(edition, extension=path)
    assert str(path) in str(info.value)


def test_unknown_edition_and_missing_extension() -> None:
    with pytest.raises(CatalogueError, match="expected one of 2019, 2024"):
        load_catalogue("2020")
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue("2024", extension="no/such/file.toml")
