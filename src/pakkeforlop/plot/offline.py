"""Charts that draw in a notebook with no network: the Vega scripts inline in every output.

altair's default renderer loads Vega, Vega-Lite and vega-embed from a CDN, so in a closed
health-trust network a notebook chart draws nothing. Importing :mod:`pakkeforlop.plot` switches
altair to its HTML renderer with the ``inline`` template (the scripts come from the
vl-convert-python bundle installed with the ``report`` extra), unless the user has chosen a
renderer of their own. Each chart output then carries the scripts (about 0.9 MB), which
Jupyter, JupyterLab and VS Code run without fetching anything.
"""

from __future__ import annotations

import altair as alt
from altair.utils.display import HTMLRenderer

__all__ = ["OFFLINE_RENDERER", "use_offline_renderer"]

#: The name under which the offline renderer is registered with altair.
OFFLINE_RENDERER = "pakkeforlop-offline"


def _register() -> None:
    # altair's own HTML renderer, with the template that inlines the scripts
    renderer = HTMLRenderer(
        mode="vega-lite",
        template="inline",
        vega_version=alt.VEGA_VERSION,
        vegaembed_version=alt.VEGAEMBED_VERSION,
        vegalite_version=alt.VEGALITE_VERSION,
    )
    alt.renderers.register(OFFLINE_RENDERER, renderer)


def use_offline_renderer(*, force: bool = False) -> bool:
    """Draw notebook charts with inline scripts (no network).

    Args:
        force: Switch even when another renderer than altair's default is active.

    Returns:
        Whether the offline renderer is now active.

    Examples:
        >>> use_offline_renderer(force=True)
        True
        >>> import altair as alt
        >>> alt.renderers.active
        'pakkeforlop-offline'
    """
    if OFFLINE_RENDERER not in alt.renderers.names():
        _register()
    if force or alt.renderers.active in ("default", OFFLINE_RENDERER):
        alt.renderers.enable(OFFLINE_RENDERER)
        return True
    return False
