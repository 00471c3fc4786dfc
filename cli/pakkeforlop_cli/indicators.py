"""``pakkeforlop indicators``: an extract in, quality indicators per period and stratum out."""

from __future__ import annotations

import functools
import json
import textwrap
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from pakkeforlop.codes import DEFAULT_EDITION, load_catalogue
from pakkeforlop.errors import checked
from pakkeforlop.files import check_writable, write_atomic
from pakkeforlop.indicators import (
    IndicatorSettings,
    IndicatorTable,
    definitions_document,
    definitions_table,
    indicator_catalogue,
)
from pakkeforlop.io.read import conservation_line
from pakkeforlop.numbers import Lang
from pakkeforlop.pipeline import run_indicators
from pakkeforlop.schema import STRATUM_COLUMNS
from pakkeforlop.workbook import write_workbook

from .common import (
    AsOfOption,
    ColumnsOption,
    EditionOption,
    ExtensionOption,
    OptionalExtractArgument,
    PartitionsOption,
    Progress,
    TreatmentStartOption,
    err_console,
    fail,
    guarded,
    out_console,
    partitions_choice,
    read_settings,
    table_console,
    write_table,
)
from .summary import plain, summary_lines

#: Strata of the table when --by is not given.
DEFAULT_BY = "pathway_type"

#: Periods shown in the terminal table when no --from/--to is given (files get every period).
TERMINAL_PERIODS = 3


class OutputFormat(StrEnum):
    """File formats of ``indicators``."""

    csv = "csv"
    parquet = "parquet"
    json = "json"
    xlsx = "xlsx"


class PeriodKind(StrEnum):
    """Reporting periods."""

    month = "month"
    tertial = "tertial"
    year = "year"


class Language(StrEnum):
    """Languages of the terminal output."""

    en = "en"
    nb = "nb"


class Policy(StrEnum):
    """Small-cell suppression policies."""

    nki = "nki"
    npr = "npr"


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _fmt_pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f} %"


def _fmt_days(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _counts(numerator: int | None, denominator: int | None) -> str:
    def shown(v: int | None) -> str:
        return "–" if v is None else str(v)

    return f"{shown(numerator)} / {shown(denominator)}"


def _render(table: IndicatorTable, *, all_periods: bool) -> None:
    """Print one small table per indicator (title, target), then the provenance on stderr.

    Unless ``all_periods`` (the user chose a range with --from/--to), only the latest
    :data:`TERMINAL_PERIODS` periods are shown, with a note: a terminal is for reading, files
    (-o) carry everything.
    """
    meta = table.metadata
    console = table_console()
    catalogue = indicator_catalogue()
    ci_label = "95 % CI" if meta.level == 0.95 else f"{meta.level:.1%} CI"
    starts = table["period_start"].unique().sort()
    shown: pl.DataFrame = table
    if not all_periods and starts.len() > TERMINAL_PERIODS:
        shown = table.filter(pl.col("period_start") >= starts[-TERMINAL_PERIODS])
    for ind in meta.indicators:
        d = catalogue.get(ind)
        rows = shown.filter(pl.col("indicator_id") == ind)
        if rows.height == 0:
            continue
        target = f" · target {_fmt_pct(d.target)}" if d.target is not None else ""
        out = Table(
            title=f"[bold]{d.title_en}[/]\n[dim]{d.id} · {d.goal_area}{target}[/]",
            title_justify="left",
        )
        out.add_column("period", no_wrap=True)
        for b in meta.by:
            out.add_column(b, no_wrap=True)
        if d.kind == "duration":
            out.add_column("N", justify="right", no_wrap=True)
            for name in ("median", "p75", "p90"):
                out.add_column(f"{name} days", justify="right", no_wrap=True)
        elif d.kind == "count":
            out.add_column("count", justify="right", no_wrap=True)
        else:
            out.add_column("n / N", justify="right", no_wrap=True)
            out.add_column("value", justify="right", no_wrap=True)
            out.add_column(ci_label, justify="right", no_wrap=True)
            if d.target is not None:
                out.add_column("met", justify="center", no_wrap=True)
        out.add_column("note")
        for r in rows.iter_rows(named=True):  # the aggregated output, not the data
            notes = [
                label
                for flag, label in (
                    ("not_available", "not available"),
                    ("suppressed", "suppressed"),
                    ("provisional_time", "provisional time"),
                    ("derived", "derived"),
                )
                if r[flag]
            ]
            cells = [r["period"], *(("all" if r[b] is None else str(r[b])) for b in meta.by)]
            if r["not_available"]:
                # a code not yet in force: never a 0
                width = {"duration": 4, "count": 1}.get(d.kind, 3 + (d.target is not None))
                cells += ["not available", *([""] * (width - 1))]
            elif d.kind == "count":
                value = r["value"]
                cells.append("–" if value is None else f"{int(value):,}")
            elif d.kind == "duration":
                cells.append("–" if r["denominator"] is None else str(r["denominator"]))
                cells += [_fmt_days(r[c]) for c in ("median_days", "p75_days", "p90_days")]
            else:
                cells.append(_counts(r["numerator"], r["denominator"]))
                cells.append(_fmt_pct(r["value"]))
                cells.append(
                    f"{100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f}"
                    if r["ci_low"] is not None and r["ci_high"] is not None
                    else ""
                )
                if d.target is not None:
                    met = r["meets_target"]
                    cells.append("" if met is None else "yes" if met else "no")
            cells.append(", ".join(notes))
            out.add_row(*cells)
        console.print(out)
    if shown.height < table.height:
        periods = shown["period"].unique(maintain_order=True).to_list()
        err_console.print(
            f"[dim]showing the latest {len(periods)} of {starts.len()} periods"
            f" ({periods[0]} to {periods[-1]}); --from/--to to choose, -o FILE for all[/]",
            soft_wrap=True,
        )
    _print_provenance(table)


def _print_summary(table: IndicatorTable, lang: Lang) -> None:
    """The one-screen summary (plain text at full width when stdout is not a terminal)."""
    if out_console.is_terminal:
        for line in summary_lines(table, lang=lang, width=out_console.width):
            out_console.print(line, soft_wrap=True)
    else:
        typer.echo(plain(summary_lines(table, lang=lang, width=10_000)))
    _print_provenance(table)


def _grouped_times(labels: tuple[str, ...]) -> str:
    """Pathway-time labels (``"D11 assessment (provisional)"``) grouped by the intervals' types.

    Examples:
        >>> _grouped_times(("D12 assessment (provisional)", "D11 assessment (provisional)",
        ...                 "D11 first_evaluation (provisional)"))
        'D11 (assessment, first_evaluation), D12 (assessment)'
    """
    by_type: dict[str, list[str]] = {}
    for label in labels:
        ptype, _, rest = label.partition(" ")
        by_type.setdefault(ptype, []).append(rest.removesuffix(" (provisional)"))
    return ", ".join(f"{t} ({', '.join(v)})" for t, v in sorted(by_type.items()))


def _print_provenance(table: IndicatorTable) -> None:
    meta = table.metadata
    lines = []
    if meta.input_rows is not None:
        lines.append(
            conservation_line(
                meta.input_rows, meta.rows_usable, meta.rows_excluded, meta.duplicates_collapsed
            )
        )
    lines += [
        f"reference date {meta.reference_date or 'unknown'}; {meta.pathway_count:,} pathways"
        + (f" from {meta.input_rows:,} rows" if meta.input_rows is not None else "")
        + (f"; {meta.findings_count:,} findings" if meta.findings_count is not None else "")
        + f"; code edition {meta.code_edition}",
        f"suppression: {meta.suppression or 'off'}; recommended times: {meta.times_file}",
    ]
    if meta.provisional_times_used:
        lines.append("provisional times used: " + _grouped_times(meta.provisional_times_used))
    lines += [f"left out: {k}: {v}" for k, v in meta.not_computed.items()]
    lines += [
        f"not available before its code came into force: {k}: {v}"
        for k, v in meta.codes_not_in_force.items()
    ]
    lines += [f"rule regime: {k}: {v}" for k, v in meta.regime_limits.items()]
    if meta.treatment_start is not None:
        lines.append(f"treatment start after detox: {meta.treatment_start.split(':')[0]}")
    gaps = list(meta.types_without_time.values())
    if gaps:
        everywhere = [t for t in gaps[0] if all(t in g for g in gaps)]
        lines.append(
            "time-based indicators leave out pathway types without a recommended time"
            + (f" ({', '.join(everywhere)} everywhere)" if everywhere else "")
            + "; per indicator: see types_without_time in the metadata"
        )
    for line in lines:
        err_console.print(f"[dim]{line}[/]", soft_wrap=True)


def _definition_lines(defs: pl.DataFrame, width: int) -> list[str]:
    """The catalogue as text: a heading per goal area, each indicator wrapped at word breaks.

    Examples:
        >>> from pakkeforlop.codes import load_catalogue
        >>> lines = _definition_lines(definitions_table(load_catalogue("2024")), 80)
        >>> lines[0], lines[2]
        ('Indicator catalogue 2024.1', 'NO UNJUSTIFIED WAITING (UNNGÅ UNØDIG VENTETID)')
        >>> max(len(x) for x in lines) <= 80
        True
    """
    catalogue = indicator_catalogue()
    lines = [f"Indicator catalogue {catalogue.edition}"]
    goal = None
    wrap = functools.partial(
        textwrap.wrap, width=width, break_long_words=False, break_on_hyphens=False
    )
    for r in defs.iter_rows(named=True):  # the catalogue, not data
        if r["goal_area"] != goal:
            goal = r["goal_area"]
            area = catalogue.goal_area(str(goal))
            heading = f"{area.title_en} ({area.title_nb[0].lower()}{area.title_nb[1:]})"
            lines += ["", *wrap(heading.upper())]
        flags = [r["kind"]]
        if r["target"] is not None:
            flags.append(f"target {_fmt_pct(r['target'])}")
        if r["official"]:
            flags.append("official")
        if r["computable"] != "yes":
            flags.append(r["computable"])
        lines += ["", *wrap(f"{r['id']}: {r['title_en']} ({'; '.join(flags)})")]
        text = (
            f"Period by {r['anchor']}. Units: {r['denominator']}"
            + (f"; excluding {r['exclusions']}" if r["exclusions"] else "")
            + f". Counted: {r['numerator']}. Source: {r['source']}."
        )
        lines += wrap(text, initial_indent="    ", subsequent_indent="    ")
    lines += ["", "pakkeforlop indicators --list -o FILE.md writes the definitions as Markdown."]
    return lines


def _print_list(edition: str, extension: Path | None, output: Path | None, fmt: str | None) -> None:
    cat = load_catalogue(edition, extension=extension)
    defs = definitions_table(cat)
    if output is not None and output.suffix.lower() == ".md":
        text = definitions_document(cat)
        write_atomic(output, lambda path: path.write_text(text, encoding="utf-8"))
        err_console.print(f"{defs.height} indicator definitions written to {output} (Markdown)")
        return
    if output is not None:
        write_table(defs, output, fmt)
        err_console.print(f"{defs.height} indicator definitions written to {output}")
        return
    width = out_console.width if out_console.is_terminal else 100
    typer.echo("\n".join(_definition_lines(defs, width)))


def _write(table: IndicatorTable, output: Path, fmt: str | None, lang: Lang) -> None:
    kind = (fmt or output.suffix.lstrip(".") or "csv").lower()
    meta = table.metadata.model_dump_json(indent=1)
    try:
        if kind == "parquet":
            write_atomic(output, lambda p: table.write_parquet(p, metadata={"pakkeforlop": meta}))
        elif kind == "xlsx":
            # the provenance is the workbook's About sheet
            write_workbook(table, output, lang=lang)
        else:
            write_table(table, output, kind)
            sidecar = output.with_name(output.name + ".metadata.json")
            write_atomic(sidecar, lambda p: p.write_text(meta + "\n", encoding="utf-8"))
    except ModuleNotFoundError as exc:
        package = exc.name or ("xlsxwriter" if kind == "xlsx" else "a missing")
        hint = f"pip install 'pakkeforlop[{kind}]'"
        raise fail(f"{kind} output needs the {package} package ({hint})") from None


@guarded
def indicators_command(
    extract: OptionalExtractArgument = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the table here (format from --format or the suffix); the provenance goes"
            " into the Parquet file, the xlsx workbook's About sheet or, for csv and json,"
            " FILE.metadata.json.",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="Output format (default: from the -o suffix, else csv)."),
    ] = None,
    period: Annotated[
        PeriodKind, typer.Option(help="Reporting period: tertial = Jan–Apr, May–Aug, Sep–Dec.")
    ] = PeriodKind.tertial,
    by: Annotated[
        str | None,
        typer.Option(
            metavar="DIMS",
            help="Comma-separated strata: " + ", ".join(STRATUM_COLUMNS) + "; '' for none."
            " Default pathway_type. On the terminal, --by shows the full tables.",
            show_default=False,
        ),
    ] = None,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="On the terminal, print every indicator's table by period and stratum instead"
            " of the one-screen summary.",
        ),
    ] = False,
    lang: Annotated[
        Language,
        typer.Option(
            "--lang",
            help="Labels and number formats of the one-screen summary and of the xlsx workbook"
            " (the --detail tables and the provenance lines stay in English).",
        ),
    ] = Language.en,
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="First anchor date: YYYY-MM-DD or a period (2023, 2023-T1).",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="DATE", help="Last anchor date: YYYY-MM-DD or a period (its last day)."
        ),
    ] = None,
    indicator: Annotated[
        list[str] | None,
        typer.Option(
            "--indicator", metavar="ID", help="Only this indicator (repeat, or comma-separate)."
        ),
    ] = None,
    times: Annotated[
        Path | None,
        typer.Option(help="Your own recommended pathway times (TOML, same layout as shipped)."),
    ] = None,
    no_suppress: Annotated[
        bool,
        typer.Option("--no-suppress", help="Show small cells (only inside a secure environment)."),
    ] = False,
    policy: Annotated[
        Policy,
        typer.Option(help="Suppression policy: nki (denominator < 5 or numerator 1–4), npr."),
    ] = Policy.nki,
    list_: Annotated[
        bool, typer.Option("--list", help="Print every indicator definition and exit.")
    ] = False,
    as_of: AsOfOption = None,
    revised_rule_from: Annotated[
        str | None,
        typer.Option(
            "--revised-rule-from",
            metavar="DATE",
            help="The day the revised start rule took effect (a pathway starts when the right to"
            " care is granted): rejected_referrals and first_attendance_in_time are not"
            " available from then. Default 2025-01-01 [UNSURE].",
            show_default=False,
        ),
    ] = None,
    columns: ColumnsOption = None,
    edition: EditionOption = DEFAULT_EDITION,
    extension: ExtensionOption = None,
    treatment_start: TreatmentStartOption = None,
    partitions: PartitionsOption = None,
) -> None:
    """Compute the quality indicators of all five goal areas from an extract.

    One row per indicator, period and stratum, plus an overall row per indicator and period;
    counts, value, Wilson interval, target, suppression and, for durations, median / p75 / p90
    days. Without -o a readable table is printed; provenance (reference date, times file,
    provisional times used) goes to stderr.

    With --partitions N the extract is written to N Parquet files by a hash of the patient id
    (every pathway lives inside one patient), each is turned into pathways and counts on its
    own, and the counts are added up: the same table, with memory for about one partition.
    Extracts over 12 million registrations are partitioned this way by default.

    Examples:
      pakkeforlop indicators extract.parquet
      pakkeforlop indicators extract.parquet --period year --by health_region -o out.csv
      pakkeforlop indicators extract.parquet --partitions 8 -o out.csv
      pakkeforlop indicators --list
    """
    fmt_name = fmt.value if fmt is not None else None
    if list_:
        _print_list(edition, extension, output, fmt_name)
        return
    if extract is None:
        raise fail("missing EXTRACT: give the extract file (or --list for the definitions)")
    if output is not None:
        check_writable(output)  # before any work
    if output is None and fmt_name in ("parquet", "xlsx"):
        raise fail(f"--format {fmt_name} needs -o FILE")
    settings = checked(
        IndicatorSettings,
        period=period.value,
        by=DEFAULT_BY if by is None else by,
        start=date_from,
        end=date_to,
        indicators=_split(indicator),
        times=times,
        suppress=not no_suppress,
        policy=policy.value,
        revised_rule_from=revised_rule_from,
    )
    read = read_settings(
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
    )
    table = run_indicators(
        extract,
        read,
        settings,
        partitions=partitions_choice(partitions),
        progress=Progress(),
    )
    if table.height == 0 and (date_from or date_to):
        err_console.print(
            f"no unit of the chosen indicators is anchored from {date_from or 'the start'} to"
            f" {date_to or 'the end'}: the table is empty (the reference date is"
            f" {table.metadata.reference_date})",
            soft_wrap=True,
        )
    if output is not None:
        _write(table, output, fmt_name, lang.value)
        err_console.print(
            f"{table.height} rows ({len(table.metadata.indicators)} indicators) written to"
            f" {output}",
            soft_wrap=True,
        )
        _print_provenance(table)
    elif fmt_name == "csv":
        typer.echo(table.write_csv(), nl=False)
        _print_provenance(table)
    elif fmt_name == "json":
        typer.echo(json.dumps(table.to_dicts(), default=str, ensure_ascii=False, indent=1))
        _print_provenance(table)
    elif detail or by is not None or date_from is not None or date_to is not None:
        _render(table, all_periods=date_from is not None or date_to is not None)
    else:
        _print_summary(table, lang.value)
