"""The ``pakkeforlop`` console script: the app, with Ctrl-C handled even while it starts."""

from __future__ import annotations

import sys

#: Exit code after Ctrl-C (128 + SIGINT), as in :mod:`pakkeforlop_cli.common`.
_INTERRUPTED = 130


def run() -> None:
    """Import and run the command line; an interrupt at any moment is ``interrupted``, 130."""
    try:
        from pakkeforlop_cli.main import app  # noqa: PLC0415 - imports are part of the run

        app(prog_name="pakkeforlop")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(_INTERRUPTED)
