"""Norwegian working days and public holidays, computed from the Easter date.

See domain/extract-and-timeline.md §3: the legal assessment deadline for referrals is 10 working
days, and the patient-postponement rule (L) speaks of 7 working days. Working days exclude
Saturdays, Sundays and the Norwegian public holidays (*helligdager* and the two national days):
New Year's Day, Maundy Thursday, Good Friday, Easter Monday, 1 May, 17 May, Ascension Day, Whit
Monday, Christmas Day and Boxing Day. The movable feasts are computed from Easter Sunday (the
Gregorian computus), not from a hard-coded list.

Easter Sunday and Whit Sunday always fall on a Sunday and so never change the working-day count;
they are included by :func:`public_holidays` with ``include_sundays=True`` for completeness.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

__all__ = [
    "add_working_days",
    "add_working_days_expr",
    "easter_sunday",
    "holidays_between",
    "is_working_day",
    "public_holidays",
    "working_days_between",
    "working_days_expr",
]

#: Years covered by the holiday list the expression helpers pass to polars.
_EXPR_YEARS = range(2000, 2101)


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of a year in the Gregorian calendar (anonymous Gregorian algorithm).

    Args:
        year: The year, e.g. 2024.

    Returns:
        The date of Easter Sunday.

    Examples:
        >>> easter_sunday(2024), easter_sunday(2019), easter_sunday(2025)
        (datetime.date(2024, 3, 31), datetime.date(2019, 4, 21), datetime.date(2025, 4, 20))
    """
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@cache
def public_holidays(year: int, *, include_sundays: bool = False) -> tuple[dt.date, ...]:
    """The Norwegian public holidays of a year, sorted.

    Args:
        year: The year.
        include_sundays: Also list Easter Sunday and Whit Sunday (always Sundays anyway).

    Returns:
        The dates: New Year's Day, Maundy Thursday, Good Friday, Easter Monday, 1 May, 17 May,
        Ascension Day, Whit Monday, Christmas Day, Boxing Day (plus the two Sundays if asked).

    Examples:
        >>> [d.isoformat() for d in public_holidays(2024)][:5]
        ['2024-01-01', '2024-03-28', '2024-03-29', '2024-04-01', '2024-05-01']
        >>> len(public_holidays(2024)), len(public_holidays(2024, include_sundays=True))
        (10, 12)
    """
    easter = easter_sunday(year)

    def from_easter(days: int) -> dt.date:
        return easter + dt.timedelta(days=days)

    days = [
        dt.date(year, 1, 1),  # første nyttårsdag
        from_easter(-3),  # skjærtorsdag
        from_easter(-2),  # langfredag
        from_easter(1),  # andre påskedag
        dt.date(year, 5, 1),  # offentlig høytidsdag
        dt.date(year, 5, 17),  # grunnlovsdag
        from_easter(39),  # Kristi himmelfartsdag
        from_easter(50),  # andre pinsedag
        dt.date(year, 12, 25),  # første juledag
        dt.date(year, 12, 26),  # andre juledag
    ]
    if include_sundays:
        days += [easter, from_easter(49)]  # første påskedag, første pinsedag
    return tuple(sorted(set(days)))


def holidays_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Public holidays from ``start`` to ``end``, both inclusive.

    Args:
        start: First day.
        end: Last day.

    Returns:
        The holidays, sorted.

    Examples:
        >>> [d.isoformat() for d in holidays_between(dt.date(2024, 5, 1), dt.date(2024, 5, 31))]
        ['2024-05-01', '2024-05-09', '2024-05-17', '2024-05-20']
    """
    return [
        d
        for year in range(start.year, end.year + 1)
        for d in public_holidays(year)
        if start <= d <= end
    ]


def is_working_day(day: dt.date) -> bool:
    """Whether a date is a Norwegian working day (Monday–Friday and not a public holiday).

    Args:
        day: The date.

    Returns:
        True on working days.

    Examples:
        >>> is_working_day(dt.date(2024, 5, 17)), is_working_day(dt.date(2024, 5, 16))
        (False, True)
    """
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The date ``n`` working days after (or, for negative ``n``, before) a date.

    The start day itself is not counted, so a referral received on a Friday with a 10-working-day
    deadline is due on the Friday two weeks later when no holiday intervenes.

    Args:
        day: The start date (need not be a working day).
        n: Number of working days to move.

    Returns:
        The date reached.

    Examples:
        >>> add_working_days(dt.date(2024, 3, 22), 10)  # Easter: 28 Mar, 29 Mar, 1 Apr off
        datetime.date(2024, 4, 10)
        >>> add_working_days(dt.date(2024, 4, 10), -10)
        datetime.date(2024, 3, 22)
    """
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    current = day
    while remaining:
        current += dt.timedelta(days=step)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` < ``start``).

    Args:
        start: The earlier date (not counted).
        end: The later date (counted when a working day).

    Returns:
        The count, so that ``add_working_days(start, working_days_between(start, end))`` is the
        last working day on or before ``end``.

    Examples:
        >>> working_days_between(dt.date(2024, 3, 22), dt.date(2024, 4, 10))
        10
    """
    if end < start:
        return -working_days_between(end, start)
    return sum(
        is_working_day(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )


@cache
def _expr_holidays() -> tuple[dt.date, ...]:
    return tuple(d for year in _EXPR_YEARS for d in public_holidays(year))


def working_days_expr(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Vectorised :func:`working_days_between` for date columns (years 2000–2100).

    Args:
        start: Date expression (not counted).
        end: Date expression (counted when a working day).

    Returns:
        An integer expression.

    Examples:
        >>> df = pl.DataFrame({"a": [dt.date(2024, 3, 22)], "b": [dt.date(2024, 4, 10)]})
        >>> df.select(working_days_expr(pl.col("a"), pl.col("b"))).item()
        10
    """
    # business_day_count counts [start, end); shifting both by a day gives (start, end].
    one = pl.duration(days=1)
    return pl.business_day_count(start + one, end + one, holidays=_expr_holidays())


def add_working_days_expr(day: pl.Expr, n: int | pl.Expr) -> pl.Expr:
    """Vectorised :func:`add_working_days` for a date column (years 2000–2100).

    Args:
        day: Date expression.
        n: Working days to add: an integer (negative moves back), or a non-negative integer
            expression.

    Returns:
        A date expression.

    Examples:
        >>> df = pl.DataFrame({"a": [dt.date(2024, 3, 22), dt.date(2024, 5, 16)]})
        >>> df.select(add_working_days_expr(pl.col("a"), 10))["a"].to_list()
        [datetime.date(2024, 4, 10), datetime.date(2024, 6, 3)]
    """
    # add_business_days rolls a non-working start forward first; rolling backward to the last
    # working day on or before the start gives the same count as the scalar version.
    holidays = _expr_holidays()
    backward = isinstance(n, int) and n < 0
    rolled = day.dt.add_business_days(
        0, holidays=holidays, roll="forward" if backward else "backward"
    )
    moved = rolled.dt.add_business_days(n, holidays=holidays)
    steps = pl.lit(n) if isinstance(n, int) else n
    return pl.when(steps == 0).then(day).otherwise(moved)
