"""Partial indicator results: the counts that combine exactly across parts of an extract.

Every pathway lives inside one patient, so an extract split by patient (a hash partition of
``patient_id``) can be turned into indicators part by part: each part gives its *partial
results*, and the partials of all parts combine into exactly the table the whole extract gives
(:func:`pakkeforlop.indicators.compute_partials`, :func:`pakkeforlop.indicators.combine_partials`).

Counts (numerators, denominators, pathways) add up. Quantiles do not, so a duration indicator
keeps its *histogram*: the number of units per whole number of days (days are whole numbers, so
the histogram is the data, not an approximation). :func:`histogram_quantiles` reads the median,
p75 and p90 off a merged histogram exactly as polars' ``median()`` and
``quantile(q, "linear")`` compute them from the raw values: the position ``h = q (n - 1)`` among
the ``n`` sorted values, the values at ``floor(h)`` and the next position, and the interpolation
``(h - floor(h)) * (upper - lower) + lower`` in the same floating-point operations, so the result
is bit for bit the same.

This module holds the format of a partial (:func:`partial_schema`) and the quantile read-out; the
engine (:mod:`pakkeforlop.indicators.engine`) computes and combines them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import polars as pl

__all__ = [
    "DURATION_QUANTILES",
    "PARTIAL_KEYS",
    "SETTINGS_VERSION",
    "histogram_quantiles",
    "partial_schema",
]

#: The duration statistics of the indicator table and their quantile (median = 0.5).
DURATION_QUANTILES: Final[dict[str, float]] = {
    "median_days": 0.5,
    "p75_days": 0.75,
    "p90_days": 0.9,
}

#: Columns that identify a cell of a partial, before the stratum columns.
PARTIAL_KEYS: Final = ("indicator_id", "period_start")

#: Version of the partial format, part of the settings fingerprint (bump when the layout changes,
#: so that partials of an older version are refused instead of misread).
SETTINGS_VERSION: Final = 2

#: Bits of a packed (cell, position) key given to the position.
_POSITION_BITS: Final = 32


def partial_schema(by: Sequence[str] = ()) -> pl.Schema:
    """The columns of a partial result, for a stratification.

    One row per indicator × period start × stratum value combination × ``days`` (for duration
    indicators; null for proportions), plus one *summary row* per part whose ``indicator_id`` is
    null: its ``denominator`` is the number of pathways of the part, ``reference_date`` the
    reference date the part was computed with and ``settings`` a fingerprint of the settings.

    * ``indicator_id``, ``period_start``: the cell;
    * one String column per ``by`` dimension: the stratum value as in the data (null where the
      data has none; the combined table shows that as ``"unknown"``);
    * ``days``: for duration indicators, the units' days (a histogram bin); null otherwise;
    * ``numerator``: units in the numerator (proportions; null for durations);
    * ``denominator``: units (the histogram count for durations);
    * ``provisional_time``: a provisional recommended time decided at least one unit;
    * ``time_rows``: the rows of the pathway-time file that decided units (for the metadata);
    * ``reference_date``, ``settings``, ``treatment_start_rule`` (the rule the part's pathways
      derived the treatment start with): on the summary row only.

    Args:
        by: The stratum columns.

    Returns:
        The schema.

    Examples:
        >>> partial_schema(["sex"]).names()[:4]
        ['indicator_id', 'period_start', 'sex', 'days']
    """
    return pl.Schema(
        {
            "indicator_id": pl.String(),
            "period_start": pl.Date(),
            **{b: pl.String() for b in by},
            "days": pl.Int32(),
            "numerator": pl.Int64(),
            "denominator": pl.Int64(),
            "provisional_time": pl.Boolean(),
            "time_rows": pl.List(pl.Int32()),
            "reference_date": pl.Date(),
            "settings": pl.String(),
            "treatment_start_rule": pl.String(),
        }
    )


def histogram_quantiles(
    histogram: pl.DataFrame | pl.LazyFrame,
    quantiles: Mapping[str, float] = DURATION_QUANTILES,
    *,
    cell: str = "cell",
    value: str = "days",
    count: str = "count",
) -> pl.LazyFrame:
    """Linear-interpolation quantiles per cell from a histogram of whole numbers, exactly.

    The result equals, bit for bit, polars' ``median()`` (``q = 0.5``) and
    ``quantile(q, "linear")`` over the raw values the histogram counts: with ``m`` null values
    (sorted first, as polars sorts them) and ``k`` others, ``h = (k - 1) q + m``, ``i = floor(h)``;
    the result is the value at sorted position ``i`` when ``h`` is whole (or the two neighbours
    are equal), else ``(h - i) * (upper - lower) + lower`` with ``upper`` the value at ``i + 1``.
    A cell with no non-null value gives null. Rows are found by an as-of join on a packed
    (cell, position) key, so the work is linear in the histogram, not in the units.

    Args:
        histogram: One row per cell and value: the integer ``cell`` id (0 to 2^31 - 1), the
            ``value`` (an integer; null counts null values) and its ``count``. A value may appear
            on several rows of a cell (they are added).
        quantiles: Output column name → quantile in [0, 1].
        cell: Name of the cell-id column.
        value: Name of the value column.
        count: Name of the count column.

    Returns:
        One row per cell: ``cell`` and one Float64 column per quantile.

    Examples:
        >>> hist = pl.DataFrame(
        ...     {"cell": [0, 0, 0, 1], "days": [3, 10, 4, 7], "count": [2, 1, 1, 5]}
        ... )
        >>> # cell 0 holds 3, 3, 4, 10: median (3 + 4) / 2, p90 at h = 2.7: 4 + 0.7 * 6
        >>> out = histogram_quantiles(hist, {"median": 0.5, "p90": 0.9}).collect()
        >>> out.sort("cell").rows()
        [(0, 3.5, 8.200000000000001), (1, 7.0, 7.0)]
        >>> values = pl.Series([3, 3, 4, 10])
        >>> values.median(), values.quantile(0.9, "linear")
        (3.5, 8.200000000000001)
    """
    c, v, n = pl.col(cell), pl.col(value), pl.col(count)
    hist = histogram.lazy().select(
        c.cast(pl.Int64).alias("_cell"), v.cast(pl.Int64).alias("_value"), n.cast(pl.Int64)
    )
    known = pl.col("_value").is_not_null()
    totals = (
        hist.group_by("_cell")
        .agg(n.filter(~known).sum().alias("_nulls"), n.filter(known).sum().alias("_k"))
        .filter(pl.col("_k") > 0)
    )
    # the non-null values in order, keyed by (cell, sorted position of their first occurrence)
    bins = (
        hist.filter(known & (n > 0))
        .group_by("_cell", "_value")
        .agg(n.sum())
        .sort("_cell", "_value")
        .select(
            _packed(pl.col("_cell"), n.cum_sum().over("_cell") - n).alias("_key"),
            pl.col("_value").cast(pl.Float64),
        )
    )
    # the same floating-point steps as polars' quantile_idx and linear_interpol
    targets = (
        pl.concat(
            [
                totals.select(
                    "_cell",
                    "_nulls",
                    pl.lit(name).alias("_q"),
                    (
                        (pl.col("_k").cast(pl.Float64) - 1.0) * q
                        + pl.col("_nulls").cast(pl.Float64)
                    ).alias("_h"),
                )
                for name, q in quantiles.items()
            ]
        )
        .with_columns(
            pl.col("_h").floor().alias("_i"),
            (pl.col("_h").ceil() != pl.col("_h").floor()).alias("_between"),
        )
        .with_columns((pl.col("_i").cast(pl.Int64) - pl.col("_nulls")).alias("_lower_pos"))
        .with_columns(
            (pl.col("_lower_pos") + pl.col("_between").cast(pl.Int64)).alias("_upper_pos")
        )
        .with_row_index("_t")
    )
    lower = _value_at(targets, bins, "_lower_pos").rename({"_value": "_lower"})
    upper = _value_at(targets, bins, "_upper_pos").rename({"_value": "_upper"})
    lo, hi = pl.col("_lower"), pl.col("_upper")
    result = (
        targets.join(lower, on="_t")
        .join(upper, on="_t")
        .with_columns(
            pl.when(~pl.col("_between") | (lo == hi))
            .then(lo)
            .otherwise((pl.col("_h") - pl.col("_i")) * (hi - lo) + lo)
            .alias("_result")
        )
    )
    wide = result.group_by("_cell").agg(
        pl.col("_result").filter(pl.col("_q") == name).first().alias(name) for name in quantiles
    )
    dtype = histogram.lazy().collect_schema()[cell]
    return wide.select(pl.col("_cell").cast(dtype).alias(cell), *quantiles)


def _packed(cell: pl.Expr, position: pl.Expr) -> pl.Expr:
    """One sortable Int64 key for (cell, position): cells below 2^31, positions below 2^32."""
    shift: int = 2**_POSITION_BITS
    return cell * shift + position


def _value_at(targets: pl.LazyFrame, bins: pl.LazyFrame, position: str) -> pl.LazyFrame:
    """The value at a sorted position of each target's cell: the last bin starting at or before.

    Positions lie within their cell (``0 <= position < k``), so the bin found is the cell's.
    """
    wanted = targets.select("_t", _packed(pl.col("_cell"), pl.col(position)).alias("_key"))
    return (
        wanted.sort("_key").join_asof(bins, on="_key", strategy="backward").select("_t", "_value")
    )
