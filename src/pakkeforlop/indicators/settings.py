"""What decides an indicator table: one frozen settings model for every path that computes one.

:func:`pakkeforlop.compute_indicators`, the partition steps, the Dask path, the report and the
CLI all take (or build) the same :class:`IndicatorSettings`, so an option is declared, validated
and documented once (domain/indicators.md §3–§4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.models import CareLevelDefault, SuppressionPolicy
from pakkeforlop.indicators.times import PathwayTimes
from pakkeforlop.periods import Period, check_period, parse_date_or_period
from pakkeforlop.schema import STRATUM_COLUMNS

__all__ = ["IndicatorSettings", "parse_by"]


def parse_by(by: str | Sequence[str]) -> tuple[str, ...]:
    """Validate stratum dimensions (a comma-separated string or a sequence).

    Args:
        by: E.g. ``"pathway_type,health_region"`` or ``["sex"]``; empty (or ``"none"``) for no
            strata.

    Returns:
        The dimensions, in order, without duplicates.

    Raises:
        ConfigurationError: If a name is not one of :data:`~pakkeforlop.schema.STRATUM_COLUMNS`.

    Examples:
        >>> parse_by("pathway_type, health_region")
        ('pathway_type', 'health_region')
        >>> parse_by("none")
        ()
    """
    if isinstance(by, str) and by.strip().lower() == "none":
        return ()
    items = by.split(",") if isinstance(by, str) else list(by)
    names = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    bad = [n for n in names if n not in STRATUM_COLUMNS]
    if bad:
        msg = f"unknown stratum {bad[0]!r}; expected one of {', '.join(STRATUM_COLUMNS)}"
        raise ConfigurationError(msg)
    return names


class IndicatorSettings(BaseModel):
    """The settings of an indicator table (periods, strata, selection, times, output policy).

    Every field has the default :func:`pakkeforlop.compute_indicators` documents. Text is
    accepted where a notebook or the command line gives text: ``by`` as ``"a,b"``, ``start`` and
    ``end`` as dates or period labels (``end="2023-T1"`` is 30 April 2023), ``indicators`` as
    ``"a,b"``.

    Examples:
        >>> s = IndicatorSettings(by="health_region,pathway_type", end="2023-T1")
        >>> s.by, s.end, s.suppress
        (('health_region', 'pathway_type'), datetime.date(2023, 4, 30), True)
        >>> IndicatorSettings(start="2024", end="2023")
        Traceback (most recent call last):
        ...
        pakkeforlop.errors.ConfigurationError: --to 2023-12-31 is before --from 2024-01-01
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    period: Period = "tertial"
    """``"month"``, ``"tertial"`` (T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec) or ``"year"``."""
    by: tuple[str, ...] = ()
    """Stratum dimensions from :data:`~pakkeforlop.schema.STRATUM_COLUMNS`."""
    start: dt.date | None = None
    """Keep units anchored on or after this date."""
    end: dt.date | None = None
    """Keep units anchored on or before this date."""
    indicators: tuple[str, ...] | None = None
    """Indicator ids to compute; every computable indicator when ``None``."""
    times: PathwayTimes | Path | None = None
    """Recommended pathway times (loaded, or a TOML file); the shipped file when ``None``."""
    unknown_care_level: CareLevelDefault = "outpatient"
    """The limit that applies when an interval's care level is unknown (domain/indicators.md
    §2)."""
    suppress: bool = True
    """Apply the small-cell suppression policy."""
    policy: str | SuppressionPolicy = "nki"
    """Suppression policy: ``"nki"`` (default) or ``"npr"``, or a policy model."""
    level: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level of the Wilson score intervals."""
    revised_rule_from: dt.date | None = None
    """The day the revised start rule took effect (domain/indicators.md §3, "Rule regimes");
    the data file's 2025-01-01 [UNSURE] when ``None``."""
    code_starts: dict[str, dt.date] | None = None
    """When local codes without a ``valid_from`` start, by label (``"U-S"``): the first month
    the extract holds each (domain/indicators.md §3, "Codes not yet in force"). The pipeline
    fills it from :attr:`pakkeforlop.ReadInfo.code_first_seen`; ``None`` means unknown, and an
    indicator resting only on such codes is then not available."""

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> Any:
        return check_period(value) if isinstance(value, str) else value

    @field_validator("by", mode="before")
    @classmethod
    def _by(cls, value: Any) -> Any:
        return parse_by(value) if isinstance(value, str | list | tuple) else value

    @field_validator("start", "end", "revised_rule_from", mode="before")
    @classmethod
    def _date(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            return parse_date_or_period(value, end=info.field_name == "end")
        return value

    @field_validator("indicators", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            ids = tuple(v.strip() for v in value if v.strip())
            return ids or None
        return value

    @field_validator("times", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return Path(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _range(self) -> IndicatorSettings:
        if self.start is not None and self.end is not None and self.end < self.start:
            msg = f"--to {self.end} is before --from {self.start}"
            raise ConfigurationError(msg)
        return self
