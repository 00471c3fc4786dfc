"""Normalising one source's columns to the canonical event table (the checks: :mod:`.checks`).

Everything here is a polars expression over the whole source (no loop over rows), so the plan
streams. Source columns are renamed to ``__raw_<canonical>`` and kept in their own dtype: typed
Parquet columns (dates, small integers) are used as they are, and turned into text only for the
few rows a finding quotes. See domain/extract-and-timeline.md §1 (reading rules) and
domain/codes.md §1, §5 (codes and their validity).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from pakkeforlop.codes import decode_combined_expr
from pakkeforlop.io.checks import CheckContext, exclusion, read_checks, read_findings
from pakkeforlop.io.codesets import ID as _ID
from pakkeforlop.io.codesets import CodeSets
from pakkeforlop.io.codings import register_codings
from pakkeforlop.io.sources import ROW, Opened
from pakkeforlop.schema import (
    CANONICAL_SCHEMA,
    CARE_LEVEL,
    EVENT,
    PATHWAY_TYPE,
    SEX,
)

__all__ = ["DUPLICATE_KEYS", "CodeSets", "Normalised", "normalise"]

#: What makes two registrations exact duplicates (domain/extract-and-timeline.md §1).
DUPLICATE_KEYS: Final = (
    "patient_id",
    "institution_id",
    "event_date",
    "pathway_type",
    "event",
    "outcome",
)

_TEXT_COLUMNS: Final = (
    "patient_id",
    "institution_id",
    "pathway_id",
    "health_trust",
    "health_region",
    "residence_trust",
    "residence_region",
)


_PARTS: Final = ("pathway_type", "event", "outcome")

#: Staged columns that depend on a row's code parts alone (see :func:`_derive`).
_BY_PARTS: Final = (
    "__decoded",
    "__from_code",
    "__pathway_type",
    "__event",
    "__outcome",
    "__type_known",
    "__event_known",
    "__takes_outcome",
    "__pair_known",
    "__key",
    "pathway_type",
    "event",
    "outcome",
)

# --- normalisation helpers ------------------------------------------------------------------------


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    # ``text`` is read twice: when it is an expression rather than a column, polars 2.1's
    # streaming engine computes it twice (see :func:`_trimmed`).
    return pl.when(text.str.len_bytes() > 0).then(text)


def _trimmed(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Text with surrounding spaces removed (not yet blank to null: see :func:`_clean_text`).

    Staged as a column of its own for the columns read in full, so that :func:`_blank_to_null`
    reads the trimmed text instead of trimming twice (that halves the cost of the text columns).
    """
    if dtype == pl.String:
        return raw.str.strip_chars()
    return raw.cast(pl.String).str.strip_chars()


def _clean_text(raw: pl.Expr, dtype: pl.DataType, trimmed: pl.Expr | None = None) -> pl.Expr:
    """Text with surrounding spaces removed; empty text is null.

    ``trimmed``, when given, is ``raw`` staged through :func:`_trimmed`.
    """
    if dtype.is_integer():
        return raw.cast(pl.String)  # numbers have no spaces to trim
    return _blank_to_null(trimmed if trimmed is not None else _trimmed(raw, dtype))


def _clean_code(raw: pl.Expr, dtype: pl.DataType, trimmed: pl.Expr | None = None) -> pl.Expr:
    """Codes are trimmed and upper-cased (domain/extract-and-timeline.md §1)."""
    return _clean_text(raw, dtype, trimmed).str.to_uppercase()


def _parse_date(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A date from a Date, a Datetime, or text as ``yyyy-mm-dd`` or ``dd.mm.yyyy`` (per value).

    Text must already be trimmed (:func:`_needs_text`). Each value is parsed by the one pattern
    its shape calls for (a ``.`` means ``dd.mm.yyyy``), so a file is parsed once whatever its
    dialect.
    """
    if dtype == pl.Date:
        return raw
    if isinstance(dtype, pl.Datetime):
        return raw.dt.date()
    dotted = raw.str.contains(".", literal=True)
    return pl.coalesce(
        # cache=False: caching unique values costs more than parsing these short strings.
        pl.when(dotted).then(raw).str.to_date("%d.%m.%Y", strict=False, cache=False),
        pl.when(~dotted).then(raw).str.to_date("%Y-%m-%d", strict=False, cache=False),
    )


def _needs_text(canonical: str, dtype: pl.DataType) -> bool:
    """Whether a column is parsed from trimmed text (staged once as ``__text_<canonical>``).

    Staging the trimmed text as a column of its own keeps it from being trimmed again for each
    expression that reads it.
    """
    if canonical == "event_date":
        return not (dtype == pl.Date or isinstance(dtype, pl.Datetime))
    if canonical == "municipality":
        return not _is_integer(dtype)
    return False


def _map_values(
    expr: pl.Expr, mapping: Mapping[Any, Any], dtype: pl.DataType | type[pl.DataType]
) -> pl.Expr:
    """Look ``expr``'s values up in ``mapping`` (null when absent), as ``replace_strict`` would.

    Done as a cast to an enum of the keys and a gather of the values: polars 2.1's streaming
    engine holds a whole column in memory for ``replace_strict``, but streams this.
    """
    if not mapping:
        return pl.lit(None, dtype=dtype)
    keys = [str(k) for k in mapping]
    values = pl.Series(list(mapping.values()), dtype=dtype)
    index = expr.cast(pl.String).cast(pl.Enum(keys), strict=False).to_physical()
    return pl.lit(values).gather(index)


def _catalogue_id(raw: pl.Expr, dtype: pl.DataType, codes: CodeSets) -> pl.Expr:
    """The row in the combined table of a value that is exactly a catalogue code, else null."""
    if dtype != pl.String:
        raw = raw.cast(pl.String)
    return _map_values(raw, codes.index, _ID)


def _parts(
    frame: pl.LazyFrame, codes: CodeSets, *, decoded: pl.Expr, split: dict[str, pl.Expr]
) -> pl.LazyFrame:
    """Add the columns of :data:`_BY_PARTS` from the decoded combined code and the split parts.

    A combined code that has the combined shape gives the parts; else the split columns.
    """
    frame = frame.with_columns(decoded.alias("__decoded"))
    code_ok = pl.col("__decoded").struct.field("event").is_not_null()
    frame = frame.with_columns(
        code_ok.alias("__from_code"),
        *(
            pl.when(code_ok)
            .then(pl.col("__decoded").struct.field(part))
            .otherwise(split[part])
            .alias(f"__{part}")
            for part in _PARTS
        ),
    )
    t, e, o = pl.col("__pathway_type"), pl.col("__event"), pl.col("__outcome")
    frame = frame.with_columns(
        t.is_in(codes.types).alias("__type_known"),
        e.is_in(codes.events).alias("__event_known"),
        e.is_in(codes.with_outcome).alias("__takes_outcome"),
        pl.concat_str(e, o.fill_null("")).is_in(codes.pairs).alias("__pair_known"),
        pl.concat_str(t, e, o.fill_null("")).alias("__key"),
    )
    type_known, event_known = pl.col("__type_known"), pl.col("__event_known")
    takes, pair_known = pl.col("__takes_outcome"), pl.col("__pair_known")
    return frame.with_columns(
        pl.when(type_known).then(t).cast(PATHWAY_TYPE).alias("pathway_type"),
        pl.when(event_known).then(e).cast(EVENT).alias("event"),
        pl.when(event_known & takes & pair_known).then(o).alias("outcome"),
    )


def _catalogue_parts(codes: CodeSets) -> pl.DataFrame | None:
    """:func:`_parts` of every code of the combined table, by row (None if some row lacks them).

    Every row of the table has the combined shape, so its parts come from the table alone (never
    from split columns); were one not to, the fast path of :func:`_derive` is not taken.
    """
    table = codes.table
    null_text = pl.lit(None, dtype=pl.String)
    parts = (
        _parts(
            table.lazy(),
            codes,
            decoded=pl.struct(*(pl.col(part) for part in _PARTS)),
            split=dict.fromkeys(_PARTS, null_text),
        )
        .select(_BY_PARTS)
        .collect()
    )
    return parts if parts["__from_code"].all() else None


def _derive(staged: pl.LazyFrame, codes: CodeSets) -> pl.LazyFrame:
    """Type, event and outcome of each row, whether the catalogue knows them, and ``code``.

    Reads ``__code`` (the cleaned combined code), ``__code_id`` (its row in the catalogue's
    combined table) and the split parts ``__s_*``; adds :data:`_BY_PARTS`, ``code`` and
    ``__key_id`` (domain/codes.md §1). Most rows hold a catalogue code: their columns are taken
    from :func:`_catalogue_parts` by row, which is the same derivation done once per catalogue
    code. Only the other rows go through the derivation here (for the catalogue rows its inputs
    are masked to null, which costs little); only those decode by regular expression.
    """
    code_id = pl.col("__code_id")
    catalogue = _catalogue_parts(codes)
    known = code_id.is_not_null() if catalogue is not None else pl.lit(value=False)

    def unless_known(expr: pl.Expr) -> pl.Expr:
        return pl.when(~known).then(expr)

    rest = decode_combined_expr(unless_known(pl.col("__code")))
    staged = _parts(
        staged,
        codes,
        decoded=pl.struct(*(rest.struct.field(part) for part in _PARTS)),
        split={part: unless_known(pl.col(f"__s_{part}")) for part in _PARTS},
    )
    if catalogue is not None:
        staged = staged.with_columns(
            pl.when(known)
            .then(pl.lit(catalogue[name]).gather(code_id))
            .otherwise(pl.col(name))
            .alias(name)
            for name in _BY_PARTS
        )
    type_known, event_known = pl.col("__type_known"), pl.col("__event_known")
    key = pl.col("__key")
    # The row of (type, event, outcome) in the combined table: the code's own row, or for split
    # rows a look-up of the parts joined.
    key_id = pl.coalesce(
        code_id,
        _map_values(pl.when(code_id.is_null()).then(key), codes.index, _ID),
    )
    return staged.with_columns(
        pl.coalesce(pl.col("__code"), pl.when(type_known & event_known).then(key)).alias("code"),
        key_id.alias("__key_id"),
    )


def _is_integer(dtype: pl.DataType) -> bool:
    return dtype.is_integer()


def _coded(
    raw: pl.Expr,
    dtype: pl.DataType,
    codes: dict[str, str],
    enum: pl.Enum,
    direct: pl.Expr | None = None,
) -> pl.Expr:
    """Map a register coding (numbers or words, any case) to an enum; unknown values are null.

    ``direct``, for text, is the staged look-up of the values as written (most are written exactly
    as coded); only the others are then trimmed, lower-cased and looked up again.
    """
    if _is_integer(dtype):
        numbers = {int(k): v for k, v in codes.items() if k.isdigit()}
        return _map_values(raw, numbers, enum)
    text: pl.Expr
    if dtype == pl.Boolean:
        text = raw.cast(pl.String)
    elif dtype.is_float():
        whole = raw.cast(pl.Int64, strict=False)
        text = pl.when(whole == raw).then(whole.cast(pl.String))
    elif direct is not None:
        rest = _clean_text(pl.when(direct.is_null()).then(raw), dtype).str.to_lowercase()
        return pl.coalesce(direct, _map_values(rest, codes, enum))
    else:
        text = _clean_text(raw, dtype).str.to_lowercase()
    return _map_values(text, codes, enum)


def _whole_number(raw: pl.Expr, dtype: pl.DataType, low: int, high: int) -> pl.Expr:
    """A whole number in [low, high] as Int16 from a number or text (decimal comma allowed)."""
    if _is_integer(dtype):
        number = raw.cast(pl.Int64, strict=False)
        ok = number.is_between(low, high)
    else:
        if dtype.is_float():
            value = raw.cast(pl.Float64)
        else:
            # Whole numbers (the usual case) convert directly; the rest may have spaces or a
            # decimal comma ("34,0").
            direct = raw.cast(pl.String).cast(pl.Int64, strict=False)
            text = _clean_text(pl.when(direct.is_null()).then(raw), dtype)
            rest = text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
            value = pl.coalesce(direct.cast(pl.Float64), rest)
        ok = (value == value.floor()) & value.is_between(low, high)
        number = value
    return pl.when(ok).then(number).cast(pl.Int16)


def _municipality(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A 4-digit municipality number; 3-digit numbers get their leading zero back [DERIVED].

    Spreadsheets turn ``0301`` (Oslo) into ``301``; a 3-digit number can only be such a number
    with its leading zero lost, so it is padded. Anything else that is not 4 digits is bad.
    """
    if _is_integer(dtype):
        return pl.when(raw.is_between(100, 9999)).then(raw.cast(pl.String)).str.zfill(4)
    # Text, already trimmed (:func:`_needs_text`).
    length = raw.str.len_bytes()
    digits = raw.cast(pl.UInt16, strict=False).is_not_null() & ~raw.str.starts_with("+")
    return (
        pl.when(digits & (length == 4))
        .then(raw)
        .when(digits & (length == 3))
        .then(pl.concat_str(pl.lit("0"), raw))
    )


# --- the per-source normalisation ---------------------------------------------------------------


@dataclass(frozen=True)
class Normalised:
    """One source's canonical events (lazy, before duplicates are collapsed) and findings."""

    events: pl.LazyFrame
    findings: pl.LazyFrame


def normalise(
    opened: Opened,
    resolved: dict[str, str],
    codes: CodeSets,
    *,
    as_of: dt.date | None,
    today: dt.date,
    order_base: int,
) -> Normalised:
    """Normalise one source to the canonical event table and collect its read findings.

    Args:
        opened: The source, with its ``__source_row`` column.
        resolved: Canonical column → source column (from
            :func:`~pakkeforlop.io.columns.resolve_columns`).
        codes: Look-up sets of the catalogue edition.
        as_of: The reference date, when given; later dates are findings.
        today: The date of the run: without ``as_of``, later dates are findings.
        order_base: Added to the row number to give ``__order``, a number that sorts rows by
            (file, row) across sources (used to keep the first of duplicates).

    Returns:
        The events (canonical columns plus ``__order``, ``__from_code``, ``__from_split``,
        ``__exclusion``, the reason a row is not usable or null, and ``__flagged``, whether it
        has a finding) and findings, lazily.
    """
    schema = opened.frame.collect_schema()
    dtypes = {c: schema[s] for c, s in resolved.items()}

    def raw(canonical: str) -> pl.Expr:
        return pl.col(f"__raw_{canonical}")

    has = resolved.__contains__
    null_text = pl.lit(None, dtype=pl.String)
    null_id = pl.lit(None, dtype=_ID)

    names = schema.names()
    # CSV sources carry each line's blankness and field count (pakkeforlop.io.csvfiles)
    blank = pl.col("__blank").fill_null(value=False) if "__blank" in names else pl.lit(value=False)
    fields = pl.col("__fields") if "__fields" in names else pl.lit(None, dtype=pl.UInt32)
    base = opened.frame.select(
        pl.lit(opened.label, dtype=pl.String).alias("source_file"),
        pl.col(ROW).cast(pl.UInt64).alias("source_row"),
        (pl.col(ROW).cast(pl.UInt64) + order_base).alias("__order"),
        blank.alias("__blank"),
        fields.alias("__fields"),
        *(pl.col(s).alias(f"__raw_{c}") for c, s in resolved.items()),
    )
    header_fields = len([n for n in names if not n.startswith("__")])

    # Stage 0: what several later expressions read is staged as a column once: the trimmed text
    # of the text columns and of columns parsed in several steps, and the direct look-up of coded
    # text columns.
    texts = {c: f"__text_{c}" for c in resolved if _needs_text(c, dtypes[c])}
    trims = {
        c: f"__trim_{c}"
        for c in resolved
        if (c in _TEXT_COLUMNS or c in _PARTS or c in texts) and not _is_integer(dtypes[c])
    }
    base = base.with_columns(_trimmed(raw(c), dtypes[c]).alias(t) for c, t in trims.items())

    def clean(canonical: str) -> pl.Expr:
        trimmed = pl.col(trims[canonical]) if canonical in trims else None
        return _clean_text(raw(canonical), dtypes[canonical], trimmed)

    register = register_codings()
    codings = {
        "care_level": (register.care_level, CARE_LEVEL),
        "sex": (register.sex_coding(resolved.get("sex", "")), SEX),
    }
    directs = {c: f"__direct_{c}" for c in codings if has(c) and dtypes[c] == pl.String}
    base = base.with_columns(
        *(clean(c).alias(t) for c, t in texts.items()),
        *(_map_values(raw(c), codings[c][0], codings[c][1]).alias(d) for c, d in directs.items()),
    )

    def coded(canonical: str) -> pl.Expr:
        if not has(canonical):
            return pl.lit(None, dtype=codings[canonical][1])
        direct = pl.col(directs[canonical]) if canonical in directs else None
        return _coded(raw(canonical), dtypes[canonical], *codings[canonical], direct=direct)

    def parsed(canonical: str) -> pl.Expr:
        return pl.col(texts[canonical]) if canonical in texts else raw(canonical)

    # Stage 1: text, codes and dates, each per value.
    first: list[pl.Expr] = [(clean(c) if has(c) else null_text).alias(c) for c in _TEXT_COLUMNS]
    first += [
        (_catalogue_id(raw("code"), dtypes["code"], codes) if has("code") else null_id).alias(
            "__code_direct"
        ),
        *((clean(c).str.to_uppercase() if has(c) else null_text).alias(f"__s_{c}") for c in _PARTS),
        _parse_date(parsed("event_date"), dtypes["event_date"]).alias("event_date"),
        coded("care_level").alias("care_level"),
        coded("sex").alias("sex"),
        (
            _whole_number(raw("birth_year"), dtypes["birth_year"], *register.ranges["birth_year"])
            if has("birth_year")
            else pl.lit(None, dtype=pl.Int16)
        ).alias("birth_year"),
        (
            _whole_number(raw("age"), dtypes["age"], *register.ranges["age"])
            if has("age")
            else pl.lit(None, dtype=pl.Int16)
        ).alias("age"),
        (
            _municipality(parsed("municipality"), dtypes["municipality"])
            if has("municipality")
            else null_text
        ).alias("municipality"),
    ]
    staged = base.with_columns(first)
    # Stage 2: the combined code, cleaned, and its row in the catalogue's combined table. A value
    # that is already a catalogue code (the usual case) skips the cleaning.
    direct = pl.col("__code_direct")
    if has("code"):
        rest = _clean_code(pl.when(direct.is_null()).then(raw("code")), dtypes["code"])
        staged = staged.with_columns(
            pl.when(direct.is_not_null())
            .then(raw("code").cast(pl.String))
            .otherwise(rest)
            .alias("__code"),
            pl.coalesce(direct, _map_values(rest, codes.index, _ID)).alias("__code_id"),
        )
    else:
        staged = staged.with_columns(null_text.alias("__code"), null_id.alias("__code_id"))
    staged = _derive(staged, codes)
    context = CheckContext(opened.label, resolved, dtypes, codes, as_of, today, header_fields)
    checks = read_checks(context)
    events = staged.select(
        *CANONICAL_SCHEMA.names(),
        "__order",
        "__from_code",
        (~pl.col("__from_code") & pl.col("__s_event").is_not_null()).alias("__from_split"),
        exclusion(checks).alias("__exclusion"),
        # whether the row has a finding (read_findings keeps exactly these rows)
        (
            ~pl.col("__blank") & pl.any_horizontal(c.flag.fill_null(value=False) for c in checks)
        ).alias("__flagged"),
    )
    return Normalised(events=events, findings=read_findings(staged, checks))
