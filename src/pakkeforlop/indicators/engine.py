"""The indicator engine: a pathway table in, the long table of domain/indicators.md §4 out.

Every selected indicator is compiled (:mod:`pakkeforlop.indicators.compile`) to a lazy unit
frame, aggregated per period and stratum, and all of them run as one lazy plan. Statistics
(Wilson interval), targets and suppression are applied to the small aggregated table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl

from pakkeforlop.codes import Catalogue, load_catalogue
from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.compile import CompileContext, latest_date, unit_frame
from pakkeforlop.indicators.definitions import indicator_catalogue, resolve_indicators
from pakkeforlop.indicators.models import (
    CareLevelDefault,
    IndicatorDefinition,
    IndicatorMetadata,
    SuppressionPolicy,
)
from pakkeforlop.indicators.stats import normal_quantile, wilson_exprs
from pakkeforlop.indicators.suppression import apply_suppression, suppression_policy
from pakkeforlop.indicators.times import PathwayTimes, load_pathway_times
from pakkeforlop.periods import (
    Period,
    check_period,
    parse_date_or_period,
    period_end,
    period_label,
    period_start,
)
from pakkeforlop.schema import PATHWAY_SCHEMA, STRATUM_COLUMNS

__all__ = ["OUTPUT_COLUMNS", "IndicatorTable", "compute_indicators", "parse_by"]

#: Value used in a stratum column for units whose stratum value is missing in the data (a null
#: stratum column means "all", i.e. the overall row).
UNKNOWN_STRATUM: Final = "unknown"

#: Output columns before the stratum columns.
_HEAD: Final = ("indicator_id", "goal_area", "period", "period_start", "period_end")
#: Output columns after the stratum columns (domain/indicators.md §4), then the documented extras.
_TAIL: Final = (
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "suppressed",
    "target",
    "meets_target",
    "median_days",
    "p75_days",
    "p90_days",
    "provisional_time",
    "derived",
)


def OUTPUT_COLUMNS(by: Sequence[str] = ()) -> list[str]:  # noqa: N802 - reads as a constant
    """The output columns for a stratification, in order.

    Args:
        by: The stratum columns.

    Returns:
        Column names.

    Examples:
        >>> OUTPUT_COLUMNS(["health_region"])[:6]
        ['indicator_id', 'goal_area', 'period', 'period_start', 'period_end', 'health_region']
    """
    return [*_HEAD, *by, *_TAIL]


class IndicatorTable(pl.DataFrame):
    """The long indicator table: a polars DataFrame that also carries :attr:`metadata`.

    It behaves as an ordinary DataFrame; tables derived from it by DataFrame operations are
    plain DataFrames (keep the original's ``metadata`` if you need it).

    Columns (domain/indicators.md §4): ``indicator_id, goal_area, period, period_start,
    period_end``, one String column per ``by`` dimension (all null in the overall row of each
    indicator and period; ``"unknown"`` where the data has no value), ``numerator, denominator,
    value, ci_low, ci_high, suppressed, target, meets_target, median_days, p75_days, p90_days``,
    then two extras: ``provisional_time`` (a provisional recommended time decided at least one
    unit of the cell) and ``derived`` (the indicator rests on a [DERIVED] quantity, e.g. the
    treatment start).

    Proportions fill ``numerator``, ``value`` and the interval and leave the day statistics null;
    duration indicators fill ``denominator`` (the number of units) and ``median_days``,
    ``p75_days``, ``p90_days`` (linear interpolation) and leave ``numerator``, ``value`` and the
    interval null. Rows are sorted by indicator (catalogue order), period, then strata with the
    overall row first.
    """

    @classmethod
    def wrap(cls, frame: pl.DataFrame, metadata: IndicatorMetadata) -> IndicatorTable:
        """Attach metadata to a DataFrame (no copy of the data).

        Args:
            frame: The table.
            metadata: Its provenance.

        Returns:
            The table as an :class:`IndicatorTable`.
        """
        table = cls(frame)
        table.__dict__["_metadata"] = metadata
        return table

    @property
    def metadata(self) -> IndicatorMetadata:
        """Provenance: editions, times file and provisional rows used, reference date, counts."""
        meta = self.__dict__.get("_metadata")
        if not isinstance(meta, IndicatorMetadata):
            msg = "this table was derived from an IndicatorTable and has no metadata"
            raise AttributeError(msg)
        return meta


def parse_by(by: str | Sequence[str]) -> tuple[str, ...]:
    """Validate stratum dimensions (a comma-separated string or a sequence).

    Args:
        by: E.g. ``"pathway_type,health_region"`` or ``["sex"]``; empty for no strata.

    Returns:
        The dimensions, in order, without duplicates.

    Raises:
        ConfigurationError: If a name is not one of :data:`~pakkeforlop.schema.STRATUM_COLUMNS`.

    Examples:
        >>> parse_by("pathway_type, health_region")
        ('pathway_type', 'health_region')
    """
    items = by.split(",") if isinstance(by, str) else list(by)
    names = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    bad = [n for n in names if n not in STRATUM_COLUMNS]
    if bad:
        msg = f"unknown stratum {bad[0]!r}; expected one of {', '.join(STRATUM_COLUMNS)}"
        raise ConfigurationError(msg)
    return names


def _as_date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return parse_date_or_period(value, end=name == "end")


def _empty(by: Sequence[str]) -> pl.DataFrame:
    dtypes: dict[str, pl.DataType] = {
        "period_start": pl.Date(),
        "period_end": pl.Date(),
        "numerator": pl.Int64(),
        "denominator": pl.Int64(),
        "suppressed": pl.Boolean(),
        "meets_target": pl.Boolean(),
        "provisional_time": pl.Boolean(),
        "derived": pl.Boolean(),
    }
    floats = ("value", "ci_low", "ci_high", "target", "median_days", "p75_days", "p90_days")
    return pl.DataFrame(
        schema={
            c: pl.Float64() if c in floats else dtypes.get(c, pl.String())
            for c in OUTPUT_COLUMNS(by)
        }
    )


def _prepare(pathways: pl.DataFrame | pl.LazyFrame, reference_date: dt.date | None) -> pl.LazyFrame:
    lf = pathways.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in PATHWAY_SCHEMA.names() if c not in names]
    if missing:
        msg = (
            f"the pathway table lacks column(s) {', '.join(missing)};"
            " build it with pakkeforlop.build_pathways (see pakkeforlop.schema.PATHWAY_SCHEMA)"
        )
        raise ConfigurationError(msg)
    ref = pl.lit(reference_date, dtype=pl.Date).alias("_ref") if reference_date else latest_date()
    return lf.select(*(pl.col(c).cast(t) for c, t in PATHWAY_SCHEMA.items())).with_columns(ref)


def _aggregations(d: IndicatorDefinition, provisional_rows: list[int]) -> list[pl.Expr]:
    days = pl.col("_days")
    duration = d.kind == "duration"
    none = pl.lit(None, dtype=pl.Float64)
    return [
        (pl.col("_num").sum() if not duration else pl.lit(None)).cast(pl.Int64).alias("numerator"),
        pl.len().cast(pl.Int64).alias("denominator"),
        (days.median() if duration else none).cast(pl.Float64).alias("median_days"),
        (days.quantile(0.75, "linear") if duration else none).cast(pl.Float64).alias("p75_days"),
        (days.quantile(0.9, "linear") if duration else none).cast(pl.Float64).alias("p90_days"),
        (
            pl.col("_time_row").is_in(provisional_rows).any() if provisional_rows else pl.lit(False)
        ).alias("provisional_time"),
        # which pathway-time rows decided units here (for the metadata; dropped from the output)
        pl.col("_time_row").drop_nulls().unique().alias("_time_rows"),
    ]


def _cells(
    units: pl.LazyFrame, d: IndicatorDefinition, by: Sequence[str], period: Period, prov: list[int]
) -> pl.LazyFrame:
    """Aggregate one indicator's units to cells: per period and stratum, and per period overall.

    For proportions the overall row is summed from the (few) stratum cells; quantiles of a
    duration cannot be, so duration indicators aggregate their units twice.
    """
    units = units.with_columns(period_start(pl.col("_anchor"), period).alias("period_start"))
    aggs = _aggregations(d, prov)
    if not by:
        return (
            units.group_by("period_start")
            .agg(aggs)
            .with_columns(pl.lit(d.id).alias("indicator_id"))
        )
    strata = (
        units.group_by(["period_start", *by])
        .agg(aggs)
        .with_columns(pl.col(b).cast(pl.String).fill_null(UNKNOWN_STRATUM) for b in by)
    )
    if d.kind == "proportion":
        overall = strata.group_by("period_start").agg(
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
            *(pl.col(c).first() for c in ("median_days", "p75_days", "p90_days")),
            pl.col("provisional_time").any(),
            pl.col("_time_rows").list.explode(keep_nulls=False, empty_as_null=False).unique(),
        )
    else:
        overall = units.group_by("period_start").agg(aggs)
    overall = overall.with_columns(pl.lit(None, dtype=pl.String).alias(b) for b in by)
    cells = pl.concat([overall, strata.select(overall.collect_schema().names())])
    return cells.with_columns(pl.lit(d.id).alias("indicator_id"))


def _types_without_time(
    d: IndicatorDefinition, times: PathwayTimes, cat: Catalogue
) -> tuple[str, ...]:
    if d.interval is None:
        return ()
    missing = list(times.types_without(d.interval))
    if d.interval == "assessment":
        # Extended assessment (first C with outcome U) is only possible for some types.
        u = cat.outcomes("C").get(indicator_catalogue().codes.extended_assessment)
        ext_types = u.types if u is not None and u.types else ()
        lacking = set(times.types_without("extended_assessment"))
        missing += [f"{t} extended" for t in ext_types if t in lacking and t not in missing]
    return tuple(missing)


def _finalise(
    cells: pl.DataFrame,
    chosen: Sequence[IndicatorDefinition],
    *,
    by: Sequence[str],
    period: Period,
    level: float,
) -> pl.DataFrame:
    """Add definition columns, labels, value, interval and target to the aggregated cells."""
    defs = pl.DataFrame(
        {
            "indicator_id": [d.id for d in chosen],
            "goal_area": [d.goal_area for d in chosen],
            "_order": list(range(len(chosen))),
            "_proportion": [d.kind == "proportion" for d in chosen],
            "target": [d.target for d in chosen],
            "derived": [d.derived for d in chosen],
        },
        schema_overrides={"target": pl.Float64, "_order": pl.Int32},
    )
    low, high = wilson_exprs(pl.col("numerator"), pl.col("denominator"), level=level)
    prop = pl.col("_proportion")
    value = pl.col("numerator") / pl.col("denominator")
    out = (
        cells.join(defs, on="indicator_id", how="left")
        .with_columns(
            period_label(pl.col("period_start"), period).alias("period"),
            period_end(pl.col("period_start"), period).alias("period_end"),
            pl.when(prop).then(value).alias("value"),
            pl.when(prop).then(low).alias("ci_low"),
            pl.when(prop).then(high).alias("ci_high"),
            pl.lit(False).alias("suppressed"),
        )
        .with_columns((pl.col("value") >= pl.col("target")).alias("meets_target"))
        .sort(["_order", "period_start", *by], nulls_last=False)
    )
    return out.select(OUTPUT_COLUMNS(by))


def compute_indicators(
    pathways: pl.DataFrame | pl.LazyFrame,
    *,
    period: Period | str = "tertial",
    by: str | Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    suppress: bool = True,
    policy: str | SuppressionPolicy = "nki",
    level: float = 0.95,
    indicators: Sequence[str] | None = None,
    times: PathwayTimes | str | Path | None = None,
    catalogue: Catalogue | str | None = None,
    reference_date: dt.date | None = None,
    unknown_care_level: CareLevelDefault = "outpatient",
    input_rows: int | None = None,
    findings: pl.DataFrame | pl.LazyFrame | None = None,
) -> IndicatorTable:
    """Compute indicators per period and stratum from a pathway table.

    See domain/indicators.md §3–§4. Each indicator's units (pathways, or evaluation gaps) are
    placed in a period by the indicator's anchor date; cells are one indicator × period ×
    stratum, plus an overall row per indicator and period (all stratum columns null). Only cells
    with at least one unit appear.

    Args:
        pathways: The pathway table (:data:`~pakkeforlop.schema.PATHWAY_SCHEMA`), eager or lazy.
        period: ``"month"``, ``"tertial"`` (T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec) or ``"year"``.
        by: Stratum dimensions from :data:`~pakkeforlop.schema.STRATUM_COLUMNS` (a sequence or a
            comma-separated string); none by default (the CLI defaults to ``pathway_type``).
        start: Keep units anchored on or after this date (a date, ISO string or period label).
        end: Keep units anchored on or before this date (a period label means its last day).
        suppress: Apply the small-cell suppression policy (off for analysts in a secure
            environment).
        policy: Suppression policy: ``"nki"`` (default) or ``"npr"``, or a policy model.
        level: Confidence level of the Wilson score intervals.
        indicators: Indicator ids to compute; every computable indicator when ``None``.
        times: Recommended pathway times (a loaded set or a TOML file); the shipped
            ``pathway_times_2019.toml`` when ``None``.
        catalogue: Code catalogue or edition (``"2019"``/``"2024"``); decides which indicators
            are computable (H codes, local codes mapped to ``somatic_followup``).
        reference_date: The extract's reference date (needed to tell which due dates have
            passed); the latest milestone date in the table when ``None``.
        unknown_care_level: Which limit applies when the care level ending an interval is
            unknown (domain/indicators.md §2: outpatient).
        input_rows: Rows read from the extract, recorded in the metadata.
        findings: The findings table of earlier stages, counted in the metadata.

    Returns:
        An :class:`IndicatorTable` (a polars DataFrame with ``.metadata``).

    Raises:
        ConfigurationError: For an unknown period, stratum, indicator, policy, a bad times file,
            a missing pathway-table column, or an indicator asked for that cannot be computed.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> paths = pathway_table(
        ...     [
        ...         {"pathway_type": "D11", "start_date": dt.date(2023, 1, 2),
        ...          "first_attendance_date": dt.date(2023, 1, 10),
        ...          "final_decision_date": dt.date(2023, 2, 1), "final_decision_outcome": "P"},
        ...         {"pathway_type": "D11", "start_date": dt.date(2023, 1, 2),
        ...          "first_attendance_date": dt.date(2023, 1, 10),
        ...          "final_decision_date": dt.date(2023, 3, 31), "final_decision_outcome": "P"},
        ...     ]
        ... )
        >>> out = compute_indicators(paths, indicators=["assessment_in_time"], suppress=False)
        >>> out.select("period", "numerator", "denominator", "value").rows()
        [('2023-T1', 1, 2, 0.5)]
        >>> out.metadata.provisional_times_used
        ('D11 assessment (provisional)',)
    """
    per = check_period(period)
    dims = parse_by(by)
    if not 0 < level < 1:
        msg = f"confidence level must lie strictly between 0 and 1, got {level}"
        raise ConfigurationError(msg)
    normal_quantile(level)
    first = _as_date(start, "start")
    last = _as_date(end, "end")
    if first is not None and last is not None and last < first:
        msg = f"--to {last} is before --from {first}"
        raise ConfigurationError(msg)
    pol = suppression_policy(policy) if suppress else None
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue or "2024")
    tim = times if isinstance(times, PathwayTimes) else load_pathway_times(times)
    chosen, skipped = resolve_indicators(indicators, cat)
    mapped = cat.indicator_codes.get("somatic_followup", ())
    ctx = CompileContext(
        codes=indicator_catalogue().codes,
        times=tim,
        unknown_care_level=unknown_care_level,
        somatic_codes=tuple(o for e, o in mapped if e == "U" and o),
    )
    base = _prepare(pathways, reference_date)
    prov = [i for i, t in enumerate(tim.times) if t.status == "provisional"]
    cell_plans = [
        _cells(unit_frame(base, d, ctx, by=dims, start=first, end=last), d, dims, per, prov)
        for d in chosen
    ]
    names = cell_plans[0].collect_schema().names() if cell_plans else []
    plans: list[pl.LazyFrame] = [
        pl.concat([p.select(names) for p in cell_plans]) if cell_plans else pl.LazyFrame(),
        base.select(pl.len().alias("n"), pl.col("_ref").first().alias("ref")),
    ]
    cells, summary = pl.collect_all(plans)
    used: list[int] = []
    if cell_plans:
        used = cells["_time_rows"].explode().drop_nulls().unique().to_list()
        table = _finalise(cells, chosen, by=dims, period=per, level=level)
    else:
        table = _empty(dims)
    if pol is not None and table.height:
        table = apply_suppression(table, pol, by=dims)
    used_rows = sorted(set(used) & set(prov))
    meta = _metadata(
        chosen=chosen,
        skipped=skipped,
        cat=cat,
        tim=tim,
        used_rows=used_rows,
        reference=summary["ref"].item() if summary.height else reference_date,
        pathway_count=int(summary["n"].item()) if summary.height else 0,
        per=per,
        dims=dims,
        first=first,
        last=last,
        pol=pol,
        level=level,
        unknown_care_level=unknown_care_level,
        input_rows=input_rows,
        findings=findings,
    )
    return IndicatorTable.wrap(table, meta)


def _metadata(
    *,
    chosen: Sequence[IndicatorDefinition],
    skipped: dict[str, str],
    cat: Catalogue,
    tim: PathwayTimes,
    used_rows: Sequence[int],
    reference: Any,
    pathway_count: int,
    per: Period,
    dims: tuple[str, ...],
    first: dt.date | None,
    last: dt.date | None,
    pol: SuppressionPolicy | None,
    level: float,
    unknown_care_level: CareLevelDefault,
    input_rows: int | None,
    findings: pl.DataFrame | pl.LazyFrame | None,
) -> IndicatorMetadata:
    without = {d.id: _types_without_time(d, tim, cat) for d in chosen if d.interval is not None}
    notes = [
        f"Recommended times: {tim.file} (version {tim.version}); the care level ending an"
        f" interval decides the limit, {unknown_care_level} when unknown, day care as outpatient.",
    ]
    notes += [
        f"{i}: pathways of type {', '.join(t)} are left out (no recommended time)."
        for i, t in without.items()
        if t
    ]
    notes += [f"{d.id}: {d.notes}" for d in chosen if d.derived]
    notes += [f"{i}: {reason}." for i, reason in skipped.items()]
    by_severity: dict[str, int] = {}
    count: int | None = None
    if findings is not None:
        counted = (
            findings.lazy().group_by(pl.col("severity").cast(pl.String)).agg(pl.len()).collect()
        )
        by_severity = dict(
            zip(counted["severity"].to_list(), counted["len"].to_list(), strict=True)
        )
        count = sum(by_severity.values())
    return IndicatorMetadata(
        catalogue_edition=indicator_catalogue().edition,
        code_edition=cat.edition,
        code_extension=cat.extension,
        times_file=tim.file,
        times_version=tim.version,
        provisional_times_used=tuple(tim.times[i].label for i in used_rows),
        types_without_time={k: v for k, v in without.items() if v},
        reference_date=reference if isinstance(reference, dt.date) else None,
        period=per,
        by=dims,
        start=first,
        end=last,
        suppression=pol.name if pol is not None else None,
        level=level,
        unknown_care_level=unknown_care_level,
        indicators=tuple(d.id for d in chosen),
        not_computed=skipped,
        input_rows=input_rows,
        pathway_count=pathway_count,
        findings_count=count,
        findings_by_severity=by_severity,
        notes=tuple(notes),
    )
