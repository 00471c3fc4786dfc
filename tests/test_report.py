"""Tests of the HTML report: its content, suppression, the CLI, and a real headless browser.

The browser tests open the report in Debian's chromium (installed by .ci/run), wait for every
chart, and check that each drew marks, that the page logged no error and made no request but
for the file itself. Without chromium they are skipped locally and fail under CI.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from report_helpers import CHART_PROBE, Chromium, chromium_path, events_frame, write_extract
from typer.testing import CliRunner

from pakkeforlop.indicators.testing import pathway_table
from pakkeforlop.periods import reporting_periods
from pakkeforlop.plot import funnel_data
from pakkeforlop.report import build_report, chart_specs, equity_table, render_html, write_html
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
        assert c["labels"] == f.points["outside"].is_not_null().sum(), (c, f)  # outliers named
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


def test_the_page_makes_no_network_request(rendered: dict[str, Any]) -> None:
    assert rendered["requests"] == [rendered["url"]]
    # the observer works: a page with an outside image is seen fetching it
    assert "http://127.0.0.1:9/pixel.png" in rendered["control_requests"]


def test_events_fixture_is_deterministic() -> None:
    assert events_frame(50).equals(events_frame(50))


def test_report_labels_exist_in_both_languages() -> None:
    from pakkeforlop.report import report_labels

    assert set(report_labels("nb")) == set(report_labels("en"))
