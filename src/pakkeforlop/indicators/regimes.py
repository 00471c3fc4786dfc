"""Rule regimes of the pathways, as data: what a start (A) means, and from when.

See domain/indicators.md §3, "Rule regimes": under the 2019 start rule a pathway starts the day
the referral is received; under the revised rule (nasjonale pasientforløp, 2024/25) the day the
right to care is granted. The revised rule's effective date is [UNSURE] (``regimes.toml``:
2025-01-01), configurable as ``IndicatorSettings.revised_rule_from``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

__all__ = ["Regime", "load_regimes", "regime_of", "regime_spans"]


class Regime(BaseModel):
    """One rule regime and the day it took effect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title_nb: str
    title_en: str
    effective_from: dt.date
    source: str = "KVL"


@cache
def _shipped() -> tuple[Regime, ...]:
    text = (
        resources.files("pakkeforlop.indicators")
        .joinpath("data", "regimes.toml")
        .read_text(encoding="utf-8")
    )
    raw = tomllib.loads(text)
    regimes = tuple(Regime.model_validate(r) for r in raw["regime"])
    return tuple(sorted(regimes, key=lambda r: r.effective_from))


def load_regimes(revised_rule_from: dt.date | None = None) -> tuple[Regime, ...]:
    """The regimes in effective order, the revised rule's date replaced when given.

    Args:
        revised_rule_from: The day the revised start rule took effect (default: the data file's,
            2025-01-01 [UNSURE]).

    Returns:
        The regimes, earliest first.

    Examples:
        >>> [(r.id, r.effective_from.isoformat()) for r in load_regimes()]
        [('2019', '2019-01-01'), ('revised', '2025-01-01')]
        >>> load_regimes(dt.date(2024, 9, 1))[-1].effective_from
        datetime.date(2024, 9, 1)
    """
    regimes = _shipped()
    if revised_rule_from is None:
        return regimes
    return tuple(
        r.model_copy(update={"effective_from": revised_rule_from}) if r.id == "revised" else r
        for r in regimes
    )


def regime_spans(regimes: Sequence[Regime]) -> list[tuple[Regime, dt.date, dt.date | None]]:
    """Each regime with its first and last day (``None``: still in force).

    Examples:
        >>> [(r.id, a.isoformat(), b and b.isoformat()) for r, a, b in regime_spans(load_regimes())]
        [('2019', '2019-01-01', '2024-12-31'), ('revised', '2025-01-01', None)]
    """
    ordered = sorted(regimes, key=lambda r: r.effective_from)
    spans: list[tuple[Regime, dt.date, dt.date | None]] = []
    for i, r in enumerate(ordered):
        nxt = ordered[i + 1].effective_from - dt.timedelta(days=1) if i + 1 < len(ordered) else None
        spans.append((r, r.effective_from, nxt))
    return spans


def regime_of(first: dt.date, last: dt.date, regimes: Sequence[Regime]) -> str:
    """The regime(s) in force in a period, e.g. ``"2019"`` or ``"2019, revised"``.

    Examples:
        >>> regime_of(dt.date(2024, 9, 1), dt.date(2025, 4, 30), load_regimes())
        '2019, revised'
    """
    ids = [r.id for r, a, b in regime_spans(regimes) if a <= last and (b is None or b >= first)]
    return ", ".join(ids)
