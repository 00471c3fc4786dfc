"""Reading extracts: sources → the canonical event table (column mapping, dialects, normalisation).

See domain/extract-and-timeline.md §1.
"""

from __future__ import annotations

from pakkeforlop.io.columns import ALIASES, NPR_NAMES, ColumnMapping, load_mapping, resolve_columns
from pakkeforlop.io.read import (
    Extract,
    LazyExtract,
    ReadInfo,
    read_extract,
    scan_extract,
)

__all__ = [
    "ALIASES",
    "NPR_NAMES",
    "ColumnMapping",
    "Extract",
    "LazyExtract",
    "ReadInfo",
    "load_mapping",
    "read_extract",
    "resolve_columns",
    "scan_extract",
]
