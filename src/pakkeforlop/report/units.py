"""The report's tables per treating unit: one indicator, each health trust (or region) by period.

An analyst at one health trust reads the trust's own figures here: rows are the treating health
trusts (*behandlende helseforetak*) or regions, columns the recent periods up to the reporting
period, with the national row first. The cells are the indicator table's own cells, as
``pakkeforlop indicators --by health_trust`` computes and suppresses them: a suppressed or
not-available cell shows its label, never a number (domain/indicators.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl

from pakkeforlop.indicators.engine import UNKNOWN_STRATUM
from pakkeforlop.numbers import Lang, fmt_count, fmt_days, fmt_interval, fmt_pct
from pakkeforlop.plot import stratum_columns

__all__ = ["UNIT_CELL_COLUMNS", "unit_cells", "unit_rows"]

#: The columns of :func:`unit_cells`.
UNIT_CELL_COLUMNS: Final = (
    "unit",
    "period",
    "present",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "suppressed",
    "not_available",
    "not_available_reason",
    "median_days",
)


def unit_cells(
    table: pl.DataFrame, indicator_id: str, *, dimension: str, periods: Sequence[str]
) -> pl.DataFrame:
    """Every unit's cell of one indicator in each period, national first.

    Units are the values of ``dimension`` with a row in any of ``periods`` (sorted, the
    ``"unknown"`` stratum last); the national row (``unit`` null) is the table's overall row.
    A unit without a row in a period (no units of the indicator there) gets ``present`` false
    and no figures.

    Args:
        table: A long indicator table computed with ``by=[dimension]``.
        indicator_id: The indicator.
        dimension: The unit column, e.g. ``"health_trust"``.
        periods: The period labels, in column order.

    Returns:
        Columns :data:`UNIT_CELL_COLUMNS`, one row per unit (national first) and period.

    Examples:
        >>> t = pl.DataFrame({
        ...     "indicator_id": ["x"] * 3, "period": ["2024-T1"] * 3,
        ...     "health_trust": [None, "B", "A"], "numerator": [9, None, 7],
        ...     "denominator": [10, None, 8], "value": [0.9, None, 0.875],
        ...     "ci_low": [0.6, None, 0.5], "ci_high": [1.0, None, 1.0],
        ...     "suppressed": [False, True, False], "not_available": [False] * 3,
        ...     "not_available_reason": [None] * 3,
        ... })
        >>> c = unit_cells(t, "x", dimension="health_trust", periods=["2023-T3", "2024-T1"])
        >>> c.select("unit", "period", "present", "value", "suppressed").rows()
        ... # doctest: +NORMALIZE_WHITESPACE
        [(None, '2023-T3', False, None, None), (None, '2024-T1', True, 0.9, False),
         ('A', '2023-T3', False, None, None), ('A', '2024-T1', True, 0.875, False),
         ('B', '2023-T3', False, None, None), ('B', '2024-T1', True, None, True)]
    """
    others = [c for c in stratum_columns(table) if c != dimension]
    rows = table.filter(
        pl.col("indicator_id") == indicator_id,
        pl.col("period").is_in(list(periods)),
        *[pl.col(c).is_null() for c in others],
    ).select(
        pl.col(dimension).cast(pl.String).alias("unit"),
        "period",
        pl.lit(value=True).alias("present"),
        # a table of proportions only may come without the duration column
        *(
            c if c in table.columns else pl.lit(None, dtype=pl.Float64).alias(c)
            for c in UNIT_CELL_COLUMNS[3:]
        ),
    )
    units = (
        rows.select("unit")
        .unique()
        .with_columns(
            # national first, then the units by name, the unknown stratum last
            pl.when(pl.col("unit").is_null())
            .then(0)
            .when(pl.col("unit") == UNKNOWN_STRATUM)
            .then(2)
            .otherwise(1)
            .alias("_rank")
        )
    )
    if units.filter(pl.col("unit").is_null()).height == 0:
        units = pl.concat(
            [units, pl.DataFrame({"unit": [None], "_rank": [0]}, schema=units.schema)]
        )
    order = pl.DataFrame({"period": list(periods), "_col": list(range(len(periods)))})
    grid = units.join(order, how="cross")
    return (
        grid.join(rows, on=["unit", "period"], how="left", nulls_equal=True)
        .with_columns(pl.col("present").fill_null(value=False))
        .sort("_rank", "unit", "_col", nulls_last=False)
        .select(UNIT_CELL_COLUMNS)
    )


def _cell(
    r: Mapping[str, Any],
    lab: Mapping[str, str],
    lang: Lang,
    suppressed_title: str,
    *,
    duration: bool = False,
) -> dict[str, str]:
    """One table cell: the text, its class, the n under it and a hover title.

    A duration indicator's cell is its median days (``duration``); a proportion's, its share.
    """
    n = r["denominator"]
    small = lab["n_small"].format(n=fmt_count(int(n), lang)) if n is not None else ""
    if not r["present"]:
        return {"text": lab["none"], "class": "nodata", "small": "", "title": lab["no_data"]}
    if r["not_available"]:
        reason = str(r["not_available_reason"] or "")
        return {"text": lab["not_available"], "class": "suppressed", "small": "", "title": reason}
    key = "median_days" if duration else "value"
    if r["suppressed"] or r[key] is None:
        return {
            "text": lab["suppressed"],
            "class": "suppressed",
            "small": small,
            "title": suppressed_title,
        }
    if duration:
        days = lab["days"].format(value=fmt_days(float(r["median_days"]), lang))
        return {
            "text": days,
            "class": "value",
            "small": small,
            "title": lab["median_title"].format(
                days=days, n=fmt_count(int(n), lang) if n is not None else ""
            ),
        }
    title = lab["cell_title"].format(
        numerator=fmt_count(int(r["numerator"]), lang) if r["numerator"] is not None else "",
        denominator=fmt_count(int(n), lang) if n is not None else "",
        interval=fmt_interval(float(r["ci_low"]), float(r["ci_high"]), lang)
        if r["ci_low"] is not None and r["ci_high"] is not None
        else lab["none"],
    )
    return {
        "text": fmt_pct(float(r["value"]), lang),
        "class": "value",
        "small": small,
        "title": title,
    }


def unit_rows(
    cells: pl.DataFrame,
    *,
    periods: Sequence[str],
    lab: Mapping[str, str],
    lang: Lang,
    suppressed_title: str,
    duration: bool = False,
) -> list[dict[str, Any]]:
    """The rows of one table per unit, ready for the template.

    Args:
        cells: From :func:`unit_cells`.
        periods: The period labels, in column order.
        lab: The report's labels (:func:`~pakkeforlop.report.report_labels`).
        lang: ``"nb"`` or ``"en"``.
        suppressed_title: The hover text of a suppressed cell (names the policy).
        duration: Cells of a duration indicator (median days) rather than a proportion.

    Returns:
        One entry per unit: ``unit`` (its name, or the national label), ``national`` and
        ``cells`` (one per period: ``text``, ``class``, ``small``, ``title``, ``period``).
    """
    out: list[dict[str, Any]] = []
    width = len(periods)
    # units x periods is a short table (a few dozen cells): formatted one by one for the page
    records = cells.to_dicts()
    for start in range(0, len(records), width):
        row = records[start : start + width]
        unit = row[0]["unit"]
        name = (
            lab["national"]
            if unit is None
            else lab["unknown_unit"]
            if unit == UNKNOWN_STRATUM
            else str(unit)
        )
        out.append(
            {
                "unit": name,
                "key": "" if unit is None else str(unit),
                "national": unit is None,
                "cells": [
                    _cell(r, lab, lang, suppressed_title, duration=duration)
                    | {"period": str(r["period"])}
                    for r in row
                ],
            }
        )
    return out
