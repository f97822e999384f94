"""The published price table, `prices.toml` beside this module: reading and validating it.

One table per provider, named as in `kling_lab.capabilities` (which also gives its
label), with its sources, the date the figures were read (`as_of`), how sure they
are (`status`) and how the host bills (`per_clip`, `per_second` or `per_unit`).
The file is read once per process and never written; a malformed one raises
`PriceTableError`, because it is a bug in the shipped file.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from kling_lab.capabilities import CAPABILITIES, MODES, PROVIDER_NAMES
from kling_lab.pricing.model import (
    BILLING_KINDS,
    CURRENCY,
    STATUSES,
    HostInfo,
    PriceBook,
    PriceTableError,
    Rate,
    _HostTable,
    _is_duration,
)
from kling_lab.pricing.money import _as_decimal

PACKAGED_PRICES_PATH = Path(__file__).resolve().with_name("prices.toml")
"""The published table shipped with the app; `save_overrides` refuses to write here."""

_VALUE_FIELD = {"per_clip": "usd", "per_second": "usd_per_second", "per_unit": "units"}


def parse_price_table(text: str) -> dict[str, _HostTable]:
    """Every host's table from the text of a price table, PROVIDER_NAMES order first; raises PriceTableError."""
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
    if name not in CAPABILITIES:
        raise fail(f"there is no host called {name!r}; hosts are: {', '.join(PROVIDER_NAMES)}")
    label = CAPABILITIES[name].label
    if "label" in raw and raw["label"] != label:
        raise fail(f"the host's label is {label!r} (kling_lab/capabilities.py), not {raw['label']!r}; drop `label`")
    if not isinstance(raw.get("note"), str) or not raw["note"].strip():
        raise fail("`note` must be non-empty text")
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
    text = resources.files("kling_lab.pricing").joinpath("prices.toml").read_text(encoding="utf-8")
    return MappingProxyType(parse_price_table(text))


@functools.cache
def _packaged_book() -> PriceBook:
    return PriceBook(_packaged_tables())

