"""The HTML report: one self-contained page per extract, organised by the five goal areas.

:func:`build_report` reads an extract and computes what the page shows (headline tables, trend
charts by period and pathway type, tables per treating health trust and region, funnel plots
across health trusts, the equity table for areas of residence, ``validate``'s summary and the
provenance of every figure);
:func:`render_html` / :func:`write_html` turn it into one HTML file that opens offline (all
scripts, styles and data inline). Labels are Norwegian (bokmål) or English, the indicator titles
coming from the indicator definitions. Suppressed cells show as suppressed, never as zero.

Needs the ``report`` extra (``pip install 'pakkeforlop[report]'``): altair and
vl-convert-python (the inline Vega bundle).

See domain/indicators.md §1 (goal areas), §3 (equity, funnel limits) and §4 (suppression,
provenance).
"""

from __future__ import annotations

from pakkeforlop.report.build import (
    EQUITY_DIMENSIONS,
    FUNNEL_DIMENSION,
    UNIT_DIMENSIONS,
    UNIT_PERIODS,
    Report,
    build_report,
    equity_table,
)
from pakkeforlop.report.html import (
    chart_specs,
    javascript_bundle,
    render_html,
    report_labels,
    write_html,
)

__all__ = [
    "EQUITY_DIMENSIONS",
    "FUNNEL_DIMENSION",
    "UNIT_DIMENSIONS",
    "UNIT_PERIODS",
    "Report",
    "build_report",
    "chart_specs",
    "equity_table",
    "javascript_bundle",
    "render_html",
    "report_labels",
    "write_html",
]
