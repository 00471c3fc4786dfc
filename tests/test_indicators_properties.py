"""Invariants of the indicator engine on random pathway tables (hypothesis).

numerator <= denominator; strata sum to the overall row (before suppression); months and
tertials sum to the year (every unit has exactly one anchor date); row order of the input does
not change the output; suppression never leaves a single hidden cell recoverable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pakkeforlop import build_pathways, read_extract
from pakkeforlop.indicators import compute_indicators, suppression_policy
from pakkeforlop.indicators.testing import pathway_table

REF = dt.date(2024, 3, 31)
TYPES = ["D01", "D06", "D08", "D09", "D11", "D12"]
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _offset(draw: st.DrawFn, base: dt.date, lo: int = 0, hi: int = 120) -> dt.date | None:
    days = draw(st.one_of(st.none(), st.integers(lo, hi)))
    return None if days is None else base + dt.timedelta(days=days)


@st.composite
def pathway_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 30))):
        start = dt.date(2022, 9, 1) + dt.timedelta(days=draw(st.integers(0, 450)))
        row: dict[str, Any] = {
            "pathway_type": draw(st.sampled_from(TYPES)),
            "start_date": start,
            "health_region": draw(st.sampled_from(["Vest", "Nord", None])),
            "sex": draw(st.sampled_from(["male", "female", None])),
            "care_level": draw(st.sampled_from(["inpatient", "outpatient", "day", None])),
            "postponements": draw(st.integers(0, 1)),
        }
        m = _offset(draw, start, 0, 60)
        row["first_attendance_date"] = m
        c = _offset(draw, m or start, -5, 90)
        if c is not None:
            extended = draw(st.booleans())
            row["first_decision_date"] = c
            row["first_decision_outcome"] = "U" if extended else draw(st.sampled_from("PTK"))
            final = _offset(draw, c, 1, 90) if extended else c
            row["final_decision_date"] = final
            row["final_decision_outcome"] = (
                draw(st.sampled_from("PTK"))
                if extended and final
                else (None if extended else row["first_decision_outcome"])
            )
            evals = sorted(
                c + dt.timedelta(days=d)
                for d in draw(st.lists(st.integers(-10, 300), max_size=4, unique=True))
            )
            row["evaluation_dates"] = evals
            row["evaluation_care_levels"] = [
                draw(st.sampled_from(["inpatient", "outpatient", None])) for _ in evals
            ]
            row["plan_date"] = _offset(draw, c, 0, 30)
            row["information_date"] = _offset(draw, c, 0, 30)
            row["feedback_tool"] = draw(st.booleans())
            row["standard_tool"] = draw(st.booleans())
            row["collaboration"] = draw(st.sampled_from(["M", "I", None]))
            row["referrer_feedback_date"] = _offset(draw, c, 0, 30)
        detox = _offset(draw, start, 0, 30)
        row["detox_end_date"] = detox
        if detox is not None:
            row["treatment_start_date"] = _offset(draw, detox, 0, 6)
            row["treatment_start_care_level"] = draw(st.sampled_from(["inpatient", None]))
        end = _offset(draw, start, 0, 400)
        if end is not None and end <= REF:
            row["end_date"] = end
            row["end_reason"] = draw(st.sampled_from("GRLPO"))
            row["help_needed"] = draw(st.sampled_from(["K", None]))
        rows.append(row)
    return rows


COUNTS = ["numerator", "denominator"]


@SETTINGS
@given(pathway_rows(), st.randoms(use_true_random=False))
def test_strata_sum_to_total_and_row_order_does_not_matter(
    rows: list[dict[str, Any]], rnd: Any
) -> None:
    table = pathway_table(rows)
    by = ["health_region", "sex"]
    out = compute_indicators(table, by=by, suppress=False, reference_date=REF)
    # a cell of a code not yet in force has no counts at all (never a 0)
    na = out.filter(pl.col("not_available"))
    assert na.select(pl.col("numerator", "denominator", "value").null_count().sum()).row(0) == (
        na.height,
        na.height,
        na.height,
    )
    full, out = out, out.filter(~pl.col("not_available"))
    # numerator <= denominator wherever there is a numerator
    assert out.filter(pl.col("numerator") > pl.col("denominator")).height == 0
    assert out.filter(pl.col("denominator") < 1).height == 0
    # summing strata gives the overall row, per indicator and period
    total = pl.all_horizontal(pl.col(b).is_null() for b in by)
    keys = ["indicator_id", "period"]
    overall = out.filter(total).select(*keys, *COUNTS).sort(keys)
    full_cross = pl.all_horizontal(pl.col(b).is_not_null() for b in by)  # not the margins
    summed = (
        out.filter(full_cross)
        .group_by(keys)
        .agg(pl.col(c).sum() for c in COUNTS)
        .select(*keys, *COUNTS)
        .sort(keys)
    )
    # (an activity indicator is a count: no denominator)
    assert (
        overall["denominator"].fill_null(0).to_list()
        == summed["denominator"].fill_null(0).to_list()
    )
    assert overall.select(keys).equals(summed.select(keys))
    assert overall["numerator"].fill_null(0).to_list() == summed["numerator"].fill_null(0).to_list()
    # shuffling the pathway rows changes nothing
    order = list(range(table.height))
    rnd.shuffle(order)
    shuffled = compute_indicators(table[order], by=by, suppress=False, reference_date=REF)
    assert shuffled.equals(full)


@SETTINGS
@given(pathway_rows())
def test_months_and_tertials_add_up_to_years(rows: list[dict[str, Any]]) -> None:
    table = pathway_table(rows)
    keys = ["indicator_id", "year"]

    def per_year(period: str) -> pl.DataFrame:
        out = compute_indicators(table, period=period, suppress=False, reference_date=REF)
        return (
            # pathways open at a period's end is a stock, not a flow: it does not add up
            out.filter(pl.col("indicator_id") != "pathways_open")
            .with_columns(pl.col("period").str.slice(0, 4).alias("year"))
            .group_by(keys)
            .agg(pl.col(c).sum() for c in COUNTS)
            .sort(keys)
        )

    years = per_year("year")
    assert per_year("tertial").equals(years)
    assert per_year("month").equals(years)


@SETTINGS
@given(pathway_rows(), st.sampled_from(["nki", "npr"]))
def test_no_single_hidden_cell_is_recoverable(rows: list[dict[str, Any]], policy: str) -> None:
    out = compute_indicators(
        pathway_table(rows), by=["health_region"], policy=policy, reference_date=REF
    )
    keys = ["indicator_id", "period"]
    per_group = out.group_by(keys).agg(
        (pl.col("suppressed") & pl.col("health_region").is_not_null()).sum().alias("hidden"),
        (pl.col("suppressed") & pl.col("health_region").is_null()).any().alias("total_hidden"),
    )
    # a lone hidden stratum cell would equal the overall row minus the others
    assert per_group.filter((pl.col("hidden") == 1) & ~pl.col("total_hidden")).height == 0
    # hidden cells show no value, interval or numerator
    hidden = out.filter(pl.col("suppressed"))
    for col in ("value", "ci_low", "ci_high", "numerator", "meets_target", "median_days"):
        assert hidden[col].null_count() == hidden.height


def test_row_order_of_the_extract_does_not_change_the_indicators() -> None:
    sample = pl.read_parquet(Path(__file__).parent.parent / "sample_data" / "extract.parquet")
    shuffled = sample.sample(fraction=1.0, shuffle=True, seed=11)
    assert not shuffled.equals(sample)

    def run(frame: pl.DataFrame) -> pl.DataFrame:
        read = read_extract(frame)
        timeline = build_pathways(read.events, as_of=read.info.reference_date)
        return compute_indicators(
            timeline.pathways,
            by=["pathway_type", "health_region"],
            suppress=False,
            reference_date=read.info.reference_date,
        )

    assert run(shuffled).equals(run(sample))


# --- margins (domain/indicators.md §4: several --by dimensions) ----------------------------------

MARGIN_BY = ["health_region", "sex"]


def _level(frame: pl.DataFrame, present: list[str]) -> pl.DataFrame:
    return frame.filter(
        *(pl.col(b).is_not_null() for b in present),
        *(pl.col(b).is_null() for b in MARGIN_BY if b not in present),
    )


@SETTINGS
@given(pathway_rows())
def test_every_margin_adds_up_where_nothing_is_hidden(rows: list[dict[str, Any]]) -> None:
    out = compute_indicators(pathway_table(rows), by=MARGIN_BY, suppress=False, reference_date=REF)
    out = out.filter(~pl.col("not_available"))
    keys = ["indicator_id", "period"]
    cross = _level(out, MARGIN_BY)
    for dim in MARGIN_BY:
        margin = _level(out, [dim]).select(*keys, dim, *COUNTS).sort(*keys, dim)
        summed = (
            cross.group_by(*keys, dim)
            .agg(pl.col(c).sum() for c in COUNTS)
            .select(*keys, dim, *COUNTS)
            .sort(*keys, dim)
        )
        assert margin.select(*keys, dim).equals(summed.select(*keys, dim))
        for c in COUNTS:
            assert margin[c].fill_null(0).to_list() == summed[c].fill_null(0).to_list()


@SETTINGS
@given(pathway_rows(), st.sampled_from(["nki", "npr"]))
def test_no_margin_leaves_a_small_group_recoverable(
    rows: list[dict[str, Any]], policy: str
) -> None:
    table = pathway_table(rows)
    plain = compute_indicators(table, by=MARGIN_BY, suppress=False, reference_date=REF)
    out = compute_indicators(table, by=MARGIN_BY, policy=policy, reference_date=REF)
    pol = suppression_policy(policy)
    lo, hi = pol.hidden_numerator or (1, 0)
    counts = {"pathways_started", "pathways_ended", "pathways_open"}
    keys = ["indicator_id", "period"]
    joined = plain.select(*keys, *MARGIN_BY, "numerator", "denominator").join(
        out.select(*keys, *MARGIN_BY, "suppressed", "not_available"),
        on=[*keys, *MARGIN_BY],
        nulls_equal=True,
    )

    def small(ind: str, num: int, den: int) -> bool:
        if ind in counts:
            return lo <= num <= hi
        return den < pol.min_denominator or lo <= num <= hi

    # every way the cells add up: a total row and the cells under it
    views = [([], [d]) for d in MARGIN_BY] + [([], MARGIN_BY)]
    views += [([d], MARGIN_BY) for d in MARGIN_BY]
    for fixed, level in views:
        totals = _level(joined, fixed)
        cells = _level(joined, level)
        for total in totals.filter(~pl.col("suppressed"), ~pl.col("not_available")).iter_rows(
            named=True
        ):
            match = [pl.col(k) == total[k] for k in (*keys, *fixed)]
            under = cells.filter(*match)
            hidden = under.filter(pl.col("suppressed"))
            if hidden.height == 0:
                continue
            assert hidden.height >= 2, (fixed, level, total)
            num = int(hidden["numerator"].fill_null(0).sum())
            den = int(hidden["denominator"].fill_null(0).sum())
            assert not small(total["indicator_id"], num, den), (fixed, level, total, num, den)
