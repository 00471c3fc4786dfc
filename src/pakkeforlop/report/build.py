"""Gathering what the HTML report shows: indicators, funnel tables, equity, findings, provenance.

One pass of the pipeline (read → pathways → indicators, with ``validate``'s summary) produces a
:class:`Report`: plain data that :func:`~pakkeforlop.report.render_html` turns into one
self-contained page. See domain/indicators.md §3 (equity, funnel limits) and §4 (output,
suppression, provenance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

from pakkeforlop.codes import DEFAULT_EDITION, Catalogue
from pakkeforlop.errors import checked
from pakkeforlop.indicators import (
    IndicatorMetadata,
    IndicatorTable,
    PathwayTimes,
    SuppressionPolicy,
    apply_suppression,
    compare_areas,
    compute_indicators,
    definition,
    load_pathway_times,
    suppression_policy,
)
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.io.read import ColumnsLike, Extract, ReadInfo
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.io.sources import SourceLike
from pakkeforlop.periods import Period, period_bounds, reporting_periods
from pakkeforlop.pipeline import indicator_table, prepare, validation_report
from pakkeforlop.plot import Lang, check_lang
from pakkeforlop.validate import ValidationReport

__all__ = [
    "EQUITY_DIMENSIONS",
    "FUNNEL_DIMENSION",
    "UNIT_DIMENSIONS",
    "UNIT_PERIODS",
    "Report",
    "build_report",
    "equity_table",
]

#: The treating unit the funnel plots compare (the issue: "across health trusts").
FUNNEL_DIMENSION: Final = "health_trust"

#: The treating units with a table of their own per proportion indicator: the treating health
#: trust (*behandlende helseforetak*) and region (*behandlende regionalt helseforetak*), so
#: that an analyst at one trust reads the trust's own figures.
UNIT_DIMENSIONS: Final = ("health_trust", "health_region")

#: How many periods the tables per unit show, up to the reporting period (four tertials: the
#: same tertial a year before is among them).
UNIT_PERIODS: Final = 4

#: Areas of residence the equity table compares (domain/indicators.md §3). Municipalities are
#: left out of the report: most are too small for a tertial.
EQUITY_DIMENSIONS: Final = ("residence_region", "residence_trust")


@dataclass(frozen=True)
class Report:
    """Everything the HTML report shows, computed once.

    Attributes:
        lang: Label language, ``"nb"`` or ``"en"``.
        period: Period kind (``month``, ``tertial``, ``year``).
        by: The stratum dimensions of the trend charts (e.g. ``("pathway_type",)``).
        trends: One indicator table per dimension of ``by`` (or one overall table, key ``""``,
            when ``by`` is empty); their overall rows are identical and feed the headline tables.
        units: One indicator table per treating unit of :data:`UNIT_DIMENSIONS` (the tables
            per health trust and per region, and the funnel plots), computed and suppressed
            as ``pakkeforlop indicators --by health_trust`` would.
        equity: The equity table (:func:`equity_table`) for the reporting period.
        reporting_period: The period of the headline tables and funnel plots: the last period
            that ended on or before the reference date (``None`` when there are no results).
        reporting_complete: Whether the reporting period ended on or before the reference date.
        previous_period: The period the trend arrows compare with.
        metadata: Provenance of the indicator tables (editions, times, suppression, counts).
        times: The recommended pathway times used.
        policy: The suppression policy applied, ``None`` when off.
        info: The reader's run summary.
        validation: ``validate``'s report on the same extract (data-quality section).
        generated: When the report was made, if asked for (``stamp=True``); without it two runs
            on the same extract write the same bytes.
    """

    lang: Lang
    period: Period
    by: tuple[str, ...]
    trends: dict[str, IndicatorTable]
    units: dict[str, IndicatorTable]
    equity: pl.DataFrame
    reporting_period: str | None
    reporting_complete: bool
    previous_period: str | None
    metadata: IndicatorMetadata
    times: PathwayTimes
    policy: SuppressionPolicy | None
    info: ReadInfo
    validation: ValidationReport
    generated: dt.datetime | None

    @property
    def overall(self) -> IndicatorTable:
        """The first trend table (its overall rows are the headline figures)."""
        return next(iter(self.trends.values()))

    @property
    def trusts(self) -> IndicatorTable:
        """The indicator table by treating health trust (funnel plots)."""
        return self.units[FUNNEL_DIMENSION]


def _names(frame: pl.DataFrame, dimension: str, mask: pl.Expr) -> list[str]:
    return [str(v) for v in frame.filter(mask)[dimension].to_list()]


def equity_table(
    pathways: pl.DataFrame | pl.LazyFrame,
    *,
    period: Period,
    label: str,
    indicators: Sequence[str],
    policy: SuppressionPolicy | None,
    dimensions: Sequence[str] = EQUITY_DIMENSIONS,
    times: PathwayTimes | None = None,
    catalogue: Catalogue | str | None = None,
    reference_date: dt.date | None = None,
) -> pl.DataFrame:
    """Between-area variation of each proportion indicator in one period, suppression-aware.

    Per dimension of residence and indicator: the national value, the number of areas and
    their weighted standard deviation (from :func:`~pakkeforlop.indicators.compare_areas`,
    over every area: an aggregate that reveals no single cell), and, over the areas whose
    cell the suppression policy shows, the lowest and highest value and the areas outside the
    95 % and 99.8 % funnel limits. Areas whose cell is suppressed are neither named nor part of
    the range. When the national cell itself is suppressed, the row says so and shows nothing
    else.

    Args:
        pathways: The pathway table.
        period: The period kind.
        label: The period label compared (e.g. ``"2024-T1"``).
        indicators: Indicator ids; duration indicators are skipped.
        policy: The suppression policy applied to the published cells (``None``: off).
        dimensions: Residence dimensions to compare.
        times: Recommended pathway times.
        catalogue: Code catalogue edition.
        reference_date: The extract's reference date.

    Returns:
        Columns ``dimension, indicator_id, suppressed, national_value, areas, min_value,
        max_value, weighted_sd, outside_95, outside_998`` (the last two lists of
        ``(area, "above" | "below")`` pairs as structs), one row per dimension and indicator
        with data in the period.

    Examples:
        >>> import datetime as dt
        >>> from pakkeforlop.indicators.testing import pathway_table
        >>> rows = [
        ...     {"residence_region": r, "start_date": dt.date(2023, 1, 2),
        ...      "end_date": dt.date(2023, 2, 1), "end_reason": "R" if k < m else "G"}
        ...     for r, m in (("a", 1), ("b", 9)) for k in range(10)
        ... ]
        >>> t = equity_table(pathway_table(rows), period="tertial", label="2023-T1",
        ...                  indicators=["rejected_referrals"], policy=None,
        ...                  dimensions=["residence_region"])
        >>> t.select("areas", "min_value", "max_value").row(0)
        (2, 0.1, 0.9)
        >>> t["outside_95"].to_list()
        [[{'area': 'a', 'direction': 'below'}, {'area': 'b', 'direction': 'above'}]]
    """
    ids = [i for i in indicators if definition(i).kind == "proportion"]
    start, end = period_bounds(label)
    rows: list[dict[str, object]] = []
    for dim in dimensions if ids else ():
        unsuppressed = compute_indicators(
            pathways,
            period=period,
            by=(dim,),
            start=start,
            end=end,
            suppress=False,
            indicators=ids,
            times=times,
            catalogue=catalogue,
            reference_date=reference_date,
        )
        shown = (
            apply_suppression(unsuppressed, policy, by=(dim,))
            if policy is not None
            else unsuppressed
        )
        # indicators x areas is a short list (a few dozen cells), so a loop over indicators
        # is fine here; each comparison is vectorised inside compare_areas.
        for ind in unsuppressed["indicator_id"].unique(maintain_order=True).to_list():
            cmp = compare_areas(unsuppressed, ind, dimension=dim, period=label)
            if cmp.summary.national_denominator == 0:
                continue
            cells = shown.filter(pl.col("indicator_id") == ind, pl.col("period") == label)
            national_hidden = bool(cells.filter(pl.col(dim).is_null())["suppressed"].any())
            visible = cells.filter(pl.col(dim).is_not_null(), ~pl.col("suppressed"))[dim].to_list()
            areas = cmp.filter(pl.col(dim).is_in(visible))
            outside = {
                tag: [
                    {"area": str(a), "direction": str(d)}
                    for a, d in areas.filter(pl.col(f"outside_{tag}").is_not_null())
                    .select(dim, f"outside_{tag}")
                    .rows()
                ]
                for tag in ("95", "998")
            }
            rows.append(
                {
                    "dimension": dim,
                    "indicator_id": ind,
                    "suppressed": national_hidden,
                    "national_value": None if national_hidden else cmp.summary.national_value,
                    "areas": cmp.summary.areas,
                    "min_value": None if national_hidden else areas["value"].min(),
                    "max_value": None if national_hidden else areas["value"].max(),
                    "weighted_sd": None if national_hidden else cmp.summary.weighted_sd,
                    "outside_95": [] if national_hidden else outside["95"],
                    "outside_998": [] if national_hidden else outside["998"],
                }
            )
    pair = pl.List(pl.Struct({"area": pl.String, "direction": pl.String}))
    return pl.DataFrame(
        rows,
        schema={
            "dimension": pl.String,
            "indicator_id": pl.String,
            "suppressed": pl.Boolean,
            "national_value": pl.Float64,
            "areas": pl.Int64,
            "min_value": pl.Float64,
            "max_value": pl.Float64,
            "weighted_sd": pl.Float64,
            "outside_95": pair,
            "outside_998": pair,
        },
    )


def build_report(
    source: SourceLike | Extract,
    *,
    period: Period | str = "tertial",
    by: str | Sequence[str] = ("pathway_type",),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    lang: Lang | str = "nb",
    suppress: bool = True,
    policy: str | SuppressionPolicy = "nki",
    level: float = 0.95,
    as_of: dt.date | None = None,
    columns: ColumnsLike | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    treatment_start: str | None = None,
    times: PathwayTimes | str | Path | None = None,
    stamp: bool = False,
) -> Report:
    """Read an extract and compute everything the HTML report shows.

    The extract is read once (:func:`~pakkeforlop.read_extract`), its pathways built once
    (:func:`~pakkeforlop.build_pathways`); ``validate``'s rules run on the same events and
    timeline; the indicators are computed by the ``by`` dimensions (trend charts and the
    headline tables), by treating health trust and region (the tables per unit, funnel plots)
    and by area of residence for the reporting period (equity table).

    Args:
        source: An extract (a file, folder, glob, list of files or polars frame) or an
            :class:`~pakkeforlop.Extract` already read.
        period: ``"month"``, ``"tertial"`` (default) or ``"year"``.
        by: Stratum dimensions for the trend charts (a sequence or comma-separated string),
            one chart per dimension; ``pathway_type`` by default.
        start: Keep units anchored on or after this date (a date, ISO string or period label).
        end: Keep units anchored on or before this date (a period label means its last day).
        lang: Labels in ``"nb"`` (Norwegian bokmål, default) or ``"en"`` (English).
        suppress: Apply the small-cell suppression policy (on by default).
        policy: Suppression policy, ``"nki"`` (default) or ``"npr"``.
        level: Confidence level of the intervals.
        as_of: The extract's reference date (default: the latest event date).
        columns: Column mapping for names the built-in aliases do not cover.
        edition: Code catalogue edition (``"2019"`` or ``"2024"``).
        extension: Catalogue extension file with local codes.
        treatment_start: The named treatment-start rule (:class:`~pakkeforlop.ReadSettings`).
        times: Recommended pathway times (a TOML file); the shipped file when ``None``.
        stamp: Print the date and time the report was made in its footer (off by default, so
            that the same extract gives the same file).

    Returns:
        A :class:`Report`.

    Raises:
        ExtractError: If the extract cannot be read.
        MappingError: If a required column is missing.
        ConfigurationError: For an unknown period, stratum, language, policy or a bad option.

    Examples:
        >>> raw = pl.DataFrame({
        ...     "NPRId": ["p1"] * 4, "institusjonId": ["974"] * 4,
        ...     "dato": ["02.01.2024", "09.01.2024", "20.01.2024", "20.03.2024"],
        ...     "kode": ["D11A", "D11M", "D11CP", "D11XG"],
        ... })
        >>> r = build_report(raw, lang="en")
        >>> r.reporting_period, r.metadata.pathway_count, r.validation.rows_read
        ('2024-T1', 1, 4)
    """
    lang_ = check_lang(str(lang))
    tim = times if isinstance(times, PathwayTimes) else load_pathway_times(times)
    settings = checked(
        IndicatorSettings,
        period=period,
        by=by,
        start=start,
        end=end,
        suppress=suppress,
        policy=policy,
        level=level,
        times=tim,
    )
    per, dims = settings.period, settings.by
    pol = suppression_policy(policy) if suppress else None
    read = checked(
        ReadSettings,
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
    )
    # the same steps as `pakkeforlop indicators` and `pakkeforlop validate`: one read, one
    # timeline, the same reference date (pakkeforlop.pipeline)
    prepared = prepare(source, read)
    extract, pathways, cat = prepared.extract, prepared.pathways, prepared.catalogue
    validation = validation_report(prepared)

    def indicators(by_: tuple[str, ...]) -> IndicatorTable:
        # the user's strata must exist in the extract; the trusts and regions are shown if
        # present (all "unknown" otherwise)
        check = all(d in dims for d in by_)
        return indicator_table(prepared, settings.model_copy(update={"by": by_}), check_by=check)

    trends = {d: indicators((d,)) for d in dims} if dims else {"": indicators(())}
    units = {d: trends[d] if d in trends else indicators((d,)) for d in UNIT_DIMENSIONS}
    first_dim, first = next(iter(trends.items()))
    overall = first.filter(pl.col(first_dim).is_null()) if first_dim else first
    label, complete, previous = reporting_periods(overall, first.metadata.reference_date)
    equity = equity_table(
        pathways,
        period=per,
        label=label or "2019",
        indicators=first.metadata.indicators if label is not None else (),
        policy=pol,
        times=tim,
        catalogue=cat,
        reference_date=first.metadata.reference_date,
    )
    return Report(
        lang=lang_,
        period=per,
        by=dims,
        trends=trends,
        units=units,
        equity=equity,
        reporting_period=label,
        reporting_complete=complete,
        previous_period=previous,
        metadata=first.metadata,
        times=tim,
        policy=pol,
        info=extract.info,
        validation=validation,
        generated=dt.datetime.now().astimezone().replace(microsecond=0) if stamp else None,
    )
