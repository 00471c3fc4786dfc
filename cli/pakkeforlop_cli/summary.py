"""The one-screen view of ``pakkeforlop indicators``: a row per indicator, grouped by goal area.

Built on :func:`pakkeforlop.indicators.headline`; this module only lays it out. Numbers are never
cut: on a narrow terminal an indicator id too long to share its line with the figures gets a
line of its own, and in a pipe the text is plain at full width.
"""

from __future__ import annotations

from typing import Final

from rich.markup import escape

from pakkeforlop.indicators import IndicatorTable, headline, indicator_catalogue
from pakkeforlop.numbers import Lang, fmt_count, fmt_days, fmt_interval, fmt_pct

__all__ = ["LABELS", "plain", "summary_lines"]

#: Column heads and words of the summary, per language.
LABELS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        "indicator": "indicator",
        "value": "value",
        "ci": "95 % CI",
        "n": "n",
        "target": "target",
        "met": "met",
        "change": "change",
        "yes": "yes",
        "no": "no",
        "better": "better",
        "worse": "worse",
        "suppressed": "suppressed",
        "not_available": "not available",
        "no_data": "no data",
        "days": "d",
        "title": "Indicators for {period} (overall; change from {previous})",
        "title_single": "Indicators for {period} (overall)",
        "hint": "--detail for the tables by stratum (latest 3 periods), --list for the"
        " definitions, -o FILE for every period",
    },
    "nb": {
        "indicator": "indikator",
        "value": "verdi",
        "ci": "95 % KI",
        "n": "n",
        "target": "mål",
        "met": "nådd",
        "change": "endring",
        "yes": "ja",
        "no": "nei",
        "better": "bedre",
        "worse": "verre",
        "suppressed": "skjult",
        "not_available": "ikke tilgjengelig",
        "no_data": "ingen data",
        "days": "d",
        "title": "Indikatorer for {period} (totalt; endring fra {previous})",
        "title_single": "Indikatorer for {period} (totalt)",
        "hint": "--detail for tabellene per gruppe (siste 3 perioder), --list for definisjonene,"
        " -o FIL for alle perioder",
    },
}


def _cells(row: dict[str, object], lang: Lang, lab: dict[str, str]) -> list[str]:
    """value, interval, n, target, met, change of one headline row, as text."""
    kind = row["kind"]
    if row["not_available"]:
        return [lab["not_available"], "", "", "", "", ""]
    if row["suppressed"]:
        return [lab["suppressed"], "", "", "", "", ""]
    value = row["value"]
    if not isinstance(value, float):
        return [lab["no_data"], "", "", "", "", ""]
    target = row["target"]
    if kind == "proportion":
        shown = fmt_pct(value, lang)
        low, high = row["ci_low"], row["ci_high"]
        ci = (
            fmt_interval(low, high, lang)
            if isinstance(low, float) and isinstance(high, float)
            else ""
        )
    elif kind == "duration":
        shown, ci = f"{fmt_days(value, lang)} {lab['days']}", ""
    else:
        shown, ci = fmt_count(int(value), lang), ""
    n = row["denominator"]
    met = row["meets_target"]
    change = row["change"]
    moved = ""
    if isinstance(change, float):
        if kind == "proportion":
            points = f"{abs(change) * 100:.1f}".replace(".", "," if lang == "nb" else ".")
            moved = f"{'+' if change >= 0 else '−'}{points} pp"
        elif kind == "duration":
            moved = f"{'+' if change >= 0 else '−'}{fmt_days(abs(change), lang)} {lab['days']}"
        else:
            moved = f"{'+' if change >= 0 else '−'}{fmt_count(int(abs(change)), lang)}"
        arrow = "▲" if change > 0 else "▼" if change < 0 else "="
        improved = row["improved"]
        verdict = "" if improved is None else lab["better"] if improved else lab["worse"]
        moved = f"{arrow} {moved}" + (f" {verdict}" if verdict else "")
    return [
        shown,
        ci,
        fmt_count(n, lang) if isinstance(n, int) and kind != "count" else "",
        fmt_pct(target, lang, digits=0) if isinstance(target, float) else "",
        ("" if met is None else lab["yes"] if met else lab["no"]) if target is not None else "",
        moved,
    ]


def _style(row: dict[str, object]) -> str:
    improved = row["improved"]
    return "" if improved is None else "green" if improved else "red"


def summary_lines(table: IndicatorTable, *, lang: Lang = "en", width: int = 200) -> list[str]:
    """The summary as lines of rich markup (plain text once the markup is stripped).

    Args:
        table: The indicator table.
        lang: ``"en"`` or ``"nb"`` (labels, titles and number formats).
        width: The width to fit: an indicator id too long to share a line with its figures
            gets a line of its own.

    Returns:
        Lines to print (the first is the heading).
    """
    lab = LABELS[lang]
    head = headline(table)
    catalogue = indicator_catalogue()
    if head.height == 0:
        return []
    period, previous = head["period"][0], head["previous_period"][0]
    title = (
        lab["title"].format(period=period, previous=previous)
        if previous
        else lab["title_single"].format(period=period)
    )
    heads = [lab[k] for k in ("value", "ci", "n", "target", "met", "change")]
    rows = [(r, _cells(r, lang, lab)) for r in head.iter_rows(named=True)]
    widths = [max([len(h)] + [len(c[i]) for _, c in rows]) for i, h in enumerate(heads)]
    right = {0, 1, 2, 3}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    numbers = len(line(heads))
    longest = max(len(lab["indicator"]), *(len(r["indicator_id"]) for r, _ in rows))
    # ids up to id_width share a line with their figures; a longer one gets a line of its own
    id_width = max(min(longest, width - 2 - numbers), len(lab["indicator"]))
    out = [f"[bold]{escape(title)}[/]"]
    out.append(f"[dim]{escape(lab['indicator'].ljust(id_width) + '  ' + line(heads))}[/]")
    goal = None
    for r, cells in rows:
        if r["goal_area"] != goal:
            goal = r["goal_area"]
            area = catalogue.goal_area(str(goal))
            out.append(f"[bold cyan]{escape(area.title_nb if lang == 'nb' else area.title_en)}[/]")
        text = escape(line(cells))
        style = _style(r)
        if style and cells[5]:
            change = escape(cells[5])
            text = text[: len(text) - len(change)] + f"[{style}]{change}[/]"
        name = str(r["indicator_id"])
        if len(name) <= id_width:
            out.append(f"{escape(name.ljust(id_width))}  {text}")
        else:
            out += [escape(name), f"{' ' * id_width}  {text}"]
    out.append(f"[dim]{escape(lab['hint'])}[/]")
    return out


def plain(lines: list[str]) -> str:
    r"""The lines without markup (for tests and pipes).

    Examples:
        >>> plain(["[bold]a[/]", "b"])
        'a\nb'
    """
    from rich.text import Text  # noqa: PLC0415 - small helper

    return "\n".join(Text.from_markup(x).plain for x in lines)
