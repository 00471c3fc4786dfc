"""Normalising one source's columns to the canonical event table, with its read findings.

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

from pakkeforlop.codes import Catalogue, decode_combined_expr
from pakkeforlop.findings import rule
from pakkeforlop.io._sources import ROW, Opened
from pakkeforlop.schema import (
    CANONICAL_SCHEMA,
    CARE_LEVEL,
    EVENT,
    EXCLUSION_REASON,
    FINDINGS_SCHEMA,
    PATHWAY_TYPE,
    SEX,
)

__all__ = [
    "CARE_LEVEL_CODES",
    "DUPLICATE_KEYS",
    "SEX_CODES",
    "CodeSets",
    "normalise",
]

#: Register coding of care level (*omsorgsnivå*): 1 døgn, 2 dag, 3 poliklinikk
#: (domain/extract-and-timeline.md §1); the English and Norwegian words are accepted too.
CARE_LEVEL_CODES: Final[dict[str, str]] = {
    "1": "inpatient",
    "2": "day",
    "3": "outpatient",
    "inpatient": "inpatient",
    "day": "day",
    "outpatient": "outpatient",
    "døgn": "inpatient",
    "dag": "day",
    "poliklinikk": "outpatient",
}

#: Register coding of sex (*kjønn*): 1 male, 2 female, 0 and 9 unknown
#: (domain/extract-and-timeline.md §1).
SEX_CODES: Final[dict[str, str]] = {
    "1": "male",
    "2": "female",
    "0": "unknown",
    "9": "unknown",
    "male": "male",
    "female": "female",
    "unknown": "unknown",
}

#: The yes/no column ``ErMann`` ("is male"): 1 male, 0 female.
IS_MALE_CODES: Final[dict[str, str]] = {
    "1": "male",
    "0": "female",
    "true": "male",
    "false": "female",
}

#: Plausible ranges [DERIVED]: values outside are read as empty with a ``bad_value`` finding.
BIRTH_YEARS: Final = (1900, 2100)
AGES: Final = (0, 130)

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

_DATE_EXPECTED: Final = "dd.mm.yyyy or yyyy-mm-dd"

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

#: Dtype of a row number in the catalogue's combined table.
_ID: Final = pl.UInt16


@dataclass(frozen=True)
class CodeSets:
    """Look-ups drawn once from a catalogue edition for vectorised checks."""

    edition: str
    types: tuple[str, ...]
    events: tuple[str, ...]
    with_outcome: tuple[str, ...]
    """Events that take an outcome (C, S, U, X, H)."""
    pairs: tuple[str, ...]
    """Event + outcome letters that fit together for some type (``C`` + ``U`` = ``"CU"``; an
    event without outcome stands alone)."""
    unsure_pairs: tuple[str, ...]
    """Pairs resting on an [UNSURE] or unlisted event or outcome (for rows without a type)."""
    outcomes_text: dict[str, str]
    """Event → its outcomes, listed for messages."""
    table: pl.DataFrame
    """The catalogue's combined table (every valid type/event/outcome), plus ``unsure``."""
    index: dict[str, int]
    """Combined code → its row in :attr:`table`."""
    first_date: dt.date
    """The earliest date any pathway type is in force (1 January 2019)."""

    @classmethod
    def of(cls, catalogue: Catalogue) -> CodeSets:
        """Draw the look-ups from a catalogue."""
        table = catalogue.combined_table.with_columns(
            pl.col("pathway_type").cast(pl.String),
            pl.col("event").cast(pl.String),
            (~pl.col("listed") & (pl.col("source") == "UNSURE")).alias("unsure"),
        )
        events = catalogue.events
        pairs: list[str] = []
        unsure_pairs: list[str] = []
        outcomes_text: dict[str, str] = {}
        for code, ev in events.items():
            outs = catalogue.outcomes(code)
            if ev.outcome_system is None:
                pairs.append(code)
                if _unsure(ev.source, ev.listed):
                    unsure_pairs.append(code)
                continue
            outcomes_text[code] = ", ".join(outs)
            for o in outs.values():
                pairs.append(code + o.code)
                if _unsure(ev.source, ev.listed) or _unsure(o.source, o.listed):
                    unsure_pairs.append(code + o.code)
        starts = [t.valid_from for t in catalogue.pathway_types.values() if t.valid_from]
        return cls(
            edition=catalogue.edition,
            types=tuple(catalogue.pathway_types),
            events=tuple(events),
            with_outcome=tuple(c for c, ev in events.items() if ev.outcome_system is not None),
            pairs=tuple(pairs),
            unsure_pairs=tuple(unsure_pairs),
            outcomes_text=outcomes_text,
            table=table,
            index={code: i for i, code in enumerate(table["code"])},
            first_date=min(starts) if starts else dt.date(2019, 1, 1),
        )

    def column(self, name: str) -> pl.Expr:
        """A column of the combined table as a literal, to ``gather`` rows from by index."""
        return pl.lit(self.table[name])


def _unsure(source: str, listed: bool) -> bool:
    # Only a code that is both unlisted and unconfirmed is worth a finding: D01L is unlisted but
    # documented in the coding guide (KVL); D09/D10 are listed, only their start date is unsure.
    return source == "UNSURE" and not listed


# --- small expression helpers ---------------------------------------------------------------------


def _msg(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate literal text and string expressions into one message."""
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts])


def _quoted(value: pl.Expr) -> pl.Expr:
    return _msg("'", value.cast(pl.String).fill_null(""), "'")


def _where(column: str | None) -> pl.Expr:
    """``"<file> row <n>, column '<name>': "`` for a finding message."""
    head: list[str | pl.Expr] = [
        pl.col("source_file"),
        " row ",
        pl.col("source_row").cast(pl.String),
    ]
    if column is not None:
        head.append(f", column '{column}'")
    head.append(": ")
    return _msg(*head)


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
        The events (canonical columns plus ``__order``, ``__from_code``, ``__from_split`` and
        ``__exclusion``, the reason a row is not usable or null) and findings, lazily.
    """
    schema = opened.frame.collect_schema()
    dtypes = {c: schema[s] for c, s in resolved.items()}

    def raw(canonical: str) -> pl.Expr:
        return pl.col(f"__raw_{canonical}")

    has = resolved.__contains__
    null_text = pl.lit(None, dtype=pl.String)
    null_id = pl.lit(None, dtype=_ID)

    base = opened.frame.select(
        pl.lit(opened.label, dtype=pl.String).alias("source_file"),
        pl.col(ROW).cast(pl.UInt64).alias("source_row"),
        (pl.col(ROW).cast(pl.UInt64) + order_base).alias("__order"),
        *(pl.col(s).alias(f"__raw_{c}") for c, s in resolved.items()),
    )

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

    codings = {"care_level": (CARE_LEVEL_CODES, CARE_LEVEL), "sex": (_sex_codes(resolved), SEX)}
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
            _whole_number(raw("birth_year"), dtypes["birth_year"], *BIRTH_YEARS)
            if has("birth_year")
            else pl.lit(None, dtype=pl.Int16)
        ).alias("birth_year"),
        (
            _whole_number(raw("age"), dtypes["age"], *AGES)
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
    checks = _Checks(opened.label, resolved, dtypes, codes, as_of, today).all()
    events = staged.select(
        *CANONICAL_SCHEMA.names(),
        "__order",
        "__from_code",
        (~pl.col("__from_code") & pl.col("__s_event").is_not_null()).alias("__from_split"),
        _exclusion(checks).alias("__exclusion"),
    )
    return Normalised(events=events, findings=_findings(staged, checks))


def _exclusion(checks: list[_Check]) -> pl.Expr:
    """Why a row is not usable: the reason of its first excluding check, else null.

    domain/extract-and-timeline.md §1, "Which rows feed the timeline": the same flags that raise
    the findings decide the exclusion, so every excluded row has an error finding naming why.
    """
    reasons = [
        pl.when(c.flag.fill_null(value=False)).then(pl.lit(c.excludes, dtype=EXCLUSION_REASON))
        for c in checks
        if c.excludes is not None
    ]
    return pl.coalesce(reasons) if reasons else pl.lit(None, dtype=EXCLUSION_REASON)


def _findings(staged: pl.LazyFrame, checks: list[_Check]) -> pl.LazyFrame:
    """All findings of one source in a single pass over it.

    Equivalent to concatenating :func:`~pakkeforlop.findings.finding_rows` once per check, but
    without branching the plan once per check (which would read and normalise the source again for
    each): every flag is a boolean column, the rows with any flag are kept, and each is repeated
    once per flag it raises. Messages are built only for those rows.
    """
    flags = [c.flag.fill_null(value=False) for c in checks]
    which = pl.concat_list(
        [pl.when(f).then(pl.lit(i, dtype=pl.UInt16)) for i, f in enumerate(flags)]
    ).list.drop_nulls()
    exploded = (
        staged.filter(pl.any_horizontal(flags))
        .with_columns(which.alias("__check"))
        .explode("__check")
    )
    check = pl.col("__check")

    def per_check(exprs: list[pl.Expr | None]) -> pl.Expr:
        branches: list[pl.Expr] = [
            pl.when(check == i).then(e.cast(pl.String))
            for i, e in enumerate(exprs)
            if e is not None
        ]
        return pl.coalesce(branches or [pl.lit(None, dtype=pl.String)])

    def lookup(name: str, values: list[object]) -> pl.Expr:
        mapping = dict(enumerate(values))
        return check.replace_strict(mapping, return_dtype=FINDINGS_SCHEMA[name]).alias(name)

    specs = [rule(c.rule) for c in checks]
    return exploded.select(
        lookup("rule_id", [s.id for s in specs]),
        lookup("severity", [s.severity for s in specs]),
        lookup("npr_error", [s.npr_error for s in specs]),
        lookup("stage", [s.stage for s in specs]),
        per_check([c.message for c in checks]).alias("message"),
        pl.col("source_file"),
        pl.col("source_row"),
        lookup("column", [c.column for c in checks]),
        per_check([c.value for c in checks]).alias("value"),
        pl.col("patient_id"),
        pl.lit(None, dtype=pl.String).alias("pathway_key"),
    )


def _sex_codes(resolved: dict[str, str]) -> dict[str, str]:
    """``ErMann`` is a yes/no column (1 male, 0 female), unlike ``kjonn`` (1 male, 2 female)."""
    return IS_MALE_CODES if resolved.get("sex", "").lower() == "ermann" else SEX_CODES


@dataclass(frozen=True)
class _Check:
    rule: str
    flag: pl.Expr
    message: pl.Expr
    column: str | None
    value: pl.Expr | None
    excludes: str | None = None
    """The exclusion reason (:data:`~pakkeforlop.schema.EXCLUSION_REASONS`) a flagged row gets,
    or ``None`` when the row stays usable (a warning, or a value read as empty)."""


class _Checks:
    """The read checks of one source, as (rule, flag, message, column, value)."""

    def __init__(
        self,
        label: str,
        resolved: dict[str, str],
        dtypes: dict[str, pl.DataType],
        codes: CodeSets,
        as_of: dt.date | None,
        today: dt.date,
    ) -> None:
        self.label = label
        self.resolved = resolved
        self.dtypes = dtypes
        self.codes = codes
        self.as_of = as_of
        self.today = today

    def col(self, canonical: str) -> str:
        """The source column name shown to the user (the canonical name if absent)."""
        return self.resolved.get(canonical, canonical)

    def all(self) -> list[_Check]:
        """Every check, in the order findings are listed."""
        return [
            *self.missing(),
            *self.dates(),
            *self.code_checks(),
            *self.optional_values(),
        ]

    # -- required values --------------------------------------------------------------------------

    def missing(self) -> list[_Check]:
        """``missing_value``: a required column empty on a row."""
        out: list[_Check] = []
        for canonical, what in (
            ("patient_id", "a patient id"),
            ("institution_id", "an institution id"),
        ):
            column = self.col(canonical)
            out.append(
                _Check(
                    "missing_value",
                    pl.col(canonical).is_null(),
                    _msg(_where(column), f"empty; expected {what}"),
                    column,
                    None,
                    excludes=f"missing_{canonical}",
                )
            )
        date_col = self.col("event_date")
        out.append(
            _Check(
                "missing_value",
                _null_and_blank("event_date", self.dtypes["event_date"]),
                _msg(_where(date_col), f"empty; expected a date ({_DATE_EXPECTED})"),
                date_col,
                None,
                excludes="missing_event_date",
            )
        )
        code_cols = [self.resolved[c] for c in ("code", "event") if c in self.resolved]
        code_col = "/".join(code_cols)
        out.append(
            _Check(
                "missing_value",
                pl.col("__code").is_null() & pl.col("__s_event").is_null(),
                _msg(_where(code_col), "empty; expected a pathway code (combined code or event)"),
                code_col,
                None,
                excludes="missing_code",
            )
        )
        type_col = self.col("pathway_type")
        out.append(
            _Check(
                "missing_value",
                (pl.col("event") == "A") & pl.col("__pathway_type").is_null(),
                _msg(
                    _where(type_col),
                    "empty on a start (A); expected the pathway type registered with the start,"
                    f" one of {', '.join(self.codes.types)}",
                ),
                type_col,
                None,
                excludes="missing_pathway_type",
            )
        )
        return out

    # -- dates ------------------------------------------------------------------------------------

    def dates(self) -> list[_Check]:
        """``bad_date``, ``date_before_2019`` and ``date_after_reference``.

        A date after ``as_of`` is after the reference date; without ``as_of``, a date after
        today is (the reference date is then the latest usable date, which is never later).
        """
        column = self.col("event_date")
        raw = pl.col("__raw_event_date")
        value = raw.cast(pl.String)
        out = [
            _Check(
                "bad_date",
                _null_but_present("event_date", self.dtypes["event_date"]),
                _msg(_where(column), _quoted(raw), f" is not a date; expected {_DATE_EXPECTED}"),
                column,
                value,
                excludes="bad_date",
            ),
            _Check(
                "date_before_2019",
                pl.col("event_date") < self.codes.first_date,
                _msg(
                    _where(column),
                    _quoted(raw),
                    f" is before {self.codes.first_date.isoformat()}, when the pathways came into"
                    " force; expected a later date",
                ),
                column,
                value,
                excludes="date_before_2019",
            ),
        ]
        if self.as_of is not None:
            after = (
                f" is after the reference date {self.as_of.isoformat()} (as_of);"
                " expected a date on or before it"
            )
        else:
            after = (
                f" is after today ({self.today.isoformat()}): a registration cannot be dated in"
                " the future; expected a date on or before today"
            )
        out.append(
            _Check(
                "date_after_reference",
                pl.col("event_date") > (self.as_of or self.today),
                _msg(_where(column), _quoted(raw), after),
                column,
                value,
                excludes="date_after_reference",
            )
        )
        return out

    # -- codes ------------------------------------------------------------------------------------

    def _origins(self, part: str) -> list[tuple[pl.Expr, str, bool]]:
        """Where a code part came from: (row condition, column shown, from the combined code).

        A part decoded from the combined code is reported on the code column, the message then
        quoting the code; a part from the split columns on its own column.
        """
        out: list[tuple[pl.Expr, str, bool]] = []
        if "code" in self.resolved:
            out.append((pl.col("__from_code"), self.resolved["code"], True))
        split_col = self.resolved.get(part) or self.resolved.get("event") or part
        out.append((~pl.col("__from_code"), split_col, False))
        return out

    def code_checks(self) -> list[_Check]:
        """Code rules: ``invalid_code`` and the validity rules of domain/codes.md §5."""
        c = self.codes
        ed = f"the {c.edition} catalogue"
        t, e, o = pl.col("__pathway_type"), pl.col("__event"), pl.col("__outcome")
        known = pl.col("__type_known")
        ev_known = pl.col("__event_known")
        takes, pair = pl.col("__takes_outcome"), pl.col("__pair_known")
        key = pl.col("__key")
        out: list[_Check] = []
        if "code" in self.resolved:
            code_col = self.resolved["code"]
            out.append(
                _Check(
                    "invalid_code",
                    pl.col("__code").is_not_null() & ~pl.col("__from_code"),
                    _msg(
                        _where(code_col),
                        _quoted(pl.col("__raw_code")),
                        " is not a combined code; expected type Dnn, an event letter and an"
                        " optional outcome, e.g. 'D11CU'",
                    ),
                    code_col,
                    pl.col("__raw_code").cast(pl.String),
                    excludes="invalid_code",
                )
            )

        def per_origin(
            rule: str,
            part: str,
            flag: pl.Expr,
            text: list[str | pl.Expr],
            value: pl.Expr,
            *,
            quote_split: bool = False,
            excludes: str | None = None,
        ) -> None:
            for cond, column, from_code in self._origins(part):
                head: list[str | pl.Expr] = []
                if from_code:
                    head = [_quoted(pl.col("__code")), ": "]
                elif quote_split:
                    head = [_quoted(value), ": "]
                out.append(
                    _Check(
                        rule,
                        flag & cond,
                        _msg(_where(column), *head, *text),
                        column,
                        pl.col("__code") if from_code else value,
                        excludes=excludes,
                    )
                )

        per_origin(
            "invalid_code",
            "pathway_type",
            t.is_not_null() & ~known,
            [_quoted(t), f" is not a pathway type in {ed}; expected one of {', '.join(c.types)}"],
            t,
            excludes="invalid_code",
        )
        per_origin(
            "invalid_code",
            "event",
            e.is_not_null() & ~ev_known,
            [_quoted(e), f" is not an event in {ed}; expected one of {', '.join(c.events)}"],
            e,
            excludes="invalid_code",
        )
        outcome_list = e.replace_strict(c.outcomes_text, default="", return_dtype=pl.String)
        per_origin(
            "invalid_code",
            "outcome",
            ev_known & takes & o.is_not_null() & ~pair,
            [
                _quoted(o),
                " is not an outcome of event ",
                e,
                f" in {ed}; expected one of ",
                outcome_list,
            ],
            o,
            excludes="invalid_code",
        )
        per_origin(
            "missing_outcome",
            "outcome",
            ev_known & takes & o.is_null(),
            [
                "no outcome, but event ",
                e,
                " takes one; expected one of ",
                outcome_list,
            ],
            o,
            excludes="invalid_code",
        )
        per_origin(
            "unexpected_outcome",
            "outcome",
            ev_known & ~takes & o.is_not_null(),
            [
                "outcome ",
                _quoted(o),
                " on event ",
                e,
                ", which takes none; expected no outcome",
            ],
            o,
            excludes="invalid_code",
        )
        fits = ev_known & pair
        per_origin(
            "code_invalid_for_type",
            "event",
            known & fits & pl.col("__key_id").is_null(),
            [
                "event ",
                e,
                pl.when(o.is_not_null()).then(_msg(" with outcome ", o)).otherwise(pl.lit("")),
                " is not valid for pathway type ",
                t,
                f" in {ed}; expected a code the catalogue lists for ",
                t,
            ],
            key,
            quote_split=True,
            excludes="code_invalid_for_type",
        )
        key_id = pl.col("__key_id")
        valid_from = c.column("valid_from").gather(key_id)
        valid_to = c.column("valid_to").gather(key_id)
        date = pl.col("event_date")
        outside = (valid_from.is_not_null() & (date < valid_from)) | (
            valid_to.is_not_null() & (date > valid_to)
        )
        validity = _msg(
            pl.when(valid_from.is_not_null())
            .then(_msg(" from ", valid_from.cast(pl.String)))
            .otherwise(pl.lit("")),
            pl.when(valid_to.is_not_null())
            .then(_msg(" to ", valid_to.cast(pl.String)))
            .otherwise(pl.lit("")),
        )
        per_origin(
            "code_outside_validity",
            "event",
            key_id.is_not_null() & outside & (date >= c.first_date),
            [
                "registered on ",
                date.cast(pl.String),
                ", outside the code's validity in the catalogue; expected a date",
                validity,
            ],
            key,
            quote_split=True,
            excludes="code_outside_validity",
        )
        unsure = (
            pl.when(t.is_not_null())
            .then(c.column("unsure").gather(key_id).fill_null(value=False))
            # Joined only where there is no type (the rest take the table's flag).
            .otherwise(
                pl.concat_str(pl.when(t.is_null()).then(e), o.fill_null("")).is_in(c.unsure_pairs)
            )
        )
        per_origin(
            "code_unsure",
            "event",
            fits & (known | t.is_null()) & unsure,
            [
                "accepted, but the code rests on an unconfirmed ([UNSURE]) or unlisted entry of ",
                ed,
            ],
            pl.coalesce(key, pl.concat_str(e, o.fill_null(""))),
            quote_split=True,
        )
        out.extend(self.mismatches())
        return out

    def mismatches(self) -> list[_Check]:
        """``code_mismatch``: a combined code and split columns on one row that disagree."""
        if "code" not in self.resolved:
            return []
        code_col = self.resolved["code"]
        out: list[_Check] = []
        names = {"pathway_type": "type", "event": "event", "outcome": "outcome"}
        for part, word in names.items():
            if part not in self.resolved:
                continue
            split = pl.col(f"__s_{part}")
            decoded = pl.col("__decoded").struct.field(part)
            column = self.resolved[part]
            out.append(
                _Check(
                    "code_mismatch",
                    pl.col("__from_code")
                    & split.is_not_null()
                    & (decoded.is_null() | (split != decoded)),
                    _msg(
                        _where(column),
                        _quoted(pl.col(f"__raw_{part}")),
                        " disagrees with the combined code ",
                        _quoted(pl.col("__code")),
                        f" in column '{code_col}' ({word} ",
                        decoded.fill_null("none"),
                        "); expected the same ",
                        word,
                        "; the combined code is used",
                    ),
                    column,
                    pl.col(f"__raw_{part}").cast(pl.String),
                )
            )
        return out

    # -- optional coded columns -------------------------------------------------------------------

    def optional_values(self) -> list[_Check]:
        """``bad_value``: an optional column holding a value outside its coding."""
        expected = {
            "care_level": "1, 2 or 3 (døgn, dag, poliklinikk) or inpatient, day, outpatient",
            "sex": (
                "1 (male) or 0 (female)"
                if _sex_codes(self.resolved) is IS_MALE_CODES
                else "1 (male), 2 (female), 0 or 9 (unknown), or male, female, unknown"
            ),
            "birth_year": f"a whole year between {BIRTH_YEARS[0]} and {BIRTH_YEARS[1]}",
            "age": f"a whole number of years between {AGES[0]} and {AGES[1]}",
            "municipality": "a 4-digit municipality number (3 digits get a leading 0)",
        }
        out: list[_Check] = []
        for canonical, what in expected.items():
            if canonical not in self.resolved:
                continue
            column = self.resolved[canonical]
            raw = pl.col(f"__raw_{canonical}")
            out.append(
                _Check(
                    "bad_value",
                    _null_but_present(canonical, self.dtypes[canonical]),
                    _msg(_where(column), _quoted(raw), f" is not valid here; expected {what}"),
                    column,
                    raw.cast(pl.String),
                )
            )
        return out


def _present(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Whether a raw value is there (not null, and not blank text)."""
    if dtype == pl.String:
        return (raw.str.strip_chars().str.len_bytes() > 0).fill_null(value=False)
    return raw.is_not_null()


def _null_but_present(canonical: str, dtype: pl.DataType) -> pl.Expr:
    """Whether a column is null although its raw value is there: the value could not be read.

    The raw value is trimmed only on the rows where the column is null (usually none).
    """
    missing = pl.col(canonical).is_null()
    return missing & _present(pl.when(missing).then(pl.col(f"__raw_{canonical}")), dtype)


def _null_and_blank(canonical: str, dtype: pl.DataType) -> pl.Expr:
    """Whether a column is null because its raw value is missing or blank."""
    missing = pl.col(canonical).is_null()
    return missing & ~_present(pl.when(missing).then(pl.col(f"__raw_{canonical}")), dtype)
