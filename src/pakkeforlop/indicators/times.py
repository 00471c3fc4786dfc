"""Recommended pathway times (*forløpstider*): the versioned data file and its loader.

See domain/indicators.md §2. The shipped file is ``data/pathway_times_2019.toml``; users may pass
their own file of the same layout (``--times FILE``). Every row carries a status (official or
provisional) so that output can say when a provisional time decided a result.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.models import Interval, PathwayTime
from pakkeforlop.schema import PATHWAY_TYPE

__all__ = ["BUILTIN_TIMES", "PathwayTimes", "load_pathway_times"]

#: Name of the shipped file, as recorded in metadata.
BUILTIN_TIMES = "pathway_times_2019.toml"


class PathwayTimes(BaseModel):
    """A set of recommended pathway times, as read from one file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    title: str = ""
    file: str
    """Where the times came from (``builtin:pathway_times_2019.toml`` or a path)."""
    times: tuple[PathwayTime, ...]

    def get(self, pathway_type: str, interval: Interval) -> PathwayTime | None:
        """The row for a pathway type and interval, or ``None`` when there is none.

        Examples:
            >>> load_pathway_times().get("D01", "assessment").outpatient
            21
            >>> load_pathway_times().get("D06", "assessment") is None
            True
        """
        for t in self.times:
            if t.pathway_type == pathway_type and t.interval == interval:
                return t
        return None

    def for_interval(self, interval: Interval) -> tuple[tuple[int, PathwayTime], ...]:
        """The rows of one interval with their row number in :attr:`times`."""
        return tuple((i, t) for i, t in enumerate(self.times) if t.interval == interval)

    def types_without(self, interval: Interval) -> tuple[str, ...]:
        """Pathway types with no time for an interval (their pathways are left out).

        Examples:
            >>> load_pathway_times().types_without("assessment")
            ('D06',)
        """
        have = {t.pathway_type for t in self.times if t.interval == interval}
        return tuple(c for c in PATHWAY_TYPE.categories.to_list() if c not in have)

    def markdown(self) -> str:
        """The times as a Markdown table, with the pathway types that have none (for the docs).

        Examples:
            >>> text = load_pathway_times().markdown()
            >>> "| D11 | assessment | 42 | 42 | provisional | no official table found;" in text
            True
            >>> text.splitlines()[-1]
            '- between evaluations: no recommended time for D06, D07 (left out)'
        """
        lines = [
            f"Recommended pathway times ({self.file}, version {self.version}), calendar days.",
            "",
            "| type | interval | outpatient | inpatient | status | note |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {t.pathway_type} | {t.interval.replace('_', ' ')} | {t.outpatient} |"
            f" {t.inpatient} | {t.status} | {t.note} |"
            for t in self.times
        ]
        lines.append("")
        used: tuple[Interval, ...] = (
            "assessment",
            "extended_assessment",
            "detox_to_treatment",
            "first_evaluation",
            "between_evaluations",
        )
        lines += [
            f"- {i.replace('_', ' ')}: no recommended time for"
            f" {', '.join(self.types_without(i))} (left out)"
            for i in used
        ]
        return "\n".join(lines)

    def table(self) -> pl.DataFrame:
        """The times as a table, one row per pathway type and interval.

        Examples:
            >>> load_pathway_times().table().columns
            ['pathway_type', 'interval', 'outpatient', 'inpatient', 'status', 'source', 'note']
        """
        return pl.DataFrame(
            [t.model_dump() for t in self.times],
            schema={
                "pathway_type": pl.String,
                "interval": pl.String,
                "outpatient": pl.Int32,
                "inpatient": pl.Int32,
                "status": pl.String,
                "source": pl.String,
                "note": pl.String,
            },
            orient="row",
        )


def _parse(raw: dict[str, Any], where: str) -> PathwayTimes:
    unknown = set(raw) - {"version", "title", "time"}
    if unknown:
        msg = (
            f"{where}: unexpected top-level keys {sorted(unknown)};"
            " expected version, title and time tables"
        )
        raise ConfigurationError(msg)
    if "version" not in raw:
        msg = f"{where}: missing top-level key 'version'"
        raise ConfigurationError(msg)
    rows: list[PathwayTime] = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(raw.get("time", []), start=1):
        try:
            row = PathwayTime.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "entry"
            value = entry.get(first["loc"][0]) if first["loc"] and isinstance(entry, dict) else None
            shown = f" (got {value!r})" if value is not None else ""
            msg = f"{where}: time entry {i}: {field}: {first['msg']}{shown}"
            raise ConfigurationError(msg) from None
        key = (row.pathway_type, row.interval)
        if key in seen:
            msg = (
                f"{where}: time entry {i}: {row.pathway_type} {row.interval} repeats"
                f" entry {seen[key]}"
            )
            raise ConfigurationError(msg)
        seen[key] = i
        rows.append(row)
    return PathwayTimes(
        version=str(raw["version"]), title=str(raw.get("title", "")), file=where, times=tuple(rows)
    )


@cache
def _builtin() -> PathwayTimes:
    text = (
        resources.files("pakkeforlop.indicators")
        .joinpath("data", BUILTIN_TIMES)
        .read_text(encoding="utf-8")
    )
    return _parse(tomllib.loads(text), f"builtin:{BUILTIN_TIMES}")


def load_pathway_times(path: str | Path | None = None) -> PathwayTimes:
    """Load recommended pathway times: the shipped file, or a user's file of the same layout.

    The file has top-level ``version`` (and optional ``title``) and one ``[[time]]`` table per
    pathway type and interval with ``pathway_type``, ``interval``, ``outpatient``, ``inpatient``
    (calendar days), ``status`` (``official`` or ``provisional``) and optional ``source``,
    ``note``. See domain/indicators.md §2.

    Args:
        path: A TOML file; the shipped ``pathway_times_2019.toml`` when ``None``.

    Returns:
        The validated times.

    Raises:
        ConfigurationError: If the file is missing, not TOML, or an entry is invalid (the message
            names the file and the entry number).

    Examples:
        >>> times = load_pathway_times()
        >>> times.get("D12", "assessment").status
        'provisional'
        >>> times.file
        'builtin:pathway_times_2019.toml'
    """
    if path is None:
        return _builtin()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{p}: pathway-times file not found"
        raise ConfigurationError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{p}: not a valid TOML file: {exc}"
        raise ConfigurationError(msg) from None
    return _parse(raw, str(p))
