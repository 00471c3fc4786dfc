"""The register's codings of optional columns and the plausible ranges of numbers, from data.

Loaded once from ``io/data/codings.toml`` (domain/extract-and-timeline.md §1): care level
(*omsorgsnivå*) 1/2/3, sex (*kjønn*) 1/2/0/9, the yes/no column ``ErMann``, and the accepted
birth years and ages [DERIVED].
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

__all__ = ["RegisterCodings", "register_codings"]


class RegisterCodings(BaseModel):
    """Codings of the optional columns: register value (lower case) → canonical value.

    Examples:
        >>> c = register_codings()
        >>> c.care_level["1"], c.sex["9"], c.is_male["0"], c.ranges["age"]
        ('inpatient', 'unknown', 'female', (0, 130))
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    care_level: dict[str, str]
    sex: dict[str, str]
    is_male: dict[str, str]
    ranges: dict[str, tuple[int, int]]

    def sex_coding(self, source_column: str) -> dict[str, str]:
        """The coding of the sex column: ``ErMann`` is yes/no (1 male, 0 female), ``kjonn`` not.

        Args:
            source_column: The source column the sex comes from.

        Returns:
            Register value → ``male`` / ``female`` / ``unknown``.
        """
        return self.is_male if source_column.lower() == "ermann" else self.sex


@cache
def register_codings() -> RegisterCodings:
    """The shipped codings (read once)."""
    text = (
        resources.files("pakkeforlop.io").joinpath("data/codings.toml").read_text(encoding="utf-8")
    )
    return RegisterCodings.model_validate(tomllib.loads(text))
