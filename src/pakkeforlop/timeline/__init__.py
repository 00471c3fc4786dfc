"""From registrations to pathway instances (*forløp*): domain/extract-and-timeline.md §2.

:func:`build_pathways` turns the canonical event table into the pathway table (one row per
instance, :data:`~pakkeforlop.schema.PATHWAY_SCHEMA`), the findings that need the timeline, and
what became of every registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple

import polars as pl

from pakkeforlop.codes import DEFAULT_EDITION, Catalogue, load_catalogue
from pakkeforlop.findings import empty_findings
from pakkeforlop.schema import (
    CANONICAL_SCHEMA,
    CARRIED_STRATA,
    FINDINGS_SCHEMA,
    PATHWAY_SCHEMA,
)
from pakkeforlop.timeline import compiled
from pakkeforlop.timeline.assign import (
    ASSIGNMENT,
    GROUP,
    IN_MEMORY,
    NARROW,
    all_typed,
    assign_instances,
    hash_collision,
    order_events,
    run_start,
    usable_row,
)
from pakkeforlop.timeline.checks import (
    invalid_for_type,
    orphan_findings,
    parallel_findings,
    pathway_findings,
    registration_findings,
    registration_flags,
    type_validity_findings,
)
from pakkeforlop.timeline.milestones import INSTANCE, aggregate_instances, with_running_counts
from pakkeforlop.timeline.rules import treatment_start_rule

__all__ = ["ASSIGNMENT", "Timeline", "build_pathways"]


class Timeline(NamedTuple):
    """The pathways, the findings raised while building them, and each registration's fate."""

    pathways: pl.LazyFrame
    """One row per pathway instance, :data:`~pakkeforlop.schema.PATHWAY_SCHEMA`."""
    findings: pl.LazyFrame
    """Timeline findings, :data:`~pakkeforlop.schema.FINDINGS_SCHEMA`."""
    assignments: pl.LazyFrame
    """One row per input registration: ``source_file``, ``source_row``, ``patient_id``,
    ``pathway_key`` (null unless assigned), ``assignment`` (assigned / orphan / ambiguous /
    excluded: no patient, institution, date or event to place it by) and ``orphan_rule``."""


#: The event columns a finding's message and position need, looked up for the flagged rows.
_LOOKED_UP: Final = (
    "source_file",
    "source_row",
    "patient_id",
    "institution_id",
    "code",
    "event",
    "event_date",
    "outcome",
)


#: From this many rows on, :meth:`_Lookup.rows` reads them in row order.
_IN_ROW_ORDER: Final = 10_000


class _Lookup:
    """Columns of the event table for given row numbers.

    A gather when the table is in memory, a join when it is lazy (a scanned file).
    """

    def __init__(self, frame: pl.DataFrame | None, numbered: pl.LazyFrame) -> None:
        self.frame = frame
        self.numbered = numbered

    def rows(self, row_numbers: pl.Series, columns: Sequence[str | pl.Expr]) -> pl.DataFrame:
        """The ``columns`` of the rows numbered ``row_numbers`` (no nulls), in that order."""
        if self.frame is not None:
            if row_numbers.len() < _IN_ROW_ORDER:
                return self.frame.select(columns).select(pl.all().gather(row_numbers))
            # many rows (one per pathway): read them in row order, which touches the table
            # front to back, then put them back in the order asked for
            order = row_numbers.arg_sort()
            in_order = self.frame.select(columns).select(pl.all().gather(row_numbers.gather(order)))
            return in_order.select(pl.all().gather(order.arg_sort()))
        wanted = pl.DataFrame({"_row": row_numbers.cast(pl.UInt32)}).lazy()
        return (
            wanted.join(
                self.numbered.select("_row", *columns), on="_row", how="left", maintain_order="left"
            )
            .drop("_row")
            .collect(engine=IN_MEMORY)
        )


def _with_identity(milestones: pl.DataFrame, rows: pl.LazyFrame, lookup: _Lookup) -> pl.LazyFrame:
    """Add identifiers, strata and source position, looked up from each instance's start row.

    A stratum missing on the start row is taken from the first registration of the pathway
    that has it; only those pathways' rows are looked up.
    """
    start = lookup.rows(
        milestones["_a_row"],
        [
            *GROUP,
            *CARRIED_STRATA,
            pl.col("source_file").alias("_start_file"),
            pl.col("source_row").alias("_start_row"),
        ],
    )
    with_ids = pl.concat([milestones, start], how="horizontal")
    lacking = with_ids.filter(pl.any_horizontal(pl.col(s).is_null() for s in CARRIED_STRATA))
    if lacking.height:
        their_rows = (
            rows.join(lacking.lazy().select(INSTANCE), on=INSTANCE, how="semi")
            .select(INSTANCE, "_pos", "_row")
            .collect(engine=IN_MEMORY)
        )
        strata = lookup.rows(their_rows["_row"], list(CARRIED_STRATA))
        fallback = (
            pl.concat([their_rows, strata], how="horizontal")
            .sort("_pos")
            .group_by(INSTANCE)
            .agg(pl.col(s).drop_nulls().first() for s in CARRIED_STRATA)
        )
        with_ids = with_ids.update(fallback, on=INSTANCE, how="left")
    return with_ids.lazy()


def _assigned_rows(
    lf: pl.LazyFrame, frame: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rules 2–5: every registration's fate, and the assigned ones with their running counts.

    An extract whose registrations all carry their type (the combined layout) is put in
    instance order by one sort; otherwise typeless rows first learn their type (rule 3).
    """
    source = frame if frame is not None else lf
    by_type = all_typed(source)
    ordered = order_events(lf, by_type=by_type)
    if hash_collision(ordered):
        ordered = order_events(lf, exact=True, by_type=by_type)
    narrow = None if by_type else source.lazy().select(NARROW).collect(engine=IN_MEMORY)
    assigned_all = assign_instances(ordered, narrow)
    del ordered, narrow
    rows = (
        with_running_counts(assigned_all.lazy().filter(pl.col("assignment") == "assigned"))
        .collect(engine=IN_MEMORY)
        .rechunk()
    )
    return assigned_all, rows


def _fast(
    lf: pl.LazyFrame, frame: pl.DataFrame | None, not_treatment: Sequence[str]
) -> compiled.Walked | None:
    """Rules 2–5 in one sort and one compiled pass, when they apply (``None`` otherwise).

    They apply when every usable registration carries its type, as in the combined layout
    (:mod:`pakkeforlop.timeline.compiled` says what else it needs); not when the pass is
    switched off, nor to a table in memory of fewer than ``compiled.MIN_ROWS`` registrations
    (loading the pass would cost more than it saves).
    """
    source = frame if frame is not None else lf
    rows = frame.height if frame is not None else None
    if not compiled.worth_it(rows) or not compiled.available():
        return None
    if not compiled.fits_schema(lf.collect_schema()):
        return None
    if not all_typed(source):
        return None
    return compiled.walk_events(lf, not_treatment)


def _general(
    lf: pl.LazyFrame, frame: pl.DataFrame | None, cat: Catalogue, not_treatment: Sequence[str]
) -> tuple[compiled.Walked, list[pl.DataFrame], pl.LazyFrame, pl.DataFrame | None]:
    """Rules 2–5 by vectorised passes: the definition, and the path for typeless rows.

    A typeless registration (split layout) learns its type from the pathway it joins; if that
    type does not allow its code, the row is excluded like any invalid code (never half-used,
    domain/extract-and-timeline.md §1) and the assignment is done again without it, since it
    may have closed or joined a pathway. Each pass excludes at least one row, so this ends;
    extracts whose rows all carry their type take one pass.

    Returns:
        What assignment gives, the rows excluded that way (with their columns), and the events
        (and eager frame) without them.
    """
    invalid: list[pl.DataFrame] = []
    while True:
        assigned_all, assigned = _assigned_rows(lf, frame)
        bad = invalid_for_type(assigned.lazy(), cat).collect(engine=IN_MEMORY)
        if bad.is_empty():
            break
        invalid.append(bad.drop(INSTANCE))
        lf, frame = _without(lf, frame, bad["_row"])
    rows = assigned.lazy()
    walked = compiled.Walked(
        assigned_all=assigned_all.lazy().select("_row", INSTANCE, "assignment", "orphan_rule"),
        rows=rows,
        orphans=assigned_all.filter(pl.col("orphan_rule").is_not_null()).select(
            "_row", "orphan_rule"
        ),
        flagged=registration_flags(rows).collect(engine=IN_MEMORY),
        milestones=aggregate_instances(rows, not_treatment).collect(engine=IN_MEMORY),
    )
    return walked, invalid, lf, frame


def _without(
    lf: pl.LazyFrame, frame: pl.DataFrame | None, row_numbers: pl.Series
) -> tuple[pl.LazyFrame, pl.DataFrame | None]:
    """The events with the given rows made unplaceable (no event), row numbers kept."""
    drop = pl.int_range(pl.len(), dtype=pl.UInt32).is_in(row_numbers.cast(pl.UInt32).implode())
    event = pl.when(drop).then(None).otherwise(pl.col("event")).alias("event")
    if frame is not None:
        frame = frame.with_columns(event)
        return frame.lazy(), frame
    return lf.with_columns(event), None


def _run_index(*columns: str) -> pl.Expr:
    """0, 1, 2, ... within runs of equal values in a sorted frame (no window needed)."""
    index = pl.int_range(pl.len())
    start = pl.when(run_start(*columns)).then(index).forward_fill()
    return index - start


def _settle(instances: pl.DataFrame) -> pl.LazyFrame:
    """Status, end of superseded instances (rule 5) and stable keys.

    Instances come sorted by group, type and start number, so "the next start of this type" and
    "the n-th instance with this key" are read off neighbouring rows.
    """
    key = (
        pl.when(pl.col("pathway_id").is_not_null())
        .then(pl.col("pathway_id"))
        .otherwise(
            pl.concat_str(
                [
                    pl.col("patient_id"),
                    pl.col("institution_id"),
                    pl.col("_type").cast(pl.String),
                    pl.col("start_date").cast(pl.String),
                ],
                separator="|",
            )
        )
    )
    same_type = (~run_start("_tkey")).shift(-1).fill_null(False)
    # equal keys: two starts of one type on one day in a group (adjacent), or a given pathway id
    # shared by several groups (rare; only then is a window over the id needed)
    shared_ids = instances["pathway_id"].null_count() < instances.height
    dup = _run_index("_tkey", "start_date")
    if shared_ids:
        dup = (
            pl.when(pl.col("pathway_id").is_null())
            .then(dup)
            .otherwise(pl.int_range(pl.len()).over("pathway_id"))
        )
    # both paths build the instances in this order already; sorting them again (a million
    # rows of fifty columns) is paid only if not
    ordered = instances if instances[INSTANCE].is_sorted() else instances.sort(INSTANCE)
    return (
        ordered.lazy()
        .with_columns(
            _next_start=pl.when(same_type).then(pl.col("start_date").shift(-1)),
            pathway_type=pl.col("_type"),
        )
        .with_columns(
            status=pl.when(pl.col("end_date").is_not_null())
            .then(pl.lit("closed"))
            .when(pl.col("_next_start").is_not_null())
            .then(pl.lit("superseded"))
            .otherwise(pl.lit("open"))
            .cast(PATHWAY_SCHEMA["status"]),
        )
        .with_columns(
            end_date=pl.when(pl.col("status") == "superseded")
            .then(pl.col("_next_start") - pl.duration(days=1))
            .otherwise(pl.col("end_date")),
            _key=key,
            _dup=dup,
        )
        .with_columns(
            pathway_key=pl.when(pl.col("_dup") == 0)
            .then(pl.col("_key"))
            .otherwise(pl.format("{}#{}", pl.col("_key"), pl.col("_dup") + 1))
        )
    )


def _chains(instances: pl.DataFrame) -> pl.DataFrame:
    """Link transfers into chains (``chain_id``), named after the chain's first instance.

    A transfer is an end X-O followed by a new start of the same type at another institution on
    or after that end. Instances are ordered by a hash of the patient, type and start (integers
    only); the few candidate links are then checked on the patient and institution themselves,
    so a hash collision can neither link two patients nor hide a change of institution. The
    instances keep their order.
    """
    u32 = pl.UInt32
    links = instances.select(
        _i=pl.int_range(pl.len(), dtype=u32),
        _p=pl.col("patient_id").hash(seed=0),
        _t=pl.col("_type").to_physical(),
        _start=pl.col("start_date"),
        _end=pl.col("end_date"),
        _transfer=(pl.col("end_reason") == "O").fill_null(value=False),
    ).sort("_p", "_t", "_start", "_i")
    maybe = (
        ~run_start("_p", "_t")
        & pl.col("_transfer").shift(1).fill_null(value=False)
        & (pl.col("_start") >= pl.col("_end").shift(1)).fill_null(value=False)
    )
    candidates = links.select("_i", _prev=pl.col("_i").shift(1), _maybe=maybe).filter("_maybe")
    ids = instances.select("patient_id", "institution_id")
    this = ids.select(pl.all().gather(candidates["_i"]))
    prev = ids.select(pl.all().gather(candidates["_prev"]))
    real = (this["patient_id"] == prev["patient_id"]) & (
        this["institution_id"] != prev["institution_id"]
    )
    continues = pl.col("_i").is_in(candidates["_i"].filter(real).implode())
    # a continuation follows an instance of the same patient and type, so filling forward over
    # the whole sorted table stays within the chain
    roots = (
        links.select("_i", _root=pl.when(continues).then(None).otherwise(pl.col("_i")))
        .with_columns(pl.col("_root").forward_fill())
        .sort("_i")
    )
    return instances.with_columns(chain_id=instances["pathway_key"].gather(roots["_root"]))


def build_pathways(
    events: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    catalogue: Catalogue | None = None,
    treatment_start: str | None = None,
) -> Timeline:
    """Reconstruct pathway instances from the canonical event table.

    Rules 1–6 of domain/extract-and-timeline.md §2: a given ``pathway_id`` defines instances
    (the rules then only check them); otherwise registrations are grouped by patient and
    institution, ordered by date and the fixed same-day order (A, P, M, L, C, D, S, U, F, E, H, T,
    X); each start (A) opens an instance of its type, a typeless registration joins the only open
    instance, an end (X) closes it, a second start of the same type supersedes the open one.
    The result does not depend on the row order of the input.

    Args:
        events: The canonical event table (:func:`pakkeforlop.read_extract`), eager or lazy.
            A lazy table is collected more than once and its rows are looked up by number, so
            it must give its rows in the same order each time (a scan of files does; collect a
            plan whose order may vary, such as a join, first).
        as_of: Reference date: pathways without an end are open at this date, and it closes
            their interval for the parallel-pathway check. Defaults to the latest event date.
        edition: Code catalogue edition, for checking types supplied by the timeline.
        extension: Catalogue extension file with local codes.
        catalogue: An already loaded catalogue (wins over ``edition``/``extension``).
        treatment_start: The named rule deriving the treatment start after detox
            (:func:`~pakkeforlop.timeline.rules.treatment_start_rules`); the data file's default
            (``first_registration_after_detox``) when ``None``. Recorded in the table.

    Returns:
        A :class:`Timeline` of lazy frames (computed once; collecting them is cheap). The
        pathways are in instance order (by a hash of patient and institution, then type and
        start): the same whatever the input's row order, but not sorted by ``pathway_key``
        (sort them for reading; ``pakkeforlop timeline`` does).

    Examples:
        >>> import datetime as dt, polars as pl
        >>> from pakkeforlop.schema import CANONICAL_SCHEMA
        >>> rows = [("p1", "inst", dt.date(2023, 1, d), e, o) for d, e, o in
        ...         [(2, "A", None), (9, "M", None), (30, "C", "P"), (31, "U", "U")]]
        >>> events = pl.DataFrame(
        ...     [{"patient_id": p, "institution_id": i, "event_date": d, "pathway_type": "D11",
        ...       "event": e, "outcome": o, "source_file": "x", "source_row": n}
        ...      for n, (p, i, d, e, o) in enumerate(rows, 1)],
        ...     schema={k: CANONICAL_SCHEMA[k] for k in ("patient_id", "institution_id",
        ...     "event_date", "pathway_type", "event", "outcome", "source_file", "source_row")})
        >>> tl = build_pathways(events)
        >>> p = tl.pathways.collect().row(0, named=True)
        >>> p["pathway_key"], p["final_decision_date"], p["plan_date"], p["status"]
        ('p1|inst|D11|2023-01-02', datetime.date(2023, 1, 30), datetime.date(2023, 1, 31), 'open')
    """
    names = events.lazy().collect_schema().names()
    # every canonical column the timeline reads; an extract without some optional ones still works
    absent = [pl.lit(None, dtype=t).alias(c) for c, t in CANONICAL_SCHEMA.items() if c not in names]
    lf = events.lazy().with_columns(absent) if absent else events.lazy()
    # an eager table is looked up by row number directly (a gather); a lazy one by a join
    frame = events.with_columns(absent) if isinstance(events, pl.DataFrame) else None
    cat = catalogue or load_catalogue(edition, extension=extension)
    rule = treatment_start_rule(treatment_start)
    if as_of is None:
        latest = lf.filter(usable_row()).select(pl.col("event_date").max()).collect().item()
        as_of = latest if isinstance(latest, dt.date) else dt.date.today()

    walked = _fast(lf, frame, rule.not_treatment)
    invalid: list[pl.DataFrame] = []
    if walked is None:
        walked, invalid, lf, frame = _general(lf, frame, cat, rule.not_treatment)
    numbered = lf.with_row_index("_row")
    lookup = _Lookup(frame, numbered)
    identified = _with_identity(walked.milestones, walked.rows, lookup).collect(engine=IN_MEMORY)
    instances = _chains(_settle(identified).collect(engine=IN_MEMORY))
    keys = instances.lazy().select(INSTANCE, "pathway_key")

    def enrich(flagged: pl.LazyFrame) -> pl.LazyFrame:
        # flagged rows are few: gathered by row number, not joined against the whole table
        rows_flagged = flagged.collect(engine=IN_MEMORY)
        wanted = [c for c in _LOOKED_UP if c not in rows_flagged.columns]
        looked_up = lookup.rows(rows_flagged["_row"], wanted)
        enriched = pl.concat([rows_flagged, looked_up], how="horizontal").lazy()
        if INSTANCE in rows_flagged.columns:
            enriched = enriched.join(keys, on=INSTANCE, how="left")
        return enriched

    findings = pl.concat(
        [
            empty_findings().lazy(),
            *registration_findings(enrich(walked.flagged.lazy())),
            # an orphan belongs to no pathway: no pathway key
            orphan_findings(enrich(walked.orphans.lazy())),
            *pathway_findings(instances.lazy()),
            parallel_findings(instances.lazy(), as_of),
            type_validity_findings(enrich(pl.concat(invalid).lazy()) if invalid else None),
        ]
    ).collect(engine=IN_MEMORY)
    assigned_all = walked.assigned_all
    del walked

    per_pathway = (
        findings.lazy()
        .filter(pl.col("pathway_key").is_not_null())
        .group_by("pathway_key")
        .agg(findings=pl.col("rule_id").unique(maintain_order=True))
    )
    # in instance order (group hash, type, start number): independent of the input's row
    # order, and no string sort of pathway keys on the hot path (the timeline command's output
    # sorts by pathway_key)
    pathways = (
        instances.lazy()
        .join(per_pathway, on="pathway_key", how="left", maintain_order="left")
        .with_columns(
            pl.col("findings").fill_null([]),
            pl.lit(as_of, dtype=pl.Date).alias("reference_date"),
            pl.lit(rule.id, dtype=pl.Categorical).alias("treatment_start_rule"),
        )
        .select([pl.col(n).cast(t) for n, t in PATHWAY_SCHEMA.items()])
        .collect(engine=IN_MEMORY)
    )
    # what became of each registration: computed only when a caller collects it
    assignments = (
        assigned_all.select("_row", INSTANCE, "assignment", "orphan_rule")
        .join(numbered.select("_row", "source_file", "source_row", "patient_id"), on="_row")
        .join(keys, on=INSTANCE, how="left")
        .select(
            "source_file",
            "source_row",
            "patient_id",
            pl.when(pl.col("assignment") == "assigned").then(pl.col("pathway_key")),
            "assignment",
            "orphan_rule",
        )
        .sort("source_file", "source_row", nulls_last=True)
    )
    return Timeline(
        pathways=pathways.lazy(),
        findings=findings.select(list(FINDINGS_SCHEMA.names())).lazy(),
        assignments=assignments,
    )
