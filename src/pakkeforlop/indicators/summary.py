"""One row per indicator for the reporting period: the figures an analyst reads first.

The terminal's default view of ``pakkeforlop indicators`` and a notebook's first look
(:func:`headline`): for each indicator, the overall cell of the reporting period (the last one
complete by the reference date, :func:`pakkeforlop.periods.reporting_periods`) beside the period
before it, with the change and whether it is an improvement (the definition's ``better``).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from pakkeforlop.indicators.definitions import indicator_catalogue
from pakkeforlop.indicators.engine import IndicatorTable
from pakkeforlop.indicators.models import Better
from pakkeforlop.periods import reporting_periods

__all__ = ["HEADLINE_SCHEMA", "headline", "improvement"]

#: The columns of :func:`headline`.
HEADLINE_SCHEMA: Final = pl.Schema(
    {
        "goal_area": pl.String(),
        "indicator_id": pl.String(),
        "kind": pl.String(),
        "period": pl.String(),
        "value": pl.Float64(),
        "ci_low": pl.Float64(),
        "ci_high": pl.Float64(),
        "numerator": pl.Int64(),
        "denominator": pl.Int64(),
        "target": pl.Float64(),
        "meets_target": pl.Boolean(),
        "suppressed": pl.Boolean(),
        "not_available": pl.Boolean(),
        "previous_period": pl.String(),
        "previous_value": pl.Float64(),
        "change": pl.Float64(),
        "improved": pl.Boolean(),
    }
)


def improvement(change: float | None, better: Better | None) -> bool | None:
    """Whether a change is an improvement, by the definition's ``better`` direction.

    Args:
        change: The value now minus the value before (``None`` when either is missing).
        better: ``"higher"``, ``"lower"`` or ``None`` (no direction is better).

    Returns:
        ``True`` (better), ``False`` (worse) or ``None`` (no change, no change known, or no
        better direction).

    Examples:
        >>> improvement(0.05, "higher"), improvement(3.0, "lower"), improvement(0.05, None)
        (True, False, None)
    """
    if change is None or change == 0 or better is None:
        return None
    return (change > 0) == (better == "higher")


def headline(table: IndicatorTable) -> pl.DataFrame:
    """The overall figure of every indicator in the reporting period, and its change.

    ``value`` is the share (proportions), the median days (durations) or the count (activity);
    ``change`` is the difference to the period before (in the same unit: a proportion's change
    of 0.05 is 5 percentage points), null when either is suppressed, not available or absent;
    ``improved`` says whether that change goes the better way (null when the indicator has no
    better direction, or no change). Rows follow the catalogue (goal area, then indicator).

    Args:
        table: From :func:`pakkeforlop.compute_indicators` (any strata: the overall rows are
            used).

    Returns:
        A frame of :data:`HEADLINE_SCHEMA`.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators import compute_indicators
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> def path(month, days):
        ...     m = dt.date(2023, month, 1)
        ...     return {"pathway_type": "D11", "start_date": m, "first_attendance_date": m,
        ...             "final_decision_date": m + dt.timedelta(days=days),
        ...             "final_decision_outcome": "P"}
        >>> paths = pathway_table([path(1, 10), path(2, 50), path(5, 10), path(6, 10)])
        >>> t = compute_indicators(paths, indicators=["assessment_in_time"], suppress=False,
        ...                        reference_date=dt.date(2023, 9, 1))
        >>> headline(t).select("period", "value", "previous_value", "improved").row(0)
        ('2023-T2', 1.0, 0.5, True)
    """
    dims = list(table.metadata.by)
    overall = pl.DataFrame(table).filter(
        pl.all_horizontal([pl.col(d).is_null() for d in dims]) if dims else pl.lit(value=True)
    )
    label, _, previous = reporting_periods(overall, table.metadata.reference_date)
    catalogue = indicator_catalogue()
    rows: list[dict[str, object]] = []
    for ind in table.metadata.indicators:
        d = catalogue.get(ind)
        cells = overall.filter(pl.col("indicator_id") == ind)
        key = "median_days" if d.kind == "duration" else "value"

        def cell(period: str | None, cells: pl.DataFrame = cells) -> dict[str, object] | None:
            found = cells.filter(pl.col("period") == period) if period else cells.clear()
            return found.row(0, named=True) if found.height else None

        now, before = cell(label), cell(previous)
        value = now[key] if now is not None else None
        earlier = before[key] if before is not None else None
        change = (
            value - earlier if isinstance(value, float) and isinstance(earlier, float) else None
        )
        improved = improvement(change, d.better)
        rows.append(
            {
                "goal_area": d.goal_area,
                "indicator_id": ind,
                "kind": d.kind,
                "period": label,
                "value": value,
                "ci_low": now["ci_low"] if now is not None else None,
                "ci_high": now["ci_high"] if now is not None else None,
                "numerator": now["numerator"] if now is not None else None,
                "denominator": now["denominator"] if now is not None else None,
                "target": d.target,
                "meets_target": now["meets_target"] if now is not None else None,
                "suppressed": bool(now["suppressed"]) if now is not None else False,
                "not_available": bool(now["not_available"]) if now is not None else False,
                "previous_period": previous,
                "previous_value": earlier,
                "change": change,
                "improved": improved,
            }
        )
    # goal areas in the catalogue's order of indicators (waiting first, activity last)
    areas = dict.fromkeys(d.goal_area for d in catalogue.indicators)
    order = {g: i for i, g in enumerate(areas)}
    frame = pl.DataFrame(rows, schema=HEADLINE_SCHEMA, orient="row")
    return (
        frame.with_columns(pl.col("goal_area").replace_strict(order).alias("_g"))
        .sort("_g", maintain_order=True)
        .drop("_g")
    )
