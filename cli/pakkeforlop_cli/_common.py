"""Shared CLI plumbing: turning library errors into one line and exit code 2, writing tables."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape

from pakkeforlop.errors import PakkeforlopError

P = ParamSpec("P")
R = TypeVar("R")

#: Exit code for unreadable input or wrong arguments (documented in README and --help).
EXIT_USAGE = 2

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
AsOfOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Reference date of the extract (default: the latest event date).",
    ),
]


err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command body; a user mistake becomes one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PakkeforlopError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def fail(message: str) -> typer.Exit:
    """Print a one-line usage error and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def write_table(df: pl.DataFrame, path: Path, fmt: str | None = None) -> None:
    """Write a table as CSV, Parquet, JSON (records) or XLSX, by ``fmt`` or the file suffix."""
    kind = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if kind in ("csv", "xlsx"):
        # flat formats: list columns (evaluation dates, findings) become ';'-joined text
        df = df.with_columns(
            pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(";")
            for name, dtype in df.schema.items()
            if isinstance(dtype, pl.List)
        )
    if kind == "csv":
        df.write_csv(path)
    elif kind == "parquet":
        df.write_parquet(path)
    elif kind == "json":
        df.write_json(path)
    elif kind == "xlsx":
        df.write_excel(path)
    else:
        raise fail(f"unknown output format {kind!r}; expected csv, parquet, json or xlsx")


def stdout_is_terminal() -> bool:
    """Whether standard output is an interactive terminal (progress and colour only then)."""
    return sys.stdout.isatty()
