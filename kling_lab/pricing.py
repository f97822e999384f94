"""What a clip, a batch and the same batch elsewhere will cost, before anything is paid.

The published prices live in `prices.toml` beside this module: one table per
provider, with its sources, the date the figures were read (`as_of`), how sure
they are (`status`) and how the host bills (`per_clip`, `per_second` or
`per_unit`). That file is read once per process and never written. A user's
own prices (a negotiated rate, a prepaid unit price) are *overrides* kept in a
small TOML file in the data directory (`Settings.price_overrides_path`); they
replace published rates but can never add a combination a host does not sell.

Money is `decimal.Decimal` throughout and exact (0.091 x 5 is 0.455); it is
rounded to cents only for display, by `format_usd`. The DataFrames built here
carry floats because they are for display only.

Typical use::

    book = load_price_book(settings.price_overrides_path)   # cheap on every rerun
    book.price_for(request, "fal")                           # Decimal or None
    book.why_no_price(request, "fal")                        # "" or a sentence
    estimate_batch([(r, "fal") for r in requests], book)     # per item + total
    compare_batch(requests, book)                            # one HostTotal per provider
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kling_lab.capabilities import DURATIONS, MODES, PROVIDER_NAMES
from kling_lab.request import GenerationRequest

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CURRENCY = "USD"
BILLING_KINDS: tuple[str, ...] = ("per_clip", "per_second", "per_unit")
STATUSES: tuple[str, ...] = ("verified", "third-party", "derived", "user-known", "unverified")
OVERRIDE_TARGETS: tuple[str, ...] = ("rate", "unit_price")
MAX_OVERRIDE_VALUE = Decimal(1000)
"""Larger override values are refused as a likely typo (in any unit: USD per clip, per second, units)."""

PACKAGED_PRICES_PATH = Path(__file__).resolve().with_name("prices.toml")
"""The published table shipped with the app; `save_overrides` refuses to write here."""

_VALUE_FIELD = {"per_clip": "usd", "per_second": "usd_per_second", "per_unit": "units"}
_VALUE_UNIT = {"per_clip": "USD per clip", "per_second": "USD per second", "per_unit": "units"}
_CENT = Decimal("0.01")

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
    label: str
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
                    price = _clip_price(table.info, rate, duration)
                    self._prices[(name, rate.mode, duration, rate.audio, rate.voice)] = (price, rate)

    @classmethod
    def from_toml(cls, text: str) -> PriceBook:
        """A book from the text of a price table (the format of `prices.toml`); raises PriceTableError."""
        return cls(_parse_price_table(text))

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


def _clip_price(info: HostInfo, rate: Rate, duration: int) -> Decimal:
    if info.billing == "per_second":
        return _tidy(rate.value * duration)
    if info.billing == "per_unit":
        assert info.unit_price is not None
        return _tidy(rate.value * info.unit_price)
    return _tidy(rate.value)


def _tidy(value: Decimal) -> Decimal:
    """The same amount written with cents (0.210 -> 0.21, 0 -> 0.00) or, if finer, its own digits (0.455)."""
    cents = value.quantize(_CENT)
    if cents == value:
        return cents
    normal = value.normalize()
    return normal if normal.as_tuple().exponent < 0 else value  # type: ignore[operator]


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


# --------------------------------------------------------------------------- loading


def _parse_price_table(text: str) -> dict[str, _HostTable]:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise PriceTableError(f"The price table is not valid TOML: {exc}") from exc
    if data.get("schema") != 1:
        raise PriceTableError("The price table must say schema = 1.")
    if data.get("currency") != CURRENCY:
        raise PriceTableError(f"The price table must be in {CURRENCY}.")
    providers = data.get("providers")
    if not isinstance(providers, dict) or not providers:
        raise PriceTableError("The price table has no [providers.*] tables.")
    order = [p for p in PROVIDER_NAMES if p in providers] + [p for p in providers if p not in PROVIDER_NAMES]
    return {name: _parse_host(name, providers[name]) for name in order}


def _parse_host(name: str, raw: object) -> _HostTable:
    def fail(why: str) -> PriceTableError:
        return PriceTableError(f"prices.toml [providers.{name}]: {why}")

    if not isinstance(raw, dict):
        raise fail("not a table")
    for field_name in ("label", "note"):
        if not isinstance(raw.get(field_name), str) or not raw[field_name].strip():
            raise fail(f"`{field_name}` must be non-empty text")
    billing, status, as_of = raw.get("billing"), raw.get("status"), raw.get("as_of")
    if billing not in BILLING_KINDS:
        raise fail(f"`billing` must be one of {', '.join(BILLING_KINDS)}")
    if status not in STATUSES:
        raise fail(f"`status` must be one of {', '.join(STATUSES)}")
    if not isinstance(as_of, date):
        raise fail("`as_of` must be a TOML date (YYYY-MM-DD)")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise fail("`sources` must list at least one source")
    unit_price = None
    if billing == "per_unit":
        unit_price = _as_decimal(raw.get("usd_per_unit"))
        if unit_price is None or unit_price < 0:
            raise fail("a per_unit host needs a non-negative `usd_per_unit`")
    value_field = _VALUE_FIELD[billing]
    rates: list[Rate] = []
    raw_rates = raw.get("rates")
    if not isinstance(raw_rates, list) or not raw_rates:
        raise fail("`rates` must list at least one rate")
    for row in raw_rates:
        if not isinstance(row, dict):
            raise fail("each rate must be a table")
        mode, audio, voice, duration = row.get("mode"), row.get("audio"), row.get("voice"), row.get("duration")
        value = _as_decimal(row.get(value_field))
        if mode not in MODES or not isinstance(audio, bool) or not isinstance(voice, bool):
            raise fail(f"rate {row!r} needs mode (std/pro), audio and voice (true/false)")
        if voice and not audio:
            raise fail(f"rate {row!r}: voice control needs audio")
        if billing == "per_second":
            if duration is not None:
                raise fail(f"rate {row!r}: a per-second rate has no duration")
        elif not _is_duration(duration):
            raise fail(f"rate {row!r}: duration must be 5 or 10")
        if value is None or value < 0:
            raise fail(f"rate {row!r}: `{value_field}` must be a non-negative number")
        rate = Rate(mode=mode, duration=duration, audio=audio, voice=voice, value=value)
        if any(r.key == rate.key for r in rates):
            raise fail(f"rate {row!r} is listed twice")
        rates.append(rate)
    modes = tuple(m for m in MODES if any(r.mode == m for r in rates))
    info = HostInfo(
        provider=name,
        label=raw["label"].strip(),
        sources=tuple(s.strip() for s in sources),
        as_of=as_of,
        status=status,
        note=raw["note"].strip(),
        billing=billing,
        unit_price=unit_price,
        modes=modes,
    )
    return _HostTable(info, tuple(rates))


@functools.cache
def _packaged_tables() -> MappingProxyType[str, _HostTable]:
    text = resources.files("kling_lab").joinpath("prices.toml").read_text(encoding="utf-8")
    return MappingProxyType(_parse_price_table(text))


@functools.cache
def _packaged_book() -> PriceBook:
    return PriceBook(_packaged_tables())


@functools.lru_cache(maxsize=16)
def _book_with_overrides_bytes(raw: bytes, path: str) -> PriceBook:
    overrides, errors = _parse_overrides(raw, path)
    return PriceBook(_packaged_tables(), overrides, errors)


def load_price_book(overrides_path: Path | None = None) -> PriceBook:
    """The published prices with the user's overrides (from `overrides_path`, if given) applied.

    The packaged table is parsed once per process; the small overrides file is read
    on each call but parsed again only when its bytes change, so calling this on
    every rerun is cheap. A missing overrides file means none; an unreadable or
    corrupt one is ignored and explained in `PriceBook.override_errors`. Never writes.
    """
    if overrides_path is None:
        return _packaged_book()
    raw, errors = _read_overrides_bytes(Path(overrides_path))
    if raw is None:
        return PriceBook(_packaged_tables(), (), errors) if errors else _packaged_book()
    return _book_with_overrides_bytes(raw, str(overrides_path))


# --------------------------------------------------------------------------- overrides


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


def validate_override(override: Override, book: PriceBook | None = None) -> list[str]:
    """Every problem with an override, as plain sentences; empty when it can be applied.

    Checked against the published rates of `book` (default: the packaged table): the
    host must exist, the rate must be one the host sells (an override never adds a
    combination), and the value must be a finite, non-negative number below
    MAX_OVERRIDE_VALUE. Never raises, whatever the field types.
    """
    published = (book or _packaged_book())._published
    return _override_errors(override, published)


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
                f"{info.label} bills {_VALUE_UNIT[info.billing].replace('USD ', '')}, so it has no unit price "
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


def _read_overrides_bytes(path: Path) -> tuple[bytes | None, list[str]]:
    try:
        return path.read_bytes(), []
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return None, [
            f"Your price overrides file {path} could not be read ({exc.strerror or exc}); "
            "the published prices are used."
        ]


def read_overrides(path: Path) -> tuple[list[Override], list[str]]:
    """The valid overrides in the file at `path` and sentences about everything ignored.

    A missing file gives ([], []). An unreadable or corrupt file gives ([], [why]);
    a bad entry is skipped with a sentence while the good ones are kept. Never raises.
    """
    raw, errors = _read_overrides_bytes(Path(path))
    if raw is None:
        return [], errors
    return _parse_overrides(raw, str(path))


def _parse_overrides(raw: bytes, path: str) -> tuple[list[Override], list[str]]:
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return [], [
            f"Your price overrides file {path} is damaged ({exc}); the published prices are used. "
            "Saving an override replaces it."
        ]
    entries = data.get("override", [])
    if not isinstance(entries, list):
        return [], [
            f"Your price overrides file {path} has no list of [[override]] entries; the published prices are used."
        ]
    overrides: list[Override] = []
    errors: list[str] = []
    published = _packaged_tables()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            errors.append(f"Override {number} in {path} is not a table and was ignored.")
            continue
        override = Override(
            provider=entry.get("provider"),  # type: ignore[arg-type]
            mode=entry.get("mode"),
            audio=entry.get("audio"),
            voice=entry.get("voice"),
            duration=entry.get("duration"),
            value=entry.get("value"),  # type: ignore[arg-type]
            target=entry.get("target", "rate"),
        )
        problems = _override_errors(override, published)
        if problems:
            errors.append(f"Override {number} in {path} was ignored: {' '.join(problems)}")
            continue
        overrides.append(replace(override, value=_as_decimal(override.value)))  # type: ignore[arg-type]
    return overrides, errors


def load_overrides(path: Path) -> list[Override]:
    """The valid overrides in `path`; problems are logged as warnings. Never raises.

    Use `read_overrides` (or `load_price_book(...).override_errors`) to show them to the user.
    """
    overrides, errors = read_overrides(path)
    for message in errors:
        log.warning("%s", message)
    return overrides


def merge_overrides(existing: Iterable[Override], changes: Iterable[Override]) -> list[Override]:
    """`existing` with `changes` applied: a change replaces the override with the same key, or is added."""
    merged: dict[tuple[object, ...], Override] = {o.key: o for o in existing}
    for change in changes:
        merged[change.key] = change
    return list(merged.values())


def save_overrides(path: Path, overrides: Sequence[Override]) -> None:
    """Write `overrides` to `path` atomically (a temporary file, then os.replace).

    Raises ValueError, writing nothing, when an override is invalid (check with
    `validate_override` first) or when `path` is the packaged prices.toml. Later
    overrides replace earlier ones with the same key. An empty list writes a file
    with no overrides (the published prices apply).
    """
    target = Path(path)
    if target.resolve() == PACKAGED_PRICES_PATH:
        raise ValueError("The published prices.toml is never written; save overrides in the data directory.")
    published = _packaged_tables()
    problems: list[str] = []
    for override in overrides:
        problems += _override_errors(override, published)
    if problems:
        raise ValueError(" ".join(problems))
    text = _overrides_toml(merge_overrides([], overrides))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _overrides_toml(overrides: Sequence[Override]) -> str:
    lines = [
        "# Kling Lab price overrides: your own prices, applied over the published prices.toml.",
        "# Written by Kling Lab. `value` is in the host's billing unit: USD per clip, USD per",
        "# second, or units per clip; for target = \"unit_price\" it is USD per unit.",
        "version = 1",
    ]
    for o in overrides:
        lines += ["", "[[override]]", f"provider = {_toml_string(o.provider)}", f"target = {_toml_string(o.target)}"]
        if o.target == "rate":
            lines.append(f"mode = {_toml_string(o.mode)}")  # type: ignore[arg-type]
            if o.duration is not None:
                lines.append(f"duration = {int(o.duration)}")
            lines.append(f"audio = {_toml_bool(o.audio)}")
            lines.append(f"voice = {_toml_bool(o.voice)}")
        lines.append(f"value = {_toml_decimal(_as_decimal(o.value))}")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in str(value):
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_bool(value: object) -> str:
    return "true" if value is True else "false"


def _toml_decimal(value: Decimal) -> str:
    """A TOML number that reads back (with parse_float=Decimal) as exactly `value`."""
    text = format(value, "f")
    if text.startswith("-"):
        raise ValueError("negative values are not written")
    return text


# --------------------------------------------------------------------------- batches


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


# --------------------------------------------------------------------------- display


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
    import pandas as pd

    info = book.host_info(provider)
    rows = []
    for rate in book.rates(provider):
        durations = DURATIONS if rate.duration is None else (rate.duration,)
        usd = {d: _clip_price(info, rate, d) if d in durations else None for d in DURATIONS}
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
                "unit": _VALUE_UNIT[info.billing],
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
    import pandas as pd

    frames = [price_table_frame(book, p) for p in book.providers]
    return pd.concat(frames, ignore_index=True)


COMPARE_COLUMNS: tuple[str, ...] = (
    "provider", "label", "total", "total_text", "priced", "clips", "priced_as_pro", "status", "as_of", "note",
)


def compare_frame(host_totals: Sequence[HostTotal]) -> pd.DataFrame:
    """`compare_batch` results as a table: total is a float (NaN when none), total_text is formatted."""
    import pandas as pd

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


def overrides_from_table(
    book: PriceBook, provider: str, values: Sequence[object], unit_price: object = None
) -> tuple[list[Override], list[str]]:
    """Turn an edited price table (one value per row of `price_table_frame`, same order) into overrides.

    A value equal to the published one is not an override. Returns the
    overrides for this provider and plain-sentence errors for values that are
    not prices (non-numeric, negative, NaN); nothing is saved by this function.
    """
    published = {rate.key: rate for rate in book.published_rates(provider)}
    rates = book.rates(provider)
    if len(values) != len(rates):
        return [], [f"The edited table has {len(values)} rows; {book.host_info(provider).label} has {len(rates)}."]
    overrides: list[Override] = []
    errors: list[str] = []
    for rate, raw in zip(rates, values, strict=True):
        value = parse_decimal(raw)
        where = _describe(rate.mode, rate.duration, rate.audio, rate.voice)
        if value is None:
            errors.append(f"“{raw}” is not a price ({where}).")
            continue
        base = published.get(rate.key)
        if base is not None and base.value == value:
            continue
        override = Override(provider, rate.mode, rate.audio, rate.voice, rate.duration, value)
        errors += [f"{where}: {e}" for e in validate_override(override, book)]
        overrides.append(override)
    info = book.host_info(provider)
    if info.billing == "per_unit" and unit_price not in (None, ""):
        value = parse_decimal(unit_price)
        if value is None:
            errors.append(f"“{unit_price}” is not a price per unit.")
        else:
            published_unit = book.with_overrides([]).host_info(provider).unit_price
            if value != published_unit:
                override = Override.for_unit_price(provider, value)
                errors += validate_override(override, book)
                overrides.append(override)
    return overrides, errors
