"""Loading catalogue editions and local extensions from the versioned data files.

Editions live in ``codes/data/catalogue_<edition>.toml`` (domain/codes.md). A user's extension
file adds local codes (e.g. a code for somatic-health follow-up, or the contract-specialist end
reason whose value is unknown) to existing code systems.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pakkeforlop.codes.models import Catalogue, Code
from pakkeforlop.errors import CatalogueError

__all__ = ["DEFAULT_EDITION", "editions", "load_catalogue"]

#: The edition used when none is named: the newest, a superset of the older one.
DEFAULT_EDITION = "2024"


def editions() -> list[str]:
    """The catalogue editions shipped with the package, oldest first.

    Examples:
        >>> editions()
        ['2019', '2024']
    """
    data = resources.files("pakkeforlop.codes").joinpath("data")
    names = [p.name for p in data.iterdir() if p.name.startswith("catalogue_")]
    return sorted(n.removeprefix("catalogue_").removesuffix(".toml") for n in names)


@cache
def _edition(edition: str) -> Catalogue:
    if edition not in editions():
        msg = f"unknown catalogue edition {edition!r}; expected one of {', '.join(editions())}"
        raise CatalogueError(msg)
    text = (
        resources.files("pakkeforlop.codes")
        .joinpath("data", f"catalogue_{edition}.toml")
        .read_text(encoding="utf-8")
    )
    return Catalogue.model_validate(tomllib.loads(text))


class ValidityOverride(BaseModel):
    """An extension's correction of when an existing code is in force (e.g. H's start)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: int
    code: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str = ""


def _read_extension(path: Path) -> tuple[list[Code], list[ValidityOverride]]:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: catalogue extension file not found"
        raise CatalogueError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not a valid TOML file: {exc}"
        raise CatalogueError(msg) from None
    unknown = set(raw) - {"code", "validity"}
    if unknown:
        msg = (
            f"{path}: unexpected top-level keys {sorted(unknown)}; expected [[code]] and"
            " [[validity]] tables"
        )
        raise CatalogueError(msg)
    overrides: list[ValidityOverride] = []
    for i, entry in enumerate(raw.get("validity", []), start=1):
        try:
            overrides.append(ValidityOverride.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            msg = f"{path}: [[validity]] entry {i}: {where}: {first['msg']}"
            raise CatalogueError(msg) from None
    codes: list[Code] = []
    for i, entry in enumerate(raw.get("code", []), start=1):
        try:
            codes.append(Code.model_validate({"source": "local", **entry}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            msg = f"{path}: [[code]] entry {i}: {where}: {first['msg']}"
            raise CatalogueError(msg) from None
    return codes, overrides


def load_catalogue(
    edition: str = DEFAULT_EDITION, *, extension: str | Path | None = None
) -> Catalogue:
    """Load one catalogue edition, optionally with a local extension file merged in.

    Args:
        edition: ``"2019"`` (the 2020 code-list snapshot) or ``"2024"`` (the December 2024 one).
        extension: A TOML file of ``[[code]]`` tables adding local codes to existing systems,
            e.g. ``system = 9325, code = "Z", nb = ..., en = ..., indicator = "somatic_followup"``.

    Returns:
        The frozen catalogue.

    Raises:
        CatalogueError: If the edition is unknown or the extension is malformed, adds a code to a
            system the edition lacks, or redefines a code that exists.

    Examples:
        >>> cat = load_catalogue("2019")
        >>> sorted(cat.pathway_types)
        ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12']
        >>> "H" in cat.events, "H" in load_catalogue("2024").events
        (False, True)
    """
    base = _edition(edition)
    if extension is None:
        return base
    path = Path(extension)
    extra, overrides = _read_extension(path)
    system_ids = {s.id for s in base.systems}
    existing = {(c.system, c.code) for c in base.codes}
    for c in extra:
        if c.system not in system_ids or c.system in (9321, 9322, 9327):
            outcome_systems = sorted(system_ids - {9321, 9322, 9327})
            msg = (
                f"{path}: code {c.code!r} names system {c.system}; local codes may only be added"
                f" to an outcome system of edition {edition} ({outcome_systems})"
            )
            raise CatalogueError(msg)
        if (c.system, c.code) in existing:
            msg = (
                f"{path}: code {c.code!r} already exists in system {c.system};"
                " choose another letter"
            )
            raise CatalogueError(msg)
    data = base.model_dump(by_alias=True)
    by_key = {(c["system"], c["code"]): c for c in data["code"]}
    for o in overrides:
        if (o.system, o.code) not in by_key:
            msg = (
                f"{path}: [[validity]] names code {o.code!r} of system {o.system}, which edition"
                f" {edition} does not have; expected an existing code"
            )
            raise CatalogueError(msg)
        entry = by_key[(o.system, o.code)]
        entry["valid_from"], entry["valid_to"] = o.valid_from, o.valid_to
        entry["note"] = o.note or f"validity set by the extension {path.name}"
    data["code"] = [*data["code"], *(c.model_dump() for c in extra)]
    data["extension"] = str(path)
    return Catalogue.model_validate(data)
