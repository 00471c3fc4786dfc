"""The pathway code catalogue (kodeverk 9321–9328) as versioned data with its look-ups.

See domain/codes.md. Editions are data files under ``codes/data``; local codes come from an
extension file (:func:`load_catalogue`).
"""

from __future__ import annotations

from pakkeforlop.codes.combined import decode_combined, decode_combined_expr, encode_combined
from pakkeforlop.codes.loader import DEFAULT_EDITION, editions, load_catalogue
from pakkeforlop.codes.models import Catalogue, Code, CodeSystem, code_label

__all__ = [
    "DEFAULT_EDITION",
    "Catalogue",
    "Code",
    "CodeSystem",
    "code_label",
    "decode_combined",
    "decode_combined_expr",
    "editions",
    "encode_combined",
    "load_catalogue",
]
