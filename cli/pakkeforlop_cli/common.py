"""Shared CLI plumbing: turning library errors into one line and exit code 2, writing tables."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import click
import polars as pl
import typer
from rich.console import Console
from rich.markup import escape

from pakkeforlop.errors import ConfigurationError, PakkeforlopError, checked
from pakkeforlop.files import atomic_output
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.partition import MAX_PARTITIONS, MAX_ROWS_IN_ONE_PIECE, ROWS_PER_PARTITION
from pakkeforlop.periods import parse_date_or_period
from pakkeforlop.pipeline import Partitions
from pakkeforlop.timeline.rules import treatment_start_rules

from .layout import lines_for

P = ParamSpec("P")
R = TypeVar("R")

#: Exit code for unreadable input or wrong arguments (documented in README and --help).
EXIT_USAGE = 2
#: Exit code for a bug in pakkeforlop itself (the traceback with --debug or PAKKEFORLOP_DEBUG=1).
EXIT_INTERNAL = 3
#: Exit code after Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

#: Set by ``--debug`` (or the environment variable ``PAKKEFORLOP_DEBUG=1``): show tracebacks.
DEBUG_ENV = "PAKKEFORLOP_DEBUG"

#: The extract argument of every command that reads one (one name, one help text).
EXTRACT_HELP = "The extract: a Parquet, CSV or Arrow file, a folder of them, or a glob."
ExtractArgument = Annotated[
    Path, typer.Argument(metavar="EXTRACT", help=EXTRACT_HELP, show_default=False)
]
OptionalExtractArgument = Annotated[
    Path | None, typer.Argument(metavar="EXTRACT", help=EXTRACT_HELP, show_default=False)
]

# Options every command that reads an extract shares (one definition, one help text).
ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="Column mapping TOML for names the built-in aliases miss."),
]
EditionOption = Annotated[
    str, typer.Option("--edition", help="Code catalogue edition: 2019 or 2024.")
]
ExtensionOption = Annotated[
    Path | None,
    typer.Option(
        "--extension",
        help="Catalogue extension TOML with local codes"
        " (see sample_data/catalogue_extension.toml).",
    ),
]


TreatmentStartOption = Annotated[
    str | None,
    typer.Option(
        "--treatment-start",
        metavar="RULE",
        help="Named rule deriving the treatment start after detox, which no code registers: "
        + "; ".join(f"{r.id}: {r.title_en}" for r in treatment_start_rules().values())
        + ". Default: the first. Shown in the metadata.",
        show_default=False,
    ),
]


def read_settings(
    *,
    columns: Path | None,
    as_of: dt.date | None,
    edition: str,
    extension: Path | None,
    treatment_start: str | None = None,
) -> ReadSettings:
    """The read settings of the shared options (one construction for every command)."""
    return checked(
        ReadSettings,
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
    )


def parse_as_of(text: str) -> dt.date:
    """``--as-of``: a date, or a period label standing for its last day (one parser for all).

    Raises:
        typer.BadParameter: Naming the value and what is expected (exit code 2).
    """
    try:
        return parse_date_or_period(text, end=True)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None


AsOfOption = Annotated[
    dt.date | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        parser=parse_as_of,
        help="The extract as it stood on DATE (YYYY-MM-DD, or a period such as 2024-T2 for its"
        " last day): later registrations are left out (and reported by validate), pathways"
        " open on DATE stay open, no later period is produced. Default: the latest date of a"
        " usable registration.",
        show_default=False,
    ),
]

# How many patient partitions: "auto" unless given (the pipeline decides by the extract's size).
PartitionsOption = Annotated[
    int | None,
    typer.Option(
        "--partitions",
        metavar="N",
        min=1,
        max=MAX_PARTITIONS,
        help="Process the extract in N patient partitions on disk, one at a time: the same"
        " output with memory for about one partition (docs/distributed.md). Default: one"
        f" partition per {ROWS_PER_PARTITION:,} registrations when the extract has more than"
        f" {MAX_ROWS_IN_ONE_PIECE:,}.",
        show_default=False,
    ),
]


def partitions_choice(partitions: int | None) -> Partitions:
    """``--partitions N`` for the pipeline: the number given, else ``"auto"``."""
    return "auto" if partitions is None else partitions


err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def table_console() -> Console:
    """Where tables are printed: the terminal, or in a pipe a console wide enough for any row.

    A pipe has no width; rich would assume 80 columns and cut or fold numbers, so there the
    tables get their natural width (a file or ``less -S`` reads them whole).
    """
    if out_console.is_terminal:
        return out_console
    return Console(highlight=False, width=10_000, no_color=True)


def debugging() -> bool:
    """Whether tracebacks are wanted (``--debug`` or ``PAKKEFORLOP_DEBUG=1``)."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _error_line(message: str) -> None:
    # one line, whatever the message holds (a value quoted from a file may hold a newline)
    text = " ".join(message.split())
    err_console.print(f"[bold red]error:[/] {escape(text)}", soft_wrap=True)


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left of standard output nowhere (no error at exit)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _os_error_line(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{(exc.strerror or str(exc)).lower()}"


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command body so that every failure ends in one clear line and a documented code.

    * a user mistake (:class:`~pakkeforlop.errors.PakkeforlopError`, an unreadable file):
      one line on stderr, exit code 2;
    * Ctrl-C or SIGTERM: ``interrupted``, exit code 130 (outputs are written atomically, so no
      partial file is left);
    * a closed pipe (``| head``): exit 0, quietly;
    * anything else is a bug: one line saying so, exit code 3; the traceback with ``--debug``.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except PakkeforlopError as exc:
            _error_line(str(exc))
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:
            _error_line(_os_error_line(exc))
            raise typer.Exit(EXIT_USAGE) from None
        except (Exception, pl.exceptions.PanicException) as exc:
            if debugging():
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            _error_line(
                f"internal error ({type(exc).__name__}: {first}); this is a bug in pakkeforlop,"
                f" please report it; --debug (or {DEBUG_ENV}=1) shows the traceback"
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def fail(message: str) -> typer.Exit:
    """Print a one-line usage error and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def write_table(df: pl.DataFrame, path: Path, fmt: str | None = None) -> None:
    """Write a table as CSV, Parquet, JSON (records) or XLSX, by ``fmt`` or the file suffix.

    Atomically (:func:`pakkeforlop.files.atomic_output`); xlsx with a fixed creation date, so two
    runs write the same bytes.
    """
    kind = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if kind not in ("csv", "parquet", "json", "xlsx"):
        raise fail(f"unknown output format {kind!r}; expected csv, parquet, json or xlsx")
    if kind in ("csv", "xlsx"):
        # flat formats: list columns (evaluation dates, findings) become ';'-joined text
        df = df.with_columns(
            pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(";")
            for name, dtype in df.schema.items()
            if isinstance(dtype, pl.List)
        )
    with atomic_output(path) as temp:
        if kind == "csv":
            df.write_csv(temp)
        elif kind == "parquet":
            df.write_parquet(temp)
        elif kind == "json":
            df.write_json(temp)
        else:
            _write_xlsx(df, temp)


#: The creation date written into workbooks: fixed, so that outputs are reproducible.
_WORKBOOK_DATE = dt.datetime(2019, 1, 1)


def _write_xlsx(df: pl.DataFrame, path: Path) -> None:
    import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415 - the xlsx extra

    with xlsxwriter.Workbook(str(path)) as workbook:
        workbook.set_properties({"created": _WORKBOOK_DATE})
        df.write_excel(workbook)


def print_lines(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a table that never cuts a value (:func:`pakkeforlop_cli.layout.lines_for`)."""
    width = out_console.width if out_console.is_terminal else None
    typer.echo("\n".join(lines_for(title, columns, rows, width)))


def stdout_is_terminal() -> bool:
    """Whether standard output is an interactive terminal (progress and colour only then)."""
    return sys.stdout.isatty()


class Progress:
    """Phases and elapsed time of a long run on stderr — only when stderr is a terminal.

    Use ``with progress.phase("reading extract"):`` around each stage; ``progress.note(...)``
    adds a line (e.g. rows read). In pipes, files and CI logs it prints nothing.
    """

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = err_console.is_terminal if enabled is None else enabled
        self._start = time.perf_counter()

    def _elapsed(self) -> str:
        return f"{time.perf_counter() - self._start:6.1f} s"

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Show ``name`` with a spinner while the block runs, then a done line."""
        if not self.enabled:
            yield
            return
        with err_console.status(f"{name} ..."):
            yield
        err_console.print(f"[dim]{self._elapsed()}[/]  {escape(name)}")

    def note(self, text: str) -> None:
        """A line of detail under the current phase."""
        if self.enabled:
            err_console.print(f"[dim]{self._elapsed()}[/]  {escape(text)}")
