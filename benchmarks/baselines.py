"""Reference implementations the benchmark measures pakkeforlop against.

Each runs in its own process (``python benchmarks/baselines.py KIND EXTRACT OUT``) so that
``run.py`` can measure its wall time and peak memory alone:

- ``lower-bound`` (c): a bare polars scan of the extract, sorted by patient and date, and one
  group-by. No implementation that reconstructs pathways can do less work than this.
- ``pandas`` (d): ``assessment_in_time`` the way an analyst writes it by hand in pandas.
- ``duckdb`` (e): the same logic in DuckDB SQL over ``read_parquet``.

(d) and (e) share one deliberately simple reading of the indicator (domain/indicators.md §3,
``assessment_in_time``): per (patient, institution, pathway type), the first M, the first C and
the first C whose outcome is not U (the final decision); M → final C in calendar days against
the recommended time (basic, or extended when the first C had outcome U) for the care level of
the final C (day care and unknown count as outpatient); direct-to-treatment pathways (the first
C without an M on or before it) and types without a recommended time are left out; counted per
tertial of the final C. Unlike pakkeforlop's timeline (domain/extract-and-timeline.md §2) it
does not split repeated pathways of the same type at one institution into instances, nor
handle X, superseded starts, transfers or orphan events: that is where the counts may differ.

Both output one row per tertial: ``period``, ``numerator``, ``denominator``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Recommended M → C times in calendar days, (type, extended assessment) → (outpatient,
# inpatient), copied by hand from src/pakkeforlop/indicators/data/pathway_times_2019.toml as an
# analyst would (domain/indicators.md §2). D06 has no time; D01 and D07-D10 have no extended
# time (D07-D10 cannot have one: outcome U is for D01, D11 and D12 only).
LIMITS: dict[tuple[str, bool], tuple[int, int]] = {
    ("D01", False): (21, 7),
    ("D07", False): (56, 56),
    ("D08", False): (42, 14),
    ("D09", False): (7, 7),
    ("D10", False): (7, 7),
    ("D11", False): (42, 42),
    ("D11", True): (84, 84),
    ("D12", False): (42, 42),
    ("D12", True): (84, 84),
}

READ_COLUMNS = ["patient_id", "institution_id", "event_date", "code", "care_level"]


def lower_bound(path: str, out: str) -> int:
    """(c) Scan, sort by patient and date, one group-by: a floor for any timeline step."""
    import polars as pl  # noqa: PLC0415 - each kind imports only what it measures

    result = (
        pl.scan_parquet(path)
        .select("patient_id", "institution_id", "event_date", "code")
        .sort("patient_id", "event_date")
        .group_by("patient_id")
        .agg(
            pl.len().alias("registrations"),
            pl.col("institution_id").first(),
            pl.col("event_date").first(),
            pl.col("code").first(),
        )
        .collect()
    )
    result.write_parquet(out)
    return result.height


def pandas_assessment(path: str, out: str) -> int:
    """(d) assessment_in_time in pandas, as written by hand: decode, sort, group, count."""
    import pandas as pd  # noqa: PLC0415

    df = pd.read_parquet(path, columns=READ_COLUMNS)
    df["event_date"] = pd.to_datetime(df["event_date"])
    df["pathway_type"] = df["code"].str[:3]
    df["event"] = df["code"].str[3]
    df["outcome"] = df["code"].str[4]
    df["care_level"] = df["care_level"].fillna("outpatient")

    keys = ["patient_id", "institution_id", "pathway_type"]
    mc = df[df["event"].isin(["M", "C"])].sort_values(
        ["patient_id", "institution_id", "event_date"], kind="stable"
    )
    first_m = mc[mc["event"] == "M"].groupby(keys)["event_date"].min().rename("m_date")
    decisions = mc[mc["event"] == "C"]
    first_c = decisions.groupby(keys).agg(
        c1_date=("event_date", "first"), c1_outcome=("outcome", "first")
    )
    final_c = (
        decisions[decisions["outcome"] != "U"]
        .groupby(keys)
        .agg(cf_date=("event_date", "first"), cf_care=("care_level", "first"))
    )
    p = first_c.join(first_m, how="inner").join(final_c, how="inner").reset_index()

    # direct to treatment: the first C has no M on or before it (same-day M comes first)
    p = p[p["m_date"] <= p["c1_date"]]
    p["extended"] = p["c1_outcome"] == "U"
    limits = pd.DataFrame(
        [(t, ext, out, inp) for (t, ext), (out, inp) in LIMITS.items()],
        columns=["pathway_type", "extended", "limit_out", "limit_in"],
    )
    p = p.merge(limits, on=["pathway_type", "extended"], how="inner")
    limit = p["limit_out"].where(p["cf_care"] != "inpatient", p["limit_in"])
    p["in_time"] = (p["cf_date"] - p["m_date"]).dt.days <= limit
    tertial = (p["cf_date"].dt.month - 1) // 4 + 1
    p["period"] = p["cf_date"].dt.year.astype(str) + "-T" + tertial.astype(str)
    result = (
        p.groupby("period")
        .agg(numerator=("in_time", "sum"), denominator=("in_time", "size"))
        .reset_index()
        .sort_values("period")
        .astype({"numerator": "int64", "denominator": "int64"})
    )
    result.to_parquet(out, index=False)
    return len(result)


DUCKDB_SQL = """
WITH ev AS (
    SELECT patient_id, institution_id, event_date,
           substr(code, 1, 3) AS pathway_type,
           substr(code, 4, 1) AS event,
           substr(code, 5, 1) AS outcome,
           coalesce(care_level, 'outpatient') AS care_level
    FROM read_parquet($path)
    WHERE substr(code, 4, 1) IN ('M', 'C')
),
pathways AS (
    SELECT patient_id, institution_id, pathway_type,
           min(event_date) FILTER (WHERE event = 'M') AS m_date,
           min(event_date) FILTER (WHERE event = 'C') AS c1_date,
           arg_min(outcome, event_date) FILTER (WHERE event = 'C') AS c1_outcome,
           min(event_date) FILTER (WHERE event = 'C' AND outcome <> 'U') AS cf_date,
           arg_min(care_level, event_date) FILTER (WHERE event = 'C' AND outcome <> 'U')
               AS cf_care
    FROM ev
    GROUP BY ALL
),
limits(pathway_type, extended, limit_out, limit_in) AS (VALUES {limits}),
assessed AS (
    SELECT p.cf_date,
           date_diff('day', p.m_date, p.cf_date)
               <= CASE WHEN p.cf_care = 'inpatient' THEN l.limit_in ELSE l.limit_out END
               AS in_time
    FROM pathways p
    JOIN limits l
      ON l.pathway_type = p.pathway_type AND l.extended = (p.c1_outcome = 'U')
    WHERE p.m_date IS NOT NULL AND p.cf_date IS NOT NULL
      AND p.m_date <= p.c1_date  -- not direct to treatment
)
SELECT year(cf_date)::VARCHAR || '-T' || ((month(cf_date) - 1) // 4 + 1)::VARCHAR AS period,
       count(*) FILTER (WHERE in_time)::BIGINT AS numerator,
       count(*)::BIGINT AS denominator
FROM assessed
GROUP BY period
ORDER BY period
"""


def duckdb_assessment(path: str, out: str) -> int:
    """(e) assessment_in_time in DuckDB SQL: one aggregate per pathway, then per tertial."""
    import duckdb  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    values = ", ".join(
        f"('{t}', {str(ext).lower()}, {lo}, {li})" for (t, ext), (lo, li) in LIMITS.items()
    )
    con = duckdb.connect()
    relation = con.sql(DUCKDB_SQL.format(limits=values), params={"path": path})
    # to_arrow_table from duckdb 1.4; arrow() before
    result = (getattr(relation, "to_arrow_table", None) or relation.arrow)()
    pq.write_table(result, out)
    return int(result.num_rows)


KINDS = {
    "lower-bound": lower_bound,
    "pandas": pandas_assessment,
    "duckdb": duckdb_assessment,
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in KINDS:
        print(f"usage: baselines.py {{{'|'.join(KINDS)}}} EXTRACT OUT", file=sys.stderr)
        return 2
    kind, path, out = argv
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    print(KINDS[kind](path, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
