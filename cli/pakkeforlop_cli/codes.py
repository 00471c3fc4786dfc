"""``pakkeforlop codes``: print the code catalogue."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from pakkeforlop.codes import DEFAULT_EDITION, load_catalogue

from .common import fail, guarded, print_lines


class TableFormat(StrEnum):
    """Output formats of ``codes``."""

    table = "table"
    csv = "csv"
    json = "json"


@guarded
def codes_command(
    edition: Annotated[
        str, typer.Option(help="Catalogue edition: 2019 (2020 code lists) or 2024.")
    ] = DEFAULT_EDITION,
    pathway_type: Annotated[
        str | None,
        typer.Option("--type", help="Only codes a pathway type may use, e.g. D11."),
    ] = None,
    combined: Annotated[
        bool,
        typer.Option("--combined", help="One row per valid combined code (kodeverk 9327)."),
    ] = False,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="Output format.")
    ] = TableFormat.table,
    extension: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of local codes to add (see sample_data/catalogue_extension.toml)."
        ),
    ] = None,
) -> None:
    """Print the pathway code catalogue (kodeverk 9321–9328).

    Every code carries its source tag: KV (national code lists), KVL (coding guide), DERIVED (our
    reading), UNSURE (unconfirmed), local (your extension).

    Examples:
      pakkeforlop codes --type D01

      pakkeforlop codes --combined --edition 2024 --format csv > combined.csv
    """
    cat = load_catalogue(edition, extension=extension)
    if pathway_type is not None and pathway_type.upper() not in cat.pathway_types:
        raise fail(
            f"unknown pathway type {pathway_type!r}; expected one of {', '.join(cat.pathway_types)}"
        )
    ptype = pathway_type.upper() if pathway_type else None
    if combined:
        df = cat.combined_table.filter(pl.col("listed"))
        if ptype:
            df = df.filter(pl.col("pathway_type") == ptype)
        df = df.with_columns(pl.col(pl.Enum).cast(pl.String))
        title = f"Combined codes (9327), edition {cat.edition}: {df.height}"
    else:
        df = pl.DataFrame(
            [
                {
                    "system": c.system,
                    "code": c.code,
                    "nb": c.nb,
                    "en": c.en,
                    "types": ", ".join(c.types) if c.types else "all",
                    "valid_from": c.valid_from,
                    "source": c.source,
                    "listed": c.listed,
                    "note": c.note,
                }
                for c in cat.codes
                if ptype is None or c.allows(ptype)
            ],
            schema_overrides={"valid_from": pl.Date},
        )
        title = f"Code catalogue, edition {cat.edition} ({cat.title})"
    if fmt is TableFormat.csv:
        typer.echo(df.write_csv(), nl=False)
    elif fmt is TableFormat.json:
        typer.echo(json.dumps(df.to_dicts(), default=str, ensure_ascii=False, indent=1))
    else:
        # the code first: it heads each record when the table is too wide for the terminal
        shown = df.select("code", pl.exclude("code")) if "code" in df.columns else df
        print_lines(title, shown.columns, shown.rows())
