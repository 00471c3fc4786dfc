"""Period labels and bounds (domain/extract-and-timeline.md §3)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.periods import (
    check_period,
    parse_date_or_period,
    period_bounds,
    period_end,
    period_first_day,
    period_label,
    period_number,
    period_of,
    period_start,
)

DAYS = [
    dt.date(2023, 1, 1),
    dt.date(2023, 4, 30),
    dt.date(2023, 5, 1),
    dt.date(2023, 8, 31),
    dt.date(2023, 9, 1),
    dt.date(2023, 12, 31),
    dt.date(2024, 2, 29),
]


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"d": DAYS})


@pytest.mark.parametrize(
    ("period", "labels"),
    [
        ("year", ["2023", "2023", "2023", "2023", "2023", "2023", "2024"]),
        # T1 January–April, T2 May–August, T3 September–December
        ("tertial", ["2023-T1", "2023-T1", "2023-T2", "2023-T2", "2023-T3", "2023-T3", "2024-T1"]),
        ("month", ["2023-01", "2023-04", "2023-05", "2023-08", "2023-09", "2023-12", "2024-02"]),
    ],
)
def test_labels_exact(period: str, labels: list[str]) -> None:
    p = check_period(period)
    out = _frame().select(period_label(pl.col("d"), p))["d"].to_list()
    assert out == labels
    assert [period_of(d, p) for d in DAYS] == labels


def test_bounds_of_tertials_and_months() -> None:
    starts = _frame().select(period_start(pl.col("d"), "tertial").alias("s"))
    ends = starts.select(period_end(pl.col("s"), "tertial"))["s"].to_list()
    assert starts["s"].to_list()[:3] == [
        dt.date(2023, 1, 1),
        dt.date(2023, 1, 1),
        dt.date(2023, 5, 1),
    ]
    assert ends[:3] == [dt.date(2023, 4, 30), dt.date(2023, 4, 30), dt.date(2023, 8, 31)]
    assert period_bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert period_bounds("2023-T3") == (dt.date(2023, 9, 1), dt.date(2023, 12, 31))
    assert period_bounds("2023") == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert period_bounds("2023-12") == (dt.date(2023, 12, 1), dt.date(2023, 12, 31))


@pytest.mark.parametrize("bad", ["2023-T4", "2023-13", "23", "2023-T", "T1", ""])
def test_bad_labels(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="period"):
        period_bounds(bad)


def test_parse_date_or_period() -> None:
    assert parse_date_or_period("2023") == dt.date(2023, 1, 1)
    assert parse_date_or_period("2023", end=True) == dt.date(2023, 12, 31)
    assert parse_date_or_period("2023-05") == dt.date(2023, 5, 1)
    assert parse_date_or_period("2023-05-17", end=True) == dt.date(2023, 5, 17)
    with pytest.raises(ConfigurationError, match="not a date or period: 'soon'"):
        parse_date_or_period("soon")


def test_unknown_period_kind() -> None:
    with pytest.raises(ConfigurationError, match="unknown period 'week'"):
        check_period("week")


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2035, 12, 31)),
    st.sampled_from(["month", "tertial", "year"]),
)
def test_every_date_lies_within_its_period(day: dt.date, period: str) -> None:
    p = check_period(period)
    label = period_of(day, p)
    first, last = period_bounds(label)
    assert first <= day <= last
    row = (
        pl.DataFrame({"d": [day]})
        .select(period_start(pl.col("d"), p).alias("s"), period_label(pl.col("d"), p).alias("l"))
        .with_columns(period_end(pl.col("s"), p).alias("e"))
    )
    assert row.row(0) == (first, label, last)


_MONTHS = {"month": 1, "tertial": 4, "year": 12}

#: Dates of any year, and dates around the bounds of the table the look-ups read
#: (2000-01-01 .. 2099-12-31), with nulls.
_ANY_DAYS = st.lists(
    st.one_of(
        st.none(),
        st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9998, 12, 31)),
        st.dates(min_value=dt.date(1999, 11, 1), max_value=dt.date(2000, 2, 1)),
        st.dates(min_value=dt.date(2099, 11, 1), max_value=dt.date(2100, 2, 1)),
    ),
    min_size=1,
    max_size=40,
)


def _months_on(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter (by hand)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


def _first_day(day: dt.date, period: str) -> dt.date:
    months = _MONTHS[period]
    return dt.date(day.year, (day.month - 1) // months * months + 1, 1)


@settings(max_examples=40, deadline=None)
@given(_ANY_DAYS, st.sampled_from(["month", "tertial", "year"]))
def test_start_and_end_agree_with_the_calendar_inside_and_outside_the_table(
    days: list[dt.date | None], period: str
) -> None:
    # period_start of any date; period_end of any date (of a start: the period's last day; of
    # another day: the day before the same day N months on), as the calendar gives them
    p = check_period(period)
    got = pl.DataFrame({"d": days}, schema={"d": pl.Date}).select(
        period_start(pl.col("d"), p).alias("s"), period_end(pl.col("d"), p).alias("e")
    )
    assert got["s"].to_list() == [None if d is None else _first_day(d, p) for d in days]
    assert got["e"].to_list() == [
        None if d is None else _months_on(d, _MONTHS[p]) - dt.timedelta(days=1) for d in days
    ]


@settings(max_examples=40, deadline=None)
@given(_ANY_DAYS, st.sampled_from(["month", "tertial", "year"]))
def test_period_numbers_count_periods_and_give_their_first_day(
    days: list[dt.date | None], period: str
) -> None:
    # consecutive periods have consecutive numbers, and a number's first day is period_start's
    p = check_period(period)
    got = (
        pl.DataFrame({"d": days}, schema={"d": pl.Date})
        .with_columns(period_number(pl.col("d"), p).alias("n"))
        .with_columns(period_first_day(pl.col("n"), p).alias("first"))
    )
    per_year = 12 // _MONTHS[p]
    for day, number, first in got.select("d", "n", "first").rows():
        if day is None:
            assert number is None and first is None
        else:
            assert first == _first_day(day, p)
            assert number == day.year * per_year + (day.month - 1) // _MONTHS[p]


def test_period_bounds_are_elementwise_in_aggregations_and_take_a_datetime_as_its_day() -> None:
    # one date per group inside group_by().agg (not a list), names as documented, and a
    # datetime read as the day it falls on (period bounds are days)
    frame = pl.DataFrame(
        {
            "g": [1, 1, 2],
            "d": [dt.date(2023, 6, 15), dt.date(2023, 2, 1), dt.date(2030, 12, 31)],
            "t": [dt.datetime(2023, 6, 15, 13, 30)] * 3,
        }
    )
    agg = (
        frame.group_by("g")
        .agg(
            period_start(pl.col("d").min(), "tertial").alias("first"),
            period_end(pl.col("d").max(), "month").alias("last"),
            period_first_day(period_number(pl.col("d").min(), "year"), "year").alias("year"),
        )
        .sort("g")
    )
    assert agg.schema["first"] == pl.Date and agg.schema["last"] == pl.Date
    assert agg.rows() == [
        (1, dt.date(2023, 1, 1), dt.date(2023, 7, 14), dt.date(2023, 1, 1)),
        (2, dt.date(2030, 9, 1), dt.date(2031, 1, 30), dt.date(2030, 1, 1)),
    ]
    named = frame.select(period_start(pl.col("t"), "tertial"), period_end(pl.col("t"), "year"))
    assert named.columns == ["date", "t"]
    assert named.row(0) == (dt.date(2023, 5, 1), dt.date(2024, 6, 14))
