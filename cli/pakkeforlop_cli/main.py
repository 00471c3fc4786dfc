"""The ``pakkeforlop`` command line: a thin Typer wrapper over the library.

Exit codes: 0 success; 1 findings at or above ``--fail-on`` (``validate``); 2 unreadable input,
unwritable output or wrong arguments; 3 an internal error (a bug); 130 interrupted.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Annotated

import typer

from pakkeforlop import __version__

from . import codes, indicators, report, synth, timeline, validate, warmup
from .common import DEBUG_ENV

app = typer.Typer(
    name="pakkeforlop",
    help=(
        "Quality indicators from registry extracts of Norway's mental-health and substance-use"
        " care pathways (pakkeforløp / nasjonale pasientforløp for psykisk helse og rus).\n\n"
        "Typical run: pakkeforlop indicators extract.parquet\n\n"
        "Exit codes: 0 success; 1 findings at or above --fail-on (validate); 2 unreadable input,"
        " unwritable output or wrong arguments; 3 an internal error (a bug: --debug shows the"
        " traceback); 130 interrupted (no partial output is left)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends a run like Ctrl-C: outputs in progress are removed, "interrupted", exit 130
    raise KeyboardInterrupt


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pakkeforlop {__version__}")
        raise typer.Exit


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help=f"Show the traceback of an internal error (also {DEBUG_ENV}=1)."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options for every command (the help text is the app's, above)."""
    if debug:
        os.environ[DEBUG_ENV] = "1"
    signal.signal(signal.SIGTERM, _terminate)


app.command("indicators")(indicators.indicators_command)
app.command("validate")(validate.validate_command)
app.command("timeline")(timeline.timeline_command)
app.command("report")(report.report_command)
app.command("synth")(synth.synth_command)
app.command("codes")(codes.codes_command)
app.command("warm-up")(warmup.warm_up_command)
