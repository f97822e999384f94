"""Price tables for the screen: the published rates and a batch's comparison as pandas frames.

Display only: the cells are floats (NaN where there is no figure), so compute
money with `PriceBook.price_for` and the `kling_lab.pricing` estimates instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import pandas as pd

from kling_lab.capabilities import DURATIONS
from kling_lab.pricing import VALUE_UNITS, HostTotal, PriceBook, clip_price, format_usd


def _float(value: Decimal | None) -> float:
    return math.nan if value is None else float(value)


PRICE_TABLE_COLUMNS: tuple[str, ...] = (
    "provider", "label", "billing", "mode", "duration", "audio", "voice",
    "value", "unit", "unit_price", "usd_5s", "usd_10s", "overridden",
)


def price_table_frame(book: PriceBook, provider: str) -> pd.DataFrame:
    """One row per rate of `provider`, for display (floats; compute with `price_for`).

    Columns: provider, label, billing, mode, duration (nullable Int64: empty for a
    per-second rate), audio, voice, value (the rate in the host's unit), unit
    ("USD per clip" / "USD per second" / "units"), unit_price (per-unit hosts),
    usd_5s and usd_10s (the per-clip price this rate gives; NaN where the row is
    for the other length), overridden (the row's price is the user's own: its
    value or, for per-unit hosts, the unit price). A row maps to an
    `Override(provider, mode, audio, voice, duration, value)`.
    """
    info = book.host_info(provider)
    rows = []
    for rate in book.rates(provider):
        durations = DURATIONS if rate.duration is None else (rate.duration,)
        usd = {d: clip_price(info, rate, d) if d in durations else None for d in DURATIONS}
        rows.append(
            {
                "provider": provider,
                "label": info.label,
                "billing": info.billing,
                "mode": rate.mode,
                "duration": rate.duration,
                "audio": rate.audio,
                "voice": rate.voice,
                "value": float(rate.value),
                "unit": VALUE_UNITS[info.billing],
                "unit_price": _float(info.unit_price),
                "usd_5s": _float(usd[5]),
                "usd_10s": _float(usd[10]),
                "overridden": rate.overridden or (info.billing == "per_unit" and info.unit_price_overridden),
            }
        )
    frame = pd.DataFrame(rows, columns=list(PRICE_TABLE_COLUMNS))
    return frame.astype(
        {
            "duration": "Int64",
            "audio": bool,
            "voice": bool,
            "value": float,
            "unit_price": float,
            "usd_5s": float,
            "usd_10s": float,
            "overridden": bool,
        }
    )


def all_prices_frame(book: PriceBook) -> pd.DataFrame:
    """Every provider's `price_table_frame`, stacked in PROVIDER_NAMES order."""
    frames = [price_table_frame(book, p) for p in book.providers]
    return pd.concat(frames, ignore_index=True)


COMPARE_COLUMNS: tuple[str, ...] = (
    "provider", "label", "total", "total_text", "priced", "clips", "priced_as_pro", "status", "as_of", "note",
)


def compare_frame(host_totals: Sequence[HostTotal]) -> pd.DataFrame:
    """`compare_batch` results as a table: total is a float (NaN when none), total_text is formatted."""
    rows = [
        {
            "provider": h.provider,
            "label": h.label,
            "total": _float(h.total),
            "total_text": format_usd(h.total),
            "priced": h.priced,
            "clips": h.count,
            "priced_as_pro": h.priced_as_pro,
            "status": h.status,
            "as_of": h.as_of.isoformat() if h.as_of else "",
            "note": h.note,
        }
        for h in host_totals
    ]
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS)).astype(
        {"total": float, "priced": "int64", "clips": "int64", "priced_as_pro": "int64"}
    )

