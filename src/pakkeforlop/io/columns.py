"""Mapping source column names to the canonical event table.

Built-in aliases come from register extracts (domain/extract-and-timeline.md §1) and are matched
case-insensitively; a user's mapping file (``--columns mapping.toml``) names anything else:

.. code-block:: toml

    [columns]
    patient_id = "LopeNr_pasient"
    event_date = "RegDato"
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pakkeforlop.errors import MappingError
from pakkeforlop.schema import CANONICAL_SCHEMA

__all__ = ["ALIASES", "NPR_NAMES", "ColumnMapping", "load_mapping", "resolve_columns"]

#: Built-in aliases per canonical column (matched case-insensitively; the canonical name itself is
#: always accepted).
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "patient_id": ("NPRId", "pid", "lopenr", "pasient_id"),
    "institution_id": ("institusjonId", "institusjon_id", "orgnr"),
    "event_date": ("dato", "hendelsesdato", "tidspunkt"),
    "code": ("kode", "forlopskode", "pakkeforlop"),
    "pathway_type": ("type_forlop", "forlopstype"),
    "event": ("hendelse",),
    "outcome": ("utfall",),
    "pathway_id": ("pfInstansId", "forlop_id"),
    "care_level": ("omsorgsniva",),
    "health_trust": ("BehHF", "behandlende_hf"),
    "health_region": ("BehRHF",),
    "municipality": ("KommuneNr", "komNr", "komNrHjem2"),
    "residence_trust": ("BoHF",),
    "residence_region": ("BoRHF",),
    "sex": ("kjonn", "ErMann"),
    "birth_year": ("fodselsar", "fodselsaar"),
    "age": ("alder",),
}

#: The register-style name of each canonical column, as the synthetic ``npr`` dialect writes it.
NPR_NAMES: Final[dict[str, str]] = {
    "patient_id": "NPRId",
    "institution_id": "institusjonId",
    "event_date": "dato",
    "code": "kode",
    "pathway_type": "type_forlop",
    "event": "hendelse",
    "outcome": "utfall",
    "pathway_id": "pfInstansId",
    "care_level": "omsorgsniva",
    "health_trust": "BehHF",
    "health_region": "BehRHF",
    "municipality": "KommuneNr",
    "residence_trust": "BoHF",
    "residence_region": "BoRHF",
    "sex": "kjonn",
    "birth_year": "fodselsar",
    "age": "alder",
}

_MAPPABLE = tuple(c for c in CANONICAL_SCHEMA.names() if c not in ("source_file", "source_row"))


class ColumnMapping(BaseModel):
    """A user's column mapping: canonical column → source column name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(_MAPPABLE))
        if unknown:
            msg = f"unknown canonical column(s) {unknown}; expected some of {list(_MAPPABLE)}"
            raise ValueError(msg)
        return value


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a column-mapping TOML file (a ``[columns]`` table).

    Raises:
        MappingError: If the file is missing, not TOML, or names unknown canonical columns.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{p}: column mapping file not found"
        raise MappingError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{p}: not a valid TOML file: {exc}"
        raise MappingError(msg) from None
    try:
        return ColumnMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = f"{p}: {'.'.join(str(x) for x in first['loc'])}: {first['msg']}"
        raise MappingError(msg) from None


def resolve_columns(
    source_columns: list[str],
    *,
    mapping: ColumnMapping | None = None,
    source: str = "<input>",
) -> dict[str, str]:
    """Decide which source column feeds each canonical column.

    Args:
        source_columns: The column names of the source, as found.
        mapping: A user's mapping, which wins over the built-in aliases.
        source: The file name used in error messages.

    Returns:
        Canonical name → source name, for every canonical column found.

    Raises:
        MappingError: If a required column is missing (naming the aliases tried and the closest
            name found), if neither ``code`` nor ``event`` is present, if a mapped source column
            does not exist, or if two source columns match the same canonical column.

    Examples:
        >>> resolve_columns(["NPRId", "InstitusjonID", "Dato", "Kode"])
        {'patient_id': 'NPRId', 'institution_id': 'InstitusjonID', 'event_date': 'Dato',
         'code': 'Kode'}
    """
    by_lower: dict[str, list[str]] = {}
    for name in source_columns:
        by_lower.setdefault(name.lower(), []).append(name)
    explicit = dict(mapping.columns) if mapping else {}
    resolved: dict[str, str] = {}
    for canonical in _MAPPABLE:
        if canonical in explicit:
            wanted = explicit[canonical]
            if wanted not in source_columns:
                msg = (
                    f"{source}: the mapping names column {_short(wanted)!r} for {canonical!r},"
                    f" but the file has no such column{_suggest(wanted, source_columns)}"
                )
                raise MappingError(msg)
            resolved[canonical] = wanted
            continue
        candidates = (canonical, *ALIASES.get(canonical, ()))
        hits = [n for c in candidates for n in by_lower.get(c.lower(), [])]
        hits = [h for h in dict.fromkeys(hits) if h not in explicit.values()]
        if len(hits) > 1:
            msg = (
                f"{source}: columns {[_short(h) for h in hits]} all match {canonical!r}; name the"
                " one to use in a"
                " mapping file (--columns)"
            )
            raise MappingError(msg)
        if hits:
            resolved[canonical] = hits[0]
    for canonical in ("patient_id", "institution_id", "event_date"):
        if canonical not in resolved:
            tried = ", ".join((canonical, *ALIASES[canonical]))
            msg = (
                f"{source}: required column {canonical!r} not found (tried, ignoring case: {tried})"
                f"{_suggest(canonical, source_columns, ALIASES[canonical])}; map it with --columns"
            )
            raise MappingError(msg)
    if "code" not in resolved and "event" not in resolved:
        msg = (
            f"{source}: neither a combined-code column ('code', tried:"
            f" {', '.join(ALIASES['code'])})"
            f" nor an event column ('event', tried: {', '.join(ALIASES['event'])}) found; map one"
            " with --columns"
        )
        raise MappingError(msg)
    return resolved


def _suggest(wanted: str, found: list[str], aliases: tuple[str, ...] = ()) -> str:
    pool = {n.lower(): n for n in found}
    for target in (wanted, *aliases):
        close = difflib.get_close_matches(target.lower(), list(pool), n=1, cutoff=0.6)
        if close:
            return f"; did you mean {pool[close[0]]!r}?"
    shown = ", ".join(_short(n) for n in found[:20])
    more = f" and {len(found) - 20} more" if len(found) > 20 else ""
    return f"; the file has: {shown}{more}"


def _short(name: str, limit: int = 40) -> str:
    """A column name for a message, cut when long (a whole line read as one name)."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name):,} characters)"
