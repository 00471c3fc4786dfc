"""Chart labels in Norwegian (bokmål) and English, held in ``data/labels.toml``."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators import IndicatorDefinition, definition, indicator_catalogue
from pakkeforlop.numbers import Lang

__all__ = ["LANGS", "Lang", "check_lang", "goal_title", "indicator_title", "labels"]


#: The label languages: Norwegian (bokmål) and English.
LANGS: tuple[Lang, ...] = ("nb", "en")


def check_lang(lang: str) -> Lang:
    """Validate a label language.

    Args:
        lang: ``"nb"`` (Norwegian bokmål) or ``"en"`` (English).

    Returns:
        The same value, typed as :data:`Lang`.

    Raises:
        ConfigurationError: For any other value.

    Examples:
        >>> check_lang("nb")
        'nb'
    """
    if lang == "nb":
        return "nb"
    if lang == "en":
        return "en"
    msg = f"unknown language {lang!r}; expected nb (Norwegian bokmål) or en (English)"
    raise ConfigurationError(msg)


@cache
def _all() -> dict[str, dict[str, str]]:
    text = resources.files("pakkeforlop.plot").joinpath("data", "labels.toml").read_text("utf-8")
    return {lang: dict(table) for lang, table in tomllib.loads(text).items()}


def labels(lang: Lang) -> dict[str, str]:
    """The chart labels in one language.

    Args:
        lang: ``"nb"`` or ``"en"``.

    Returns:
        Label key to text.

    Examples:
        >>> labels("nb")["all"], labels("en")["all"]
        ('Alle', 'All')
    """
    return _all()[check_lang(lang)]


def indicator_title(indicator: str | IndicatorDefinition, lang: Lang) -> str:
    """An indicator's title from its definition, in one language.

    Args:
        indicator: An indicator id or definition.
        lang: ``"nb"`` or ``"en"``.

    Returns:
        The title.

    Examples:
        >>> indicator_title("plan_cocreated", "en")
        'Treatment plan made together...'
    """
    d = definition(indicator) if isinstance(indicator, str) else indicator
    return d.title_nb if check_lang(lang) == "nb" else d.title_en


def goal_title(goal_id: str, lang: Lang) -> str:
    """A goal area's title from the indicator catalogue, in one language.

    Args:
        goal_id: E.g. ``"waiting"``.
        lang: ``"nb"`` or ``"en"``.

    Returns:
        The title.

    Examples:
        >>> goal_title("waiting", "nb")
        'Unngå unødig ventetid'
    """
    g = indicator_catalogue().goal_area(goal_id)
    return g.title_nb if check_lang(lang) == "nb" else g.title_en
