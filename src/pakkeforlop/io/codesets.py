"""Look-ups drawn once from a code catalogue edition for the reader's vectorised work.

Shared by the normalisation (:mod:`pakkeforlop.io.normalise`) and the read checks
(:mod:`pakkeforlop.io.checks`); see domain/codes.md §1 and §5.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import polars as pl

from pakkeforlop.codes import Catalogue

__all__ = ["ID", "CodeSets"]

#: Dtype of a row number in the catalogue's combined table.
ID: Final = pl.UInt16


@dataclass(frozen=True)
class CodeSets:
    """Look-ups drawn once from a catalogue edition for vectorised checks."""

    edition: str
    types: tuple[str, ...]
    events: tuple[str, ...]
    with_outcome: tuple[str, ...]
    """Events that take an outcome (C, S, U, X, H)."""
    pairs: tuple[str, ...]
    """Event + outcome letters that fit together for some type (``C`` + ``U`` = ``"CU"``; an
    event without outcome stands alone)."""
    unsure_pairs: tuple[str, ...]
    """Pairs resting on an [UNSURE] or unlisted event or outcome (for rows without a type)."""
    outcomes_text: dict[str, str]
    """Event → its outcomes, listed for messages."""
    table: pl.DataFrame
    """The catalogue's combined table (every valid type/event/outcome), plus ``unsure``."""
    index: dict[str, int]
    """Combined code → its row in :attr:`table`."""
    first_date: dt.date
    """The earliest date any pathway type is in force (1 January 2019)."""

    @classmethod
    def of(cls, catalogue: Catalogue) -> CodeSets:
        """Draw the look-ups from a catalogue."""
        table = catalogue.combined_table.with_columns(
            pl.col("pathway_type").cast(pl.String),
            pl.col("event").cast(pl.String),
            (~pl.col("listed") & (pl.col("source") == "UNSURE")).alias("unsure"),
        )
        events = catalogue.events
        pairs: list[str] = []
        unsure_pairs: list[str] = []
        outcomes_text: dict[str, str] = {}
        for code, ev in events.items():
            outs = catalogue.outcomes(code)
            if ev.outcome_system is None:
                pairs.append(code)
                if _unsure(ev.source, ev.listed):
                    unsure_pairs.append(code)
                continue
            outcomes_text[code] = ", ".join(outs)
            for o in outs.values():
                pairs.append(code + o.code)
                if _unsure(ev.source, ev.listed) or _unsure(o.source, o.listed):
                    unsure_pairs.append(code + o.code)
        starts = [t.valid_from for t in catalogue.pathway_types.values() if t.valid_from]
        return cls(
            edition=catalogue.edition,
            types=tuple(catalogue.pathway_types),
            events=tuple(events),
            with_outcome=tuple(c for c, ev in events.items() if ev.outcome_system is not None),
            pairs=tuple(pairs),
            unsure_pairs=tuple(unsure_pairs),
            outcomes_text=outcomes_text,
            table=table,
            index={code: i for i, code in enumerate(table["code"])},
            first_date=min(starts) if starts else dt.date(2019, 1, 1),
        )

    def column(self, name: str) -> pl.Expr:
        """A column of the combined table as a literal, to ``gather`` rows from by index."""
        return pl.lit(self.table[name])


def _unsure(source: str, listed: bool) -> bool:
    # Only a code that is both unlisted and unconfirmed is worth a finding: D01L is unlisted but
    # documented in the coding guide (KVL); D09/D10 are listed, only their start date is unsure.
    return source == "UNSURE" and not listed
