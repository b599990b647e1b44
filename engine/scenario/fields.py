"""Field types and the base model shared by every section of the scenario format.

**A plain number given for an amount is in the fund's unit**: ``floor: 12`` in a fund with
``unit: bn`` is 12bn, in YAML, JSON, a workbook, ``--set`` and the app alike; ``12bn``,
``300k`` or ``12.5m`` say their unit. Validation applies the rule when it is told the
fund's unit (:func:`engine.scenario.validate.validate_scenario` with ``plain="fund"``,
which every reader of the file format uses); data built in code and read with the
default ``plain="currency"`` gives plain numbers in currency units. Scenarios write
amounts back with their unit (``15bn``), exactly, so either reading gives the same figures.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic_core.core_schema import SerializationInfo, ValidationInfo

from engine.scenario.units import UNIT_FACTORS, parse_amount, parse_share, reject_non_finite

#: The validation-context key holding the currency units one plain number stands for.
PLAIN_FACTOR = "plain_factor"
#: The serialisation-context key holding the unit amounts are written in (``bn``).
WRITE_UNIT = "unit"

_PLAIN = re.compile(r"^\s*[-+]?(?:\d+(?:[_,]\d{3})*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?\s*$", re.I)


def plain_factor(context: Any) -> float | None:
    """The currency units a plain number stands for under a validation ``context``."""
    return context.get(PLAIN_FACTOR) if isinstance(context, dict) else None


def in_currency(value: Any, factor: float | None) -> Any:
    """``value`` with a plain number (``12``, ``'12'``) turned into currency units, exactly
    (``12`` at ``1e9`` is 12000000000.0); anything else is returned unchanged."""
    if not factor or factor == 1 or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str) and _PLAIN.match(value):
        number = Decimal(value.strip().replace("_", "").replace(",", ""))
    else:
        return value
    return float(number * Decimal(factor))


def money_text(amount: float, unit: str) -> str:
    """An amount in currency units as exact text in ``unit``: ``15bn``, ``3.81571280673bn``
    (read back, it gives the same float)."""
    number = Decimal(repr(float(amount))) / Decimal(UNIT_FACTORS[unit])
    return f"{format(number.normalize(), 'f')}{unit}"


def _amount_in(value: Any, info: ValidationInfo) -> float:
    return parse_amount(in_currency(value, plain_factor(info.context)))


def _amount_out(value: float, info: SerializationInfo) -> float | str:
    unit = info.context.get(WRITE_UNIT) if isinstance(info.context, dict) else None
    return value if unit is None else money_text(value, unit)


#: Money in currency units; accepts ``98bn``, ``300k``, ``12.5m`` or numbers; not negative.
Money = Annotated[
    float,
    BeforeValidator(_amount_in, json_schema_input_type=float | str),
    PlainSerializer(_amount_out, when_used="json"),
]
#: A share in [0, 1]; accepts ``25%`` or ``0.25``.
Share = Annotated[float, BeforeValidator(parse_share, json_schema_input_type=float | str)]
#: A finite number (NaN and infinities refused).
Finite = Annotated[float, BeforeValidator(reject_non_finite)]


class Strict(BaseModel):
    """Immutable, and unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
