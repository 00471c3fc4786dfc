"""Comparing areas of residence: variation and funnel-plot limits (domain/indicators.md §3)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators import compare_areas, compute_indicators
from pakkeforlop.indicators.testing import pathway_table


def _rows(region: str | None, rejected: int, total: int) -> list[dict[str, Any]]:
    return [
        {
            "residence_region": region,
            "start_date": dt.date(2023, 2, 1),
            "end_date": dt.date(2023, 3, 1),
            "end_reason": "R" if k < rejected else "G",
        }
        for k in range(total)
    ]


# a 2/10, b 9/10, c 50/100, and 1/2 with no residence region: national 62/122
ROWS = _rows("a", 2, 10) + _rows("b", 9, 10) + _rows("c", 50, 100) + _rows(None, 1, 2)


def test_areas_national_value_and_variation() -> None:
    out = compare_areas(pathway_table(ROWS), "rejected_referrals", method="normal")
    assert out.select("residence_region", "numerator", "denominator").rows() == [
        ("a", 2, 10),
        ("b", 9, 10),
        ("c", 50, 100),
    ]
    p0 = 62 / 122
    assert out["national_value"].to_list() == pytest.approx([p0] * 3)
    # normal limits at n = 10: p0 +- 1.95996 * sqrt(p0 (1 - p0) / 10) = p0 +- 0.30985
    sd10 = math.sqrt(p0 * (1 - p0) / 10)
    a = out.row(0, named=True)
    assert (a["lower_95"], a["upper_95"]) == pytest.approx(
        (p0 - 1.9599640 * sd10, p0 + 1.9599640 * sd10)
    )
    assert (a["lower_998"], a["upper_998"]) == pytest.approx(
        (p0 - 3.0902323 * sd10, p0 + 3.0902323 * sd10)
    )
    # a 0.2 lies just inside (0.198, 0.818); b 0.9 above it; nobody outside 99.8 %
    assert out["outside_95"].to_list() == [None, "above", None]
    assert out["outside_998"].to_list() == [None, None, None]
    s = out.summary
    assert (s.areas, s.national_numerator, s.national_denominator) == (3, 62, 122)
    assert s.unknown_area_units == 2
    assert (s.min_value, s.max_value, s.range) == pytest.approx((0.2, 0.9, 0.7))
    # weighted SD around the areas' pooled 61/120:
    # 10 (0.2 - .50833)^2 + 10 (0.9 - .50833)^2 + 100 (0.5 - .50833)^2 = 2.49167; / 120 -> sqrt
    assert s.weighted_sd == pytest.approx(math.sqrt(2.491667 / 120), rel=1e-5)
    assert s.outside_95 == ("b",)
    assert s.outside_998 == ()


def test_binomial_limits_flag_the_same_areas_here() -> None:
    out = compare_areas(pathway_table(ROWS), "rejected_referrals")
    assert out.summary.method == "binomial"
    assert out["outside_95"].to_list() == [None, "above", None]


def test_from_an_unsuppressed_indicator_table() -> None:
    table = compute_indicators(
        pathway_table(ROWS), by=["residence_region"], suppress=False, period="month"
    )
    from_table = compare_areas(table, "rejected_referrals")
    from_paths = compare_areas(pathway_table(ROWS), "rejected_referrals")
    assert from_table.equals(from_paths)
    assert from_table.summary == from_paths.summary
    one = compare_areas(table, "rejected_referrals", period="2023-02")
    assert one.summary.period == "2023-02"
    assert one["denominator"].sum() == 120


def test_mistakes() -> None:
    paths = pathway_table(ROWS)
    with pytest.raises(ConfigurationError, match="unknown area dimension"):
        compare_areas(paths, "rejected_referrals", dimension="health_region")
    with pytest.raises(ConfigurationError, match="duration"):
        compare_areas(paths, "assessment_days")
    suppressed = compute_indicators(paths, by=["residence_region"])
    with pytest.raises(ConfigurationError, match="unsuppressed"):
        compare_areas(suppressed, "rejected_referrals")
    no_dim = compute_indicators(paths, suppress=False)
    with pytest.raises(ConfigurationError, match="by=\\['residence_region'\\]"):
        compare_areas(no_dim, "rejected_referrals")


def test_other_dimensions() -> None:
    rows = [{**r, "municipality": r["residence_region"] and "0301"} for r in ROWS]
    out = compare_areas(pathway_table(rows), "rejected_referrals", dimension="municipality")
    assert out.select("municipality", "numerator", "denominator").rows() == [("0301", 61, 120)]
    assert isinstance(out, pl.DataFrame)
