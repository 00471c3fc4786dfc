"""The synthetic world: geography, behaviour profile and the code catalogue, as arrays.

The data files ``data/geography.toml`` (regions, health trusts, units, municipalities) and
``data/profile.toml`` (pathway mix, ages, durations, registration habits) are loaded into frozen
pydantic models and turned once into the numpy look-up tables the vectorised generator indexes.
Which codes a pathway type may use always comes from the code catalogue (domain/codes.md §5),
never from the profile.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from statistics import NormalDist
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pakkeforlop.codes import load_catalogue
from pakkeforlop.schema import CARE_LEVEL, EVENT_SAME_DAY_ORDER, PATHWAY_TYPE

__all__ = [
    "BAD_EVENT",
    "BAD_TYPE",
    "CARE_LEVELS",
    "EVENTS",
    "OUTCOME_LETTERS",
    "SERVICES",
    "TYPES",
    "Geography",
    "Profile",
    "World",
    "letter",
    "load_geography",
    "load_profile",
    "unit_practice",
    "world",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Pathway types in the order of the :data:`~pakkeforlop.schema.PATHWAY_TYPE` enum, plus one
#: non-existent type used only to inject unknown codes (D02–D05 do not exist, domain/codes.md §2).
TYPES: Final = (*PATHWAY_TYPE.categories.to_list(), "D05")
BAD_TYPE: Final = len(TYPES) - 1
#: Events in same-day order, plus one letter that is no event (for injected unknown codes).
EVENTS: Final = (*EVENT_SAME_DAY_ORDER, "Q")
BAD_EVENT: Final = len(EVENTS) - 1
#: Outcome alphabet: index 0 is "no outcome", then A–Z and "?"; "Z" is in no outcome system.
OUTCOME_LETTERS: Final = ("", *(chr(c) for c in range(ord("A"), ord("Z") + 1)), "?")
#: Kinds of unit a pathway type is treated in (adult mental health, child and adolescent, TSB).
SERVICES: Final = ("VOP", "BUP", "TSB")
#: Care levels in the order of the :data:`~pakkeforlop.schema.CARE_LEVEL` enum.
CARE_LEVELS: Final = tuple(CARE_LEVEL.categories.to_list())


def letter(code: str) -> int:
    """Index of an outcome letter in :data:`OUTCOME_LETTERS` (0 for none).

    Examples:
        >>> letter("A"), letter("Z"), letter("")
        (1, 26, 0)
    """
    return OUTCOME_LETTERS.index(code)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Region(_Frozen):
    """A regional health authority (RHF) and the day its units began registering."""

    id: str
    name: str
    registration_start: dt.date


class Trust(_Frozen):
    """A health trust (HF) with its number of units per service (synthetic counts)."""

    id: str
    name: str
    region: str
    units: dict[Literal["VOP", "BUP", "TSB"], int]


class Municipality(_Frozen):
    """A municipality (4-digit number) with its population and catchment trust shares."""

    number: str = Field(pattern=r"^\d{4}$")
    name: str
    population: float = Field(gt=0)
    trusts: dict[str, float]


class Geography(_Frozen):
    """Regions, trusts and municipalities (``data/geography.toml``)."""

    regions: tuple[Region, ...] = Field(alias="region")
    trusts: tuple[Trust, ...] = Field(alias="trust")
    municipalities: tuple[Municipality, ...] = Field(alias="municipality")

    @model_validator(mode="after")
    def _consistent(self) -> Geography:
        regions = {r.id for r in self.regions}
        trusts = {t.id for t in self.trusts}
        for t in self.trusts:
            if t.region not in regions:
                msg = f"trust {t.id} names unknown region {t.region}"
                raise ValueError(msg)
            if any(t.units.get(s, 0) < 1 for s in SERVICES):
                msg = f"trust {t.id} needs at least one unit of each service {SERVICES}"
                raise ValueError(msg)
        for m in self.municipalities:
            if not set(m.trusts) <= trusts:
                msg = f"municipality {m.number} names unknown trusts {set(m.trusts) - trusts}"
                raise ValueError(msg)
        return self


class Limits(_Frozen):
    """Recommended pathway times as [outpatient, inpatient] days (domain/indicators.md §2)."""

    basic: tuple[int, int]
    extended: tuple[int, int]
    first_evaluation: tuple[int, int]
    between_evaluations: tuple[int, int]


class TypeProfile(_Frozen):
    """Behaviour of one pathway type (see the comments in ``data/profile.toml``)."""

    share: float = Field(ge=0)
    service: Literal["VOP", "BUP", "TSB"]
    earliest_start: dt.date | None = None
    female: float = Field(ge=0, le=1)
    ages: tuple[tuple[int, int, float], ...]
    inpatient: float = Field(ge=0, le=1)
    day: float = Field(ge=0, le=1)
    wait_median: float = Field(gt=0)
    reject: float = Field(ge=0, le=1)
    not_in_pathway: float = Field(ge=0, le=1)
    drop_before_attendance: float = Field(ge=0, le=1)
    drop_in_assessment: float = Field(ge=0, le=1)
    direct: float = Field(ge=0, le=1)
    extended: float = Field(ge=0, le=1)
    assessment_in_time: float = Field(gt=0, lt=1)
    limits: Limits
    treatment: float = Field(ge=0, le=1)
    treatment_outcome: str
    other_decisions: dict[str, float]
    plan: float = Field(gt=0, lt=1)
    information: float = Field(ge=0, le=1)
    collaboration: float = Field(ge=0, le=1)
    feedback: float = Field(ge=0, le=1)
    feedback_tool: float = Field(ge=0, le=1)
    standard_tool: float = Field(ge=0, le=1)
    evaluation_any: float = Field(gt=0, lt=1)
    first_evaluation_in_time: float = Field(gt=0, lt=1)
    between_in_time: float = Field(gt=0, lt=1)
    duration_median: float = Field(gt=0)
    postponement: float = Field(default=0.0, ge=0, le=1)
    detox: float = Field(default=0.0, ge=0, le=1)
    activities: dict[str, float] = Field(default_factory=dict)
    treatment_finished: float = Field(default=0.0, ge=0, le=1)


class General(_Frozen):
    """Profile-wide settings (``[general]``)."""

    own_trust: float
    weekend_kept_outpatient: float
    weekend_kept_inpatient: float
    unit_spread_plan: float
    unit_spread_evaluation: float
    wait_sigma: float
    assessment_sigma: float
    evaluation_sigma: float
    duration_sigma: float
    help_needed_from: dt.date
    help_needed: float
    sex_unknown: float


class Pairs(_Frozen):
    """Shares of the kinds of consecutive instance pairs."""

    independent: float
    transfer: float
    parallel: float
    repeat: float
    switch: float


class EndReasons(_Frozen):
    """End-reason weights (kodeverk 9326) by the phase a pathway ends in."""

    before_attendance: dict[str, float]
    in_assessment: dict[str, float]
    after_treatment: dict[str, float]
    after_other_decision: dict[str, float]


class Profile(_Frozen):
    """The behaviour profile (``data/profile.toml``)."""

    pairs: Pairs
    general: General
    rejection_by_region: dict[str, float]
    end_reasons: EndReasons
    help_needed_outcomes: dict[str, float]
    errors: dict[str, float]
    type: dict[str, TypeProfile]

    @model_validator(mode="after")
    def _all_types(self) -> Profile:
        if set(self.type) != set(TYPES[:BAD_TYPE]):
            msg = f"profile must describe exactly the types {TYPES[:BAD_TYPE]}"
            raise ValueError(msg)
        return self


def _read(name: str) -> dict[str, Any]:
    text = resources.files("pakkeforlop.synth").joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def load_geography() -> Geography:
    """The geography of ``data/geography.toml``.

    Examples:
        >>> geo = load_geography()
        >>> [r.name for r in geo.regions][:2]
        ['Helse Sør-Øst RHF', 'Helse Vest RHF']
    """
    return Geography.model_validate(_read("geography.toml"))


@cache
def load_profile() -> Profile:
    """The behaviour profile of ``data/profile.toml``.

    Examples:
        >>> load_profile().type["D12"].reject
        0.19
    """
    return Profile.model_validate(_read("profile.toml"))


def _norm(w: F64) -> F64:
    total = w.sum(axis=-1, keepdims=True)
    normed: F64 = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return normed


def _sigmoid(x: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-x))


def _lognormal_mu(target: float, sigma: float) -> float:
    """Location such that ``P(limit * exp(sigma Z + mu) <= limit) == target``."""
    return -sigma * NormalDist().inv_cdf(target)


@dataclass(frozen=True)
class World:
    """Every look-up table the vectorised generator needs, for one catalogue edition.

    Indices: types by :data:`TYPES`, events by :data:`EVENTS`, outcome letters by
    :data:`OUTCOME_LETTERS`, regions/trusts/municipalities in file order, institutions flat.
    """

    edition: str
    profile: Profile
    # catalogue validity: valid[type, event, outcome letter] (unlisted codes such as D01L included)
    valid: npt.NDArray[np.bool_]
    # regions
    region_names: tuple[str, ...]
    region_ids: tuple[str, ...]
    region_start: npt.NDArray[np.int32]
    # trusts
    trust_names: tuple[str, ...]
    trust_region: npt.NDArray[np.int64]
    trust_weight: F64  # expected share of patients treated by each trust
    # institutions (flat), and per (trust, service): first institution and count
    inst_ids: tuple[str, ...]
    inst_trust: npt.NDArray[np.int64]
    inst_service: npt.NDArray[np.int64]
    unit_first: npt.NDArray[np.int64]  # (trust, service)
    unit_count: npt.NDArray[np.int64]  # (trust, service)
    # municipalities
    muni_numbers: tuple[str, ...]
    muni_cum: F64
    muni_trust_cum: F64  # (municipality, trust) cumulative catchment shares
    # treating trust given residence trust: cumulative (trust, trust)
    treat_cum: F64
    # another trust of the same region (for transfers), by population: cumulative (trust, trust)
    other_cum: F64
    # types
    type_cum: F64
    type_service: npt.NDArray[np.int64]
    type_start: npt.NDArray[np.int32]
    # per-type profile vectors (index by type)
    tp: dict[str, F64]

    def type_profile(self, t: int) -> TypeProfile:
        """The profile of type index ``t``."""
        return self.profile.type[TYPES[t]]


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


@cache
def world(edition: str = "2024") -> World:
    """Build the look-up tables for a catalogue edition (cached).

    Args:
        edition: The code catalogue edition whose codes the generator may use.

    Returns:
        The frozen :class:`World`.

    Examples:
        >>> w = world("2024")
        >>> len(w.inst_ids) > 100, w.region_names[3]
        (True, 'Helse Nord RHF')
    """
    geo = load_geography()
    prof = load_profile()
    cat = load_catalogue(edition)

    valid = np.zeros((len(TYPES), len(EVENTS), len(OUTCOME_LETTERS)), dtype=np.bool_)
    idx = cat.combined_table.select(
        pl.col("pathway_type").to_physical().cast(pl.Int64).alias("t"),
        pl.col("event").to_physical().cast(pl.Int64).alias("e"),
        pl.col("outcome")
        .fill_null("")
        .replace_strict(list(OUTCOME_LETTERS), list(range(len(OUTCOME_LETTERS))))
        .cast(pl.Int64)
        .alias("o"),
    )
    valid[idx["t"].to_numpy(), idx["e"].to_numpy(), idx["o"].to_numpy()] = True

    region_ids = tuple(r.id for r in geo.regions)
    trust_ids = tuple(t.id for t in geo.trusts)
    trust_region = np.array([region_ids.index(t.region) for t in geo.trusts], dtype=np.int64)

    inst_ids: list[str] = []
    inst_trust: list[int] = []
    inst_service: list[int] = []
    unit_first = np.zeros((len(trust_ids), len(SERVICES)), dtype=np.int64)
    unit_count = np.zeros_like(unit_first)
    for ti, t in enumerate(geo.trusts):
        for si, s in enumerate(SERVICES):
            unit_first[ti, si] = len(inst_ids)
            unit_count[ti, si] = t.units[s]  # type: ignore[index]
            for k in range(t.units[s]):  # type: ignore[index]
                inst_ids.append(f"9{ti + 1:02d}{si + 1}{k + 1:02d}")
                inst_trust.append(ti)
                inst_service.append(si)

    pop = np.array([m.population for m in geo.municipalities], dtype=np.float64)
    muni_trust = np.array(
        [[m.trusts.get(t, 0.0) for t in trust_ids] for m in geo.municipalities], dtype=np.float64
    )
    muni_trust = _norm(muni_trust)
    residence_weight = pop @ muni_trust
    residence_weight /= residence_weight.sum()
    same_region = trust_region[:, None] == trust_region[None, :]
    others = np.where(same_region & ~np.eye(len(trust_ids), dtype=np.bool_), residence_weight, 0.0)
    g = prof.general
    treat = g.own_trust * np.eye(len(trust_ids)) + (1 - g.own_trust) * _norm(others)
    trust_weight = residence_weight @ treat

    types = TYPES[:BAD_TYPE]
    tps = [prof.type[t] for t in types]
    catalogue_start = {t: (cat.pathway_types[t].valid_from or dt.date(2019, 1, 1)) for t in types}
    type_start = np.array(
        [
            _days(max(p.earliest_start or catalogue_start[t], catalogue_start[t]))
            for t, p in zip(types, tps, strict=True)
        ],
        dtype=np.int32,
    )

    def vec(f: str) -> F64:
        return np.array([float(getattr(p, f)) for p in tps], dtype=np.float64)

    tp: dict[str, F64] = {
        f: vec(f)
        for f in (
            "female",
            "inpatient",
            "day",
            "wait_median",
            "reject",
            "not_in_pathway",
            "drop_before_attendance",
            "drop_in_assessment",
            "direct",
            "extended",
            "treatment",
            "plan",
            "information",
            "collaboration",
            "feedback",
            "feedback_tool",
            "standard_tool",
            "evaluation_any",
            "duration_median",
            "postponement",
            "detox",
            "treatment_finished",
        )
    }
    a_sigma, e_sigma = g.assessment_sigma, g.evaluation_sigma
    tp["mu_basic"] = np.array([_lognormal_mu(p.assessment_in_time, a_sigma) for p in tps])
    tp["mu_first_eval"] = np.array(
        [
            _lognormal_mu(min(p.first_evaluation_in_time / p.evaluation_any, 0.98), e_sigma)
            for p in tps
        ]
    )
    tp["mu_between"] = np.array([_lognormal_mu(p.between_in_time, e_sigma) for p in tps])
    for name in ("basic", "extended", "first_evaluation", "between_evaluations"):
        # columns: outpatient, inpatient
        tp[f"limit_{name}"] = np.array([getattr(p.limits, name) for p in tps], dtype=np.float64)

    # Region effect on rejections, normalised so the national share keeps each type's `reject`.
    region_weight = np.bincount(trust_region, weights=trust_weight, minlength=len(region_ids))
    mult = np.array([prof.rejection_by_region.get(r, 1.0) for r in region_ids])
    tp["reject_region"] = mult / float(region_weight @ mult)

    return World(
        edition=edition,
        profile=prof,
        valid=valid,
        region_names=tuple(r.name for r in geo.regions),
        region_ids=region_ids,
        region_start=np.array([_days(r.registration_start) for r in geo.regions], dtype=np.int32),
        trust_names=tuple(t.name for t in geo.trusts),
        trust_region=trust_region,
        trust_weight=trust_weight,
        inst_ids=tuple(inst_ids),
        inst_trust=np.array(inst_trust, dtype=np.int64),
        inst_service=np.array(inst_service, dtype=np.int64),
        unit_first=unit_first,
        unit_count=unit_count,
        muni_numbers=tuple(m.number for m in geo.municipalities),
        muni_cum=np.cumsum(pop / pop.sum()),
        muni_trust_cum=np.cumsum(muni_trust, axis=1),
        treat_cum=np.cumsum(treat, axis=1),
        other_cum=np.cumsum(_norm(others), axis=1),
        type_cum=np.cumsum(_norm(vec("share"))),
        type_service=np.array([SERVICES.index(p.service) for p in tps], dtype=np.int64),
        type_start=type_start,
        tp=tp,
    )


def unit_practice(w: World, seed: int) -> tuple[F64, F64]:
    """Per-institution, per-type probabilities of registering a plan (U-U) and any evaluation (E).

    Units differ (a logit-normal spread, ``unit_spread_*`` in the profile); the centre is solved
    per type so that the volume-weighted national share equals the profile's target.

    Args:
        w: The world.
        seed: The generator seed (unit practice is part of the synthetic world).

    Returns:
        Two arrays of shape (institutions, types): plan and evaluation probabilities.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    n_inst = len(w.inst_ids)
    g = w.profile.general
    # Stratified draws: evenly spaced normal quantiles in a seeded order, so the units' spread
    # is the same whatever the seed and only who is high or low changes.
    q = (np.arange(n_inst) + 0.5) / n_inst
    z = np.array([NormalDist().inv_cdf(float(v)) for v in q])
    off_plan = g.unit_spread_plan * z[rng.permutation(n_inst)]
    off_eval = g.unit_spread_evaluation * z[rng.permutation(n_inst)]
    volume = w.trust_weight[w.inst_trust] / w.unit_count[w.inst_trust, w.inst_service]
    out: list[F64] = []
    for off, target in ((off_plan, w.tp["plan"]), (off_eval, w.tp["evaluation_any"])):
        probs = np.zeros((n_inst, len(target)))
        for t in range(len(target)):
            serves = w.inst_service == w.type_service[t]
            wt = volume * serves
            wt = wt / wt.sum()
            lo, hi = -12.0, 12.0
            for _ in range(60):  # bisection on the centre; 60 halvings are exact to float precision
                mid = (lo + hi) / 2
                if float(wt @ _sigmoid(mid + off)) < target[t]:
                    lo = mid
                else:
                    hi = mid
            probs[:, t] = _sigmoid((lo + hi) / 2 + off)
        out.append(probs)
    return out[0], out[1]
