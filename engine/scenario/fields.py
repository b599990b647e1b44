"""Field types and the base model shared by every section of the scenario format."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from engine.scenario.units import parse_amount, parse_share, reject_non_finite

#: Money in currency units; accepts ``98bn``, ``300k``, ``12.5m`` or numbers; not negative.
Money = Annotated[float, BeforeValidator(parse_amount, json_schema_input_type=float | str)]
#: A share in [0, 1]; accepts ``25%`` or ``0.25``.
Share = Annotated[float, BeforeValidator(parse_share, json_schema_input_type=float | str)]
#: A finite number (NaN and infinities refused).
Finite = Annotated[float, BeforeValidator(reject_non_finite)]


class Strict(BaseModel):
    """Immutable, and unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
