"""``pakkeforlop timeline``: not built yet."""

from __future__ import annotations

import typer


def timeline_command() -> None:
    """Not built yet."""
    raise typer.Exit(2)
