"""Equity (*likeverdig tilbud uavhengig av bosted*): comparing areas of residence.

See domain/indicators.md §3: equity is not a numerator of its own; for every indicator the areas
of residence (region, health trust of residence, municipality) are compared: number of areas,
range, weighted standard deviation, and which areas fall outside funnel-plot control limits
(95 % and 99.8 %, binomial, around the national value; Spiegelhalter 2005).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict

from pakkeforlop.codes import Catalogue
from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.definitions import definition
from pakkeforlop.indicators.engine import UNKNOWN_STRATUM, compute_indicators
from pakkeforlop.indicators.stats import FunnelMethod, funnel_limits
from pakkeforlop.indicators.times import PathwayTimes
from pakkeforlop.periods import period_bounds
from pakkeforlop.schema import STRATUM_COLUMNS

__all__ = ["RESIDENCE_DIMENSIONS", "AreaComparison", "AreaVariation", "compare_areas"]

#: Residence dimensions areas can be compared on.
RESIDENCE_DIMENSIONS: Final = ("residence_region", "residence_trust", "municipality")

#: The two funnel-limit levels (about 2 and 3 standard deviations).
LEVELS: Final = (0.95, 0.998)


class AreaVariation(BaseModel):
    """Between-area variation of one indicator (the summary of :func:`compare_areas`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator_id: str
    dimension: str
    period: str | None
    """The period label compared, or ``None`` when all periods were pooled."""
    areas: int
    national_numerator: int
    national_denominator: int
    national_value: float | None
    min_value: float | None
    max_value: float | None
    range: float | None
    weighted_sd: float | None
    """``sqrt(sum(n_i (p_i - p)^2) / sum(n_i))`` with ``p`` the pooled value of the areas."""
    outside_95: tuple[str, ...]
    outside_998: tuple[str, ...]
    unknown_area_units: int
    """Units whose area of residence is missing (counted nationally, not as an area)."""
    method: FunnelMethod


class AreaComparison(pl.DataFrame):
    """Per-area results with funnel limits: a DataFrame carrying :attr:`summary`.

    Columns: ``indicator_id``, the dimension (e.g. ``residence_region``), ``numerator``,
    ``denominator``, ``value``, ``national_value``, ``lower_95``, ``upper_95``, ``lower_998``,
    ``upper_998``, ``outside_95``, ``outside_998`` (``"above"``, ``"below"`` or null).
    """

    @classmethod
    def wrap(cls, frame: pl.DataFrame, summary: AreaVariation) -> AreaComparison:
        """Attach the summary to a DataFrame."""
        out = cls(frame)
        out.__dict__["_summary"] = summary
        return out

    @property
    def summary(self) -> AreaVariation:
        """Number of areas, range, weighted SD and the areas outside the limits."""
        s = self.__dict__.get("_summary")
        if not isinstance(s, AreaVariation):
            msg = "this table was derived from an AreaComparison and has no summary"
            raise AttributeError(msg)
        return s


def _limits_table(denominators: list[int], p0: float, method: FunnelMethod) -> pl.DataFrame:
    """Funnel limits for each distinct denominator (areas, not units: a short list)."""
    cols: dict[str, list[float]] = {}
    for level, tag in zip(LEVELS, ("95", "998"), strict=True):
        pairs = [funnel_limits(n, p0, level=level, method=method) for n in denominators]
        cols[f"lower_{tag}"] = [lo for lo, _ in pairs]
        cols[f"upper_{tag}"] = [hi for _, hi in pairs]
    return pl.DataFrame(
        {"denominator": denominators, **cols}, schema_overrides={"denominator": pl.Int64}
    )


def _area_rows(
    source: pl.DataFrame, indicator_id: str, dimension: str, period: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-area and national counts from a long indicator table, pooled over periods."""
    rows = source.filter(pl.col("indicator_id") == indicator_id)
    if period is not None:
        rows = rows.filter(pl.col("period") == period)
    others = [c for c in source.columns if c in STRATUM_COLUMNS and c != dimension]
    rest_null = (
        pl.all_horizontal(*(pl.col(c).is_null() for c in others)) if others else pl.lit(True)
    )
    if rows.filter(pl.col("numerator").is_null() | pl.col("denominator").is_null()).height:
        msg = (
            "compare_areas needs unsuppressed counts: compute the indicators with suppress=False"
            " (or pass the pathway table)"
        )
        raise ConfigurationError(msg)
    national = rows.filter(rest_null & pl.col(dimension).is_null())
    areas = (
        rows.filter(rest_null & pl.col(dimension).is_not_null())
        .group_by(dimension)
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    )
    return areas, national.select(pl.col("numerator").sum(), pl.col("denominator").sum())


def compare_areas(
    source: pl.DataFrame | pl.LazyFrame,
    indicator_id: str,
    *,
    dimension: str = "residence_region",
    period: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    method: FunnelMethod = "binomial",
    times: PathwayTimes | str | Path | None = None,
    catalogue: Catalogue | str | None = None,
    reference_date: dt.date | None = None,
) -> AreaComparison:
    """Compare areas of residence on one indicator against funnel-plot limits.

    The national value ``p0`` is the overall value (including units whose area is unknown);
    each area's value is compared with ``p0`` at its own denominator using the limits of
    :func:`~pakkeforlop.indicators.stats.funnel_limits` (95 % and 99.8 %).

    Args:
        source: A pathway table, or an unsuppressed indicator table (from
            :func:`~pakkeforlop.indicators.compute_indicators` with ``by`` including
            ``dimension``); counts of several periods are pooled.
        indicator_id: A proportion indicator, e.g. ``"plan_cocreated"``.
        dimension: ``residence_region`` (default), ``residence_trust`` or ``municipality``.
        period: Only this period label (e.g. ``"2023-T1"``); all periods pooled when ``None``.
        start: For a pathway table: keep units anchored on or after this date.
        end: For a pathway table: keep units anchored on or before this date.
        method: ``"binomial"`` (exact, Spiegelhalter) or ``"normal"`` limits.
        times: Recommended pathway times, for a pathway table.
        catalogue: Code catalogue, for a pathway table.
        reference_date: The extract's reference date, for a pathway table.

    Returns:
        An :class:`AreaComparison` (one row per area, sorted by area) with ``.summary``.

    Raises:
        ConfigurationError: For an unknown dimension or indicator, a duration indicator, or a
            suppressed indicator table.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> rows = [
        ...     {"residence_region": r, "start_date": dt.date(2023, 1, 2),
        ...      "end_date": dt.date(2023, 2, 1), "end_reason": "R" if k < m else "G"}
        ...     for r, m in (("a", 1), ("b", 9)) for k in range(10)
        ... ]
        >>> out = compare_areas(pathway_table(rows), "rejected_referrals")
        >>> out.select("residence_region", "numerator", "denominator", "outside_95").rows()
        [('a', 1, 10, 'below'), ('b', 9, 10, 'above')]
        >>> out.summary.areas, round(out.summary.weighted_sd, 2), out.summary.outside_998
        (2, 0.4, ())
    """
    if dimension not in RESIDENCE_DIMENSIONS:
        known = ", ".join(RESIDENCE_DIMENSIONS)
        msg = f"unknown area dimension {dimension!r}; expected one of {known}"
        raise ConfigurationError(msg)
    d = definition(indicator_id)
    if d.kind != "proportion":
        msg = f"compare_areas needs a proportion indicator; {indicator_id!r} is a duration"
        raise ConfigurationError(msg)
    is_table = "indicator_id" in source.collect_schema().names()
    if is_table:
        table = source.lazy().collect() if isinstance(source, pl.LazyFrame) else source
        if dimension not in table.columns:
            msg = (
                f"the indicator table has no {dimension!r} column;"
                f" compute it with by=[{dimension!r}]"
            )
            raise ConfigurationError(msg)
    else:
        if period is not None:
            start, end = period_bounds(period)
        table = compute_indicators(
            source,
            period="year",
            by=(dimension,),
            start=start,
            end=end,
            suppress=False,
            indicators=[indicator_id],
            times=times,
            catalogue=catalogue,
            reference_date=reference_date,
        )
    areas, national = _area_rows(table, indicator_id, dimension, period if is_table else None)
    nat_num = int(national["numerator"].item() or 0)
    nat_den = int(national["denominator"].item() or 0)
    p0 = nat_num / nat_den if nat_den else None
    unknown = areas.filter(pl.col(dimension) == UNKNOWN_STRATUM)["denominator"].sum()
    areas = areas.filter(pl.col(dimension) != UNKNOWN_STRATUM).sort(dimension)
    out = areas.with_columns(
        pl.lit(indicator_id).alias("indicator_id"),
        (pl.col("numerator") / pl.col("denominator")).alias("value"),
        pl.lit(p0, dtype=pl.Float64).alias("national_value"),
    )
    if p0 is not None and out.height:
        limits = _limits_table(sorted(set(out["denominator"].to_list())), p0, method)
        out = out.join(limits, on="denominator", how="left")
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(c)
            for c in ("lower_95", "upper_95", "lower_998", "upper_998")
        )
    value = pl.col("value")
    out = out.with_columns(
        *(
            pl.when(value < pl.col(f"lower_{t}"))
            .then(pl.lit("below"))
            .when(value > pl.col(f"upper_{t}"))
            .then(pl.lit("above"))
            .alias(f"outside_{t}")
            for t in ("95", "998")
        )
    ).select(
        "indicator_id",
        dimension,
        pl.col("numerator").cast(pl.Int64),
        pl.col("denominator").cast(pl.Int64),
        "value",
        "national_value",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "outside_95",
        "outside_998",
    )
    summary = _summary(out, indicator_id, dimension, period, nat_num, nat_den, int(unknown), method)
    return AreaComparison.wrap(out, summary)


def _summary(
    out: pl.DataFrame,
    indicator_id: str,
    dimension: str,
    period: str | None,
    nat_num: int,
    nat_den: int,
    unknown: int,
    method: FunnelMethod,
) -> AreaVariation:
    stats = out.select(
        pl.col("value").min().alias("lo"),
        pl.col("value").max().alias("hi"),
        (pl.col("numerator").sum() / pl.col("denominator").sum()).alias("pooled"),
        pl.col("denominator").sum().alias("n"),
    )
    lo, hi, pooled, n = stats.row(0)
    wsd: float | None = None
    if out.height and n:
        ss = out.select((pl.col("denominator") * (pl.col("value") - pooled) ** 2).sum()).item()
        wsd = math.sqrt(float(ss) / float(n))

    def names(col: str) -> tuple[str, ...]:
        return tuple(out.filter(pl.col(col).is_not_null())[dimension].cast(pl.String).to_list())

    return AreaVariation(
        indicator_id=indicator_id,
        dimension=dimension,
        period=period,
        areas=out.height,
        national_numerator=nat_num,
        national_denominator=nat_den,
        national_value=nat_num / nat_den if nat_den else None,
        min_value=lo,
        max_value=hi,
        range=hi - lo if lo is not None and hi is not None else None,
        weighted_sd=wsd,
        outside_95=names("outside_95"),
        outside_998=names("outside_998"),
        unknown_area_units=unknown,
        method=method,
    )
