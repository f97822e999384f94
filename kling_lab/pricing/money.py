"""Money as exact `Decimal`: reading numbers people and files give, and writing them for people.

Amounts are never rounded in the domain (0.091 x 5 is 0.455); `format_usd`
rounds to cents only for display.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_CENT = Decimal("0.01")


def parse_decimal(value: object) -> Decimal | None:
    """`value` as an exact Decimal (from Decimal, int, float or numeric text), or None if it is not a number.

    NaN and infinities are returned as such (callers check `is_finite`); booleans are not numbers.
    Floats go through their shortest repr, so 0.07 becomes Decimal("0.07").
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "").removeprefix("$").strip()
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _as_decimal(value: object) -> Decimal | None:
    """A finite Decimal or None."""
    number = parse_decimal(value)
    return number if number is not None and number.is_finite() else None


def _tidy(value: Decimal) -> Decimal:
    """The same amount written with cents (0.210 -> 0.21, 0 -> 0.00) or, if finer, its own digits (0.455)."""
    cents = value.quantize(_CENT)
    if cents == value:
        return cents
    normal = value.normalize()
    return normal if normal.as_tuple().exponent < 0 else value  # type: ignore[operator]


def format_usd(value: Decimal | None) -> str:
    """Money for people: "$0.35", "$0.00", "$1,234.50"; "—" for None (or a non-finite value)."""
    if value is None:
        return "—"
    number = parse_decimal(value)
    if number is None or not number.is_finite():
        return "—"
    cents = number.quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def _format_number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _format_rate(value: Decimal) -> str:
    """A rate with as many decimals as it has (at least two): "$0.14", "$0.168"."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"${value:.{places}f}"
