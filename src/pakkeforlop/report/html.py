"""Rendering a :class:`~pakkeforlop.report.Report` as one self-contained HTML page.

Everything is inline: the stylesheet, the Vega/Vega-Lite/vega-embed bundle (from
``vl-convert-python``, the bundle altair itself inlines), the chart specifications (with their
data) and the small script that draws them. A Content-Security-Policy forbids every network
fetch, so the file opens offline and cannot leak anything. The template and stylesheet are
package data under ``templates/``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
import jinja2
import polars as pl

from pakkeforlop.codes import load_catalogue
from pakkeforlop.files import atomic_output, check_writable
from pakkeforlop.indicators import definition, definitions_table, indicator_catalogue
from pakkeforlop.numbers import fmt_count, fmt_days, fmt_interval, fmt_pct
from pakkeforlop.plot import Lang, funnel, funnel_data, goal_title, indicator_title, trend
from pakkeforlop.report.build import FUNNEL_DIMENSION, Report

__all__ = ["chart_specs", "javascript_bundle", "render_html", "report_labels", "write_html"]

#: Options handed to vegaEmbed for every chart: SVG (inspectable, sharp in print), no action
#: menu (its links point to online editors).
_EMBED: dict[str, Any] = {"actions": False, "renderer": "svg"}


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


def _json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<`` at all)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


class _Charts:
    """Collects chart specifications; each gets an element id in the page."""

    def __init__(self) -> None:
        self.specs: list[dict[str, str]] = []

    def add(self, chart: alt.TopLevelMixin, kind: str, title: str, about: str) -> dict[str, str]:
        """Register a chart; returns its entry (``id``, ``kind``, ``title``, ``about``, ``spec``).

        ``about`` is the goal area of a trend chart, the indicator id of a funnel plot.
        """
        spec = chart.to_dict()
        entry = {
            "id": f"chart-{len(self.specs) + 1}",
            "kind": kind,
            "title": title,
            "about": about,
            "spec": _json_for_script(spec),
        }
        self.specs.append(entry)
        return entry


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
        "arrow_title": "",
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
        shown_before = text(prev) if prev is not None else None
        row["arrow_title"] = lab["previous"].format(
            period=previous_label or "", value=shown_before or ""
        )
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


def _quality_view(report: Report, lab: Mapping[str, str]) -> dict[str, Any]:
    v = report.validation
    lang = report.lang
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
        rows=fmt_count(v.rows_read, lang),
        errors=fmt_count(v.counts.get("error", 0), lang),
        warnings=fmt_count(v.counts.get("warning", 0), lang),
        infos=fmt_count(v.counts.get("info", 0), lang),
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
    findings = ", ".join(
        f"{lab[f'sev_{k}']} {fmt_count(n, lang)}" for k, n in sorted(m.findings_by_severity.items())
    )
    items = [
        (lab["source"], ", ".join(info.sources)),
        (
            lab["code_edition"],
            m.code_edition + (f" + {m.code_extension}" if m.code_extension else ""),
        ),
        (lab["indicator_edition"], m.catalogue_edition),
        (lab["times_file"], f"{m.times_file} ({m.times_version})"),
        (lab["reference_date"], str(m.reference_date) if m.reference_date else lab["none"]),
        (lab["period_kind"], lab[m.period]),
        (lab["selection"], selection),
        (lab["rows_read"], count(info.rows_read)),
        (lab["rows_flagged"], count(info.rows_flagged)),
        (lab["duplicates"], count(info.duplicates_collapsed)),
        (lab["pathways"], count(m.pathway_count)),
        (lab["findings"], findings or lab["none"]),
        (lab["suppression"], suppression),
        (lab["level"], fmt_pct(m.level, lang, digits=1)),
        (lab["care_level_default"], m.unknown_care_level),
        (lab["treatment_start"], m.treatment_start or lab["none"]),
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


def _type_key(report: Report, lang: Lang) -> str:
    table = report.trends.get("pathway_type")
    if table is None:
        return ""
    present = set(table["pathway_type"].drop_nulls().to_list())
    cat = load_catalogue(report.metadata.code_edition)
    names = [
        f"{c.code} {c.nb if lang == 'nb' else c.en}"
        for c in cat.codes
        if c.system == 9321 and c.code in present
    ]
    return " · ".join(names)


def _goal_sections(report: Report, charts: _Charts, lab: Mapping[str, str]) -> list[dict[str, Any]]:
    lang = report.lang
    m = report.metadata
    dims = [d for d in report.trends if d]
    first_dim = dims[0] if dims else ""
    overall = _overall(report, first_dim, report.overall)
    current = _rows_by_indicator(overall, report.reporting_period)
    previous = _rows_by_indicator(overall, report.previous_period)
    trust_overall = report.trusts.filter(pl.col(FUNNEL_DIMENSION).is_null())
    trust_now = _rows_by_indicator(trust_overall, report.reporting_period)
    policy_name = report.policy.name if report.policy is not None else ""
    sections = []
    for goal in indicator_catalogue().goal_areas:
        ids = [i for i in m.indicators if definition(i).goal_area == goal.id]
        section: dict[str, Any] = {
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
            "trends": [],
            "funnels": [],
            "not_computed": [
                f"{indicator_title(i, lang)}: {reason}"
                for i, reason in m.not_computed.items()
                if definition(i).goal_area == goal.id
            ],
            "equity": _equity_view(report, lab) if goal.id == "equity" else None,
        }
        present = [i for i in ids if i in set(report.overall["indicator_id"].to_list())]
        if present:
            for dim, table in report.trends.items():
                heading = lab["trend_heading"].format(
                    period_kind=lab[report.period], by=lab[dim] if dim else lab["everything"]
                )
                chart = trend(table, present, by=dim or None, lang=lang)
                section["trends"].append(
                    charts.add(chart, "trend", heading, goal.id)
                    | {
                        "heading": heading,
                        "key": _type_key(report, lang) if dim == "pathway_type" else "",
                    }
                )
        for i in ids:
            row = trust_now.get(i)
            if definition(i).kind != "proportion" or row is None:
                continue
            chart = funnel(
                report.trusts, i, period=report.reporting_period, lang=lang, width=340, height=240
            ).configure_legend(orient="bottom", direction="horizontal", columns=3)
            hidden = funnel_data(report.trusts, i, period=report.reporting_period).suppressed
            section["funnels"].append(
                charts.add(chart, "funnel", indicator_title(i, lang), i)
                | {
                    "caption": lab["funnel_suppressed"].format(names=", ".join(hidden))
                    if hidden
                    else ""
                }
            )
        sections.append(section)
    return sections


def chart_specs(report: Report) -> list[dict[str, str]]:
    """The report's charts: element id, kind (``trend``/``funnel``), title, subject and spec.

    Args:
        report: The report.

    Returns:
        One entry per chart, in page order.
    """
    charts = _Charts()
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
    charts = _Charts()
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
        equity_intro=lab["equity_intro"].format(period=period),
        quality=_quality_view(report, lab),
        provenance=_provenance_view(report, lab),
        generated=(
            lab["generated"].format(version=__version__, when=report.generated.isoformat(sep=" "))
            if report.generated is not None
            else lab["generated_plain"].format(version=__version__)
        ),
        charts=charts.specs,
        embed_options=_json_for_script(options),
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
