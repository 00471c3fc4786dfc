"""The one small exception hierarchy for user mistakes.

Data problems inside an extract are *findings* (see :mod:`pakkeforlop.findings`), never exceptions.
Exceptions are for whole-input problems the user must fix before anything can run: a missing
file, an unreadable file, a required column that is not there, a malformed mapping or catalogue
extension. The CLI prints the message as one line and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "CatalogueError",
    "ConfigurationError",
    "ExtractError",
    "MappingError",
    "PakkeforlopError",
]


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
