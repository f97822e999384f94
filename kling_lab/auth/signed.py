"""Signed, self-contained tokens: a JSON payload and an HMAC-SHA256 over it, URL-safe.

One codec for the owner's password session and for review links, so there is one
place that decides what "tampered" means. A token is `v1.<payload>.<signature>`,
both parts unpadded base64url; the signature covers the version and the payload.
Verification recomputes the signature and compares in constant time before the
payload is even parsed. Nothing here knows about expiry or roles: callers put an
`exp` in the payload and check it against their own clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

VERSION = "v1"
MAX_TOKEN_CHARS = 2048
"""A longer token is refused before any work is done: the ones we make are a few hundred characters."""

_PART = re.compile(r"^[A-Za-z0-9_-]+$")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not _PART.match(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Only the one canonical spelling: otherwise unused trailing bits give one signature many spellings.
    return raw if _b64encode(raw) == text else None


def _signature(key: bytes, signed_part: str) -> bytes:
    return hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()


def sign(key: bytes, payload: Mapping[str, Any]) -> str:
    """A token carrying `payload` (JSON-serialisable), signed with `key`."""
    if len(key) < 16:
        raise ValueError("a signing key has at least 16 bytes")
    body = json.dumps(dict(payload), separators=(",", ":"), sort_keys=True).encode("utf-8")
    signed_part = f"{VERSION}.{_b64encode(body)}"
    return f"{signed_part}.{_b64encode(_signature(key, signed_part))}"


def unsign(key: bytes, token: object) -> dict[str, Any] | None:
    """The payload of a token signed with `key`, or None for anything else (forged, altered, garbled)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    signed_part = f"{parts[0]}.{parts[1]}"
    supplied = _b64decode(parts[2])
    if supplied is None or not hmac.compare_digest(supplied, _signature(key, signed_part)):
        return None
    body = _b64decode(parts[1])
    if body is None:
        return None
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
