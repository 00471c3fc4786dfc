"""The tables behind the charts: trend lines and funnel plots, in polars.

Kept apart from the chart code so that the numbers (above all the funnel limits) can be checked
without a renderer. See domain/indicators.md §3 (funnel-plot limits: 95 % and 99.8 %, binomial,
around the national value; Spiegelhalter 2005) and §4 (the long indicator table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, NamedTuple

import polars as pl

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators import definition, funnel_limits
from pakkeforlop.indicators.engine import UNKNOWN_STRATUM
from pakkeforlop.indicators.stats import FunnelMethod
from pakkeforlop.plot.labels import Lang, indicator_title, labels
from pakkeforlop.schema import STRATUM_COLUMNS

__all__ = [
    "FUNNEL_LEVELS",
    "FunnelData",
    "funnel_curve",
    "funnel_data",
    "stratum_columns",
    "trend_data",
]

#: The two funnel-limit levels of domain/indicators.md §3 (about 2 and 3 standard deviations),
#: with the column suffix each gets.
FUNNEL_LEVELS: Final = ((0.95, "95"), (0.998, "998"))

#: Points on the denominator axis at which the limit curves are evaluated (besides the areas'
#: own denominators).
_GRID_POINTS: Final = 120


def stratum_columns(result: pl.DataFrame) -> list[str]:
    """The stratum columns an indicator table carries, in table order.

    Args:
        result: A long indicator table.

    Returns:
        Column names from :data:`~pakkeforlop.schema.STRATUM_COLUMNS`.

    Examples:
        >>> stratum_columns(pl.DataFrame({"indicator_id": ["x"], "health_trust": ["a"]}))
        ['health_trust']
    """
    return [c for c in result.columns if c in STRATUM_COLUMNS]


def _require(result: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in result.columns]
    if missing:
        msg = (
            f"not an indicator table: column(s) {', '.join(missing)} missing;"
            " pass the result of pakkeforlop.indicators.compute_indicators"
        )
        raise ConfigurationError(msg)


def _only(dims: Sequence[str], keep: str | None) -> pl.Expr:
    """Rows where every stratum column but ``keep`` is null (and ``keep`` is not)."""
    parts = [pl.col(c).is_null() for c in dims if c != keep]
    if keep is not None:
        parts.append(pl.col(keep).is_not_null())
    return pl.all_horizontal(parts) if parts else pl.lit(True)


def _indicator_ids(result: pl.DataFrame, indicators: str | Sequence[str] | None) -> list[str]:
    present = result["indicator_id"].unique(maintain_order=True).to_list()
    if indicators is None:
        return [str(i) for i in present]
    wanted = [indicators] if isinstance(indicators, str) else list(indicators)
    for i in wanted:
        definition(i)  # unknown ids raise with a suggestion
        if i not in present:
            msg = f"indicator {i!r} is not in this table; it holds {', '.join(present) or 'none'}"
            raise ConfigurationError(msg)
    return wanted


def _trend_by(result: pl.DataFrame, by: str | None) -> str | None:
    dims = stratum_columns(result)
    if by is None:
        if len(dims) > 1:
            msg = f"the table has several stratum columns ({', '.join(dims)}); choose one with by="
            raise ConfigurationError(msg)
        return dims[0] if dims else None
    if by not in dims:
        msg = (
            f"the table has no {by!r} column; compute the indicators with by=[{by!r}]"
            f" (it has: {', '.join(dims) or 'no stratum columns'})"
        )
        raise ConfigurationError(msg)
    return by


def trend_data(
    result: pl.DataFrame,
    indicators: str | Sequence[str] | None = None,
    *,
    by: str | None = None,
    lang: Lang = "en",
) -> pl.DataFrame:
    """The trend lines: one row per indicator, group and period.

    The group ``"All"`` (``"Alle"``) is the overall row of each period; with ``by``, each value
    of that stratum is a further group (rows where the other stratum columns are null).
    Proportions are given in percent, durations as the median in days. Suppressed cells keep
    their row with a null ``y`` (the line breaks there), never a zero.

    Args:
        result: A long indicator table (:func:`~pakkeforlop.indicators.compute_indicators`).
        indicators: One id, several, or every indicator in the table (``None``).
        by: The stratum column to draw lines for; the table's only stratum column when
            ``None`` (overall only when it has none).
        lang: Label language, ``"nb"`` or ``"en"``.

    Returns:
        Columns ``indicator_id, indicator, kind, period, period_start, group, y, y_low,
        y_high, numerator, denominator, suppressed, target``.

    Raises:
        ConfigurationError: If an indicator or ``by`` is not in the table.

    Examples:
        >>> import datetime as dt
        >>> t = pl.DataFrame({
        ...     "indicator_id": ["plan_cocreated"] * 2, "period": ["2023-T1", "2023-T2"],
        ...     "period_start": [dt.date(2023, 1, 1), dt.date(2023, 5, 1)],
        ...     "numerator": [6, None], "denominator": [10, 4], "value": [0.6, None],
        ...     "ci_low": [0.31, None], "ci_high": [0.83, None], "suppressed": [False, True],
        ...     "target": [0.8, 0.8], "median_days": [None, None],
        ... })
        >>> trend_data(t).select("period", "group", "y", "target").rows()
        [('2023-T1', 'All', 60.0, 80.0), ('2023-T2', 'All', None, 80.0)]
    """
    _require(result, ("indicator_id", "period", "period_start", "value", "suppressed"))
    ids = _indicator_ids(result, indicators)
    dim = _trend_by(result, by)
    dims = stratum_columns(result)
    lab = labels(lang)
    defs = pl.DataFrame(
        {
            "indicator_id": ids,
            "indicator": [
                f"{indicator_title(i, lang)} ("
                + {"proportion": "%", "count": lab["count"]}.get(
                    definition(i).kind, lab["median_days"]
                )
                + ")"
                for i in ids
            ],
            "kind": [definition(i).kind for i in ids],
            "_order": list(range(len(ids))),
        }
    )
    group = pl.lit(lab["all"])
    if dim is not None:
        group = pl.when(pl.col(dim).is_null()).then(group).otherwise(pl.col(dim).cast(pl.String))
    rows = result.filter(
        pl.col("indicator_id").is_in(ids),
        _only(dims, None) | (_only(dims, dim) if dim is not None else pl.lit(False)),
    )
    pct = pl.col("kind") == "proportion"
    median = pl.col("median_days") if "median_days" in rows.columns else pl.lit(None)
    # an activity indicator is drawn as its count
    median = pl.when(pl.col("kind") == "count").then(pl.col("value")).otherwise(median)
    return (
        rows.join(defs, on="indicator_id", how="inner")
        .with_columns(group.alias("group"))
        .select(
            "indicator_id",
            "indicator",
            "kind",
            "period",
            "period_start",
            "group",
            pl.when(pct).then(pl.col("value") * 100).otherwise(median).cast(pl.Float64).alias("y"),
            pl.when(pct).then(pl.col("ci_low") * 100).cast(pl.Float64).alias("y_low"),
            pl.when(pct).then(pl.col("ci_high") * 100).cast(pl.Float64).alias("y_high"),
            pl.col("numerator").cast(pl.Int64),
            pl.col("denominator").cast(pl.Int64),
            pl.col("suppressed").fill_null(False),
            (pl.col("target") * 100).cast(pl.Float64).alias("target"),
            "_order",
            (pl.col("group") != lab["all"]).alias("_grouped"),
        )
        .sort("_order", "_grouped", "group", "period_start")
        .drop("_order", "_grouped")
    )


class FunnelData(NamedTuple):
    """What a funnel plot shows (see :func:`funnel_data`)."""

    points: pl.DataFrame
    """One row per area with a shown result: ``area, numerator, denominator, value, lower_95,
    upper_95, lower_998, upper_998, outside`` (null, ``"95"`` or ``"99.8"``: the widest limit
    the value lies beyond) and ``direction`` (``"above"``, ``"below"`` or null)."""
    limits: pl.DataFrame
    """The limit curves on a grid of denominators: ``denominator, lower_95, upper_95,
    lower_998, upper_998`` (empty when there is no national value)."""
    national: float | None
    """The national value ``p0`` (the period's overall row), ``None`` when suppressed."""
    period: str
    indicator_id: str
    dimension: str
    suppressed: tuple[str, ...]
    """Areas whose cell is suppressed (not drawn)."""
    method: FunnelMethod


def _limit_rows(denominators: Sequence[int], p0: float, method: FunnelMethod) -> pl.DataFrame:
    """Limits at each denominator: a short list (grid points or areas), not a data column."""
    cols: dict[str, list[float]] = {}
    for level, tag in FUNNEL_LEVELS:
        pairs = [funnel_limits(n, p0, level=level, method=method) for n in denominators]
        cols[f"lower_{tag}"] = [lo for lo, _ in pairs]
        cols[f"upper_{tag}"] = [hi for _, hi in pairs]
    return pl.DataFrame(
        {"denominator": list(denominators), **cols},
        schema_overrides={"denominator": pl.Int64},
    )


def funnel_curve(
    max_denominator: int,
    national: float,
    *,
    extra: Sequence[int] = (),
    method: FunnelMethod = "binomial",
) -> pl.DataFrame:
    """Funnel limits on a grid of denominators from 1 to ``max_denominator``.

    The grid is geometric (dense where the funnel is narrowing fast) and includes ``extra``
    (e.g. the areas' own denominators), so that every plotted point sits on the curve it is
    judged against. The limits are :func:`~pakkeforlop.indicators.funnel_limits` at 95 % and
    99.8 %.

    Args:
        max_denominator: The largest denominator on the grid (at least 1).
        national: The national value ``p0``, between 0 and 1.
        extra: Denominators to include besides the grid.
        method: ``"binomial"`` (exact, Spiegelhalter 2005) or ``"normal"``.

    Returns:
        Columns ``denominator, lower_95, upper_95, lower_998, upper_998``, sorted.

    Examples:
        >>> c = funnel_curve(100, 0.5, method="normal")
        >>> at_100 = c.filter(pl.col("denominator") == 100)
        >>> at_100.select(pl.col("lower_95", "upper_95").round(4)).row(0)
        (0.402, 0.598)
    """
    top = max(1, int(max_denominator))
    steps = min(_GRID_POINTS, top)
    grid = {round(math.exp(math.log(top) * k / max(1, steps - 1))) for k in range(steps)}
    grid |= {int(n) for n in extra if 0 < n <= top} | {1, top}
    return _limit_rows(sorted(grid), national, method)


def _latest_period(rows: pl.DataFrame) -> str:
    key = "period_start" if "period_start" in rows.columns else "period"
    latest = rows.sort(key, "period", nulls_last=False).select(pl.col("period").last()).item()
    return str(latest)


def funnel_data(
    result: pl.DataFrame,
    indicator_id: str,
    *,
    dimension: str = "health_trust",
    period: str | None = None,
    method: FunnelMethod = "binomial",
) -> FunnelData:
    """The points and limit curves of a funnel plot for one proportion indicator and period.

    The national value ``p0`` is the period's overall row (every stratum column null), so it
    includes units whose area is unknown. Each area's value is judged against the limits at its
    own denominator, strictly outside counting as outside (as
    :func:`~pakkeforlop.indicators.compare_areas` does). Suppressed cells are not drawn; they
    are listed in ``suppressed``. The ``"unknown"`` area is left out.

    Args:
        result: A long indicator table computed with ``by`` including ``dimension`` (e.g.
            ``compute_indicators(pathways, by=["health_trust"])``).
        indicator_id: A proportion indicator, e.g. ``"plan_cocreated"``.
        dimension: The area column: ``health_trust`` (default), ``residence_region``, ...
        period: A period label of the table; the latest period of the indicator when ``None``.
        method: ``"binomial"`` (exact, Spiegelhalter 2005) or ``"normal"`` limits.

    Returns:
        A :class:`FunnelData`.

    Raises:
        ConfigurationError: If the indicator is a duration, or the indicator, the dimension or
            the period is not in the table.

    Examples:
        >>> t = pl.DataFrame({
        ...     "indicator_id": ["plan_cocreated"] * 3, "period": ["2023-T1"] * 3,
        ...     "period_start": [None] * 3, "health_trust": [None, "A", "B"],
        ...     "numerator": [50, 1, 40], "denominator": [100, 10, 80],
        ...     "value": [0.5, 0.1, 0.5], "suppressed": [False] * 3,
        ... })
        >>> f = funnel_data(t, "plan_cocreated")
        >>> f.national, f.points.select("area", "outside", "direction").rows()
        (0.5, [('A', '95', 'below'), ('B', None, None)])
    """
    _require(result, ("indicator_id", "period", "numerator", "denominator", "value"))
    d = definition(indicator_id)
    if d.kind != "proportion":
        msg = f"a funnel plot needs a proportion indicator; {indicator_id!r} is a duration"
        raise ConfigurationError(msg)
    dims = stratum_columns(result)
    if dimension not in dims:
        msg = (
            f"the table has no {dimension!r} column; compute the indicators with by=[{dimension!r}]"
        )
        raise ConfigurationError(msg)
    rows = result.filter(pl.col("indicator_id") == indicator_id)
    if rows.height == 0:
        msg = f"indicator {indicator_id!r} has no rows in this table"
        raise ConfigurationError(msg)
    chosen = period if period is not None else _latest_period(rows)
    rows = rows.filter(pl.col("period") == chosen)
    if rows.height == 0:
        msg = f"indicator {indicator_id!r} has no rows for period {chosen!r}"
        raise ConfigurationError(msg)
    hidden = (
        pl.col("suppressed").fill_null(False) if "suppressed" in rows.columns else pl.lit(False)
    )
    overall = rows.filter(_only(dims, None))
    p0: float | None = None
    if overall.height and overall["value"].is_not_null().all():
        p0 = float(overall["value"].item(0))
    areas = rows.filter(_only(dims, dimension), pl.col(dimension) != UNKNOWN_STRATUM)
    shown = areas.filter(~hidden, pl.col("value").is_not_null(), pl.col("denominator") > 0)
    points = shown.select(
        pl.col(dimension).cast(pl.String).alias("area"),
        pl.col("numerator").cast(pl.Int64),
        pl.col("denominator").cast(pl.Int64),
        pl.col("value").cast(pl.Float64),
    ).sort("area")
    suppressed = tuple(
        sorted(areas.filter(hidden | pl.col("value").is_null())[dimension].cast(pl.String))
    )
    if p0 is None:
        empty = dict.fromkeys(("lower_95", "upper_95", "lower_998", "upper_998"), pl.Float64)
        limits = pl.DataFrame(schema={"denominator": pl.Int64, **empty})
        points = points.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in empty)
    else:
        ns = sorted(set(points["denominator"].to_list()))
        limits = funnel_curve(max([*ns, 1]), p0, extra=ns, method=method)
        points = points.join(_limit_rows(ns, p0, method), on="denominator", how="left")
    value = pl.col("value")
    outside = (
        pl.when((value < pl.col("lower_998")) | (value > pl.col("upper_998")))
        .then(pl.lit("99.8"))
        .when((value < pl.col("lower_95")) | (value > pl.col("upper_95")))
        .then(pl.lit("95"))
    )
    direction = (
        pl.when(outside.is_not_null())
        .then(pl.when(value < pl.col("lower_95")).then(pl.lit("below")).otherwise(pl.lit("above")))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    points = points.with_columns(outside.alias("outside"), direction.alias("direction")).sort(
        "area"
    )
    return FunnelData(
        points=points,
        limits=limits,
        national=p0,
        period=chosen,
        indicator_id=indicator_id,
        dimension=dimension,
        suppressed=suppressed,
        method=method,
    )
