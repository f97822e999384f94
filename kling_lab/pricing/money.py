"""Money as exact `Decimal`: reading numbers people and files give, and writing them for people.

Amounts are never rounded in the domain (0.091 x 5 is 0.455); `format_usd`
rounds to cents only for display.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
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


def format_charge(kind: str, amount: Decimal | None) -> str:
    """A clip's cost as `kling_lab.domain.jobs.charge_shown` decides it: "$0.35", "$0.00" (nothing was
    charged), "est. $0.35" (not finished) or "up to $0.35" (ended without a clip; the host may have charged)."""
    if kind in ("estimate", "unconfirmed") and amount is not None and amount == 0:
        return format_usd(amount)  # a free clip (the animatic) costs nothing whatever happens
    if kind == "estimate":
        return f"est. {format_usd(amount)}" if amount is not None else "—"
    if kind == "unconfirmed":
        return f"up to {format_usd(amount)}" if amount is not None else "not reported"
    return format_usd(amount)


BATCH_NAME_CHARS = 48


def batch_name(template: str, limit: int = BATCH_NAME_CHARS) -> str:
    """A batch as people know it: the start of its template on one line, cut at a word ("a fox in {snow|rain},
    slow…"); History, Compare and the Spend tab all name batches with it."""
    text = " ".join(template.split())
    if len(text) > limit:
        head = text[: limit + 1]
        text = (head.rsplit(" ", 1)[0] if " " in head[:limit] else text[:limit]).rstrip(" ,;:.") + "…"
    return text or "(no prompt)"


def batch_names(batches: Iterable[tuple[str, str, float]]) -> dict[str, str]:
    """(id, template, created_at) -> a name per batch id: the start of its template, with when it was made
    where two batches would read the same (so a table never merges two batches under one name)."""
    rows = list(batches)
    names = {batch_id: batch_name(template) for batch_id, template, _ in rows}
    seen = Counter(names.values())
    for batch_id, _, created_at in rows:
        if seen[names[batch_id]] > 1:
            names[batch_id] += time.strftime(" · %b %d %H:%M:%S", time.localtime(created_at))
    return names
