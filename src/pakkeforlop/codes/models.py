"""Frozen pydantic models of the pathway code catalogue (kodeverk 9321–9328).

See domain/codes.md §1–§5. A :class:`Catalogue` is one edition (2019 or 2024), optionally with a
user's local extension; the combined codes (kodeverk 9327) are *derived* from the systems, never
typed twice.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from pakkeforlop.schema import EVENT, PATHWAY_TYPE

__all__ = ["Catalogue", "Code", "CodeSystem", "SourceTag", "code_label"]

SourceTag = Literal["KV", "KVL", "DERIVED", "UNSURE", "local"]
SystemRole = Literal["pathway_type", "event", "outcome", "combined"]


class CodeSystem(BaseModel):
    """One code system (*kodeverk*), e.g. 9323 = outcome of the clinical decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    role: SystemRole
    nb: str
    en: str
    event: str | None = None


class Code(BaseModel):
    """One code in one system, with the pathway types that may use it and its validity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: int
    code: str = Field(min_length=1, max_length=3)
    nb: str
    en: str
    types: tuple[str, ...] | None = None
    """Pathway types that may use the code; ``None`` means every type."""
    outcome_system: int | None = None
    """For events: the system of the outcome the event takes (C → 9323, ...)."""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    source: SourceTag = "KV"
    listed: bool = True
    """False for codes documented elsewhere but absent from the code-list snapshot (e.g. L)."""
    note: str = ""
    indicator: str | None = None
    """For local extension codes: the indicator this code feeds (e.g. ``somatic_followup``)."""

    def allows(self, pathway_type: str) -> bool:
        """Whether the code may be used in a pathway of this type."""
        return self.types is None or pathway_type in self.types


def code_label(event: str, outcome: str | None) -> str:
    """How an (event, outcome) pair is named in settings and metadata: ``U-S``, or the event.

    Examples:
        >>> code_label("U", "S"), code_label("T", None)
        ('U-S', 'T')
    """
    return f"{event}-{outcome}" if outcome else event


class Catalogue(BaseModel):
    """One edition of the code catalogue, with any local extension codes merged in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    title: str
    snapshot: str
    systems: tuple[CodeSystem, ...] = Field(alias="system")
    codes: tuple[Code, ...] = Field(alias="code")
    extension: str | None = None
    """Path of the extension file merged in, if any."""

    # --- look-ups -------------------------------------------------------------------------------

    def system(self, system_id: int) -> CodeSystem:
        """The code system with this id (raises ``KeyError`` if absent)."""
        for s in self.systems:
            if s.id == system_id:
                return s
        raise KeyError(system_id)

    def codes_in(self, system_id: int) -> tuple[Code, ...]:
        """Every code of one system, in catalogue order."""
        return tuple(c for c in self.codes if c.system == system_id)

    def codes_in_letters(self, system_id: int) -> list[str]:
        """The code values of one system, in catalogue order (e.g. ``["G", "R", ...]``)."""
        return [c.code for c in self.codes_in(system_id)]

    @cached_property
    def pathway_types(self) -> dict[str, Code]:
        """Pathway types (9321) by code."""
        return {c.code: c for c in self.codes_in(9321)}

    @cached_property
    def events(self) -> dict[str, Code]:
        """Events (9322) by code."""
        return {c.code: c for c in self.codes_in(9322)}

    def outcomes(self, event: str) -> dict[str, Code]:
        """Outcomes the event takes, by code (empty for events without outcome)."""
        ev = self.events.get(event)
        if ev is None or ev.outcome_system is None:
            return {}
        return {c.code: c for c in self.codes_in(ev.outcome_system)}

    def pair_of(self, code: Code) -> tuple[str, str | None]:
        """The (event, outcome) a code of the event or an outcome system stands for.

        Examples:
            >>> from pakkeforlop.codes import load_catalogue
            >>> cat = load_catalogue("2024")
            >>> cat.pair_of(cat.events["T"]), cat.pair_of(cat.outcomes("U")["B"])
            (('T', None), ('U', 'B'))
        """
        if code.system == 9322:
            return code.code, None
        event_of = {s.id: s.event for s in self.systems if s.role == "outcome"}
        return event_of.get(code.system) or "", code.code

    @cached_property
    def indicator_codes(self) -> dict[str, tuple[tuple[str, str | None], ...]]:
        """Local codes mapped to an indicator: indicator id → ((event, outcome), ...)."""
        out: dict[str, list[tuple[str, str | None]]] = {}
        for c in self.codes:
            if c.indicator is not None:
                out.setdefault(c.indicator, []).append(self.pair_of(c))
        return {k: tuple(v) for k, v in out.items()}

    # --- combined codes (9327) ------------------------------------------------------------------

    @cached_property
    def combined_table(self) -> pl.DataFrame:
        """Every valid (type, event, outcome) combination as a table.

        Columns: ``code`` (the combined code, e.g. ``D11CU``), ``pathway_type``, ``event``,
        ``outcome`` (null for events without one), ``valid_from``, ``valid_to`` (the latest start
        and earliest end of the parts' validity), ``listed`` (all parts in the code-list
        snapshot), ``source`` (the weakest source tag of the parts). Derived from the systems, so
        the validity matrix of domain/codes.md §5 is never typed twice.
        """
        order = {"KV": 0, "KVL": 1, "DERIVED": 2, "UNSURE": 3, "local": 4}
        rows: list[dict[str, object]] = []
        for t in self.pathway_types.values():
            for ev in self.events.values():
                if not ev.allows(t.code):
                    continue
                outcome_codes: list[Code | None] = (
                    [o for o in self.outcomes(ev.code).values() if o.allows(t.code)]
                    if ev.outcome_system is not None
                    else [None]
                )
                for o in outcome_codes:
                    parts = [p for p in (t, ev, o) if p is not None]
                    starts = [p.valid_from for p in parts if p.valid_from is not None]
                    ends = [p.valid_to for p in parts if p.valid_to is not None]
                    rows.append(
                        {
                            "code": t.code + ev.code + (o.code if o else ""),
                            "pathway_type": t.code,
                            "event": ev.code,
                            "outcome": o.code if o else None,
                            "valid_from": max(starts) if starts else None,
                            "valid_to": min(ends) if ends else None,
                            "listed": all(p.listed for p in parts),
                            "source": max((p.source for p in parts), key=order.__getitem__),
                        }
                    )
        return pl.DataFrame(
            rows,
            schema={
                "code": pl.String,
                "pathway_type": PATHWAY_TYPE,
                "event": EVENT,
                "outcome": pl.String,
                "valid_from": pl.Date,
                "valid_to": pl.Date,
                "listed": pl.Boolean,
                "source": pl.String,
            },
            orient="row",
        )

    def combined_codes(
        self, pathway_type: str | None = None, *, include_unlisted: bool = False
    ) -> list[str]:
        """The valid combined codes (kodeverk 9327), optionally for one pathway type.

        Args:
            pathway_type: Only codes of this type (e.g. ``"D11"``); all types when ``None``.
            include_unlisted: Also codes with a part that is absent from the code-list snapshot
                (e.g. ``D01L``, postponed by the patient).

        Returns:
            The codes, in catalogue order.

        Examples:
            >>> from pakkeforlop.codes import load_catalogue
            >>> len(load_catalogue("2024").combined_codes())
            246
            >>> load_catalogue("2019").combined_codes("D06")[:3]
            ['D06A', 'D06M', 'D06CP']
        """
        t = self.combined_table
        if pathway_type is not None:
            t = t.filter(pl.col("pathway_type") == pathway_type)
        if not include_unlisted:
            t = t.filter(pl.col("listed"))
        return t["code"].to_list()

    def is_valid(
        self,
        pathway_type: str,
        event: str,
        outcome: str | None = None,
        *,
        on: dt.date | None = None,
    ) -> bool:
        """Whether a registration is valid for the type in this edition (and on a date).

        Args:
            pathway_type: The pathway type (9321), e.g. ``"D11"``.
            event: The event (9322), e.g. ``"C"``.
            outcome: The outcome letter, for events that take one.
            on: If given, the date must fall within the validity of every part.

        Returns:
            True when the combination is in the catalogue (listed or not) and valid on ``on``.

        Examples:
            >>> from pakkeforlop.codes import load_catalogue
            >>> cat = load_catalogue("2024")
            >>> cat.is_valid("D11", "C", "U"), cat.is_valid("D06", "C", "U")
            (True, False)
            >>> import datetime as dt
            >>> cat.is_valid("D06", "A", on=dt.date(2019, 2, 1))
            False
        """
        t = self.combined_table.filter(
            (pl.col("pathway_type") == pathway_type)
            & (pl.col("event").cast(pl.String) == event)
            & (pl.col("outcome").is_null() if outcome is None else pl.col("outcome") == outcome)
        )
        if on is not None:
            t = t.filter(
                (pl.col("valid_from").is_null() | (pl.col("valid_from") <= on))
                & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= on))
            )
        return t.height > 0
