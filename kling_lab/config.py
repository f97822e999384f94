"""Settings from the environment, `st.secrets` (passed in by the UI) and defaults, in one place.

Nothing here imports Streamlit: the UI layer hands its secrets over as a plain
mapping. Keys are held only in memory; `Settings` never renders a key in its
repr, and `key_source` tells where a key came from without showing it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from kling_lab.auth.url_policy import private_base_urls_allowed
from kling_lab.capabilities import CAPABILITIES, PROVIDER_NAMES, normalize_base_url

APP_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BASE_URLS: dict[str, str] = {
    name: caps.default_base_url for name, caps in CAPABILITIES.items() if not caps.offline
}
DEFAULT_KIE_UPLOAD_URL = "https://kieai.redpandaai.co"
DEFAULT_FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"

KeySource = Literal["environment", "secrets file", "this session", "none"]


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Kling Lab process."""

    data_dir: Path
    database_url: str | None = None
    base_urls: Mapping[str, str] = field(default_factory=dict)
    kie_upload_url: str = DEFAULT_KIE_UPLOAD_URL
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    key_sources: Mapping[str, KeySource] = field(default_factory=dict)
    public_url: str | None = None
    """Where hosts can reach this app for webhooks; None means poll only."""
    fal_jwks_url: str = DEFAULT_FAL_JWKS_URL
    """Where fal.ai publishes the keys its webhooks are signed with."""
    budget_ceiling_per_day: Decimal | None = None
    """The operator's daily ceiling (KLING_LAB_DAILY_BUDGET_USD); Settings may lower it, never raise it."""
    budget_ceiling_per_batch: Decimal | None = None
    """The operator's per-batch ceiling (KLING_LAB_BATCH_BUDGET_USD)."""
    media_dir_override: Path | None = None
    """KLING_LAB_MEDIA_DIR: one media folder several machines mount; None means `<data dir>/media`."""
    allow_private_base_urls: bool = False
    """KLING_LAB_ALLOW_PRIVATE_BASE_URLS: the operator lets Settings save a base URL on a private network
    or plain HTTP (a host on the studio's own network, the emulator)."""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kling_lab.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.media_dir_override or self.data_dir / "media"

    @property
    def price_overrides_path(self) -> Path:
        return self.data_dir / "price_overrides.toml"

    @property
    def user_settings_path(self) -> Path:
        return self.data_dir / "settings.toml"

    def base_url(self, provider: str) -> str:
        """The host root used for a host (override or the host's public default), written either way."""
        return normalize_base_url(provider, self.base_urls.get(provider))

    def webhook_secret(self, provider: str) -> str | None:
        """The secret a host signs its callbacks with, when the host uses one and it is configured."""
        name = CAPABILITIES[provider].callback_signing_env
        return (self.keys.get(name) or None) if name else None

    def credentials(self, provider: str) -> dict[str, str]:
        """The key values a host client needs, by variable name (empty when unset)."""
        return {name: self.keys[name] for name in CAPABILITIES[provider].key_env if self.keys.get(name)}

    def has_key(self, provider: str) -> bool:
        """True when every key the host needs is set (the offline animatic needs none)."""
        needed = CAPABILITIES[provider].key_env
        return all(self.keys.get(name) for name in needed)

    def key_source(self, provider: str) -> KeySource:
        """Where the host's key came from, never the key itself."""
        needed = CAPABILITIES[provider].key_env
        if not needed or not self.has_key(provider):
            return "none"
        return self.key_sources.get(needed[0], "environment")

    def configured_providers(self) -> list[str]:
        """Providers that can run now: the animatic plus every host with a key."""
        return [p for p in PROVIDER_NAMES if self.has_key(p)]

    def default_provider(self) -> str:
        """The offline renderer unless exactly one paid host is configured."""
        paid = [p for p in self.configured_providers() if not CAPABILITIES[p].offline]
        offline = next(name for name in PROVIDER_NAMES if CAPABILITIES[name].offline)
        return paid[0] if len(paid) == 1 else offline

    def with_session_keys(self, session_keys: Mapping[str, str]) -> Settings:
        """A copy where keys typed into this browser session take precedence."""
        keys = dict(self.keys)
        sources = dict(self.key_sources)
        for name, value in session_keys.items():
            if value:
                keys[name] = value
                sources[name] = "this session"
        return dataclasses.replace(self, keys=keys, key_sources=sources)


def all_key_names() -> list[str]:
    """Every key variable any host reads."""
    names: list[str] = []
    for caps in CAPABILITIES.values():
        names.extend(n for n in caps.key_env if n not in names)
        if caps.callback_signing_env and caps.callback_signing_env not in names:
            names.append(caps.callback_signing_env)
    return names


def load_settings(
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, object] | None = None,
) -> Settings:
    """Build settings: environment first, then the secrets mapping, then defaults."""
    env = os.environ if environ is None else environ
    sec = secrets or {}

    def lookup(name: str) -> tuple[str | None, KeySource]:
        value = env.get(name)
        if value:
            return value, "environment"
        try:
            sec_value = sec.get(name)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - st.secrets raises when no file exists
            sec_value = None
        if isinstance(sec_value, str) and sec_value:
            return sec_value, "secrets file"
        return None, "none"

    keys: dict[str, str] = {}
    sources: dict[str, KeySource] = {}
    for name in all_key_names():
        value, source = lookup(name)
        if value:
            keys[name] = value
            sources[name] = source
    base_urls: dict[str, str] = {}
    for provider in DEFAULT_BASE_URLS:
        value, _ = lookup(f"KLING_LAB_{provider.upper()}_BASE_URL")
        if value:
            base_urls[provider] = value
    data_dir_value, _ = lookup("KLING_LAB_DATA_DIR")
    data_dir = Path(data_dir_value).expanduser() if data_dir_value else APP_ROOT / "data"
    upload_url, _ = lookup("KLING_LAB_KIE_UPLOAD_URL")
    database_url, _ = lookup("KLING_LAB_DATABASE_URL")
    public_url, _ = lookup("KLING_LAB_PUBLIC_URL")
    jwks_url, _ = lookup("KLING_LAB_FAL_JWKS_URL")
    ceiling_day, _ = lookup("KLING_LAB_DAILY_BUDGET_USD")
    ceiling_batch, _ = lookup("KLING_LAB_BATCH_BUDGET_USD")
    media_dir, _ = lookup("KLING_LAB_MEDIA_DIR")
    return Settings(
        data_dir=data_dir.resolve(),
        database_url=database_url,
        base_urls=base_urls,
        kie_upload_url=(upload_url or DEFAULT_KIE_UPLOAD_URL).rstrip("/"),
        keys=keys,
        key_sources=sources,
        public_url=public_url.rstrip("/") if public_url else None,
        fal_jwks_url=jwks_url or DEFAULT_FAL_JWKS_URL,
        budget_ceiling_per_day=_ceiling(ceiling_day),
        budget_ceiling_per_batch=_ceiling(ceiling_batch),
        media_dir_override=Path(media_dir).expanduser().resolve() if media_dir else None,
        allow_private_base_urls=private_base_urls_allowed(env, sec),
    )


def _ceiling(value: str | None) -> Decimal | None:
    """An operator budget from its variable; an unreadable one is zero, so a typo never lifts a limit."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() and amount >= 0 else Decimal(0)


def with_saved_settings(settings: Settings, saved_base_urls: Mapping[str, str]) -> Settings:
    """`settings` with the base URLs saved from the Settings page over those of the environment and secrets."""
    if not saved_base_urls:
        return settings
    return dataclasses.replace(settings, base_urls={**settings.base_urls, **saved_base_urls})
