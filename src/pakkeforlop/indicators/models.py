"""Frozen pydantic models of the indicator engine's data: definitions, times, policies, metadata.

See domain/indicators.md. Every model is validated once at the edge (when its data file is read)
and is plain data afterwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Better",
    "CareLevelDefault",
    "GoalArea",
    "IndicatorDefinition",
    "IndicatorMetadata",
    "Interval",
    "OutcomeCodes",
    "PathwayTime",
    "SuppressionPolicy",
]

#: Intervals of the recommended pathway times (domain/indicators.md §2).
Interval = Literal[
    "assessment",
    "extended_assessment",
    "detox_to_treatment",
    "first_evaluation",
    "between_evaluations",
    "first_attendance",
    "referral_to_first_attendance_severe",
    "referral_to_first_attendance_less_severe",
]

#: Which direction of an indicator's change is an improvement.
Better = Literal["higher", "lower"]

#: Which limit applies when the care level of the registration ending an interval is unknown.
CareLevelDefault = Literal["outpatient", "inpatient"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class GoalArea(BaseModel):
    """One of the five goal areas of the pathway programme (domain/indicators.md §1)."""

    model_config = _FROZEN

    id: str
    title_nb: str
    title_en: str


class OutcomeCodes(BaseModel):
    """The code letters the predicates rely on (domain/codes.md §4), held in data."""

    model_config = _FROZEN

    treatment_decision: tuple[str, ...]
    """Outcomes of C that are a treatment decision (P, T)."""
    extended_assessment: str
    completed: str
    rejected: str
    not_in_pathway: str


class IndicatorDefinition(BaseModel):
    """One indicator, declaratively (domain/indicators.md §3).

    The named building blocks (anchor, predicates, duration) are compiled to polars expressions by
    :mod:`pakkeforlop.indicators.compile`; their names are checked when the catalogue is loaded.
    """

    model_config = _FROZEN

    id: str
    better: Better | None = None
    """Which direction of change is an improvement (a goal of the pathways: more in time,
    shorter waits). ``None`` where a rise is neither good nor bad by itself: activity counts,
    rejected referrals and pathways ended as not belonging in a pathway [DERIVED]."""
    goal_area: str
    title_nb: str
    title_en: str
    unit: Literal["pathway", "evaluation_gap", "open_at_period_end"] = "pathway"
    """A pathway; a gap between evaluations; or a pathway on the last day of each period it is
    open on (``pathways_open``)."""
    kind: Literal["proportion", "duration", "count"] = "proportion"
    """A share (numerator / denominator), a duration in days (median, p75, p90), or a count of
    units (an activity indicator: value = count, no interval)."""
    anchor: str
    denominator: tuple[str, ...]
    numerator: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    duration: str | None = None
    interval: Interval | None = None
    pathway_types: tuple[str, ...] | None = None
    """Only pathways of these types (all types when absent)."""
    excluded_pathway_types: tuple[str, ...] = ()
    target: float | None = Field(default=None, ge=0, le=1)
    source: Literal["KV", "KVL", "DERIVED", "UNSURE", "local"] = "KVL"
    official: bool = False
    """One of the nationally published indicators."""
    derived: bool = False
    """Rests on a [DERIVED] quantity (e.g. treatment start); flagged in the output."""
    regimes: tuple[str, ...] | None = None
    """Rule regimes under which the indicator is meaningful (``None``: all); periods under
    another regime are not available (domain/indicators.md §3, "Rule regimes")."""
    requires_event: str | None = None
    """An event code the catalogue edition must have (H exists from 2024)."""
    requires_local_code: bool = False
    """Computable only when a catalogue extension maps a local code to this indicator."""
    notes: str = ""

    @model_validator(mode="after")
    def _kind_consistent(self) -> IndicatorDefinition:
        if self.kind == "duration" and (self.duration is None or self.numerator):
            msg = f"{self.id}: a duration indicator names a duration and no numerator"
            raise ValueError(msg)
        if self.kind == "proportion" and (self.duration is not None or not self.numerator):
            msg = f"{self.id}: a proportion indicator names a numerator and no duration"
            raise ValueError(msg)
        if self.kind == "count" and (self.duration is not None or self.numerator):
            msg = f"{self.id}: a count indicator names neither a numerator nor a duration"
            raise ValueError(msg)
        return self


class PathwayTime(BaseModel):
    """One row of the recommended pathway times (domain/indicators.md §2), in calendar days."""

    model_config = _FROZEN

    pathway_type: Literal["D01", "D06", "D07", "D08", "D09", "D10", "D11", "D12"]
    interval: Interval
    outpatient: int = Field(ge=0)
    inpatient: int = Field(ge=0)
    status: Literal["official", "provisional"]
    source: str = ""
    note: str = ""

    @property
    def label(self) -> str:
        """Short label, e.g. ``"D12 assessment (provisional)"``."""
        return f"{self.pathway_type} {self.interval} ({self.status})"


class SuppressionPolicy(BaseModel):
    """A named small-cell suppression policy (domain/indicators.md §4)."""

    model_config = _FROZEN

    name: str
    title: str
    description: str
    min_denominator: int = Field(ge=1)
    """Hide a cell whose denominator is under this."""
    hidden_numerator: tuple[int, int] | None = None
    """Hide a cell whose numerator lies in this range (both bounds inclusive)."""
    secondary: bool = True
    """Hide the next-smallest cell of a stratum group when exactly one is hidden."""
    source: str = ""


class IndicatorMetadata(BaseModel):
    """Provenance that travels with an indicator table (domain/indicators.md §4)."""

    model_config = _FROZEN

    catalogue_edition: str
    """Indicator catalogue edition (``indicators.toml``)."""
    code_edition: str
    """Code catalogue edition (2019 or 2024)."""
    code_extension: str | None = None
    times_file: str
    times_version: str
    provisional_times_used: tuple[str, ...] = ()
    """Pathway-time rows with status provisional that decided at least one unit."""
    types_without_time: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Per time-based indicator: pathway types left out because they have no recommended time."""
    reference_date: dt.date | None
    treatment_start: str | None = None
    """The named rule the pathways derived the treatment start after detox with, its definition
    and source (domain/extract-and-timeline.md §2); ``None`` for a table built without one."""
    period: str
    by: tuple[str, ...]
    start: dt.date | None = None
    end: dt.date | None = None
    suppression: str | None
    """The suppression policy applied, or ``None`` when off."""
    level: float
    unknown_care_level: CareLevelDefault
    indicators: tuple[str, ...]
    not_computed: dict[str, str] = Field(default_factory=dict)
    """Indicators left out, with the reason (e.g. no national code)."""
    regimes: dict[str, dt.date] = Field(default_factory=dict)
    """Rule regimes and the day each took effect (domain/indicators.md §3, "Rule regimes")."""
    period_regimes: dict[str, str] = Field(default_factory=dict)
    """The regime(s) in force in each period of the table."""
    regime_limits: dict[str, str] = Field(default_factory=dict)
    """Indicators tied to a rule regime, and why other periods are ``not_available``."""
    codes_not_in_force: dict[str, str] = Field(default_factory=dict)
    """Indicators resting on a code with a start date, and why periods that end before it are
    ``not_available`` (domain/indicators.md §3, "Codes not yet in force")."""
    input_rows: int | None = None
    """Rows read from the extract."""
    rows_usable: int | None = None
    """Registrations that fed the pathways (domain/extract-and-timeline.md §1)."""
    rows_excluded: dict[str, int] = Field(default_factory=dict)
    """Rows left out of pathways and indicators, by reason."""
    duplicates_collapsed: int | None = None
    """Exact duplicates collapsed: rows read = usable + excluded + duplicates."""
    pathway_count: int
    findings_count: int | None = None
    findings_by_severity: dict[str, int] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()
