"""The price model: each host's rates, how it bills, and the book that prices a clip.

A `PriceBook` holds every host's published table (read by `kling_lab.pricing.table`)
with the user's overrides applied. Money is exact `Decimal`; a rate's `value` is
in the host's own billing unit (`per_clip`, `per_second` or `per_unit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from kling_lab.capabilities import CAPABILITIES, DURATIONS, MODES
from kling_lab.pricing.money import _as_decimal, _tidy, parse_decimal
from kling_lab.request import GenerationRequest

CURRENCY = "USD"
BILLING_KINDS: tuple[str, ...] = ("per_clip", "per_second", "per_unit")
STATUSES: tuple[str, ...] = ("verified", "third-party", "derived", "user-known", "unverified")
OVERRIDE_TARGETS: tuple[str, ...] = ("rate", "unit_price")
MAX_OVERRIDE_VALUE = Decimal(1000)
"""Larger override values are refused as a likely typo (in any unit: USD per clip, per second, units)."""

VALUE_UNITS = {"per_clip": "USD per clip", "per_second": "USD per second", "per_unit": "units"}
"""What a rate's `value` is counted in, by billing kind."""

RateKey = tuple[str, int | None, bool, bool]
"""(mode, duration, audio, voice); duration is None for a per-second rate."""


class PriceTableError(ValueError):
    """The packaged price table is malformed: a bug in the shipped file, not a user error."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Rate:
    """One row of a host's table, in the host's own billing unit.

    `value` is USD per clip (`per_clip`), USD per second (`per_second`) or units
    per clip (`per_unit`). `voice` rows are the price with voice ids (audio on).
    """

    mode: str
    duration: int | None
    audio: bool
    voice: bool
    value: Decimal
    overridden: bool = False

    @property
    def key(self) -> RateKey:
        return (self.mode, self.duration, self.audio, self.voice)


@dataclass(frozen=True)
class HostInfo:
    """Where a host's prices come from and how it bills."""

    provider: str
    sources: tuple[str, ...]
    as_of: date
    status: str
    note: str
    billing: str
    currency: str = CURRENCY
    unit_price: Decimal | None = None
    """USD per unit for `per_unit` hosts (after any override), else None."""
    unit_price_overridden: bool = False
    modes: tuple[str, ...] = ()
    """Modes this host sells, in MODES order."""
    overrides: int = 0
    """How many of the user's overrides apply to this host."""

    @property
    def label(self) -> str:
        """The host's name in sentences, from its capability entry (the one place it is written)."""
        return CAPABILITIES[self.provider].label

    @property
    def source(self) -> str:
        """The main source (first listed)."""
        return self.sources[0]


@dataclass(frozen=True)
class _HostTable:
    info: HostInfo
    rates: tuple[Rate, ...]

    def rate(self, key: RateKey) -> Rate | None:
        for rate in self.rates:
            if rate.key == key:
                return rate
        return None


@dataclass(frozen=True)
class Override:
    """A user's own price for one published rate (or a per-unit host's unit price).

    `value` is in the host's billing unit: USD per clip for `per_clip` hosts,
    USD per second for `per_second` hosts (then `duration` is None), units per
    clip for `per_unit` hosts. With `target="unit_price"` it is the USD price of
    one unit (official Kling API, inference.sh) and mode/audio/voice/duration are
    None; build that one with `Override.for_unit_price`.
    """

    provider: str
    mode: str | None
    audio: bool | None
    voice: bool | None
    duration: int | None
    value: Decimal
    target: str = "rate"

    @classmethod
    def for_unit_price(cls, provider: str, value: Decimal) -> Override:
        """An override of a per-unit host's USD price per unit."""
        return cls(provider, None, None, None, None, value, target="unit_price")

    @property
    def key(self) -> tuple[object, ...]:
        """Identity of the rate it replaces; two overrides with one key cannot both apply."""
        if self.target == "unit_price":
            return (self.provider, "unit_price")
        return (self.provider, self.target, self.mode, self.duration, self.audio, self.voice)


# --------------------------------------------------------------------------- the book


class PriceBook:
    """All providers' prices, with any user overrides applied. Immutable; safe to share.

    Build one with `load_price_book`. Lookups are dictionary reads.
    """

    def __init__(
        self,
        published: Mapping[str, _HostTable],
        overrides: Sequence[Override] = (),
        override_errors: Sequence[str] = (),
    ) -> None:
        self._published = MappingProxyType(dict(published))
        tables, errors, applied = _apply_overrides(self._published, overrides)
        self._tables = MappingProxyType(tables)
        self.overrides: tuple[Override, ...] = tuple(applied)
        """The overrides in effect."""
        self.override_errors: tuple[str, ...] = tuple(override_errors) + tuple(errors)
        """Why some overrides (or the overrides file) were ignored; show these to the user."""
        self._prices: dict[tuple[Any, ...], tuple[Decimal, Rate]] = {}
        for name, table in tables.items():
            for rate in table.rates:
                for duration in DURATIONS if rate.duration is None else (rate.duration,):
                    price = clip_price(table.info, rate, duration)
                    self._prices[(name, rate.mode, duration, rate.audio, rate.voice)] = (price, rate)

    @classmethod
    def from_toml(cls, text: str) -> PriceBook:
        """A book from the text of a price table (the format of `prices.toml`); raises PriceTableError."""
        from kling_lab.pricing.table import parse_price_table  # the table module builds on this one

        return cls(parse_price_table(text))

    @property
    def providers(self) -> tuple[str, ...]:
        """Every provider with a table, PROVIDER_NAMES order first."""
        return tuple(self._tables)

    def host_info(self, provider: str) -> HostInfo:
        """Label, sources, as_of, status, note, billing and currency of a host; KeyError if unknown."""
        return self._tables[provider].info

    def rates(self, provider: str) -> tuple[Rate, ...]:
        """The host's rates as the book applies them (overrides included); KeyError if unknown."""
        return self._tables[provider].rates

    def published_rates(self, provider: str) -> tuple[Rate, ...]:
        """The host's rates as shipped, before overrides; KeyError if unknown."""
        return self._published[provider].rates

    def with_overrides(self, overrides: Sequence[Override]) -> PriceBook:
        """A book with the published prices plus `overrides` (replacing any this book had).

        Invalid overrides are skipped and explained in `override_errors`.
        """
        return PriceBook(self._published, overrides)

    def price_for(self, request: GenerationRequest, provider: str) -> Decimal | None:
        """The exact price of one clip on `provider`, or None when that host does not sell it.

        The voice rate applies when the request has voice ids and audio is on. Never raises
        for malformed requests or unknown providers (they get None).
        """
        found = self._lookup(request, provider)
        return found[0] if found is not None else None

    def why_no_price(self, request: GenerationRequest, provider: str) -> str:
        """Why `price_for` is None, as a plain sentence; "" when the clip has a price."""
        table = self._tables.get(provider) if isinstance(provider, str) else None
        if table is None:
            return f"“{provider}” is not a provider Kling Lab has prices for; choose one of: {', '.join(self._tables)}."
        if self._lookup(request, provider) is not None:
            return ""
        info = table.info
        mode, duration = request.mode, request.duration
        audio, voice = _audio_voice(request)
        if not isinstance(mode, str) or mode not in MODES:
            return f"The mode “{mode}” is not std or pro, so it has no price."
        if not _is_duration(duration):
            return f"Kling 2.6 clips are 5 or 10 seconds long; {duration!r} seconds has no price."
        if mode not in info.modes:
            only = " or ".join(info.modes)
            return f"{info.label} sells Kling 2.6 in {only} mode only; it has no {mode} price."
        mode_rates = [r for r in table.rates if r.mode == mode]
        if voice and not any(r.voice for r in table.rates):
            return f"{info.label} does not sell voice control, so a clip with voice ids has no price there."
        if audio and not any(r.audio for r in mode_rates):
            if any(r.audio for r in table.rates):
                return f"{info.label} sells {mode} mode silent only; native audio needs pro."
            return f"{info.label} does not sell native audio for Kling 2.6."
        if voice and not any(r.voice for r in mode_rates):
            return f"{info.label} sells voice control in pro mode only."
        return f"{info.label} has no price for a {_describe(mode, int(duration), audio, voice)} clip."

    def _lookup(self, request: GenerationRequest, provider: str) -> tuple[Decimal, Rate] | None:
        try:
            audio, voice = _audio_voice(request)
            return self._prices.get((provider, request.mode, request.duration, audio, voice))
        except TypeError:  # unhashable junk in a malformed request
            return None


def _apply_overrides(
    published: Mapping[str, _HostTable], overrides: Sequence[Override]
) -> tuple[dict[str, _HostTable], list[str], list[Override]]:
    by_key: dict[tuple[object, ...], Override] = {}
    errors: list[str] = []
    for override in overrides:
        problems = _override_errors(override, published)
        if problems:
            errors.append(f"An override was ignored: {' '.join(problems)}")
            continue
        # the later of two overrides for one rate wins; values are kept as exact Decimals
        by_key[override.key] = replace(override, value=_as_decimal(override.value))
    applied = list(by_key.values())
    tables = dict(published)
    for name, table in published.items():
        mine = [o for o in applied if o.provider == name]
        if not mine:
            continue
        unit_price, unit_overridden = table.info.unit_price, False
        values: dict[RateKey, Decimal] = {}
        for o in mine:
            value = _as_decimal(o.value)
            assert value is not None  # checked by _override_errors
            if o.target == "unit_price":
                unit_price, unit_overridden = value, True
            else:
                values[(o.mode, o.duration, o.audio, o.voice)] = value  # type: ignore[index]
        rates = tuple(
            replace(r, value=values[r.key], overridden=True) if r.key in values else r for r in table.rates
        )
        info = replace(
            table.info, unit_price=unit_price, unit_price_overridden=unit_overridden, overrides=len(mine)
        )
        tables[name] = _HostTable(info, rates)
    return tables, errors, applied


def clip_price(info: HostInfo, rate: Rate, duration: int) -> Decimal:
    """The exact USD price of one `duration`-second clip at `rate` on the host described by `info`."""
    if info.billing == "per_second":
        return _tidy(rate.value * duration)
    if info.billing == "per_unit":
        assert info.unit_price is not None
        return _tidy(rate.value * info.unit_price)
    return _tidy(rate.value)


def _is_duration(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value in DURATIONS


def _audio_voice(request: GenerationRequest) -> tuple[bool, bool]:
    audio = request.audio is True
    voices = request.voice_ids
    has_voice = isinstance(voices, tuple | list) and any(isinstance(v, str) and v.strip() for v in voices)
    return audio, audio and has_voice


def _sound(audio: bool | None, voice: bool | None) -> str:
    return "with audio and voice" if voice else "with audio" if audio else "silent"


def _describe(mode: str | None, duration: int | None, audio: bool | None, voice: bool | None) -> str:
    length = "per second" if duration is None else f"{duration} s"
    return f"{mode}, {length}, {_sound(audio, voice)}"


# --------------------------------------------------------------------------- override rules


def _override_errors(override: Override, published: Mapping[str, _HostTable]) -> list[str]:
    if not isinstance(override, Override):
        return ["An override must be an Override."]
    provider = override.provider
    table = published.get(provider) if isinstance(provider, str) else None
    if table is None:
        return [f"“{provider}” is not a provider Kling Lab has prices for; choose one of: {', '.join(published)}."]
    info = table.info
    errors: list[str] = []
    what = f"The {info.label} price"
    if override.target not in OVERRIDE_TARGETS:
        errors.append(f"An override changes a rate or a unit price, not “{override.target}”.")
    elif override.target == "unit_price":
        what = f"The {info.label} unit price"
        if info.billing != "per_unit":
            errors.append(
                f"{info.label} bills {VALUE_UNITS[info.billing].replace('USD ', '')}, so it has no unit price "
                "to override; only hosts that bill in units (the official Kling API, inference.sh) have one."
            )
    else:
        mode, duration, audio, voice = override.mode, override.duration, override.audio, override.voice
        what = f"The {info.label} price for {_describe(mode, duration, audio, voice)}"
        if not isinstance(mode, str) or mode not in MODES:
            errors.append(f"The mode of an override must be std or pro, not {mode!r}.")
        if not isinstance(audio, bool) or not isinstance(voice, bool):
            errors.append("An override must say whether it is for audio and for voice (yes or no).")
        if info.billing == "per_second":
            if duration is not None:
                errors.append(f"{info.label} bills per second, so an override for it has no duration; leave it empty.")
        elif not _is_duration(duration):
            errors.append(f"{info.label} prices each clip length separately; the duration must be 5 or 10 seconds.")
        if not errors:
            key = (mode, duration, audio, voice)
            if table.rate(key) is None:  # type: ignore[arg-type]
                errors.append(
                    f"{info.label} has no published rate for {_describe(mode, duration, audio, voice)}; "
                    "an override can only change a rate the host sells."
                )
    value = parse_decimal(override.value)
    if value is None:
        errors.append(f"{what} must be a number, not {override.value!r}.")
    elif not value.is_finite():
        errors.append(f"{what} must be a finite number, not {override.value!r}.")
    elif value < 0:
        errors.append(f"{what} can't be negative ({value}).")
    elif value > MAX_OVERRIDE_VALUE:
        errors.append(f"{what} is {value:,}; values above {MAX_OVERRIDE_VALUE:,} are refused as a likely typo.")
    return errors

