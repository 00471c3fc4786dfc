"""Statistics for indicators: Wilson score intervals and funnel-plot control limits.

See domain/indicators.md §3–§4: proportions get a Wilson score interval (95 % by default); areas
are compared against funnel-plot limits around the national value (binomial, 95 % and 99.8 %;
Spiegelhalter 2005, *Funnel plots for comparing institutional performance*, Stat Med 24:1185).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import polars as pl

__all__ = [
    "FunnelMethod",
    "funnel_limits",
    "normal_quantile",
    "wilson_exprs",
    "wilson_interval",
]

FunnelMethod = Literal["binomial", "normal"]


def normal_quantile(level: float) -> float:
    """The two-sided standard-normal quantile for a confidence level (1.96 for 0.95).

    Args:
        level: Confidence level strictly between 0 and 1.

    Returns:
        ``z`` with ``P(-z < Z < z) = level``.

    Raises:
        ValueError: If ``level`` is not strictly between 0 and 1.

    Examples:
        >>> round(normal_quantile(0.95), 4), round(normal_quantile(0.998), 4)
        (1.96, 3.0902)
    """
    if not 0 < level < 1:
        msg = f"confidence level must lie strictly between 0 and 1, got {level}"
        raise ValueError(msg)
    return NormalDist().inv_cdf((1 + level) / 2)


def wilson_interval(
    numerator: int, denominator: int, *, level: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927).

    Args:
        numerator: Successes.
        denominator: Trials (positive).
        level: Confidence level.

    Returns:
        ``(low, high)``.

    Raises:
        ValueError: If the counts are impossible.

    Examples:
        >>> low, high = wilson_interval(8, 10)
        >>> round(low, 4), round(high, 4)
        (0.4902, 0.9433)
        >>> wilson_interval(0, 5)[0]
        0.0
    """
    if denominator <= 0 or not 0 <= numerator <= denominator:
        msg = (
            f"need 0 <= numerator <= denominator and denominator > 0, got {numerator}/{denominator}"
        )
        raise ValueError(msg)
    z = normal_quantile(level)
    p = numerator / denominator
    z2n = z * z / denominator
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / denominator + z2n / (4 * denominator))
    # The bounds are exactly 0 at x = 0 and 1 at x = n; rounding must not move them.
    low = 0.0 if numerator == 0 else max(0.0, centre - half)
    high = 1.0 if numerator == denominator else min(1.0, centre + half)
    return low, high


def wilson_exprs(
    numerator: pl.Expr, denominator: pl.Expr, *, level: float = 0.95
) -> tuple[pl.Expr, pl.Expr]:
    """Vectorised :func:`wilson_interval` (null where the denominator is null or zero).

    Args:
        numerator: Integer expression.
        denominator: Integer expression.
        level: Confidence level.

    Returns:
        ``(low, high)`` float expressions.

    Examples:
        >>> df = pl.DataFrame({"x": [8, 0], "n": [10, 5]})
        >>> low, high = wilson_exprs(pl.col("x"), pl.col("n"))
        >>> df.select(low.round(4).alias("low"), high.round(4).alias("high")).rows()
        [(0.4902, 0.9433), (0.0, 0.4345)]
    """
    z = normal_quantile(level)
    n = pl.when(denominator > 0).then(denominator.cast(pl.Float64))
    p = numerator.cast(pl.Float64) / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * (p * (1 - p) / n + z2n / (4 * n)).sqrt()
    low = pl.when(numerator == 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(numerator == denominator).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return pl.when(n.is_not_null()).then(low), pl.when(n.is_not_null()).then(high)


def _binomial_limits(n: int, p: float, tail: float) -> tuple[float, float]:
    """Interpolated binomial funnel limits for one tail probability (Spiegelhalter 2005, A.1.1).

    ``r`` is the smallest count with ``F(r) >= q`` for ``Y ~ Binomial(n, p)`` and
    ``alpha = (F(r) - q) / (F(r) - F(r - 1))``. The lower limit (``q = tail``) is
    ``(r - alpha) / n``; the upper limit (``q = 1 - tail``) is ``(r + 1 - alpha) / n``, as in
    Spiegelhalter's funnel-plot R code (``qbinom.interp``), which makes the limits symmetric
    about ``p = 0.5``. The CDF is summed over a window of 10 standard deviations either side of
    the mean (the mass outside is below double precision), from the mode by the pmf recurrence.
    """
    if p <= 0 or p >= 1:
        return p, p
    sd = math.sqrt(n * p * (1 - p))
    lo = max(0, math.floor(n * p - 10 * sd - 10))
    hi = min(n, math.ceil(n * p + 10 * sd + 10))
    mode = min(max(math.floor((n + 1) * p), lo), hi)
    log_mode = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log1p(-p)
    )
    pmf = {mode: math.exp(log_mode)}
    odds = p / (1 - p)
    for k in range(mode, hi):
        pmf[k + 1] = pmf[k] * (n - k) / (k + 1) * odds
    for k in range(mode, lo, -1):
        pmf[k - 1] = pmf[k] * k / (n - k + 1) / odds

    def interpolated(q: float) -> tuple[int, float]:
        cdf = 0.0
        for r in range(lo, hi + 1):
            cdf += pmf[r]
            if cdf >= q:
                return r, (cdf - q) / pmf[r] if pmf[r] > 0 else 0.0
        return hi, 0.0

    r_low, a_low = interpolated(tail)
    r_high, a_high = interpolated(1 - tail)
    lower = (r_low - a_low) / n
    upper = (r_high + 1 - a_high) / n
    return min(1.0, max(0.0, lower)), min(1.0, max(0.0, upper))


def funnel_limits(
    denominator: int,
    target: float,
    *,
    level: float = 0.95,
    method: FunnelMethod = "binomial",
) -> tuple[float, float]:
    """Funnel-plot control limits for a proportion around a target (the national value).

    Args:
        denominator: The area's number of units (``n`` > 0).
        target: The national proportion ``p0``.
        level: Coverage of the limits: 0.95 (about 2 SD) or 0.998 (about 3 SD).
        method: ``"binomial"`` for Spiegelhalter's exact binomial limits with interpolation
            (lower ``(r - alpha) / n``, upper ``(r + 1 - alpha) / n``; see the module notes),
            ``"normal"`` for the normal approximation ``p0 ± z * sqrt(p0 (1 - p0) / n)``.
            Both are clipped to [0, 1].

    Returns:
        ``(lower, upper)``.

    Raises:
        ValueError: If the denominator is not positive or the target is not a proportion.

    Examples:
        >>> lo, hi = funnel_limits(100, 0.5, method="normal")
        >>> round(lo, 4), round(hi, 4)
        (0.402, 0.598)
        >>> lo, hi = funnel_limits(100, 0.5)  # r = 40, alpha = 0.315; r = 60, alpha = 0.685
        >>> round(lo, 4), round(hi, 4)
        (0.3968, 0.6032)
    """
    if denominator <= 0:
        msg = f"funnel limits need a positive denominator, got {denominator}"
        raise ValueError(msg)
    if not 0 <= target <= 1:
        msg = f"funnel limits need a target between 0 and 1, got {target}"
        raise ValueError(msg)
    z = normal_quantile(level)
    if method == "normal":
        half = z * math.sqrt(target * (1 - target) / denominator)
        return max(0.0, target - half), min(1.0, target + half)
    return _binomial_limits(denominator, target, (1 - level) / 2)
