"""Decoding and encoding combined codes (kodeverk 9327), one at a time or as polars expressions.

Decoding rule [DERIVED, holds for every listed value] (domain/codes.md §1): characters 1–3 are the
pathway type, character 4 the event, an optional character 5 the outcome.
"""

from __future__ import annotations

import re

import polars as pl

__all__ = ["COMBINED_PATTERN", "decode_combined", "decode_combined_expr", "encode_combined"]

#: The shape of a combined code: type ``Dnn``, one event letter, an optional outcome character.
COMBINED_PATTERN = r"^(D\d\d)([A-Z])([A-Z?])?$"
_COMBINED = re.compile(COMBINED_PATTERN)


def decode_combined(code: str) -> tuple[str, str, str | None]:
    """Split a combined code into (pathway type, event, outcome).

    Only the shape is checked here; whether the parts exist and fit together is the catalogue's
    question (:meth:`pakkeforlop.codes.Catalogue.is_valid`).

    Args:
        code: A combined code such as ``"D11CU"`` (surrounding spaces and case are ignored).

    Returns:
        The type, the event and the outcome (``None`` when the code has no fifth character).

    Raises:
        ValueError: If the code does not have the shape ``Dnn`` + event [+ outcome].

    Examples:
        >>> decode_combined("D11CU")
        ('D11', 'C', 'U')
        >>> decode_combined(" d01a ")
        ('D01', 'A', None)
    """
    m = _COMBINED.match(code.strip().upper())
    if m is None:
        msg = (
            f"{code!r} is not a combined code: expected type Dnn, an event letter and an"
            " optional outcome, e.g. 'D11CU'"
        )
        raise ValueError(msg)
    return m.group(1), m.group(2), m.group(3)


def encode_combined(pathway_type: str, event: str, outcome: str | None = None) -> str:
    """Join (pathway type, event, outcome) into a combined code.

    Examples:
        >>> encode_combined("D11", "C", "U")
        'D11CU'
        >>> encode_combined("D01", "A")
        'D01A'
    """
    return f"{pathway_type}{event}{outcome or ''}"


def decode_combined_expr(code: pl.Expr) -> pl.Expr:
    """A struct expression ``{pathway_type, event, outcome}`` decoding a column of combined codes.

    Fields are null where the code does not have the combined shape (then it is an invalid code).
    """
    cleaned = code.str.strip_chars().str.to_uppercase()
    return cleaned.str.extract_groups(COMBINED_PATTERN).struct.rename_fields(
        ["pathway_type", "event", "outcome"]
    )
