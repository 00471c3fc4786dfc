"""Synthetic registry extracts that look like the real thing.

Real extracts cannot leave secure environments, so the project is developed and tested on these.
:func:`generate` builds one in memory (events, the true pathway table and the injected errors);
:func:`write_synthetic` streams one to Parquet or CSV in either layout and dialect. See
domain/codes.md, domain/extract-and-timeline.md and domain/indicators.md §5 for what the generator
imitates, and ``sample_data/README.md`` for a data dictionary.

Examples:
    >>> from pakkeforlop.synth import generate
    >>> ex = generate(100, seed=7)
    >>> ex.events.height > 300, set(ex.truth["status"].cast(str)) <= {"open", "closed"}
    (True, True)
"""

from __future__ import annotations

from pakkeforlop.synth.inject import ERROR_KINDS
from pakkeforlop.synth.write import (
    DEFAULT_CHUNK,
    Dialect,
    Format,
    Layout,
    SyntheticExtract,
    WriteSummary,
    errors_path_for,
    generate,
    write_synthetic,
)

__all__ = [
    "DEFAULT_CHUNK",
    "ERROR_KINDS",
    "Dialect",
    "Format",
    "Layout",
    "SyntheticExtract",
    "WriteSummary",
    "errors_path_for",
    "generate",
    "write_synthetic",
]
