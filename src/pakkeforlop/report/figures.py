"""The report's charts: a trend chart per indicator and a funnel plot per proportion indicator.

Each chart fills the width of its box (Vega-Lite ``width: "container"``), so the page reads on
a phone as on a wide screen. Titles, notes, the colour key of the trend charts and the funnel
plots' outliers are HTML around the chart, not text inside it: HTML wraps, chart text does not.
The colour of each pathway type comes from :mod:`pakkeforlop.plot.colours`, the same in every
chart (domain/indicators.md §3 for the funnel limits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import altair as alt
import polars as pl

from pakkeforlop.codes import load_catalogue
from pakkeforlop.indicators import definition
from pakkeforlop.indicators.engine import UNKNOWN_STRATUM
from pakkeforlop.numbers import Lang, fmt_count, fmt_pct
from pakkeforlop.plot import (
    funnel,
    funnel_data,
    group_colours,
    indicator_title,
    labels,
    trend,
    trend_data,
)
from pakkeforlop.report.build import FUNNEL_DIMENSION, Report

__all__ = ["Charts", "funnel_figures", "json_for_script", "trend_figures"]

#: Height of a trend chart and of a funnel plot, in pixels (the width is the box's).
TREND_HEIGHT: Final = 190
FUNNEL_HEIGHT: Final = 250


def json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<`` at all)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


class Charts:
    """Collects chart specifications; each gets an element id in the page."""

    def __init__(self) -> None:
        self.specs: list[dict[str, str]] = []

    def add(self, chart: alt.TopLevelMixin, kind: str, title: str, about: str) -> dict[str, str]:
        """Register a chart; returns its entry (``id``, ``kind``, ``title``, ``about``, ``spec``).

        ``about`` is the indicator id the chart shows.
        """
        spec = chart.to_dict()
        entry = {
            "id": f"chart-{len(self.specs) + 1}",
            "kind": kind,
            "title": title,
            "about": about,
            "spec": json_for_script(spec),
        }
        self.specs.append(entry)
        return entry


def _fit(chart: alt.LayerChart, height: int) -> alt.LayerChart:
    """The chart as wide as its box, without its own title (the page writes it in HTML)."""
    fitted = chart.properties(width="container", height=height)
    fitted.title = alt.Undefined
    return fitted


def _legend(
    report: Report, dim: str, table: pl.DataFrame, lab: Mapping[str, str]
) -> list[dict[str, str]]:
    """The colour key of one block of trend charts: every group, its colour and its name."""
    if not dim:
        return []  # one line per chart, the overall one: nothing to tell apart
    lang = report.lang
    overall = labels(lang)["all"]
    values = sorted(str(v) for v in table[dim].drop_nulls().unique())
    groups = [overall, *values]
    colours = group_colours(groups, overall=overall, universe=values)
    names: dict[str, str] = {}
    if dim == "pathway_type":
        cat = load_catalogue(report.metadata.code_edition)
        names = {c.code: c.nb if lang == "nb" else c.en for c in cat.codes if c.system == 9321}
    names[UNKNOWN_STRATUM] = lab["unknown_unit"]
    names[overall] = lab["legend_all"]
    return [
        {"group": g, "colour": colour, "name": names.get(g, "")}
        for g, colour in zip(groups, colours, strict=True)
    ]


def trend_figures(
    report: Report, charts: Charts, lab: Mapping[str, str], indicators: list[str]
) -> list[dict[str, Any]]:
    """One block per trend dimension: its heading, colour key and a chart per indicator.

    Args:
        report: The report.
        charts: Where the chart specifications are collected.
        lab: The report's labels.
        indicators: The goal area's indicators with results.

    Returns:
        Blocks with ``heading``, ``legend`` and ``figures`` (chart entries with ``caption``
        and ``note``).
    """
    lang = report.lang
    plot_lab = labels(lang)
    blocks = []
    for dim, table in report.trends.items():
        heading = lab["trend_heading"].format(
            period_kind=lab[report.period], by=lab[dim] if dim else lab["everything"]
        )
        figures = []
        for ind in indicators:
            data = trend_data(table, [ind], by=dim or None, lang=lang)
            hidden = int(data["suppressed"].sum())
            chart = trend(table, [ind], by=dim or None, lang=lang, legend=False)
            assert isinstance(chart, alt.LayerChart)  # one indicator: one panel
            caption = str(data["indicator"][0]) if data.height else indicator_title(ind, lang)
            figures.append(
                charts.add(_fit(chart, TREND_HEIGHT), "trend", caption, ind)
                | {
                    "caption": caption,
                    "note": plot_lab["suppressed_cells"].format(n=hidden) if hidden else "",
                }
            )
        blocks.append(
            {
                "heading": heading,
                "legend": _legend(report, dim, table, lab),
                "legend_title": lab["colour_key"].format(by=lab[dim]) if dim else "",
                "figures": figures,
            }
        )
    return blocks


def _outliers(points: pl.DataFrame, lab: Mapping[str, str], lang: Lang) -> list[dict[str, str]]:
    """The areas outside the limits, named with their value (beyond 99.8 % first)."""
    outside = points.filter(pl.col("outside").is_not_null()).sort(pl.col("outside") == "95", "area")
    return [
        {
            "area": str(r["area"]),
            "value": fmt_pct(float(r["value"]), lang),
            "n": fmt_count(int(r["denominator"]), lang),
            "where": lab[f"outlier_{r['direction']}_{str(r['outside']).replace('.', '')}"],
            "direction": str(r["direction"]),
        }
        for r in outside.to_dicts()
    ]


def funnel_figures(
    report: Report, charts: Charts, lab: Mapping[str, str], indicators: list[str]
) -> list[dict[str, Any]]:
    """A funnel plot per proportion indicator with a row in the reporting period.

    Outliers are listed under the plot (name, value, n and the limit crossed) rather than
    written on it, where nearby names would overprint each other. No plot when the extract
    names no treating health trust.

    Args:
        report: The report.
        charts: Where the chart specifications are collected.
        lab: The report's labels.
        indicators: The goal area's indicators.

    Returns:
        Chart entries with ``caption``, ``subtitle``, ``outliers`` and ``hidden`` (the
        suppressed trusts, named).
    """
    lang = report.lang
    plot_lab = labels(lang)
    period = report.reporting_period
    overall = report.trusts.filter(pl.col(FUNNEL_DIMENSION).is_null(), pl.col("period") == period)
    with_rows = set(overall["indicator_id"].to_list())
    out = []
    for ind in indicators:
        if definition(ind).kind != "proportion" or ind not in with_rows:
            continue
        f = funnel_data(report.trusts, ind, period=period)
        if f.points.height == 0 and not f.suppressed:
            continue  # the extract names no treating health trust: nothing to compare
        chart = funnel(
            report.trusts, ind, period=period, lang=lang, label_outliers=False
        ).configure_legend(orient="bottom", direction="vertical")
        fitted = chart.properties(width="container", height=FUNNEL_HEIGHT)
        fitted.title = alt.Undefined
        caption = f"{indicator_title(ind, lang)}, {f.period}"
        subtitle = (
            plot_lab["funnel_subtitle"].format(
                national=fmt_pct(f.national, lang), method=plot_lab[f.method]
            )
            if f.national is not None
            else plot_lab["no_national"]
        )
        out.append(
            charts.add(fitted, "funnel", caption, ind)
            | {
                "caption": caption,
                "subtitle": subtitle,
                "outliers": _outliers(f.points, lab, lang),
                "hidden": lab["funnel_suppressed"].format(names=", ".join(f.suppressed))
                if f.suppressed
                else "",
            }
        )
    return out
