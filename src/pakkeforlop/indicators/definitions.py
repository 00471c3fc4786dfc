"""The indicator catalogue: definitions loaded from ``data/indicators.toml``.

See domain/indicators.md §1 and §3. The same definitions drive the engine, ``pakkeforlop
indicators --list`` and the docs (:func:`definitions_table`).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict

from pakkeforlop.codes import Catalogue
from pakkeforlop.errors import ConfigurationError
from pakkeforlop.indicators.compile import ANCHORS, DURATIONS, PREDICATES, check_names
from pakkeforlop.indicators.models import GoalArea, IndicatorDefinition, OutcomeCodes
from pakkeforlop.indicators.times import PathwayTimes, load_pathway_times

__all__ = [
    "IndicatorCatalogue",
    "check_local_mappings",
    "computability",
    "definition",
    "definitions_document",
    "definitions_markdown",
    "definitions_table",
    "indicator_catalogue",
    "resolve_indicators",
]


class IndicatorCatalogue(BaseModel):
    """The indicator catalogue: goal areas, code letters and definitions, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    codes: OutcomeCodes
    goal_areas: tuple[GoalArea, ...]
    indicators: tuple[IndicatorDefinition, ...]

    def get(self, indicator_id: str) -> IndicatorDefinition:
        """The definition with this id.

        Raises:
            ConfigurationError: If there is none (with the closest id as a suggestion).
        """
        for d in self.indicators:
            if d.id == indicator_id:
                return d
        ids = [d.id for d in self.indicators]
        close = difflib.get_close_matches(indicator_id, ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(ids)}"
        msg = f"unknown indicator {indicator_id!r}{hint}"
        raise ConfigurationError(msg)

    def goal_area(self, goal_id: str) -> GoalArea:
        """The goal area with this id (``KeyError`` when absent)."""
        for g in self.goal_areas:
            if g.id == goal_id:
                return g
        raise KeyError(goal_id)


@cache
def indicator_catalogue() -> IndicatorCatalogue:
    """The shipped indicator catalogue.

    Returns:
        The catalogue; every name in every definition is a known building block.

    Examples:
        >>> cat = indicator_catalogue()
        >>> cat.indicators[0].id, cat.get("plan_cocreated").target
        ('assessment_in_time', 0.8)
    """
    raw = tomllib.loads(
        resources.files("pakkeforlop.indicators")
        .joinpath("data", "indicators.toml")
        .read_text(encoding="utf-8")
    )
    cat = IndicatorCatalogue(
        edition=str(raw["edition"]),
        codes=OutcomeCodes.model_validate(raw["codes"]),
        goal_areas=tuple(GoalArea.model_validate(g) for g in raw["goal_area"]),
        indicators=tuple(IndicatorDefinition.model_validate(d) for d in raw["indicator"]),
    )
    goals = {g.id for g in cat.goal_areas}
    for d in cat.indicators:
        problems = check_names(d) + ([] if d.goal_area in goals else [f"goal {d.goal_area!r}"])
        if problems:  # a packaging error, caught by the test suite
            msg = f"indicators.toml: {d.id}: {'; '.join(problems)}"
            raise ValueError(msg)
    return cat


def definition(indicator_id: str) -> IndicatorDefinition:
    """One indicator definition by id.

    Args:
        indicator_id: E.g. ``"assessment_in_time"``.

    Returns:
        The definition.

    Raises:
        ConfigurationError: If the id is unknown.

    Examples:
        >>> definition("assessment_in_time").exclusions
        ('direct_to_treatment', 'no_recommended_time')
    """
    return indicator_catalogue().get(indicator_id)


def computability(d: IndicatorDefinition, catalogue: Catalogue) -> str | None:
    """Why an indicator cannot be computed with a code catalogue, or ``None`` when it can.

    Args:
        d: The definition.
        catalogue: The code catalogue (edition plus any extension).

    Returns:
        A reason, or ``None``.

    Examples:
        >>> from pakkeforlop.codes import load_catalogue
        >>> computability(definition("somatic_followup"), load_catalogue("2024"))
        'not computable from national codes: map a local U outcome ... in a catalogue extension'
        >>> computability(definition("help_needed_recorded"), load_catalogue("2019"))
        'event H is not in code edition 2019'
    """
    if d.requires_event is not None and d.requires_event not in catalogue.events:
        return f"event {d.requires_event} is not in code edition {catalogue.edition}"
    if d.requires_local_code:
        mapped = catalogue.indicator_codes.get(d.id, ())
        if not any(event == "U" and outcome for event, outcome in mapped):
            return (
                f"not computable from national codes: map a local U outcome to {d.id}"
                " in a catalogue extension"
            )
    return None


def check_local_mappings(catalogue: Catalogue) -> None:
    """Refuse a catalogue extension that maps a local code to an indicator that reads none.

    Only indicators whose numerator rests on local codes (source ``local``, e.g.
    ``somatic_followup``) read them; a mapping to any other id would be silently ignored.

    Raises:
        ConfigurationError: Naming the code, the id and the ids that take local codes.

    Examples:
        >>> from pakkeforlop.codes import load_catalogue
        >>> check_local_mappings(load_catalogue("2024"))  # no extension: nothing to check
    """
    takes = [d.id for d in indicator_catalogue().indicators if d.source == "local"]
    for code in catalogue.codes:
        if code.indicator is not None and code.indicator not in takes:
            label = "-".join(p for p in catalogue.pair_of(code) if p)
            msg = (
                f"{catalogue.extension or 'the catalogue'}: local code {label} maps to indicator"
                f" {code.indicator!r}, which reads no local codes; expected one of"
                f" {', '.join(takes)}"
            )
            raise ConfigurationError(msg)


def resolve_indicators(
    ids: Iterable[str] | None, catalogue: Catalogue
) -> tuple[list[IndicatorDefinition], dict[str, str]]:
    """The definitions to compute, and those left out with the reason.

    Args:
        ids: Indicator ids asked for; every computable indicator when ``None``.
        catalogue: The code catalogue.

    Returns:
        ``(definitions in catalogue order, {id: reason not computed})``.

    Raises:
        ConfigurationError: If an id is unknown, or an indicator asked for by name cannot be
            computed with this catalogue.
    """
    cat = indicator_catalogue()
    check_local_mappings(catalogue)
    skipped: dict[str, str] = {}
    if ids is None:
        chosen: list[IndicatorDefinition] = []
        for d in cat.indicators:
            reason = computability(d, catalogue)
            if reason is None:
                chosen.append(d)
            else:
                skipped[d.id] = reason
        return chosen, skipped
    wanted = list(dict.fromkeys(ids))
    asked = {cat.get(i).id for i in wanted}
    for i in wanted:
        reason = computability(cat.get(i), catalogue)
        if reason is not None:
            msg = f"indicator {i!r} cannot be computed: {reason}"
            raise ConfigurationError(msg)
    return [d for d in cat.indicators if d.id in asked], skipped


def _describe(names: Iterable[str]) -> str:
    return "; ".join(PREDICATES[n].description for n in names)


def definitions_table(catalogue: Catalogue | None = None) -> pl.DataFrame:
    """Every indicator definition as a readable table (for ``--list`` and the docs).

    Args:
        catalogue: When given, a ``computable`` column says whether each indicator can be
            computed with it (and why not).

    Returns:
        One row per indicator: ``id, goal_area, title_en, title_nb, kind, unit, anchor,
        denominator, exclusions, numerator, interval, target, source, official, notes`` (and
        ``computable``).

    Examples:
        >>> t = definitions_table()
        >>> t.filter(pl.col("id") == "assessment_in_time")["anchor"].item()
        'final clinical decision (C)'
    """
    cat = indicator_catalogue()
    rows = []
    for d in cat.indicators:
        types = ""
        if d.pathway_types is not None:
            types = f"; only types {', '.join(d.pathway_types)}"
        if d.excluded_pathway_types:
            types += f"; not types {', '.join(d.excluded_pathway_types)}"
        if d.duration is not None:
            numerator = f"distribution of {DURATIONS[d.duration].description}"
        elif d.kind == "count":
            numerator = "none: the value is the number of units"
        else:
            numerator = _describe(d.numerator)
        row: dict[str, object] = {
            "id": d.id,
            "goal_area": d.goal_area,
            "title_en": d.title_en,
            "title_nb": d.title_nb,
            "kind": d.kind,
            "unit": d.unit,
            "anchor": ANCHORS[d.anchor].description,
            "denominator": _describe(d.denominator) + types,
            "exclusions": _describe(d.exclusions),
            "numerator": numerator,
            "interval": d.interval,
            "target": d.target,
            "source": d.source,
            "official": d.official,
            "notes": d.notes,
        }
        if catalogue is not None:
            row["computable"] = computability(d, catalogue) or "yes"
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


#: How each kind of indicator is described in the docs.
_KIND_TEXT: Final = {
    "proportion": "proportion (Wilson interval)",
    "duration": "duration (median, 75th and 90th percentile, days)",
    "count": "count (no interval; the policy's count rule hides small counts)",
}
#: How each unit is described in the docs.
_UNIT_TEXT: Final = {
    "evaluation_gap": "evaluation gap",
    "open_at_period_end": "pathway instance open on the period's last day",
}


def definitions_markdown(
    catalogue: Catalogue | None = None, times: PathwayTimes | None = None
) -> str:
    """The indicator catalogue as Markdown, one section per goal area (for the docs).

    Generated from the same definitions the engine runs, so the documentation cannot drift.

    Args:
        catalogue: When given, indicators that cannot be computed with it say why.
        times: Recommended pathway times for the closing section (the shipped file by default).

    Returns:
        Markdown text.

    Examples:
        >>> text = definitions_markdown()
        >>> text.splitlines()[0]
        '## No unjustified waiting (*unngå unødig ventetid*)'
        >>> "### Assessment completed within the recommended time (`assessment_in_time`)" in text
        True
    """
    cat = indicator_catalogue()
    table = definitions_table(catalogue)
    by_id = {r["id"]: r for r in table.to_dicts()}
    order = list(dict.fromkeys(d.goal_area for d in cat.indicators))
    lines: list[str] = []
    for goal_id in order:
        goal = cat.goal_area(goal_id)
        if lines:
            lines.append("")
        lines.append(f"## {goal.title_en} (*{goal.title_nb[0].lower()}{goal.title_nb[1:]}*)")
        for d in (d for d in cat.indicators if d.goal_area == goal_id):
            r = by_id[d.id]
            lines += ["", f"### {d.title_en} (`{d.id}`)", "", f"*{d.title_nb}*", ""]
            items = [
                ("kind", _KIND_TEXT[d.kind]),
                ("unit", _UNIT_TEXT.get(d.unit, "pathway instance")),
                ("period by", r["anchor"]),
                ("denominator", r["denominator"]),
                ("excluding", r["exclusions"] or "none"),
                ("numerator", r["numerator"]),
                ("recommended time", d.interval.replace("_", " ") if d.interval else "none"),
                ("target", f"{d.target:.0%}" if d.target is not None else "none"),
                ("source", d.source + (", official indicator" if d.official else "")),
            ]
            if d.requires_event:
                code = catalogue.events.get(d.requires_event) if catalogue else None
                since = (
                    f", in force from {code.valid_from.isoformat()}"
                    + (" [UNSURE]" if "UNSURE" in code.note else "")
                    if code is not None and code.valid_from is not None
                    else ""
                )
                items.append(
                    ("rests on", f"event {d.requires_event}{since}; not available before it")
                )
            if d.regimes:
                items.append(("rule regimes", f"only under the {', '.join(d.regimes)} start rule"))
            if catalogue is not None and r["computable"] != "yes":
                items.append(("computable", r["computable"]))
            lines += [f"- **{k}**: {v}" for k, v in items]
            if d.notes:
                lines += ["", d.notes]
    tim = times if times is not None else load_pathway_times()
    lines += ["", "## Recommended pathway times", "", tim.markdown()]
    return "\n".join(lines) + "\n"


def definitions_document(catalogue: Catalogue | None = None) -> str:
    """``docs/indicators.md``: a title, how it was made, and :func:`definitions_markdown`.

    Regenerate the file with ``pakkeforlop indicators --list -o docs/indicators.md``; a test
    checks it is current.

    Examples:
        >>> definitions_document().splitlines()[0]
        '# Indicator definitions'
    """
    cat = indicator_catalogue()
    head = [
        "# Indicator definitions",
        "",
        f"Indicator catalogue edition {cat.edition}"
        + (f", code catalogue edition {catalogue.edition}" if catalogue is not None else "")
        + ". Generated from the definitions the engine runs"
        " (`pakkeforlop indicators --list -o docs/indicators.md`); do not edit by hand."
        " Sources: KV = the code list, KVL = the code-list guidance, DERIVED = derived by"
        " pakkeforlop from the registered codes, UNSURE = not confirmed in any source found,"
        " local = a code of your catalogue extension.",
        "",
    ]
    return "\n".join(head) + "\n" + definitions_markdown(catalogue)
