"""The user's own prices: reading, checking and writing `price_overrides.toml`.

Overrides (a negotiated rate, a prepaid unit price) live in a small TOML file in
the data directory (`Settings.price_overrides_path`), written with tomli-w. They
replace published rates but can never add a combination a host does not sell.
`load_price_book` applies them over the published table.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from kling_lab.atomic import atomic_write_text
from kling_lab.pricing.model import Override, PriceBook, _describe, _override_errors
from kling_lab.pricing.money import _as_decimal, parse_decimal
from kling_lab.pricing.table import PACKAGED_PRICES_PATH, _packaged_book, _packaged_tables

log = logging.getLogger(__name__)

_HEADER = (
    "# Kling Lab price overrides: your own prices, applied over the published prices.toml.\n"
    "# Written by Kling Lab. `value` is in the host's billing unit: USD per clip, USD per\n"
    "# second, or units per clip; for target = \"unit_price\" it is USD per unit.\n"
)

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



def validate_override(override: Override, book: PriceBook | None = None) -> list[str]:
    """Every problem with an override, as plain sentences; empty when it can be applied.

    Checked against the published rates of `book` (default: the packaged table): the
    host must exist, the rate must be one the host sells (an override never adds a
    combination), and the value must be a finite, non-negative number below
    MAX_OVERRIDE_VALUE. Never raises, whatever the field types.
    """
    published = (book or _packaged_book())._published
    return _override_errors(override, published)



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
    """Write `overrides` to `path` atomically (`kling_lab.atomic`: synced, then renamed into place).

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
    text = _dumps(_overrides_document(merge_overrides([], overrides)))
    atomic_write_text(target, text)



def _overrides_document(overrides: Sequence[Override]) -> dict[str, Any]:
    """The overrides file as TOML data: `version = 1` and one [[override]] table per override."""
    entries: list[dict[str, Any]] = []
    for o in overrides:
        entry: dict[str, Any] = {"provider": str(o.provider), "target": str(o.target)}
        if o.target == "rate":
            entry["mode"] = str(o.mode)
            if o.duration is not None:
                entry["duration"] = int(o.duration)
            entry["audio"] = o.audio is True
            entry["voice"] = o.voice is True
        entry["value"] = _as_decimal(o.value)
        entries.append(entry)
    return {"version": 1, "override": entries} if entries else {"version": 1}


def _dumps(document: Mapping[str, Any]) -> str:
    """`document` as TOML text under the file's explanatory comment; Decimals are written exactly."""
    return _HEADER + tomli_w.dumps(document)


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
