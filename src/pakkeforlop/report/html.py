"""Rendering a :class:`~pakkeforlop.report.Report` as one self-contained HTML page.

Everything is inline: the stylesheet, the Vega/Vega-Lite/vega-embed bundle (from
``vl-convert-python``, the bundle altair itself inlines), the chart specifications (with their
data) and the small script that draws them. A Content-Security-Policy forbids every network
fetch, so the file opens offline and cannot leak anything. The template and stylesheet are
package data under ``templates/``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from pakkeforlop.codes import load_catalogue
from pakkeforlop.files import atomic_output, check_writable
from pakkeforlop.indicators import definition, definitions_table, indicator_catalogue
from pakkeforlop.indicators.engine import UNKNOWN_STRATUM
from pakkeforlop.indicators.summary import improvement
from pakkeforlop.numbers import fmt_count, fmt_days, fmt_interval, fmt_pct
from pakkeforlop.periods import recent_periods
from pakkeforlop.plot import Lang, goal_title, indicator_title
from pakkeforlop.report.build import UNIT_DIMENSIONS, UNIT_PERIODS, Report
from pakkeforlop.report.figures import Charts, funnel_figures, json_for_script, trend_figures
from pakkeforlop.report.units import unit_cells, unit_rows
from pakkeforlop.validate.report import affected_rows

__all__ = ["chart_specs", "javascript_bundle", "render_html", "report_labels", "write_html"]

#: Options handed to vegaEmbed for every chart: SVG (inspectable, sharp in print), no action
#: menu (its links point to online editors), and none of vega-embed's own styles (they make the
#: chart's box shrink to the chart, so a chart as wide as its box could never grow: report.css
#: gives the box the column's width instead).
_EMBED: dict[str, Any] = {"actions": False, "renderer": "svg", "defaultStyle": False}


@cache
def _labels_file() -> dict[str, Any]:
    text = resources.files("pakkeforlop.report").joinpath("data", "labels.toml").read_text("utf-8")
    return tomllib.loads(text)


def report_labels(lang: Lang) -> dict[str, str]:
    """The report's labels in one language.

    Args:
        lang: ``"nb"`` or ``"en"``.

    Returns:
        Label key to text.

    Examples:
        >>> report_labels("en")["quality"], report_labels("nb")["quality"]
        ('Data quality', 'Datakvalitet')
    """
    return {k: str(v) for k, v in _labels_file()[lang].items()}


@cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one inline script, for altair's Vega-Lite version.

    Returns:
        JavaScript that defines ``vegaEmbed`` (and ``vega``, ``vegaLite``) on ``window``.
    """
    import vl_convert  # noqa: PLC0415 - heavy (a bundled JS engine); loaded only when rendering
    from altair.utils._importers import vl_version_for_vl_convert  # noqa: PLC0415

    # The stub marks ``snippet`` as required; at run time it defaults to the snippet that puts
    # vegaEmbed, vegaLite and vega on window, which is what the page script needs.
    make: Callable[..., str] = vl_convert.javascript_bundle
    bundle = make(vl_version=vl_version_for_vl_convert())
    # never end the <script> element early, whatever the bundle's strings hold
    return bundle.replace("</script", "<\\/script")


def _num(row: Mapping[str, Any], key: str) -> float | None:
    v = row.get(key)
    return float(v) if v is not None else None


def _headline_row(
    ind: str,
    cur: Mapping[str, Any] | None,
    prev: Mapping[str, Any] | None,
    lab: Mapping[str, str],
    lang: Lang,
    previous_label: str | None,
    policy_name: str,
) -> dict[str, Any]:
    d = definition(ind)
    proportion = d.kind == "proportion"
    count = d.kind == "count"
    key = "value" if proportion or count else "median_days"
    row: dict[str, Any] = {
        "id": ind,
        "title": indicator_title(d, lang),
        "official": d.official,
        "value": lab["none"],
        "value_class": "nodata",
        "value_title": lab["no_data"],
        "detail": "",
        "interval": lab["none"],
        "n": lab["none"],
        "target": fmt_pct(d.target, lang, digits=0) if d.target is not None else lab["none"],
        "met": None,
        "arrow": lab["none"],
        "arrow_class": "arrow-none",
        "arrow_title": "",
        "arrow_judgement": "",
    }

    def text(r: Mapping[str, Any]) -> str | None:
        v = _num(r, key)
        if v is None:
            return None
        if count:
            return fmt_count(int(v), lang)
        return fmt_pct(v, lang) if proportion else lab["days"].format(value=fmt_days(v, lang))

    if cur is not None:
        if cur.get("denominator") is not None:
            row["n"] = fmt_count(int(cur["denominator"]), lang)
        if cur.get("not_available"):
            row.update(
                value=lab["not_available"],
                value_class="suppressed",
                value_title=str(cur.get("not_available_reason") or ""),
            )
            row["n"] = lab["not_available"]
        elif cur.get("suppressed"):
            row.update(
                value=lab["suppressed"],
                value_class="suppressed",
                value_title=lab["suppressed_title"].format(policy=policy_name),
            )
            if cur.get("denominator") is None:
                row["n"] = lab["suppressed"]
        elif (shown := text(cur)) is not None:
            row.update(value=shown, value_class="value", value_title="")
            low, high = _num(cur, "ci_low"), _num(cur, "ci_high")
            if proportion and low is not None and high is not None:
                row["interval"] = fmt_interval(low, high, lang)
            p75, p90 = _num(cur, "p75_days"), _num(cur, "p90_days")
            if not proportion and p75 is not None and p90 is not None:
                row["detail"] = lab["duration_detail"].format(
                    p75=fmt_days(p75, lang), p90=fmt_days(p90, lang)
                )
            met = cur.get("meets_target")
            row["met"] = None if met is None else bool(met)
    now = _num(cur, key) if cur is not None and not cur.get("suppressed") else None
    before = _num(prev, key) if prev is not None and not prev.get("suppressed") else None
    if now is not None and before is not None:
        row["arrow"] = "↑" if now > before else "↓" if now < before else "→"
        # coloured by the definition's better direction: green better, red worse, grey when
        # no direction is better (or nothing changed); the word says it too, not the colour only
        improved = improvement(now - before, d.better)
        judged = "better" if improved else "worse" if improved is False else "neutral"
        if now == before:
            judged = "unchanged"
        row["arrow_class"] = f"arrow-{judged}"
        shown_before = text(prev) if prev is not None else None
        row["arrow_title"] = lab["previous"].format(
            period=previous_label or "", value=shown_before or ""
        )
        row["arrow_judgement"] = lab[f"change_{judged}"]
    return row


def _rows_by_indicator(table: pl.DataFrame, period: str | None) -> dict[str, dict[str, Any]]:
    if period is None:
        return {}
    rows = table.filter(pl.col("period") == period).to_dicts()
    return {str(r["indicator_id"]): r for r in rows}


def _overall(report: Report, dim: str, table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col(dim).is_null()) if dim else table


def _equity_view(report: Report, lab: Mapping[str, str]) -> list[dict[str, Any]]:
    lang = report.lang
    decimal = "," if lang == "nb" else "."
    out: list[dict[str, Any]] = []
    for dim in report.equity["dimension"].unique(maintain_order=True).to_list():
        rows = []
        for r in report.equity.filter(pl.col("dimension") == dim).to_dicts():

            def names(pairs: list[dict[str, str]], skip: frozenset[str] = frozenset()) -> str:
                arrows = {"above": "↑", "below": "↓"}
                return ", ".join(
                    f"{p['area']}\u00a0{arrows.get(p['direction'], '')}"
                    for p in pairs
                    if p["area"] not in skip
                )

            hidden = bool(r["suppressed"])
            lo, hi = r["min_value"], r["max_value"]
            far = frozenset(p["area"] for p in r["outside_998"])
            rows.append(
                {
                    "title": indicator_title(str(r["indicator_id"]), lang),
                    "suppressed": hidden,
                    "national": lab["suppressed"]
                    if hidden
                    else fmt_pct(float(r["national_value"]), lang),
                    "areas": fmt_count(int(r["areas"]), lang),
                    "range": fmt_interval(lo, hi, lang)
                    if lo is not None and hi is not None
                    else lab["none"],
                    "sd": f"{float(r['weighted_sd']) * 100:.1f}".replace(".", decimal)
                    if r["weighted_sd"] is not None
                    else lab["none"],
                    # an area beyond the 99.8 % limits is named in that column only
                    "outside_95": names(r["outside_95"], far) or lab["none"],
                    "outside_998": names(r["outside_998"]) or lab["none"],
                }
            )
        out.append({"heading": lab["equity_dimension"].format(dimension=lab[dim]), "rows": rows})
    return out


def _finding_counts(report: Report) -> dict[str, int]:
    """The data-quality figures of both sections, from one source: ``validate``'s report.

    Findings of every stage (read, timeline, validate) are counted; a row with several
    findings is one row with findings, and a finding about a whole pathway has no row.
    """
    v = report.validation
    return {
        "rows_read": v.rows_read,
        "rows_with_findings": affected_rows(v.findings),
        "rows_with_errors": v.rows_with_errors,
        **{f"findings_{k}": v.counts.get(k, 0) for k in ("error", "warning", "info")},
    }


def _quality_view(report: Report, lab: Mapping[str, str]) -> dict[str, Any]:
    v = report.validation
    lang = report.lang
    n = {k: fmt_count(c, lang) for k, c in _finding_counts(report).items()}
    rules = [
        {
            "rule_id": s.rule_id,
            "severity": s.severity,
            "severity_label": lab[f"sev_{s.severity}"],
            "npr_error": s.npr_error if s.npr_error is not None else lab["none"],
            "count": fmt_count(s.count, lang),
            "rows": fmt_count(s.rows, lang),
            "share": fmt_pct(s.share, lang, digits=2),
            "explanation": s.explanation,
        }
        for s in v.rules_with_findings()
    ]
    intro = lab["quality_intro"].format(
        rows=n["rows_read"],
        flagged=n["rows_with_findings"],
        errors=n["findings_error"],
        warnings=n["findings_warning"],
        infos=n["findings_info"],
        error_rows=n["rows_with_errors"],
        error_rate=fmt_pct(v.error_rate, lang, digits=2),
    )
    return {"intro": intro, "rules": rules}


def _provenance_view(report: Report, lab: Mapping[str, str]) -> dict[str, Any]:
    m = report.metadata
    info = report.info
    lang = report.lang

    def count(v: int | None) -> str:
        return fmt_count(v, lang) if v is not None else lab["none"]

    if report.policy is not None:
        p = report.policy
        suppression = f"{p.name}: {p.title}. {p.description} ({p.source})"
    else:
        suppression = lab["suppression_off"]
    selection = (
        lab["from_to"].format(start=m.start or "…", end=m.end or "…")
        if m.start is not None or m.end is not None
        else lab["everything"]
    )
    counted = _finding_counts(report)
    findings = ", ".join(
        f"{fmt_count(counted[f'findings_{k}'], lang)} {lab[f'sev_{k}_count']}"
        for k in ("error", "warning", "info")
    )
    care = lab.get(f"care_{m.unknown_care_level}", m.unknown_care_level)
    # library texts (the policy, the treatment-start rule) are in English: marked as such
    items: list[tuple[str, str, str | None]] = [
        (lab["source"], ", ".join(info.sources), None),
        (
            lab["code_edition"],
            m.code_edition + (f" + {m.code_extension}" if m.code_extension else ""),
            None,
        ),
        (lab["indicator_edition"], m.catalogue_edition, None),
        (lab["times_file"], f"{m.times_file} ({m.times_version})", None),
        (
            lab["reference_date"],
            str(m.reference_date) if m.reference_date else lab["none"],
            None,
        ),
        (lab["period_kind"], lab[m.period], None),
        (lab["selection"], selection, None),
        (lab["rows_read"], count(counted["rows_read"]), None),
        (lab["rows_flagged"], count(counted["rows_with_findings"]), None),
        (lab["duplicates"], count(info.duplicates_collapsed), None),
        (lab["pathways"], count(m.pathway_count), None),
        (lab["findings"], findings, None),
        (lab["suppression"], suppression, "en" if report.policy is not None else None),
        (lab["level"], fmt_pct(m.level, lang, digits=1), None),
        (lab["care_level_default"], care, None),
        (lab["treatment_start"], m.treatment_start or lab["none"], "en"),
    ]
    used = set(m.provisional_times_used)
    provisional = [
        {
            "label": t.label,
            "outpatient": t.outpatient,
            "inpatient": t.inpatient,
            "used": t.label in used,
            "used_text": lab["provisional_used"] if t.label in used else lab["provisional_unused"],
            "source": t.source,
        }
        for t in report.times.times
        if t.status == "provisional"
    ]
    unavailable = [
        f"{i}: {reason}"
        for source in (m.codes_not_in_force, m.regime_limits)
        for i, reason in source.items()
    ]
    return {
        "items": items,
        "provisional": provisional,
        "notes": list(m.notes),
        "not_available": unavailable,
        "definitions": _definitions_view(report),
    }


def _definitions_view(report: Report) -> list[dict[str, str]]:
    """The definition of every indicator in the report (the ``--list`` text, in English)."""
    shown = set(report.metadata.indicators)
    table = definitions_table(load_catalogue(report.metadata.code_edition))
    return [
        {
            "id": r["id"],
            "title": indicator_title(definition(r["id"]), report.lang),
            "anchor": r["anchor"],
            "denominator": r["denominator"]
            + (f"; excluding {r['exclusions']}" if r["exclusions"] else ""),
            "numerator": r["numerator"],
            "source": r["source"] + (", official" if r["official"] else ""),
        }
        for r in table.iter_rows(named=True)
        if r["id"] in shown
    ]


def _suppressed_title(report: Report, lab: Mapping[str, str]) -> str:
    return lab["suppressed_title"].format(
        policy=report.policy.name if report.policy is not None else ""
    )


def _units_view(report: Report, lab: Mapping[str, str], ids: list[str]) -> list[dict[str, Any]]:
    """Per proportion and duration indicator: a table per treating health trust and per region.

    The cells are those of the indicator tables by unit (``report.units``), suppressed as
    there; the columns are the last :data:`UNIT_PERIODS` periods up to the reporting period.
    """
    lang = report.lang
    periods = recent_periods(report.overall, report.reporting_period, UNIT_PERIODS)
    out: list[dict[str, Any]] = []
    for ind in ids:
        d = definition(ind)
        if d.kind == "count" or not periods:
            continue
        tables = []
        for dim in UNIT_DIMENSIONS:
            cells = unit_cells(report.units[dim], ind, dimension=dim, periods=periods)
            rows = unit_rows(
                cells,
                periods=periods,
                lab=lab,
                lang=lang,
                suppressed_title=_suppressed_title(report, lab),
                duration=d.kind == "duration",
            )
            known = [r for r in rows if not r["national"] and r["key"] != UNKNOWN_STRATUM]
            tables.append(
                {
                    "dimension": dim,
                    "caption": lab[f"units_caption_{dim}"],
                    "head": lab[f"units_head_{dim}"],
                    "rows": rows if known else [],
                    "empty": lab["no_units"].format(dimension=lab[dim]) if not known else "",
                }
            )
        out.append(
            {
                "id": ind,
                "title": indicator_title(d, lang),
                "official": d.official,
                "target": lab["units_target"].format(target=fmt_pct(d.target, lang, digits=0))
                if d.target is not None
                else "",
                "periods": periods,
                "tables": tables,
            }
        )
    return out


def _goal_sections(report: Report, charts: Charts, lab: Mapping[str, str]) -> list[dict[str, Any]]:
    lang = report.lang
    m = report.metadata
    dims = [d for d in report.trends if d]
    first_dim = dims[0] if dims else ""
    overall = _overall(report, first_dim, report.overall)
    current = _rows_by_indicator(overall, report.reporting_period)
    previous = _rows_by_indicator(overall, report.previous_period)
    policy_name = report.policy.name if report.policy is not None else ""
    with_results = set(report.overall["indicator_id"].to_list())
    sections = []
    for goal in indicator_catalogue().goal_areas:
        ids = [i for i in m.indicators if definition(i).goal_area == goal.id]
        present = [i for i in ids if i in with_results]
        sections.append(
            {
                "id": goal.id,
                "title": goal_title(goal.id, lang),
                "headline": [
                    _headline_row(
                        i,
                        current.get(i),
                        previous.get(i),
                        lab,
                        lang,
                        report.previous_period,
                        policy_name,
                    )
                    for i in ids
                ],
                "trends": trend_figures(report, charts, lab, present) if present else [],
                "units": _units_view(report, lab, present),
                "funnels": funnel_figures(report, charts, lab, ids),
                "not_computed": [
                    (indicator_title(i, lang), reason)
                    for i, reason in m.not_computed.items()
                    if definition(i).goal_area == goal.id
                ],
                "equity": _equity_view(report, lab) if goal.id == "equity" else None,
            }
        )
    return sections


def chart_specs(report: Report) -> list[dict[str, str]]:
    """The report's charts: element id, kind (``trend``/``funnel``), title, subject and spec.

    Args:
        report: The report.

    Returns:
        One entry per chart, in page order.
    """
    charts = Charts()
    _goal_sections(report, charts, report_labels(report.lang))
    return charts.specs


@cache
def _template() -> jinja2.Template:
    files = resources.files("pakkeforlop.report").joinpath("templates")
    env = jinja2.Environment(
        loader=jinja2.DictLoader(
            {name: files.joinpath(name).read_text("utf-8") for name in ("report.html.j2",)}
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def _asset(name: str) -> str:
    return resources.files("pakkeforlop.report").joinpath("templates", name).read_text("utf-8")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (no network fetches).

    Args:
        report: From :func:`~pakkeforlop.report.build_report`.

    Returns:
        The HTML text.
    """
    from pakkeforlop import __version__  # noqa: PLC0415 - the package imports this module late

    lab = report_labels(report.lang)
    charts = Charts()
    sections = _goal_sections(report, charts, lab)
    period = report.reporting_period or lab["none"]
    reference = str(report.metadata.reference_date or lab["none"])
    note_key = "reporting_period_note" if report.reporting_complete else "reporting_period_partial"
    options = _EMBED | {"formatLocale": _labels_file()["format_locale"][report.lang]}
    return _template().render(
        lab=lab,
        lang=report.lang,
        title=lab["title"],
        subtitle=lab["subtitle"].format(
            period=period, reference=reference, source=", ".join(report.info.sources)
        ),
        period_note=lab[note_key].format(
            period=period, previous=report.previous_period or lab["no_previous"]
        )
        if report.reporting_period
        else "",
        sections=sections,
        funnel_heading=lab["funnel_heading"].format(period=period),
        units_intro=lab["units_intro"].format(
            count=len(recent_periods(report.overall, report.reporting_period, UNIT_PERIODS)),
            period=period,
        ),
        equity_intro=lab["equity_intro"].format(period=period),
        quality=_quality_view(report, lab),
        provenance=_provenance_view(report, lab),
        generated=(
            lab["generated"].format(version=__version__, when=report.generated.isoformat(sep=" "))
            if report.generated is not None
            else lab["generated_plain"].format(version=__version__)
        ),
        charts=charts.specs,
        embed_options=json_for_script(options),
        css=_asset("report.css"),
        script=_asset("report.js"),
        bundle=javascript_bundle(),
    )


def write_html(report: Report, path: str | Path) -> Path:
    """Write :func:`render_html` to a file (UTF-8).

    Args:
        report: The report.
        path: Where to write it; its folder must exist.

    Returns:
        The path written.

    Raises:
        OutputError: If the file cannot be written (nothing is left under its name).
    """
    target = check_writable(path)
    page = render_html(report)
    with atomic_output(target) as temp:
        temp.write_text(page, encoding="utf-8")
    return target
