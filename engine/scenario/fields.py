"""Field types and the base model shared by every section of the scenario format.

**A plain number given for an amount is in the fund's currency** (``pledge: 20000000000``
is $20bn), in YAML, JSON, ``--set`` and the app's PATH=VALUE box alike, as the format's
contract has always said; ``12bn``, ``300k`` or ``12.5m`` say their unit. A plain amount
*typed* in an edit (:class:`TypedNumber`) that is not zero but below
:data:`AMBIGUOUS_BELOW` currency units (``--set areas.cyber.floor=12`` in a fund counted in
bn) is refused as ambiguous, naming the field: reading it as $12 would silently give a plan
without the planner's edit. A workbook's cells
are read in the unit its headers state (the fund's unit): validation is told so with
``plain="fund"`` (:func:`engine.scenario.validate.validate_scenario`). Scenarios write
amounts back with their unit (``15bn``), exactly, so either reading gives the same figures.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)
from pydantic_core.core_schema import SerializationInfo, ValidationInfo

from engine.scenario.units import (
    UNIT_FACTORS,
    parse_amount,
    parse_share,
    reject_flag,
    reject_non_finite,
)

#: Pattern of a member id (an ISO 3166 alpha-3 country code) and of a currency (ISO 4217).
ISO_CODE = r"^[A-Z]{3}$"
#: Pattern of an area, policy or project id: a lower-case name usable in ``--set`` paths.
IDENT = r"^[a-z][a-z0-9_]*$"
#: What each id pattern means, for validation messages (pydantic would quote the regex).
PATTERN_TEXT = {
    ISO_CODE: "must be three capital letters, {code}",
    IDENT: "must start with a lower-case letter and hold only lower-case letters, digits and _",
}

#: The validation-context key holding the currency units one plain number stands for.
PLAIN_FACTOR = "plain_factor"
#: The validation-context key holding the fund's unit, for the ambiguity check's message.
PLAIN_CHECK = "plain_check"
#: A plain amount below this many currency units (and not zero) is refused as ambiguous.
AMBIGUOUS_BELOW = 1000.0
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
    amount = float(number * Decimal(factor))
    if not math.isfinite(amount):
        unit = next((u for u, f in UNIT_FACTORS.items() if f == factor), f"x {factor:g}")
        raise ValueError(f"an amount is too large for any fund, got {value!r} ({unit})")
    return amount


def money_text(amount: float, unit: str) -> str:
    """An amount in currency units as exact text in ``unit``: ``15bn``, ``3.81571280673bn``
    (read back, it gives the same float)."""
    number = Decimal(repr(float(amount))) / Decimal(UNIT_FACTORS[unit])
    return f"{format(number.normalize(), 'f')}{unit}"


class TypedNumber(float):
    """A plain number a planner typed (``--set areas.cyber.floor=12``, the app's edit box):
    validation checks it for ambiguity where it lands on an amount. Numbers in files are
    not checked: a file's plain amounts are in the currency, as the format has always said."""


def read_plain(value: Any, context: Any) -> Any:
    """``value`` as validation reads it under ``context``: a plain number in the fund's unit
    turned into currency units (``plain="fund"``, workbooks), or, when typed in an edit
    (:class:`TypedNumber`), checked for ambiguity (below :data:`AMBIGUOUS_BELOW` currency
    units, not zero: ValueError); anything else unchanged."""
    factor = plain_factor(context)
    if factor:
        return in_currency(value, factor)
    unit = context.get(PLAIN_CHECK) if isinstance(context, dict) else None
    number = float(value) if unit and isinstance(value, TypedNumber) else None
    if number is not None and 0 < number < AMBIGUOUS_BELOW:
        shown = f"{number:g}"
        raise ValueError(
            f"{shown} is ambiguous: a plain number is in the fund's currency, so it would be "
            f"{shown} currency units; write {shown}{unit} (or the full figure)"
        )
    return value


def _amount_in(value: Any, info: ValidationInfo) -> float:
    return parse_amount(read_plain(value, info.context))


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
#: A finite number (flags, NaN and infinities refused).
Finite = Annotated[float, BeforeValidator(reject_non_finite)]
#: A whole number written as such or as its digits (``2026`` or ``"2026"``: a JSON key, the
#: pledge years', is always text); ``true`` is refused, not read as 1. The JSON Schema says so.
Int = Annotated[
    int,
    BeforeValidator(
        reject_flag,
        json_schema_input_type=int | Annotated[str, StringConstraints(pattern=r"^\s*-?\d+\s*$")],
    ),
]
#: A random seed: a whole number from 0 to 2**63 - 1 (numpy's generators refuse negative
#: seeds, and the bound keeps a seed writable in every file format the engine reads).
Seed = Annotated[Int, Field(ge=0, le=2**63 - 1)]


class Strict(BaseModel):
    """Immutable, and unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )
