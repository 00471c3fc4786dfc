"""``pakkeforlop report``: one self-contained HTML report (opens offline) from an extract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pakkeforlop.codes import DEFAULT_EDITION
from pakkeforlop.files import check_writable

from .common import (
    AsOfOption,
    ColumnsOption,
    EditionOption,
    ExtensionOption,
    ExtractArgument,
    TreatmentStartOption,
    fail,
    guarded,
)

_EXTRA_HINT = "pakkeforlop report needs the report extra: pip install 'pakkeforlop[report]'"


@guarded
def report_command(
    extract: ExtractArgument,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Write the HTML report here (e.g. report.html).")
    ],
    period: Annotated[
        str, typer.Option(help="Reporting periods: month, tertial or year.")
    ] = "tertial",
    by: Annotated[
        str,
        typer.Option(
            help="Stratum for the trend charts (comma-separated for several), e.g. pathway_type,"
            " health_region, age_group."
        ),
    ] = "pathway_type",
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="First period or date to include (2023-T1, 2023-01, 2023-01-15)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last period or date to include (a period means its last day)."),
    ] = None,
    lang: Annotated[
        str, typer.Option(help="Labels: nb (Norwegian bokmål) or en (English).")
    ] = "nb",
    no_suppress: Annotated[
        bool,
        typer.Option(
            "--no-suppress",
            help="Do not hide small cells (only inside a secure environment; never publish).",
        ),
    ] = False,
    policy: Annotated[
        str, typer.Option(help="Small-cell suppression policy: nki (default) or npr.")
    ] = "nki",
    as_of: AsOfOption = None,
    columns: ColumnsOption = None,
    edition: EditionOption = DEFAULT_EDITION,
    extension: ExtensionOption = None,
    treatment_start: TreatmentStartOption = None,
    times: Annotated[
        Path | None,
        typer.Option(help="Recommended pathway times TOML (default: the shipped 2019 file)."),
    ] = None,
    timestamp: Annotated[
        bool,
        typer.Option(
            "--timestamp",
            help="Print when the report was made in its footer (off: the same extract gives the"
            " same file, byte for byte).",
        ),
    ] = False,
) -> None:
    """Write one self-contained HTML report, organised by the five goal areas.

    Per goal area: a headline table (value, interval, target, met or not, trend arrow), a trend
    chart by period and pathway type, and a funnel plot per proportion indicator across health
    trusts; then the equity table for areas of residence, the data-quality summary from
    validate and the provenance of every figure. The file has every script, style and datum
    inline and opens offline. Small cells are suppressed (shown as suppressed, never as zero).

    Examples:
      pakkeforlop report extract.parquet -o report.html

      pakkeforlop report extract.parquet -o report.html --lang en --from 2023-T1 --to 2024-T2
    """
    if output.suffix.lower() not in (".html", ".htm"):
        raise fail(f"the report is HTML: give -o a .html file, not {output.name!r}")
    check_writable(output)  # before any work
    try:
        from pakkeforlop.report import build_report, write_html  # noqa: PLC0415 - optional extra
    except ImportError:
        raise fail(_EXTRA_HINT) from None
    report = build_report(
        extract,
        period=period,
        by=by,
        start=start,
        end=end,
        lang=lang,
        suppress=not no_suppress,
        policy=policy,
        as_of=as_of,
        columns=columns,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
        times=times,
        stamp=timestamp,
    )
    write_html(report, output)
    period_text = report.reporting_period or "no results"
    typer.echo(
        f"report for {period_text} ({report.metadata.pathway_count} pathways,"
        f" {report.info.rows_read} rows) written to {output}",
        err=True,
    )
