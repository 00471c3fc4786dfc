"""Charts of indicator tables for notebooks and the HTML report: trend lines and funnel plots.

Every function returns an altair (Vega-Lite) chart object, which a notebook displays directly:

>>> import pakkeforlop as pf
>>> from pakkeforlop import plot
>>> from pakkeforlop.synth import generate
>>> pathways = pf.build_pathways(generate(300, seed=1).events).pathways
>>> result = pf.compute_indicators(pathways, by="health_trust", period="year", suppress=False)
>>> type(plot.funnel(result, "plan_cocreated")).__name__
'LayerChart'
>>> type(plot.trend(result, ["assessment_in_time", "plan_cocreated"])).__name__
'FacetChart'

Each pathway type has one colour in every chart (:func:`pathway_type_colours`, from
``plot/data/colours.toml``). The tables behind the charts (:func:`trend_data`,
:func:`funnel_data`, :func:`funnel_curve`) are plain polars frames, so the numbers can be
checked or re-used without a renderer. Funnel limits come from
:func:`pakkeforlop.indicators.funnel_limits` (domain/indicators.md §3: 95 % and 99.8 %,
binomial, around the national value; Spiegelhalter 2005).

Charts draw in a notebook with no network: importing this package makes altair inline the Vega
scripts in each chart output (:func:`use_offline_renderer`), unless another renderer was chosen.
Needs the ``report`` extra (``pip install 'pakkeforlop[report]'``) for altair.
"""

from __future__ import annotations

try:
    import altair as _altair  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    msg = "pakkeforlop.plot needs altair: pip install 'pakkeforlop[report]'"
    raise ImportError(msg) from exc

from pakkeforlop.plot.charts import funnel, trend
from pakkeforlop.plot.colours import group_colours, pathway_type_colours
from pakkeforlop.plot.data import (
    FUNNEL_LEVELS,
    FunnelData,
    funnel_curve,
    funnel_data,
    stratum_columns,
    trend_data,
)
from pakkeforlop.plot.labels import LANGS, Lang, check_lang, goal_title, indicator_title, labels
from pakkeforlop.plot.offline import use_offline_renderer

# notebook charts draw without a network unless the user chose a renderer (plot/offline.py)
use_offline_renderer()

__all__ = [
    "FUNNEL_LEVELS",
    "LANGS",
    "FunnelData",
    "Lang",
    "check_lang",
    "funnel",
    "funnel_curve",
    "funnel_data",
    "goal_title",
    "group_colours",
    "indicator_title",
    "labels",
    "pathway_type_colours",
    "stratum_columns",
    "trend",
    "trend_data",
    "use_offline_renderer",
]
