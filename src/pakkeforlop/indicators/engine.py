"""The indicator engine: a pathway table in, the long table of domain/indicators.md §4 out.

Every selected indicator is compiled (:mod:`pakkeforlop.indicators.compile`) to a lazy unit
frame and aggregated per period and stratum to *partial results* (:func:`compute_partials`:
counts, and for durations a histogram of days; all indicators run as one lazy plan). Partials
of any number of parts of an extract combine exactly (:func:`combine_partials`): counts add up,
histograms merge and the day quantiles are read off them exactly
(:mod:`pakkeforlop.indicators.partials`). Statistics (Wilson interval), targets and suppression
are applied to the small combined table. :func:`compute_indicators` is the two in one, so the
whole-table and the part-by-part paths share every step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

import polars as pl

from pakkeforlop.codes import Catalogue, code_label, load_catalogue
from pakkeforlop.errors import ConfigurationError, checked
from pakkeforlop.indicators.compile import CompileContext, latest_date, unit_frame
from pakkeforlop.indicators.definitions import indicator_catalogue, resolve_indicators
from pakkeforlop.indicators.models import (
    CareLevelDefault,
    IndicatorDefinition,
    IndicatorMetadata,
    SuppressionPolicy,
)
from pakkeforlop.indicators.partials import (
    DURATION_QUANTILES,
    PARTIAL_KEYS,
    SETTINGS_VERSION,
    histogram_quantiles,
    partial_schema,
)
from pakkeforlop.indicators.regimes import Regime, load_regimes, regime_of, regime_spans
from pakkeforlop.indicators.settings import IndicatorSettings, parse_by
from pakkeforlop.indicators.stats import normal_quantile, wilson_exprs
from pakkeforlop.indicators.suppression import (
    apply_margin_suppression,
    apply_suppression,
    suppression_policy,
)
from pakkeforlop.indicators.times import PathwayTimes, load_pathway_times
from pakkeforlop.periods import (
    Period,
    period_end,
    period_label,
    period_start,
)
from pakkeforlop.schema import PATHWAY_SCHEMA, SEVERITY
from pakkeforlop.timeline.rules import treatment_start_rule

__all__ = [
    "OUTPUT_COLUMNS",
    "IndicatorTable",
    "combine_partials",
    "compute_indicators",
    "compute_partials",
    "parse_by",
]

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
    "not_available",
    "not_available_reason",
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


def _empty(by: Sequence[str]) -> pl.DataFrame:
    dtypes: dict[str, pl.DataType] = {
        "period_start": pl.Date(),
        "period_end": pl.Date(),
        "numerator": pl.Int64(),
        "denominator": pl.Int64(),
        "suppressed": pl.Boolean(),
        "not_available": pl.Boolean(),
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
    # columns a table built before they existed lacks: null (unknown), as before they existed
    for constant in ("reference_date", "treatment_start_rule", "detox_end_care_level"):
        if constant not in names:
            lf = lf.with_columns(pl.lit(None, dtype=PATHWAY_SCHEMA[constant]).alias(constant))
            names.append(constant)
    missing = [c for c in PATHWAY_SCHEMA.names() if c not in names]
    if missing:
        msg = (
            f"the pathway table lacks column(s) {', '.join(missing)};"
            " build it with pakkeforlop.build_pathways (see pakkeforlop.schema.PATHWAY_SCHEMA)"
        )
        raise ConfigurationError(msg)
    # the given date, else the one the table was built with, else its latest milestone; found
    # once here (as an aggregation in every indicator's plan it cost a fifth of the indicators)
    if reference_date is None:
        found = lf.select(pl.coalesce(pl.col("reference_date").max(), latest_date())).collect()
        reference_date = found.item()
    ref = pl.lit(reference_date, dtype=pl.Date).alias("_ref")
    return lf.select(*(pl.col(c).cast(t) for c, t in PATHWAY_SCHEMA.items())).with_columns(ref)


def _partial_cells(
    units: pl.LazyFrame, d: IndicatorDefinition, by: Sequence[str], period: Period, prov: list[int]
) -> pl.LazyFrame:
    """Aggregate one indicator's units to partial cells: per period, stratum and (durations) day.

    Stratum values stay as in the data (null where missing); overall rows are made when
    partials are combined, by adding the stratum cells (histograms, for durations).
    """
    duration = d.kind == "duration"
    keys = ["period_start", *by, *(["_days"] if duration else [])]
    num = pl.col("_num").sum() if not duration else pl.lit(None)
    return (
        units.with_columns(period_start(pl.col("_anchor"), period).alias("period_start"))
        .group_by(keys)
        .agg(
            num.cast(pl.Int64).alias("numerator"),
            pl.len().cast(pl.Int64).alias("denominator"),
            (pl.col("_time_row").is_in(prov).any() if prov else pl.lit(False)).alias(
                "provisional_time"
            ),
            # which pathway-time rows decided units here (for the metadata)
            pl.col("_time_row").drop_nulls().unique().alias("time_rows"),
        )
        .select(
            pl.lit(d.id, dtype=pl.String).alias("indicator_id"),
            "period_start",
            *(pl.col(b).cast(pl.String) for b in by),
            (pl.col("_days") if duration else pl.lit(None)).cast(pl.Int32).alias("days"),
            "numerator",
            "denominator",
            "provisional_time",
            pl.col("time_rows").cast(pl.List(pl.Int32)),
            pl.lit(None, dtype=pl.Date).alias("reference_date"),
            pl.lit(None, dtype=pl.String).alias("settings"),
            pl.lit(None, dtype=pl.String).alias("treatment_start_rule"),
        )
    )


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
    windows: Mapping[str, Window] | None = None,
) -> pl.DataFrame:
    """Add definition columns, labels, value, interval and target to the aggregated cells.

    A cell of a period wholly outside the indicator's window (its code not yet in force, or
    another rule regime) is ``not_available`` with the reason; its counts, value and interval
    are empty (never a 0).
    """
    win = windows or {}
    defs = pl.DataFrame(
        {
            "indicator_id": [d.id for d in chosen],
            "goal_area": [d.goal_area for d in chosen],
            "_order": list(range(len(chosen))),
            "_proportion": [d.kind == "proportion" for d in chosen],
            "_count": [d.kind == "count" for d in chosen],
            "target": [d.target for d in chosen],
            "derived": [d.derived for d in chosen],
            "_win_start": [win[d.id].start if d.id in win else None for d in chosen],
            "_win_end": [win[d.id].end if d.id in win else None for d in chosen],
            "_win_reason": [win[d.id].reason() if d.id in win else None for d in chosen],
        },
        schema_overrides={
            "target": pl.Float64,
            "_order": pl.Int32,
            "_win_start": pl.Date,
            "_win_end": pl.Date,
            "_win_reason": pl.String,
        },
    )
    low, high = wilson_exprs(pl.col("numerator"), pl.col("denominator"), level=level)
    prop = pl.col("_proportion")
    value = pl.col("numerator") / pl.col("denominator")
    out = (
        cells.join(defs, on="indicator_id", how="left")
        .with_columns(
            period_label(pl.col("period_start"), period).alias("period"),
            period_end(pl.col("period_start"), period).alias("period_end"),
            # a count (activity indicator): value = the count, no denominator, no interval
            pl.when(prop)
            .then(value)
            .when(pl.col("_count"))
            .then(pl.col("numerator").cast(pl.Float64))
            .alias("value"),
            pl.when(~pl.col("_count")).then(pl.col("denominator")).alias("denominator"),
            pl.when(prop).then(low).alias("ci_low"),
            pl.when(prop).then(high).alias("ci_high"),
            pl.lit(False).alias("suppressed"),
        )
        .with_columns((pl.col("value") >= pl.col("target")).alias("meets_target"))
        .with_columns(
            (
                (pl.col("period_end") < pl.col("_win_start")).fill_null(value=False)
                | (pl.col("period_start") > pl.col("_win_end")).fill_null(value=False)
            ).alias("_na")
        )
        .with_columns(
            pl.col("_na").alias("not_available"),
            pl.when(pl.col("_na")).then(pl.col("_win_reason")).alias("not_available_reason"),
            *(pl.when(~pl.col("_na")).then(pl.col(c)).alias(c) for c in _NOT_AVAILABLE_BLANKS),
        )
        .sort(["_order", "period_start", *by], nulls_last=False)
    )
    return out.select(OUTPUT_COLUMNS(by))


#: What a not-available cell leaves empty.
_NOT_AVAILABLE_BLANKS: Final = (
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "meets_target",
    "median_days",
    "p75_days",
    "p90_days",
)


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
    settings: IndicatorSettings | None = None,
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
            passed); when ``None``, the one the pathway table was built with (its
            ``reference_date`` column, domain/extract-and-timeline.md §1 "One reference date"),
            or for a table without one the latest milestone date in it.
        unknown_care_level: Which limit applies when the care level ending an interval is
            unknown (domain/indicators.md §2: outpatient).
        input_rows: Rows read from the extract, recorded in the metadata.
        findings: The findings table of earlier stages, counted in the metadata.
        settings: All of ``period`` … ``unknown_care_level`` (but ``catalogue`` and
            ``reference_date``) as one :class:`~pakkeforlop.indicators.IndicatorSettings`,
            instead of the keywords (which must then keep their defaults).

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
    chosen = _chosen_settings(
        settings,
        period=period,
        by=by,
        start=start,
        end=end,
        suppress=suppress,
        policy=policy,
        level=level,
        indicators=indicators,
        times=times,
        unknown_care_level=unknown_care_level,
    )
    loaded = _settings(chosen, catalogue)
    partial = _partials(pathways, loaded, reference_date)
    return _combine(
        [partial], loaded, pol=_output_options(chosen), input_rows=input_rows, findings=findings
    )


def compute_partials(
    pathways: pl.DataFrame | pl.LazyFrame,
    *,
    period: Period | str = "tertial",
    by: str | Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    indicators: Sequence[str] | None = None,
    times: PathwayTimes | str | Path | None = None,
    catalogue: Catalogue | str | None = None,
    reference_date: dt.date | None = None,
    unknown_care_level: CareLevelDefault = "outpatient",
    settings: IndicatorSettings | None = None,
) -> pl.DataFrame:
    """Partial indicator results of one part of an extract (whole patients), to combine later.

    The part must hold whole patients (every pathway lives inside one patient, so a hash
    partition of ``patient_id`` will do). The partial holds counts per indicator, period start
    and stratum value (and, for duration indicators, per day: a histogram, which is exact since
    days are whole numbers) plus one summary row; the layout is
    :func:`~pakkeforlop.indicators.partials.partial_schema`. :func:`combine_partials` adds the
    partials of all parts into exactly the table :func:`compute_indicators` gives on the whole.

    Every part must be computed with the same settings and the same explicit
    ``reference_date`` (the extract's, e.g. :attr:`pakkeforlop.ReadInfo.reference_date`): the
    default, the latest date in the part's own table, differs from part to part, and
    :func:`combine_partials` refuses partials with different reference dates.

    Args:
        pathways: The pathway table of the part (:data:`~pakkeforlop.schema.PATHWAY_SCHEMA`).
        period: As in :func:`compute_indicators`.
        by: As in :func:`compute_indicators`.
        start: As in :func:`compute_indicators`.
        end: As in :func:`compute_indicators`.
        indicators: As in :func:`compute_indicators`.
        times: As in :func:`compute_indicators`.
        catalogue: As in :func:`compute_indicators`.
        reference_date: The extract's reference date (by default the pathway table's own, as
            in :func:`compute_indicators`).
        unknown_care_level: As in :func:`compute_indicators`.
        settings: As in :func:`compute_indicators` (the output options are not used here).

    Returns:
        The partial results (a small frame: its size follows the cells, not the pathways).

    Raises:
        ConfigurationError: For an unknown period, stratum, indicator, a bad times file or a
            missing pathway-table column.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> paths = pathway_table(
        ...     [
        ...         {"pathway_type": "D11", "start_date": dt.date(2023, 1, 2),
        ...          "first_attendance_date": dt.date(2023, 1, 10),
        ...          "final_decision_date": dt.date(2023, 2, 1), "final_decision_outcome": "P"},
        ...     ]
        ... )
        >>> ref = dt.date(2023, 12, 31)
        >>> part = compute_partials(paths, indicators=["assessment_days"], reference_date=ref)
        >>> part.select("indicator_id", "days", "denominator").rows()
        [('assessment_days', 22, 1), (None, None, 1)]
    """
    chosen = _chosen_settings(
        settings,
        period=period,
        by=by,
        start=start,
        end=end,
        indicators=indicators,
        times=times,
        unknown_care_level=unknown_care_level,
    )
    return _partials(pathways, _settings(chosen, catalogue), reference_date)


def combine_partials(
    partials: Sequence[pl.DataFrame | pl.LazyFrame],
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
    unknown_care_level: CareLevelDefault = "outpatient",
    input_rows: int | None = None,
    findings: pl.DataFrame | pl.LazyFrame | Mapping[str, int] | None = None,
    settings: IndicatorSettings | None = None,
) -> IndicatorTable:
    """Combine the partial results of the parts of an extract into the indicator table.

    Counts add up per cell; the overall row of each indicator and period adds up the stratum
    cells; duration histograms merge, and median, p75 and p90 are read off the merged histogram
    exactly as polars computes them from the raw days
    (:func:`~pakkeforlop.indicators.partials.histogram_quantiles`). Then the same steps as
    :func:`compute_indicators` follow (value, Wilson interval, target, suppression, metadata), so
    the table and its metadata are those of the whole extract.

    Args:
        partials: The parts' :func:`compute_partials` results, in any order (an empty part's
            partial adds nothing).
        period: The settings the partials were computed with (checked against them).
        by: The same.
        start: The same.
        end: The same.
        suppress: As in :func:`compute_indicators`.
        policy: As in :func:`compute_indicators`.
        level: As in :func:`compute_indicators`.
        indicators: The same as for the partials.
        times: The same.
        catalogue: The same.
        unknown_care_level: The same.
        input_rows: Rows read from the extract, recorded in the metadata.
        findings: The findings of all stages and parts (a frame), or their counts by severity.
        settings: As in :func:`compute_indicators`.

    Returns:
        An :class:`IndicatorTable`.

    Raises:
        ConfigurationError: For settings that are invalid or differ from those the partials
            were computed with, or partials computed with different reference dates.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> def path(m, c):  # first attendance and final decision in January 2023
        ...     return {"pathway_type": "D11", "start_date": dt.date(2023, 1, 2),
        ...             "first_attendance_date": dt.date(2023, 1, m),
        ...             "final_decision_date": dt.date(2023, 1, c),
        ...             "final_decision_outcome": "P"}
        >>> ref = dt.date(2023, 12, 31)
        >>> parts = [pathway_table([path(2, 5), path(2, 30)]), pathway_table([path(3, 20)])]
        >>> partials = [compute_partials(p, reference_date=ref) for p in parts]
        >>> out = combine_partials(partials, suppress=False)
        >>> whole = compute_indicators(pl.concat(parts), reference_date=ref, suppress=False)
        >>> out.equals(whole), out.metadata == whole.metadata
        (True, True)
        >>> out.filter(indicator_id="assessment_days")["median_days"].item()  # 3, 17, 28 days
        17.0
    """
    chosen = _chosen_settings(
        settings,
        period=period,
        by=by,
        start=start,
        end=end,
        suppress=suppress,
        policy=policy,
        level=level,
        indicators=indicators,
        times=times,
        unknown_care_level=unknown_care_level,
    )
    return _combine(
        partials,
        _settings(chosen, catalogue),
        pol=_output_options(chosen),
        input_rows=input_rows,
        findings=findings,
    )


@dataclass(frozen=True)
class _Settings:
    """Validated, loaded settings of :func:`compute_partials` and :func:`combine_partials`."""

    per: Period
    dims: tuple[str, ...]
    first: dt.date | None
    last: dt.date | None
    cat: Catalogue
    tim: PathwayTimes
    chosen: tuple[IndicatorDefinition, ...]
    skipped: dict[str, str]
    ctx: CompileContext
    prov: list[int]
    level: float
    windows: dict[str, Window]
    """Indicator → when it is available (its code in force, its rule regime): domain/
    indicators.md §3, "Codes not yet in force" and "Rule regimes"."""
    regimes: tuple[Regime, ...]

    def fingerprint(self) -> str:
        """What the partials depend on, as compact JSON (stored in each partial's summary row).

        The times are identified by a digest of their content: a times file edited between two
        parts must not pass for the same one.
        """
        times = hashlib.sha256(self.tim.model_dump_json().encode()).hexdigest()[:16]
        return json.dumps(
            {
                "version": SETTINGS_VERSION,
                "period": self.per,
                "by": list(self.dims),
                "start": self.first.isoformat() if self.first else None,
                "end": self.last.isoformat() if self.last else None,
                "indicators": [d.id for d in self.chosen],
                "times": f"{self.tim.file} {self.tim.version} {times}",
                "codes": [self.cat.edition, self.cat.extension],
                "unknown_care_level": self.ctx.unknown_care_level,
                "somatic_codes": list(self.ctx.somatic_codes),
                "windows": {k: [str(w.start), str(w.end)] for k, w in self.windows.items()},
            },
            separators=(",", ":"),
        )


def _chosen_settings(settings: IndicatorSettings | None, **keywords: Any) -> IndicatorSettings:
    """The settings model: ``settings`` when given, else one built from the keywords.

    With ``settings`` the keywords must keep their defaults (two sources of one option would be
    a guess about which wins). Invalid keywords are one line naming the option.
    """
    if settings is None:
        level = keywords.get("level", 0.95)
        if not 0 < level < 1:
            msg = f"confidence level must lie strictly between 0 and 1, got {level}"
            raise ConfigurationError(msg)
        return checked(IndicatorSettings, **keywords)
    fields = IndicatorSettings.model_fields
    changed = [k for k, v in keywords.items() if v != fields[k].default]
    if changed:
        msg = (
            "give the indicator settings either as settings= or as keywords, not both"
            f" ({', '.join(changed)} given as well)"
        )
        raise ConfigurationError(msg)
    return settings


def _output_options(s: IndicatorSettings) -> SuppressionPolicy | None:
    normal_quantile(s.level)
    return suppression_policy(s.policy) if s.suppress else None


def _settings(chosen_settings: IndicatorSettings, catalogue: Catalogue | str | None) -> _Settings:
    per = chosen_settings.period
    dims = chosen_settings.by
    first = chosen_settings.start
    last = chosen_settings.end
    times = chosen_settings.times
    level = chosen_settings.level
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue or "2024")
    tim = times if isinstance(times, PathwayTimes) else load_pathway_times(times)
    regimes = load_regimes(chosen_settings.revised_rule_from)
    unknown_care_level = chosen_settings.unknown_care_level
    chosen, skipped = resolve_indicators(chosen_settings.indicators, cat)
    mapped = cat.indicator_codes.get("somatic_followup", ())
    ctx = CompileContext(
        codes=indicator_catalogue().codes,
        times=tim,
        unknown_care_level=unknown_care_level,
        somatic_codes=tuple(o for e, o in mapped if e == "U" and o),
        period=per,
    )
    return _Settings(
        per=per,
        dims=dims,
        first=first,
        last=last,
        cat=cat,
        tim=tim,
        chosen=tuple(chosen),
        skipped=skipped,
        ctx=ctx,
        prov=[i for i, t in enumerate(tim.times) if t.status == "provisional"],
        level=level,
        windows=_windows(chosen, cat, regimes, chosen_settings.code_starts),
        regimes=regimes,
    )


class Window(NamedTuple):
    """When an indicator is available: from its code's start to the end of its rule regime."""

    start: dt.date | None
    end: dt.date | None
    code_reason: str | None
    regime_reason: str | None

    def reason(self) -> str:
        """Why a period outside the window is not available."""
        return "; ".join(r for r in (self.code_reason, self.regime_reason) if r)


def _windows(
    chosen: Sequence[IndicatorDefinition],
    cat: Catalogue,
    regimes: Sequence[Regime],
    code_starts: Mapping[str, dt.date] | None,
) -> dict[str, Window]:
    """When each indicator is available (domain/indicators.md §3).

    An indicator that rests on a code (``requires_event``) is available from the day the code
    came into force (the catalogue's ``valid_from``), one resting on local codes from the
    first of them in force (:func:`_local_code_start`); one tied to rule regimes (``regimes``)
    while one of them is in force. Outside, a period is not available; the period straddling a
    bound counts the units inside it only.
    """
    out: dict[str, Window] = {}
    for d in chosen:
        start = end = None
        code_reason = regime_reason = None
        code = cat.events.get(d.requires_event) if d.requires_event else None
        if code is not None and code.valid_from is not None:
            start = code.valid_from
            unsure = " [UNSURE: assumed]" if "UNSURE" in code.note else ""
            code_reason = (
                f"event {code.code} is in force from {code.valid_from.isoformat()}{unsure}"
                f" (code edition {cat.edition}); the indicator counts units from that day only"
            )
        local = _local_code_start(d, cat, code_starts)
        if local is not None:
            # the later of the two starts decides; both reasons are kept
            start = max(start, local[0]) if start is not None else local[0]
            code_reason = "; ".join(r for r in (code_reason, local[1]) if r)
        if d.regimes is not None:
            spans = regime_spans(regimes)
            inside = [(a, b) for r, a, b in spans if r.id in d.regimes]
            if inside:
                lo = min(a for a, _ in inside)
                hi_values = [b for _, b in inside]
                hi = None if None in hi_values else max(b for b in hi_values if b is not None)
                start = max(start, lo) if start is not None else lo
                end = hi
                others = [r for r, _, _ in spans if r.id not in d.regimes]
                if others:
                    regime_reason = (
                        f"only meaningful under the {', '.join(d.regimes)} rule; not available"
                        f" from {others[0].effective_from.isoformat()} ({others[0].title_en};"
                        f" effective date {'[UNSURE] ' if others[0].source == 'UNSURE' else ''}"
                        "configurable)"
                    )
        if start is not None or end is not None:
            out[d.id] = Window(start, end, code_reason, regime_reason)
    return out


def _local_code_start(
    d: IndicatorDefinition, cat: Catalogue, code_starts: Mapping[str, dt.date] | None
) -> tuple[dt.date, str] | None:
    """When an indicator fed by local codes starts, and why (``None``: no local code feeds it).

    domain/indicators.md §3: a local code starts at its ``valid_from``, else with the first
    month the extract holds it (``code_starts``, from the data). The indicator starts with the
    first of its codes; with none in force at any date, it is not available in any period.
    """
    if d.source != "local":
        return None  # only an indicator whose numerator rests on local codes
    # the codes the numerator reads: local U outcomes mapped to it (CompileContext.somatic_codes)
    mapped = [c for c in cat.codes if c.indicator == d.id and cat.pair_of(c)[0] == "U"]
    if not mapped:
        return None
    starts: list[tuple[dt.date, str]] = []
    missing: list[str] = []
    for c in mapped:
        label = code_label(*cat.pair_of(c))
        if c.valid_from is not None:
            starts.append(
                (
                    c.valid_from,
                    f"local code {label} is in force from"
                    f" {c.valid_from.isoformat()} (catalogue extension)",
                )
            )
        elif code_starts is not None and label in code_starts:
            first = code_starts[label]
            starts.append(
                (
                    first,
                    f"local code {label} has no valid_from: its start"
                    f" {first.isoformat()} was taken from the data (the first month the"
                    " extract holds it)",
                )
            )
        else:
            missing.append(label)
    if starts:
        return min(starts)
    why = (
        "the extract holds none of it"
        if code_starts is not None
        else "its start is taken from the data (run through pakkeforlop.run_indicators, or give"
        " IndicatorSettings.code_starts)"
    )
    return dt.date.max, (
        f"local code {', '.join(missing)} has no valid_from and {why}; not available in any period"
    )


def _partials(
    pathways: pl.DataFrame | pl.LazyFrame, s: _Settings, reference_date: dt.date | None
) -> pl.DataFrame:
    base = _prepare(pathways, reference_date)
    schema = partial_schema(s.dims)
    plans = [
        _partial_cells(
            _within_window(unit_frame(base, d, s.ctx, by=s.dims, start=s.first, end=s.last), d, s),
            d,
            s.dims,
            s.per,
            s.prov,
        )
        for d in s.chosen
    ]
    summary = base.select(
        *(pl.lit(None, dtype=schema[c]).alias(c) for c in (*PARTIAL_KEYS, *s.dims, "days")),
        pl.lit(None, dtype=pl.Int64).alias("numerator"),
        pl.len().cast(pl.Int64).alias("denominator"),
        pl.lit(False).alias("provisional_time"),
        pl.lit([], dtype=pl.List(pl.Int32)).alias("time_rows"),
        pl.col("_ref").first().alias("reference_date"),
        pl.lit(s.fingerprint()).alias("settings"),
        pl.col("treatment_start_rule").cast(pl.String).drop_nulls().first(),
    )
    frames = pl.collect_all([*plans, summary])
    return pl.concat([f.select(schema.names()).cast(schema) for f in frames], how="vertical")


def _within_window(units: pl.LazyFrame, d: IndicatorDefinition, s: _Settings) -> pl.LazyFrame:
    """Drop units anchored outside the indicator's window in a period that straddles its bound.

    Periods wholly outside keep their units only to be reported as not available, without
    counts (:func:`_finalise`).
    """
    window = s.windows.get(d.id)
    if window is None:
        return units
    anchor = pl.col("_anchor")
    first = period_start(anchor, s.per)
    last = period_end(first, s.per)
    inside = pl.lit(value=True)
    outside = pl.lit(value=False)
    if window.start is not None:
        inside = inside & (anchor >= window.start)
        outside = outside | (last < window.start)
    if window.end is not None:
        inside = inside & (anchor <= window.end)
        outside = outside | (first > window.end)
    return units.filter(inside | outside)


class _Merged(NamedTuple):
    cells: pl.LazyFrame
    pathway_count: int
    reference: dt.date | None
    treatment_start: str | None


def _merge_partials(partials: Sequence[pl.DataFrame | pl.LazyFrame], s: _Settings) -> _Merged:
    """All partials' cells (lazily), the pathway count, reference date and treatment-start rule.

    Checks that every part was computed with the same settings, reference date and rule.
    """
    schema = partial_schema(s.dims)
    frames = []
    for i, partial in enumerate(partials):
        lf = partial.lazy()
        names = lf.collect_schema().names()
        if set(names) != set(schema.names()):
            msg = (
                f"partial {i} has the columns {', '.join(names)}; expected"
                f" {', '.join(schema.names())} (computed with other strata?)"
            )
            raise ConfigurationError(msg)
        frames.append(lf.select(schema.names()).cast(schema))
    merged = pl.concat(frames, how="vertical") if frames else pl.LazyFrame(schema=schema)
    summary = (
        merged.filter(pl.col("indicator_id").is_null())
        .group_by("settings")
        .agg(
            pl.col("denominator").sum().alias("pathways"),
            pl.col("reference_date").drop_nulls().unique().sort().alias("references"),
            pl.col("treatment_start_rule").drop_nulls().unique().sort().alias("rules"),
        )
        .collect()
    )
    wanted = s.fingerprint()
    for found in summary["settings"].to_list():
        if found != wanted:
            msg = (
                "a partial was computed with other settings than these:"
                f" {_settings_difference(found, wanted)}; compute every part with the same"
                " settings"
            )
            raise ConfigurationError(msg)
    references = sorted({d for ds in summary["references"].to_list() for d in ds})
    if len(references) > 1:
        msg = (
            f"partials computed with different reference dates ({references[0]} to"
            f" {references[-1]}); give every part the extract's reference date"
        )
        raise ConfigurationError(msg)
    rules = sorted({r for rs in summary["rules"].to_list() for r in rs})
    if len(rules) > 1:
        msg = (
            f"partials built with different treatment-start rules ({', '.join(rules)});"
            " build every part's pathways with the same rule"
        )
        raise ConfigurationError(msg)
    pathways = int(summary["pathways"].sum()) if summary.height else 0
    return _Merged(
        merged.filter(pl.col("indicator_id").is_not_null()),
        pathways,
        references[0] if references else None,
        rules[0] if rules else None,
    )


def _settings_difference(found: str | None, wanted: str) -> str:
    if found is None:
        return "no settings recorded"
    try:
        theirs = json.loads(found)
    except json.JSONDecodeError:
        return f"unreadable settings {found!r}"
    ours = json.loads(wanted)
    keys = [k for k in ours if theirs.get(k) != ours[k]]
    return "; ".join(f"{k} {theirs.get(k)!r} instead of {ours[k]!r}" for k in keys) or "?"


def _combined_cells(cells: pl.LazyFrame, s: _Settings) -> pl.LazyFrame:
    """Per cell (stratum rows and overall rows): counts, the provisional flag, day quantiles."""
    dims = list(s.dims)
    sums = [
        pl.col("numerator").sum(),
        pl.col("denominator").sum(),
        pl.col("provisional_time").any(),
    ]
    # the stratum level, raw values: merging the parts' histograms
    strata = cells.group_by([*PARTIAL_KEYS, *dims, "days"]).agg(sums)
    if dims:
        # each margin adds up the stratum cells: with several dimensions every dimension on its
        # own (_level i + 1), then the overall row of each indicator and period (_OVERALL)
        def margin(kept: list[str], level: int) -> pl.LazyFrame:
            return (
                strata.group_by([*PARTIAL_KEYS, *kept, "days"])
                .agg(sums)
                .with_columns(
                    *(pl.lit(None, dtype=pl.String).alias(b) for b in dims if b not in kept),
                    pl.lit(level, dtype=pl.UInt8).alias("_level"),
                )
                .select([*PARTIAL_KEYS, *dims, "days", *_SUMMED, "_level"])
            )

        singles = [margin([b], i + 1) for i, b in enumerate(dims)] if len(dims) > 1 else []
        levels = pl.concat(
            [
                strata.with_columns(pl.lit(0, dtype=pl.UInt8).alias("_level")),
                *singles,
                margin([], _OVERALL),
            ],
            how="vertical",
        )
    else:
        levels = strata.with_columns(pl.lit(_OVERALL, dtype=pl.UInt8).alias("_level"))
    keys = [*PARTIAL_KEYS, *dims, "_level"]
    # one row per cell, its histogram as two lists; numbered once, on a collected frame (a lazy
    # plan would number anew on every use)
    per_cell = (
        levels.group_by(keys)
        .agg(*sums, pl.col("days"), pl.col("denominator").alias("_counts"))
        .collect()
        .with_row_index("_cell")
    )
    durations = [d.id for d in s.chosen if d.kind == "duration"]
    histograms = (
        per_cell.lazy()
        .filter(pl.col("indicator_id").is_in(durations))
        .select("_cell", "days", "_counts")
        .explode(["days", "_counts"])
    )
    quantiles = histogram_quantiles(histograms, DURATION_QUANTILES, cell="_cell", count="_counts")
    totals = per_cell.lazy().drop("days", "_counts")
    proportion = pl.col("indicator_id").is_in(durations).not_()
    return totals.join(quantiles, on="_cell", how="left").with_columns(
        pl.when(proportion).then(pl.col("numerator")).alias("numerator"),
        # a stratum value missing in the data shows as "unknown" (null means "all")
        *(
            pl.when((pl.col("_level") == 0) | (pl.col("_level") == i + 1))
            .then(pl.col(b).fill_null(UNKNOWN_STRATUM))
            .alias(b)
            for i, b in enumerate(dims)
        ),
    )


#: ``_level`` of the overall row (0 is the full cross, i + 1 the margin of dimension i).
_OVERALL: Final = 255

#: The summed columns of a partial.
_SUMMED: Final = ("numerator", "denominator", "provisional_time")


def _combine(
    partials: Sequence[pl.DataFrame | pl.LazyFrame],
    s: _Settings,
    *,
    pol: SuppressionPolicy | None,
    input_rows: int | None,
    findings: pl.DataFrame | pl.LazyFrame | Mapping[str, int] | None,
) -> IndicatorTable:
    level = s.level
    merged, pathway_count, reference, rule = _merge_partials(partials, s)
    used: list[int] = []
    if s.chosen:
        # the pathway-time rows that decided any unit (for the metadata), then the cells
        rows, cells = pl.collect_all(
            [
                merged.select(pl.col("time_rows").explode().drop_nulls().unique()),
                _combined_cells(merged, s),
            ]
        )
        used = rows["time_rows"].to_list()
        table = _finalise(cells, s.chosen, by=s.dims, period=s.per, level=level, windows=s.windows)
    else:
        table = _empty(s.dims)
    if pol is not None and table.height:
        # a not-available cell has no counts to hide (its period is all not available)
        counts = [d.id for d in s.chosen if d.kind == "count"]
        suppress = apply_margin_suppression if len(s.dims) > 1 else apply_suppression
        table = suppress(table, pol, by=s.dims, counts=counts).with_columns(
            (pl.col("suppressed") & ~pl.col("not_available")).alias("suppressed")
        )
    meta = _metadata(
        s,
        used_rows=sorted(set(used) & set(s.prov)),
        reference=reference,
        treatment_start=rule,
        pathway_count=pathway_count,
        pol=pol,
        level=level,
        input_rows=input_rows,
        by_severity=_severity_counts(findings),
        periods=table.select("period", "period_start", "period_end").unique().sort("period_start"),
    )
    return IndicatorTable.wrap(table, meta)


def _severity_counts(
    findings: pl.DataFrame | pl.LazyFrame | Mapping[str, int] | None,
) -> dict[str, int] | None:
    """Findings by severity, in severity order (info, warning, error), whatever the input order.

    A fixed order keeps the metadata the same, byte for byte, on every path.
    """
    if findings is None:
        return None
    if isinstance(findings, Mapping):
        counts = {str(k): int(v) for k, v in findings.items()}
    else:
        counted = (
            findings.lazy().group_by(pl.col("severity").cast(pl.String)).agg(pl.len()).collect()
        )
        counts = dict(zip(counted["severity"].to_list(), counted["len"].to_list(), strict=True))
    order = {s: i for i, s in enumerate(SEVERITY.categories.to_list())}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _metadata(
    s: _Settings,
    *,
    used_rows: Sequence[int],
    reference: dt.date | None,
    treatment_start: str | None,
    pathway_count: int,
    pol: SuppressionPolicy | None,
    level: float,
    input_rows: int | None,
    by_severity: dict[str, int] | None,
    periods: pl.DataFrame,
) -> IndicatorMetadata:
    tim, cat, chosen = s.tim, s.cat, s.chosen
    period_regimes = {
        label: regime_of(first, last, s.regimes) for label, first, last in periods.iter_rows()
    }
    unknown_care_level = s.ctx.unknown_care_level
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
    notes += [f"{i}: {reason}." for i, reason in s.skipped.items()]
    return IndicatorMetadata(
        catalogue_edition=indicator_catalogue().edition,
        code_edition=cat.edition,
        code_extension=cat.extension,
        times_file=tim.file,
        times_version=tim.version,
        provisional_times_used=tuple(tim.times[i].label for i in used_rows),
        types_without_time={k: v for k, v in without.items() if v},
        reference_date=reference,
        treatment_start=treatment_start_rule(treatment_start).describe()
        if treatment_start is not None
        else None,
        period=s.per,
        by=s.dims,
        start=s.first,
        end=s.last,
        suppression=pol.name if pol is not None else None,
        level=level,
        unknown_care_level=unknown_care_level,
        indicators=tuple(d.id for d in chosen),
        not_computed=s.skipped,
        codes_not_in_force={k: w.code_reason for k, w in s.windows.items() if w.code_reason},
        regime_limits={k: w.regime_reason for k, w in s.windows.items() if w.regime_reason},
        regimes={r.id: r.effective_from for r in s.regimes},
        period_regimes=period_regimes,
        input_rows=input_rows,
        pathway_count=pathway_count,
        findings_count=sum(by_severity.values()) if by_severity is not None else None,
        findings_by_severity=by_severity or {},
        notes=tuple(notes),
    )
