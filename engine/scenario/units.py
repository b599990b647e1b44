"""Parse money amounts (``98bn``, ``300k``, ``12.5m``) and shares (``25%``, ``0.25``)."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

#: Multipliers of the suffixes accepted in money amounts and fund units.
UNIT_FACTORS: dict[str, float] = {
    "": 1.0,
    "k": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "bn": 1e9,
    "b": 1e9,
    "tn": 1e12,
}

_MONEY = re.compile(
    r"^\s*([-+]?(?:\d+(?:[_,]\d{3})*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)\s*([a-z]*)\s*$"
)


def _finite(value: float, what: str, given: object = None) -> float:
    """``value``, or ValueError naming what was written (``given``: ``1e400``, not ``inf``)."""
    if not math.isfinite(value):
        shown = value if given is None else given
        if what == "an amount" and isinstance(given, str) and not re.search("nan|inf", given, re.I):
            # Written as digits, it overflowed: calling it 'not finite' would puzzle.
            raise ValueError(f"{what} is too large for any fund, got {shown!r}")
        raise ValueError(f"{what} must be a finite number, got {shown!r}")
    return value


def parse_money(value: object) -> float:
    """Return an amount in currency units from a number or a string like ``12.5bn``.

    Raises ValueError for text that is not an amount, NaN, infinity or booleans.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount such as 12.5bn or 300k, got {value!r}")
    if isinstance(value, int | float):
        return _finite(float(value), "an amount")
    if isinstance(value, str):
        match = _MONEY.match(value.lower())
        if match and match.group(2) in UNIT_FACTORS:
            # Decimal, so that ``4.475bn`` is the float nearest 4,475,000,000 exactly.
            number = Decimal(match.group(1).replace("_", "").replace(",", ""))
            amount = float(number * Decimal(UNIT_FACTORS[match.group(2)]))
            return _finite(amount, "an amount", value)
    raise ValueError(f"expected an amount such as 12.5bn, 300k or 98000000, got {value!r}")


def parse_share(value: object, upper: float | None = 1.0) -> float:
    """Return a share in [0, 1] from ``25%`` or ``0.25`` (in [0, ``upper``]; with
    ``upper=None`` any ratio that is not negative, such as ``120%``).

    Raises ValueError for anything else, including shares outside that range.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a share such as 25% or 0.25, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"expected a share such as 25% or 0.25, got {value!r}") from None
    elif isinstance(value, int | float):
        share = float(value)
    else:
        raise ValueError(f"expected a share such as 25% or 0.25, got {value!r}")
    _finite(share, "a share", value)
    if share < 0.0 or (upper is not None and share > upper):
        top = "any ratio" if upper is None else f"{upper:.0%}"
        raise ValueError(f"a share must lie between 0% and {top}, got {value!r}")
    return share


#: Amounts are snapped to this many fund units before they are rounded for people (the
#: solvers' tolerance): 0.155 pledged and 0.1550000004 allocated then show alike.
SNAP = Decimal("1e-6")
#: Amounts (in fund units) from which figures are shown in scientific notation.
HUGE = Decimal("1e15")


def display_digits(scaled: Decimal) -> int:
    """Decimals that show an amount in fund units: none when whole, else 2 (3 or 4 for
    amounts below 0.01 or 0.001 of the unit, so that they do not show as 0.00)."""
    if scaled == scaled.to_integral_value():
        return 0
    size = abs(scaled)
    return 2 if size >= Decimal("0.01") else 3 if size >= Decimal("0.001") else 4


def shown_amount(amount: float, unit: str = "bn", digits: int | None = None) -> Decimal:
    """An amount in currency units as people see it, in ``unit``: snapped to :data:`SNAP`
    and rounded half up to ``digits`` decimals (None: :func:`display_digits`)."""
    scaled = Decimal(repr(float(amount))) / Decimal(UNIT_FACTORS.get(unit, 1.0))
    if abs(scaled) >= HUGE:  # beyond any fund: no snapping (and no precision to snap)
        return scaled
    scaled = scaled.quantize(SNAP)
    if digits is None:
        digits = display_digits(scaled)
    return scaled.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_money(
    amount: float, currency: str = "", unit: str = "bn", digits: int | None = None
) -> str:
    """Format an amount in currency units for people, e.g. ``$12.50bn`` (``$98bn`` when
    whole): the one money formatter of the CLI, the app, reports and workbooks. Figures
    are snapped to the solvers' tolerance and rounded half up, so equal amounts show
    alike; give ``digits`` to show a column with one precision. NaN shows as ``n/a``."""
    symbol = {"USD": "$", "EUR": "EUR ", "GBP": "£"}.get(
        currency, f"{currency} " if currency else ""
    )
    if amount is None or not math.isfinite(amount):
        return "n/a"
    shown = shown_amount(amount, unit, digits)
    if abs(shown) >= HUGE:
        return f"{'-' if shown < 0 else ''}{symbol}{float(abs(shown)):.4g}{unit}"
    return f"{'-' if shown < 0 else ''}{symbol}{abs(shown):,f}{unit}"


def parse_amount(value: object) -> float:
    """A money amount that must not be negative (pydantic before-validator).

    Raises ValueError for text that is not an amount or a negative amount.
    """
    amount = parse_money(value)
    if amount < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return amount


def reject_flag(value: object) -> object:
    """Pass anything but a flag through: YAML's ``true``/``yes`` where a whole number goes
    would read as 1 (pydantic before-validator)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def reject_non_finite(value: object) -> object:
    """Pass numbers through, refusing flags (``true``), NaN and infinities, also written as
    text (``"inf"``, ``"1e400"``) or as integers too large for a float (pydantic
    before-validator)."""
    if isinstance(value, bool):  # YAML's true/yes: a flag is not a number (True would be 1)
        raise ValueError(f"expected a number, got {value!r}")
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value  # not a number at all: the field's type says so
    if isinstance(number, int) and not isinstance(number, bool):
        whole = number
        try:
            number = float(whole)
        except OverflowError:
            digits = int(whole.bit_length() * math.log10(2)) + 1
            raise ValueError(
                f"must be a finite number, got an integer of about {digits} digits"
            ) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value
