"""What a batch will cost: each clip on its host, and the same batch on every host.

`estimate_batch` prices exactly what is asked; `compare_batch` prices the batch
on each provider, pricing a std clip as pro where a host sells no such std clip.
One clip's price is `PriceBook.price_for`. Totals are exact Decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kling_lab.capabilities import PROVIDER_NAMES
from kling_lab.pricing.model import CURRENCY, PriceBook, Rate, _audio_voice, _sound
from kling_lab.pricing.money import _format_number, _format_rate, _tidy
from kling_lab.request import GenerationRequest


@dataclass(frozen=True)
class ItemEstimate:
    """One clip's price on one provider; `note` explains the figure or why there is none."""

    provider: str
    price: Decimal | None
    note: str


@dataclass(frozen=True)
class BatchEstimate:
    """A batch's prices: `total` sums the known prices; `unpriced` counts the items without one."""

    items: tuple[ItemEstimate, ...]
    total: Decimal
    unpriced: int
    currency: str = CURRENCY

    @property
    def complete(self) -> bool:
        """True when every item has a price (so `total` is the whole batch)."""
        return self.unpriced == 0


@dataclass(frozen=True)
class HostTotal:
    """The whole batch on one provider: `total` is None when some clip cannot be had there."""

    provider: str
    label: str
    total: Decimal | None
    note: str
    status: str
    as_of: date | None
    """When the host's prices were read (None for an unknown provider)."""
    priced: int
    count: int
    priced_as_pro: int = 0
    """Clips asked for in std mode but priced as pro because the host has no such std clip."""


def _price_note(book: PriceBook, provider: str, rate: Rate, duration: int) -> str:
    info = book.host_info(provider)
    yours = " (your price)" if rate.overridden or (info.billing == "per_unit" and info.unit_price_overridden) else ""
    if info.billing == "per_second":
        return f"{duration} s × {_format_rate(rate.value)}/s{yours}"
    if info.billing == "per_unit":
        return f"{_format_number(rate.value)} units × {_format_rate(info.unit_price)}/unit{yours}"  # type: ignore[arg-type]
    return f"per clip{yours}"


def estimate_batch(items: Sequence[tuple[GenerationRequest, str]], book: PriceBook) -> BatchEstimate:
    """Each (request, provider) item's price and the batch total.

    `total` sums the known prices; items a host does not sell get price None, a
    `note` saying why, and count in `unpriced`. Prices exactly what is asked: no
    mode substitution here (see `compare_batch`).
    """
    estimates: list[ItemEstimate] = []
    total = Decimal(0)
    unpriced = 0
    for request, provider in items:
        found = book._lookup(request, provider)
        if found is None:
            unpriced += 1
            estimates.append(ItemEstimate(provider, None, book.why_no_price(request, provider)))
            continue
        price, rate = found
        total += price
        estimates.append(ItemEstimate(provider, price, _price_note(book, provider, rate, int(request.duration))))
    return BatchEstimate(items=tuple(estimates), total=_tidy(total), unpriced=unpriced)


def compare_batch(
    requests: Sequence[GenerationRequest], book: PriceBook, providers: Sequence[str] | None = None
) -> list[HostTotal]:
    """The same batch priced on every provider (or on `providers`), in PROVIDER_NAMES order.

    A host's `total` is None when some clip can't be had there, with the reason in
    `note`. Mode mismatch: a std clip that a host does not sell in std (fal.ai,
    Replicate, Kie.ai and AI/ML API sell only pro; the official API's std is silent
    only) is priced as the same clip in pro, counted in `priced_as_pro`, and the
    note says so ("priced as pro; fal.ai has no std") — the user would have to
    switch to pro there, and comparing against "no price" would hide the cheaper
    host. Voice ids and audio are never dropped: a host that cannot make the clip
    as asked has no total. This compares prices only; `request.validate` still
    decides what may be sent.
    """
    wanted = list(book.providers if providers is None else providers)
    ordered = [p for p in PROVIDER_NAMES if p in wanted] + [p for p in wanted if p not in PROVIDER_NAMES]
    results: list[HostTotal] = []
    for provider in ordered:
        if provider not in book.providers:
            reason = f"“{provider}” is not a provider Kling Lab has prices for."
            results.append(HostTotal(provider, provider, None, reason, "unverified", None, 0, len(requests)))
            continue
        info = book.host_info(provider)
        total = Decimal(0)
        priced = as_pro = 0
        reasons: list[str] = []
        pro_notes: list[str] = []
        for request in requests:
            price = book.price_for(request, provider)
            if price is None and request.mode == "std":
                price = book.price_for(request.with_changes(mode="pro"), provider)
                if price is not None:
                    as_pro += 1
                    gap = "std" if "std" not in info.modes else f"std {_sound(*_audio_voice(request))}"
                    note = f"priced as pro; {info.label} has no {gap}"
                    if note not in pro_notes:
                        pro_notes.append(note)
            if price is None:
                reason = book.why_no_price(request, provider)
                if reason not in reasons:
                    reasons.append(reason)
                continue
            priced += 1
            total += price
        notes = list(pro_notes)
        if priced < len(requests):
            missing = len(requests) - priced
            notes.insert(0, f"{missing} of {len(requests)} clips can't be had on {info.label}: {' '.join(reasons)}")
        results.append(
            HostTotal(
                provider=provider,
                label=info.label,
                total=_tidy(total) if priced == len(requests) else None,
                note="; ".join(notes),
                status=info.status,
                as_of=info.as_of,
                priced=priced,
                count=len(requests),
                priced_as_pro=as_pro,
            )
        )
    return results
