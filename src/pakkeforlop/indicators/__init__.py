"""The indicator engine: declarative definitions, compiled to polars, run per period and stratum.

See domain/indicators.md. The catalogue of indicators (``data/indicators.toml``), the recommended
pathway times (``data/pathway_times_2019.toml``) and the suppression policies
(``data/suppression.toml``) are data; :func:`compute_indicators` runs any selection of the
indicators in one lazy plan and returns the long table of §4 with its provenance in
``.metadata``; :func:`compare_areas` compares areas of residence against funnel limits.
:func:`compute_partials` and :func:`combine_partials` split that computation over parts of an
extract (whole patients each) and add the parts up exactly.
"""

from __future__ import annotations

from pakkeforlop.indicators.definitions import (
    IndicatorCatalogue,
    computability,
    definition,
    definitions_document,
    definitions_markdown,
    definitions_table,
    indicator_catalogue,
)
from pakkeforlop.indicators.engine import (
    OUTPUT_COLUMNS,
    IndicatorTable,
    combine_partials,
    compute_indicators,
    compute_partials,
)
from pakkeforlop.indicators.equity import AreaComparison, AreaVariation, compare_areas
from pakkeforlop.indicators.models import (
    GoalArea,
    IndicatorDefinition,
    IndicatorMetadata,
    PathwayTime,
    SuppressionPolicy,
)
from pakkeforlop.indicators.settings import IndicatorSettings, parse_by
from pakkeforlop.indicators.stats import funnel_limits, wilson_exprs, wilson_interval
from pakkeforlop.indicators.summary import HEADLINE_SCHEMA, headline
from pakkeforlop.indicators.suppression import (
    apply_suppression,
    suppression_policies,
    suppression_policy,
)
from pakkeforlop.indicators.times import PathwayTimes, load_pathway_times

__all__ = [
    "HEADLINE_SCHEMA",
    "OUTPUT_COLUMNS",
    "AreaComparison",
    "AreaVariation",
    "GoalArea",
    "IndicatorCatalogue",
    "IndicatorDefinition",
    "IndicatorMetadata",
    "IndicatorSettings",
    "IndicatorTable",
    "PathwayTime",
    "PathwayTimes",
    "SuppressionPolicy",
    "apply_suppression",
    "combine_partials",
    "compare_areas",
    "computability",
    "compute_indicators",
    "compute_partials",
    "definition",
    "definitions_document",
    "definitions_markdown",
    "definitions_table",
    "funnel_limits",
    "headline",
    "indicator_catalogue",
    "load_pathway_times",
    "parse_by",
    "suppression_policies",
    "suppression_policy",
    "wilson_exprs",
    "wilson_interval",
]
