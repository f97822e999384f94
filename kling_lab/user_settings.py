"""Preferences a person sets in the app (budgets, default provider, host limits), kept in the data dir.

Stored as JSON beside the database. Keys are never stored here: a key typed
into the app lives only in that browser session's memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from kling_lab.atomic import atomic_write_text
from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings, load_settings, with_saved_settings

SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class UserSettings:
    """Budgets (None = no limit), default provider, per-host concurrency and base URL overrides."""

    budget_per_batch: Decimal | None = None
    budget_per_day: Decimal | None = None
    default_provider: str | None = None
    concurrency: dict[str, int] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("budget_per_batch", "budget_per_day"):
            data[key] = str(data[key]) if data[key] is not None else None
        return json.dumps(data, indent=2, sort_keys=True)


def parse_budget(value: object) -> tuple[Decimal | None, str | None]:
    """A budget from text or a number: (amount, None), (None, None) for "no limit", or (None, message)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        return None, f"“{value}” is not an amount in dollars."
    if not amount.is_finite() or amount < 0:
        return None, "A budget must be zero or more dollars."
    return amount, None


def load_user_settings(data_dir: Path) -> UserSettings:
    """Read the settings file; a missing or damaged file gives the defaults (never an exception)."""
    path = Path(data_dir) / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UserSettings()
    if not isinstance(raw, dict):
        return UserSettings()
    per_batch, _ = parse_budget(raw.get("budget_per_batch"))
    per_day, _ = parse_budget(raw.get("budget_per_day"))
    provider = raw.get("default_provider")
    concurrency = {
        k: int(v)
        for k, v in (raw.get("concurrency") or {}).items()
        if k in CAPABILITIES and isinstance(v, int | float) and math.isfinite(v) and 1 <= int(v) <= 50
    }
    base_urls = {
        k: str(v) for k, v in (raw.get("base_urls") or {}).items() if k in CAPABILITIES and isinstance(v, str) and v
    }
    return UserSettings(
        budget_per_batch=per_batch,
        budget_per_day=per_day,
        default_provider=provider if provider in CAPABILITIES else None,
        concurrency=concurrency,
        base_urls=base_urls,
    )


def save_user_settings(data_dir: Path, settings: UserSettings) -> None:
    """Write the settings file atomically."""
    atomic_write_text(Path(data_dir) / SETTINGS_FILE, settings.to_json())


def parse_base_url(value: object) -> tuple[str | None, str | None]:
    """A base URL override: (url, None), (None, None) when blank, or (None, message)."""
    from urllib.parse import urlparse

    text = str(value or "").strip()
    if not text:
        return None, None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None, f"“{text}” is not a web address (it must start with https:// or http://)."
    return text.rstrip("/"), None


def resolve_settings(environ: Mapping[str, str] | None = None, secrets: Mapping[str, object] | None = None) -> Settings:
    """The one settings resolution the app, the CLI and workers share: environment, secrets, then saved settings.

    Keys come from the environment and the secrets file only (a key typed in a
    browser travels with that session's batches, never through here); base URLs
    saved in Settings apply over theirs.
    """
    base = load_settings(environ, secrets)
    return with_saved_settings(base, load_user_settings(base.data_dir).base_urls)
