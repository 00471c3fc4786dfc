"""Reference implementations the benchmark measures pakkeforlop against.

Each runs in its own process (``python benchmarks/baselines.py KIND EXTRACT OUT``) so that
``run.py`` can measure its wall time and peak memory alone:

- ``lower-bound`` (c): a bare polars scan of the extract, sorted by patient and date, and one
  group-by. No implementation that reconstructs pathways can do less work than this.
- ``pandas`` (d): ``assessment_in_time`` the way an analyst writes it by hand in pandas.
- ``duckdb`` (e): the same logic in DuckDB SQL over ``read_parquet``.
- ``hash-floor`` (g): every column of the extract read once, and one hash group-by per
  (patient, institution, pathway type): the floor of "read the extract once and group every row
  once", with no sort at all.
- ``duckdb-pathways`` (h): pathway *instances* reconstructed in DuckDB SQL with window functions,
  and five of pakkeforlop's indicators computed on them, per tertial: the like-for-like of
  ``pakkeforlop indicators`` in SQL (see :data:`DUCKDB_PATHWAYS_SQL` for what it simplifies).

(d) and (e) share one deliberately simple reading of the indicator (domain/indicators.md §3,
``assessment_in_time``): per (patient, institution, pathway type), the first M, the first C and
the first C whose outcome is not U (the final decision); M → final C in calendar days against
the recommended time (basic, or extended when the first C had outcome U) for the care level of
the final C (day care and unknown count as outpatient); direct-to-treatment pathways (the first
C without an M on or before it) and types without a recommended time are left out; counted per
tertial of the final C. Unlike pakkeforlop's timeline (domain/extract-and-timeline.md §2) it
does not split repeated pathways of the same type at one institution into instances, nor
handle X, superseded starts, transfers or orphan events: that is where the counts may differ.

Both output one row per tertial: ``period``, ``numerator``, ``denominator``; (h) one row per
indicator and tertial: ``indicator``, ``period``, ``numerator``, ``denominator``.
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDICATOR_DATA = ROOT / "src" / "pakkeforlop" / "indicators" / "data"

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


def hash_floor(path: str, out: str) -> int:
    """(g) Read every column, one hash group-by per (patient, institution, type): no sort.

    The floor for anything that reads the whole extract (as ``pakkeforlop indicators`` does: it
    carries every stratum) and groups each registration once. The pathway type is the
    ``pathway_type`` column of a split extract, else the first three characters of the combined
    code (``D11CP`` → ``D11``).
    """
    import polars as pl  # noqa: PLC0415

    events = pl.read_parquet(path)  # eager and without a projection: every column is read
    ptype = (
        pl.col("pathway_type")
        if "pathway_type" in events.columns
        else pl.col("code").str.slice(0, 3).alias("pathway_type")
    )
    result = events.group_by("patient_id", "institution_id", ptype).agg(
        pl.col("event_date").min().alias("first_date"),
        pl.col("event_date").max().alias("last_date"),
        pl.len().alias("registrations"),
    )
    result.write_parquet(out)
    return result.height


DUCKDB_PATHWAYS_SQL = """
WITH ev AS (
    -- the rows assignment needs: patient, institution, a date and an event (a cast of a Date
    -- column is free; an extract with text dates keeps the ISO ones)
    SELECT patient_id, institution_id, try_cast(event_date AS DATE) AS event_date, care_level,
           substr(code, 1, 3) AS pathway_type,
           substr(code, 4, 1) AS event,
           nullif(substr(code, 5, 1), '') AS outcome
    FROM read_parquet($path)
    WHERE patient_id IS NOT NULL AND institution_id IS NOT NULL
      AND try_cast(event_date AS DATE) IS NOT NULL AND length(code) >= 4
),
placed AS (
    -- rule 2: within (patient, institution, type), by date and the fixed same-day order
    SELECT *,
           row_number() OVER w AS pos,
           -- rule 3: the k-th start opens instance k
           sum((event = 'A')::INTEGER)
               OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k,
           last_value(CASE WHEN event IN ('A', 'X') THEN event END IGNORE NULLS)
               OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_a_or_x
    FROM ev
    WINDOW w AS (
        PARTITION BY patient_id, institution_id, pathway_type
        ORDER BY event_date, strpos('APMLCDSUFEHTX', event), coalesce(outcome, '')
    )
),
pathways AS (
    -- one row per instance; a row belongs to it when it is its A or the last A or X before it
    -- is an A (rule 4: rows before any A, and after an X until the next A, are orphans)
    SELECT pathway_type,
           min(event_date) FILTER (WHERE event = 'A') AS start_date,
           min(pos) FILTER (WHERE event = 'M') AS m_pos,
           min(event_date) FILTER (WHERE event = 'M') AS m_date,
           min(pos) FILTER (WHERE event = 'C') AS c1_pos,
           arg_min_null(outcome, pos) FILTER (WHERE event = 'C') AS c1_outcome,
           min(pos) FILTER (WHERE event = 'C' AND coalesce(outcome, '') <> 'U') AS cf_pos,
           min(event_date) FILTER (WHERE event = 'C' AND coalesce(outcome, '') <> 'U')
               AS cf_date,
           arg_min_null(outcome, pos) FILTER (WHERE event = 'C' AND coalesce(outcome, '') <> 'U')
               AS cf_outcome,
           arg_min_null(care_level, pos)
               FILTER (WHERE event = 'C' AND coalesce(outcome, '') <> 'U') AS cf_care,
           -- each E as position * 4 + care level (0 unknown, 1 inpatient, 2 other)
           list(pos * 4 + CASE care_level WHEN 'inpatient' THEN 1 WHEN 'day' THEN 2
                               WHEN 'outpatient' THEN 2 ELSE 0 END)
               FILTER (WHERE event = 'E') AS evaluations,
           min(event_date) FILTER (WHERE event = 'X') AS end_date,
           arg_min_null(outcome, pos) FILTER (WHERE event = 'X') AS end_reason,
           bool_or(event = 'U' AND outcome = 'U') AS plan,
           bool_or(event = 'U' AND outcome = 'B') AS information
    FROM placed
    WHERE k > 0 AND (event = 'A' OR last_a_or_x = 'A')
    GROUP BY patient_id, institution_id, pathway_type, k
),
milestones AS (
    SELECT *,
           c1_pos IS NOT NULL AND (m_pos IS NULL OR m_pos > c1_pos) AS direct_to_treatment,
           coalesce(c1_outcome = 'U', false) AS extended,
           coalesce(cf_outcome IN ('P', 'T'), false) AS treatment_decision,
           -- the first E on or after the final C (a same-day E comes after the C)
           list_min(list_filter(evaluations, lambda e: e // 4 > cf_pos)) AS first_eval
    FROM pathways
),
limits(pathway_type, interval, outpatient, inpatient) AS (VALUES {limits}),
units AS (
    SELECT 'assessment_in_time' AS indicator, p.cf_date AS anchor,
           date_diff('day', p.m_date, p.cf_date)
               <= CASE WHEN p.cf_care = 'inpatient' THEN l.inpatient ELSE l.outpatient END
               AS hit
    FROM milestones p
    JOIN limits l
      ON l.pathway_type = p.pathway_type
     AND l.interval = CASE WHEN p.extended THEN 'extended_assessment' ELSE 'assessment' END
    WHERE p.m_date IS NOT NULL AND p.cf_date IS NOT NULL AND NOT p.direct_to_treatment
    UNION ALL
    SELECT 'rejected_referrals', start_date, coalesce(end_reason = 'R', false)
    FROM milestones
    WHERE start_date < $revised_rule_from  -- under the 2019 start rule only
    UNION ALL
    SELECT 'plan_cocreated', end_date, plan
    FROM milestones WHERE end_date IS NOT NULL AND treatment_decision
    UNION ALL
    SELECT 'information_given', end_date, information
    FROM milestones WHERE end_date IS NOT NULL AND treatment_decision
    UNION ALL
    -- closed with a treatment decision and open until the first evaluation fell due (final C
    -- + the limit at the care level of the first E after it, else of the final C)
    SELECT 'evaluation_any', p.end_date, p.first_eval IS NOT NULL
    FROM milestones p
    JOIN limits l ON l.pathway_type = p.pathway_type AND l.interval = 'first_evaluation'
    WHERE p.end_date IS NOT NULL AND p.treatment_decision
      AND p.end_date >= p.cf_date + CASE
          WHEN p.first_eval % 4 = 1 THEN l.inpatient
          WHEN p.first_eval % 4 = 2 THEN l.outpatient
          WHEN p.cf_care = 'inpatient' THEN l.inpatient
          ELSE l.outpatient END
)
SELECT indicator,
       year(anchor)::VARCHAR || '-T' || ((month(anchor) - 1) // 4 + 1)::VARCHAR AS period,
       count(*) FILTER (WHERE hit)::BIGINT AS numerator,
       count(*)::BIGINT AS denominator
FROM units
GROUP BY ALL
ORDER BY indicator, period
"""
"""(h) Pathway instances and five indicators in DuckDB SQL (domain/extract-and-timeline.md §2,
domain/indicators.md §3).

Instances: registrations are partitioned by (patient, institution, pathway type) and ordered by
date, the fixed same-day event order (A, P, M, L, C, D, S, U, F, E, H, T, X) and outcome; the
running count of A numbers the instances, so a second A of a type starts a new one (the open
one is left without an end, which is how pakkeforlop's *superseded* instance differs from a
closed one for these indicators); a row belongs to the instance when the last A or X before it
is an A (X closes it; rows before the first A and after an X are orphans, left out). Milestones
are read off the instance's rows as pakkeforlop reads them (first M, first C, first C not U,
its outcome and care level, X and its outcome, U-U, U-B, the first E after the final C).

Indicators, anchored and filtered as in ``indicators.toml``: ``assessment_in_time`` (final C;
M and final C, not direct to treatment, a recommended basic or extended time; M → final C
within it), ``rejected_referrals`` (A; every instance started under the 2019 start rule; ended
X-R), ``plan_cocreated`` and ``information_given`` (X; closed with a treatment decision, C-P or
C-T; U-U or U-B registered), ``evaluation_any`` (X; closed with a treatment decision, a
recommended first-evaluation time, not ended before final C + that time; an E on or after the
final C). Care level: of the final C for assessment, of the first E after it (else of the final
C) for the evaluation; day care and unknown count as outpatient.

What it simplifies, so where it may differ from pakkeforlop:

- every registration must carry its type (the combined code); typeless rows of the split
  layout (rule 3: join the only open instance, ambiguous otherwise) are not handled, nor a
  given ``pathway_id`` (rule 1);
- of the usable-row rules only the missing fields: codes are not checked against the catalogue
  (edition, validity dates, allowed per type: an unknown type such as D05 or event letter makes
  its own rows), dates before 2019 are not set apart, exact duplicates are not collapsed (a
  duplicated A starts an extra instance), and there is no ``--as-of`` (the reference date is the
  extract's last day);
- the regime is one cut-off date (``regimes.toml``), not judged per period;
- no strata, suppression, intervals or provenance: counts per tertial, overall only.

On the clean synthetic extracts none of these occur, so the counts should agree with
pakkeforlop's overall rows; ``run.py`` reports how far they do.
"""


def pathway_times() -> dict[tuple[str, str], tuple[int, int]]:
    """(type, interval) → (outpatient, inpatient) days, from the package's pathway-time file."""
    data = tomllib.loads((INDICATOR_DATA / "pathway_times_2019.toml").read_text(encoding="utf-8"))
    return {
        (t["pathway_type"], t["interval"]): (t["outpatient"], t["inpatient"]) for t in data["time"]
    }


def revised_rule_from() -> dt.date:
    """The day the revised start rule took effect (``regimes.toml``)."""
    data = tomllib.loads((INDICATOR_DATA / "regimes.toml").read_text(encoding="utf-8"))
    return next(r["effective_from"] for r in data["regime"] if r["id"] == "revised")


def duckdb_pathways(path: str, out: str) -> int:
    """(h) Pathway instances by window functions, and five indicators per tertial, in DuckDB."""
    import duckdb  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    values = ", ".join(
        f"('{t}', '{interval}', {lo}, {li})" for (t, interval), (lo, li) in pathway_times().items()
    )
    con = duckdb.connect()
    relation = con.sql(
        DUCKDB_PATHWAYS_SQL.format(limits=values),
        params={"path": path, "revised_rule_from": revised_rule_from()},
    )
    result = (getattr(relation, "to_arrow_table", None) or relation.arrow)()
    pq.write_table(result, out)
    return int(result.num_rows)


KINDS = {
    "lower-bound": lower_bound,
    "pandas": pandas_assessment,
    "duckdb": duckdb_assessment,
    "hash-floor": hash_floor,
    "duckdb-pathways": duckdb_pathways,
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
