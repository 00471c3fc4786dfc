"""The read checks: one small builder per check, their findings, and why a row is excluded.

Each entry of :data:`READ_CHECKS` is a short function from a source's :class:`CheckContext` to
the checks it adds (a rule, a Boolean flag over the staged columns of
:func:`pakkeforlop.io.normalise.normalise`, a message naming file, row, column, value and what
was expected, and the exclusion reason a flagged row gets). The same flags decide the findings
(:func:`read_findings`) and whether a row may feed the timeline (:func:`exclusion`): see
domain/extract-and-timeline.md §1 ("Which rows feed the timeline") and domain/codes.md §5–§6.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

import polars as pl

from pakkeforlop.findings import rule
from pakkeforlop.io.codesets import CodeSets
from pakkeforlop.io.codings import register_codings
from pakkeforlop.schema import EXCLUSION_REASON, FINDINGS_SCHEMA

__all__ = [
    "DATE_EXPECTED",
    "READ_CHECKS",
    "CheckContext",
    "ReadCheck",
    "exclusion",
    "read_checks",
    "read_findings",
]

DATE_EXPECTED: Final = "dd.mm.yyyy or yyyy-mm-dd"


@dataclass(frozen=True)
class ReadCheck:
    """One check: what it flags, what its finding says, and what a flagged row becomes."""

    rule: str
    flag: pl.Expr
    message: pl.Expr
    column: str | None
    value: pl.Expr | None
    excludes: str | None = None
    """The exclusion reason (:data:`~pakkeforlop.schema.EXCLUSION_REASONS`) a flagged row gets,
    or ``None`` when the row stays usable (a warning, or a value read as empty)."""


@dataclass(frozen=True)
class CheckContext:
    """What the checks of one source need to know."""

    label: str
    resolved: dict[str, str]
    """Canonical column → source column."""
    dtypes: dict[str, pl.DataType]
    """Canonical column → the source column's dtype."""
    codes: CodeSets
    as_of: dt.date | None
    today: dt.date
    header_fields: int = 0
    """Columns in the source's header (CSV: the number of fields every line should have)."""

    def col(self, canonical: str) -> str:
        """The source column name shown to the user (the canonical name if absent)."""
        return self.resolved.get(canonical, canonical)

    def origins(self, part: str) -> list[tuple[pl.Expr, str, bool]]:
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


class CheckBuilder(NamedTuple):
    """A named check: a one-line description and the builder of its checks."""

    description: str
    build: Callable[[CheckContext], list[ReadCheck]]


# --- message helpers ------------------------------------------------------------------------------


def _msg(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate literal text and string expressions into one message."""
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts])


#: Longest value quoted in a message; longer ones are cut (a 50 MB field must not be echoed).
_QUOTE_CHARS: Final = 60


def _quoted(value: pl.Expr) -> pl.Expr:
    text = value.cast(pl.String).fill_null("")
    cut = (
        pl.when(text.str.len_chars() > _QUOTE_CHARS)
        .then(pl.concat_str(text.str.slice(0, _QUOTE_CHARS), pl.lit("...")))
        .otherwise(text)
    )
    return _msg("'", cut, "'")


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


# staged code parts (see pakkeforlop.io.normalise)
_TYPE, _EVENT, _OUTCOME = pl.col("__pathway_type"), pl.col("__event"), pl.col("__outcome")
_TYPE_KNOWN, _EVENT_KNOWN = pl.col("__type_known"), pl.col("__event_known")
_TAKES, _PAIR = pl.col("__takes_outcome"), pl.col("__pair_known")
_KEY = pl.col("__key")


def _per_origin(
    ctx: CheckContext,
    rule_id: str,
    part: str,
    flag: pl.Expr,
    text: list[str | pl.Expr],
    value: pl.Expr,
    *,
    quote_split: bool = False,
    excludes: str | None = None,
) -> list[ReadCheck]:
    """A code check once per origin of the part (combined code, split column)."""
    out = []
    for cond, column, from_code in ctx.origins(part):
        head: list[str | pl.Expr] = []
        if from_code:
            head = [_quoted(pl.col("__code")), ": "]
        elif quote_split:
            head = [_quoted(value), ": "]
        out.append(
            ReadCheck(
                rule_id,
                flag & cond,
                _msg(_where(column), *head, *text),
                column,
                pl.col("__code") if from_code else value,
                excludes=excludes,
            )
        )
    return out


def _outcome_list(ctx: CheckContext) -> pl.Expr:
    return _EVENT.replace_strict(ctx.codes.outcomes_text, default="", return_dtype=pl.String)


def _edition(ctx: CheckContext) -> str:
    return f"the {ctx.codes.edition} catalogue"


# --- the checks -----------------------------------------------------------------------------------


def wrong_field_count(ctx: CheckContext) -> list[ReadCheck]:
    """``wrong_field_count``: a CSV line with more or fewer fields than the header."""
    n = ctx.header_fields
    fields = pl.col("__fields")
    return [
        ReadCheck(
            "wrong_field_count",
            fields.is_not_null() & (fields != n),
            _msg(
                _where(None),
                fields.cast(pl.String),
                f" fields, but the header has {n}; expected {n} fields on every line (check the"
                " separator and quoting); the row is excluded",
            ),
            None,
            fields.cast(pl.String),
            excludes="wrong_field_count",
        )
    ]


def missing_ids(ctx: CheckContext) -> list[ReadCheck]:
    """``missing_value``: no patient or institution id."""
    out = []
    for canonical, what in (
        ("patient_id", "a patient id"),
        ("institution_id", "an institution id"),
    ):
        column = ctx.col(canonical)
        out.append(
            ReadCheck(
                "missing_value",
                pl.col(canonical).is_null(),
                _msg(_where(column), f"empty; expected {what}"),
                column,
                None,
                excludes=f"missing_{canonical}",
            )
        )
    return out


def missing_date(ctx: CheckContext) -> list[ReadCheck]:
    """``missing_value``: no event date."""
    column = ctx.col("event_date")
    return [
        ReadCheck(
            "missing_value",
            _null_and_blank("event_date", ctx.dtypes["event_date"]),
            _msg(_where(column), f"empty; expected a date ({DATE_EXPECTED})"),
            column,
            None,
            excludes="missing_event_date",
        )
    ]


def missing_code(ctx: CheckContext) -> list[ReadCheck]:
    """``missing_value``: neither a combined code nor an event."""
    column = "/".join(ctx.resolved[c] for c in ("code", "event") if c in ctx.resolved)
    return [
        ReadCheck(
            "missing_value",
            pl.col("__code").is_null() & pl.col("__s_event").is_null(),
            _msg(_where(column), "empty; expected a pathway code (combined code or event)"),
            column,
            None,
            excludes="missing_code",
        )
    ]


def missing_type_on_start(ctx: CheckContext) -> list[ReadCheck]:
    """``missing_value``: a start (A) without its pathway type."""
    column = ctx.col("pathway_type")
    return [
        ReadCheck(
            "missing_value",
            (pl.col("event") == "A") & _TYPE.is_null(),
            _msg(
                _where(column),
                "empty on a start (A); expected the pathway type registered with the start,"
                f" one of {', '.join(ctx.codes.types)}",
            ),
            column,
            None,
            excludes="missing_pathway_type",
        )
    ]


def bad_date(ctx: CheckContext) -> list[ReadCheck]:
    """``bad_date``: a date that cannot be read."""
    column, raw = ctx.col("event_date"), pl.col("__raw_event_date")
    return [
        ReadCheck(
            "bad_date",
            _null_but_present("event_date", ctx.dtypes["event_date"]),
            _msg(_where(column), _quoted(raw), f" is not a date; expected {DATE_EXPECTED}"),
            column,
            raw.cast(pl.String),
            excludes="bad_date",
        )
    ]


def date_before_2019(ctx: CheckContext) -> list[ReadCheck]:
    """``date_before_2019``: before the pathways came into force."""
    column, raw = ctx.col("event_date"), pl.col("__raw_event_date")
    first = ctx.codes.first_date.isoformat()
    return [
        ReadCheck(
            "date_before_2019",
            pl.col("event_date") < ctx.codes.first_date,
            _msg(
                _where(column),
                _quoted(raw),
                f" is before {first}, when the pathways came into force; expected a later date",
            ),
            column,
            raw.cast(pl.String),
            excludes="date_before_2019",
        )
    ]


def date_after_reference(ctx: CheckContext) -> list[ReadCheck]:
    """``date_after_reference``: after ``as_of``, or, without it, after today.

    Without ``as_of`` the reference date is the latest usable date, which is never later than
    today; a registration cannot be dated in the future.
    """
    column, raw = ctx.col("event_date"), pl.col("__raw_event_date")
    if ctx.as_of is not None:
        after = (
            f" is after the reference date {ctx.as_of.isoformat()} (as_of);"
            " expected a date on or before it"
        )
    else:
        after = (
            f" is after today ({ctx.today.isoformat()}): a registration cannot be dated in the"
            " future; expected a date on or before today"
        )
    return [
        ReadCheck(
            "date_after_reference",
            pl.col("event_date") > (ctx.as_of or ctx.today),
            _msg(_where(column), _quoted(raw), after),
            column,
            raw.cast(pl.String),
            excludes="date_after_reference",
        )
    ]


def undecodable_code(ctx: CheckContext) -> list[ReadCheck]:
    """``invalid_code``: a combined code without the combined shape."""
    if "code" not in ctx.resolved:
        return []
    column = ctx.resolved["code"]
    return [
        ReadCheck(
            "invalid_code",
            pl.col("__code").is_not_null() & ~pl.col("__from_code"),
            _msg(
                _where(column),
                _quoted(pl.col("__raw_code")),
                " is not a combined code; expected type Dnn, an event letter and an optional"
                " outcome, e.g. 'D11CU'",
            ),
            column,
            pl.col("__raw_code").cast(pl.String),
            excludes="invalid_code",
        )
    ]


def unknown_type(ctx: CheckContext) -> list[ReadCheck]:
    """``invalid_code``: a pathway type the catalogue does not have."""
    expected = f" is not a pathway type in {_edition(ctx)}; expected one of"
    return _per_origin(
        ctx,
        "invalid_code",
        "pathway_type",
        _TYPE.is_not_null() & ~_TYPE_KNOWN,
        [_quoted(_TYPE), f"{expected} {', '.join(ctx.codes.types)}"],
        _TYPE,
        excludes="invalid_code",
    )


def unknown_event(ctx: CheckContext) -> list[ReadCheck]:
    """``invalid_code``: an event letter the catalogue does not have."""
    expected = f" is not an event in {_edition(ctx)}; expected one of"
    return _per_origin(
        ctx,
        "invalid_code",
        "event",
        _EVENT.is_not_null() & ~_EVENT_KNOWN,
        [_quoted(_EVENT), f"{expected} {', '.join(ctx.codes.events)}"],
        _EVENT,
        excludes="invalid_code",
    )


def unknown_outcome(ctx: CheckContext) -> list[ReadCheck]:
    """``invalid_code``: an outcome its event does not take."""
    return _per_origin(
        ctx,
        "invalid_code",
        "outcome",
        _EVENT_KNOWN & _TAKES & _OUTCOME.is_not_null() & ~_PAIR,
        [
            _quoted(_OUTCOME),
            " is not an outcome of event ",
            _EVENT,
            f" in {_edition(ctx)}; expected one of ",
            _outcome_list(ctx),
        ],
        _OUTCOME,
        excludes="invalid_code",
    )


def missing_outcome(ctx: CheckContext) -> list[ReadCheck]:
    """``missing_outcome``: an event that takes an outcome (C, S, U, X, H) has none."""
    return _per_origin(
        ctx,
        "missing_outcome",
        "outcome",
        _EVENT_KNOWN & _TAKES & _OUTCOME.is_null(),
        ["no outcome, but event ", _EVENT, " takes one; expected one of ", _outcome_list(ctx)],
        _OUTCOME,
        excludes="invalid_code",
    )


def unexpected_outcome(ctx: CheckContext) -> list[ReadCheck]:
    """``unexpected_outcome``: an outcome on an event that takes none."""
    return _per_origin(
        ctx,
        "unexpected_outcome",
        "outcome",
        _EVENT_KNOWN & ~_TAKES & _OUTCOME.is_not_null(),
        [
            "outcome ",
            _quoted(_OUTCOME),
            " on event ",
            _EVENT,
            ", which takes none; expected no outcome",
        ],
        _OUTCOME,
        excludes="invalid_code",
    )


def invalid_for_type(ctx: CheckContext) -> list[ReadCheck]:
    """``code_invalid_for_type``: a code the catalogue does not list for its type (§5)."""
    with_outcome = pl.when(_OUTCOME.is_not_null()).then(_msg(" with outcome ", _OUTCOME))
    return _per_origin(
        ctx,
        "code_invalid_for_type",
        "event",
        _TYPE_KNOWN & _EVENT_KNOWN & _PAIR & pl.col("__key_id").is_null(),
        [
            "event ",
            _EVENT,
            with_outcome.otherwise(pl.lit("")),
            " is not valid for pathway type ",
            _TYPE,
            f" in {_edition(ctx)}; expected a code the catalogue lists for ",
            _TYPE,
        ],
        _KEY,
        quote_split=True,
        excludes="code_invalid_for_type",
    )


def outside_validity(ctx: CheckContext) -> list[ReadCheck]:
    """``code_outside_validity``: registered outside the code's validity (D06 A before 2019-02-15).

    Excluded like any invalid code (domain/extract-and-timeline.md §1).
    """
    key_id = pl.col("__key_id")
    valid_from = ctx.codes.column("valid_from").gather(key_id)
    valid_to = ctx.codes.column("valid_to").gather(key_id)
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
    return _per_origin(
        ctx,
        "code_outside_validity",
        "event",
        key_id.is_not_null() & outside & (date >= ctx.codes.first_date),
        [
            "registered on ",
            date.cast(pl.String),
            ", outside the code's validity in the catalogue; expected a date",
            validity,
        ],
        _KEY,
        quote_split=True,
        excludes="code_outside_validity",
    )


def unsure_code(ctx: CheckContext) -> list[ReadCheck]:
    """``code_unsure``: accepted, but the code rests on an unconfirmed, unlisted entry."""
    c = ctx.codes
    key_id = pl.col("__key_id")
    unsure = (
        pl.when(_TYPE.is_not_null())
        .then(c.column("unsure").gather(key_id).fill_null(value=False))
        # Joined only where there is no type (the rest take the table's flag).
        .otherwise(
            pl.concat_str(pl.when(_TYPE.is_null()).then(_EVENT), _OUTCOME.fill_null("")).is_in(
                c.unsure_pairs
            )
        )
    )
    return _per_origin(
        ctx,
        "code_unsure",
        "event",
        _EVENT_KNOWN & _PAIR & (_TYPE_KNOWN | _TYPE.is_null()) & unsure,
        [
            "accepted, but the code rests on an unconfirmed ([UNSURE]) or unlisted entry of ",
            _edition(ctx),
        ],
        pl.coalesce(_KEY, pl.concat_str(_EVENT, _OUTCOME.fill_null(""))),
        quote_split=True,
    )


def code_mismatch(ctx: CheckContext) -> list[ReadCheck]:
    """``code_mismatch``: a combined code and split columns on one row that disagree."""
    if "code" not in ctx.resolved:
        return []
    code_col = ctx.resolved["code"]
    out = []
    for part, word in (("pathway_type", "type"), ("event", "event"), ("outcome", "outcome")):
        if part not in ctx.resolved:
            continue
        split = pl.col(f"__s_{part}")
        decoded = pl.col("__decoded").struct.field(part)
        column = ctx.resolved[part]
        out.append(
            ReadCheck(
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


def bad_optional_value(ctx: CheckContext) -> list[ReadCheck]:
    """``bad_value``: an optional column outside its coding or range (read as empty)."""
    codings = register_codings()
    years, ages = codings.ranges["birth_year"], codings.ranges["age"]
    is_male = codings.sex_coding(ctx.resolved.get("sex", "")) is codings.is_male
    expected = {
        "care_level": "1, 2 or 3 (døgn, dag, poliklinikk) or inpatient, day, outpatient",
        "sex": (
            "1 (male) or 0 (female)"
            if is_male
            else "1 (male), 2 (female), 0 or 9 (unknown), or male, female, unknown"
        ),
        "birth_year": f"a whole year between {years[0]} and {years[1]}",
        "age": f"a whole number of years between {ages[0]} and {ages[1]}",
        "municipality": "a 4-digit municipality number (3 digits get a leading 0)",
    }
    out = []
    for canonical, what in expected.items():
        if canonical not in ctx.resolved:
            continue
        column = ctx.resolved[canonical]
        raw = pl.col(f"__raw_{canonical}")
        out.append(
            ReadCheck(
                "bad_value",
                _null_but_present(canonical, ctx.dtypes[canonical]),
                _msg(_where(column), _quoted(raw), f" is not valid here; expected {what}"),
                column,
                raw.cast(pl.String),
            )
        )
    return out


#: Every read check, in the order findings are listed; a row excluded by several is counted
#: under the first (the order of :data:`~pakkeforlop.schema.EXCLUSION_REASONS`).
READ_CHECKS: Final[dict[str, CheckBuilder]] = {
    "wrong_field_count": CheckBuilder(
        "a CSV line with more or fewer fields than the header", wrong_field_count
    ),
    "missing_ids": CheckBuilder("no patient or institution id", missing_ids),
    "missing_date": CheckBuilder("no event date", missing_date),
    "missing_code": CheckBuilder("neither a combined code nor an event", missing_code),
    "missing_type_on_start": CheckBuilder(
        "a start (A) without its pathway type", missing_type_on_start
    ),
    "bad_date": CheckBuilder("a date that cannot be read", bad_date),
    "date_before_2019": CheckBuilder("before the pathways came into force", date_before_2019),
    "date_after_reference": CheckBuilder(
        "after the reference date (or today)", date_after_reference
    ),
    "undecodable_code": CheckBuilder(
        "a combined code without the combined shape", undecodable_code
    ),
    "unknown_type": CheckBuilder("an unknown pathway type", unknown_type),
    "unknown_event": CheckBuilder("an unknown event letter", unknown_event),
    "unknown_outcome": CheckBuilder("an outcome its event does not take", unknown_outcome),
    "missing_outcome": CheckBuilder("an event that takes an outcome has none", missing_outcome),
    "unexpected_outcome": CheckBuilder(
        "an outcome on an event that takes none", unexpected_outcome
    ),
    "invalid_for_type": CheckBuilder("a code not listed for its type", invalid_for_type),
    "outside_validity": CheckBuilder("outside the code's validity dates", outside_validity),
    "unsure_code": CheckBuilder("an unconfirmed, unlisted code (accepted)", unsure_code),
    "code_mismatch": CheckBuilder("combined code and split columns disagree", code_mismatch),
    "bad_optional_value": CheckBuilder(
        "an optional value outside its coding (read as empty)", bad_optional_value
    ),
}


def read_checks(ctx: CheckContext) -> list[ReadCheck]:
    """Every check of one source, in :data:`READ_CHECKS` order."""
    return [check for builder in READ_CHECKS.values() for check in builder.build(ctx)]


def exclusion(checks: list[ReadCheck]) -> pl.Expr:
    """Why a row is not usable: the reason of its first excluding check, else null.

    domain/extract-and-timeline.md §1, "Which rows feed the timeline": the same flags that raise
    the findings decide the exclusion, so every excluded row has an error finding naming why.
    """
    blank = pl.when(pl.col("__blank")).then(pl.lit("blank_line", dtype=EXCLUSION_REASON))
    reasons = [
        pl.when(c.flag.fill_null(value=False)).then(pl.lit(c.excludes, dtype=EXCLUSION_REASON))
        for c in checks
        if c.excludes is not None
    ]
    return pl.coalesce([blank, *reasons])


def read_findings(staged: pl.LazyFrame, checks: list[ReadCheck]) -> pl.LazyFrame:
    """All findings of one source in a single pass over it.

    Equivalent to concatenating :func:`~pakkeforlop.findings.finding_rows` once per check, but
    without branching the plan once per check (which would read and normalise the source again
    for each): every flag is a boolean column, the rows with any flag are kept, and each is
    repeated once per flag it raises. Messages are built only for those rows.
    """
    flags = [c.flag.fill_null(value=False) for c in checks]
    which = pl.concat_list(
        [pl.when(f).then(pl.lit(i, dtype=pl.UInt16)) for i, f in enumerate(flags)]
    ).list.drop_nulls()
    exploded = (
        # a blank line is ignored (excluded as blank_line), without a finding
        staged.filter(~pl.col("__blank") & pl.any_horizontal(flags))
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
