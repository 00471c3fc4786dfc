"""pakkeforlop: quality indicators from Norway's mental-health and substance-use care pathways.

Registry extracts of *pakkeforløp / nasjonale pasientforløp for psykisk helse og rus* flow one way:

1. :func:`read_extract` / :func:`scan_extract`: a file → the canonical event table + findings;
2. :func:`build_pathways`: events → one row per pathway instance (+ timeline findings);
3. :func:`compute_indicators`: pathways → the long indicator table (:func:`compare_areas`
   compares areas of residence);
4. :func:`validate`: every stage's findings gathered into one report (exit decision for CI).

:mod:`pakkeforlop.pipeline` runs the whole sequence in one place (:func:`run_indicators`,
:func:`validate`), in one piece or in patient partitions, with the settings of each concern as
one model (:class:`ReadSettings`, :class:`IndicatorSettings`, :class:`ValidationSettings`).

Each stage is a public function a notebook can call on its own. Extracts too large for one
machine's memory go part by part (:mod:`pakkeforlop.partition`: :func:`partition_extract`,
:func:`run_partition`; :func:`compute_partials` and :func:`combine_partials` add the parts up
exactly); :mod:`pakkeforlop.distributed` runs the parts on a Dask cluster.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pakkeforlop.codes import Catalogue, load_catalogue
from pakkeforlop.errors import (
    CatalogueError,
    ConfigurationError,
    ExtractError,
    MappingError,
    PakkeforlopError,
)
from pakkeforlop.findings import Rule, rules
from pakkeforlop.indicators import (
    IndicatorMetadata,
    IndicatorSettings,
    IndicatorTable,
    combine_partials,
    compare_areas,
    compute_indicators,
    compute_partials,
    load_pathway_times,
)
from pakkeforlop.io.read import Extract, LazyExtract, ReadInfo, read_extract, scan_extract
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.partition import PartitionPlan, partition_extract, run_partition
from pakkeforlop.pipeline import run_indicators, validate
from pakkeforlop.timeline import Timeline, build_pathways
from pakkeforlop.validate import ValidationReport, ValidationSettings, validate_events

try:
    __version__ = version("pakkeforlop")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Catalogue",
    "CatalogueError",
    "ConfigurationError",
    "Extract",
    "ExtractError",
    "IndicatorMetadata",
    "IndicatorSettings",
    "IndicatorTable",
    "LazyExtract",
    "MappingError",
    "PakkeforlopError",
    "PartitionPlan",
    "ReadInfo",
    "ReadSettings",
    "Rule",
    "Timeline",
    "ValidationReport",
    "ValidationSettings",
    "__version__",
    "build_pathways",
    "combine_partials",
    "compare_areas",
    "compute_indicators",
    "compute_partials",
    "load_catalogue",
    "load_pathway_times",
    "partition_extract",
    "read_extract",
    "rules",
    "run_indicators",
    "run_partition",
    "scan_extract",
    "validate",
    "validate_events",
]
