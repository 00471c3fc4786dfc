"""The one small exception hierarchy for user mistakes.

Data problems inside an extract are *findings* (see :mod:`pakkeforlop.findings`), never exceptions.
Exceptions are for whole-input problems the user must fix before anything can run: a missing
file, an unreadable file, a required column that is not there, a malformed mapping or catalogue
extension, an output that cannot be written. The CLI prints the message as one line and exits
with code 2.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = [
    "CatalogueError",
    "ConfigurationError",
    "ExtractError",
    "MappingError",
    "OutputError",
    "PakkeforlopError",
    "checked",
]

M = TypeVar("M", bound=BaseModel)


class PakkeforlopError(Exception):
    """Base class of every error this library raises for a user mistake."""


class ExtractError(PakkeforlopError):
    """An extract cannot be read at all (missing, unreadable, unsupported format)."""


class MappingError(PakkeforlopError):
    """Source columns cannot be mapped to the canonical event table."""


class CatalogueError(PakkeforlopError):
    """A code catalogue edition or extension file is missing or malformed."""


class ConfigurationError(PakkeforlopError):
    """An option or configuration file (pathway times, indicator selection ...) is invalid."""


class OutputError(PakkeforlopError):
    """An output file cannot be written (missing folder, no permission, disk full)."""


def checked(model: type[M], **values: Any) -> M:
    """Build a settings model, turning pydantic's error into a one-line ConfigurationError.

    Args:
        model: The settings model.
        **values: Its fields.

    Returns:
        The model.

    Raises:
        ConfigurationError: Naming the first invalid field, its value and what was expected.

    Examples:
        >>> from pakkeforlop.validate.settings import ValidationSettings
        >>> checked(ValidationSettings, max_error_rate=2)
        Traceback (most recent call last):
        ...
        pakkeforlop.errors.ConfigurationError: invalid max_error_rate = 2: Input should be ...
    """
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(x) for x in first["loc"])
        msg = f"invalid {name} = {first.get('input')!r}: {first['msg']}"
        raise ConfigurationError(msg) from None
