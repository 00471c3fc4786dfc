"""How an extract is read: one frozen settings model shared by every path that reads one.

The reader (:func:`pakkeforlop.read_extract`, :func:`pakkeforlop.scan_extract`), the partition
pass and the pipeline (:mod:`pakkeforlop.pipeline`) take the same :class:`ReadSettings`, so an
option is declared, validated and documented once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from pakkeforlop.codes import DEFAULT_EDITION
from pakkeforlop.io.columns import ColumnMapping
from pakkeforlop.timeline.rules import treatment_start_rule

__all__ = ["ReadSettings"]


class ReadSettings(BaseModel):
    """What decides how an extract becomes canonical events and pathways.

    domain/extract-and-timeline.md §1 (the rows that feed the timeline) and §2 (the one rule of
    the timeline that is an option: the derived treatment start).

    Examples:
        >>> import datetime as dt
        >>> s = ReadSettings(as_of=dt.date(2024, 6, 30), columns={"patient_id": "pid"})
        >>> s.edition, s.columns.columns
        ('2024', {'patient_id': 'pid'})
        >>> s.run_date(), ReadSettings(today=dt.date(2025, 1, 1)).run_date()
        (datetime.date(2024, 6, 30), datetime.date(2025, 1, 1))
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: ColumnMapping | Path | None = None
    """Column mapping for names the built-in aliases miss: a mapping, or a mapping TOML file
    (a dict canonical → source column is turned into a mapping)."""
    as_of: dt.date | None = None
    """The reference date (``--as-of``): registrations dated after it are excluded, pathways
    open on it are open, no period after it is produced. ``None``: the latest date of a usable
    registration."""
    edition: str = DEFAULT_EDITION
    """Code catalogue edition the codes are checked against (``"2019"`` or ``"2024"``)."""
    extension: Path | None = None
    """Catalogue extension TOML with local codes."""
    today: dt.date | None = None
    """The run's date; without ``as_of``, registrations dated after it are excluded (a
    registration cannot be dated in the future). ``None``: the system date."""
    treatment_start: str | None = None
    """The named rule the pathways derive the treatment start after detox with
    (``--treatment-start``, :func:`pakkeforlop.timeline.rules.treatment_start_rules`); the
    data file's default when ``None``. Recorded in the pathway table and the metadata."""

    @field_validator("treatment_start")
    @classmethod
    def _rule(cls, value: str | None) -> str | None:
        return treatment_start_rule(value).id if value is not None else None

    @field_validator("columns", mode="before")
    @classmethod
    def _mapping(cls, value: object) -> object:
        if isinstance(value, dict):
            return ColumnMapping(columns=value)
        if isinstance(value, str):
            return Path(value)
        return value

    def run_date(self) -> dt.date:
        """The latest date a usable registration may carry: ``as_of``, else ``today``."""
        if self.as_of is not None:
            return self.as_of
        return self.today or dt.date.today()
