"""``pakkeforlop warm-up``: compile the timeline pass ahead of the first run."""

from __future__ import annotations

import typer

from pakkeforlop.timeline import compiled

from .common import fail, guarded


@guarded
def warm_up_command() -> None:
    """Compile the timeline's fast pass now (once after installing; later runs load it).

    The first run after installing compiles the pass that rebuilds pathways (numba, a few
    seconds) and caches the machine code; every later run loads it in a fraction of a second.
    Run this after installing (for example when building an image for a closed network) so that
    no analysis pays the compile. The cache is next to the package when that is writable,
    otherwise in the user's cache folder; NUMBA_CACHE_DIR chooses another place.

    Examples:
      pakkeforlop warm-up

      NUMBA_CACHE_DIR=/opt/cache/numba pakkeforlop warm-up
    """
    if not compiled.available():
        raise fail(
            f"the compiled timeline is switched off ({compiled.ENV_SWITCH}=0) or numba cannot be"
            " imported; pathways are built by the general path"
        )
    done = compiled.warm_up()
    what = "compiled" if done.compiled else "loaded"
    where = f"; cache: {done.cache}" if done.cache else ""
    typer.echo(f"timeline pass {what} in {done.seconds:.1f} s{where}")
