"""When a local code without a start date first appears in an extract.

domain/indicators.md §3, "Codes not yet in force": a local code (from a catalogue extension)
without a ``valid_from`` starts with the first month in which the extract holds it. This module
finds that month from the usable registrations; the indicator engine takes it through
:attr:`pakkeforlop.IndicatorSettings.code_starts`, and the metadata says that the start was
taken from the data.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pakkeforlop.codes import Catalogue, code_label

__all__ = ["first_seen", "undated_local_codes"]


def undated_local_codes(catalogue: Catalogue) -> dict[str, tuple[str, str | None]]:
    """Local codes mapped to an indicator that have no ``valid_from``: label → (event, outcome).

    Examples:
        >>> from pakkeforlop.codes import load_catalogue
        >>> undated_local_codes(load_catalogue("2024"))
        {}
    """
    pairs = [catalogue.pair_of(c) for c in catalogue.codes if c.indicator and not c.valid_from]
    return {code_label(*pair): pair for pair in pairs}


def first_seen(events: pl.LazyFrame, catalogue: Catalogue) -> dict[str, dt.date]:
    """The first month (its first day) each undated local code appears among ``events``.

    Codes the extract never holds are absent from the result. Costs nothing when the catalogue
    has no such code (the usual case: no extension).

    Args:
        events: Usable canonical registrations (``event``, ``outcome``, ``event_date``).
        catalogue: The catalogue with its extension merged in.

    Returns:
        Code label (:func:`code_label`) → the first day of the first month holding it.

    Examples:
        >>> from pakkeforlop.codes import load_catalogue
        >>> first_seen(pl.LazyFrame(), load_catalogue("2024"))
        {}
    """
    codes = undated_local_codes(catalogue)
    if not codes:
        return {}
    label = pl.concat_str(
        pl.col("event").cast(pl.String),
        pl.when(pl.col("outcome").is_not_null()).then(pl.lit("-") + pl.col("outcome")),
        ignore_nulls=True,
    )
    found = (
        events.select(label.alias("label"), "event_date")
        .filter(pl.col("label").is_in(list(codes)))
        .group_by("label")
        .agg(pl.col("event_date").min().dt.month_start())
        .collect()
    )
    return dict(zip(found["label"].to_list(), found["event_date"].to_list(), strict=True))
