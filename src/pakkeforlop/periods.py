"""Reporting periods: month, tertial and year, as labels and date bounds.

See domain/extract-and-timeline.md §3: the register publishes per tertial (T1 January–April,
T2 May–August, T3 September–December). Labels are a contract: year ``"2023"``, tertial
``"2023-T1"``, month ``"2023-01"``.

The expression helpers work on any date expression and are used by the indicator engine; the
scalar helpers (:func:`period_bounds`, :func:`parse_date_or_period`) serve option parsing.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Final, Literal, get_args

import polars as pl

from pakkeforlop.errors import ConfigurationError

__all__ = [
    "PERIODS",
    "Period",
    "check_period",
    "parse_date_or_period",
    "period_bounds",
    "period_end",
    "period_first_day",
    "period_label",
    "period_number",
    "period_of",
    "period_start",
    "recent_periods",
    "reporting_periods",
]

Period = Literal["month", "tertial", "year"]

#: The period kinds, finest first.
PERIODS: Final[tuple[str, ...]] = get_args(Period)

#: Months per period kind.
_MONTHS: Final = {"month": 1, "tertial": 4, "year": 12}

_LABEL = re.compile(r"^(?P<year>\d{4})(?:-T(?P<tertial>[123])|-(?P<month>\d{2}))?$")


def check_period(period: str) -> Period:
    """Validate a period kind.

    Args:
        period: ``"month"``, ``"tertial"`` or ``"year"``.

    Returns:
        The same value, typed as :data:`Period`.

    Raises:
        ConfigurationError: If the value is not a known period kind.

    Examples:
        >>> check_period("tertial")
        'tertial'
    """
    if period == "month":
        return "month"
    if period == "tertial":
        return "tertial"
    if period == "year":
        return "year"
    msg = f"unknown period {period!r}; expected one of {', '.join(PERIODS)}"
    raise ConfigurationError(msg)


def period_start(date: pl.Expr, period: Period) -> pl.Expr:
    """The first day of the period a date falls in.

    Args:
        date: A date expression (a datetime is taken as its day).
        period: The period kind.

    Returns:
        A date expression, named ``date``; elementwise, also inside an aggregation.

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"d": [dt.date(2023, 6, 15)]})
        >>> df.select(period_start(pl.col("d"), "tertial")).item()
        datetime.date(2023, 5, 1)
    """
    # named "date", as polars names the calendar function's pl.date(...)
    start = _looked_up(date, _day_table(period, "start"), lambda d: _start_by_calendar(d, period))
    return start.alias("date")


def period_end(start: pl.Expr, period: Period) -> pl.Expr:
    """The last day of a period, from its first day (see :func:`period_start`).

    Of any other day it is the day before the same day a period later (the last day of the
    month when that month is shorter).

    Args:
        start: A date expression holding period starts (a datetime is taken as its day).
        period: The period kind.

    Returns:
        A date expression named like ``start``; elementwise, also inside an aggregation.

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"s": [dt.date(2024, 1, 1)]})
        >>> df.select(period_end(pl.col("s"), "tertial")).item()
        datetime.date(2024, 4, 30)
    """
    try:  # named like ``start``, as the calendar function is
        name = start.meta.output_name()
    except pl.exceptions.ComputeError:  # a multi-column expression: the calendar function
        return _end_by_calendar(start.cast(pl.Date), period)
    end = _looked_up(start, _day_table(period, "end"), lambda d: _end_by_calendar(d, period))
    return end.alias(name)


# --- the two functions by the calendar, and their day tables --------------------------------------
#
# The calendar functions are the definitions. Built from year and month, or by adding months, they
# cost about 40 ms per million dates in polars, and the indicator engine applies them to every
# unit of every indicator; a look-up in a table of their values for every day of _TABLE_FIRST to
# _TABLE_LAST is a seventh of that. Dates outside the table (none in a register extract, which
# starts in 2019) go through the calendar functions themselves.

_TABLE_FIRST: Final = dt.date(2000, 1, 1)
_TABLE_LAST: Final = dt.date(2099, 12, 31)
_EPOCH: Final = dt.date(1970, 1, 1)


def _start_by_calendar(date: pl.Expr, period: Period) -> pl.Expr:
    months = _MONTHS[period]
    month = ((date.dt.month() - 1) // months) * months + 1
    return pl.date(date.dt.year(), month, 1)


def _end_by_calendar(start: pl.Expr, period: Period) -> pl.Expr:
    return start.dt.offset_by(f"{_MONTHS[period]}mo").dt.offset_by("-1d")


@functools.cache
def _day_table(period: Period, which: Literal["start", "end"]) -> pl.Series:
    """The calendar function's value for each day of the table, as days since 1970 (Int32)."""
    days = pl.DataFrame({"d": pl.date_range(_TABLE_FIRST, _TABLE_LAST, "1d", eager=True)})
    by_calendar = _start_by_calendar if which == "start" else _end_by_calendar
    return days.select(by_calendar(pl.col("d"), period).cast(pl.Int32)).to_series()


def _looked_up(
    date: pl.Expr, table: pl.Series, by_calendar: Callable[[pl.Expr], pl.Expr]
) -> pl.Expr:
    """``by_calendar(date)``, looked up in ``table`` for the dates it covers."""
    day = date.cast(pl.Date)
    return _in_table(day.cast(pl.Int32), (_TABLE_FIRST - _EPOCH).days, table, by_calendar, day)


def _in_table(
    key: pl.Expr,
    first: int,
    table: pl.Series,
    by_calendar: Callable[[pl.Expr], pl.Expr],
    argument: pl.Expr,
) -> pl.Expr:
    """``by_calendar(argument)``, as the date ``table[key - first]`` where the table has it."""
    index = key - first
    inside = (index >= 0) & (index < table.len())
    # the table as one list value, read at each row's index: elementwise, so also one value per
    # group inside an aggregation (a gather from the table as a column would give a list there)
    looked = pl.lit(table).implode().list.get(index.clip(0, table.len() - 1))
    return (
        pl.when(inside)
        .then(looked.cast(pl.Date))
        .otherwise(by_calendar(pl.when(~inside).then(argument)))
    )


def period_number(date: pl.Expr, period: Period) -> pl.Expr:
    """The number of the period a date falls in: consecutive periods have consecutive numbers.

    ``year * periods_per_year + period_in_year`` (Int32), so that a range of periods is a range
    of integers (:func:`period_first_day` turns a number back into the period's first day).

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"d": [dt.date(2023, 12, 31), dt.date(2024, 1, 1)]})
        >>> df.select(period_number(pl.col("d"), "tertial"))["d"].to_list()
        [6071, 6072]
    """
    months = _MONTHS[period]
    return (
        date.dt.year().cast(pl.Int32) * (12 // months)
        + (date.dt.month().cast(pl.Int32) - 1) // months
    )


def period_first_day(number: pl.Expr, period: Period) -> pl.Expr:
    """The first day of the period numbered ``number`` (see :func:`period_number`).

    Examples:
        >>> df = pl.DataFrame({"n": [6071, 6072]}, schema={"n": pl.Int32})
        >>> df.select(period_first_day(pl.col("n"), "tertial")).to_series().to_list()
        [datetime.date(2023, 9, 1), datetime.date(2024, 1, 1)]
    """
    per_year = 12 // _MONTHS[period]
    first_day = _in_table(
        number.cast(pl.Int32),
        _TABLE_FIRST.year * per_year,
        _number_table(period),
        lambda n: _first_day_by_calendar(n, period),
        number,
    )
    return first_day.alias("date")  # as period_start names it


def _first_day_by_calendar(number: pl.Expr, period: Period) -> pl.Expr:
    months = _MONTHS[period]
    per_year = 12 // months
    return pl.date(number // per_year, (number % per_year) * months + 1, 1)


@functools.cache
def _number_table(period: Period) -> pl.Series:
    """The first day of each period from _TABLE_FIRST to _TABLE_LAST, by number."""
    per_year = 12 // _MONTHS[period]
    first = _TABLE_FIRST.year * per_year
    numbers = pl.int_range(first, (_TABLE_LAST.year + 1) * per_year, dtype=pl.Int32, eager=True)
    return (
        pl.DataFrame({"n": numbers})
        .select(_first_day_by_calendar(pl.col("n"), period).cast(pl.Int32))
        .to_series()
    )


def period_label(start: pl.Expr, period: Period) -> pl.Expr:
    """The label of a period, from any date in it.

    Args:
        start: A date expression (a period start or any date inside the period).
        period: The period kind.

    Returns:
        A string expression: ``"2023"``, ``"2023-T1"`` or ``"2023-01"``.

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"d": [dt.date(2023, 9, 30)]})
        >>> [df.select(period_label(pl.col("d"), p)).item() for p in ("year", "tertial", "month")]
        ['2023', '2023-T3', '2023-09']
    """
    if period == "year":
        return start.dt.year().cast(pl.String)
    if period == "month":
        return start.dt.strftime("%Y-%m")
    tertial = (start.dt.month() - 1) // 4 + 1
    return pl.concat_str(start.dt.year().cast(pl.String), pl.lit("-T"), tertial.cast(pl.String))


def period_of(day: dt.date, period: Period) -> str:
    """The label of the period a single date falls in.

    Args:
        day: The date.
        period: The period kind.

    Returns:
        The label.

    Examples:
        >>> import datetime as dt
        >>> period_of(dt.date(2023, 5, 1), "tertial")
        '2023-T2'
    """
    if period == "year":
        return f"{day.year}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-T{(day.month - 1) // 4 + 1}"


def period_bounds(label: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a labelled period.

    Args:
        label: ``"2023"``, ``"2023-T2"`` or ``"2023-05"``.

    Returns:
        ``(first day, last day)``, both inclusive.

    Raises:
        ConfigurationError: If the label is not a period label.

    Examples:
        >>> period_bounds("2023-T2")
        (datetime.date(2023, 5, 1), datetime.date(2023, 8, 31))
        >>> period_bounds("2024-02")
        (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    m = _LABEL.match(label.strip())
    if m is None or (m["month"] is not None and not 1 <= int(m["month"]) <= 12):
        msg = f"not a period label: {label!r}; expected e.g. 2023, 2023-T1 or 2023-01"
        raise ConfigurationError(msg)
    year = int(m["year"])
    if m["tertial"] is not None:
        first_month, months = (int(m["tertial"]) - 1) * 4 + 1, 4
    elif m["month"] is not None:
        first_month, months = int(m["month"]), 1
    else:
        first_month, months = 1, 12
    start = dt.date(year, first_month, 1)
    after = first_month + months
    next_start = dt.date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return start, next_start - dt.timedelta(days=1)


def parse_date_or_period(text: str, *, end: bool = False) -> dt.date:
    """Parse an ISO date, or a period label standing for its first (or last) day.

    Args:
        text: ``"2023-03-15"``, or a label such as ``"2023"``, ``"2023-T1"``, ``"2023-01"``.
        end: For a label, return the period's last day instead of its first.

    Returns:
        The date.

    Raises:
        ConfigurationError: If the text is neither.

    Examples:
        >>> parse_date_or_period("2023-T1", end=True)
        datetime.date(2023, 4, 30)
        >>> parse_date_or_period("2023-03-15")
        datetime.date(2023, 3, 15)
    """
    value = text.strip()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        first, last = period_bounds(value)
    except ConfigurationError:
        msg = f"not a date or period: {text!r}; expected YYYY-MM-DD, YYYY, YYYY-Tn or YYYY-MM"
        raise ConfigurationError(msg) from None
    return last if end else first


def reporting_periods(
    table: pl.DataFrame, reference: dt.date | None
) -> tuple[str | None, bool, str | None]:
    """The reporting period of a table and the period before it.

    The reporting period is the last one complete by the reference date (its last day on or
    before it); when none is complete, the last one. The report and the terminal summary both
    show it.

    Args:
        table: An indicator table (columns ``period``, ``period_start``, ``period_end``).
        reference: The extract's reference date.

    Returns:
        (label or ``None`` for an empty table, whether the period is complete, the label of the
        period before it or ``None``).

    Examples:
        >>> import datetime as dt, polars as pl
        >>> t = pl.DataFrame({"period": ["2023-T1", "2023-T2"],
        ...                   "period_start": [dt.date(2023, 1, 1), dt.date(2023, 5, 1)],
        ...                   "period_end": [dt.date(2023, 4, 30), dt.date(2023, 8, 31)]})
        >>> reporting_periods(t, dt.date(2023, 7, 1))
        ('2023-T1', True, None)
    """
    periods = table.select("period", "period_start", "period_end").unique().sort("period_start")
    if periods.height == 0:
        return None, False, None
    complete = (
        periods.filter(pl.col("period_end") <= reference) if reference is not None else periods
    )
    chosen = complete if complete.height else periods
    label = str(chosen["period"][-1])
    before = periods.filter(pl.col("period_start") < chosen["period_start"][-1])
    previous = str(before["period"][-1]) if before.height else None
    return label, bool(complete.height), previous


def recent_periods(table: pl.DataFrame, label: str | None, count: int) -> list[str]:
    """The last ``count`` periods of a table up to and including ``label``, oldest first.

    The report's tables per health trust and region show these beside each other (the
    reporting period last). Only periods the table holds are counted.

    Args:
        table: An indicator table (columns ``period``, ``period_start``).
        label: The last period to show (the reporting period); ``None`` gives no periods.
        count: How many periods at most.

    Returns:
        Period labels, oldest first.

    Examples:
        >>> import datetime as dt, polars as pl
        >>> t = pl.DataFrame({"period": ["2023-T1", "2023-T2", "2023-T3"],
        ...                   "period_start": [dt.date(2023, 1, 1), dt.date(2023, 5, 1),
        ...                                    dt.date(2023, 9, 1)]})
        >>> recent_periods(t, "2023-T2", 4), recent_periods(t, "2023-T3", 2)
        (['2023-T1', '2023-T2'], ['2023-T2', '2023-T3'])
    """
    if label is None or count < 1:
        return []
    periods = table.select("period", "period_start").unique().sort("period_start")
    until = periods.filter(pl.col("period") == label)["period_start"]
    if until.len() == 0:
        return []
    shown = periods.filter(pl.col("period_start") <= until[0]).tail(count)
    return [str(p) for p in shown["period"]]
