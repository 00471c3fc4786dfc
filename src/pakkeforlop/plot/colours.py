"""Stable line colours: one colour per pathway type in every chart, held in ``data/colours.toml``.

A chart that picks colours by position gives D06 one colour where D01 is present and another
where it is not. Here the colour is looked up by the group's value: the pathway types
(*forløpstyper*, kodeverk 9321) and the overall line have fixed colours; the values of any other
stratum take the fallback colours in the order of their sorted values in the whole indicator
table, so one table draws a group in one colour in all its charts.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

__all__ = ["OVERALL", "group_colours", "pathway_type_colours"]

#: The palette key of the overall line (every stratum together).
OVERALL = "all"


@cache
def _palette() -> dict[str, object]:
    text = resources.files("pakkeforlop.plot").joinpath("data", "colours.toml").read_text("utf-8")
    return tomllib.loads(text)


def pathway_type_colours() -> dict[str, str]:
    """The fixed colours: pathway type code (and ``"all"``, ``"unknown"``) to a CSS colour.

    Returns:
        Key to ``#rrggbb``.

    Examples:
        >>> colours = pathway_type_colours()
        >>> colours["all"], colours["D11"]
        ('#222222', '#499894')
    """
    table = _palette()["pathway_type"]
    assert isinstance(table, dict)
    return {str(k): str(v) for k, v in table.items()}


def _others() -> list[str]:
    table = _palette()["other"]
    assert isinstance(table, dict)
    return [str(c) for c in table["colours"]]


def group_colours(
    groups: Sequence[str], *, overall: str, universe: Iterable[str] = ()
) -> list[str]:
    """The colour of each group of a chart, by value rather than by position.

    Args:
        groups: The groups of one chart (the colour scale's domain), e.g.
            ``["Alle", "D01", "D11"]``.
        overall: The label of the overall line in this chart's language (``"Alle"``/``"All"``).
        universe: Every value the stratum takes in the table the chart comes from; a group
            that is not a pathway type gets the fallback colour of its rank among these
            (sorted), so its colour does not depend on which other groups a chart holds.

    Returns:
        One ``#rrggbb`` per group, in the order of ``groups`` (the scale's range).

    Examples:
        >>> group_colours(["Alle", "D11"], overall="Alle")
        ['#222222', '#499894']
        >>> group_colours(["All", "D06"], overall="All") == group_colours(
        ...     ["All", "D01", "D06"], overall="All")[::2]
        True
        >>> group_colours(["West"], overall="All", universe=["West", "East"])
        ['#f28e2b']
    """
    fixed = pathway_type_colours()
    others = _others()
    ranked = sorted({*universe, *groups} - {overall, *fixed})
    rank = {g: i for i, g in enumerate(ranked)}
    out = []
    for g in groups:
        if g == overall:
            out.append(fixed[OVERALL])
        elif g in fixed:
            out.append(fixed[g])
        else:
            out.append(others[rank[g] % len(others)])
    return out
