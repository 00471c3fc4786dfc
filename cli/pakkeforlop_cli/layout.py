"""Tables for people: never a cut value, whatever the width.

A table whose columns fit the width is printed as aligned plain text (a pipe gets the full
width); one that does not is printed as records — each row a heading (its first value) and one
``name: value`` line per other column, wrapped at word breaks. Rich's boxed tables cut values
(``Tverr…``) or break words mid-word on narrow terminals; this layout does neither.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

__all__ = ["lines_for"]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def lines_for(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], width: int | None
) -> list[str]:
    """The table as lines of plain text that fit ``width`` (``None``: no limit).

    Args:
        title: A heading line.
        columns: Column names.
        rows: Rows of values (``None`` prints as nothing, lists joined with ``, ``).
        width: The terminal width, or ``None`` for a pipe (full width, one line per row).

    Returns:
        The lines.

    Examples:
        >>> rows = [("D01", "Tverrfaglig spesialisert rusbehandling")]
        >>> lines_for("Codes", ["code", "nb"], rows, None)
        ['Codes', 'code  nb', 'D01   Tverrfaglig spesialisert rusbehandling']
        >>> lines_for("Codes", ["code", "nb"], rows, 24)
        ['Codes', '', 'D01', '  nb: Tverrfaglig', '      spesialisert', '      rusbehandling']
    """
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    natural = sum(widths) + 2 * (len(columns) - 1)
    if width is None or natural <= width:

        def line(values: Sequence[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

        return [title, line(list(columns)), *(line(r) for r in cells)]
    out = [title]
    for r in cells:
        out += ["", r[0]]
        for name, value in zip(columns[1:], r[1:], strict=True):
            if not value:
                continue
            head = f"  {name}: "
            out += textwrap.wrap(
                value,
                width=max(width, len(head) + 10),
                initial_indent=head,
                subsequent_indent=" " * len(head),
                break_long_words=False,
                break_on_hyphens=False,
            )
    return out
