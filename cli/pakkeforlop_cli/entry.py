"""The ``pakkeforlop`` console script: the app, with Ctrl-C handled even while it starts."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

#: Exit code after Ctrl-C (128 + SIGINT), as in :mod:`pakkeforlop_cli.common`.
_INTERRUPTED = 130


def run() -> None:
    """Import and run the command line; an interrupt at any moment is ``interrupted``, 130."""
    try:
        from pakkeforlop_cli.main import app  # noqa: PLC0415 - imports are part of the run

        app(prog_name="pakkeforlop")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        _leave(_INTERRUPTED)
    except SystemExit as done:
        if isinstance(done.code, str):
            sys.stderr.write(done.code + "\n")
            _leave(1)
        _leave(done.code or 0)
    _leave(0)


def _leave(code: int) -> NoReturn:
    """Flush the output and end the process without tearing the interpreter down.

    Every output is complete by now (written to a temporary name and renamed); what is left is
    freeing the frames of a large extract and the compiled timeline one by one, about a third
    of a second on 7 million registrations, which the operating system does at once.
    """
    for stream in (sys.stdout, sys.stderr):
        # a reader that closed the pipe early (``| head``) has what it wanted
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            stream.flush()
    os._exit(code)
