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

__all__ = ["DEFAULT_POLICY", "apply_suppression", "suppression_policies", "suppression_policy"]

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
    keys = list(group)
    den = pl.col("denominator")
    num = pl.col("numerator")
    is_total = pl.all_horizontal(*(pl.col(b).is_null() for b in by)) if by else pl.lit(True)
    # a count has no denominator: only the numerator (count) rule applies to it
    is_count = pl.col("indicator_id").is_in(list(counts)) if counts else pl.lit(value=False)
    df = table.with_row_index("_row").with_columns(
        is_total.alias("_total"),
        pl.when(is_count).then(pl.lit(pol.min_denominator)).otherwise(den).alias("_rule_den"),
    )
    df = df.with_columns(
        _small_den(pl.col("_rule_den"), pol).alias("_pden"),
        _small(pl.col("_rule_den"), num, pol).alias("_p"),
    )
    if pol.secondary and by:
        df = _secondary(df, pol, keys, by)
        hidden = pl.col("_p") | pl.col("_sec")
        hidden_den = pl.col("_pden") | (pl.col("_sec") & pl.col("_pden_any"))
    else:
        hidden = pl.col("_p")
        hidden_den = pl.col("_pden")
    df = df.with_columns(hidden.alias("suppressed"), hidden_den.alias("_hden"))
    blank = [
        pl.when(~pl.col("suppressed")).then(pl.col(c)).alias(c) for c in BLANKED if c in df.columns
    ]
    df = df.with_columns(
        *blank,
        pl.when(~pl.col("suppressed")).then(num).alias("numerator"),
        pl.when(~pl.col("_hden")).then(den).alias("denominator"),
    )
    return df.drop([c for c in df.columns if c.startswith("_")])
