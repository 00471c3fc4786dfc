"""Tests of pakkeforlop.plot: the funnel and trend tables (hand-checked) and the chart specs."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators import funnel_limits
from pakkeforlop.plot import (
    LANGS,
    funnel,
    funnel_curve,
    funnel_data,
    labels,
    pathway_type_colours,
    trend,
    trend_data,
)


def _table(rows: list[dict[str, object]], stratum: str = "health_trust") -> pl.DataFrame:
    """A long indicator table with the columns the plot functions read."""
    base = {
        "indicator_id": "plan_cocreated",
        "period": "2023-T1",
        "period_start": dt.date(2023, 1, 1),
        stratum: None,
        "numerator": None,
        "denominator": None,
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "suppressed": False,
        "target": 0.8,
        "median_days": None,
    }
    full = [base | r for r in rows]
    for r in full:
        if r["value"] is None and r["numerator"] is not None and not r["suppressed"]:
            r["value"] = r["numerator"] / r["denominator"]  # type: ignore[operator]
    return pl.DataFrame(
        full,
        schema={
            "indicator_id": pl.String,
            "period": pl.String,
            "period_start": pl.Date,
            stratum: pl.String,
            "numerator": pl.Int64,
            "denominator": pl.Int64,
            "value": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "suppressed": pl.Boolean,
            "target": pl.Float64,
            "median_days": pl.Float64,
        },
    )


# --- funnel limits: hand-computed --------------------------------------------------------------
#
# Binomial(10, 0.5): F(0) = 1/1024, F(1) = 11/1024, F(2) = 56/1024, F(7) = 968/1024,
# F(8) = 1013/1024 (Spiegelhalter 2005, interpolated limits).
#  95 %, lower: q = 0.025; r = 2 (first F >= q); alpha = (56/1024 - 0.025) / (45/1024) = 0.675556
#               lower = (2 - 0.675556) / 10 = 0.132444
#  95 %, upper: q = 0.975; r = 8; alpha = (1013/1024 - 0.975) / (45/1024) = 0.324444
#               upper = (8 + 1 - 0.324444) / 10 = 0.867556  (= 1 - lower, symmetric at p = 0.5)
#  99.8 %, lower: q = 0.001; r = 1; alpha = (11/1024 - 0.001) / (10/1024) = 0.997600
#               lower = (1 - 0.9976) / 10 = 0.000240; upper = 1 - 0.000240 = 0.999760
# Binomial(5, 0.2): F(0) = 0.32768, F(2) = 0.94208, F(3) = 0.99328.
#  95 %, lower: r = 0, alpha = (0.32768 - 0.025) / 0.32768 = 0.923706 -> (0 - 0.92) / 5 < 0 -> 0
#  95 %, upper: r = 3, alpha = (0.99328 - 0.975) / (0.99328 - 0.94208) = 0.357031
#               upper = (3 + 1 - 0.357031) / 5 = 0.728594
#  normal: 0.2 +- 1.959964 * sqrt(0.2 * 0.8 / 5) = 0.2 +- 0.350609 -> (0, 0.550609)
HAND = [
    (10, 0.5, 0.95, "binomial", (0.132444, 0.867556)),
    (10, 0.5, 0.998, "binomial", (0.000240, 0.999760)),
    (5, 0.2, 0.95, "binomial", (0.0, 0.728594)),
    (5, 0.2, 0.95, "normal", (0.0, 0.550609)),
]


@pytest.mark.parametrize(("n", "p", "level", "method", "expected"), HAND)
def test_funnel_limits_match_hand_computed_values(
    n: int, p: float, level: float, method: str, expected: tuple[float, float]
) -> None:
    lo, hi = funnel_limits(n, p, level=level, method=method)  # type: ignore[arg-type]
    assert lo == pytest.approx(expected[0], abs=1e-6)
    assert hi == pytest.approx(expected[1], abs=1e-6)


def test_funnel_data_judges_each_area_against_the_hand_computed_limits() -> None:
    # national 50/100 = 0.5. At n = 10 the limits are 0.132444-0.867556 (95 %) and
    # 0.000240-0.999760 (99.8 %), see HAND above.
    #   A: 1/10 = 0.10 < 0.132444, > 0.00024  -> outside 95 %, below
    #   B: 10/10 = 1.00 > 0.999760            -> outside 99.8 %, above
    #   C: 8/10 = 0.80 within 0.132444-0.867556 -> within
    #   D: 40/80 = 0.50 = national             -> within
    t = _table(
        [
            {"numerator": 50, "denominator": 100},
            {"health_trust": "A", "numerator": 1, "denominator": 10},
            {"health_trust": "B", "numerator": 10, "denominator": 10},
            {"health_trust": "C", "numerator": 8, "denominator": 10},
            {"health_trust": "D", "numerator": 40, "denominator": 80},
        ]
    )
    f = funnel_data(t, "plan_cocreated")
    assert f.national == 0.5
    assert f.period == "2023-T1"
    assert f.points.select("area", "outside", "direction").rows() == [
        ("A", "95", "below"),
        ("B", "99.8", "above"),
        ("C", None, None),
        ("D", None, None),
    ]
    at10 = f.points.filter(pl.col("area") == "A").row(0, named=True)
    assert at10["lower_95"] == pytest.approx(0.132444, abs=1e-6)
    assert at10["upper_95"] == pytest.approx(0.867556, abs=1e-6)
    assert at10["lower_998"] == pytest.approx(0.000240, abs=1e-6)
    assert at10["upper_998"] == pytest.approx(0.999760, abs=1e-6)
    # the curve passes through the areas' own denominators, with the same limits
    curve = f.limits.filter(pl.col("denominator") == 10).row(0, named=True)
    assert curve["lower_95"] == pytest.approx(0.132444, abs=1e-6)
    assert f.limits["denominator"].max() == 80


def test_funnel_data_leaves_out_suppressed_and_unknown_areas() -> None:
    t = _table(
        [
            {"numerator": 20, "denominator": 40},
            {"health_trust": "A", "numerator": 10, "denominator": 20},
            {"health_trust": "B", "numerator": None, "denominator": None, "suppressed": True},
            {"health_trust": "unknown", "numerator": 2, "denominator": 6},
            {"health_trust": "C", "numerator": 8, "denominator": 14},
        ]
    )
    f = funnel_data(t, "plan_cocreated")
    assert f.points["area"].to_list() == ["A", "C"]
    assert f.suppressed == ("B",)


def test_funnel_without_a_national_value_has_no_limits_and_no_outliers() -> None:
    t = _table(
        [
            {"suppressed": True},
            {"health_trust": "A", "numerator": 0, "denominator": 20},
        ]
    )
    f = funnel_data(t, "plan_cocreated")
    assert f.national is None
    assert f.limits.height == 0
    assert f.points["outside"].to_list() == [None]
    spec = funnel(t, "plan_cocreated", lang="en").to_dict()
    assert labels("en")["no_national"] in spec["title"]["subtitle"]


def test_funnel_data_takes_the_latest_period_unless_told() -> None:
    early = {"period": "2022-T3", "period_start": dt.date(2022, 9, 1)}
    t = _table(
        [
            {"numerator": 5, "denominator": 10},
            {"health_trust": "A", "numerator": 5, "denominator": 10},
            early | {"numerator": 1, "denominator": 10},
            early | {"health_trust": "A", "numerator": 1, "denominator": 10},
        ]
    )
    assert funnel_data(t, "plan_cocreated").national == 0.5
    assert funnel_data(t, "plan_cocreated", period="2022-T3").national == 0.1
    with pytest.raises(ConfigurationError, match="no rows for period '2021-T1'"):
        funnel_data(t, "plan_cocreated", period="2021-T1")


def test_funnel_data_errors_name_the_problem() -> None:
    t = _table([{"numerator": 5, "denominator": 10}])
    with pytest.raises(ConfigurationError, match="duration"):
        funnel_data(
            t.with_columns(pl.lit("assessment_days").alias("indicator_id")), "assessment_days"
        )
    with pytest.raises(ConfigurationError, match=r"by=\['residence_region'\]"):
        funnel_data(t, "plan_cocreated", dimension="residence_region")
    with pytest.raises(ConfigurationError, match="did you mean"):
        funnel_data(t, "plan_cocreatd")


def _binomial_cdf(n: int, p: float) -> list[float]:
    out, total = [], 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        out.append(total)
    return out


def _limits_by_definition(n: int, p: float, level: float) -> tuple[float, float]:
    """Spiegelhalter's interpolated limits, straight from the exact CDF (independent code)."""
    cdf = _binomial_cdf(n, p)
    tail = (1 - level) / 2

    def r_alpha(q: float) -> tuple[int, float]:
        r = next(k for k, f in enumerate(cdf) if f >= q)
        below = cdf[r - 1] if r > 0 else 0.0
        return r, (cdf[r] - q) / (cdf[r] - below)

    r_lo, a_lo = r_alpha(tail)
    r_hi, a_hi = r_alpha(1 - tail)
    return max(0.0, (r_lo - a_lo) / n), min(1.0, (r_hi + 1 - a_hi) / n)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=120),
    p=st.floats(min_value=0.02, max_value=0.98),
    level=st.sampled_from([0.95, 0.998]),
)
def test_funnel_limits_agree_with_the_exact_cdf(n: int, p: float, level: float) -> None:
    lo, hi = funnel_limits(n, p, level=level)
    ref_lo, ref_hi = _limits_by_definition(n, p, level)
    assert lo == pytest.approx(ref_lo, abs=1e-9)
    assert hi == pytest.approx(ref_hi, abs=1e-9)
    assert lo <= p <= hi


@settings(max_examples=25, deadline=None)
@given(top=st.integers(min_value=1, max_value=5000), p=st.floats(min_value=0.01, max_value=0.99))
def test_funnel_curve_is_nested_and_spans_the_grid(top: int, p: float) -> None:
    c = funnel_curve(top, p, extra=[top // 2 + 1])
    assert c["denominator"].min() == 1
    assert c["denominator"].max() == top
    assert (top // 2 + 1) in c["denominator"].to_list()
    assert c["denominator"].is_sorted()
    assert c.height <= 122
    # the 99.8 % limits lie outside the 95 % limits everywhere
    assert (c["lower_998"] <= c["lower_95"] + 1e-12).all()
    assert (c["upper_998"] >= c["upper_95"] - 1e-12).all()


# --- trend ---------------------------------------------------------------------------------------


def _trend_table() -> pl.DataFrame:
    t1 = {"period": "2023-T1", "period_start": dt.date(2023, 1, 1)}
    t2 = {"period": "2023-T2", "period_start": dt.date(2023, 5, 1)}
    rows = [
        t1 | {"numerator": 6, "denominator": 10, "ci_low": 0.3, "ci_high": 0.8},
        t2 | {"numerator": 7, "denominator": 10},
        t1 | {"pathway_type": "D11", "numerator": 5, "denominator": 8},
        t1 | {"pathway_type": "D12", "suppressed": True},
        t2 | {"pathway_type": "D11", "numerator": 7, "denominator": 10},
        t1
        | {
            "indicator_id": "assessment_days",
            "denominator": 10,
            "median_days": 31.5,
            "target": None,
        },
    ]
    return _table(rows, stratum="pathway_type")


def test_trend_data_scales_groups_and_keeps_suppressed_cells_as_gaps() -> None:
    d = trend_data(_trend_table(), "plan_cocreated")
    # overall first ("All"), then each pathway type; proportions in percent, target too
    assert d.select("group", "period", "y", "target").rows() == [
        ("All", "2023-T1", 60.0, 80.0),
        ("All", "2023-T2", 70.0, 80.0),
        ("D11", "2023-T1", 62.5, 80.0),
        ("D11", "2023-T2", 70.0, 80.0),
        ("D12", "2023-T1", None, 80.0),  # suppressed: a gap, never a zero
    ]
    assert d.filter(pl.col("group") == "D12")["suppressed"].to_list() == [True]
    assert d["y_low"][0] == pytest.approx(30.0)
    # durations are drawn as the median in days
    days = trend_data(_trend_table(), "assessment_days", lang="nb")
    assert days.select("group", "y", "kind").rows()[0] == ("Alle", 31.5, "duration")
    assert days["indicator"][0].endswith("(median (dager))")


def test_trend_data_needs_a_known_stratum_and_indicator() -> None:
    with pytest.raises(ConfigurationError, match="no 'sex' column"):
        trend_data(_trend_table(), by="sex")
    with pytest.raises(ConfigurationError, match="not in this table"):
        trend_data(_trend_table(), "information_given")
    two = _trend_table().with_columns(pl.lit(None, dtype=pl.String).alias("sex"))
    with pytest.raises(ConfigurationError, match="several stratum columns"):
        trend_data(two)
    assert trend_data(two, by="sex")["group"].unique().to_list() == ["All"]


def test_trend_chart_breaks_lines_at_suppressed_cells_and_says_how_many() -> None:
    spec = trend(_trend_table(), "plan_cocreated", lang="en").to_dict()
    layers = spec["layer"]
    line = next(layer for layer in layers if layer["mark"]["type"] == "line")
    assert line["mark"]["invalid"] == "break-paths-show-domains"
    assert spec["title"]["subtitle"] == ["1 cells suppressed (small numbers), not drawn"]
    data = next(iter(spec["datasets"].values()))
    assert {"group": "D12", "y": None} in [{"group": r["group"], "y": r["y"]} for r in data]


def test_trend_of_several_indicators_is_faceted_with_independent_scales() -> None:
    spec = trend(_trend_table(), ["plan_cocreated", "assessment_days"], lang="nb").to_dict()
    assert spec["facet"]["field"] == "panel"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert "Alle" in spec["spec"]["layer"][1]["encoding"]["color"]["scale"]["domain"]


def _colour_map(spec: dict[str, object]) -> dict[str, str]:
    """Group -> colour of every colour scale in a chart spec (any layer, facet or not)."""
    found: dict[str, str] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            colour = node.get("color")
            if isinstance(colour, dict) and isinstance(colour.get("scale"), dict):
                scale = colour["scale"]
                pairs = dict(zip(scale["domain"], scale["range"], strict=True))
                for group, hue in pairs.items():
                    assert found.setdefault(group, hue) == hue, (group, hue, found)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def test_each_pathway_type_has_one_colour_whichever_types_a_chart_holds() -> None:
    # D12 is present in one table and not in the other: by position, D11 would shift
    both = _trend_table()
    only_d11 = both.filter(pl.col("pathway_type").is_null() | (pl.col("pathway_type") == "D11"))
    palette = pathway_type_colours()
    for table, groups in ((both, {"All", "D11", "D12"}), (only_d11, {"All", "D11"})):
        for lang, overall in (("en", "All"), ("nb", "Alle")):
            spec = trend(table, "plan_cocreated", lang=lang).to_dict()  # type: ignore[arg-type]
            colours = _colour_map(spec)
            assert set(colours) == {overall, *groups - {"All"}}
            assert colours[overall] == palette["all"]
            for code in groups - {"All"}:
                assert colours[code] == palette[code]
    # the palette covers D01-D12 with distinct colours, and the overall line
    codes = [f"D{i:02d}" for i in range(1, 13)]
    assert len({palette[c] for c in [*codes, "all"]}) == 13
    # without a legend the colours stay
    quiet = trend(both, "plan_cocreated", legend=False).to_dict()
    assert _colour_map(quiet) == _colour_map(trend(both, "plan_cocreated").to_dict())
    line = next(layer for layer in quiet["layer"] if layer["mark"]["type"] == "line")
    assert line["encoding"]["color"]["legend"] is None


def test_funnel_chart_labels_outliers_in_the_chosen_language() -> None:
    t = _table(
        [
            {"numerator": 50, "denominator": 100},
            {"health_trust": "A", "numerator": 1, "denominator": 10},
            {"health_trust": "C", "numerator": 8, "denominator": 10},
            {"health_trust": "B", "suppressed": True},
        ]
    )
    spec = funnel(t, "plan_cocreated", lang="nb").to_dict()
    layers = spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["line", "rule", "point", "text"]
    text_rows = spec["datasets"][layers[3]["data"]["name"]]
    assert [r["area"] for r in text_rows] == ["A"]  # only the outlier is labelled
    point_rows = spec["datasets"][layers[2]["data"]["name"]]
    assert {r["area"]: r["status"] for r in point_rows} == {
        "A": "utenfor 95 %",
        "C": "innenfor grensene",
    }
    assert spec["title"]["subtitle"][0].startswith("Landsverdi 50,0 %")
    assert spec["title"]["subtitle"][1] == "1 områder er skjult (små tall) og ikke tegnet"
    # the count axis: whole numbers with the locale's separator, labels kept apart
    x_axis = layers[0]["encoding"]["x"]["axis"]
    assert (x_axis["format"], x_axis["tickMinStep"]) == (",d", 1)
    assert x_axis["labelSeparation"] > 0
    # without outlier names (the report lists them under the chart): no text layer
    quiet = funnel(t, "plan_cocreated", lang="nb", label_outliers=False).to_dict()
    assert [layer["mark"]["type"] for layer in quiet["layer"]] == ["line", "rule", "point"]


def test_every_label_exists_in_both_languages() -> None:
    assert set(labels(LANGS[0])) == set(labels(LANGS[1]))
    with pytest.raises(ConfigurationError, match="unknown language"):
        labels("de")  # type: ignore[arg-type]
