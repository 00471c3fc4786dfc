"""``pakkeforlop indicators``: not built yet."""

from __future__ import annotations

import typer


def indicators_command() -> None:
    """Not built yet."""
    raise typer.Exit(2)
