"""The ``pakkeforlop`` command line: a thin Typer wrapper over the library.

Exit codes: 0 success; 1 findings at or above ``--fail-on`` (``validate``); 2 unreadable input or
wrong arguments.
"""

from __future__ import annotations

import typer

from . import codes, indicators, report, synth, timeline, validate

app = typer.Typer(
    name="pakkeforlop",
    help=(
        "Quality indicators from registry extracts of Norway's mental-health and substance-use"
        " care pathways (pakkeforløp / nasjonale pasientforløp for psykisk helse og rus).\n\n"
        "Typical run: pakkeforlop indicators extract.parquet\n\n"
        "Exit codes: 0 success; 1 findings at or above --fail-on (validate); 2 unreadable input"
        " or wrong arguments."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("indicators")(indicators.indicators_command)
app.command("validate")(validate.validate_command)
app.command("timeline")(timeline.timeline_command)
app.command("report")(report.report_command)
app.command("synth")(synth.synth_command)
app.command("codes")(codes.codes_command)
