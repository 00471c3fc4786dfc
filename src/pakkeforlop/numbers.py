"""Numbers as people read them, in Norwegian (bokmål) or English conventions.

One set of formats for every output a person reads (the terminal, the workbook's titles, the
report): ``54,1 %`` and ``12 345`` in bokmål, ``54.1%`` and ``12,345`` in English.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Lang", "fmt_count", "fmt_days", "fmt_interval", "fmt_pct"]

#: The languages of labels and number formats: Norwegian bokmål or English.
Lang = Literal["nb", "en"]

_NBSP = "\u00a0"


def _decimal(text: str, lang: Lang) -> str:
    return text.replace(".", ",") if lang == "nb" else text


def fmt_pct(value: float, lang: Lang, *, digits: int = 1) -> str:
    """A proportion as a percentage: ``54,1 %`` (nb) or ``54.1%`` (en).

    Args:
        value: A proportion between 0 and 1.
        lang: ``"nb"`` or ``"en"``.
        digits: Decimals.

    Returns:
        The text.

    Examples:
        >>> fmt_pct(0.5412, "nb").replace("\u00a0", " "), fmt_pct(0.5412, "en")
        ('54,1 %', '54.1%')
        >>> fmt_pct(1.0, "en", digits=0)
        '100%'
    """
    text = _decimal(f"{value * 100:.{digits}f}", lang)
    return f"{text}{_NBSP}%" if lang == "nb" else f"{text}%"


def fmt_interval(low: float, high: float, lang: Lang) -> str:
    """An interval of proportions: ``45,2–62,8 %`` (nb) or ``45.2–62.8%`` (en).

    Args:
        low: Lower bound (a proportion).
        high: Upper bound (a proportion).
        lang: ``"nb"`` or ``"en"``.

    Returns:
        The text.

    Examples:
        >>> fmt_interval(0.452, 0.628, "en")
        '45.2–62.8%'
    """
    lo = _decimal(f"{low * 100:.1f}", lang)
    return f"{lo}–{fmt_pct(high, lang)}"


def fmt_days(value: float, lang: Lang) -> str:
    """A number of days, without decimals when whole: ``32`` or ``32,5`` (nb).

    Args:
        value: Days.
        lang: ``"nb"`` or ``"en"``.

    Returns:
        The number as text (the unit is added by the caller's label).

    Examples:
        >>> fmt_days(32.0, "nb"), fmt_days(32.5, "nb"), fmt_days(32.5, "en")
        ('32', '32,5', '32.5')
    """
    if float(value).is_integer():
        return f"{int(value)}"
    return _decimal(f"{value:.1f}", lang)


def fmt_count(value: int, lang: Lang) -> str:
    """A count with thousands separators: ``12 345`` (nb) or ``12,345`` (en).

    Args:
        value: The count.
        lang: ``"nb"`` or ``"en"``.

    Returns:
        The text.

    Examples:
        >>> fmt_count(12345, "nb").replace("\u00a0", " "), fmt_count(12345, "en")
        ('12 345', '12,345')
    """
    text = f"{value:,}"
    return text.replace(",", _NBSP) if lang == "nb" else text
