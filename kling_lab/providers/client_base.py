"""What every hosted client shares: its configuration, its name in messages, its base URL and auth header."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from kling_lab.capabilities import HostCapabilities
from kling_lab.providers.base import HostConfig
from kling_lab.providers.errors import missing_key_error
from kling_lab.providers.host_identity import HostIdentity


class KeyedHostClient:
    """Base of the hosted clients: a key from the config sent as `<auth_scheme> <key>` on every call."""

    name: ClassVar[str]
    caps: ClassVar[HostCapabilities]
    auth_scheme: ClassVar[str] = "Bearer"
    extra_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.host = HostIdentity.for_host(self.caps.label, self.caps.key_env, config.credentials)
        self._base = config.base_url.rstrip("/")

    def _credential(self) -> str:
        """The host's key; a HostError (before anything is sent) when it is not configured."""
        key = self.config.credentials.get(self.caps.key_env[0])
        if not key:
            raise missing_key_error(self.name)
        return key

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.auth_scheme} {self._credential()}", "Accept": "application/json",
                **self.extra_headers}


def webhook_object(body: bytes) -> Mapping[str, Any] | None:
    """A callback body as a JSON object, or None when it is not one (callbacks are never trusted blindly)."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, Mapping) else None
