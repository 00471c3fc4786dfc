"""Tests of the HTML report: its content, suppression, the CLI, and a real headless browser.

The browser tests open the report in Debian's chromium (installed by .ci/run), wait for every
chart, and check that each drew marks, that the page logged no error and made no request but
for the file itself. Without chromium they are skipped locally and fail under CI.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from report_helpers import (
    CHART_PROBE,
    LAYOUT_PROBE,
    Chromium,
    chromium_path,
    events_frame,
    write_extract,
)
from typer.testing import CliRunner

from pakkeforlop.indicators import definition
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.indicators.testing import pathway_table
from pakkeforlop.numbers import fmt_count, fmt_days, fmt_pct
from pakkeforlop.periods import reporting_periods
from pakkeforlop.pipeline import run_indicators
from pakkeforlop.plot import funnel_data, labels, pathway_type_colours
from pakkeforlop.report import (
    UNIT_DIMENSIONS,
    build_report,
    chart_specs,
    equity_table,
    render_html,
    report_labels,
    write_html,
)
from pakkeforlop.report.units import unit_cells
from pakkeforlop.validate.report import affected_rows
from pakkeforlop_cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_extract(tmp_path_factory.mktemp("report") / "extract.parquet")


@pytest.fixture(scope="module")
def report_en(extract: Path) -> Any:
    return build_report(extract, lang="en")


@pytest.fixture(scope="module")
def html_file(report_en: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html(report_en, tmp_path_factory.mktemp("html") / "report.html")


# --- content ---------------------------------------------------------------------------------


def test_report_is_organised_by_the_five_goal_areas_then_quality_and_provenance(
    html_file: Path,
) -> None:
    html = html_file.read_text("utf-8")
    ids = ["involvement", "coordination", "waiting", "equity", "somatic", "quality", "provenance"]
    positions = [html.index(f'<section id="{i}"') for i in ids]
    assert positions == sorted(positions)
    # titles come from the indicator definitions
    assert "Treatment plan made together with patient and relatives" in html
    assert "No unjustified waiting" in html
    # the somatic goal area says why it has no figure instead of showing one
    somatic = html[html.index('<section id="somatic"') : html.index('<section id="quality"')]
    assert "not computable from national codes" in somatic


def test_reporting_period_is_the_last_complete_one(report_en: Any) -> None:
    # the fixture's registrations end 2024-09-29: 2024-T3 is incomplete, 2024-T2 complete
    assert report_en.metadata.reference_date == dt.date(2024, 9, 29)
    assert (report_en.reporting_period, report_en.previous_period) == ("2024-T2", "2024-T1")
    assert report_en.reporting_complete


def test_reporting_periods_fall_back_to_the_last_period() -> None:
    table = pl.DataFrame(
        {
            "period": ["2023-T1", "2023-T2"],
            "period_start": [dt.date(2023, 1, 1), dt.date(2023, 5, 1)],
            "period_end": [dt.date(2023, 4, 30), dt.date(2023, 8, 31)],
        }
    )
    assert reporting_periods(table, dt.date(2023, 9, 1)) == ("2023-T2", True, "2023-T1")
    assert reporting_periods(table, dt.date(2023, 6, 1)) == ("2023-T1", True, None)
    assert reporting_periods(table, dt.date(2023, 3, 1)) == ("2023-T2", False, "2023-T1")
    assert reporting_periods(table.clear(), None) == (None, False, None)


def test_headline_shows_value_interval_target_met_and_arrow(
    report_en: Any, html_file: Path
) -> None:
    html = html_file.read_text("utf-8")
    row = html[html.index("<code>plan_cocreated</code>") :]
    row = row[: row.index("</tr>")]
    overall = report_en.overall.filter(
        pl.col("pathway_type").is_null(), pl.col("indicator_id") == "plan_cocreated"
    )
    now = overall.filter(pl.col("period") == "2024-T2").row(0, named=True)
    before = overall.filter(pl.col("period") == "2024-T1").row(0, named=True)
    assert f"{now['value'] * 100:.1f}%" in row
    assert f"{now['ci_low'] * 100:.1f}–{now['ci_high'] * 100:.1f}%" in row
    assert "80%" in row  # target of the official indicator
    assert ("✔ yes" if now["meets_target"] else "✘ no") in row
    arrow = (
        "↑" if now["value"] > before["value"] else "↓" if now["value"] < before["value"] else "→"
    )
    assert arrow in row
    assert f"Previous period 2024-T1: {before['value'] * 100:.1f}%" in row


def test_quality_and_provenance_sections(report_en: Any, html_file: Path) -> None:
    html = html_file.read_text("utf-8")
    quality = html[html.index('<section id="quality"') : html.index('<section id="provenance"')]
    assert f"{report_en.validation.rows_read:,} rows read" in quality
    provenance = html[html.index('<section id="provenance"') :]
    m = report_en.metadata
    for text in (
        m.code_edition,
        m.catalogue_edition,
        m.times_file,
        "2024-09-29",
        "nki: National quality indicators",
    ):
        assert text in provenance
    # every provisional row of the times file is listed, marked used or not
    for t in report_en.times.times:
        if t.status == "provisional":
            assert t.label in provenance
    assert 'D11 assessment (provisional)</code></th><td class="num">42 / 42</td><td>used' in (
        provenance
    )
    # the named treatment-start rule, and why H's indicator is not available before its start
    assert "first_registration_after_detox: the first registration after the detox end" in (
        provenance
    )
    assert "help_needed_recorded: event H is in force from 2023-01-01 [UNSURE: assumed]" in (
        provenance
    )


def test_the_report_defines_every_indicator_it_shows(report_en: Any, html_file: Path) -> None:
    html = html_file.read_text("utf-8")
    definitions = html[html.index('<h3 id="definitions">') :]
    for ind in report_en.metadata.indicators:
        assert f'<dt id="def-{ind}">' in definitions
    # an activity count and a regime-bound indicator, with their definition and source
    start = definitions.index('<dt id="def-pathways_started">')
    entry = definitions[start : definitions.index("</dd>", start)]
    assert "a start (A) is registered" in entry
    assert "none: the value is the number of units" in entry
    assert "Source:</span> KV" in entry


def _tiny_extract() -> pl.DataFrame:
    """Three closed treatment pathways: every cell is under the nki minimum of 5."""
    rows = []
    for i, plan in enumerate([True, True, False]):
        pid = f"P{i}"
        rows += [
            (pid, "2024-01-02", "D11A", None),
            (pid, "2024-01-09", "D11M", None),
            (pid, "2024-01-20", "D11CP", None),
            *([(pid, "2024-01-21", "D11UU", None)] if plan else []),
            (pid, "2024-03-20", "D11XG", None),
        ]
    return pl.DataFrame(
        {
            "NPRId": [r[0] for r in rows],
            "institusjonId": ["974"] * len(rows),
            "dato": [r[1] for r in rows],
            "kode": [r[2] for r in rows],
            "BehHF": ["Trust A"] * len(rows),
        }
    )


def test_suppressed_cells_show_as_suppressed_never_as_zero() -> None:
    report = build_report(_tiny_extract(), lang="en")
    html = render_html(report)
    row = html[html.index("<code>plan_cocreated</code>") :]
    row = row[: row.index("</tr>")]
    assert 'class="num suppressed"' in row
    assert ">suppressed<" in row
    assert "0.0%" not in row and "66.7%" not in row
    # the same data unsuppressed (a secure environment) shows the value: 2 of 3
    open_html = render_html(build_report(_tiny_extract(), lang="en", suppress=False))
    open_row = open_html[open_html.index("<code>plan_cocreated</code>") :]
    assert "66.7%" in open_row[: open_row.index("</tr>")]
    assert "must not be published" in open_html


def test_norwegian_labels() -> None:
    html = render_html(build_report(_tiny_extract(), lang="nb"))
    assert '<html lang="nb">' in html
    assert "Behandlingsplan utarbeidet sammen med pasient og pårørende" in html
    assert ">skjult<" in html
    assert "Datakvalitet" in html and "Proveniens" in html


# --- tables per treating health trust and region ----------------------------------------------


class _UnitTables(HTMLParser):
    """The tables per unit: (indicator, dimension) -> unit (``""`` national) -> period -> cell.

    A cell is its class, its text, the small text under it (``n ...``) and its hover title.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[tuple[str, str], dict[str, dict[str, dict[str, str]]]] = {}
        self.notes: list[str] = []
        self._table: dict[str, dict[str, dict[str, str]]] | None = None
        self._unit: dict[str, dict[str, str]] | None = None
        self._cell: dict[str, str] | None = None
        self._small = False
        self._details = False
        self._note = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "details" and "units" in a.get("class", "").split():
            self._details = True
        elif tag == "table" and "units" in a.get("class", "").split():
            key = (a["data-indicator"], a["data-dimension"])
            self._table = self.tables.setdefault(key, {})
        elif tag == "tr" and self._table is not None and "data-unit" in a:
            self._unit = self._table.setdefault(a["data-unit"], {})
        elif tag == "td" and self._unit is not None:
            cell = {"class": a.get("class", ""), "text": "", "small": "", "title": a["title"]}
            self._cell = self._unit.setdefault(a["data-period"], cell)
        elif tag == "small" and self._cell is not None:
            self._small = True
        elif tag == "p" and self._details:
            self._note = True
            self.notes.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "small":
            self._small = False
        elif tag == "td":
            self._cell = None
        elif tag == "tr":
            self._unit = None
        elif tag == "table":
            self._table = None
        elif tag == "details":
            self._details = False
        elif tag == "p":
            self._note = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["small" if self._small else "text"] += data
        elif self._note:
            self.notes[-1] += data


def _unit_tables(html: str) -> _UnitTables:
    parsed = _UnitTables()
    parsed.feed(html)
    return parsed


#: The fixture's treating health trusts and regions (report_helpers.INSTITUTIONS).
FIXTURE_UNITS = {
    "health_trust": {"Trust A", "Trust B", "Trust C", "Trust D"},
    "health_region": {"Region East", "Region West"},
}


def test_tables_per_trust_and_region_show_the_library_cells(
    extract: Path, report_en: Any, html_file: Path
) -> None:
    tables = _unit_tables(html_file.read_text("utf-8")).tables
    lab = report_labels("en")
    # the four tertials up to the reporting period 2024-T2, oldest first
    periods = ["2023-T2", "2023-T3", "2024-T1", "2024-T2"]
    with_results = set(report_en.overall["indicator_id"].to_list())
    proportions = [
        i
        for i in report_en.metadata.indicators
        if definition(i).kind in ("proportion", "duration") and i in with_results
    ]
    # the official indicators with a target are among them, and the waiting times in days;
    # every proportion and duration gets both tables (counts get none)
    assert {"assessment_in_time", "first_evaluation_in_time", "plan_cocreated"} <= set(proportions)
    assert {"assessment_days", "waiting_days_to_first_attendance"} <= set(proportions)
    assert set(tables) == {(i, d) for i in proportions for d in UNIT_DIMENSIONS}
    shown_as: dict[str, int] = {"value": 0, "suppressed": 0, "none": 0}
    for dim in UNIT_DIMENSIONS:
        # what `pakkeforlop indicators --by <dim>` computes and suppresses, independently
        library = run_indicators(extract, indicators=IndicatorSettings(by=(dim,)))
        for ind in proportions:
            shown = tables[(ind, dim)]
            cells = library.filter(pl.col("indicator_id") == ind, pl.col("period").is_in(periods))
            units = {str(u) for u in cells[dim].drop_nulls()}
            assert units <= FIXTURE_UNITS[dim]
            assert list(shown) == ["", *sorted(units)]  # national first, then by name
            for unit, row in shown.items():
                assert list(row) == periods
                for period, cell in row.items():
                    at = cells.filter(
                        pl.col("period") == period,
                        pl.col(dim).is_null() if unit == "" else pl.col(dim) == unit,
                    )
                    assert at.height <= 1
                    if at.height == 0:  # no pathway of the unit there: a dash, never a 0
                        assert (cell["text"], cell["class"]) == (lab["none"], "num nodata")
                        shown_as["none"] += 1
                        continue
                    r = at.row(0, named=True)
                    n = r["denominator"]
                    assert cell["small"] == (f"n {fmt_count(n, 'en')}" if n is not None else "")
                    if r["not_available"]:
                        assert cell["text"] == lab["not_available"]
                    elif r["suppressed"]:
                        assert cell["text"] == lab["suppressed"], (ind, unit, period, cell)
                        assert "suppressed" in cell["class"].split()
                        assert not re.search(r"\d", cell["text"] + cell["title"])
                        shown_as["suppressed"] += 1
                    elif definition(ind).kind == "duration":
                        days = lab["days"].format(value=fmt_days(r["median_days"], "en"))
                        assert cell["text"] == days, (ind, unit, cell)
                        assert cell["title"].startswith(f"median {days};")
                        shown_as["value"] += 1
                    else:
                        assert cell["text"] == fmt_pct(r["value"], "en"), (ind, unit, cell)
                        assert cell["title"].startswith(f"{r['numerator']} of {n};")
                        shown_as["value"] += 1
    # the fixture has figures and small cells (every trust has units in every period: absent
    # cells are tested with test_unit_cells_fill_the_grid_with_absent_cells_never_zeros)
    assert shown_as["value"] > 0 and shown_as["suppressed"] > 0, shown_as


def test_tables_per_unit_never_show_a_suppressed_cell_as_a_number() -> None:
    # three pathways at one trust: every cell is under the nki minimum of 5
    for lang in ("en", "nb"):
        lab = report_labels(lang)  # type: ignore[arg-type]
        parsed = _unit_tables(render_html(build_report(_tiny_extract(), lang=lang)))
        trust = parsed.tables[("plan_cocreated", "health_trust")]
        assert set(trust) == {"", "Trust A"}
        for unit in ("", "Trust A"):
            cell = trust[unit]["2024-T1"]
            assert cell["text"] == lab["suppressed"]  # "suppressed" / "skjult"
            assert "%" not in cell["text"] + cell["small"]
        # the extract names no treating region: the page says so instead of an empty table
        assert ("plan_cocreated", "health_region") not in parsed.tables
        assert lab["no_units"].format(dimension=lab["health_region"]) in parsed.notes
    # without suppression (a secure environment) the same cell shows its value: 2 of 3
    open_tables = _unit_tables(render_html(build_report(_tiny_extract(), suppress=False)))
    opened = open_tables.tables[("plan_cocreated", "health_trust")]["Trust A"]["2024-T1"]
    assert opened["text"].replace("\u00a0", " ") == "66,7 %"


def test_unit_cells_fill_the_grid_with_absent_cells_never_zeros() -> None:
    # unit B has a row in 2024-T1 only (suppressed); A in both; national in both
    table = pl.DataFrame(
        {
            "indicator_id": ["x"] * 5,
            "period": ["2023-T3", "2023-T3", "2024-T1", "2024-T1", "2024-T1"],
            "health_trust": [None, "A", None, "A", "B"],
            "numerator": [8, 8, 12, 9, None],
            "denominator": [10, 10, 15, 11, 4],
            "value": [0.8, 0.8, 0.8, 9 / 11, None],
            "ci_low": [0.5] * 5,
            "ci_high": [0.9] * 5,
            "suppressed": [False, False, False, False, True],
            "not_available": [False] * 5,
            "not_available_reason": [None] * 5,
        }
    )
    cells = unit_cells(table, "x", dimension="health_trust", periods=["2023-T3", "2024-T1"])
    assert cells.select("unit", "period", "present", "numerator", "suppressed").rows() == [
        (None, "2023-T3", True, 8, False),
        (None, "2024-T1", True, 12, False),
        ("A", "2023-T3", True, 8, False),
        ("A", "2024-T1", True, 9, False),
        ("B", "2023-T3", False, None, None),  # absent: no figures at all
        ("B", "2024-T1", True, None, True),
    ]


# --- colours, arrows, funnel outliers ------------------------------------------------------------


def _colour_scales(spec: Any) -> list[dict[str, str]]:
    """Every colour scale in a chart spec, as group -> colour."""
    found: list[dict[str, str]] = []
    if isinstance(spec, dict):
        colour = spec.get("color")
        if isinstance(colour, dict) and isinstance(colour.get("scale"), dict):
            scale = colour["scale"]
            if "domain" in scale and "range" in scale:
                found.append(dict(zip(scale["domain"], scale["range"], strict=True)))
        for value in spec.values():
            found += _colour_scales(value)
    elif isinstance(spec, list):
        for value in spec:
            found += _colour_scales(value)
    return found


def test_each_pathway_type_has_the_same_colour_in_every_chart(
    report_en: Any, html_file: Path
) -> None:
    palette = pathway_type_colours()
    trends = [e for e in chart_specs(report_en) if e["kind"] == "trend"]
    assert len(trends) >= 10  # a chart per indicator, in every goal area
    colour_of: dict[str, set[str]] = {}
    groups_per_chart = []
    for entry in trends:
        scales = _colour_scales(json.loads(entry["spec"]))
        assert scales, entry["about"]
        groups_per_chart.append(frozenset(g for s in scales for g in s))
        for scale in scales:
            for group, colour in scale.items():
                colour_of.setdefault(group, set()).add(colour)
    # the fixture's types D01, D11, D12 and the overall line, one colour each, the palette's
    assert set(colour_of) == {"All", "D01", "D11", "D12"}
    assert colour_of == {
        "All": {palette["all"]},
        "D01": {palette["D01"]},
        "D11": {palette["D11"]},
        "D12": {palette["D12"]},
    }
    # and the page's colour key says the same
    html = html_file.read_text("utf-8")
    for group in ("D01", "D11", "D12"):
        assert f'data-group="{group}" data-colour="{palette[group]}"' in html


def test_trend_arrows_are_coloured_by_the_better_direction(report_en: Any, html_file: Path) -> None:
    html = html_file.read_text("utf-8")
    lab = report_labels("en")
    overall = report_en.overall.filter(pl.col("pathway_type").is_null())
    judged = set()
    for ind in report_en.metadata.indicators:
        d = definition(ind)
        start = html.find(f"<code>{ind}</code>")
        row = html[start : html.index("</tr>", start)]
        arrow = re.search(r'<td class="arrow (arrow-\w+)"', row)
        assert arrow is not None, ind
        key = "median_days" if d.kind == "duration" else "value"

        def at(period: str, ind: str = ind, key: str = key) -> float | None:
            cell = overall.filter(pl.col("indicator_id") == ind, pl.col("period") == period)
            if cell.height == 0 or cell["suppressed"][0]:
                return None
            v = cell[key][0]
            return None if v is None else float(v)

        now, before = at("2024-T2"), at("2024-T1")
        if now is None or before is None:
            assert arrow.group(1) == "arrow-none", ind
            continue
        if now == before:
            expected = "unchanged"
        elif d.better is None:
            expected = "neutral"
        else:
            expected = "better" if (now > before) == (d.better == "higher") else "worse"
        assert arrow.group(1) == f"arrow-{expected}", (ind, now, before, d.better)
        # the title and the text under the arrow say it in words, not only in colour
        assert f'title="{lab[f"change_{expected}"]}: Previous period 2024-T1' in row
        judged.add(expected)
    # the fixture moves indicators both ways, and has indicators without a better direction
    assert {"better", "worse", "neutral"} <= judged, judged
    css = (Path(__file__).parents[1] / "src/pakkeforlop/report/templates/report.css").read_text()
    assert ".arrow-better { color: var(--good); }" in css
    assert ".arrow-worse { color: var(--bad); }" in css


class _Funnels(HTMLParser):
    """Per funnel figure (by indicator): the outliers listed under it, as their text."""

    def __init__(self) -> None:
        super().__init__()
        self.outliers: dict[str, list[str]] = {}
        self._figure: str | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "figure" and "funnel" in a.get("class", "").split():
            self._figure = a["data-indicator"]
            self.outliers[self._figure] = []
        elif tag == "li" and self._figure is not None and "data-area" in a:
            self._item = [""]
            self.outliers[self._figure].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._figure = None
        elif tag == "li":
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._item is not None and self._figure is not None:
            self.outliers[self._figure][-1] += data


def test_funnel_outliers_are_listed_under_the_plot_not_written_on_it(
    report_en: Any, html_file: Path
) -> None:
    parsed = _Funnels()
    parsed.feed(html_file.read_text("utf-8"))
    funnels = [e for e in chart_specs(report_en) if e["kind"] == "funnel"]
    assert [e["about"] for e in funnels] == list(parsed.outliers)
    named = 0
    for entry in funnels:
        spec = json.loads(entry["spec"])
        assert "text" not in {layer["mark"]["type"] for layer in spec["layer"]}  # no overprint
        f = funnel_data(report_en.trusts, entry["about"], period=report_en.reporting_period)
        outside = f.points.filter(pl.col("outside").is_not_null())
        listed = parsed.outliers[entry["about"]]
        assert len(listed) == outside.height
        for r in outside.to_dicts():
            limit = "99.8%" if r["outside"] == "99.8" else "95%"
            text = next(t for t in listed if t.startswith(r["area"]))
            assert f"{r['area']} {fmt_pct(r['value'], 'en')} (n {r['denominator']})" in text
            assert f"{r['direction']} the {limit} limit" in text
            named += 1
    assert named >= 2  # Trust D co-creates far fewer plans: the fixture has outliers


# --- one language per page, one source per count --------------------------------------------------

#: Attributes of a chart spec that hold names for the machine (fields, types), not for readers.
_SPEC_MACHINE_KEYS = frozenset(
    [
        "field",
        "type",
        "$schema",
        "name",
        "data",
        "mark",
        "format",
        "labelExpr",
        "orient",
        "direction",
        "invalid",
        "align",
        "aggregate",
        "filter",
        "labelOverlap",
        "kind",
        "indicator_id",
        "limit",
        "side",
    ]
)


class _ReadableText(HTMLParser):
    """The page's visible text outside ``lang="en"`` parts, and the specs of its charts."""

    _VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "source", "col"})

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.specs: list[Any] = []
        self._hidden: list[bool] = []
        self._spec = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            return
        a = dict(attrs)
        inherited = bool(self._hidden and self._hidden[-1])
        self._hidden.append(inherited or tag in ("script", "style") or a.get("lang") == "en")
        self._spec = tag == "script" and (a.get("id") or "").startswith("chart-")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._VOID:
            self._hidden.pop()
            self._spec = False

    def handle_data(self, data: str) -> None:
        if self._spec:
            self.specs.append(json.loads(data))
        elif not (self._hidden and self._hidden[-1]) and data.strip():
            self.texts.append(data.strip())


def _spec_strings(node: Any, key: str | None = None) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _spec_strings(v, k)]
    if isinstance(node, list):
        return [s for v in node for s in _spec_strings(v, key)]
    return [node] if isinstance(node, str) and key not in _SPEC_MACHINE_KEYS else []


def _has_word(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text) is not None


def _english_only(nb: dict[str, str], en: dict[str, str]) -> set[str]:
    """Words of the English labels that the Norwegian label of the same key does not share."""
    out = set()
    for key, text in en.items():
        for piece in re.split(r"\{[^}]*\}", text):
            part = piece.strip(" :;,.()")
            if len(part) >= 3 and not _has_word(nb[key], part):
                out.add(part)
    return out


def test_the_norwegian_report_is_norwegian_in_every_label_heading_and_chart(
    extract: Path,
) -> None:
    page = _ReadableText()
    page.feed(render_html(build_report(extract, lang="nb")))
    assert page.texts and page.specs
    english = _english_only(report_labels("nb"), report_labels("en")) | _english_only(
        labels("nb"), labels("en")
    )
    assert {"Value", "Period", "Previous period", "Health trust", "suppressed"} <= english
    text = "\n".join(page.texts)
    charts = "\n".join(s for spec in page.specs for s in _spec_strings(spec))
    found = [
        (where, word)
        for word in sorted(english)
        for where, hay in (("page", text), ("charts", charts))
        if _has_word(hay, word)
    ]
    assert found == []
    # the chart axes and legends are there, in Norwegian
    for title in ("Periode", "Antall (nevner)", "Kontrollgrenser", "Verdi"):
        assert title in charts
    for head in ("Per behandlende helseforetak", "Utvikling", "Forrige periode", "skjult"):
        assert head in text


def test_provenance_and_data_quality_count_rows_and_findings_from_one_source() -> None:
    # a bad date and an unknown code (read stage) and a pathway without a start (timeline)
    raw = pl.concat(
        [
            _tiny_extract(),
            pl.DataFrame(
                {
                    "NPRId": ["Q1", "Q1", "Q2"],
                    "institusjonId": ["974"] * 3,
                    "dato": ["31.02.2024", "05.02.2024", "06.02.2024"],
                    "kode": ["D11A", "D11M", "D11QQ"],
                    "BehHF": ["Trust A"] * 3,
                }
            ),
        ]
    )
    report = build_report(raw, lang="en")
    v = report.validation
    rows_with_findings = affected_rows(v.findings)
    assert v.counts.get("error", 0) > 0 and rows_with_findings > 0
    html = render_html(report)
    quality = html[html.index('<section id="quality"') : html.index('<section id="provenance"')]
    provenance = html[html.index('<section id="provenance"') :]
    errors, warnings, infos = (v.counts.get(k, 0) for k in ("error", "warning", "info"))
    assert f"{v.rows_read} rows read, {rows_with_findings} of them with at least one finding" in (
        quality
    )
    assert f"Number of findings: {errors} errors, {warnings} warnings, {infos} notes" in quality
    assert (
        f"<dt>Rows with at least one finding (every stage)</dt><dd>{rows_with_findings}</dd>"
        in provenance
    )
    assert (
        f"<dt>Number of findings (every stage)</dt><dd>{errors} errors, {warnings} warnings,"
        f" {infos} notes</dd>" in provenance
    )


def test_equity_table_names_only_areas_it_may_show() -> None:
    # rejected_referrals, 2023-T1: region a 0/20, b 20/20, c 4/4; national 24/44 = 0.545.
    # c is under the nki minimum of 5, so it is suppressed; the next-smallest, a, is hidden too,
    # but c + a = 4/24 is still a small cell (anyone could get it as the total minus b), so b
    # goes as well. Without suppression a (0.0, below) and b (1.0, above) fall far outside the
    # limits at n = 20 around 0.545.
    rows = [
        {
            "residence_region": r,
            "start_date": dt.date(2023, 1, 2),
            "end_date": dt.date(2023, 2, 1),
            "end_reason": "R" if k < m else "G",
        }
        for r, m, n in (("a", 0, 20), ("b", 20, 20), ("c", 4, 4))
        for k in range(n)
    ]
    paths = pathway_table(rows)
    common = {
        "period": "tertial",
        "label": "2023-T1",
        "indicators": ["rejected_referrals", "assessment_days"],
        "dimensions": ["residence_region"],
    }
    plain = equity_table(paths, policy=None, **common)  # type: ignore[arg-type]
    assert plain.height == 1  # the duration indicator is skipped
    r = plain.row(0, named=True)
    assert r["areas"] == 3
    assert r["national_value"] == pytest.approx(24 / 44)
    assert (r["min_value"], r["max_value"]) == (0.0, 1.0)
    outside = {(p["area"], p["direction"]) for p in r["outside_95"] + r["outside_998"]}
    assert {("a", "below"), ("b", "above")} <= outside
    from pakkeforlop.indicators import suppression_policy

    hidden = equity_table(paths, policy=suppression_policy("nki"), **common)  # type: ignore[arg-type]
    h = hidden.row(0, named=True)
    named = {p["area"] for p in h["outside_95"] + h["outside_998"]}
    assert named == set()  # every area hidden: no small group can be recovered
    assert h["areas"] == 3  # the count and the weighted SD are aggregates
    assert h["weighted_sd"] == r["weighted_sd"]


# --- offline ----------------------------------------------------------------------------------


class _Resources(HTMLParser):
    """Every attribute that could make a browser fetch something, and inline styles/scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.csp: str | None = None
        self._in: str | None = None
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in = tag
        a = dict(attrs)
        for name in ("src", "href", "srcset", "action", "poster", "data", "formaction"):
            value = a.get(name)
            if value is not None:
                self.urls.append((tag, name, value))
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content")

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def test_the_file_references_nothing_outside_itself(html_file: Path) -> None:
    html = html_file.read_text("utf-8")
    parsed = _Resources()
    parsed.feed(html)
    # the only links are to the page's own sections
    assert parsed.urls, "the table of contents links to the sections"
    assert all(v.startswith("#") for _, _, v in parsed.urls), [
        u for u in parsed.urls if not u[2].startswith("#")
    ]
    for tag in ("link", "img", "iframe", "object", "embed", "base"):
        assert tag not in parsed.tags
    style = "\n".join(parsed.styles)
    assert "@import" not in style and "url(" not in style
    # and the browser is told to refuse any fetch the scripts might try
    assert parsed.csp is not None
    assert "default-src 'none'" in parsed.csp and "connect-src 'none'" in parsed.csp
    # the page's own script fetches nothing
    script = html[html.rindex("<script>") :]
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "import(" not in script


def test_cli_writes_the_report(extract: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(
        app,
        ["report", str(extract), "-o", str(out), "--lang", "en", "--from", "2024-T1"],
    )
    assert result.exit_code == 0, result.output
    assert "written to" in result.output
    html = out.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Reporting period 2024-T2" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/r.pdf"], "give -o a .html file"),
        (["-o", "{tmp}/missing/r.html"], "does not exist"),
        (["-o", "{tmp}/r.html", "--lang", "de"], "unknown language 'de'"),
        (["-o", "{tmp}/r.html", "--period", "week"], "unknown period 'week'"),
        (["-o", "{tmp}/r.html", "--by", "colour"], "unknown stratum 'colour'"),
        (["-o", "{tmp}/r.html", "--policy", "strict"], "strict"),
        (["-o", "{tmp}/r.html", "--from", "2024-T2", "--to", "2023-T1"], "before --from"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_2(
    extract: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    argv = ["report", str(extract), *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_without_the_report_extra_says_how_to_install_it(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pakkeforlop.report", None)
    result = runner.invoke(app, ["report", str(extract), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "pip install 'pakkeforlop[report]'" in result.output


# --- a real browser ----------------------------------------------------------------------------


def _browser() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def rendered(html_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Open the report, wait for the charts, then open a control page that does fetch."""
    browser = Chromium(_browser(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open_page()
        url = html_file.resolve().as_uri()
        browser.navigate(url)
        browser.wait_for("document.body && document.body.getAttribute('data-charts') === 'done'")
        charts = browser.evaluate(CHART_PROBE)
        state = browser.evaluate("window.__pakkeforlop")
        browser.pump(0.3)  # late console messages
        errors, requests = browser.errors(), browser.requests()
        # control: the same observer does see a page's request for an outside resource
        control = html_file.parent / "control.html"
        control.write_text('<img src="http://127.0.0.1:9/pixel.png">', encoding="utf-8")
        seen = len(browser.events)
        browser.navigate(control.resolve().as_uri())
        browser.pump(1.0)
        control_requests = [
            str(e["params"]["request"]["url"])  # type: ignore[index]
            for e in browser.events[seen:]
            if e.get("method") == "Network.requestWillBeSent"
        ]
    finally:
        browser.close()
    return {
        "url": url,
        "charts": charts,
        "state": state,
        "errors": errors,
        "requests": requests,
        "control_requests": control_requests,
    }


def test_every_chart_renders_with_content_and_the_page_logs_no_error(
    rendered: dict[str, Any], report_en: Any
) -> None:
    charts = rendered["charts"]
    expected = chart_specs(report_en)
    assert [c["id"] for c in charts] == [f"{e['id']}-view" for e in expected]
    assert {c["kind"] for c in charts} == {"trend", "funnel"}
    for c, e in zip(charts, expected, strict=True):
        assert c["rendered"] == "yes", c
        assert c["width"] > 200 and c["height"] > 150, c
        if c["kind"] == "trend":
            assert c["lines"] > 0 and c["symbols"] > 0, c
            continue
        # a funnel draws a point per shown trust, and control limits unless the national
        # value itself is suppressed
        f = funnel_data(report_en.trusts, e["about"], period=report_en.reporting_period)
        assert c["symbols"] == f.points.height, (c, f)
        assert (c["lines"] > 0) == (f.national is not None), (c, f)
        # outliers are listed under the plot, not written on it where names overprint
        assert c["labels"] == 0, c
        assert c["axis_labels"] > 0, c
    drawn = [c for c in charts if c["kind"] == "funnel" and c["lines"] > 0 and c["symbols"] >= 3]
    assert len(drawn) >= 5  # the fixture has enough data for real funnels
    assert rendered["state"] == {
        "rendered": len(expected),
        "failed": 0,
        "errors": [],
        "done": True,
    }
    assert rendered["errors"] == []


@pytest.fixture(scope="module")
def narrow(html_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report on a 400 px wide screen (a phone), every table per unit opened."""
    browser = Chromium(_browser(), tmp_path_factory.mktemp("chromium-narrow"), width=400)
    try:
        browser.open_page()
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.navigate(html_file.resolve().as_uri())
        browser.wait_for("document.body && document.body.getAttribute('data-charts') === 'done'")
        opened = browser.evaluate(
            "document.querySelectorAll('details').forEach(function (d) { d.open = true; });"
            "document.querySelectorAll('details[open]').length"
        )
        browser.pump(0.3)
        layout = browser.evaluate(LAYOUT_PROBE)
        errors = browser.errors()
    finally:
        browser.close()
    assert isinstance(layout, dict)
    return {"layout": layout, "opened": opened, "errors": errors}


def test_nothing_is_wider_than_a_400_px_screen(narrow: dict[str, Any], report_en: Any) -> None:
    layout = narrow["layout"]
    assert layout["viewport"] == 400
    assert narrow["opened"] > 0
    # the page never scrolls sideways, and no element reaches beyond the screen ...
    assert layout["page"] <= 400
    assert layout["wide"] == []
    # ... wide tables scroll inside their own box instead
    boxes = layout["boxes"]
    assert boxes and all(b["overflow"] == "auto" and b["right"] <= 400.5 for b in boxes), boxes
    assert any(b["content"] > b["width"] + 1 for b in boxes)  # the headline table does scroll
    # every chart is as wide as its box, inside the screen
    charts = layout["charts"]
    assert len(charts) == len(chart_specs(report_en))
    for c in charts:
        assert 250 < c["svg"] <= c["box"] + 0.5 and c["right"] <= 400.5, c
    assert narrow["errors"] == []


def test_charts_are_as_wide_as_their_box_on_a_wide_screen(rendered: dict[str, Any]) -> None:
    # the same spec draws wider on the 1280 px screen than on a phone: it follows its box
    widths = {c["kind"]: c["width"] for c in rendered["charts"]}
    assert widths["funnel"] > 420 and widths["trend"] > 300, widths


def test_the_page_makes_no_network_request(rendered: dict[str, Any]) -> None:
    assert rendered["requests"] == [rendered["url"]]
    # the observer works: a page with an outside image is seen fetching it
    assert "http://127.0.0.1:9/pixel.png" in rendered["control_requests"]


def test_events_fixture_is_deterministic() -> None:
    assert events_frame(50).equals(events_frame(50))


def test_report_labels_exist_in_both_languages() -> None:
    from pakkeforlop.report import report_labels

    assert set(report_labels("nb")) == set(report_labels("en"))
