"""fal.ai's callback signatures: the signed message, and the published keys that verify it.

Callbacks are signed with ED25519 (docs.fal.ai/model-apis/model-endpoints/webhooks,
"Verifying Your Webhook"): the signature (hex) covers request id, user id,
timestamp and the SHA-256 hex of the body, joined by newlines, and verifies
with one of the keys in fal's JWKS (`KLING_LAB_FAL_JWKS_URL`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED_HEADERS = ("x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp")
SIGNATURE_HEADER = "x-fal-webhook-signature"
KEYS_MAX_AGE_S = 24 * 3600.0
"""How long fetched webhook keys are used before they are fetched again (fal's examples cache a day)."""
KEYS_REFETCH_INTERVAL_S = 60.0
"""The least time between two fetches of the key set, so forged callbacks cannot make us hammer it."""
KEYS_FETCH_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """What fal signs for a callback: request id, user id, timestamp and the body's SHA-256 hex, one per line."""
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode("utf-8")


def jwks_public_keys(document: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS document (`OKP` keys with a base64url `x`); other entries are skipped."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    keys: list[Ed25519PublicKey] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv", "Ed25519") != "Ed25519":
            continue
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            continue
    return keys


class WebhookKeys:
    """fal's published webhook keys: fetched from its JWKS URL, kept a day, fetched at most once a minute.

    Called from the webhook server's threads, so fetches are synchronous,
    short and serialized. `transport` and `clock` are for tests.
    """

    def __init__(
        self, url: str, *, transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url = url
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[Ed25519PublicKey] = []
        self._fetched_at: float | None = None
        self._tried_at: float | None = None

    def verify(self, message: bytes, signature: bytes) -> bool | None:
        """True when a published key verifies `signature`; False when none does; None when no keys can be had.

        When the cached keys do not verify, the set is fetched again (a key may
        have been rotated), but not more than once a minute.
        """
        with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < KEYS_MAX_AGE_S
            if fresh and _any_verifies(self._keys, message, signature):
                return True
            if self._tried_at is not None and now - self._tried_at < KEYS_REFETCH_INTERVAL_S:
                return False if fresh else None
            if not self._fetch(now):
                return None
            return _any_verifies(self._keys, message, signature)

    def _fetch(self, now: float) -> bool:
        self._tried_at = now
        try:
            with httpx.Client(timeout=KEYS_FETCH_TIMEOUT_S, transport=self._transport) as client:
                response = client.get(self.url, headers={"Accept": "application/json"})
            keys = jwks_public_keys(response.json()) if response.status_code == 200 else []
        except Exception:  # noqa: BLE001 - a callback must never break the server; it stays a wake-up
            keys = []
        if not keys:
            log.warning("could not read fal.ai's webhook keys from %s; fal callbacks only wake their jobs", self.url)
            return False
        self._keys, self._fetched_at = keys, now
        return True


def _any_verifies(keys: list[Ed25519PublicKey], message: bytes, signature: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False
