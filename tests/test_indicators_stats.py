"""Wilson intervals, funnel limits and suppression policies (domain/indicators.md §3–§4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pakkeforlop.indicators import (
    apply_suppression,
    compute_indicators,
    funnel_limits,
    suppression_policies,
    suppression_policy,
    wilson_exprs,
    wilson_interval,
)
from pakkeforlop.indicators.testing import pathway_table

# Reference Wilson score intervals (95 %), e.g. Newcombe 1998 Table I / any statistics package.
WILSON_95 = [
    (8, 10, 0.4902, 0.9433),
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (1, 10, 0.0179, 0.4042),
    (81, 263, 0.2553, 0.3662),  # Newcombe 1998, example (c)
    (15, 148, 0.0624, 0.1605),  # Newcombe 1998, example (a)
]


@pytest.mark.parametrize(("x", "n", "low", "high"), WILSON_95)
def test_wilson_reference_values(x: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(x, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)
    df = pl.DataFrame({"x": [x], "n": [n]})
    elo, ehi = wilson_exprs(pl.col("x"), pl.col("n"))
    got = df.select(elo.alias("lo"), ehi.alias("hi")).row(0)
    assert got == pytest.approx((lo, hi), abs=1e-12)


def test_wilson_level_is_configurable() -> None:
    # 8/10 at 99 %: z = 2.5758, z^2/n = 0.66349; centre = (0.8 + 0.33174) / 1.66349 = 0.68034;
    # half = 2.5758 / 1.66349 * sqrt(0.016 + 0.016587) = 0.27952 -> (0.4008, 0.9599)
    lo99, hi99 = wilson_interval(8, 10, level=0.99)
    assert (round(lo99, 4), round(hi99, 4)) == (0.4008, 0.9599)
    with pytest.raises(ValueError, match="numerator"):
        wilson_interval(11, 10)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate(xn: tuple[int, int]) -> None:
    x, n = xn
    lo, hi = wilson_interval(x, n)
    assert 0 <= lo <= x / n <= hi <= 1


# --- funnel limits (Spiegelhalter 2005) ----------------------------------------------------------


def test_funnel_limits_hand_computed() -> None:
    # Binomial(10, 0.5): F(1) = 11/1024, F(2) = 56/1024, F(7) = 968/1024, F(8) = 1013/1024.
    # Lower 2.5 %: r = 2, alpha = (56/1024 - 0.025) / (45/1024) = 0.67556 -> (2 - alpha)/10
    # Upper 97.5 %: r = 8, alpha = (1013/1024 - 0.975) / (45/1024) = 0.32444 -> (9 - alpha)/10
    lo, hi = funnel_limits(10, 0.5)
    assert lo == pytest.approx((2 - (56 / 1024 - 0.025) / (45 / 1024)) / 10)
    assert hi == pytest.approx((9 - (1013 / 1024 - 0.975) / (45 / 1024)) / 10)
    assert lo + hi == pytest.approx(1.0)  # symmetric about 0.5
    # normal approximation: 0.5 +- 1.95996 * sqrt(0.25 / 100)
    nlo, nhi = funnel_limits(100, 0.5, method="normal")
    assert (nlo, nhi) == pytest.approx((0.5 - 0.0979982, 0.5 + 0.0979982))


def test_funnel_limits_narrow_with_n_and_approach_normal() -> None:
    widths = [funnel_limits(n, 0.3)[1] - funnel_limits(n, 0.3)[0] for n in (20, 200, 2000)]
    assert widths[0] > widths[1] > widths[2]
    exact = funnel_limits(5000, 0.3, level=0.998)
    normal = funnel_limits(5000, 0.3, level=0.998, method="normal")
    assert exact == pytest.approx(normal, abs=0.002)
    assert funnel_limits(50, 0.0) == (0.0, 0.0)
    with pytest.raises(ValueError, match="positive denominator"):
        funnel_limits(0, 0.5)


# --- suppression ---------------------------------------------------------------------------------


def _cells(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator_id": [f"i{k}" for k in range(len(pairs))],
            "period": ["2023"] * len(pairs),
            "numerator": [p[0] for p in pairs],
            "denominator": [p[1] for p in pairs],
            "value": [p[0] / p[1] for p in pairs],
        },
        schema_overrides={"numerator": pl.Int64, "denominator": pl.Int64},
    )


def test_policies_exist_with_their_rules() -> None:
    pols = suppression_policies()
    assert (pols["nki"].min_denominator, pols["nki"].hidden_numerator) == (5, (1, 4))
    assert (pols["npr"].min_denominator, pols["npr"].hidden_numerator) == (3, (1, 2))
    assert pols["nki"].secondary and pols["npr"].secondary


def test_nki_boundaries() -> None:
    # (numerator, denominator) -> hidden?  denominator < 5, or numerator 1..4
    cases = [
        ((0, 4), True),
        ((0, 5), False),
        ((1, 5), True),
        ((4, 10), True),
        ((5, 10), False),
        ((0, 10), False),
        ((5, 5), False),
    ]
    out = apply_suppression(_cells([c for c, _ in cases]), "nki")
    assert out["suppressed"].to_list() == [h for _, h in cases]
    # hidden: value and numerator blank; the denominator only when it is itself small
    assert out.row(0, named=True)["denominator"] is None  # 4 < 5
    assert out.row(2, named=True)["denominator"] == 5  # hidden for its numerator only
    assert out.row(2, named=True)["numerator"] is None
    assert out.row(2, named=True)["value"] is None
    assert out.row(1, named=True)["value"] == 0.0


def test_npr_boundaries() -> None:
    cases = [
        ((0, 2), True),
        ((0, 3), False),
        ((2, 10), True),
        ((3, 10), False),
        ((0, 10), False),
        ((1, 10), True),
    ]
    out = apply_suppression(_cells([c for c, _ in cases]), "npr")
    assert out["suppressed"].to_list() == [h for _, h in cases]


def _strata(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    """One indicator and period: overall row + one row per stratum a, b, c, ..."""
    num = sum(p[0] for p in pairs)
    den = sum(p[1] for p in pairs)
    regions = [None, *"abcdefg"[: len(pairs)]]
    nums = [num, *(p[0] for p in pairs)]
    dens = [den, *(p[1] for p in pairs)]
    return pl.DataFrame(
        {
            "indicator_id": "x",
            "period": "2023",
            "region": regions,
            "numerator": nums,
            "denominator": dens,
            "value": [a / b for a, b in zip(nums, dens, strict=True)],
        }
    )


def test_secondary_hides_the_next_smallest_cell() -> None:
    # a: 3/20 hidden (numerator 1..4); the next-smallest cell by denominator is c (30)
    out = apply_suppression(_strata([(3, 20), (20, 40), (10, 30)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [False, True, False, True]
    # c's denominator stays (a's denominator was not small), its numerator goes
    assert out.filter(pl.col("region") == "c").select("numerator", "denominator").row(0) == (
        None,
        30,
    )


def test_secondary_blanks_the_denominator_when_the_primary_did() -> None:
    # a: 2/3 hidden for its denominator, so the protecting cell b hides its denominator too
    out = apply_suppression(_strata([(2, 3), (10, 20), (30, 40)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [False, True, True, False]
    assert out["denominator"].to_list() == [63, None, None, 40]


def test_no_secondary_when_two_cells_are_hidden_already() -> None:
    out = apply_suppression(_strata([(3, 20), (2, 20), (10, 30)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [False, True, True, False]


def test_lone_hidden_cell_hides_the_overall_row() -> None:
    out = apply_suppression(_strata([(2, 10)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [True, True]


def test_ties_are_broken_by_stratum_value() -> None:
    out = apply_suppression(_strata([(1, 20), (10, 30), (10, 30)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [False, True, True, False]  # b before c


def test_engine_suppression_and_no_suppress() -> None:
    treated = {
        "final_decision_date": dt.date(2023, 1, 1),
        "final_decision_outcome": "P",
        "end_reason": "G",
        "end_date": dt.date(2023, 2, 1),
    }
    rows: list[dict[str, Any]] = [
        {**treated, "health_region": "Vest", "plan_date": dt.date(2023, 1, 5)} for _ in range(3)
    ] + [{**treated, "health_region": "Nord"} for _ in range(10)]
    table = pathway_table(rows)
    hidden = compute_indicators(table, indicators=["plan_cocreated"], by="health_region")
    # Vest 3/3 (denominator < 5) hidden, Nord 0/10 hidden as its complement; overall 3/13
    # itself has numerator 3 (1..4): hidden too.
    assert hidden.select("health_region", "suppressed", "numerator", "denominator").rows() == [
        (None, True, None, 13),
        ("Nord", True, None, None),
        ("Vest", True, None, None),
    ]
    assert hidden["value"].null_count() == 3
    assert hidden["ci_low"].null_count() == 3
    assert hidden.metadata.suppression == "nki"
    shown = compute_indicators(
        table, indicators=["plan_cocreated"], by="health_region", suppress=False
    )
    assert shown["suppressed"].to_list() == [False, False, False]
    assert shown["numerator"].to_list() == [3, 0, 3]
    assert shown.metadata.suppression is None
    npr = compute_indicators(table, indicators=["plan_cocreated"], by="health_region", policy="npr")
    # npr: counts under 3 only; 3/13, 0/10 and 3/3 are all shown
    assert npr["suppressed"].to_list() == [False, False, False]


def test_duration_cells_with_few_units_are_hidden() -> None:
    rows = [{"start_date": dt.date(2023, 1, 1), "first_attendance_date": dt.date(2023, 1, 9)}]
    out = compute_indicators(pathway_table(rows), indicators=["waiting_days_to_first_attendance"])
    assert out.select("suppressed", "denominator", "median_days").row(0) == (True, None, None)


def test_secondary_goes_on_until_the_hidden_cells_together_are_not_small() -> None:
    # a: 1/10 hidden; the next-smallest, b: 2/10, would leave a+b = 3/20 (numerator 1-4: small,
    # and anyone can get it as the total minus c and d); so c (30/60) is hidden too: 33/80
    cells = [(1, 10), (2, 10), (30, 60), (40, 80)]
    out = apply_suppression(_strata(cells), "nki", by=["region"])
    assert out["suppressed"].to_list() == [False, True, True, True, False]
    # what is shown lets no one recover a small cell: total - d = 33/80
    shown = out.filter(~pl.col("suppressed") & pl.col("region").is_not_null())
    total = out.filter(pl.col("region").is_null()).row(0, named=True)
    assert (
        total["numerator"] - shown["numerator"].sum(),
        total["denominator"] - shown["denominator"].sum(),
    ) == (33, 80)


def test_when_no_set_of_cells_will_do_the_total_is_hidden_too() -> None:
    # every stratum small together (2/6 + 1/5 = 3/11): all strata and the total are hidden
    out = apply_suppression(_strata([(2, 6), (1, 5)]), "nki", by=["region"])
    assert out["suppressed"].to_list() == [True, True, True]


_cell = st.tuples(st.integers(0, 30), st.integers(1, 40)).map(lambda t: (min(t), max(t)))


@settings(max_examples=300, deadline=None)
@given(
    groups=st.lists(st.lists(_cell, min_size=1, max_size=7), min_size=1, max_size=4),
    policy=st.sampled_from(["nki", "npr"]),
)
def test_no_hidden_group_is_recoverable_as_a_small_cell(
    groups: list[list[tuple[int, int]]], policy: str
) -> None:
    pol = suppression_policy(policy)
    lo, hi = pol.hidden_numerator or (1, 0)

    def small(num: int, den: int) -> bool:
        return den < pol.min_denominator or lo <= num <= hi

    frames = [
        _strata(cells).with_columns(pl.lit(str(i)).alias("period"))
        for i, cells in enumerate(groups)
    ]
    out = apply_suppression(pl.concat(frames), policy, by=["region"])
    for (period,), part in out.group_by("period"):
        total = part.filter(pl.col("region").is_null()).row(0, named=True)
        strata = part.filter(pl.col("region").is_not_null())
        hidden = strata.filter(pl.col("suppressed"))
        # every small cell is hidden
        cells = groups[int(str(period))]
        for (num, den), hid in zip(cells, strata["suppressed"].to_list(), strict=True):
            assert hid or not small(num, den)
        if hidden.height == 0 or total["suppressed"]:
            continue
        # never a single hidden cell, and the hidden ones together are not a small cell
        assert hidden.height >= 2
        shown = strata.filter(~pl.col("suppressed"))
        recovered_num = total["numerator"] - shown["numerator"].sum()
        recovered_den = total["denominator"] - shown["denominator"].sum()
        assert not small(recovered_num, recovered_den), (cells, recovered_num, recovered_den)
