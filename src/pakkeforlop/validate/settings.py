"""What decides a validation run: the limits of the plausibility rules and the exit decision.

The defaults live in ``validate/data/thresholds.toml`` (our own choice [DERIVED]: the domain notes
give no plausible pathway length and no definition of a unit's data-quality signal).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FailOn", "ValidationSettings", "ValidationThresholds"]

FailOn = Literal["error", "warning"]


def _defaults() -> dict[str, Any]:
    text = (
        resources.files("pakkeforlop.validate")
        .joinpath("data/thresholds.toml")
        .read_text(encoding="utf-8")
    )
    data = tomllib.loads(text)
    data.pop("version", None)
    return data


_DEFAULTS: Final = _defaults()


class ValidationThresholds(BaseModel):
    """The configurable limits of the validate-stage plausibility rules.

    Defaults from ``validate/data/thresholds.toml`` [DERIVED].

    Attributes:
        open_limit_days: ``open_too_long``: an open pathway whose start lies more than this many
            days before the reference date (default 1095, three years).
        unit_min_pathways: ``unit_never_registers``: only institutions with at least this many
            closed pathways with a treatment decision are judged (default 20).
        treatment_outcomes: Outcomes of the final clinical decision (C) that count as a treatment
            decision: P (mental health care) and T (substance-use care), as in
            domain/indicators.md §3.
        unit_drop_share: ``unit_sudden_drop``: the month-to-month fall in an institution's
            registrations, as a share of the earlier month, that counts as sudden (default 0.7,
            i.e. a fall of more than 70 %).
        unit_drop_min_count: ``unit_sudden_drop``: the earlier month must have at least this many
            registrations (default 50), so that small units' noise is not reported.

    Examples:
        >>> ValidationThresholds().open_limit_days
        1095
        >>> ValidationThresholds(unit_drop_share=1.5)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for ValidationThresholds
        ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    open_limit_days: int = Field(default=_DEFAULTS["open_limit_days"], ge=1)
    unit_min_pathways: int = Field(default=_DEFAULTS["unit_min_pathways"], ge=1)
    treatment_outcomes: tuple[str, ...] = tuple(_DEFAULTS["treatment_outcomes"])
    unit_drop_share: float = Field(default=_DEFAULTS["unit_drop_share"], gt=0, le=1)
    unit_drop_min_count: int = Field(default=_DEFAULTS["unit_drop_min_count"], ge=1)


class ValidationSettings(BaseModel):
    """A validation run's settings: the rules' limits and when the run fails.

    The run passes (exit code 0) when nothing at or above ``fail_on`` was found, or when the
    share of rows with such findings is at most ``max_error_rate``; otherwise it fails (1).

    Examples:
        >>> ValidationSettings(fail_on="warning").thresholds.unit_min_pathways
        20
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: ValidationThresholds = ValidationThresholds()
    fail_on: FailOn = "error"
    """The lowest severity that fails the run."""
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    """Pass anyway when at most this share of rows has failing findings."""
