"""``pakkeforlop synth``: not built yet."""

from __future__ import annotations

import typer


def synth_command() -> None:
    """Not built yet."""
    raise typer.Exit(2)
