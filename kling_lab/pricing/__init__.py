"""What a clip, a batch and the same batch elsewhere will cost, before anything is paid.

- `model`: rates, host info, overrides as values, and the `PriceBook` that prices a clip.
- `table`: the published `prices.toml` beside this package, read and validated once per process.
- `overrides`: the user's own prices in the data directory (read, checked, written with tomli-w)
  and `load_price_book`, which applies them over the published table.
- `estimates`: a batch on its hosts (`estimate_batch`) and on every host (`compare_batch`).
- `money`: exact Decimal amounts and `format_usd`.

Money is `decimal.Decimal` throughout and exact (0.091 x 5 is 0.455); it is
rounded to cents only for display, by `format_usd`. Tables for the screen
(pandas frames) are built on the screen side, in `components/price_tables.py`.

Typical use::

    book = load_price_book(settings.price_overrides_path)   # cheap on every rerun
    book.price_for(request, "fal")                           # Decimal or None
    book.why_no_price(request, "fal")                        # "" or a sentence
    estimate_batch([(r, "fal") for r in requests], book)     # per item + total
    compare_batch(requests, book)                            # one HostTotal per provider
"""

from __future__ import annotations

from kling_lab.pricing.estimates import BatchEstimate, HostTotal, ItemEstimate, compare_batch, estimate_batch
from kling_lab.pricing.model import (
    BILLING_KINDS,
    CURRENCY,
    MAX_OVERRIDE_VALUE,
    OVERRIDE_TARGETS,
    STATUSES,
    VALUE_UNITS,
    HostInfo,
    Override,
    PriceBook,
    PriceTableError,
    Rate,
    RateKey,
    clip_price,
)
from kling_lab.pricing.money import batch_name, batch_names, format_charge, format_usd, parse_decimal
from kling_lab.pricing.overrides import (
    load_overrides,
    load_price_book,
    merge_overrides,
    overrides_from_table,
    read_overrides,
    save_overrides,
    validate_override,
)
from kling_lab.pricing.table import PACKAGED_PRICES_PATH, parse_price_table

__all__ = [
    "BILLING_KINDS",
    "CURRENCY",
    "MAX_OVERRIDE_VALUE",
    "OVERRIDE_TARGETS",
    "PACKAGED_PRICES_PATH",
    "STATUSES",
    "VALUE_UNITS",
    "BatchEstimate",
    "HostInfo",
    "HostTotal",
    "ItemEstimate",
    "Override",
    "PriceBook",
    "PriceTableError",
    "Rate",
    "RateKey",
    "clip_price",
    "compare_batch",
    "estimate_batch",
    "batch_name",
    "batch_names",
    "format_charge",
    "format_usd",
    "load_overrides",
    "load_price_book",
    "merge_overrides",
    "overrides_from_table",
    "parse_decimal",
    "parse_price_table",
    "read_overrides",
    "save_overrides",
    "validate_override",
]
