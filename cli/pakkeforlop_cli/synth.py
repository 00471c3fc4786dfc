"""``pakkeforlop synth``: write a synthetic registry extract (with optional injected errors)."""

from __future__ import annotations

import datetime as dt
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pakkeforlop.codes import DEFAULT_EDITION
from pakkeforlop.files import check_writable
from pakkeforlop.synth import DEFAULT_CHUNK, write_synthetic

from .common import err_console, fail, guarded, stdout_is_terminal


class LayoutChoice(StrEnum):
    """Layouts of the code columns."""

    COMBINED = "combined"
    SPLIT = "split"


class FormatChoice(StrEnum):
    """Output file formats."""

    PARQUET = "parquet"
    CSV = "csv"


class DialectChoice(StrEnum):
    """Column names and codings."""

    CANONICAL = "canonical"
    NPR = "npr"


def _date(text: str | dt.date) -> dt.date:
    """``--start``/``--end``: an ISO date (a date, shown and parsed as one)."""
    if isinstance(text, dt.date):  # the default
        return text
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        msg = f"{text!r} is not a date; expected yyyy-mm-dd"
        raise typer.BadParameter(msg) from None


@guarded
def synth_command(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The extract to write (.parquet or .csv).")
    ],
    pathways: Annotated[
        int, typer.Option("--pathways", help="Pathway instances to draw (about 7 rows each).")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed: the same arguments give the same bytes.")] = 0,
    layout: Annotated[
        LayoutChoice,
        typer.Option(help="combined: one code column (D11CU); split: type, event, outcome."),
    ] = LayoutChoice.COMBINED,
    fmt: Annotated[
        FormatChoice | None,
        typer.Option("--format", help="File format (default: from the suffix, else parquet)."),
    ] = None,
    dialect: Annotated[
        DialectChoice,
        typer.Option(
            help="canonical: canonical names; npr: register names and codings, and for CSV"
            " ';', dd.mm.yyyy and Windows-1252."
        ),
    ] = DialectChoice.CANONICAL,
    errors: Annotated[
        float,
        typer.Option(
            "--errors",
            help="Inject registration errors at this rate per row (0-0.5); the ground truth goes"
            " to <output stem>.errors.csv.",
        ),
    ] = 0.0,
    start: Annotated[
        dt.date,
        typer.Option(
            parser=_date,
            metavar="DATE",
            help="Earliest start date, yyyy-mm-dd (default 2019-01-01).",
            show_default=False,
        ),
    ] = dt.date(2019, 1, 1),
    end: Annotated[
        dt.date,
        typer.Option(
            parser=_date,
            metavar="DATE",
            help="End of the extract, yyyy-mm-dd (default 2024-12-31).",
            show_default=False,
        ),
    ] = dt.date(2024, 12, 31),
    edition: Annotated[
        str, typer.Option(help="Code catalogue edition whose codes are used: 2019 or 2024.")
    ] = DEFAULT_EDITION,
    strata: Annotated[
        bool,
        typer.Option(
            help="Write the treating and residence trust and region columns (they follow from"
            " institution and municipality; --no-strata gives a leaner, register-like file)."
        ),
    ] = True,
    truth: Annotated[
        Path | None,
        typer.Option(help="Also write the true pathway table (Parquet) for testing timelines."),
    ] = None,
    chunk: Annotated[
        int,
        typer.Option(help="Pathways per chunk (memory; part of the random design).", hidden=True),
    ] = DEFAULT_CHUNK,
) -> None:
    """Write a synthetic extract that looks like a real one.

    Realistic mix of pathway types, regions, health trusts, institutions and municipalities,
    ages, care levels, weekdays and unit practice, calibrated to the published national figures;
    every event and end reason of the catalogue occurs. Streams in chunks, so very large extracts
    fit in bounded memory.

    Examples:
      pakkeforlop synth --pathways 2000 --seed 2019 -o extract.parquet

      pakkeforlop synth --pathways 50000 --dialect npr --layout split -o npr.csv --errors 0.02
    """
    if output.suffix.lower() not in (".parquet", ".csv") and fmt is None:
        raise fail(f"unknown output type {output.suffix!r}; use .parquet or .csv, or give --format")
    check_writable(output)  # before any work
    began = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} pathways"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not stdout_is_terminal(),
    ) as bar:
        task = bar.add_task("synth", total=pathways)
        summary = write_synthetic(
            output,
            pathways,
            seed=seed,
            layout=layout.value,
            fmt=fmt.value if fmt else None,
            dialect=dialect.value,
            error_rate=errors,
            start=start,
            end=end,
            edition=edition,
            chunk_pathways=chunk,
            strata=strata,
            truth_path=truth,
            progress=lambda _rows, drawn: bar.update(task, completed=drawn),
        )
    seconds = time.perf_counter() - began
    rate = summary.rows / seconds if seconds > 0 else 0.0
    err_console.print(
        f"wrote {summary.rows:,} registrations of {summary.pathways:,} pathways to {summary.path}"
        f" in {seconds:.1f} s ({rate:,.0f} rows/s)",
        soft_wrap=True,
    )
    if summary.errors_path is not None:
        err_console.print(
            f"injected {summary.errors:,} errors, listed in {summary.errors_path}", soft_wrap=True
        )
    if truth is not None:
        err_console.print(f"true pathway table in {truth}", soft_wrap=True)
