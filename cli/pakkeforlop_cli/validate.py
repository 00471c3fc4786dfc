"""``pakkeforlop validate``: not built yet."""

from __future__ import annotations

import typer


def validate_command() -> None:
    """Not built yet."""
    raise typer.Exit(2)
