"""Norwegian working days and public holidays (domain/extract-and-timeline.md §3)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pakkeforlop.calendar import (
    add_working_days,
    add_working_days_expr,
    easter_sunday,
    holidays_between,
    is_working_day,
    public_holidays,
    working_days_between,
    working_days_expr,
)


def test_easter_dates_known_years() -> None:
    known = {
        2019: dt.date(2019, 4, 21),
        2020: dt.date(2020, 4, 12),
        2021: dt.date(2021, 4, 4),
        2022: dt.date(2022, 4, 17),
        2023: dt.date(2023, 4, 9),
        2024: dt.date(2024, 3, 31),
        2025: dt.date(2025, 4, 20),
        2038: dt.date(2038, 4, 25),  # latest possible date
        2285: dt.date(2285, 3, 22),  # earliest possible date
    }
    for year, day in known.items():
        assert easter_sunday(year) == day


def test_holidays_2023() -> None:
    # Easter Sunday 9 April 2023: Maundy Thursday 6/4, Good Friday 7/4, Easter Monday 10/4,
    # Ascension Day (+39) 18/5, Whit Monday (+50) 29/5.
    assert [d.isoformat() for d in public_holidays(2023)] == [
        "2023-01-01",
        "2023-04-06",
        "2023-04-07",
        "2023-04-10",
        "2023-05-01",
        "2023-05-17",
        "2023-05-18",
        "2023-05-29",
        "2023-12-25",
        "2023-12-26",
    ]
    assert dt.date(2023, 5, 28) in public_holidays(2023, include_sundays=True)  # Whit Sunday


def test_working_days() -> None:
    assert not is_working_day(dt.date(2023, 4, 6))  # Maundy Thursday
    assert not is_working_day(dt.date(2023, 4, 8))  # Saturday
    assert is_working_day(dt.date(2023, 4, 11))
    # Wed 5 April 2023 + 10 working days: 11,12,13,14,17,18,19,20,21,24 April → 24 April.
    assert add_working_days(dt.date(2023, 4, 5), 10) == dt.date(2023, 4, 24)
    assert working_days_between(dt.date(2023, 4, 5), dt.date(2023, 4, 24)) == 10
    assert working_days_between(dt.date(2023, 4, 24), dt.date(2023, 4, 5)) == -10
    # From a Saturday, the first working day is the Monday.
    assert add_working_days(dt.date(2023, 4, 15), 1) == dt.date(2023, 4, 17)
    assert holidays_between(dt.date(2023, 12, 24), dt.date(2024, 1, 2)) == [
        dt.date(2023, 12, 25),
        dt.date(2023, 12, 26),
        dt.date(2024, 1, 1),
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2030, 12, 31)),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=30),
)
def test_expressions_match_scalars(days: list[dt.date], n: int) -> None:
    df = pl.DataFrame({"d": days})
    added = df.select(add_working_days_expr(pl.col("d"), n))["d"].to_list()
    assert added == [add_working_days(d, n) for d in days]
    ends = [d + dt.timedelta(days=n) for d in days]
    counted = (
        df.with_columns(e=pl.Series(ends))
        .select(working_days_expr(pl.col("d"), pl.col("e")))["d"]
        .to_list()
    )
    assert counted == [working_days_between(a, b) for a, b in zip(days, ends, strict=True)]


def test_negative_expression_shift_matches_scalar() -> None:
    days = [dt.date(2023, 4, 15), dt.date(2023, 4, 11)]  # a Saturday, a Tuesday
    out = pl.DataFrame({"d": days}).select(add_working_days_expr(pl.col("d"), -3))["d"].to_list()
    assert out == [add_working_days(d, -3) for d in days]
