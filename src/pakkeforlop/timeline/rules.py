"""Named rules the timeline derives milestones with, as versioned data.

The treatment start after detox (*behandlingsstart etter avrusning*) has no code of its own; it
is derived by a named rule (domain/extract-and-timeline.md §2, ``treatment_start_date``) kept in
``timeline/data/treatment_start.toml``. The pathway table records the rule it was built with
(``treatment_start_rule``) and the indicator metadata shows it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from pakkeforlop.errors import ConfigurationError

__all__ = ["TreatmentStartRule", "treatment_start_rule", "treatment_start_rules"]


class TreatmentStartRule(BaseModel):
    """One way to derive the treatment start after detox."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    not_treatment: tuple[str, ...]
    """Events that cannot be a treatment start (the first other registration after D is)."""
    title_en: str
    title_nb: str
    source: str

    def describe(self) -> str:
        """The rule as one line for metadata and docs (id, definition, source)."""
        return f"{self.id}: {self.title_en} ({self.source})"


class _RuleFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    default: str
    rule: tuple[TreatmentStartRule, ...]


@cache
def _rules() -> _RuleFile:
    text = (
        resources.files("pakkeforlop.timeline")
        .joinpath("data", "treatment_start.toml")
        .read_text(encoding="utf-8")
    )
    return _RuleFile.model_validate(tomllib.loads(text))


def treatment_start_rules() -> dict[str, TreatmentStartRule]:
    """Every named treatment-start rule, by id.

    Examples:
        >>> list(treatment_start_rules())
        ['first_registration_after_detox']
    """
    return {r.id: r for r in _rules().rule}


def treatment_start_rule(rule_id: str | None = None) -> TreatmentStartRule:
    """The treatment-start rule with this id (the data file's default when ``None``).

    Raises:
        ConfigurationError: If no rule has that id.

    Examples:
        >>> treatment_start_rule().not_treatment
        ('D', 'H', 'X')
    """
    rules = treatment_start_rules()
    chosen = rule_id or _rules().default
    if chosen not in rules:
        msg = f"unknown treatment-start rule {chosen!r}; expected one of {', '.join(rules)}"
        raise ConfigurationError(msg)
    return rules[chosen]
