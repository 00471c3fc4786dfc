"""The compiled timeline pass gives exactly what the general (polars) path gives.

The general path of :mod:`pakkeforlop.timeline.assign` and :mod:`~pakkeforlop.timeline.milestones`
is the definition; ``PAKKEFORLOP_COMPILED_TIMELINE=0`` selects it. Every test here builds the
same events both ways and compares pathways, findings and assignments.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from timeline_helpers import events

from pakkeforlop import build_pathways, read_extract
from pakkeforlop.schema import CANONICAL_SCHEMA
from pakkeforlop.synth import generate
from pakkeforlop.timeline import compiled

SAMPLE = Path(__file__).parent.parent / "sample_data" / "extract.parquet"


@pytest.fixture(autouse=True)
def _compiled_for_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # below compiled.MIN_ROWS the general path is taken; these tests compare the two on
    # small tables, so the pass is made to apply to them
    monkeypatch.setattr(compiled, "MIN_ROWS", 0)


_EVENTS = ["A", "P", "M", "L", "C", "D", "S", "U", "F", "E", "H", "T", "X"]
_OUTCOMES = {
    "C": ["U", "P", "I", "T", None],
    "U": ["U", "B", "F", "V", "K", None],
    "S": ["M", "I", None],
    "X": ["G", "O", "R", None],
    "H": ["A", "B", None],
}


def _both(ev: pl.DataFrame, **kw: object) -> None:
    """Build ``ev`` with the compiled pass and with the general path; they must be equal."""
    built = {}
    for switch in ("1", "0"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(compiled.ENV_SWITCH, switch)
            tl = build_pathways(ev, **kw)  # type: ignore[arg-type]
            pathways, findings, assigned = pl.collect_all(
                [tl.pathways, tl.findings, tl.assignments]
            )
        built[switch] = (pathways, findings.sort(pl.all()), assigned)
    for got, want in zip(built["1"], built["0"], strict=True):
        assert_frame_equal(got, want)


@st.composite
def typed_registrations(draw: st.DrawFn) -> pl.DataFrame:
    """Typed registrations of every event, outcome, care level and age (some unusable)."""
    n = draw(st.integers(min_value=1, max_value=40))
    rows = []
    for _ in range(n):
        event = draw(st.sampled_from(_EVENTS))
        rows.append(
            (
                draw(st.sampled_from(["p1", "p2"])),
                draw(st.sampled_from(["i1", "i2"])),
                dt.date(2023, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40))),
                draw(st.sampled_from(["D11", "D01", "D12"])),
                event,
                draw(st.sampled_from(_OUTCOMES[event])) if event in _OUTCOMES else None,
            )
        )
    ev = events(*rows)

    def column(name: str, values: st.SearchStrategy[object]) -> pl.Series:
        drawn = draw(st.lists(values, min_size=n, max_size=n))
        return pl.Series(name, drawn, dtype=CANONICAL_SCHEMA[name])

    gone = pl.Series(
        draw(
            st.lists(st.sampled_from(["", "", "", "", "patient", "event"]), min_size=n, max_size=n)
        )
    )
    return ev.with_columns(
        column("care_level", st.sampled_from(["inpatient", "day", "outpatient", None])),
        column("age", st.sampled_from([None, 8, 17, 19, 45])),
        column("birth_year", st.sampled_from([None, 1970, 2010])),
        pl.when(gone != "patient").then(pl.col("patient_id")).alias("patient_id"),
        pl.when(gone != "event").then(pl.col("event")).alias("event"),
    )


@settings(max_examples=150, deadline=None)
@given(typed_registrations())
def test_compiled_pass_equals_the_general_path(ev: pl.DataFrame) -> None:
    _both(ev)


@settings(max_examples=30, deadline=None)
@given(typed_registrations())
def test_compiled_pass_with_an_earlier_reference_date(ev: pl.DataFrame) -> None:
    _both(ev, as_of=dt.date(2023, 1, 20))


def test_compiled_pass_on_the_sample_and_on_synthetic_data() -> None:
    sample = read_extract(SAMPLE)
    _both(sample.events, as_of=sample.info.reference_date)
    clean = generate(1500, seed=4).events
    _both(clean)
    # the synthetic pathways as registered, and shuffled: the order of the input does not matter
    _both(clean.sample(fraction=1.0, shuffle=True, seed=1))


#: care levels of the rows of test_every_milestone_of_one_pathway: the final C is outpatient,
#: the detox end inpatient, the two evaluations day and outpatient
_CARE_LEVELS = [None, None, None, None, "outpatient", "inpatient", None, None, None, None]
_CARE_LEVELS += ["day", "outpatient", None, None]


def test_every_milestone_of_one_pathway(monkeypatch: pytest.MonkeyPatch) -> None:
    # hand-checked: one D01 pathway through every event, then an orphan after its end
    ev = events(
        ("p", "i", "2023-01-02", "D01", "A", None),
        ("p", "i", "2023-01-04", "D01", "L", None),
        ("p", "i", "2023-01-05", "D01", "M", None),
        ("p", "i", "2023-01-06", "D01", "C", "U"),
        ("p", "i", "2023-01-10", "D01", "C", "P"),
        ("p", "i", "2023-01-12", "D01", "D", None),
        ("p", "i", "2023-01-12", "D01", "U", "B"),
        ("p", "i", "2023-01-13", "D01", "H", "A"),
        ("p", "i", "2023-01-14", "D01", "S", "I"),
        ("p", "i", "2023-01-15", "D01", "U", "U"),
        ("p", "i", "2023-01-16", "D01", "E", None),
        ("p", "i", "2023-02-16", "D01", "E", None),
        ("p", "i", "2023-02-20", "D01", "X", "G"),
        ("p", "i", "2023-02-21", "D01", "E", None),
        care_level=_CARE_LEVELS,
    )
    _both(ev)
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    tl = build_pathways(ev)
    p = tl.pathways.collect().row(0, named=True)
    assert (p["first_decision_outcome"], p["final_decision_outcome"]) == ("U", "P")
    assert p["extended_assessment"] and not p["direct_to_treatment"]
    assert (p["decision_count"], p["postponements"], p["event_count"]) == (2, 1, 13)
    assert p["detox_end_date"] == dt.date(2023, 1, 12)
    # U-B on the detox day sorts after D (same-day order) and is the first registration after it
    assert p["treatment_start_date"] == dt.date(2023, 1, 12)
    assert p["care_level"] == "outpatient" and p["detox_end_care_level"] == "inpatient"
    assert p["evaluation_dates"] == [dt.date(2023, 1, 16), dt.date(2023, 2, 16)]
    assert p["evaluation_care_levels"] == ["day", "outpatient"]
    assert p["activity_outcomes"] == ["B", "U"]
    assert (p["collaboration"], p["help_needed"], p["end_reason"]) == ("I", "A", "G")
    fate = tl.assignments.collect()["orphan_rule"].to_list()
    assert fate == [None] * 13 + ["event_after_end"]


def test_outcomes_longer_than_a_letter_take_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the packed key holds an outcome's first letter only: "UB" must not pass for "U"
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-05", "D11", "U", "UB"),
        ("p", "i", "2023-01-06", "D11", "U", "U"),
    )
    _both(ev)
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    assert build_pathways(ev).pathways.collect()["plan_date"].to_list() == [dt.date(2023, 1, 6)]


def test_switch_turns_the_pass_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    assert not compiled.available()
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    assert compiled.available()


_CHILD = """
import json, os, sys
import polars as pl
from polars.testing import assert_frame_equal
from pakkeforlop import build_pathways, read_extract
from pakkeforlop.timeline import compiled
compiled.MIN_ROWS = 0
ex = read_extract(sys.argv[1])
out = {}
for switch in ("1", "0"):
    os.environ[compiled.ENV_SWITCH] = switch
    tl = build_pathways(ex.events, as_of=ex.info.reference_date)
    out[switch] = pl.collect_all([tl.pathways, tl.findings.sort(pl.all()), tl.assignments])
for got, want in zip(out["1"], out["0"]):
    assert_frame_equal(got, want)
stats = getattr(compiled._kernel(), "stats", None)  # none when NUMBA_DISABLE_JIT
print(json.dumps({"hits": stats and sum(stats.cache_hits.values()),
                  "misses": stats and sum(stats.cache_misses.values()),
                  "jit": os.environ.get("NUMBA_DISABLE_JIT", "")}))
"""


def _child(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(SAMPLE)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_pass_as_plain_python_gives_the_same_result() -> None:
    # NUMBA_DISABLE_JIT runs the state machine as the Python function it is written as
    ran = _child({"NUMBA_DISABLE_JIT": "1"})
    assert ran["jit"] == "1" and ran["hits"] is None


def test_a_fresh_process_after_warm_up_loads_the_cache(tmp_path: Path) -> None:
    # the first process compiles and writes the cache; the next one only loads it
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = _child(env)
    assert first["misses"] == 1 and first["hits"] == 0, first
    second = _child(env)
    assert second["misses"] == 0 and second["hits"] == 1, second
    assert any((tmp_path / "cache").rglob("*.nbi"))


def test_groups_sharing_the_keys_hash_bits_are_ordered_as_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keep only 4 bits of the group hash in the key: nearly every group then shares them with
    # others (at full width about one pair per million groups does), so the local re-sort by
    # the full hash and the split of groups by the payload's second hash are exercised.
    monkeypatch.setattr(compiled, "_HASH_SHIFT", 60)
    keys_seen: list[int] = []
    order = compiled._order

    def spy(keys: pl.DataFrame) -> object:
        result = order(keys)
        assert result is not None
        keys_seen.append(keys.height)
        return result

    monkeypatch.setattr(compiled, "_order", spy)
    _both(generate(300, seed=8).events)
    assert keys_seen, "the compiled path was not taken"


def test_two_groups_with_one_full_hash_take_the_general_path() -> None:
    # rows of two groups whose first hash is equal and second differs: no order by hash exists
    keys = pl.DataFrame(
        {
            "_k": pl.Series([5 << 26, 5 << 26], dtype=pl.UInt64),
            "_g": pl.Series([5 << 26, 5 << 26], dtype=pl.UInt64),
            "_payload": pl.Series([1 << 18, 2 << 18], dtype=pl.UInt64),
        }
    )
    assert compiled._order(keys) is None
    # the same first hash with the same second hash is one group: ordered
    same = keys.with_columns(pl.Series("_payload", [1 << 18, (1 << 18) + 1], dtype=pl.UInt64))
    apart = pl.Series("_k", [5 << 26, (5 << 26) + 1], dtype=pl.UInt64)
    assert compiled._order(same.with_columns(apart)) is not None


def test_duplicate_registrations_take_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # two registrations alike in every part of the key: only the general path's tie break
    # (file, outcome, row) orders them
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-05", "D11", "M", None),
    )
    calls: list[object] = []
    kernel = compiled._kernel

    def spy() -> object:
        calls.append(1)
        return kernel()

    monkeypatch.setattr(compiled, "_kernel", spy)
    _both(ev)
    assert not calls


def test_warm_up_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pakkeforlop_cli.main import app

    runner = CliRunner()
    done = runner.invoke(app, ["warm-up"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("timeline pass ") and " s" in done.output
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    off = runner.invoke(app, ["warm-up"])
    assert off.exit_code == 2 and "switched off" in off.output


def test_an_empty_outcome_is_a_value_not_none() -> None:
    # the general path keeps "" as written (the reader turns blanks into null before)
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("p", "i", "2023-01-05", "D11", "C", ""),
        ("p", "i", "2023-01-06", "D11", "U", ""),
        ("p", "i", "2023-01-07", "D11", "C", "P"),
        ("p", "i", "2023-01-08", "D11", "X", ""),
    )
    _both(ev)


def test_other_types_of_the_coded_columns_take_the_general_path() -> None:
    # the pass reads the enums' physical codes; a categorical type would mean other codes
    ev = events(
        ("p", "i", "2023-01-02", "D11", "A", None),
        ("q", "i", "2023-01-02", "D01", "A", None),
    )
    assert compiled.fits_schema(ev.schema)
    other = ev.with_columns(pl.col("pathway_type").cast(pl.String).cast(pl.Categorical))
    assert not compiled.fits_schema(other.schema)


def test_a_treatment_rule_naming_no_event_matches_nothing() -> None:
    assert compiled._event_mask(["D", "Q"]) == compiled._event_mask(["D"])


def test_without_a_writable_cache_the_pass_compiles_for_the_process(tmp_path: Path) -> None:
    # a read-only installation and home: numba finds no cache location; the pass still runs
    env = {
        "HOME": "/dev/null",
        "XDG_CACHE_HOME": "/dev/null",
        "NUMBA_CACHE_LOCATOR_CLASSES": "UserWideCacheLocator",
    }
    ran = _child(env)
    assert ran["hits"] == 0, ran


def test_small_tables_take_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # below MIN_ROWS loading the pass costs more than it saves: it is not called, and the
    # pipeline starts no warm-up for a small extract
    from pakkeforlop import pipeline

    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000_000)
    calls: list[str] = []
    monkeypatch.setattr(compiled, "walk_events", lambda *_: calls.append("walk"))
    monkeypatch.setattr(compiled, "warm_up_in_background", lambda: calls.append("warm"))
    sample = read_extract(SAMPLE)
    assert sample.events.height < compiled.MIN_ROWS
    pipeline.prepare(SAMPLE)
    assert calls == []
    assert compiled.worth_it(None) and compiled.worth_it(compiled.MIN_ROWS)
    assert not compiled.worth_it(compiled.MIN_ROWS - 1)
