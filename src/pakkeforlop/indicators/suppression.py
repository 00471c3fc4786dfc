"""Small-cell suppression: named policies held in data, with secondary suppression.

See domain/indicators.md §4. Policies live in ``data/suppression.toml``: ``nki`` (the default,
the national quality-indicator rule: hide when the denominator is under 5 or the numerator is
1–4) and ``npr`` (the register's pathway statistics: hide counts under 3).

A hidden cell gets ``suppressed = true`` and blank ``value``, ``ci_low``, ``ci_high``,
``meets_target``, duration statistics and ``numerator``; ``denominator`` is blanked too when it is
itself a small count. Secondary suppression: among the stratum rows of one indicator and period,
when a cell is hidden the next-smallest cells (by denominator, then numerator, then stratum
values) are hidden as well, with the same columns blanked, until at least two cells are hidden
and the hidden cells *together* — their summed numerator and denominator, which anyone can get
as the overall row minus the shown cells — are not a small cell either; when no set of stratum
cells will do, they and the overall row are all hidden.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources

import polars as pl

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.models import SuppressionPolicy

__all__ = [
    "DEFAULT_POLICY",
    "apply_margin_suppression",
    "apply_suppression",
    "suppression_policies",
    "suppression_policy",
]

#: Columns blanked in every hidden cell (besides ``numerator`` and, when small, ``denominator``).
BLANKED = ("value", "ci_low", "ci_high", "meets_target", "median_days", "p75_days", "p90_days")


@cache
def _raw() -> tuple[str, tuple[SuppressionPolicy, ...]]:
    text = (
        resources.files("pakkeforlop.indicators")
        .joinpath("data", "suppression.toml")
        .read_text(encoding="utf-8")
    )
    raw = tomllib.loads(text)
    return str(raw["default"]), tuple(SuppressionPolicy.model_validate(p) for p in raw["policy"])


#: Name of the policy used when none is named.
DEFAULT_POLICY = "nki"


def suppression_policies() -> dict[str, SuppressionPolicy]:
    """The shipped suppression policies, by name.

    Returns:
        ``{"nki": ..., "npr": ...}``.

    Examples:
        >>> sorted(suppression_policies())
        ['nki', 'npr']
        >>> suppression_policies()["nki"].min_denominator
        5
    """
    return {p.name: p for p in _raw()[1]}


def suppression_policy(policy: str | SuppressionPolicy | None = None) -> SuppressionPolicy:
    """Resolve a policy name (or pass a policy through).

    Args:
        policy: A name (``"nki"``, ``"npr"``), a policy, or ``None`` for the default.

    Returns:
        The policy.

    Raises:
        ConfigurationError: If the name is unknown.

    Examples:
        >>> suppression_policy().name
        'nki'
    """
    if isinstance(policy, SuppressionPolicy):
        return policy
    name = policy or _raw()[0]
    policies = suppression_policies()
    if name not in policies:
        msg = f"unknown suppression policy {name!r}; expected one of {', '.join(policies)}"
        raise ConfigurationError(msg)
    return policies[name]


def _small_den(den: pl.Expr, pol: SuppressionPolicy) -> pl.Expr:
    return (den < pol.min_denominator).fill_null(value=False)


def _small(den: pl.Expr, num: pl.Expr, pol: SuppressionPolicy) -> pl.Expr:
    """Whether counts form a small cell under the policy (the primary rule)."""
    small = _small_den(den, pol)
    if pol.hidden_numerator is not None:
        lo, hi = pol.hidden_numerator
        small = small | num.is_between(lo, hi).fill_null(value=False)
    return small


def _secondary(
    df: pl.DataFrame, pol: SuppressionPolicy, keys: list[str], by: Sequence[str]
) -> pl.DataFrame:
    """Mark ``_sec``: the cells secondary suppression hides, per indicator and period.

    The stratum cells are ordered hidden first, then by denominator, numerator and stratum
    values; the hidden set is the shortest prefix of that order that holds every primary cell,
    at least two cells, and whose counts together (what anyone can compute as the overall row
    minus the shown cells) are not a small cell themselves (domain/indicators.md §4). When no
    prefix will do, every stratum cell and the overall row are hidden.
    """
    strata = ~pl.col("_total")
    order = [*keys, "_total", "_p", "_rule_den", "numerator", *by]
    ranked = df.sort(
        order,
        descending=[False] * len(keys) + [False, True, False, False] + [False] * len(by),
        nulls_last=True,
    )
    in_strata = pl.when(strata)
    rank = in_strata.then(strata.cast(pl.Int64).cum_sum().over(keys))
    cum_den = in_strata.then(pl.col("_rule_den").fill_null(0).cum_sum().over(keys))
    cum_num = in_strata.then(pl.col("numerator").fill_null(0).cum_sum().over(keys))
    n_primary = (pl.col("_p") & strata).sum().over(keys)
    need = pl.when(n_primary == 1).then(2).otherwise(n_primary)
    ranked = ranked.with_columns(
        rank.alias("_rank"),
        n_primary.alias("_np"),
        (pl.col("_pden") & strata).any().over(keys).alias("_pden_any"),
        (strata & (rank >= need) & ~_small(cum_den, cum_num, pol)).alias("_enough"),
    )
    first_enough = pl.col("_rank").filter(pl.col("_enough")).min().over(keys)
    hide_all = (pl.col("_np") > 0) & first_enough.is_null()
    ranked = ranked.with_columns(
        (
            (pl.col("_np") > 0)
            & ~pl.col("_p")
            & (
                (strata & (hide_all | (pl.col("_rank") <= first_enough)))
                | (pl.col("_total") & hide_all)
            )
        ).alias("_sec")
    )
    return ranked.sort("_row")


def apply_suppression(
    table: pl.DataFrame,
    policy: str | SuppressionPolicy | None = None,
    *,
    by: Sequence[str] = (),
    group: Sequence[str] = ("indicator_id", "period"),
    counts: Sequence[str] = (),
) -> pl.DataFrame:
    """Apply a suppression policy to an indicator table.

    Args:
        table: A long indicator table (``numerator``, ``denominator``, the blanked columns that
            are present, the ``by`` columns and the ``group`` columns). Rows whose ``by``
            columns are all null are the overall rows.
        policy: The policy (name or model); the default (``nki``) when ``None``.
        by: The stratum columns.
        group: Columns that identify one set of cells summing to an overall row.
        counts: Indicators whose cells are counts (activity indicators: the count is in
            ``numerator``, no denominator): the policy's count rule applies to them, a count
            in the hidden range (nki 1-4, npr 1-2) is hidden (domain/indicators.md §3).

    Returns:
        The table, same rows and order, with ``suppressed`` set and hidden cells blanked.

    Examples:
        >>> t = pl.DataFrame(
        ...     {"indicator_id": ["x"] * 4, "period": ["2023"] * 4,
        ...      "region": [None, "a", "b", "c"], "numerator": [30, 3, 12, 15],
        ...      "denominator": [40, 10, 14, 16], "value": [0.75, 0.3, 12 / 14, 15 / 16]}
        ... )
        >>> out = apply_suppression(t, "nki", by=["region"])
        >>> out.select("region", "numerator", "denominator", "suppressed").rows()
        [(None, 30, 40, False), ('a', None, 10, True), ('b', None, 14, True), ('c', 15, 16, False)]
    """
    pol = suppression_policy(policy)
    hide, hide_den = _flags(table, pol, by=by, group=group, counts=counts)
    return _blank(table, hide, hide_den)


def _flags(
    table: pl.DataFrame,
    pol: SuppressionPolicy,
    *,
    by: Sequence[str],
    group: Sequence[str],
    counts: Sequence[str],
    already: pl.Series | None = None,
    already_den: pl.Series | None = None,
) -> tuple[pl.Series, pl.Series]:
    """Which cells to hide, and whose denominator, for one table of cells and their totals.

    ``already`` (and ``already_den``) are cells hidden by an earlier pass over a linked table
    (another margin): they count as hidden from the start.
    """
    keys = list(group)
    den = pl.col("denominator")
    num = pl.col("numerator")
    is_total = pl.all_horizontal(*(pl.col(b).is_null() for b in by)) if by else pl.lit(True)
    # a count has no denominator: only the numerator (count) rule applies to it
    is_count = pl.col("indicator_id").is_in(list(counts)) if counts else pl.lit(value=False)
    prior = already if already is not None else pl.Series([False] * table.height)
    prior_den = already_den if already_den is not None else pl.Series([False] * table.height)
    df = table.with_row_index("_row").with_columns(
        is_total.alias("_total"),
        pl.when(is_count).then(pl.lit(pol.min_denominator)).otherwise(den).alias("_rule_den"),
        prior.alias("_prior"),
        prior_den.alias("_prior_den"),
    )
    df = df.with_columns(
        (_small_den(pl.col("_rule_den"), pol) | pl.col("_prior_den")).alias("_pden"),
        (_small(pl.col("_rule_den"), num, pol) | pl.col("_prior")).alias("_p"),
    )
    if pol.secondary and by:
        df = _secondary(df, pol, keys, by)
        hidden = pl.col("_p") | pl.col("_sec")
        hidden_den = pl.col("_pden") | (pl.col("_sec") & pl.col("_pden_any"))
    else:
        hidden = pl.col("_p")
        hidden_den = pl.col("_pden")
    out = df.select(hidden.alias("hide"), hidden_den.alias("hide_den"))
    return out["hide"], out["hide_den"]


def _blank(table: pl.DataFrame, hide: pl.Series, hide_den: pl.Series) -> pl.DataFrame:
    """Set ``suppressed`` and blank what a hidden cell would reveal."""
    df = table.with_columns(hide.alias("suppressed"), hide_den.alias("_hden"))
    blank = [
        pl.when(~pl.col("suppressed")).then(pl.col(c)).alias(c) for c in BLANKED if c in df.columns
    ]
    df = df.with_columns(
        *blank,
        pl.when(~pl.col("suppressed")).then(pl.col("numerator")).alias("numerator"),
        pl.when(~pl.col("_hden")).then(pl.col("denominator")).alias("denominator"),
    )
    return df.drop("_hden")


#: Most passes over linked margins before suppression settles (each pass only hides more).
_MAX_PASSES = 20


def apply_margin_suppression(
    table: pl.DataFrame,
    policy: str | SuppressionPolicy | None = None,
    *,
    by: Sequence[str],
    counts: Sequence[str] = (),
) -> pl.DataFrame:
    """Suppression for a table with every margin (domain/indicators.md §4, several ``--by``).

    Each way the cells add up is a table of its own, suppressed with secondary suppression:
    every single-dimension margin against the overall row; the full cross against the overall
    row; and, per dimension, the cross cells sharing a value of it against that value's margin
    row. A cell hidden in one of them is hidden in all, so the passes repeat until nothing
    changes; then the hidden cells are blanked.

    Args:
        table: The long table, margins included (a null stratum column means "all").
        policy: The policy (name or model).
        by: The stratum dimensions (two or more).
        counts: Indicators whose cells are counts (see :func:`apply_suppression`).

    Returns:
        The table, same rows and order, with ``suppressed`` set and hidden cells blanked.
    """
    pol = suppression_policy(policy)
    dims = list(by)
    present = [pl.col(d).is_not_null() for d in dims]
    n_present = pl.sum_horizontal(*(p.cast(pl.Int8) for p in present))
    overall = n_present == 0
    full = n_present == len(dims)
    views: list[tuple[pl.Expr, list[str], list[str]]] = []  # rows, group, by
    for d in dims:
        single = pl.col(d).is_not_null() & (n_present == 1)
        views.append((single | overall, ["indicator_id", "period"], [d]))
    views.append((full | overall, ["indicator_id", "period"], dims))
    for d in dims:
        margin = pl.col(d).is_not_null() & (n_present == 1)
        views.append((full | margin, ["indicator_id", "period", d], [x for x in dims if x != d]))
    hide = pl.Series([False] * table.height)
    hide_den = pl.Series([False] * table.height)
    numbered = table.with_row_index("_at")
    for _ in range(_MAX_PASSES):
        before = (hide.sum(), hide_den.sum())
        for rows, group, sub_by in views:
            part = numbered.with_columns(hide.alias("_h"), hide_den.alias("_hd")).filter(rows)
            h, hd = _flags(
                part.drop("_at", "_h", "_hd"),
                pol,
                by=sub_by,
                group=group,
                counts=counts,
                already=part["_h"],
                already_den=part["_hd"],
            )
            at = part["_at"]
            hide = hide.scatter(at, h)
            hide_den = hide_den.scatter(at, hd)
        if (hide.sum(), hide_den.sum()) == before:
            break
    return _blank(table, hide, hide_den)
