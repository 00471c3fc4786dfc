"""The indicator table as a workbook an analyst can hand on (``indicators -o FILE.xlsx``).

Two sheets: the indicators (one tidy table with readable titles, a row per indicator, period and
stratum; percentages formatted as percentages; "suppressed" and "not available" written as text,
never as an empty or zero value; frozen header and filters) and *About* (*Om tallene*): the
provenance of every figure (catalogue and times file, provisional times used, reference date,
suppression policy, the rows read and excluded, what is not available and why). Written with
xlsxwriter, with a fixed creation date so that the same table gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

import polars as pl

from pakkeforlop.errors import OutputError
from pakkeforlop.files import atomic_output
from pakkeforlop.indicators import IndicatorTable, indicator_catalogue
from pakkeforlop.numbers import Lang

__all__ = ["WORKBOOK_LABELS", "write_workbook"]

#: Rows of an Excel worksheet, the header included (xlsxwriter drops rows past it silently).
EXCEL_MAX_ROWS: Final = 1_048_576

#: The creation date written into workbooks: fixed, so that outputs are reproducible.
WORKBOOK_DATE: Final = dt.datetime(2019, 1, 1)

#: Sheet names, column heads and words, per language.
WORKBOOK_LABELS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        "sheet": "Indicators",
        "about": "About",
        "goal_area": "Goal area",
        "title": "Indicator",
        "indicator_id": "Indicator id",
        "period": "Period",
        "all": "All",
        "numerator": "Numerator",
        "denominator": "Denominator (units)",
        "value": "Value",
        "ci_low": "{level} CI low",
        "ci_high": "{level} CI high",
        "target": "Target",
        "meets_target": "Target met",
        "median_days": "Median days",
        "p75_days": "75th percentile days",
        "p90_days": "90th percentile days",
        "status": "Status",
        "note": "Note",
        "yes": "yes",
        "no": "no",
        "suppressed": "suppressed",
        "not_available": "not available",
        "provisional": "provisional recommended time",
        "derived": "derived (no code of its own)",
        "key": "Item",
        "item_value": "Value",
    },
    "nb": {
        "sheet": "Indikatorer",
        "about": "Om tallene",
        "goal_area": "Målområde",
        "title": "Indikator",
        "indicator_id": "Indikator-id",
        "period": "Periode",
        "all": "Alle",
        "numerator": "Teller",
        "denominator": "Nevner (enheter)",
        "value": "Verdi",
        "ci_low": "{level} KI nedre",
        "ci_high": "{level} KI øvre",
        "target": "Mål",
        "meets_target": "Mål nådd",
        "median_days": "Median dager",
        "p75_days": "75-persentil dager",
        "p90_days": "90-persentil dager",
        "status": "Status",
        "note": "Merknad",
        "yes": "ja",
        "no": "nei",
        "suppressed": "skjult",
        "not_available": "ikke tilgjengelig",
        "provisional": "foreløpig anbefalt tid",
        "derived": "avledet (ingen egen kode)",
        "key": "Opplysning",
        "item_value": "Verdi",
    },
}

#: Readable heads of the stratum columns.
_STRATUM_HEADS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        "pathway_type": "Pathway type",
        "health_region": "Health region",
        "health_trust": "Health trust",
        "institution_id": "Institution",
        "municipality": "Municipality",
        "residence_trust": "Health trust of residence",
        "residence_region": "Region of residence",
        "sex": "Sex",
        "age_group": "Age group",
        "end_reason": "End reason",
        "care_level": "Care level",
    },
    "nb": {
        "pathway_type": "Forløpstype",
        "health_region": "Helseregion",
        "health_trust": "Helseforetak",
        "institution_id": "Institusjon",
        "municipality": "Kommune",
        "residence_trust": "Bostedsforetak",
        "residence_region": "Bostedsregion",
        "sex": "Kjønn",
        "age_group": "Aldersgruppe",
        "end_reason": "Avslutningsårsak",
        "care_level": "Omsorgsnivå",
    },
}


#: Names of the About sheet's items in Norwegian (the English names are the keys).
_ABOUT_NB: Final[dict[str, str]] = {
    "indicator catalogue edition": "indikatorkatalog (utgave)",
    "code catalogue edition": "kodeverk (utgave)",
    "recommended times": "anbefalte forløpstider",
    "provisional times used": "foreløpige forløpstider brukt",
    "reference date": "referansedato",
    "period": "periode",
    "strata": "grupper",
    "selection": "utvalg",
    "suppression policy": "skjuleregel (små tall)",
    "confidence level": "konfidensnivå",
    "care level when unknown": "omsorgsnivå når det mangler",
    "treatment start after detox": "behandlingsstart etter avrusning",
    "rows read": "rader lest",
    "rows usable": "rader brukt",
    "rows excluded": "rader utelatt",
    "duplicates collapsed": "duplikater slått sammen",
    "pathways": "forløp",
    "findings": "funn",
    "note": "merknad",
    "not available": "ikke tilgjengelig",
    "left out": "utelatt",
}


def write_workbook(table: IndicatorTable, path: str | Path, *, lang: Lang = "en") -> Path:
    """Write the indicator table and its provenance as an xlsx workbook, atomically.

    Args:
        table: From :func:`pakkeforlop.compute_indicators` or
            :func:`pakkeforlop.run_indicators` (its metadata fills the About sheet).
        path: The ``.xlsx`` file.
        lang: ``"en"`` or ``"nb"``: sheet names, heads, titles and the words for suppressed and
            not available.

    Returns:
        The path written.

    Raises:
        OutputError: If the file cannot be written, or the table has more rows than a
            worksheet holds.
    """
    import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415 - loaded only when used

    target = Path(path)
    if table.height + 1 > EXCEL_MAX_ROWS:
        msg = (
            f"{target}: the table has {table.height:,} rows, more than a worksheet holds"
            f" ({EXCEL_MAX_ROWS - 1:,} below its header); write .csv or .parquet, or choose"
            " fewer strata or a longer period"
        )
        raise OutputError(msg)
    with atomic_output(target) as temp, xlsxwriter.Workbook(str(temp)) as book:
        book.set_properties({"created": WORKBOOK_DATE, "title": WORKBOOK_LABELS[lang]["sheet"]})
        _indicator_sheet(book, table, lang)
        _about_sheet(book, table, lang)
    return target


def _indicator_sheet(book: Any, table: IndicatorTable, lang: Lang) -> None:
    lab = WORKBOOK_LABELS[lang]
    dims = list(table.metadata.by)
    catalogue = indicator_catalogue()
    sheet = book.add_worksheet(lab["sheet"])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
    pct = book.add_format({"num_format": "0.0%"})
    pct0 = book.add_format({"num_format": "0%"})
    count = book.add_format({"num_format": "#,##0"})
    days = book.add_format({"num_format": "0.0"})
    muted = book.add_format({"font_color": "#6B6B6B", "italic": True})
    # the interval's level as the table was computed (95 % unless changed)
    level = f"{table.metadata.level * 100:g} %"
    heads = [
        lab["goal_area"],
        lab["title"],
        lab["indicator_id"],
        lab["period"],
        *(_STRATUM_HEADS[lang].get(d, d) for d in dims),
        lab["numerator"],
        lab["denominator"],
        lab["value"],
        lab["ci_low"].format(level=level),
        lab["ci_high"].format(level=level),
        lab["target"],
        lab["meets_target"],
        lab["median_days"],
        lab["p75_days"],
        lab["p90_days"],
        lab["status"],
        lab["note"],
    ]
    sheet.write_row(0, 0, heads, bold)
    first_number = 4 + len(dims)
    goal_titles = {g.id: g.title_nb if lang == "nb" else g.title_en for g in catalogue.goal_areas}
    for i, r in enumerate(pl.DataFrame(table).iter_rows(named=True), start=1):  # output rows
        d = catalogue.get(r["indicator_id"])
        sheet.write_string(i, 0, goal_titles.get(d.goal_area, d.goal_area))
        sheet.write_string(i, 1, d.title_nb if lang == "nb" else d.title_en)
        sheet.write_string(i, 2, d.id)
        sheet.write_string(i, 3, r["period"])
        for j, dim in enumerate(dims):
            value = r[dim]
            sheet.write_string(i, 4 + j, lab["all"] if value is None else str(value))
        hidden = r["not_available"] or r["suppressed"]
        status = lab["not_available"] if r["not_available"] else lab["suppressed"] if hidden else ""
        c = first_number
        if hidden:
            # never an empty or zero figure for a hidden one: the word, in value and status
            sheet.write_string(i, c + 2, status, muted)
        else:
            _number(sheet, i, c, r["numerator"], count)
            _number(sheet, i, c + 1, r["denominator"], count)
            if d.kind == "proportion":
                _number(sheet, i, c + 2, r["value"], pct)
                _number(sheet, i, c + 3, r["ci_low"], pct)
                _number(sheet, i, c + 4, r["ci_high"], pct)
            elif d.kind == "count":
                _number(sheet, i, c + 2, r["value"], count)
            else:
                _number(sheet, i, c + 2, r["median_days"], days)
            for k, col in enumerate(("median_days", "p75_days", "p90_days")):
                _number(sheet, i, c + 7 + k, r[col], days)
        _number(sheet, i, c + 5, r["target"], pct0)
        if r["meets_target"] is not None and not hidden:
            sheet.write_string(i, c + 6, lab["yes"] if r["meets_target"] else lab["no"])
        sheet.write_string(i, c + 10, status)
        notes = [
            *([r["not_available_reason"]] if r["not_available_reason"] else []),
            *([lab["provisional"]] if r["provisional_time"] else []),
            *([lab["derived"]] if r["derived"] else []),
        ]
        if notes:
            sheet.write_string(i, c + 11, "; ".join(notes))
    sheet.freeze_panes(1, 4)
    sheet.autofilter(0, 0, max(table.height, 1), len(heads) - 1)
    widths = [22, 48, 28, 9, *([16] * len(dims)), 11, 13, 10, 10, 10, 8, 9, 10, 10, 10, 15, 40]
    for j, w in enumerate(widths):
        sheet.set_column(j, j, w)
    sheet.set_row(0, 30)


def _number(sheet: Any, row: int, col: int, value: object, fmt: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, col, value, fmt)


def _about_sheet(book: Any, table: IndicatorTable, lang: Lang) -> None:
    lab = WORKBOOK_LABELS[lang]
    m = table.metadata
    sheet = book.add_worksheet(lab["about"])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    key = book.add_format({"bold": True, "valign": "top"})
    excluded = ", ".join(f"{k} {v:,}" for k, v in m.rows_excluded.items() if v) or "0"
    items: list[tuple[str, str]] = [
        ("indicator catalogue edition", m.catalogue_edition),
        (
            "code catalogue edition",
            m.code_edition + (f" + {m.code_extension}" if m.code_extension else ""),
        ),
        ("recommended times", f"{m.times_file} (version {m.times_version})"),
        ("provisional times used", ", ".join(m.provisional_times_used) or "none"),
        ("reference date", str(m.reference_date) if m.reference_date else "unknown"),
        ("period", m.period),
        ("strata", ", ".join(m.by) or "none"),
        ("selection", f"{m.start or '…'} to {m.end or '…'}"),
        (
            "suppression policy",
            m.suppression or ("av (aldri publiser)" if lang == "nb" else "off (never publish)"),
        ),
        ("confidence level", f"{m.level:.0%}"),
        ("care level when unknown", m.unknown_care_level),
        ("treatment start after detox", m.treatment_start or "unknown"),
        ("rows read", f"{m.input_rows:,}" if m.input_rows is not None else "unknown"),
        ("rows usable", f"{m.rows_usable:,}" if m.rows_usable is not None else "unknown"),
        ("rows excluded", excluded),
        (
            "duplicates collapsed",
            f"{m.duplicates_collapsed:,}" if m.duplicates_collapsed is not None else "unknown",
        ),
        ("pathways", f"{m.pathway_count:,}"),
        ("findings", ", ".join(f"{k} {v:,}" for k, v in m.findings_by_severity.items()) or "0"),
        *(
            (f"not available: {k}", v)
            for k, v in {**m.codes_not_in_force, **m.regime_limits}.items()
        ),
        *((f"left out: {k}", v) for k, v in m.not_computed.items()),
        *(("note", n) for n in m.notes),
    ]
    sheet.write_row(0, 0, [lab["key"], lab["item_value"]], bold)
    for i, (k, v) in enumerate(items, start=1):
        name, _, indicator = k.partition(": ")
        shown = _ABOUT_NB.get(name, name) if lang == "nb" else name
        sheet.write_string(i, 0, f"{shown}: {indicator}" if indicator else shown, key)
        sheet.write_string(i, 1, v, wrap)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 110)
    sheet.freeze_panes(1, 0)
