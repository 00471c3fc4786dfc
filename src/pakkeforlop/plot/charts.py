"""Vega-Lite charts (via altair) of indicator tables: trend lines and funnel plots.

Each function returns an altair chart object: a notebook displays it directly, ``.save()``
writes it, and the HTML report embeds its specification.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Final

import altair as alt
import polars as pl

from pakkeforlop.indicators.stats import FunnelMethod
from pakkeforlop.plot.colours import group_colours
from pakkeforlop.plot.data import funnel_data, stratum_columns, trend_data
from pakkeforlop.plot.labels import Lang, check_lang, indicator_title, labels

__all__ = ["funnel", "trend"]

#: Funnel point colours: within the limits, outside 95 %, outside 99.8 %.
_STATUS_COLOURS: Final = ("#4c78a8", "#f58518", "#d62728")


def _fmt_pct(value: float, lang: Lang) -> str:
    text = f"{value * 100:.1f}"
    return f"{text.replace('.', ',')} %" if lang == "nb" else f"{text}%"


def trend(
    result: pl.DataFrame,
    indicators: str | Sequence[str] | None = None,
    *,
    by: str | None = None,
    lang: Lang = "en",
    columns: int = 3,
    width: int = 220,
    height: int = 140,
    legend: bool = True,
) -> alt.LayerChart | alt.FacetChart:
    """Indicator values by period, one line per group (overall, and each value of ``by``).

    Proportions are drawn in percent with the target as a dashed rule, durations as the median
    in days. Suppressed cells break the line (never drawn as zero) and are counted in the
    subtitle. Several indicators become small multiples, one panel each, with their own scales.
    Each pathway type has the same colour in every chart (:mod:`pakkeforlop.plot.colours`).

    Args:
        result: A long indicator table (:func:`~pakkeforlop.indicators.compute_indicators`),
            e.g. computed with ``by=["pathway_type"]``.
        indicators: One indicator id, several, or every indicator in the table (``None``).
        by: The stratum column to draw lines for (default: the table's only stratum column).
        lang: Labels in ``"nb"`` (Norwegian bokmål) or ``"en"`` (English).
        columns: Panels per row when several indicators are drawn.
        width: Width of one panel in pixels.
        height: Height of one panel in pixels.
        legend: Draw the colour legend (the HTML report draws one legend for all its charts).

    Returns:
        An altair chart (a layer chart for one indicator, a facet chart for several).

    Raises:
        ConfigurationError: If an indicator or ``by`` is not in the table.

    Examples:
        >>> import datetime as dt
        >>> t = pl.DataFrame({
        ...     "indicator_id": ["plan_cocreated"] * 2, "period": ["2023-T1", "2023-T2"],
        ...     "period_start": [dt.date(2023, 1, 1), dt.date(2023, 5, 1)],
        ...     "numerator": [6, 7], "denominator": [10, 10], "value": [0.6, 0.7],
        ...     "ci_low": [0.31, 0.4], "ci_high": [0.83, 0.89], "suppressed": [False, False],
        ...     "target": [0.8, 0.8], "median_days": [None, None],
        ... })
        >>> chart = trend(t, "plan_cocreated")
        >>> type(chart).__name__, len(chart.to_dict()["layer"])
        ('LayerChart', 4)
    """
    lang = check_lang(lang)
    lab = labels(lang)
    data = trend_data(result, indicators, by=by, lang=lang)
    # Long titles wrap onto several header lines (Vega splits the label at "\n").
    data = data.with_columns(
        pl.col("indicator")
        .replace_strict({t: "\n".join(textwrap.wrap(t, 42)) for t in data["indicator"].unique()})
        .alias("panel")
    )
    panels = data["panel"].unique(maintain_order=True).to_list()
    groups = data["group"].unique(maintain_order=True).to_list()
    periods = data.sort("period_start", "period")["period"].unique(maintain_order=True).to_list()
    hidden = int(data["suppressed"].sum())
    # colours by value (plot/data/colours.toml): a pathway type is drawn in one colour in
    # every chart, whichever other types the chart holds
    dims = stratum_columns(result)
    dim = by if by is not None else (dims[0] if len(dims) == 1 else None)
    universe = result[dim].drop_nulls().cast(pl.String).unique().to_list() if dim else []
    colour = alt.Color(
        "group:N",
        title=lab["group"],
        sort=groups,
        scale=alt.Scale(
            domain=groups, range=group_colours(groups, overall=lab["all"], universe=universe)
        ),
        legend=alt.Undefined if legend else None,
    )
    # Many periods: upright labels, thinned when they would overlap, and wider panels.
    many = len(periods) > 8
    width = max(width, 13 * len(periods))
    columns = max(1, min(columns, 900 // (width + 80)))  # keep a row of panels page-wide
    axis = alt.Axis(labelAngle=-90 if many else -40, labelOverlap="greedy" if many else False)
    x = alt.X("period:O", title=lab["period"], sort=periods, axis=axis)
    tooltip = [
        alt.Tooltip("period:N", title=lab["period"]),
        alt.Tooltip("group:N", title=lab["group"]),
        alt.Tooltip("y:Q", title=lab["value"], format=".1f"),
        alt.Tooltip("y_low:Q", title=f"{lab['interval']} −", format=".1f"),
        alt.Tooltip("y_high:Q", title=f"{lab['interval']} +", format=".1f"),
        alt.Tooltip("numerator:Q", title=lab["numerator"]),
        alt.Tooltip("denominator:Q", title=lab["denominator"]),
    ]
    single = len(panels) == 1
    kinds = data["kind"].unique().to_list()
    y_title = None
    if single and kinds:
        y_title = "%" if kinds[0] == "proportion" else lab["median_days"]
    y = alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=True))
    base = alt.Chart()
    # "break-paths-show-domains": a suppressed (null) cell breaks the line instead of being
    # bridged or drawn as zero.
    line = base.mark_line(invalid="break-paths-show-domains").encode(x=x, y=y, color=colour)
    points = base.mark_point(filled=True, size=40).encode(x=x, y=y, color=colour, tooltip=tooltip)
    # The interval only for the overall line: one band per group would hide the lines.
    band = (
        base.transform_filter(alt.datum.group == lab["all"])
        .mark_errorbar(opacity=0.45)
        .encode(x=x, y=alt.Y("y_low:Q", title=y_title), y2="y_high:Q", color=colour)
    )
    target = base.mark_rule(strokeDash=[4, 4], color="#888888").encode(
        y=alt.Y("mean(target):Q", title=y_title)
    )
    layered = alt.layer(band, line, points, target, data=data.drop("period_start"))
    subtitle = [lab["suppressed_cells"].format(n=hidden)] if hidden else []
    if single:
        title = alt.TitleParams(
            text=indicator_title(data["indicator_id"][0], lang) if data.height else "",
            subtitle=subtitle,
        )
        return layered.properties(width=width * 2, height=height * 2, title=title)
    chart: alt.FacetChart = (
        layered.properties(width=width, height=height)
        .facet(
            facet=alt.Facet(
                "panel:N",
                sort=panels,
                title=None,
                header=alt.Header(
                    labelFontWeight="bold",
                    labelExpr="split(datum.label, '\\n')",
                    labelLimit=width + 40,
                ),
            ),
            columns=columns,
        )
        .resolve_scale(y="independent")
    )
    if subtitle:
        chart = chart.properties(title=alt.TitleParams(text=lab["trend_title"], subtitle=subtitle))
    return chart


def funnel(
    result: pl.DataFrame,
    indicator_id: str,
    *,
    dimension: str = "health_trust",
    period: str | None = None,
    lang: Lang = "en",
    method: FunnelMethod = "binomial",
    width: int = 460,
    height: int = 300,
    label_outliers: bool = True,
) -> alt.LayerChart:
    """A funnel plot: each area's value against its denominator, with control limits.

    The limits (95 % and 99.8 %, binomial by default) are drawn around the national value
    (the period's overall row; domain/indicators.md §3, Spiegelhalter 2005); areas outside the
    95 % limits are coloured and labelled by name (unless ``label_outliers=False``). Suppressed
    areas are not drawn and are named in the subtitle.

    Args:
        result: A long indicator table computed with ``by`` including ``dimension``.
        indicator_id: A proportion indicator, e.g. ``"plan_cocreated"``.
        dimension: The area column (default ``health_trust``, the treating health trust).
        period: The period label to show; the indicator's latest period when ``None``.
        lang: Labels in ``"nb"`` (Norwegian bokmål) or ``"en"`` (English).
        method: ``"binomial"`` (exact) or ``"normal"`` control limits.
        width: Chart width in pixels.
        height: Chart height in pixels.
        label_outliers: Write each outlier's name beside its point. Names of nearby points
            can overprint each other; the HTML report lists the outliers under the chart
            instead (``False``: no text layer).

    Returns:
        An altair layer chart.

    Raises:
        ConfigurationError: If the indicator is a duration, or the indicator, dimension or
            period is not in the table.

    Examples:
        >>> t = pl.DataFrame({
        ...     "indicator_id": ["plan_cocreated"] * 3, "period": ["2023-T1"] * 3,
        ...     "period_start": [None] * 3, "health_trust": [None, "A", "B"],
        ...     "numerator": [50, 1, 40], "denominator": [100, 10, 80],
        ...     "value": [0.5, 0.1, 0.5], "suppressed": [False] * 3,
        ... })
        >>> chart = funnel(t, "plan_cocreated")
        >>> [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
        ['line', 'rule', 'point', 'text']
    """
    lang = check_lang(lang)
    lab = labels(lang)
    f = funnel_data(result, indicator_id, dimension=dimension, period=period, method=method)
    names = {"95": lab["outside_95"], "99.8": lab["outside_998"]}
    status_domain = [lab["within"], names["95"], names["99.8"]]
    points = f.points.with_columns(
        pl.col("outside").replace_strict(names, default=lab["within"]).alias("status"),
        (pl.col("value") * 100).round(1).alias("percent"),
    )
    limit_names = {"95": lab["limit_95"], "998": lab["limit_998"]}
    curves = f.limits.unpivot(index="denominator", variable_name="limit").with_columns(
        pl.col("limit").str.extract(r"^(lower|upper)").alias("side"),
        pl.col("limit").str.extract(r"_(\d+)$").replace_strict(limit_names).alias("level"),
    )
    # whole numbers with the locale's thousands separator, and room between labels, so that
    # ticks such as 900 and 1 000 never run together ("9001 000")
    x = alt.X(
        "denominator:Q",
        title=lab["denominator_axis"],
        scale=alt.Scale(zero=True),
        axis=alt.Axis(format=",d", tickMinStep=1, labelOverlap=True, labelSeparation=8),
    )
    y_scale = alt.Scale(domain=[0, 1])
    y_axis = alt.Axis(format=".0%")
    lines = (
        alt.Chart(curves)
        .mark_line(color="#777777", strokeWidth=1.2)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=lab["value"], scale=y_scale, axis=y_axis),
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title=lab["limits"],
                sort=[lab["limit_95"], lab["limit_998"]],
                scale=alt.Scale(domain=[lab["limit_95"], lab["limit_998"]], range=[[5, 3], [1, 0]]),
            ),
        )
    )
    national = pl.DataFrame({"national": [f.national] if f.national is not None else []})
    rule = (
        alt.Chart(national.with_columns(pl.col("national").cast(pl.Float64)))
        .mark_rule(color="#222222", strokeWidth=1.5)
        .encode(
            y=alt.Y("national:Q", scale=y_scale, axis=y_axis),
            tooltip=[alt.Tooltip("national:Q", title=lab["national"], format=".1%")],
        )
    )
    tooltip = [
        alt.Tooltip("area:N", title=lab["area"]),
        alt.Tooltip("value:Q", title=lab["value"], format=".1%"),
        alt.Tooltip("numerator:Q", title=lab["numerator"]),
        alt.Tooltip("denominator:Q", title=lab["denominator"]),
        alt.Tooltip("status:N", title=lab["status"]),
    ]
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=70, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("value:Q", scale=y_scale, axis=y_axis),
            color=alt.Color(
                "status:N",
                title=lab["status"],
                sort=status_domain,
                scale=alt.Scale(domain=status_domain, range=list(_STATUS_COLOURS)),
            ),
            tooltip=tooltip,
        )
    )
    labels_layer = (
        alt.Chart(points.filter(pl.col("outside").is_not_null()))
        .mark_text(align="left", dx=7, dy=-6, fontSize=11)
        .encode(x=x, y=alt.Y("value:Q", scale=y_scale, axis=y_axis), text="area:N")
    )
    subtitle = [
        lab["funnel_subtitle"].format(national=_fmt_pct(f.national, lang), method=lab[f.method])
        if f.national is not None
        else lab["no_national"]
    ]
    if f.suppressed:
        # the count only: a list of names can be wider than the chart (FunnelData.suppressed
        # holds them, and the report lists them under the chart)
        subtitle.append(lab["suppressed_areas"].format(n=len(f.suppressed)))
    title = alt.TitleParams(
        text=f"{indicator_title(indicator_id, lang)} — {f.period}", subtitle=subtitle
    )
    # alt.LayerChart, not alt.layer(): the layers carry no facet channel, so no facet hoisting
    layers = [lines, rule, dots, labels_layer] if label_outliers else [lines, rule, dots]
    return alt.LayerChart(layer=layers, width=width, height=height, title=title)
