"""``pakkeforlop timeline``: the pathway table, or one patient's timeline for debugging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from pakkeforlop.codes import DEFAULT_EDITION
from pakkeforlop.files import check_writable
from pakkeforlop.pipeline import prepare

from .common import (
    AsOfOption,
    ColumnsOption,
    EditionOption,
    ExtensionOption,
    ExtractArgument,
    Progress,
    TreatmentStartOption,
    fail,
    guarded,
    print_lines,
    read_settings,
    write_table,
)

_FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json"}


@guarded
def timeline_command(
    extract: ExtractArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the pathway table here (.parquet, .csv, .json)."
        ),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient", help="Print this patient's registrations and pathways as a timeline."
        ),
    ] = None,
    columns: ColumnsOption = None,
    as_of: AsOfOption = None,
    edition: EditionOption = DEFAULT_EDITION,
    extension: ExtensionOption = None,
    treatment_start: TreatmentStartOption = None,
) -> None:
    """Reconstruct pathway instances (one row per pathway) from an extract.

    Each start (A) opens a pathway of its type at the institution, an end (X) closes it;
    registrations that fit no pathway are reported as findings. List columns (evaluation dates,
    findings) are joined with ';' in CSV.

    Examples:
      pakkeforlop timeline extract.parquet -o pathways.parquet

      pakkeforlop timeline extract.parquet --patient P000123
    """
    if output is not None:
        check_writable(output)  # before any work
    if output is None and patient is None:
        raise fail("nothing to do: give -o FILE for the pathway table or --patient ID to inspect")
    if output is not None and output.suffix.lower() not in _FORMATS:
        raise fail(f"unknown output type {output.suffix!r}; expected .parquet, .csv or .json")
    read = read_settings(
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
    )
    progress = Progress()
    prepared = prepare(extract, read, patient=patient, progress=progress)
    extract_, tl, pathways = prepared.extract, prepared.timeline, prepared.pathways
    events = extract_.events
    if patient is not None and events.height == 0:
        raise fail(f"patient {patient!r} has no registrations in {extract} that feed pathways")
    if patient is not None:
        _print_patient(
            patient,
            events,
            pathways,
            tl.assignments.collect(),
            tl.findings.collect(),
            extract_.findings,
        )
    if output is not None:
        with progress.phase(f"writing {output}"):
            # sorted for reading (the library keeps its instance order, which needs no sort)
            write_table(pathways.sort("pathway_key"), output, _FORMATS[output.suffix.lower()])
        n_find = tl.findings.select(pl.len()).collect().item()
        typer.echo(
            f"{pathways.height} pathways from {events.height} registrations written to {output}"
            f" ({n_find} timeline findings, {extract_.findings.height} read findings);"
            f" {extract_.info.conservation()}",
            err=True,
        )


def _print_patient(
    patient: str,
    events: pl.DataFrame,
    pathways: pl.DataFrame,
    assignments: pl.DataFrame,
    findings: pl.DataFrame,
    read_findings: pl.DataFrame,
) -> None:
    all_findings = pl.concat([read_findings, findings]).filter(pl.col("patient_id") == patient)
    per_row = all_findings.group_by("source_file", "source_row").agg(
        pl.col("rule_id").str.join(", ").alias("findings")
    )
    rows = (
        events.join(assignments.drop("patient_id"), on=["source_file", "source_row"], how="left")
        .join(per_row, on=["source_file", "source_row"], how="left")
        .sort("event_date", "institution_id", "event")
    )
    print_lines(
        f"Registrations of patient {patient}",
        ["date", "institution", "code", "row", "pathway", "fate", "findings"],
        [
            (
                r["event_date"],
                r["institution_id"],
                r["code"] or f"{r['pathway_type'] or ''}{r['event']}{r['outcome'] or ''}",
                r["source_row"],
                r["pathway_key"],
                r["assignment"],
                r["findings"],
            )
            for r in rows.iter_rows(named=True)  # one patient's registrations
        ],
    )
    cols = [
        "pathway_key",
        "status",
        "start_date",
        "first_attendance_date",
        "final_decision_date",
        "final_decision_outcome",
        "evaluation_count",
        "end_date",
        "end_reason",
        "findings",
    ]
    typer.echo("")
    print_lines(
        f"Pathways of patient {patient}", cols, pathways.sort("pathway_key").select(cols).rows()
    )
